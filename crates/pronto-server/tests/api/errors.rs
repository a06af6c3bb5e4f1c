//! Errors answer in one JSON shape with the right status; the OpenAPI document lists every
//! route; /healthz and /metrics.

use super::harness::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

async fn errors_are_json_with_the_right_status<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let raw = |method: Method, path: &str| {
        server
            .client
            .request(method, format!("{}{path}", server.url))
            .bearer_auth(&admin.token)
    };

    // Malformed JSON: 400 naming the problem.
    let response = raw(Method::POST, "/api/v1/inboxes")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(code(&body), "invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{body}"
    );

    // A wrong field: 400 naming it.
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Shop", "chanel": "playground"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("chanel"),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Shop", "channel": "fax"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("fax"),
        "{body}"
    );

    // Not JSON at all: 415.
    let response = raw(Method::POST, "/api/v1/inboxes")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Over the body limit (64 KiB in the tests): 413.
    let big = json!({"name": "x".repeat(100_000), "channel": "playground"});
    let (status, body) = server.post("/api/v1/inboxes", &admin.token, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "payload_too_large");

    // Unknown ids, ids that cannot be, routes and methods.
    let (status, body) = server.get("/api/v1/inboxes/999999", &admin.token).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = server.get("/api/v1/conversations/abc", &admin.token).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = server.get("/api/v1/nothing", &admin.token).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "no_route"));
    let (status, body) = server
        .request(
            Method::PUT,
            "/api/v1/inboxes",
            &admin.token,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (status, body) = server
        .get("/api/v1/conversations?order=random", &admin.token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("order"),
        "{body}"
    );
    server.stop().await;
}

async fn health_metrics_and_the_openapi_document<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let health = server
        .client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    server
        .get(
            &format!("/api/v1/inboxes/{inbox}/responsiveness"),
            &admin.token,
        )
        .await;
    let metrics = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let metrics = metrics.text().await.unwrap();
    for expected in [
        "pronto_http_requests_total{method=\"POST\",route=\"/api/v1/inboxes\",status=\"201\"} 1",
        "pronto_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/inboxes/{id}/responsiveness\",le=\"+Inf\"} 1",
        "pronto_outbox_depth 0",
        &format!(
            "pronto_badge_held{{workspace=\"{}\",inbox=\"{inbox}\"}} 0",
            admin.workspace
        ),
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from:\n{metrics}"
        );
    }

    // The document lists exactly the routes the router serves.
    let doc: serde_json::Value = server
        .client
        .get(format!("{}/api/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = pronto_server::api::ROUTES
        .iter()
        .map(|(method, path)| (method.to_uppercase(), path.to_string()))
        .collect();
    assert_eq!(documented, served);
    server.stop().await;
}

crate::on_both_stores!(
    errors_are_json_with_the_right_status,
    health_metrics_and_the_openapi_document
);
