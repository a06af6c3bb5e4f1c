//! The HTTP edge: the JSON REST API under `/api/v1`, the browser's login form, `/healthz`,
//! `/metrics` and the OpenAPI document. Every handler takes the caller's workspace from its
//! credentials and passes it first to the store, so an id from another workspace is simply
//! not found (404, never 403: existence does not leak).

pub mod conversations;
pub mod events;
pub mod files;
pub mod inboxes;
pub mod ops;
pub mod session;
pub mod templates;
pub mod users;
pub mod views;

use crate::app::App;
use crate::auth;
use crate::error::AppError;
use crate::meta::webhook as meta_webhook;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use pronto_core::store::Store;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// Declares the routes once: the router is built from this table, and `ROUTES` lists it for
/// the test that holds the OpenAPI document to it.
macro_rules! routes {
    ($($method:ident $path:literal => $($handler:ident)::+),* $(,)?) => {
        /// Every route: (method, path), as the OpenAPI document must list them.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn table<S: Store>() -> Router<Arc<App<S>>> {
            Router::new()$(.route($path, axum::routing::$method($($handler)::+::<S>)))*
        }
    };
}

routes! {
    get "/healthz" => ops::healthz,
    get "/metrics" => ops::metrics,
    get "/api/openapi.json" => ops::openapi,
    get "/" => session::home,
    get "/login" => session::login_page,
    post "/login" => session::login_form,
    post "/logout" => session::logout_form,
    post "/api/v1/session" => session::create,
    get "/api/v1/session" => session::show,
    delete "/api/v1/session" => session::delete,
    get "/api/v1/users" => users::list,
    post "/api/v1/users" => users::create,
    patch "/api/v1/users/{id}" => users::update,
    get "/api/v1/inboxes" => inboxes::list,
    post "/api/v1/inboxes" => inboxes::create,
    get "/api/v1/inboxes/{id}" => inboxes::show,
    patch "/api/v1/inboxes/{id}" => inboxes::update,
    delete "/api/v1/inboxes/{id}" => inboxes::delete,
    get "/api/v1/inboxes/{id}/availability" => inboxes::availability,
    post "/api/v1/inboxes/{id}/availability" => inboxes::set_availability,
    get "/api/v1/inboxes/{id}/responsiveness" => inboxes::responsiveness,
    get "/api/v1/inboxes/{id}/events.jsonl" => inboxes::events_jsonl,
    get "/api/v1/conversations" => conversations::list,
    get "/api/v1/conversations/counts" => conversations::counts,
    get "/api/v1/conversations/{id}" => conversations::show,
    post "/api/v1/conversations/{id}/status" => conversations::set_status,
    post "/api/v1/conversations/{id}/assign" => conversations::assign,
    post "/api/v1/conversations/{id}/messages" => conversations::reply,
    get "/api/v1/templates" => templates::list,
    post "/api/v1/templates" => templates::create,
    patch "/api/v1/templates/{id}" => templates::update,
    delete "/api/v1/templates/{id}" => templates::delete,
    get "/api/v1/events" => events::stream,
    get "/api/v1/files/{id}" => files::show,
    get "/webhooks/meta" => meta_webhook::verify,
    post "/webhooks/meta" => meta_webhook::receive,
}

/// The whole application's router.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    let limit = app.settings.body_limit;
    table::<S>()
        .merge(crate::web::routes::<S>())
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(app.clone(), auth::authenticate::<S>))
        .layer(from_fn_with_state(app.clone(), track::<S>))
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

async fn no_route() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "no_route", "no such endpoint")
}

async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// Counts every request and its latency by route (the route's pattern, not its ids).
async fn track<S: Store>(State(app): State<Arc<App<S>>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    app.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The client's address (for the login rate limit), when the server knows it.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// 201 Created with a Location header and a JSON body.
pub fn created(location: String, body: impl serde::Serialize) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(value) = location.parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    response
}
