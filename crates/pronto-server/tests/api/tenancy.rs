//! A user of one workspace cannot see or touch another's inboxes, conversations or figures,
//! by guessing ids or otherwise: every such id is 404, as if it did not exist.

use super::harness::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn workspaces_cannot_reach_each_other<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let alice = server.user("alice@a.example", true, "A").await;
    let bob = server.user("bob@b.example", true, "B").await;
    let inbox_a = server.playground(&alice, "A's inbox").await;
    let inbox_b = server.playground(&bob, "B's inbox").await;
    let conv_a = server
        .customer_writes(alice.workspace, inbox_a, "a-customer", "Hello A")
        .await;
    let conv_b = server
        .customer_writes(bob.workspace, inbox_b, "b-customer", "Hello B")
        .await;

    // Lists hold only one's own.
    let (_, inboxes) = server.get("/api/v1/inboxes", &alice.token).await;
    let ids: Vec<i64> = inboxes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![inbox_a.0]);
    let (_, conversations) = server.get("/api/v1/conversations", &alice.token).await;
    let ids: Vec<i64> = conversations["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![conv_a]);
    let (status, _) = server
        .get(
            &format!("/api/v1/conversations?inbox={inbox_b}"),
            &alice.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, members) = server.get("/api/v1/users", &alice.token).await;
    assert!(!members.to_string().contains("bob@b.example"));

    // Every way of reaching B's rows by id: 404, and nothing changes.
    let b_inbox = format!("/api/v1/inboxes/{inbox_b}");
    let b_conv = format!("/api/v1/conversations/{conv_b}");
    let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, b_inbox.clone(), None),
        (
            Method::PATCH,
            b_inbox.clone(),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, b_inbox.clone(), None),
        (Method::GET, format!("{b_inbox}/availability"), None),
        (
            Method::POST,
            format!("{b_inbox}/availability"),
            Some(json!({"status": "away"})),
        ),
        (Method::GET, format!("{b_inbox}/responsiveness"), None),
        (Method::GET, format!("{b_inbox}/events.jsonl"), None),
        (Method::GET, b_conv.clone(), None),
        (
            Method::POST,
            format!("{b_conv}/status"),
            Some(json!({"status": "spam"})),
        ),
        (
            Method::POST,
            format!("{b_conv}/assign"),
            Some(json!({"assignee": "me"})),
        ),
        (
            Method::POST,
            format!("{b_conv}/messages"),
            Some(json!({"text": "hi"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", bob.id),
            Some(json!({"role": "agent"})),
        ),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = server
            .request(method.clone(), &path, &alice.token, body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{method} {path}");
    }
    // Assigning one's own conversation to a member of another workspace is refused too.
    let (status, _) = server
        .post(
            &format!("/api/v1/conversations/{conv_a}/assign"),
            &alice.token,
            json!({"assignee": bob.id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // B's data is untouched.
    let (status, inbox) = server.get(&b_inbox, &bob.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox["name"], "B's inbox");
    let (_, conversation) = server.get(&b_conv, &bob.token).await;
    assert_eq!(conversation["status"], "open");
    assert_eq!(conversation["assignee"], serde_json::Value::Null);
    assert_eq!(conversation["messages"].as_array().unwrap().len(), 1);
    let (_, availability) = server
        .get(&format!("{b_inbox}/availability"), &bob.token)
        .await;
    assert_eq!(availability["status"], "available");
    let (status, report) = server
        .get(&format!("{b_inbox}/responsiveness"), &bob.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["pending"], 1);
    server.stop().await;
}

crate::on_both_stores!(workspaces_cannot_reach_each_other);
