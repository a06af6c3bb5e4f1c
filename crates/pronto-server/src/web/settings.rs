//! Settings for admins: inboxes (a Messenger Page: its id and token, then the webhook URL and
//! the verify token setting to paste into Meta), agents (add, role, deactivate), the workspace.
//! Changes go through the JSON API from app.js (errors, Meta's included, shown as answered);
//! deactivating has a form of its own here.

use super::i18n::Tr;
use super::pages::channel_label;
use super::{Agent, Layout, html};
use crate::app::App;
use crate::error::AppError;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use pronto_core::store::Store;
use pronto_core::{ChannelKind, Role, UserId};
use serde::Deserialize;
use std::sync::Arc;

pub struct InboxRow {
    pub id: i64,
    pub name: String,
    pub channel: &'static str,
    pub key: String,
    pub webhook_url: Option<String>,
    pub meta: bool,
    pub problem: Option<String>,
}

pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub active: bool,
    pub me: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    workspace: String,
    inboxes: Vec<InboxRow>,
    agents: Vec<AgentRow>,
}

pub async fn page<S: Store>(
    State(app): State<Arc<App<S>>>,
    agent: Agent,
) -> super::WebResult<Response> {
    let ws = agent.caller.workspace;
    let now = app.now();
    let t: Tr = agent.tr;
    if agent.caller.require_admin().is_err() {
        return Err(AppError::forbidden(t.s("admins_only")).into());
    }
    let (inboxes, members, memberships) = tokio::try_join!(
        app.store.inboxes(ws),
        app.store.members(ws),
        app.store.memberships(agent.caller.user),
    )?;
    let workspace = memberships
        .into_iter()
        .find(|(w, _)| w.id == ws)
        .map(|(w, _)| w.name)
        .unwrap_or_default();
    let public = app.settings.public_url.clone();
    let inboxes = inboxes
        .iter()
        .map(|i| {
            let meta = matches!(i.channel, ChannelKind::Messenger | ChannelKind::Instagram);
            InboxRow {
                id: i.id.0,
                name: i.name.clone(),
                channel: channel_label(i.channel),
                key: i.channel_key.clone().unwrap_or_default(),
                webhook_url: public
                    .as_deref()
                    .filter(|_| meta)
                    .map(|base| format!("{}/webhooks/meta", base.trim_end_matches('/'))),
                meta,
                problem: i
                    .settings
                    .get("problem")
                    .and_then(|p| p.as_str().or_else(|| p.get("message")?.as_str()))
                    .map(str::to_owned),
            }
        })
        .collect();
    let agents = members
        .iter()
        .map(|m| AgentRow {
            id: m.user.id.0,
            name: m.user.name.clone(),
            email: m.user.email.clone(),
            admin: m.role == Role::Admin,
            active: m.user.active,
            me: m.user.id == agent.caller.user,
        })
        .collect();
    Ok(html(
        SettingsPage {
            layout: Layout::new(&agent, t.s("settings"), "settings", now),
            workspace,
            inboxes,
            agents,
        }
        .render(),
    ))
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
}

/// Deactivates (or reactivates) a member's account: they can no longer sign in.
pub async fn set_active<S: Store>(
    State(app): State<Arc<App<S>>>,
    agent: Agent,
    Path(id): Path<i64>,
    Form(form): Form<ActiveForm>,
) -> super::WebResult<Response> {
    agent.caller.require_admin()?;
    let user = UserId(id);
    if user == agent.caller.user {
        return Err(AppError::bad_request("you cannot deactivate yourself").into());
    }
    app.store
        .member(agent.caller.workspace, user)
        .await?
        .ok_or_else(|| AppError::not_found("member"))?;
    // An account is the installation's: one workspace's admin must not lock someone out of
    // another workspace.
    if app.store.memberships(user).await?.len() > 1 {
        return Err(AppError::conflict(
            "this account belongs to other workspaces too: deactivating it here would lock it out there",
        )
        .into());
    }
    app.store
        .set_user_active(user, form.active == "true")
        .await?;
    Ok(Redirect::to("/settings#agents").into_response())
}
