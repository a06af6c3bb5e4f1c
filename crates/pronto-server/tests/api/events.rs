//! Server-Sent Events: ready, figures, changes with ids, replay after Last-Event-ID, one
//! workspace only, and a graceful shutdown that ends open streams.

use super::harness::{Backend, SseReader, TestServer};
use pronto_badge::time::MINUTE;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn connect(
    server: &TestServer<impl Backend>,
    token: &str,
    last_event_id: Option<&str>,
) -> SseReader {
    let mut request = server
        .client
        .get(format!("{}/api/v1/events", server.url))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    SseReader::new(response)
}

async fn changes_stream_with_ids_and_replay_after_a_reconnection<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let alice = server.user("alice@a.example", true, "A").await;
    let bob = server.user("bob@b.example", true, "B").await;
    let inbox = server.playground(&alice, "Shop").await;
    let other = server.playground(&bob, "Elsewhere").await;

    let mut events = connect(&server, &alice.token, None).await;
    let ready = events.until("ready", WAIT).await.expect("ready");
    assert!(ready.id.is_none());
    let figures = events
        .until("figures", WAIT)
        .await
        .expect("figures of the inbox");
    let figures: serde_json::Value = serde_json::from_str(&figures.data).unwrap();
    assert_eq!(figures["inbox"], inbox.0);
    assert_eq!(figures["badge"], false);

    // B's activity never shows in A's stream; A's does, with ids.
    server
        .customer_writes(bob.workspace, other, "b1", "Hello B")
        .await;
    let conversation = server
        .customer_writes(alice.workspace, inbox, "a1", "Hello A")
        .await;
    let created = events
        .until("message_created", WAIT)
        .await
        .expect("message_created");
    let data: serde_json::Value = serde_json::from_str(&created.data).unwrap();
    assert_eq!(data["inbox"], inbox.0, "{data}");
    assert_eq!(data["conversation"], conversation);
    let first_id = created.id.clone().expect("changes carry ids");
    assert_eq!(data["id"].to_string(), first_id);
    let figures = events
        .until("figures", WAIT)
        .await
        .expect("the pending start moves the figures");
    let figures: serde_json::Value = serde_json::from_str(&figures.data).unwrap();
    assert_eq!(figures["pending"], 1);
    drop(events);

    // While disconnected: a status change and a reply.
    server.clock.advance(MINUTE);
    server
        .post(
            &format!("/api/v1/conversations/{conversation}/status"),
            &alice.token,
            json!({"status": "done"}),
        )
        .await;
    server
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &alice.token,
            json!({"text": "Sorry!"}),
        )
        .await;
    server.outbox_drained().await;

    let mut events = connect(&server, &alice.token, Some(&first_id)).await;
    let mut replayed = Vec::new();
    while let Some(event) = events.next(Duration::from_millis(1500)).await {
        if let Some(id) = &event.id {
            replayed.push((event.event.clone(), id.parse::<i64>().unwrap()));
        }
    }
    let kinds: Vec<&str> = replayed.iter().map(|(kind, _)| kind.as_str()).collect();
    assert!(kinds.contains(&"conversation_updated"), "{replayed:?}");
    assert!(kinds.contains(&"message_created"), "{replayed:?}");
    assert!(
        replayed
            .iter()
            .all(|(_, id)| *id > first_id.parse::<i64>().unwrap()),
        "{replayed:?}"
    );
    let mut ids: Vec<i64> = replayed.iter().map(|(_, id)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len(), replayed.len(), "each change once");

    // The stream ends when the server stops, and the server stops.
    server.stop().await;
    assert!(events.next(WAIT).await.is_none());
}

crate::on_both_stores!(changes_stream_with_ids_and_replay_after_a_reconnection);
