//! Inboxes: create (playground, Messenger with its token sealed), update, delete;
//! availability.

use super::harness::{Backend, TestServer};
use pronto_core::InboxId;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn inboxes_are_created_changed_and_deleted_with_secrets_sealed<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let token = "EAAB-secret-page-token-123";
    server.graph.add_page("1234567890", "Acme Shop", token);
    server.graph.add_page("1234567890", "Acme Shop", "EAAB-new");
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Facebook Page", "channel": "messenger",
                   "messenger": {"page_id": "1234567890", "page_access_token": token, "backfill": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["settings"]["page_name"], "Acme Shop");
    // Connecting checked the token and subscribed the page to the app's webhooks.
    let fields = &server.graph.subscriptions()["1234567890"];
    for field in [
        "messages",
        "message_echoes",
        "messaging_postbacks",
        "message_reads",
        "message_deliveries",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    assert_eq!(body["channel"], "messenger");
    assert_eq!(body["channel_key"], "1234567890");
    assert_eq!(body["has_secrets"], true);
    assert!(
        !body.to_string().contains(token),
        "the token is never returned"
    );
    let id = body["id"].as_i64().unwrap();

    // At rest it is sealed under the installation's key.
    let stored = server
        .store()
        .inbox(admin.workspace, InboxId(id))
        .await
        .unwrap();
    let sealed = stored.sealed_secrets.expect("sealed secrets");
    assert!(!sealed.windows(token.len()).any(|w| w == token.as_bytes()));
    let opened: serde_json::Value =
        serde_json::from_slice(&server.key.open(&sealed).unwrap()).unwrap();
    assert_eq!(opened["page_access_token"], token);

    // The same page twice is a conflict; a Messenger inbox needs its settings.
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Again", "channel": "messenger",
                   "messenger": {"page_id": "1234567890", "page_access_token": token}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A token Meta refuses, or one of another page, is shown with Meta's message.
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Bad", "channel": "messenger",
                   "messenger": {"page_id": "777", "page_access_token": "expired"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "meta_refused");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid OAuth access token"),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Other page", "channel": "messenger",
                   "messenger": {"page_id": "777", "page_access_token": token}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1234567890"),
        "{body}"
    );
    let (status, _) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "No page", "channel": "messenger"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "  ", "channel": "playground"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Rename, rotate the token, list, delete.
    let (status, body) = server
        .request(
            Method::PATCH,
            &format!("/api/v1/inboxes/{id}"),
            &admin.token,
            Some(json!({"name": "Our Page", "messenger": {"page_access_token": "EAAB-new"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Our Page");
    let stored = server
        .store()
        .inbox(admin.workspace, InboxId(id))
        .await
        .unwrap();
    let opened: serde_json::Value =
        serde_json::from_slice(&server.key.open(&stored.sealed_secrets.unwrap()).unwrap()).unwrap();
    assert_eq!(opened["page_access_token"], "EAAB-new");
    let playground = server.playground(&admin, "Playground").await;
    let (_, list) = server.get("/api/v1/inboxes", &admin.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (status, _) = server
        .request(
            Method::DELETE,
            &format!("/api/v1/inboxes/{id}"),
            &admin.token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .get(&format!("/api/v1/inboxes/{id}"), &admin.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = server.get("/api/v1/inboxes", &admin.token).await;
    assert_eq!(list["items"][0]["id"], playground.0);
    server.stop().await;
}

async fn availability_is_set_checked_and_ends_by_itself<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let path = format!("/api/v1/inboxes/{inbox}/availability");
    let (_, body) = server.get(&path, &admin.token).await;
    assert_eq!(body["status"], "available");
    assert_eq!(body["away_now"], false);
    for (request, fragment) in [
        (json!({"status": "away", "until": "tomorrow"}), "until"),
        (
            json!({"status": "away", "until": "2020-01-01T00:00:00Z"}),
            "future",
        ),
        (
            json!({"status": "available", "until": "2030-01-01T00:00:00Z"}),
            "until",
        ),
        (json!({"status": "asleep"}), "asleep"),
    ] {
        let (status, body) = server.post(&path, &admin.token, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(fragment),
            "{body}"
        );
    }
    let (status, body) = server
        .post(&path, &admin.token, json!({"status": "away"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["away_now"], true);
    assert_eq!(body["by"], admin.id);
    // A manual Away ends by itself after 12 hours.
    server.clock.advance(12 * 3_600_000);
    let (_, body) = server.get(&path, &admin.token).await;
    assert_eq!(body["status"], "away");
    assert_eq!(body["away_now"], false);
    let (status, body) = server
        .post(
            &path,
            &admin.token,
            json!({"status": "away", "until": "2026-11-22T08:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["until"], "2026-11-22T08:00:00Z");
    assert_eq!(body["away_now"], true);
    server.stop().await;
}

crate::on_both_stores!(
    inboxes_are_created_changed_and_deleted_with_secrets_sealed,
    availability_is_set_checked_and_ends_by_itself
);
