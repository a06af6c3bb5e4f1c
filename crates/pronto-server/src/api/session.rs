//! Logging in and out: `POST /api/v1/session` (JSON) and the browser's `POST /login` form.
//! Both set the session cookie; the JSON answer and `GET /api/v1/session` give the session's
//! CSRF token to scripts, and the pages put it in their forms.

use super::ClientAddr;
use super::views::WorkspaceView;
use crate::app::App;
use crate::auth::{
    self, Caller, MaybeCaller, NewSession, Via, clear_session_cookie, session_cookie,
};
use crate::error::{AppError, AppResult, Json};
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use pronto_badge::time::DAY;
use pronto_core::store::Store;
use pronto_core::{Role, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// The workspace to work in, by name; the user's first one if absent.
    workspace: Option<String>,
}

#[derive(Serialize)]
pub struct SessionView {
    user: UserView,
    workspace: WorkspaceView,
    role: Role,
    /// Send it as `X-CSRF-Token` on every state-changing request made with the cookie.
    csrf_token: Option<String>,
    /// `session` (a browser cookie) or `token` (an API token).
    via: &'static str,
}

#[derive(Serialize)]
struct UserView {
    id: UserId,
    email: String,
    name: String,
}

fn set_cookie<S: Store>(app: &App<S>, new: &NewSession) -> String {
    session_cookie(
        &new.token,
        i64::from(app.settings.session_days) * DAY / 1000,
        app.settings.https(),
    )
}

pub async fn create<S: Store>(
    State(app): State<Arc<App<S>>>,
    ClientAddr(client): ClientAddr,
    Json(request): Json<LoginRequest>,
) -> AppResult<Response> {
    let new = auth::login(
        &app,
        &request.email,
        &request.password,
        request.workspace.as_deref(),
        client,
    )
    .await?;
    let body = SessionView {
        user: UserView {
            id: new.user.id,
            email: new.user.email.clone(),
            name: new.user.name.clone(),
        },
        workspace: WorkspaceView {
            id: new.workspace.id,
            name: new.workspace.name.clone(),
        },
        role: new.role,
        csrf_token: Some(new.session.csrf_token.clone()),
        via: "session",
    };
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, set_cookie(&app, &new))],
        axum::Json(body),
    )
        .into_response())
}

pub async fn show<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> AppResult<axum::Json<SessionView>> {
    let workspace = app
        .store
        .memberships(caller.user)
        .await?
        .into_iter()
        .find(|(w, _)| w.id == caller.workspace)
        .map(|(w, _)| w)
        .ok_or_else(AppError::unauthorized)?;
    Ok(axum::Json(SessionView {
        user: UserView {
            id: caller.user,
            email: caller.email.clone(),
            name: caller.name.clone(),
        },
        workspace: WorkspaceView {
            id: workspace.id,
            name: workspace.name,
        },
        role: caller.role,
        csrf_token: caller.csrf_token().map(str::to_owned),
        via: match caller.via {
            Via::Session { .. } => "session",
            Via::Token { .. } => "token",
        },
    }))
}

pub async fn delete<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> AppResult<Response> {
    end_session(&app, &caller).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            clear_session_cookie(app.settings.https()),
        )],
    )
        .into_response())
}

async fn end_session<S: Store>(app: &App<S>, caller: &Caller) -> AppResult<()> {
    match &caller.via {
        Via::Session { token_hash, .. } => Ok(app.store.delete_session(token_hash).await?),
        Via::Token { .. } => Err(AppError::bad_request(
            "an API token is not a session; revoke it instead",
        )),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    workspace: Option<String>,
    next: Option<String>,
}

/// Only paths of this site: never an open redirect.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/",
    }
}

pub async fn login_form<S: Store>(
    State(app): State<Arc<App<S>>>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<LoginForm>,
) -> Response {
    let workspace = form.workspace.as_deref().filter(|w| !w.is_empty());
    match auth::login(&app, &form.email, &form.password, workspace, client).await {
        Ok(new) => (
            [(header::SET_COOKIE, set_cookie(&app, &new))],
            Redirect::to(safe_next(form.next.as_deref())),
        )
            .into_response(),
        Err(error) if error.status == StatusCode::TOO_MANY_REQUESTS => {
            Redirect::to("/login?error=rate_limited").into_response()
        }
        Err(error) if error.status.is_server_error() => error.into_response(),
        Err(_) => Redirect::to("/login?error=invalid").into_response(),
    }
}

pub async fn logout_form<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
) -> AppResult<Response> {
    end_session(&app, &caller).await?;
    Ok((
        [(
            header::SET_COOKIE,
            clear_session_cookie(app.settings.https()),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LoginPageQuery {
    error: Option<String>,
    next: Option<String>,
}

/// The sign-in page (the web app's, in the visitor's language); a signed-in visitor goes on.
pub async fn login_page<S: Store>(
    State(_app): State<Arc<App<S>>>,
    MaybeCaller(caller): MaybeCaller,
    headers: axum::http::HeaderMap,
    crate::error::Query(query): crate::error::Query<LoginPageQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if caller.is_some() && query.error.is_none() {
        return Redirect::to(if next == "/" { "/inbox" } else { next }).into_response();
    }
    crate::web::pages::login_page(&headers, query.error.as_deref(), Some(next))
}

/// The web app's place: the inbox, or the sign-in page for a visitor.
pub async fn home<S: Store>(
    State(_app): State<Arc<App<S>>>,
    MaybeCaller(caller): MaybeCaller,
) -> Response {
    match caller {
        Some(_) => Redirect::to("/inbox").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(super::safe_next(Some("/inbox/3")), "/inbox/3");
        assert_eq!(super::safe_next(Some("//evil.example")), "/");
        assert_eq!(super::safe_next(Some("https://evil.example")), "/");
        assert_eq!(super::safe_next(Some("/\\evil")), "/");
        assert_eq!(super::safe_next(None), "/");
    }
}
