//! Reply templates: every member reads them (agents answer with them), admins manage them
//! (create, change, delete), as they manage the workspace's other shared settings.

use super::created;
use super::views::TemplateView;
use crate::app::App;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use pronto_core::TemplateId;
use pronto_core::store::Store;
use pronto_core::template::{NewTemplate, TemplateError, TemplateUpdate};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use std::sync::Arc;

/// `{"title", "text", "language"?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    title: String,
    text: String,
    language: Option<String>,
}

/// `{"title"?, "text"?, "language"?}`; `"language": null` removes the language.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    title: Option<String>,
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    language: Option<Option<String>>,
}

/// A field that is there, even as `null` (`Some(None)`); `#[serde(default)]` makes an absent
/// one `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn invalid(error: TemplateError) -> AppError {
    AppError::bad_request(error.to_string())
}

pub async fn list<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> AppResult<axum::Json<serde_json::Value>> {
    let templates = app.store.templates(caller.workspace).await?;
    let items: Vec<TemplateView> = templates.iter().map(TemplateView::new).collect();
    Ok(axum::Json(json!({ "items": items })))
}

pub async fn create<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Json(request): Json<CreateTemplate>,
) -> AppResult<Response> {
    caller.require_admin()?;
    let new = NewTemplate::new(&request.title, &request.text, request.language.as_deref())
        .map_err(invalid)?;
    let template = app
        .store
        .create_template(caller.workspace, &new, Some(caller.user), app.now())
        .await?;
    Ok(created(
        format!("/api/v1/templates/{}", template.id),
        TemplateView::new(&template),
    ))
}

pub async fn update<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<UpdateTemplate>,
) -> AppResult<axum::Json<TemplateView>> {
    caller.require_admin()?;
    let update = TemplateUpdate::new(
        request.title.as_deref(),
        request.text.as_deref(),
        request.language.as_ref().map(Option::as_deref),
    )
    .map_err(invalid)?;
    let template = app
        .store
        .update_template(caller.workspace, TemplateId(id), &update, app.now())
        .await?;
    Ok(axum::Json(TemplateView::new(&template)))
}

pub async fn delete<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    caller.require_admin()?;
    app.store
        .delete_template(caller.workspace, TemplateId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
