//! Messenger and Instagram end to end, against the Graph API stand-in: the signed webhook,
//! Meta's retries, echoes of each kind, the Send API through the outbox, the 24-hour window,
//! every error class, a crash between accepting a reply and sending it, the backfill.

use super::harness::{Backend, META_APP_ID, META_VERIFY_TOKEN, TestServer, User, t0};
use pronto_badge::Millis;
use pronto_badge::time::{DAY, HOUR, MINUTE, SECOND};
use pronto_core::InboxId;
use pronto_core::store::OUTBOX_LEASE;
use pronto_loadtest::graph::{Conversation, ConversationMessage, Scripted, StandIn};
use pronto_loadtest::payload::{batch, echo, message};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const PAGE: &str = "1122334455";
const PSID: &str = "24680135790";

fn ms(at: Millis) -> u64 {
    at as u64
}

/// A delivery of one page's events.
fn page(events: Vec<Value>, at: Millis) -> Vec<u8> {
    batch("page", vec![(PAGE.to_owned(), ms(at), events)])
}

async fn report(server: &TestServer<impl Backend>, user: &User, inbox: InboxId) -> Value {
    let (status, body) = server
        .get(
            &format!("/api/v1/inboxes/{inbox}/responsiveness"),
            &user.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The only conversation of the workspace, with its messages.
async fn thread(server: &TestServer<impl Backend>, user: &User) -> Value {
    let (_, list) = server
        .get("/api/v1/conversations?status=open", &user.token)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let id = items[0]["id"].as_i64().unwrap();
    let (status, body) = server
        .get(&format!("/api/v1/conversations/{id}"), &user.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    body
}

fn messages(thread: &Value) -> &Vec<Value> {
    thread["messages"].as_array().unwrap()
}

/// Waits until `check` holds of the thread.
async fn until_thread(
    server: &TestServer<impl Backend>,
    user: &User,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let body = thread(server, user).await;
        if check(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: {}", thread(server, user).await);
}

/// Moves the clock by `step` at a time (retries come due) until `check` holds of the thread,
/// or 80 steps have passed; the thread as it is then.
async fn advance_until(
    server: &TestServer<impl Backend>,
    user: &User,
    step: Millis,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..80 {
        server.clock.advance(step);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let body = thread(server, user).await;
        if check(&body) {
            return body;
        }
    }
    thread(server, user).await
}

async fn reply(server: &TestServer<impl Backend>, user: &User, text: &str) -> (StatusCode, Value) {
    let id = thread(server, user).await["id"].as_i64().unwrap();
    server
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &user.token,
            json!({ "text": text }),
        )
        .await
}

fn send_calls(graph: &StandIn) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .count()
}

async fn metrics(server: &TestServer<impl Backend>) -> String {
    server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn the_handshake_and_signatures_guard_the_webhook<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let inbox = server.messenger(&admin, PAGE, json!({})).await;
    let get = |query: String| {
        let client = server.client.clone();
        let url = format!("{}/webhooks/meta?{query}", server.url);
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, body) = get(format!(
        "hub.mode=subscribe&hub.verify_token={META_VERIFY_TOKEN}&hub.challenge=1158201444"
    ))
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1158201444"));
    let (status, _) =
        get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_owned()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let body = page(vec![message(PAGE, PSID, "m_sig", "Hello?", ms(t0()))], t0());
    for signature in [
        None,
        Some("sha256=00"),
        Some("sha256=0000000000000000000000000000000000000000000000000000000000000000"),
    ] {
        let (status, text) = server.webhook_signed(&body, signature).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{signature:?}: {text}");
    }
    // Signed with another secret: refused too. Nothing was stored.
    let forged = pronto_loadtest::payload::sign(b"not-the-secret", &body);
    let (status, _) = server.webhook_signed(&body, Some(&forged)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = server.get("/api/v1/conversations", &admin.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // A signed body that is not Meta's shape: a clear 400; an unknown page: 200, dropped.
    let (status, text) = server
        .webhook(br#"{"object":"page","entry":[{"id":"1"}]}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("entry[0].time"), "{text}");
    let stranger = batch(
        "page",
        vec![(
            "999".to_owned(),
            ms(t0()),
            vec![message("999", PSID, "m_x", "Hi", ms(t0()))],
        )],
    );
    assert_eq!(server.webhook(&stranger).await.0, StatusCode::OK);
    let (_, list) = server.get("/api/v1/conversations", &admin.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // The real thing, delivered three times (twice in one batch): stored once.
    let twice = page(
        vec![
            message(PAGE, PSID, "m_1", "Is the blue one in stock?", ms(t0())),
            message(PAGE, PSID, "m_1", "Is the blue one in stock?", ms(t0())),
        ],
        t0(),
    );
    assert_eq!(server.webhook(&twice).await.0, StatusCode::OK);
    assert_eq!(server.webhook(&twice).await.0, StatusCode::OK);
    let body = thread(&server, &admin).await;
    assert_eq!(messages(&body).len(), 1, "{body}");
    assert_eq!(messages(&body)[0]["author"], "customer");
    assert_eq!(
        messages(&body)[0]["at"],
        "2026-11-20T09:00:00Z",
        "Meta's timestamp, not arrival"
    );
    assert_eq!(report(&server, &admin, inbox).await["pending"], 1);

    // Events Pronto does not know are counted, never an error.
    let unknown = page(
        vec![
            json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": ms(t0()),
                    "reaction": {"mid": "m_1", "action": "react", "emoji": "👍"}}),
        ],
        t0(),
    );
    assert_eq!(server.webhook(&unknown).await.0, StatusCode::OK);
    let text = metrics(&server).await;
    assert!(
        text.contains(
            r#"pronto_webhook_events_total{source="page",kind="reaction",outcome="unknown_kind"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"kind="message",outcome="duplicate"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"outcome="bad_signature"} 4"#), "{text}");
    server.stop().await;
}

async fn a_reply_goes_through_the_send_api_and_its_echo_is_not_stored_twice<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let inbox = server.messenger(&admin, PAGE, json!({})).await;
    server.graph.add_person(PSID, "Anna", "Berg");
    let body = page(
        vec![message(PAGE, PSID, "m_q", "Do you ship to Riga?", ms(t0()))],
        t0(),
    );
    assert_eq!(server.webhook(&body).await.0, StatusCode::OK);
    // The customer is named from their profile (webhooks give only their id), once.
    until_thread(&server, &admin, "named", |t| {
        t["contact"]["name"] == "Anna Berg"
    })
    .await;
    server.clock.advance(4 * MINUTE);
    let (status, sent) = reply(&server, &admin, "Yes, in 2–3 days.").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let body = until_thread(&server, &admin, "sent", |t| {
        messages(t).iter().any(|m| m["delivery"]["state"] == "sent")
    })
    .await;
    let reply_message = &messages(&body)[1];
    let calls = server.graph.sent();
    assert_eq!(calls.len(), 1);
    let outbox_metadata = calls[0]["message"]["metadata"].as_str().unwrap().to_owned();
    assert!(outbox_metadata.starts_with("pronto:"), "{outbox_metadata}");
    assert_eq!(calls[0]["recipient"]["id"], PSID);
    assert_eq!(calls[0]["messaging_type"], "RESPONSE");
    assert_eq!(calls[0]["message"]["text"], "Yes, in 2–3 days.");
    let request = server
        .graph
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/messages"))
        .unwrap();
    assert_eq!(request.path, format!("/v23.0/{PAGE}/messages"));
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer EAAB-{PAGE}").as_str())
    );
    let mid = reply_message["channel_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(mid.starts_with("m_"), "{mid}");

    // The figures see it answered in 4 minutes.
    let figures = report(&server, &admin, inbox).await;
    assert_eq!(figures["pending"], 0, "{figures}");
    assert_eq!(figures["response_time_seconds"], 240.0, "{figures}");

    // Its echo (with the metadata and Pronto's app id) is the same message.
    let echoed = page(
        vec![echo(
            PAGE,
            PSID,
            &mid,
            "Yes, in 2–3 days.",
            Some(META_APP_ID),
            Some(&outbox_metadata),
            ms(t0() + 4 * MINUTE + 300),
        )],
        t0() + 5 * MINUTE,
    );
    assert_eq!(server.webhook(&echoed).await.0, StatusCode::OK);
    let body = thread(&server, &admin).await;
    assert_eq!(messages(&body).len(), 2, "{body}");
    assert_eq!(
        body["contact"]["name"], "Anna Berg",
        "later messages keep the name"
    );
    assert_eq!(
        report(&server, &admin, inbox).await["response_time_seconds"],
        240.0
    );
    server.stop().await;
}

async fn echoes_of_replies_made_elsewhere_count_and_automated_ones_do_not<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let inbox = server
        .messenger(
            &admin,
            PAGE,
            json!({"automated_texts": ["Thanks for your message! We usually reply within a few hours."]}),
        )
        .await;
    let at = t0();
    let customer = page(
        vec![message(PAGE, PSID, "m_c1", "Hi! Is it waterproof?", ms(at))],
        at,
    );
    assert_eq!(server.webhook(&customer).await.0, StatusCode::OK);
    // Meta's instant reply, echoed from the Page Inbox app, 2 s later: automation.
    let instant = page(
        vec![echo(
            PAGE,
            PSID,
            "m_auto",
            "Thanks for your message!  We usually reply within a few hours.",
            Some("263902037430900"),
            None,
            ms(at + 2 * SECOND),
        )],
        at + 2 * SECOND,
    );
    assert_eq!(server.webhook(&instant).await.0, StatusCode::OK);
    assert_eq!(
        report(&server, &admin, inbox).await["pending"],
        1,
        "automation is no answer"
    );
    // A person answers in Meta's Page Inbox 6 minutes later: that counts. It comes in the
    // standby channel here, as it does when another app owns the thread.
    let person = json!({"object": "page", "entry": [{"id": PAGE, "time": ms(at + 6 * MINUTE),
        "standby": [echo(PAGE, PSID, "m_person", "Yes, fully.", Some("263902037430900"), None, ms(at + 6 * MINUTE))]}]});
    let person = serde_json::to_vec(&person).unwrap();
    assert_eq!(server.webhook(&person).await.0, StatusCode::OK);
    let body = thread(&server, &admin).await;
    let authors: Vec<&str> = messages(&body)
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["customer", "automation", "agent"]);
    let figures = report(&server, &admin, inbox).await;
    assert_eq!(figures["pending"], 0);
    assert_eq!(figures["response_time_seconds"], 360.0, "{figures}");
    server.stop().await;
}

/// The server dies after marking a reply `sending` and before hearing Meta's answer.
async fn a_reply_cut_short_by_a_crash_waits_for_its_echo_before_it_is_sent_again<S: Backend>() {
    let server =
        TestServer::<S>::start_with(|s| s.without_sender(pronto_core::ChannelKind::Messenger))
            .await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    server.messenger(&admin, PAGE, json!({})).await;
    for (n, psid) in ["111", "222"].iter().enumerate() {
        let at = t0() + n as i64 * SECOND;
        let body = page(
            vec![message(PAGE, psid, &format!("m_in{n}"), "Hello", ms(at))],
            at,
        );
        assert_eq!(server.webhook(&body).await.0, StatusCode::OK);
    }
    server.clock.advance(MINUTE);
    let (_, list) = server
        .get("/api/v1/conversations?status=open", &admin.token)
        .await;
    for item in list["items"].as_array().unwrap() {
        let id = item["id"].as_i64().unwrap();
        let (status, _) = server
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                &admin.token,
                json!({"text": "On it"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    // A sender claims both (they are `sending`), then the node dies without an answer.
    let claimed = server
        .store()
        .claim_outbox(pronto_core::ChannelKind::Messenger, 10, server.clock_now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let (place, clock, key) = server.stop_for_restart().await;
    let server = TestServer::<S>::start_in(place, clock, key, |s| s).await;
    server.graph.add_page(PAGE, "Shop", &format!("EAAB-{PAGE}"));
    // Meta had sent the first: its echo arrives (naming the outbox entry) and confirms it.
    let first = &claimed[0];
    let metadata = format!("pronto:{}", first.id.0);
    let echoed = page(
        vec![echo(
            PAGE,
            &first.contact_external_id,
            "m_was_sent",
            "On it",
            Some(META_APP_ID),
            Some(&metadata),
            ms(t0() + MINUTE + 500),
        )],
        t0() + MINUTE,
    );
    assert_eq!(server.webhook(&echoed).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        send_calls(&server.graph),
        0,
        "nothing is sent again within the lease"
    );
    // After the lease, the one without an echo is sent again; the confirmed one never.
    server.clock.advance(OUTBOX_LEASE + SECOND);
    for _ in 0..200 {
        if server.store().outbox_depth().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(server.store().outbox_depth().await.unwrap(), 0);
    let sent = server.graph.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient"]["id"], claimed[1].contact_external_id);
    let confirmed = server
        .store()
        .messages(first.workspace, first.conversation)
        .await
        .unwrap();
    let reply = confirmed.iter().find(|m| m.id == first.message).unwrap();
    assert_eq!(reply.channel_message_id.as_deref(), Some("m_was_sent"));
    assert_eq!(
        reply.at,
        t0() + MINUTE + 500,
        "it counts from the echo's instant"
    );
    assert_eq!(confirmed.len(), 2, "{confirmed:?}");
    server.stop().await;
}

async fn the_reply_window_is_24_hours_or_7_days_with_human_agent<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    server.messenger(&admin, PAGE, json!({})).await;
    let body = page(vec![message(PAGE, PSID, "m_old", "Hello?", ms(t0()))], t0());
    assert_eq!(server.webhook(&body).await.0, StatusCode::OK);
    server.clock.advance(DAY + HOUR);
    let (status, body) = reply(&server, &admin, "Sorry for the wait").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "window_closed");
    assert_eq!(send_calls(&server.graph), 0);

    // The admin enables HUMAN_AGENT: a person may answer for 7 days, tagged.
    let inbox = thread(&server, &admin).await["inbox"].as_i64().unwrap();
    let (status, body) = server
        .request(
            Method::PATCH,
            &format!("/api/v1/inboxes/{inbox}"),
            &admin.token,
            Some(json!({"messenger": {"human_agent": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = reply(&server, &admin, "Sorry for the wait").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    until_thread(&server, &admin, "sent", |t| {
        messages(t).iter().any(|m| m["delivery"]["state"] == "sent")
    })
    .await;
    let sent = server.graph.sent();
    assert_eq!(sent[0]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent[0]["tag"], "HUMAN_AGENT");
    server.clock.advance(7 * DAY);
    let (status, body) = reply(&server, &admin, "Anyone?").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Meta's own limit on a text is checked up front too.
    server.clock.set(t0() + HOUR);
    let (status, body) = reply(&server, &admin, &"a".repeat(2_001)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await;
}

async fn meta_s_errors_fail_flag_or_retry<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let inbox = server.messenger(&admin, PAGE, json!({})).await;
    let body = page(vec![message(PAGE, PSID, "m_e", "Hello?", ms(t0()))], t0());
    assert_eq!(server.webhook(&body).await.0, StatusCode::OK);
    let last_state = |t: &Value| messages(t).last().unwrap()["delivery"].clone();

    // The person is unavailable: failed for good, with Meta's reason.
    server.graph.script_send(Scripted::Error {
        status: 400,
        code: 551,
        subcode: Some(1_545_041),
        message: "This person isn't available right now.".into(),
    });
    reply(&server, &admin, "First").await;
    let body = until_thread(&server, &admin, "failed", |t| {
        last_state(t)["state"] == "failed"
    })
    .await;
    assert!(
        last_state(&body)["reason"]
            .as_str()
            .unwrap()
            .contains("isn't available"),
        "{body}"
    );

    // Outside the window by Meta's reckoning: failed.
    server.graph.script_send(Scripted::Error {
        status: 400,
        code: 10,
        subcode: Some(2_018_278),
        message: "(#10) This message is sent outside of allowed window.".into(),
    });
    reply(&server, &admin, "Second").await;
    let body = until_thread(&server, &admin, "failed", |t| {
        last_state(t)["state"] == "failed"
    })
    .await;
    assert!(
        last_state(&body)["reason"]
            .as_str()
            .unwrap()
            .contains("window"),
        "{body}"
    );

    // Rate limited, then Meta down: retried with backoff until it goes through.
    server.graph.script_send(Scripted::Error {
        status: 400,
        code: 613,
        subcode: None,
        message: "Calls to this api have exceeded the rate limit.".into(),
    });
    server.graph.script_send(Scripted::Status(503));
    reply(&server, &admin, "Third").await;
    let body = advance_until(&server, &admin, 5 * SECOND, |t| {
        last_state(t)["state"] == "sent"
    })
    .await;
    assert_eq!(last_state(&body)["state"], "sent");
    assert_eq!(send_calls(&server.graph), 5);

    // An expired token: the inbox is flagged for its admin and replies wait.
    server.graph.script_send(Scripted::Error {
        status: 400,
        code: 190,
        subcode: Some(463),
        message: "Error validating access token: Session has expired".into(),
    });
    reply(&server, &admin, "Fourth").await;
    let mut flagged = Value::Null;
    for _ in 0..200 {
        let (_, body) = server
            .get(&format!("/api/v1/inboxes/{inbox}"), &admin.token)
            .await;
        if body["settings"]["problem"].is_string() {
            flagged = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        flagged["settings"]["problem"]
            .as_str()
            .unwrap()
            .contains("token"),
        "{flagged}"
    );
    server.clock.advance(2 * MINUTE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        send_calls(&server.graph),
        6,
        "a flagged inbox does not call Meta"
    );
    assert_eq!(
        last_state(&thread(&server, &admin).await)["state"],
        "queued"
    );
    // A new token clears the flag and the reply goes.
    server.graph.add_page(PAGE, "Shop", "EAAB-renewed");
    let (status, body) = server
        .request(
            Method::PATCH,
            &format!("/api/v1/inboxes/{inbox}"),
            &admin.token,
            Some(json!({"messenger": {"page_access_token": "EAAB-renewed"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["settings"].get("problem").is_none(), "{body}");
    let body = advance_until(&server, &admin, 30 * SECOND, |t| {
        last_state(t)["state"] == "sent"
    })
    .await;
    assert_eq!(last_state(&body)["state"], "sent");
    server.stop().await;
}

async fn instagram_inboxes_connect_receive_and_reply<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let ig = "17841400000000001";
    server.graph.add_instagram(ig, "acme.shop", "IGAA-token");
    let (status, body) = server
        .post("/api/v1/inboxes", &admin.token,
            json!({"name": "Instagram", "channel": "instagram", "instagram": {"access_token": "IGAA-token", "backfill": false}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["channel_key"], ig,
        "the webhooks' account id, not the app-scoped one"
    );
    assert_eq!(body["settings"]["username"], "acme.shop");
    let inbox = InboxId(body["id"].as_i64().unwrap());
    assert!(
        server.graph.subscriptions()[ig]
            .iter()
            .any(|f| f == "messages")
    );
    let igsid = "5551234";
    let delivery = batch(
        "instagram",
        vec![(
            ig.to_owned(),
            ms(t0()),
            vec![message(ig, igsid, "aWdfZAG1faXRlbTox", "Price?", ms(t0()))],
        )],
    );
    // Signed with the Instagram app secret (Instagram Login), as Instagram's deliveries may be.
    let signature = pronto_loadtest::payload::sign(
        super::harness::META_INSTAGRAM_APP_SECRET.as_bytes(),
        &delivery,
    );
    assert_eq!(
        server.webhook_signed(&delivery, Some(&signature)).await.0,
        StatusCode::OK
    );
    assert_eq!(report(&server, &admin, inbox).await["pending"], 1);
    server.clock.advance(2 * MINUTE);
    let (status, _) = reply(&server, &admin, "49 €").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    until_thread(&server, &admin, "sent", |t| {
        messages(t).iter().any(|m| m["delivery"]["state"] == "sent")
    })
    .await;
    let request = server
        .graph
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/messages"))
        .unwrap();
    assert_eq!(request.path, format!("/v23.0/{ig}/messages"));
    assert_eq!(request.body.unwrap()["recipient"]["id"], igsid);
    assert_eq!(
        report(&server, &admin, inbox).await["response_time_seconds"],
        120.0
    );
    server.stop().await;
}

async fn connecting_imports_the_last_30_days<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let token = format!("EAAB-{PAGE}");
    server.graph.add_page(PAGE, "Shop", &token);
    let iso = |at: Millis| {
        pronto_badge::time::Utc(at)
            .to_string()
            .replace('Z', "+0000")
    };
    let now = t0();
    // 30 conversations of the last days (two pages of 25), and one from 40 days ago.
    for n in 0..31i64 {
        let age = if n == 30 {
            40 * DAY
        } else {
            n * 20 * HOUR + HOUR
        };
        let start = now - age;
        let psid = format!("9000{n}");
        server.graph.add_conversation(
            PAGE,
            Conversation {
                id: format!("t_{n}"),
                updated_time: iso(start + 5 * MINUTE),
                participants: vec![
                    (psid.clone(), format!("Customer {n}")),
                    (PAGE.to_owned(), "Shop".to_owned()),
                ],
                messages: vec![
                    ConversationMessage {
                        id: format!("m_q{n}"),
                        created_time: iso(start),
                        from: (psid.clone(), format!("Customer {n}")),
                        to: PAGE.to_owned(),
                        text: "Hello?".into(),
                    },
                    ConversationMessage {
                        id: format!("m_a{n}"),
                        created_time: iso(start + 5 * MINUTE),
                        from: (PAGE.to_owned(), "Shop".to_owned()),
                        to: psid.clone(),
                        text: "Hi!".into(),
                    },
                ],
            },
        );
    }
    let (status, body) = server
        .post("/api/v1/inboxes", &admin.token,
            json!({"name": "Shop", "channel": "messenger", "messenger": {"page_id": PAGE, "page_access_token": token}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let inbox = body["id"].as_i64().unwrap();
    let mut done = Value::Null;
    for _ in 0..400 {
        let (_, body) = server
            .get(&format!("/api/v1/inboxes/{inbox}"), &admin.token)
            .await;
        if body["settings"]["backfill"]["state"] == "done" {
            done = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(done["settings"]["backfill"]["conversations"], 30, "{done}");
    assert_eq!(done["settings"]["backfill"]["messages"], 60, "{done}");
    let figures = report(&server, &admin, InboxId(inbox)).await;
    assert_eq!(figures["window"]["starts"], 30, "{figures}");
    assert_eq!(figures["window"]["answered"], 30, "{figures}");
    assert_eq!(figures["response_time_seconds"], 300.0, "{figures}");
    // A webhook retry of an imported message changes nothing.
    let again = page(
        vec![message(PAGE, "90000", "m_q0", "Hello?", ms(now - HOUR))],
        now,
    );
    assert_eq!(server.webhook(&again).await.0, StatusCode::OK);
    assert_eq!(
        report(&server, &admin, InboxId(inbox)).await["window"]["starts"],
        30
    );
    server.stop().await;
}

/// A file host standing in for Meta's CDN: `/photo.jpg` (a small JPEG), `/big.bin` (1 MiB),
/// anything else 404 (an expired URL).
async fn cdn() -> String {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/photo.jpg",
            get(|| async {
                (
                    [("content-type", "image/jpeg")],
                    vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
                )
            }),
        )
        .route("/big.bin", get(|| async { vec![7u8; 1 << 20] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn attachments_are_kept_before_meta_s_urls_expire<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    server.messenger(&admin, PAGE, json!({})).await;
    let cdn = cdn().await;
    let mut event = message(PAGE, PSID, "m_pic", "", ms(t0()));
    event["message"]["attachments"] = json!([
        {"type": "image", "payload": {"url": format!("{cdn}/photo.jpg")}},
        {"type": "file", "payload": {"url": format!("{cdn}/expired.pdf")}},
    ]);
    assert_eq!(
        server.webhook(&page(vec![event], t0())).await.0,
        StatusCode::OK
    );
    let body = until_thread(&server, &admin, "kept", |t| {
        messages(t)[0]["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/files/")
    })
    .await;
    let attachments = &messages(&body)[0]["attachments"];
    assert_eq!(attachments[0]["kind"], "image");
    // The expired one keeps Meta's URL: nothing to keep.
    assert_eq!(attachments[1]["url"], format!("{cdn}/expired.pdf"));
    let path = attachments[0]["url"].as_str().unwrap();
    let response = server
        .client
        .get(format!("{}{path}", server.url))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]
    );
    // Another workspace does not see it; nobody unauthenticated does.
    let stranger = server.user("eve@example.com", true, "Other").await;
    let (status, _) = server.get(path, &stranger.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.get(path, "nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Over the size limit: not kept.
    let fetch = pronto_core::store::AttachmentFetch {
        workspace: admin.workspace,
        message: pronto_core::MessageId(1),
        position: 0,
        url: format!("{cdn}/big.bin"),
        attempts: 1,
    };
    let client = reqwest::Client::new();
    let outcome = pronto_server::attachments::fetch_one(&client, &fetch, 1000, t0()).await;
    assert!(
        matches!(outcome, pronto_core::store::FetchOutcome::GiveUp { reason } if reason.contains("limit"))
    );
    let outcome = pronto_server::attachments::fetch_one(&client, &fetch, 2 << 20, t0()).await;
    assert!(
        matches!(outcome, pronto_core::store::FetchOutcome::Kept { bytes, .. } if bytes.len() == 1 << 20)
    );
    server.stop().await;
}

/// The store cannot take a delivery: 503, so that Meta delivers it again; nothing is kept.
async fn a_delivery_the_store_cannot_take_is_answered_503<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    server.messenger(&admin, PAGE, json!({})).await;
    server.store().close_it().await;
    let body = page(
        vec![message(PAGE, PSID, "m_down", "Hello?", ms(t0()))],
        t0(),
    );
    let (status, text) = server.webhook(&body).await;
    assert!(status.is_server_error(), "{status}: {text}");
    let (place, clock, key) = server.stop_for_restart().await;
    let server = TestServer::<S>::start_in(place, clock, key, |s| s).await;
    let (_, list) = server.get("/api/v1/conversations", &admin.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // Meta's retry is taken.
    assert_eq!(server.webhook(&body).await.0, StatusCode::OK);
    let (_, list) = server.get("/api/v1/conversations", &admin.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    server.stop().await;
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../pronto-channels/tests/fixtures/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Meta's exact shapes, end to end: what each event becomes.
async fn fixtures_in_meta_s_shapes_are_taken_in<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    server
        .messenger(&admin, PAGE, json!({"automated_texts": ["Thanks for your message! We usually reply within a few hours."]}))
        .await;
    server
        .graph
        .add_instagram("17841400000000001", "acme.shop", "IGAA-t");
    let (status, body) = server
        .post("/api/v1/inboxes", &admin.token,
            json!({"name": "IG", "channel": "instagram", "instagram": {"access_token": "IGAA-t", "backfill": false}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.clock.set(1_763_629_900_000);
    for name in [
        "messenger_text.json",
        "messenger_attachments_quick_reply.json",
        "messenger_echo_from_app.json",
        "messenger_echo_page_inbox_standby.json",
        "messenger_postback_read_delivery_edit.json",
        "instagram_message_and_echo.json",
    ] {
        let (status, text) = server.webhook(&fixture(name)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {text}");
    }
    let (_, list) = server
        .get("/api/v1/conversations?status=open", &admin.token)
        .await;
    let mut threads = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let (_, body) = server
            .get(
                &format!("/api/v1/conversations/{}", item["id"]),
                &admin.token,
            )
            .await;
        let lines: Vec<String> = messages(&body)
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m["author"].as_str().unwrap(),
                    m["text"].as_str().unwrap()
                )
            })
            .collect();
        threads.push((body["channel"].as_str().unwrap().to_owned(), lines));
    }
    threads.sort();
    assert_eq!(
        threads,
        [
            (
                "instagram".to_owned(),
                vec![
                    "customer How much is the red bag?".to_owned(),
                    "agent It's 49 €.".to_owned()
                ]
            ),
            (
                "messenger".to_owned(),
                vec![
                    "customer Hi! Is the blue jacket still in stock in size M?".to_owned(),
                    "customer ".to_owned(),
                    "customer Size L, sorry".to_owned(),
                    "agent Yes, size M is in stock. Shall I reserve one for you?".to_owned(),
                    "automation Thanks for your message! We usually reply within a few hours."
                        .to_owned(),
                    "customer Talk to a person".to_owned(),
                ]
            ),
        ]
    );
    let text = metrics(&server).await;
    for line in [
        r#"{source="page",kind="read",outcome="ignored"} 1"#,
        r#"{source="page",kind="delivery",outcome="ignored"} 1"#,
        r#"{source="page",kind="message_edit",outcome="edited"} 1"#,
        r#"{source="page",kind="reaction",outcome="unknown_kind"} 1"#,
        r#"{source="instagram",kind="echo",outcome="stored"} 1"#,
        r#"{source="page",kind="message_sticker_id",outcome="unknown_field"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    server.stop().await;
}

/// A delivery journaled and not yet taken in when the node died is taken in by the next
/// processor; one that can never be is set aside, and the others still go through.
async fn the_journal_is_taken_in_after_a_crash_and_bad_deliveries_are_set_aside<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let inbox = server.messenger(&admin, PAGE, json!({})).await;
    let good = page(vec![message(PAGE, PSID, "m_j1", "Hello?", ms(t0()))], t0());
    // As the webhook route writes them (a node that died before its processor ran), plus a
    // delivery of an unknown source and one that does not parse.
    let store = server.store();
    store
        .journal_delivery("meta", b"{\"object\":\"page\"}", t0())
        .await
        .unwrap();
    store.journal_delivery("meta", &good, t0()).await.unwrap();
    store
        .journal_delivery("elsewhere", &good, t0())
        .await
        .unwrap();
    server.journal_drained().await;
    assert_eq!(report(&server, &admin, inbox).await["pending"], 1);
    assert_eq!(messages(&thread(&server, &admin).await).len(), 1);
    let text = metrics(&server).await;
    assert!(
        text.contains(r#"kind="delivery",outcome="set_aside"} 2"#),
        "{text}"
    );
    // The same delivery again (Meta's retry after a 5xx it got from a dying node): once.
    assert_eq!(server.webhook(&good).await.0, StatusCode::OK);
    assert_eq!(messages(&thread(&server, &admin).await).len(), 1);
    server.stop().await;
}

crate::on_both_stores!(
    the_journal_is_taken_in_after_a_crash_and_bad_deliveries_are_set_aside,
    fixtures_in_meta_s_shapes_are_taken_in,
    attachments_are_kept_before_meta_s_urls_expire,
    a_delivery_the_store_cannot_take_is_answered_503,
    the_handshake_and_signatures_guard_the_webhook,
    a_reply_goes_through_the_send_api_and_its_echo_is_not_stored_twice,
    echoes_of_replies_made_elsewhere_count_and_automated_ones_do_not,
    a_reply_cut_short_by_a_crash_waits_for_its_echo_before_it_is_sent_again,
    the_reply_window_is_24_hours_or_7_days_with_human_agent,
    meta_s_errors_fail_flag_or_retry,
    instagram_inboxes_connect_receive_and_reply,
    connecting_imports_the_last_30_days,
);
