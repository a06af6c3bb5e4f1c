//! Sessions with CSRF, API tokens, the login rate limit, roles.

use super::harness::{Backend, PASSWORD, TestServer, enc};

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

/// Logs in with the JSON API; returns the cookie pair and the CSRF token.
async fn login(
    server: &TestServer<impl Backend>,
    email: &str,
    password: &str,
) -> (StatusCode, Option<(String, String)>, serde_json::Value) {
    let response = server
        .client
        .post(format!("{}/api/v1/session", server.url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.unwrap();
    let pair = cookie.map(|c| {
        assert!(c.contains("HttpOnly"), "{c}");
        assert!(c.contains("SameSite=Lax"), "{c}");
        assert!(!c.contains("Secure"), "not https: {c}");
        let pair = c.split(';').next().unwrap().to_owned();
        (
            pair,
            body["csrf_token"].as_str().unwrap_or_default().to_owned(),
        )
    });
    (status, pair, body)
}

async fn sessions_need_their_csrf_token_to_change_anything<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let (status, session, body) = login(&server, "Ann@Example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["workspace"]["name"], "Acme");
    let (cookie, csrf) = session.unwrap();
    assert_eq!(csrf.len(), 43);

    // Reading with the cookie works without CSRF.
    let me = server
        .client
        .get(format!("{}/api/v1/session", server.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["csrf_token"], csrf.as_str());
    assert_eq!(me["via"], "session");

    // Changing something with the cookie and no token: refused.
    let create = |token: Option<&str>| {
        let mut request = server
            .client
            .post(format!("{}/api/v1/inboxes", server.url))
            .header(COOKIE, &cookie)
            .json(&json!({"name": "Shop", "channel": "playground"}));
        if let Some(token) = token {
            request = request.header("X-CSRF-Token", token);
        }
        request.send()
    };
    let refused = create(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    assert_eq!(
        create(Some("wrong")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        create(Some(&csrf)).await.unwrap().status(),
        StatusCode::CREATED
    );

    // A form post carries the token as a field.
    let logout = server
        .client
        .post(format!("{}/logout", server.url))
        .header(COOKIE, &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf_token", "wrong")]))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);

    // API tokens need no CSRF token.
    let (status, _) = server
        .post(
            "/api/v1/inboxes",
            &admin.token,
            json!({"name": "Desk", "channel": "playground"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Logging out ends the session.
    let out = server
        .client
        .delete(format!("{}/api/v1/session", server.url))
        .header(COOKIE, &cookie)
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = server
        .client
        .get(format!("{}/api/v1/session", server.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

async fn the_login_form_sets_the_cookie_and_redirects<S: Backend>() {
    let server = TestServer::<S>::start().await;
    server.user("bob@example.com", false, "Acme").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("email", "bob@example.com"),
            ("password", PASSWORD),
            ("next", "/inbox"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/inbox");
    assert!(response.headers().get(SET_COOKIE).is_some());
    let wrong = client
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("email", "bob@example.com"),
            ("password", "nope nope nope"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.headers()["location"], "/login?error=invalid");
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let page = client
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<form method=post action=/login>")
    );
    server.stop().await;
}

async fn failed_logins_are_rate_limited_and_tokens_checked<S: Backend>() {
    let server = TestServer::<S>::start().await;
    server.user("carl@example.com", false, "Acme").await;
    for _ in 0..5 {
        let (status, session, body) = login(&server, "carl@example.com", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "invalid_credentials");
        assert!(session.is_none());
    }
    // Even the right password waits now.
    let response = server
        .client
        .post(format!("{}/api/v1/session", server.url))
        .json(&json!({"email": "carl@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    // An unknown email answers like a wrong password.
    let (status, _, body) = login(&server, "nobody@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_credentials");

    // No credentials, a bad token.
    let (status, body) = server.get("/api/v1/inboxes", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let anonymous = server
        .client
        .get(format!("{}/api/v1/inboxes", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let metrics = server
        .client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("pronto_failed_logins_total 7"),
        "{metrics}"
    );
    server.stop().await;
}

async fn agents_work_conversations_and_admins_manage<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("admin@example.com", true, "Acme").await;
    let agent = server.user("agent@example.com", false, "Acme").await;
    let (status, body) = server
        .post(
            "/api/v1/inboxes",
            &agent.token,
            json!({"name": "Shop", "channel": "playground"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let inbox = server.playground(&admin, "Shop").await;
    let (status, _) = server
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/inboxes/{inbox}"),
            &agent.token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let conversation = server
        .customer_writes(admin.workspace, inbox, "c1", "Hello")
        .await;
    let (status, _) = server
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &agent.token,
            json!({"text": "Hi!"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = server
        .post(
            &format!("/api/v1/inboxes/{inbox}/availability"),
            &agent.token,
            json!({"status": "away"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Members: admins add people and change roles; a workspace keeps an admin.
    let (status, _) = server
        .post(
            "/api/v1/users",
            &agent.token,
            json!({"email": "x@example.com", "password": "12345678"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = server
        .post(
            "/api/v1/users",
            &admin.token,
            json!({"email": "Dee@Example.com", "name": "Dee", "password": "long enough", "role": "agent"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["email"], "dee@example.com");
    let (status, body) = server.get("/api/v1/users", &agent.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    assert!(!body.to_string().contains("argon2"), "no password hashes");
    let (status, body) = server
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", admin.id),
            &admin.token,
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    server.stop().await;
}

crate::on_both_stores!(
    sessions_need_their_csrf_token_to_change_anything,
    the_login_form_sets_the_cookie_and_redirects,
    failed_logins_are_rate_limited_and_tokens_checked,
    agents_work_conversations_and_admins_manage
);
