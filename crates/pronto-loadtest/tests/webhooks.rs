//! The load generator against a small signature-checking sink standing in for Pronto.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use indicatif::ProgressBar;
use pronto_loadtest::payload;
use pronto_loadtest::webhooks::{self, Options};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "app-secret-for-tests";

#[derive(Default)]
struct Sink {
    /// Mids of the deliveries answered 200.
    stored: Vec<String>,
    /// Deliveries still to refuse with a 503.
    refuse: usize,
}

async fn deliver(
    State(sink): State<Arc<Mutex<Sink>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if signature != payload::sign(SECRET.as_bytes(), &body) {
        return StatusCode::FORBIDDEN;
    }
    let batch: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(batch["object"], "page");
    let mut sink = sink.lock().unwrap();
    if sink.refuse > 0 {
        sink.refuse -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    for entry in batch["entry"].as_array().unwrap() {
        assert_eq!(entry["id"], "1001");
        let event = &entry["messaging"][0];
        assert_eq!(event["recipient"]["id"], "1001");
        sink.stored
            .push(event["message"]["mid"].as_str().unwrap().to_owned());
    }
    StatusCode::OK
}

async fn sink(refuse: usize) -> (String, Arc<Mutex<Sink>>) {
    let state = Arc::new(Mutex::new(Sink {
        refuse,
        ..Sink::default()
    }));
    let app = Router::new()
        .route("/webhooks/meta", post(deliver))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

fn defaults(url: String) -> Options {
    Options {
        url,
        secret: SECRET.into(),
        page_id: "1001".into(),
        rate: 0,
        duration: Duration::from_millis(700),
        per_post: 1,
        connections: 4,
        customers: 10,
        acked: None,
        retries: 0,
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn closed_loop_batches_are_acked_and_recorded() {
    let (url, state) = sink(0).await;
    let acked = std::env::temp_dir().join(format!(
        "pronto-loadtest-acked-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let options = Options {
        per_post: 5,
        acked: Some(acked.clone()),
        ..defaults(url)
    };
    let report = webhooks::run(options.clone(), &ProgressBar::hidden())
        .await
        .unwrap();
    assert!(report.acked_posts > 10, "{}", report.summary(&options));
    assert_eq!(report.acked_messages, report.acked_posts * 5);
    assert_eq!(report.posts, report.acked_posts);
    assert_eq!(report.latencies_us.len() as u64, report.acked_posts);
    assert!(report.statuses.is_empty() && report.transport_errors == 0);

    let mut recorded: Vec<String> = std::fs::read_to_string(&acked)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut stored = state.lock().unwrap().stored.clone();
    assert_eq!(recorded.len() as u64, report.acked_messages);
    recorded.sort();
    stored.sort();
    assert_eq!(recorded, stored, "every acked mid was delivered");
    recorded.dedup();
    assert_eq!(
        recorded.len() as u64,
        report.acked_messages,
        "mids are unique"
    );
    let json = report.to_json(&options);
    assert_eq!(json["mode"], "closed");
    assert!(json["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    std::fs::remove_file(acked).unwrap();
}

#[tokio::test]
async fn open_loop_keeps_the_rate_and_retries_refusals() {
    let (url, state) = sink(3).await;
    let options = Options {
        rate: 200,
        duration: Duration::from_secs(1),
        retries: 2,
        ..defaults(url)
    };
    let report = webhooks::run(options.clone(), &ProgressBar::hidden())
        .await
        .unwrap();
    let summary = report.summary(&options);
    assert_eq!(report.due_posts, Some(200));
    // All 200 are sent on time on an idle machine; a busy one may leave the last few waiting.
    assert!((180..=200).contains(&report.posts), "{summary}");
    assert_eq!(
        report.acked_messages, report.posts,
        "refused POSTs are sent again: {summary}"
    );
    assert_eq!(report.statuses.get(&503), Some(&3));
    assert_eq!(report.retries, 3);
    assert_eq!(state.lock().unwrap().stored.len() as u64, report.posts);

    let (url, _) = sink(0).await;
    let wrong = Options {
        secret: "not-the-secret".into(),
        duration: Duration::from_millis(200),
        ..defaults(url)
    };
    let report = webhooks::run(wrong, &ProgressBar::hidden()).await.unwrap();
    assert_eq!(report.acked_messages, 0);
    assert_eq!(report.statuses.get(&403).copied(), Some(report.posts));
}
