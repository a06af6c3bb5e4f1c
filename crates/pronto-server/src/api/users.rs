//! The workspace's members: everyone sees the team; admins add people and change roles.

use super::created;
use super::views::MemberView;
use crate::app::App;
use crate::auth::{Caller, check_password_rules, hash_password_async, normalize_email};
use crate::error::{AppError, AppResult, Json, Path};
use axum::extract::State;
use axum::response::Response;
use pronto_core::store::Store;
use pronto_core::{Role, UserId};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub async fn list<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> AppResult<axum::Json<serde_json::Value>> {
    let members = app.store.members(caller.workspace).await?;
    let items: Vec<MemberView> = members.iter().map(MemberView::new).collect();
    Ok(axum::Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    email: String,
    name: Option<String>,
    /// Needed when the email has no account yet.
    password: Option<String>,
    role: Option<String>,
}

fn parse_role(text: Option<&str>) -> AppResult<Role> {
    match text {
        None => Ok(Role::Agent),
        Some(text) => text
            .parse()
            .map_err(|e: pronto_core::UnknownName| AppError::bad_request(format!("role: {e}"))),
    }
}

/// Adds a person to the workspace: an existing account by its email, or a new one.
pub async fn create<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Json(request): Json<AddMember>,
) -> AppResult<Response> {
    caller.require_admin()?;
    let email = normalize_email(&request.email)
        .map_err(|e| AppError::bad_request(format!("email: {e}")))?;
    let role = parse_role(request.role.as_deref())?;
    let user = match app.store.user_by_email(&email).await? {
        Some(user) => user,
        None => {
            let password = request
                .password
                .as_deref()
                .ok_or_else(|| AppError::bad_request("password: a new account needs a password"))?;
            check_password_rules(password)
                .map_err(|e| AppError::bad_request(format!("password: {e}")))?;
            let name = request
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| email.split('@').next().unwrap_or(&email))
                .to_owned();
            let hash = hash_password_async(password.to_owned()).await?;
            app.store
                .create_user(&email, &name, &hash, app.now())
                .await?
        }
    };
    app.store
        .set_member(caller.workspace, user.id, role)
        .await?;
    let member = app
        .store
        .member(caller.workspace, user.id)
        .await?
        .ok_or_else(|| AppError::internal("a member just added is missing"))?;
    Ok(created(
        format!("/api/v1/users/{}", user.id),
        MemberView::new(&member),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    role: Option<String>,
}

pub async fn update<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(request): Json<UpdateMember>,
) -> AppResult<axum::Json<MemberView>> {
    caller.require_admin()?;
    let user = UserId(id);
    let member = app
        .store
        .member(caller.workspace, user)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    if let Some(role) = request.role.as_deref() {
        let role = parse_role(Some(role))?;
        if member.role == Role::Admin && role != Role::Admin {
            let admins = app
                .store
                .members(caller.workspace)
                .await?
                .iter()
                .filter(|m| m.role == Role::Admin && m.user.active)
                .count();
            if admins <= 1 {
                return Err(AppError::conflict("the workspace must keep an admin"));
            }
        }
        app.store.set_member(caller.workspace, user, role).await?;
    }
    let member = app
        .store
        .member(caller.workspace, user)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    Ok(axum::Json(MemberView::new(&member)))
}
