//! The Graph API stand-in, exercised over HTTP as Pronto's server uses it.

use pronto_loadtest::graph::{Conversation, ConversationMessage, Scripted, StandIn};
use serde_json::{Value, json};
use std::time::Duration;

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn post_json(url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn assert_oauth_error(body: &Value, code: i64) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["fbtrace_id"].is_string());
}

#[tokio::test]
async fn me_tells_the_page_or_the_instagram_account_behind_a_token() {
    let graph = StandIn::start().await;
    graph.add_page("1001", "Bakery", "PAGE_TOKEN");
    graph.add_instagram("17841400000000001", "bakery.ig", "IG_TOKEN");
    let url = graph.url();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with('/'));

    let (status, body) = get(&format!("{url}/v23.0/me?access_token=PAGE_TOKEN")).await;
    assert_eq!(
        (status, body),
        (200, json!({"name": "Bakery", "id": "1001"}))
    );

    let response = reqwest::Client::new()
        .get(format!("{url}/v23.0/me?fields=user_id,username"))
        .bearer_auth("IG_TOKEN")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user_id"], "17841400000000001");
    assert_eq!(body["username"], "bakery.ig");
    assert_ne!(body["id"], body["user_id"], "id is app-scoped, as on Meta");

    for bad in ["?access_token=nope", ""] {
        let (status, body) = get(&format!("{url}/v21.0/me{bad}")).await;
        assert_eq!(status, 400);
        assert_oauth_error(&body, 190);
        assert_eq!(
            body["error"]["message"],
            "Invalid OAuth access token - Cannot parse access token"
        );
    }

    let recorded = graph.requests();
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0].method, "GET");
    assert_eq!(recorded[0].path, "/v23.0/me");
    assert_eq!(recorded[0].query["access_token"], "PAGE_TOKEN");
    assert_eq!(
        recorded[1].authorization.as_deref(),
        Some("Bearer IG_TOKEN")
    );
    assert_eq!(recorded[1].query["fields"], "user_id,username");
}

#[tokio::test]
async fn subscribed_apps_takes_query_form_or_json() {
    let graph = StandIn::start().await;
    graph.add_page("1001", "Bakery", "PAGE_TOKEN");
    graph.add_instagram("17841400000000001", "bakery.ig", "IG_TOKEN");
    let url = graph.url();
    let client = reqwest::Client::new();

    let response = client
        .post(format!(
            "{url}/v23.0/1001/subscribed_apps?subscribed_fields=messages,message_echoes&access_token=PAGE_TOKEN"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"success": true})
    );

    let response = client
        .post(format!("{url}/v23.0/me/subscribed_apps"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("subscribed_fields=messages&access_token=IG_TOKEN")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let subscriptions = graph.subscriptions();
    assert_eq!(subscriptions["1001"], ["messages", "message_echoes"]);
    assert_eq!(subscriptions["17841400000000001"], ["messages"]);

    let (status, body) = post_json(
        &format!("{url}/v23.0/1001/subscribed_apps"),
        Some("IG_TOKEN"),
        json!({"subscribed_fields": ["messages"]}),
    )
    .await;
    assert_eq!(status, 400, "another account's token");
    assert_oauth_error(&body, 190);

    let (status, body) = post_json(
        &format!("{url}/v23.0/1001/subscribed_apps"),
        Some("PAGE_TOKEN"),
        json!({"subscribed_fields": ["messages", "messaging_postbacks"]}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    assert_eq!(
        graph.subscriptions()["1001"],
        ["messages", "messaging_postbacks"]
    );
    let recorded = graph.requests();
    assert_eq!(
        recorded[1].body,
        Some(json!({"subscribed_fields": "messages", "access_token": "IG_TOKEN"}))
    );
}

#[tokio::test]
async fn send_api_answers_ids_and_records_bodies() {
    let graph = StandIn::start().await;
    graph.add_page("1001", "Bakery", "PAGE_TOKEN");
    let url = graph.url();
    let body = json!({
        "recipient": {"id": "2002"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hello!", "metadata": "pronto:42"},
    });

    let (status, first) = post_json(
        &format!("{url}/v23.0/1001/messages"),
        Some("PAGE_TOKEN"),
        body.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first["recipient_id"], "2002");
    let (status, second) = post_json(
        &format!("{url}/v23.0/me/messages?access_token=PAGE_TOKEN"),
        None,
        body.clone(),
    )
    .await;
    assert_eq!(status, 200);
    let (a, b) = (
        first["message_id"].as_str().unwrap(),
        second["message_id"].as_str().unwrap(),
    );
    assert!(a.starts_with("m_") && b.starts_with("m_"));
    assert_ne!(a, b);

    let (status, error) = post_json(
        &format!("{url}/v23.0/1001/messages"),
        Some("WRONG"),
        body.clone(),
    )
    .await;
    assert_eq!(status, 400);
    assert_oauth_error(&error, 190);

    let (status, error) = post_json(
        &format!("{url}/v23.0/1001/messages"),
        Some("PAGE_TOKEN"),
        json!({"message": {"text": "to nobody"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_oauth_error(&error, 100);

    assert_eq!(graph.sent(), vec![body.clone(), body]);
}

#[tokio::test]
async fn scripted_answers_come_first_in_order() {
    let graph = StandIn::start().await;
    graph.add_page("1001", "Bakery", "PAGE_TOKEN");
    let url = format!("{}/v23.0/1001/messages", graph.url());
    let body = json!({"recipient": {"id": "2002"}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}});
    graph.script_send(Scripted::Error {
        status: 400,
        code: 551,
        subcode: Some(1545041),
        message: "This person isn't available right now.".into(),
    });
    graph.script_send(Scripted::Status(503));
    graph.script_send(Scripted::Delay(Duration::from_millis(200)));
    graph.script_send(Scripted::Hang);

    let (status, error) = post_json(&url, Some("PAGE_TOKEN"), body.clone()).await;
    assert_eq!(status, 400);
    assert_oauth_error(&error, 551);
    assert_eq!(error["error"]["error_subcode"], 1545041);

    let client = reqwest::Client::new();
    let response = client
        .post(&url)
        .bearer_auth("PAGE_TOKEN")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(
        response.json::<Value>().await.is_err(),
        "a bare, non-JSON body"
    );

    let started = std::time::Instant::now();
    let (status, _) = post_json(&url, Some("PAGE_TOKEN"), body.clone()).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    let hung = client
        .post(&url)
        .bearer_auth("PAGE_TOKEN")
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());

    let (status, _) = post_json(&url, Some("PAGE_TOKEN"), body.clone()).await;
    assert_eq!(status, 200, "the queue is empty again");
    assert_eq!(graph.sent().len(), 2, "only the successful sends");
}

fn conversation(id: &str, updated: &str, messages: usize) -> Conversation {
    Conversation {
        id: id.into(),
        updated_time: updated.into(),
        participants: vec![
            ("2002".into(), "Ada".into()),
            ("1001".into(), "Bakery".into()),
        ],
        messages: (0..messages)
            .map(|i| ConversationMessage {
                id: format!("m_{id}_{i:03}"),
                created_time: format!("2026-11-20T10:{:02}:{:02}+0000", i / 60, i % 60),
                from: ("2002".into(), "Ada".into()),
                to: "1001".into(),
                text: format!("message {i}"),
            })
            .collect(),
    }
}

#[tokio::test]
async fn conversations_page_newest_first() {
    let graph = StandIn::start().await;
    graph.add_page("1001", "Bakery", "PAGE_TOKEN");
    for i in 0..5 {
        graph.add_conversation(
            "1001",
            conversation(&format!("t_{i}"), &format!("2026-11-2{i}T10:15:00+0000"), 3),
        );
    }
    let url = graph.url();
    let first = format!(
        "{url}/v23.0/1001/conversations?platform=messenger&fields=participants,updated_time,messages%7Bid,created_time,from,to,message%7D&limit=2&access_token=PAGE_TOKEN"
    );
    let mut next = Some(first);
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(link) = next {
        let (status, body) = get(&link).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for c in body["data"].as_array().unwrap() {
            ids.push(c["id"].as_str().unwrap().to_owned());
            assert_eq!(
                c["participants"]["data"][0],
                json!({"name": "Ada", "email": "2002@facebook.com", "id": "2002"})
            );
            let newest = &c["messages"]["data"][0];
            assert_eq!(newest["message"], "message 2");
            assert_eq!(newest["from"]["id"], "2002");
            assert_eq!(newest["to"]["data"][0]["id"], "1001");
        }
        assert!(body["paging"]["cursors"]["after"].is_string());
        next = body["paging"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, ["t_4", "t_3", "t_2", "t_1", "t_0"]);

    let (status, body) = get(&format!(
        "{url}/v23.0/1001/conversations?access_token=PAGE_TOKEN"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"][0],
        json!({"id": "t_4", "updated_time": "2026-11-24T10:15:00+0000"})
    );
    assert!(
        body["paging"].get("next").is_none(),
        "one page at the default limit"
    );

    let (status, body) = get(&format!(
        "{url}/v23.0/1001/conversations?access_token=WRONG"
    ))
    .await;
    assert_eq!(status, 400);
    assert_oauth_error(&body, 190);
}

#[tokio::test]
async fn conversation_messages_page_and_only_recent_ones_have_details() {
    let graph = StandIn::start().await;
    graph.add_instagram("17841400000000001", "bakery.ig", "IG_TOKEN");
    graph.add_conversation(
        "17841400000000001",
        conversation("aWdfZAG06", "2026-11-20T10:15:00+0000", 30),
    );
    let url = graph.url();

    let (status, body) = get(&format!(
        "{url}/v23.0/aWdfZAG06?fields=messages.limit(4)%7Bid,from,message%7D&access_token=IG_TOKEN"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let messages = &body["messages"];
    assert_eq!(messages["data"].as_array().unwrap().len(), 4);
    assert_eq!(
        messages["data"][0],
        json!({"id": "m_aWdfZAG06_029", "from": {"username": "Ada", "id": "2002"}, "message": "message 29"})
    );

    // Follow the nested edge's own paging to the end.
    let mut next = messages["paging"]["next"].as_str().map(str::to_owned);
    let mut seen = 4;
    while let Some(link) = next {
        let (status, body) = get(&link).await;
        assert_eq!(status, 200, "{body}");
        seen += body["data"].as_array().unwrap().len();
        next = body["paging"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 30);

    let (status, body) = get(&format!(
        "{url}/v23.0/m_aWdfZAG06_025?fields=id,created_time,from,to,message&access_token=IG_TOKEN"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "message 25");
    let (status, body) = get(&format!(
        "{url}/v23.0/m_aWdfZAG06_002?access_token=IG_TOKEN"
    ))
    .await;
    assert_eq!(status, 400, "older than the 20 most recent");
    assert_oauth_error(&body, 100);

    let (status, body) = get(&format!(
        "{url}/v23.0/aWdfZAG06/messages?fields=id,bogus&access_token=IG_TOKEN"
    ))
    .await;
    assert_eq!(status, 400);
    assert_oauth_error(&body, 100);
}
