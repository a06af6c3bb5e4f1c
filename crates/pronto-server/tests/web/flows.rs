//! The agents' day in a real browser: sign in, the inbox by urgency, a conversation, a reply
//! the customer receives, Done, the dashboard, live updates, Russian, a phone's width; and a
//! Messenger reply reaching the Graph API stand-in.

use super::browser::{Browser, chromium};
use crate::harness::{self, Backend, META_APP_SECRET, Place, TestServer, temp_dir};
use futures_util::future::BoxFuture;
use pronto_badge::{Author, Millis, Status};
use pronto_core::store::{ConversationOrder, ConversationQuery, OutboxEntry, Store};
use pronto_core::{ChannelKind, InboxId, Incoming, WorkspaceId};
use pronto_server::ManualClock;
use pronto_server::crypto::SecretKey;
use pronto_server::workers::{SendJob, Sender, Sent};
use pronto_store_sqlite::SqliteStore;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ENTER: &str = "\u{E007}";

fn real_now() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis
}

/// The playground's customers, as far as the test is concerned: every reply they receive.
#[derive(Default)]
struct Customers(Mutex<Vec<OutboxEntry>>);

struct PlaygroundSender(Arc<Customers>);

impl Sender for PlaygroundSender {
    fn send<'a>(&'a self, job: &'a SendJob, now: Millis) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            self.0.0.lock().unwrap().push(job.entry.clone());
            pronto_channels::playground::deliver(&job.entry, now).into()
        })
    }
}

/// A server whose clock follows the real one (so the browser's countdowns and the server's
/// agree), on a fresh SQLite database prepared by `seed` before the server starts.
async fn server_with<F>(seed: F, customers: Arc<Customers>) -> TestServer<SqliteStore>
where
    F: AsyncFnOnce(&SqliteStore, Millis),
{
    let place: Place = SqliteStore::fresh(temp_dir()).await;
    let store = <SqliteStore as Backend>::open(&place).await;
    seed(&store, real_now()).await;
    store.close_it().await;
    let clock = Arc::new(ManualClock::new(real_now()));
    let ticking = clock.clone();
    tokio::spawn(async move {
        loop {
            ticking.set(real_now());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    TestServer::start_in(place, clock, SecretKey::generate(), move |server| {
        server.sender(
            ChannelKind::Playground,
            Arc::new(PlaygroundSender(customers)),
        )
    })
    .await
}

async fn sign_in(browser: &Browser, email: &str, password: &str) {
    browser.goto("/login").await;
    browser
        .css("input[name=email]")
        .await
        .send_keys(email)
        .await
        .unwrap();
    browser
        .css("input[name=password]")
        .await
        .send_keys(password)
        .await
        .unwrap();
    browser
        .css("form[action='/login'] button")
        .await
        .click()
        .await
        .unwrap();
}

fn skipped() -> bool {
    if chromium().is_none() {
        println!(
            "skipped: PRONTO_TEST_CHROMIUM is not set to a Chromium binary (with chromedriver beside it)"
        );
        return true;
    }
    false
}

async fn demo_workspace(store: &SqliteStore) -> WorkspaceId {
    store
        .workspace_by_name(pronto_channels::demo::DEMO_WORKSPACE)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_day_in_the_demo() {
    if skipped() {
        return;
    }
    let started = Instant::now();
    let customers = Arc::new(Customers::default());
    let server = server_with(
        async |store: &SqliteStore, now| {
            let options = pronto_channels::demo::DemoOptions {
                conversations: 240,
                days: 30,
                ..Default::default()
            };
            pronto_channels::demo::seed_with(store, now, &options, |_, _| {})
                .await
                .unwrap();
        },
        customers.clone(),
    )
    .await;
    let ws = demo_workspace(server.store()).await;
    let browser = Browser::start("demo", &server.url, 1280, 860, "en-US").await;

    // A wrong password is said plainly.
    sign_in(
        &browser,
        pronto_channels::demo::DEMO_ADMIN_EMAIL,
        "not the password",
    )
    .await;
    let text = browser
        .wait_text("the wrong password message", |t| {
            t.contains("Wrong email or password")
        })
        .await;
    assert!(text.contains("Sign in"));
    browser.screenshot("login-wrong-password").await;

    // Signed in: the inbox, Unanswered first, ordered by urgency.
    sign_in(
        &browser,
        pronto_channels::demo::DEMO_ADMIN_EMAIL,
        pronto_channels::demo::DEMO_PASSWORD,
    )
    .await;
    browser.css("[data-rows]").await;
    assert_eq!(browser.path().await, "/inbox");
    let shown: Vec<String> = serde_json::from_value(
        browser
            .js("return [...document.querySelectorAll('[data-rows] .row')].map(r => r.dataset.id)")
            .await,
    )
    .unwrap();
    let expected = server
        .store()
        .conversations(
            ws,
            &ConversationQuery {
                inbox: None,
                status: Some(Status::Open),
                assignee: None,
                waiting: true,
                order: ConversationOrder::Urgency,
                cursor: None,
                limit: 50,
            },
        )
        .await
        .unwrap();
    let expected: Vec<String> = expected
        .items
        .iter()
        .map(|s| s.conversation.id.0.to_string())
        .collect();
    assert!(!shown.is_empty(), "the demo has conversations waiting");
    assert_eq!(shown, expected, "the inbox is in the store's urgency order");
    // The first row waits longest: its countdown is the most urgent.
    let first_countdown = browser.text("[data-rows] .row [data-countdown]").await;
    assert!(
        first_countdown.contains("answer within") || first_countdown.contains("over target by"),
        "{first_countdown}"
    );
    browser.screenshot("inbox").await;

    // A channel's every inbox (here: the demo's three playground inboxes) is the same list,
    // page after page.
    let ids = "return [...document.querySelectorAll('[data-rows] .row')].map(r => r.dataset.id)";
    for view in ["open", "done"] {
        let mut pages = Vec::new();
        for filter in ["", "&inbox=playground"] {
            browser.goto(&format!("/inbox?view={view}{filter}")).await;
            browser.css("[data-rows]").await;
            let first = browser.js(ids).await;
            browser.css("a[rel=next]").await.click().await.unwrap();
            browser
                .wait_text("the next page", |t| t.contains("First page"))
                .await;
            let second = browser.js(ids).await;
            pages.push((first, second));
        }
        assert_eq!(
            pages[0], pages[1],
            "{view}: one channel's inboxes merged as the store orders them"
        );
    }

    // The dashboard's figures before.
    browser.goto("/dashboard").await;
    browser.css(".card").await;
    let figures_before = browser.text(".cards").await;
    browser.screenshot("dashboard-before").await;

    // Open the most urgent conversation with the keyboard (the first row has the focus).
    browser.goto("/inbox").await;
    browser.css("[data-rows] .row-link").await;
    browser
        .js("document.querySelector('[data-rows] .row-link').focus()")
        .await;
    let focused = "return document.activeElement.closest('[data-id]')?.dataset.id";
    browser.keys("j").await;
    assert_eq!(
        browser.js(focused).await,
        serde_json::json!(shown[1]),
        "j moves down"
    );
    browser.keys("k").await;
    assert_eq!(
        browser.js(focused).await,
        serde_json::json!(shown[0]),
        "k moves up"
    );
    browser.keys(ENTER).await;
    browser.css("[data-composer]").await;
    let conversation: i64 = browser
        .css("[data-conversation]")
        .await
        .attr("data-conversation")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(conversation.to_string(), shown[0]);
    browser.screenshot("conversation").await;

    // a: assigned to me (the admin), shown without a reload.
    browser.js("document.activeElement.blur()").await;
    browser.keys("a").await;
    browser
        .wait_text("the assignee", |t| t.contains("Assignee\nAnna Kovalenko"))
        .await;

    // A template goes into the composer, for the agent to finish.
    let template = browser
        .js("const s = document.querySelector('[data-template]'); s.selectedIndex = 1; s.dispatchEvent(new Event('change', {bubbles: true})); return s.options[1].value")
        .await;
    let composed = browser
        .js("return document.getElementById('reply').value")
        .await;
    assert_eq!(composed, template, "the template's text is in the composer");
    browser
        .js("document.getElementById('reply').value = ''")
        .await;

    // r, a reply, Enter: the playground customer receives it, and the thread says "sent".
    browser.js("document.activeElement.blur()").await;
    browser.keys("r").await;
    browser
        .keys("Thanks for waiting! Your order ships today.")
        .await;
    browser.keys(ENTER).await;
    browser
        .wait_text("the reply sent", |t| {
            t.contains("Thanks for waiting! Your order ships today.") && t.contains("sent")
        })
        .await;
    let received = customers.0.lock().unwrap().clone();
    assert!(
        received.iter().any(|e| e.conversation.0 == conversation
            && e.text == "Thanks for waiting! Your order ships today."),
        "the customer received the reply: {received:?}"
    );
    browser.screenshot("replied").await;

    // e: Done, back to the inbox; the store agrees.
    browser.js("document.activeElement.blur()").await;
    browser.keys("e").await;
    browser.css("[data-rows]").await;
    assert!(browser.path().await.starts_with("/inbox"));
    let done = server
        .store()
        .conversation(ws, pronto_core::ConversationId(conversation))
        .await
        .unwrap();
    assert_eq!(done.conversation.status, Status::Done);

    // The dashboard's figures moved.
    browser.goto("/dashboard").await;
    browser.css(".card").await;
    let figures_after = browser.text(".cards").await;
    assert_ne!(
        figures_before, figures_after,
        "the reply changed the figures"
    );
    browser.screenshot("dashboard-after").await;
    browser
        .js("document.querySelector('.charts').scrollIntoView()")
        .await;
    browser.screenshot("dashboard-charts").await;

    // A customer writes while the dashboard is open: the pooled "waiting now" moves, live.
    browser.css("html[data-live-ready]").await;
    browser.js("window.__stayed = true").await;
    let first_inbox = server.store().inboxes(ws).await.unwrap()[0].id;
    // The demo's inboxes are Away at night, when a new conversation would be left out.
    server
        .app()
        .set_availability(ws, first_inbox, pronto_badge::Availability::Available, None)
        .await
        .unwrap();
    let pending_before = browser.text(".card.pooled").await;
    server
        .app()
        .ingest(
            ws,
            &Incoming {
                inbox: first_inbox,
                contact_external_id: "e2e-dashboard".into(),
                contact_name: "Dana Dashboard".into(),
                channel_message_id: "e2e-dashboard-1".into(),
                at: real_now(),
                author: Author::Customer,
                text: "Hi!".into(),
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();
    let started_waiting = Instant::now();
    while browser.text(".card.pooled").await == pending_before {
        assert!(
            started_waiting.elapsed() < Duration::from_secs(12),
            "the dashboard did not move: {pending_before}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        browser.js("return window.__stayed === true").await,
        serde_json::Value::Bool(true),
        "the dashboard was not reloaded"
    );
    let csv = browser
        .js("const r = await fetch('/dashboard.csv'); return [r.status, await r.text()]")
        .await;
    assert_eq!(csv[0], 200);
    assert!(
        csv[1].as_str().unwrap().starts_with("kind,name,state"),
        "{csv}"
    );

    // A customer writes while the inbox is open: the row appears without a reload.
    browser.goto("/inbox?view=unanswered").await;
    browser.css("[data-rows]").await;
    browser.js("window.__stayed = true").await;
    // The live stream is connected (a message before that would be on the next page load).
    browser.css("html[data-live-ready]").await;
    let inbox = server
        .store()
        .inboxes(ws)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.channel == ChannelKind::Playground)
        .unwrap();
    server
        .app()
        .ingest(
            ws,
            &Incoming {
                inbox: inbox.id,
                contact_external_id: "e2e-newcomer".into(),
                contact_name: "Zoe Newcomer".into(),
                channel_message_id: "e2e-newcomer-1".into(),
                at: real_now(),
                author: Author::Customer,
                text: "Hello, is anyone there?".into(),
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();
    let started_waiting = Instant::now();
    while !browser.text("main").await.contains("Zoe Newcomer") {
        if started_waiting.elapsed() > Duration::from_secs(10) {
            let cookie = browser
                .client
                .get_named_cookie("pronto_session")
                .await
                .unwrap();
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let health = client.get(format!("{}/metrics", server.url)).send().await;
            let health = match health {
                Ok(r) => r
                    .text()
                    .await
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.starts_with("pronto_sse_clients"))
                    .collect::<Vec<_>>()
                    .join(" "),
                Err(e) => e.to_string(),
            };
            let page = client
                .get(format!("{}/inbox?view=unanswered", server.url))
                .header("cookie", format!("pronto_session={}", cookie.value()))
                .send()
                .await;
            let page = match page {
                Ok(r) => r
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("Zoe Newcomer")
                    .to_string(),
                Err(e) => e.to_string(),
            };
            panic!(
                "the new customer's row did not appear: {} health {:?} page {page}",
                browser.js("return JSON.stringify(window.prontoLive)").await,
                health
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let streams: u32 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pronto_sse_clients "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        streams <= 2,
        "pages left behind closed their streams: {streams} open"
    );
    assert_eq!(
        browser.js("return window.__stayed === true").await,
        serde_json::Value::Bool(true),
        "the page was not reloaded"
    );
    browser.screenshot("live-new-message").await;

    // The help overlay.
    browser.js("document.activeElement.blur()").await;
    browser.keys("?").await;
    browser
        .wait_text("the keys", |t| t.contains("Keyboard shortcuts"))
        .await;
    browser.screenshot("help").await;
    browser.js("document.getElementById('help').close()").await;

    // Russian.
    browser
        .css("form[action='/language'] button")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_text("the Russian inbox", |t| t.contains("Без ответа"))
        .await;
    browser.screenshot("inbox-ru").await;
    browser.goto("/dashboard").await;
    browser
        .wait_text("the Russian dashboard", |t| t.contains("Доля ответов"))
        .await;
    browser.screenshot("dashboard-ru").await;
    browser.close().await;

    // A phone's width.
    let phone = Browser::start("phone", &server.url, 375, 780, "en-US").await;
    sign_in(
        &phone,
        pronto_channels::demo::DEMO_ADMIN_EMAIL,
        pronto_channels::demo::DEMO_PASSWORD,
    )
    .await;
    phone.css("[data-rows]").await;
    let overflow = phone
        .js("return document.documentElement.scrollWidth > window.innerWidth + 1")
        .await;
    phone.screenshot("inbox").await;
    let wide = phone
        .js("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")
        .await;
    assert_eq!(
        phone
            .js("return [screen.width, document.documentElement.scrollWidth]")
            .await,
        serde_json::json!([375, 375]),
        "wider than 375 px: {wide}"
    );
    assert_eq!(
        overflow,
        serde_json::Value::Bool(false),
        "no sideways scrolling at 375 px"
    );
    phone.goto(&format!("/conversations/{}", shown[1])).await;
    phone.css("[data-composer]").await;
    phone.screenshot("conversation").await;
    phone.close().await;
    server.stop().await;
    println!("e2e demo day took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messenger_reply_reaches_the_graph_api() {
    if skipped() {
        return;
    }
    let server = server_with(async |_: &SqliteStore, _| {}, Arc::default()).await;
    let admin = server.user("ann@example.com", true, "Shop").await;
    let page_id = "1001";
    let inbox = server
        .messenger(&admin, page_id, serde_json::json!({}))
        .await;
    let body = pronto_loadtest::payload::batch(
        "page",
        vec![(
            page_id.to_owned(),
            real_now() as u64,
            vec![pronto_loadtest::payload::message(
                page_id,
                "psid-42",
                "m_customer_1",
                "Do you ship to Lisbon?",
                real_now() as u64,
            )],
        )],
    );
    let (status, answer) = server.webhook(&body).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{answer}");
    let _ = META_APP_SECRET;

    let browser = Browser::start("messenger", &server.url, 1280, 860, "en-US").await;
    sign_in(&browser, "ann@example.com", harness::PASSWORD).await;
    browser.css("[data-rows]").await;
    let text = browser.text("[data-rows]").await;
    assert!(text.contains("Messenger"), "{text}");
    assert!(text.contains("window closes in"), "{text}");
    browser.screenshot("inbox").await;
    browser
        .css("[data-rows] .row-link")
        .await
        .click()
        .await
        .unwrap();
    browser.css("#reply").await.click().await.unwrap();
    browser.keys("Yes, in 2 to 3 days.").await;
    browser.keys(ENTER).await;
    browser
        .wait_text("the reply sent", |t| {
            t.contains("Yes, in 2 to 3 days.") && t.contains("sent")
        })
        .await;
    let sent = server.graph.sent();
    assert!(
        sent.iter().any(|call| call["recipient"]["id"] == "psid-42"
            && call["message"]["text"] == "Yes, in 2 to 3 days."),
        "the Send API got the reply: {sent:?}"
    );
    browser.screenshot("replied").await;

    // A customer who wrote 25 hours ago: Meta's window is closed, and the page says so plainly.
    let old = real_now() - 25 * 3_600_000;
    let body = pronto_loadtest::payload::batch(
        "page",
        vec![(
            page_id.to_owned(),
            old as u64,
            vec![pronto_loadtest::payload::message(
                page_id,
                "psid-late",
                "m_customer_late",
                "Hello? Anyone?",
                old as u64,
            )],
        )],
    );
    assert_eq!(server.webhook(&body).await.0, reqwest::StatusCode::OK);
    let late = server
        .store()
        .conversations(
            admin.workspace,
            &ConversationQuery {
                inbox: Some(inbox),
                status: None,
                assignee: None,
                waiting: false,
                order: ConversationOrder::Activity,
                cursor: None,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| c.contact_name.contains("psid-late") || c.conversation.preview.contains("Anyone"))
        .expect("the late conversation");
    browser
        .goto(&format!("/conversations/{}", late.conversation.id.0))
        .await;
    browser.css("#reply").await.click().await.unwrap();
    browser.keys("Sorry for the wait!").await;
    browser.keys(ENTER).await;
    let error = browser.css("[data-composer-error]").await;
    let started = Instant::now();
    while !error
        .text()
        .await
        .unwrap_or_default()
        .contains("24-hour reply window")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the closed window was not said"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.screenshot("window-closed").await;

    // A conversation that does not exist: a page that says so.
    browser.goto("/conversations/999999").await;
    browser
        .wait_text("the not-found page", |t| {
            t.contains("conversation not found")
        })
        .await;

    // Away in one click, with the time before it resets itself.
    browser.goto("/inbox").await;
    browser
        .css("[data-availability]")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_text("the Away note", |t| {
            t.contains("Away resets itself in 11 h") || t.contains("Away resets itself in 12 h")
        })
        .await;
    browser.screenshot("away").await;

    // Settings: connect another Page; a wrong token is refused by Meta, in Meta's words.
    browser.goto("/settings").await;
    browser
        .wait_text("the settings", |t| t.contains("Page 1001"))
        .await;
    server
        .graph
        .add_page("2002", "Second page", "EAAB-right-token");
    let form = "form[data-kind=inbox]";
    for (field, value) in [("name", "Second page"), ("page_id", "2002")] {
        browser
            .css(&format!("{form} input[name={field}]"))
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    let token = browser
        .css(&format!("{form} input[name=page_access_token]"))
        .await;
    token.send_keys("EAAB-wrong-token").await.unwrap();
    browser
        .css(&format!("{form} button"))
        .await
        .click()
        .await
        .unwrap();
    let refused = browser.css(&format!("{form} .form-error")).await;
    let started = Instant::now();
    while refused.text().await.unwrap_or_default().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no error shown"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.screenshot("settings-meta-refused").await;
    token.clear().await.unwrap();
    token.send_keys("EAAB-right-token").await.unwrap();
    browser
        .css(&format!("{form} button"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_text("the new inbox", |t| {
            t.contains("2002") && t.contains("Second page")
        })
        .await;
    browser.screenshot("settings").await;

    // An agent added through the form, then deactivated.
    let form = "form[data-kind=user]";
    for (field, value) in [
        ("name", "Boris Agent"),
        ("email", "boris@example.com"),
        ("password", "a long enough password"),
    ] {
        browser
            .css(&format!("{form} input[name={field}]"))
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    browser
        .css(&format!("{form} button"))
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_text("the new agent", |t| t.contains("boris@example.com"))
        .await;
    browser
        .css("form[action$='/active'] button")
        .await
        .click()
        .await
        .unwrap();
    browser
        .wait_text("the deactivated agent", |t| t.contains("Deactivated"))
        .await;
    browser.screenshot("settings-agents").await;
    let _: InboxId = inbox;
    browser.close().await;
    server.stop().await;
}
