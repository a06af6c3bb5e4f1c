//! Reply templates: agents read them, admins create, change and delete them; bodies are
//! checked field by field; another workspace's templates are out of reach (404).

use super::harness::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn titles(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

async fn templates_are_read_by_agents_and_managed_by_admins<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let agent = server.user("bob@example.com", false, "Acme").await;
    let (_, list) = server.get("/api/v1/templates", &agent.token).await;
    assert_eq!(list, json!({"items": []}));

    // Admins create them.
    let response = server
        .client
        .post(format!("{}/api/v1/templates", server.url))
        .bearer_auth(&admin.token)
        .json(&json!({"title": "  Returns ", "text": "Within 30 days.\n", "language": "EN"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let returns: Value = response.json().await.unwrap();
    let id = returns["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/templates/{id}"));
    assert_eq!(
        returns,
        json!({"id": id, "title": "Returns", "text": "Within 30 days.", "language": "en",
               "created_by": admin.id, "created_at": "2026-11-20T09:00:00Z",
               "updated_at": "2026-11-20T09:00:00Z"})
    );
    let (status, apology) = server
        .post(
            "/api/v1/templates",
            &admin.token,
            json!({"title": "apology", "text": "Простите за ожидание!"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{apology}");
    assert_eq!(apology["language"], Value::Null);
    let (status, closing) = server
        .post(
            "/api/v1/templates",
            &admin.token,
            json!({"title": "Closing", "text": "Have a great day!", "language": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{closing}");

    // Agents read them, by title whatever its case; they cannot change them.
    let (status, list) = server.get("/api/v1/templates", &agent.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(titles(&list), ["apology", "Closing", "Returns"]);
    assert_eq!(list["items"][2], returns);
    let path = format!("/api/v1/templates/{id}");
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/templates".to_owned(),
            Some(json!({"title": "Mine", "text": "x"})),
        ),
        (Method::PATCH, path.clone(), Some(json!({"text": "x"}))),
        (Method::DELETE, path.clone(), None),
    ] {
        let (status, body) = server
            .request(method.clone(), &path, &agent.token, body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }

    // A duplicate title is a conflict, on creating and on renaming.
    let (status, body) = server
        .post(
            "/api/v1/templates",
            &admin.token,
            json!({"title": "Returns", "text": "Another"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Returns"),
        "{body}"
    );
    let (status, body) = server
        .request(
            Method::PATCH,
            &format!("/api/v1/templates/{}", closing["id"]),
            &admin.token,
            Some(json!({"title": "apology"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Changing: the fields given, later; `null` removes the language.
    server.clock.advance(60_000);
    let (status, body) = server
        .request(
            Method::PATCH,
            &path,
            &admin.token,
            Some(json!({"text": "Within 14 days.", "language": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            &body["title"],
            &body["text"],
            &body["language"],
            &body["created_at"],
            &body["updated_at"]
        ),
        (
            &json!("Returns"),
            &json!("Within 14 days."),
            &Value::Null,
            &json!("2026-11-20T09:00:00Z"),
            &json!("2026-11-20T09:01:00Z")
        )
    );
    let (status, body) = server
        .request(
            Method::PATCH,
            &path,
            &admin.token,
            Some(json!({"title": "Refunds", "language": "ru"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["title"], &body["text"], &body["language"]),
        (&json!("Refunds"), &json!("Within 14 days."), &json!("ru"))
    );

    // Deleting.
    let (status, _) = server
        .request(Method::DELETE, &path, &admin.token, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (method, body) in [
        (Method::DELETE, None),
        (Method::PATCH, Some(json!({"text": "x"}))),
    ] {
        let (status, body) = server.request(method, &path, &admin.token, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, body) = server
        .request(Method::DELETE, "/api/v1/templates/abc", &admin.token, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = server.get("/api/v1/templates", &agent.token).await;
    assert_eq!(titles(&list), ["apology", "Closing"]);
    server.stop().await;
}

async fn template_bodies_are_checked_field_by_field<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let long_title = "t".repeat(101);
    let long_text = "x".repeat(5_001);
    for (body, field) in [
        (json!({"text": "Hello"}), "title"),
        (json!({"title": "Hi"}), "text"),
        (json!({"title": "   ", "text": "Hello"}), "title"),
        (json!({"title": long_title, "text": "Hello"}), "title"),
        (json!({"title": "Two\nlines", "text": "Hello"}), "title"),
        (json!({"title": "Hi", "text": " \n "}), "text"),
        (json!({"title": "Hi", "text": long_text}), "text"),
        (
            json!({"title": "Hi", "text": "Hello", "language": "English!"}),
            "language",
        ),
        (json!({"title": 5, "text": "Hello"}), "title"),
        (
            json!({"title": "Hi", "text": "Hello", "shortcut": "/hi"}),
            "shortcut",
        ),
    ] {
        let (status, answer) = server
            .post("/api/v1/templates", &admin.token, body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid", "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    // The limits themselves are fine.
    let (status, body) = server
        .post(
            "/api/v1/templates",
            &admin.token,
            json!({"title": "я".repeat(100), "text": "ж".repeat(5_000), "language": "pt-BR"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["language"], "pt-br");
    let path = format!("/api/v1/templates/{}", body["id"]);
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"text": long_text}), "text"),
        (json!({"language": "?"}), "language"),
        (json!({"name": "x"}), "name"),
    ] {
        let (status, answer) = server
            .request(Method::PATCH, &path, &admin.token, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    // Not JSON at all, or not said to be JSON.
    let response = server
        .client
        .post(format!("{}/api/v1/templates", server.url))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = server
        .client
        .post(format!("{}/api/v1/templates", server.url))
        .bearer_auth(&admin.token)
        .body("title=Hi&text=Hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing else was stored, and the template kept its values.
    let (_, list) = server.get("/api/v1/templates", &admin.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["text"], "ж".repeat(5_000));
    server.stop().await;
}

async fn templates_stay_in_their_workspace<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let alice = server.user("alice@a.example", true, "A").await;
    let bob = server.user("bob@b.example", true, "B").await;
    let (_, mine) = server
        .post(
            "/api/v1/templates",
            &alice.token,
            json!({"title": "Greeting", "text": "Hi from A"}),
        )
        .await;
    let (status, theirs) = server
        .post(
            "/api/v1/templates",
            &bob.token,
            json!({"title": "Greeting", "text": "Hi from B"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "titles are unique per workspace"
    );
    let (_, list) = server.get("/api/v1/templates", &alice.token).await;
    assert_eq!(
        list["items"].as_array().unwrap(),
        std::slice::from_ref(&mine)
    );

    let path = format!("/api/v1/templates/{}", theirs["id"]);
    for (method, body) in [
        (Method::PATCH, Some(json!({"text": "mine now"}))),
        (Method::DELETE, None),
    ] {
        let (status, answer) = server
            .request(method.clone(), &path, &alice.token, body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found");
    }
    let (_, list) = server.get("/api/v1/templates", &bob.token).await;
    assert_eq!(list["items"].as_array().unwrap(), &[theirs]);
    server.stop().await;
}

crate::on_both_stores!(
    templates_are_read_by_agents_and_managed_by_admins,
    template_bodies_are_checked_field_by_field,
    templates_stay_in_their_workspace
);
