//! Conversations: the list's filters, order and paging; one with its messages; status,
//! assignment, replies through the outbox.

use super::harness::{Backend, TestServer};
use pronto_badge::time::MINUTE;
use pronto_core::ChannelKind;
use reqwest::StatusCode;
use serde_json::json;

async fn replies_go_through_the_outbox_and_count_once_accepted<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let conversation = server
        .customer_writes(admin.workspace, inbox, "c1", "Where is my order?")
        .await;
    let report = format!("/api/v1/inboxes/{inbox}/responsiveness");
    let (_, before) = server.get(&report, &admin.token).await;
    assert_eq!(before["pending"], 1);
    assert_eq!(before["window"]["starts"], 0);

    server.clock.advance(7 * MINUTE);
    let (status, message) = server
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &admin.token,
            json!({"text": "  On its way!  "}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{message}");
    assert_eq!(message["text"], "On its way!");
    assert_eq!(message["author"], "agent");
    assert_eq!(message["agent"], admin.id);
    server.outbox_drained().await;

    let (status, body) = server
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &admin.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["delivery"]["state"], "sent");
    assert!(
        messages[1]["channel_message_id"]
            .as_str()
            .unwrap()
            .starts_with("playground-out-")
    );
    assert_eq!(body["waiting_since"], serde_json::Value::Null);

    let (_, after) = server.get(&report, &admin.token).await;
    assert_eq!(after["pending"], 0, "{after}");
    assert_eq!(after["window"]["starts"], 1);
    assert_eq!(after["window"]["answered"], 1);
    assert_eq!(after["response_time_seconds"], 420.0);
    assert!(after["forecast"]["summary"].is_string());

    let (status, body) = server
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &admin.token,
            json!({"text": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await;
}

async fn a_channel_without_a_sender_keeps_replies_queued<S: Backend>() {
    let server = TestServer::<S>::start_with(|s| s.without_sender(ChannelKind::Playground)).await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let conversation = server
        .customer_writes(admin.workspace, inbox, "c1", "Hello?")
        .await;
    let (status, _) = server
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &admin.token,
            json!({"text": "Hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, body) = server
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &admin.token,
        )
        .await;
    assert_eq!(body["messages"][1]["delivery"]["state"], "queued");
    let (_, report) = server
        .get(
            &format!("/api/v1/inboxes/{inbox}/responsiveness"),
            &admin.token,
        )
        .await;
    assert_eq!(report["pending"], 1, "a queued reply does not count");
    let metrics = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("pronto_outbox_depth 1"), "{metrics}");
    server.stop().await;
}

async fn the_list_filters_orders_and_pages<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let agent = server.user("bob@example.com", false, "Acme").await;
    let shop = server.playground(&admin, "Shop").await;
    let desk = server.playground(&admin, "Desk").await;
    let mut conversations = Vec::new();
    for (i, inbox) in [shop, shop, desk, shop].into_iter().enumerate() {
        conversations.push(
            server
                .customer_writes(admin.workspace, inbox, &format!("c{i}"), "Hi")
                .await,
        );
        server.clock.advance(MINUTE);
    }
    // Answer the second, close the third, assign the fourth to Bob.
    server
        .post(
            &format!("/api/v1/conversations/{}/messages", conversations[1]),
            &admin.token,
            json!({"text": "Hello"}),
        )
        .await;
    server.outbox_drained().await;
    let (status, body) = server
        .post(
            &format!("/api/v1/conversations/{}/status", conversations[2]),
            &agent.token,
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    let (status, body) = server
        .post(
            &format!("/api/v1/conversations/{}/status", conversations[2]),
            &agent.token,
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = server
        .post(
            &format!("/api/v1/conversations/{}/assign", conversations[3]),
            &admin.token,
            json!({"assignee": agent.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignee"], agent.id);

    let ids = |body: &serde_json::Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let (_, all) = server.get("/api/v1/conversations", &agent.token).await;
    assert_eq!(ids(&all).len(), 4);
    // Urgency: the waiting starts first, oldest first.
    assert_eq!(&ids(&all)[..2], &[conversations[0], conversations[3]]);
    assert_eq!(all["items"][0]["urgency"], "first_answer");
    let (_, shop_only) = server
        .get(&format!("/api/v1/conversations?inbox={shop}"), &agent.token)
        .await;
    assert_eq!(ids(&shop_only).len(), 3);
    let (_, done) = server
        .get("/api/v1/conversations?status=done", &agent.token)
        .await;
    assert_eq!(ids(&done), vec![conversations[2]]);
    let (_, mine) = server
        .get("/api/v1/conversations?assignee=me", &agent.token)
        .await;
    assert_eq!(ids(&mine), vec![conversations[3]]);
    let (_, waiting) = server
        .get("/api/v1/conversations?waiting=true", &agent.token)
        .await;
    let mut waiting = ids(&waiting);
    waiting.sort();
    assert_eq!(waiting, vec![conversations[0], conversations[3]]);
    let (_, by_activity) = server
        .get("/api/v1/conversations?order=activity", &agent.token)
        .await;
    assert_eq!(
        ids(&by_activity)[0],
        conversations[1],
        "the reply is the latest activity"
    );

    // Cursor paging walks every conversation once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!(
                "/api/v1/conversations?limit=1&cursor={}",
                super::harness::enc(c)
            ),
            None => "/api/v1/conversations?limit=1".to_owned(),
        };
        let (status, page) = server.get(&path, &agent.token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 4, "paging loops: {seen:?}");
    }
    assert_eq!(seen, ids(&all));

    // Unassign.
    let (_, body) = server
        .post(
            &format!("/api/v1/conversations/{}/assign", conversations[3]),
            &agent.token,
            json!({"assignee": null}),
        )
        .await;
    assert_eq!(body["assignee"], serde_json::Value::Null);
    server.stop().await;
}

/// `GET /api/v1/conversations/counts`: the views' sizes, across inboxes or in one, following
/// every change at once (before and after the counters are folded).
async fn the_view_counts_follow_every_change<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let shop = server.playground(&admin, "Shop").await;
    let sales = server.playground(&admin, "Sales").await;
    let first = server
        .customer_writes(admin.workspace, shop, "c1", "Hello?")
        .await;
    server
        .customer_writes(admin.workspace, shop, "c2", "Hi")
        .await;
    server
        .customer_writes(admin.workspace, sales, "c3", "Price?")
        .await;
    let counts = |query: &'static str| {
        let server = &server;
        let token = admin.token.clone();
        async move {
            let (status, body) = server
                .get(&format!("/api/v1/conversations/counts{query}"), &token)
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let all = counts("").await;
    assert_eq!(
        (all["unanswered"].as_u64(), all["open"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (all["unassigned"].as_u64(), all["mine"].as_u64()),
        (Some(3), Some(0))
    );
    server
        .post(
            &format!("/api/v1/conversations/{first}/assign"),
            &admin.token,
            json!({"assignee": admin.id}),
        )
        .await;
    let (status, body) = server
        .post(
            &format!("/api/v1/conversations/{first}/status"),
            &admin.token,
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.store().fold_view_counts().await.unwrap();
    let shop_counts = server
        .get(
            &format!("/api/v1/conversations/counts?inbox={shop}"),
            &admin.token,
        )
        .await
        .1;
    assert_eq!(shop_counts["open"], 1, "{shop_counts}");
    assert_eq!(shop_counts["done"], 1, "{shop_counts}");
    assert_eq!(shop_counts["unanswered"], 1, "{shop_counts}");
    assert_eq!(counts("").await["open"], 2);
    // Another workspace's inbox is not found; an unknown parameter is named.
    let other = server.user("bob@example.com", true, "Other").await;
    let (status, _) = server
        .get(
            &format!("/api/v1/conversations/counts?inbox={shop}"),
            &other.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server
        .get("/api/v1/conversations/counts?view=all", &admin.token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("view"), "{body}");
    server.stop().await;
}

crate::on_both_stores!(
    replies_go_through_the_outbox_and_count_once_accepted,
    a_channel_without_a_sender_keeps_replies_queued,
    the_list_filters_orders_and_pages,
    the_view_counts_follow_every_change
);
