//! Two nodes on one PostgreSQL database: what one node takes in reaches the other node's
//! event streams and live figures (LISTEN/NOTIFY), and a node's own changes are not heard
//! twice.

use super::harness::{Backend, SseReader, TestServer, postgres_url, t0, temp_dir};
use pronto_server::ManualClock;
use pronto_server::crypto::SecretKey;
use pronto_store_postgres::PgStore;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn what_one_node_takes_in_reaches_the_other_node_s_streams_and_figures() {
    if postgres_url().is_none() {
        println!("skipped: {} not set", super::harness::POSTGRES);
        return;
    }
    let place = <PgStore as Backend>::fresh(temp_dir()).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let key = SecretKey::generate();
    // Node B hears every node's announcements; node A takes the messages in.
    let hearing = <PgStore as Backend>::open(&place).await;
    let mut listener = hearing.listen().await.unwrap();
    let (sender, announcements) = tokio::sync::mpsc::channel(64);
    let forwarding = tokio::spawn(async move {
        while let Ok(heard) = listener.next().await {
            if sender
                .send((heard.workspace, heard.first, heard.last))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let b = TestServer::<PgStore>::start_in(place.clone(), clock.clone(), key.clone(), move |s| {
        s.worker(move |app| pronto_server::cluster::spawn_hearing(app, announcements))
    })
    .await;
    let a = TestServer::<PgStore>::start_in(place.clone(), clock, key, |s| s).await;
    let admin = a.user("ann@example.com", true, "Shop").await;
    let inbox = a.playground(&admin, "Shop").await;

    let response = b
        .client
        .get(format!("{}/api/v1/events", b.url))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    events.until("ready", WAIT).await.expect("ready");

    let conversation = a
        .customer_writes(admin.workspace, inbox, "c1", "Hello from node A")
        .await;
    let created = events
        .until("message_created", WAIT)
        .await
        .expect("node B's stream hears node A's message");
    let created: serde_json::Value = serde_json::from_str(&created.data).unwrap();
    assert_eq!(created["conversation"], conversation);
    let mut pending = None;
    for _ in 0..10 {
        let Some(figures) = events.until("figures", WAIT).await else {
            break;
        };
        let figures: serde_json::Value = serde_json::from_str(&figures.data).unwrap();
        if figures["inbox"] == inbox.0 && figures["pending"] == 1 {
            pending = Some(figures);
            break;
        }
    }
    assert!(pending.is_some(), "node B's live figures moved");

    // B's own change is on its stream once, not again when its announcement comes back.
    let (status, _) = b
        .post(
            &format!("/api/v1/conversations/{conversation}/status"),
            &admin.token,
            serde_json::json!({"status": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut ids = Vec::new();
    while let Some(event) = events.next(Duration::from_millis(700)).await {
        if event.event == "conversation_updated" {
            ids.push(event.id.clone());
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");

    forwarding.abort();
    hearing.close().await;
    let _ = b.stop_for_restart().await;
    a.stop().await;
}
