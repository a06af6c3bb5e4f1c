//! `/healthz`, `/metrics` and `/api/openapi.json`.

use crate::app::App;
use crate::error::AppError;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pronto_core::store::Store;
use serde_json::json;
use std::sync::Arc;

/// The OpenAPI document, maintained by hand next to the route table (a test holds them to
/// each other).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// 200 when the database answers, 503 when it does not.
pub async fn healthz<S: Store>(State(app): State<Arc<App<S>>>) -> Response {
    match app.store.user_count().await {
        Ok(_) => axum::Json(json!({"status": "ok"})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

pub async fn metrics<S: Store>(State(app): State<Arc<App<S>>>) -> Response {
    let depth = app.store.outbox_depth().await.ok();
    let now = app.now();
    let figures: Vec<_> = app
        .live
        .inboxes()
        .into_iter()
        .filter_map(|(workspace, inbox)| Some((workspace, inbox, app.live.figures(inbox, now)?)))
        .collect();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let mut text = app.metrics.render(depth, &figures);
            text.push_str("# HELP pronto_live_conversations Conversations the live badges hold in memory (the others were let go and are read back at their next message).\n");
            text.push_str("# TYPE pronto_live_conversations gauge\n");
            text.push_str(&format!(
                "pronto_live_conversations {}\n",
                app.live.resident_conversations()
            ));
            text.push_str("# HELP pronto_live_rebuilds_total Inboxes read again from their whole log (a late event, a missing snapshot).\n");
            text.push_str("# TYPE pronto_live_rebuilds_total counter\n");
            text.push_str(&format!(
                "pronto_live_rebuilds_total {}\n",
                app.live.rebuilds()
            ));
            if let Ok(journal) = app.store.journal_depth().await {
                text.push_str("# HELP pronto_webhook_journal_depth Webhook deliveries stored and not yet taken in.\n");
                text.push_str("# TYPE pronto_webhook_journal_depth gauge\n");
                text.push_str(&format!("pronto_webhook_journal_depth {journal}\n"));
            }
            text
        },
    )
        .into_response()
}

pub async fn openapi<S: Store>(State(_app): State<Arc<App<S>>>) -> Result<Response, AppError> {
    Ok(([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response())
}
