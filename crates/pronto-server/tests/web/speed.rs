//! How fast the inbox page is served with 100,000 open conversations (paged, 50 rows): run by
//! hand, it is not part of the suite (`--ignored`); docs/benchmarks.md has the figures.
//!
//! `cargo test -p pronto-server --test web -- --ignored --nocapture inbox_page_speed`

use crate::harness::{self, Backend, TestServer};
use futures_util::future::join_all;
use pronto_badge::{Author, Millis};
use pronto_core::store::Store;
use pronto_core::{ChannelKind, Incoming};
use pronto_store_sqlite::SqliteStore;
use std::time::{Duration, Instant};

const CONVERSATIONS: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: seeds 100,000 conversations"]
async fn inbox_page_speed() {
    let server = TestServer::<SqliteStore>::start().await;
    let admin = server.user("ann@example.com", true, "Big shop").await;
    let ws = admin.workspace;
    let store = server.store();
    let mut inboxes = Vec::new();
    for (name, channel) in [
        ("Messenger", ChannelKind::Playground),
        ("Instagram", ChannelKind::Playground),
        ("Web chat", ChannelKind::Playground),
    ] {
        let inbox = store
            .create_inbox(
                ws,
                &pronto_core::store::NewInbox {
                    name: name.into(),
                    channel,
                    channel_key: None,
                    settings: serde_json::json!({}),
                    sealed_secrets: None,
                },
                server.clock_now(),
            )
            .await
            .unwrap();
        inboxes.push(inbox.id);
    }
    let seeding = Instant::now();
    let t0: Millis = server.clock_now() - 20 * 86_400_000;
    for chunk in (0..CONVERSATIONS).collect::<Vec<_>>().chunks(1_000) {
        join_all(chunk.iter().map(|&n| {
            let incoming = Incoming {
                inbox: inboxes[n % inboxes.len()],
                contact_external_id: format!("c{n}"),
                contact_name: format!("Customer {n}"),
                channel_message_id: format!("m{n}"),
                at: t0 + (n as Millis) * 15_000,
                author: Author::Customer,
                text: format!("Hello, this is customer {n}: where is my order?"),
                attachments: Vec::new(),
            };
            async move { store.ingest(ws, &incoming).await.unwrap() }
        }))
        .await;
    }
    println!(
        "seeded {CONVERSATIONS} open conversations in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    // Live badges learn the new events (as after a restart).
    for inbox in &inboxes {
        server.app().live.sync(store, ws, *inbox).await.unwrap();
    }

    let me = pronto_core::UserId(admin.id);
    for (label, inbox) in [("all inboxes", None), ("one inbox", Some(inboxes[1]))] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            store.conversation_counts(ws, inbox, me).await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "the view counts ({label}): p50 {:.1} ms",
            times[times.len() / 2].as_secs_f64() * 1000.0
        );
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .post(format!("{}/api/v1/session", server.url))
        .json(&serde_json::json!({"email": "ann@example.com", "password": harness::PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    for path in [
        "/inbox?view=unanswered",
        "/inbox?view=open",
        "/inbox?view=unassigned",
        "/inbox?view=mine",
        "/inbox?view=done",
        &format!("/inbox?view=open&inbox={}", inboxes[1].0),
    ] {
        let mut times = Vec::new();
        let mut next = None;
        for round in 0..40 {
            let url = match (&next, round % 2) {
                (Some(next), 1) => format!("{}{next}", server.url),
                _ => format!("{}{path}", server.url),
            };
            let started = Instant::now();
            let response = client
                .get(&url)
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{url}");
            let body = response.text().await.unwrap();
            times.push(started.elapsed());
            next = body
                .split("rel=\"next\"")
                .next()
                .and_then(|head| head.rsplit("href=\"").next())
                .and_then(|tail| tail.split('"').next())
                .filter(|n| n.starts_with("/inbox"))
                .map(|n| n.replace("&amp;", "&"));
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "GET {path} (and its next page): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100]),
            ms(times[times.len() - 1])
        );
    }
    // The dashboard: cold (each inbox's whole log evaluated for the daily series), then warm.
    for label in ["cold", "warm", "warm"] {
        let started = Instant::now();
        let response = client
            .get(format!("{}/dashboard", server.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
        println!(
            "GET /dashboard ({label}): {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let _ = <SqliteStore as Backend>::close_it;
    server.stop().await;
}
