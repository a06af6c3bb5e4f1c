//! The agents' web app: server-rendered pages (askama) with one small hand-written ES module
//! (`static/app.js`) for live updates over SSE, countdowns, the keyboard and the actions, which
//! call the JSON API with the session's CSRF token. Every page needs a session (a visitor is
//! sent to the sign-in page) and carries a Content-Security-Policy without inline scripts.
//!
//! These routes are not the JSON API's: they are mounted by [`routes`], outside the route table
//! the OpenAPI document is held to.

pub mod charts;
pub mod dashboard;
pub mod i18n;
pub mod pages;
pub mod settings;

use crate::app::App;
use crate::auth::{Authentication, Caller};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use i18n::{Lang, Tr};
use pronto_badge::Millis;
use pronto_core::store::Store;
use std::sync::{Arc, OnceLock};

/// The pages' Content-Security-Policy: scripts and styles from this site only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
     media-src 'self' https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The web app's routes (pages, the language switch, the static assets).
pub fn routes<S: Store>() -> Router<Arc<App<S>>> {
    Router::new()
        .route("/inbox", get(pages::inbox::<S>))
        .route("/conversations/{id}", get(pages::conversation::<S>))
        .route("/dashboard", get(dashboard::page::<S>))
        .route("/dashboard.csv", get(dashboard::csv::<S>))
        .route("/settings", get(settings::page::<S>))
        .route(
            "/settings/agents/{id}/active",
            post(settings::set_active::<S>),
        )
        .route("/language", post(pages::language::<S>))
        .route("/static/{name}", get(asset))
}

/// The time zone cookie app.js sets: minutes east of UTC.
pub const TZ_COOKIE: &str = "pronto_tz";

/// A signed-in agent's page request: who, in which language and time zone.
pub struct Agent {
    pub caller: Caller,
    pub tr: Tr,
    pub tz: i32,
}

/// A visitor without a session is sent to the sign-in page, back here afterwards.
pub struct ToLogin(String);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        let next: String = url_encode(&self.0);
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl<S: Send + Sync> FromRequestParts<S> for Agent {
    type Rejection = ToLogin;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let caller = match parts.extensions.get::<Authentication>() {
            Some(Authentication(Some(Ok(caller)))) => caller.clone(),
            _ => {
                let path = parts
                    .uri
                    .path_and_query()
                    .map_or("/inbox", |p| p.as_str())
                    .to_owned();
                return Err(ToLogin(path));
            }
        };
        Ok(Agent {
            caller,
            tr: Tr {
                lang: Lang::from_headers(&parts.headers),
            },
            tz: tz_offset(&parts.headers),
        })
    }
}

pub fn tz_offset(headers: &HeaderMap) -> i32 {
    crate::auth::cookie(headers, TZ_COOKIE)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|m| m.abs() <= 14 * 60)
        .unwrap_or(0)
}

/// What every page's layout shows.
pub struct Layout {
    pub t: Tr,
    pub title: String,
    pub nav: &'static str,
    pub csrf: String,
    pub user: String,
    pub admin: bool,
    pub css: &'static str,
    pub js: &'static str,
    /// Minutes east of UTC.
    pub tz: i32,
    pub now: Millis,
}

impl Layout {
    pub fn new(agent: &Agent, title: impl Into<String>, nav: &'static str, now: Millis) -> Self {
        let name = if agent.caller.name.trim().is_empty() {
            agent.caller.email.clone()
        } else {
            agent.caller.name.clone()
        };
        Self {
            t: agent.tr,
            title: title.into(),
            nav,
            csrf: agent.caller.csrf_token().unwrap_or_default().to_owned(),
            user: name,
            admin: matches!(agent.caller.role, pronto_core::Role::Admin),
            css: &assets().css_url,
            js: &assets().js_url,
            tz: agent.tz,
            now,
        }
    }

    pub fn is(&self, nav: &str) -> bool {
        self.nav == nav
    }

    pub fn other_lang(&self) -> &'static str {
        match self.t.lang {
            Lang::En => "ru",
            Lang::Ru => "en",
        }
    }

    pub fn other_lang_name(&self) -> &'static str {
        match self.t.lang {
            Lang::En => "Русский",
            Lang::Ru => "English",
        }
    }
}

/// A rendered page with the security headers every page carries.
pub fn html(rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            response
        }
        Err(error) => crate::error::AppError::internal(error).into_response(),
    }
}

/// An error on a page: a page saying so (with its status), not the API's JSON.
pub struct WebError(pub crate::error::AppError);

impl<E: Into<crate::error::AppError>> From<E> for WebError {
    fn from(error: E) -> Self {
        WebError(error.into())
    }
}

pub type WebResult<T> = Result<T, WebError>;

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    css: &'a str,
    status: u16,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        use askama::Template;
        let error = self.0;
        if error.status.is_server_error() {
            // Logged, and never shown, by the API's error response.
            return error.into_response();
        }
        let page = ErrorPage {
            css: &assets().css_url,
            status: error.status.as_u16(),
            message: &error.message,
        };
        let mut response = html(page.render());
        *response.status_mut() = error.status;
        response
    }
}

// Times in the agent's time zone.

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_RU: [&str; 12] = [
    "янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
];

/// (year, month 1-12, day, hour, minute) of an instant shifted by `tz` minutes.
pub fn civil(at: Millis, tz: i32) -> (i64, u32, u32, u32, u32) {
    let local = at + i64::from(tz) * 60_000;
    let days = local.div_euclid(86_400_000);
    let in_day = local.rem_euclid(86_400_000) / 1000;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (in_day / 3600) as u32,
        ((in_day % 3600) / 60) as u32,
    )
}

/// "14:05" today, "24 Nov 14:05" another day of this year, "24 Nov 2025" before.
pub fn local_time(at: Millis, now: Millis, tz: i32, lang: Lang) -> String {
    let (y, m, d, h, min) = civil(at, tz);
    let (ny, nm, nd, _, _) = civil(now, tz);
    let month = match lang {
        Lang::En => MONTHS_EN[(m - 1) as usize],
        Lang::Ru => MONTHS_RU[(m - 1) as usize],
    };
    if (y, m, d) == (ny, nm, nd) {
        format!("{h:02}:{min:02}")
    } else if y == ny {
        format!("{d} {month} {h:02}:{min:02}")
    } else {
        format!("{d} {month} {y}")
    }
}

/// A duration for people: "4:12" under an hour, "3 h 5 min" under a day, "30 h" or "3 d"
/// beyond, with the units in the agent's language (app.js ticks it the same way).
pub fn clock_duration(ms: Millis, tr: Tr) -> String {
    let s = ms.max(0) / 1000;
    let (h, min, d) = (tr.s("unit_h"), tr.s("unit_min"), tr.s("unit_d"));
    if s < 3600 {
        format!("{}:{:02}", s / 60, s % 60)
    } else if s < 24 * 3600 && (s / 60) % 60 != 0 {
        format!("{} {h} {} {min}", s / 3600, (s / 60) % 60)
    } else if s < 48 * 3600 {
        format!("{} {h}", s / 3600)
    } else {
        format!("{} {d}", s / 86_400)
    }
}

// Static assets, with a content hash in their URLs and long cache headers.

const APP_JS: &str = include_str!("../../static/app.js");
const APP_CSS: &str = include_str!("../../static/app.css");

struct Assets {
    js_url: String,
    css_url: String,
    js_name: String,
    css_name: String,
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let hash = |text: &str| {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(text.as_bytes());
            digest[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let js_name = format!("app-{}.js", hash(APP_JS));
        let css_name = format!("app-{}.css", hash(APP_CSS));
        Assets {
            js_url: format!("/static/{js_name}"),
            css_url: format!("/static/{css_name}"),
            js_name,
            css_name,
        }
    })
}

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let assets = assets();
    let (body, kind) = if name == assets.js_name {
        (APP_JS, "text/javascript; charset=utf-8")
    } else if name == assets.css_name {
        (APP_CSS, "text/css; charset=utf-8")
    } else {
        return crate::error::AppError::new(StatusCode::NOT_FOUND, "not_found", "no such file")
            .into_response();
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        // 2026-11-24T12:00:00Z
        let at = pronto_badge::parse_instant("2026-11-24T12:00:00Z").unwrap();
        assert_eq!(civil(at, 0), (2026, 11, 24, 12, 0));
        assert_eq!(civil(at, 180), (2026, 11, 24, 15, 0));
        assert_eq!(civil(at, -13 * 60), (2026, 11, 23, 23, 0));
        let en = Tr { lang: Lang::En };
        assert_eq!(clock_duration(252_000, en), "4:12");
        assert_eq!(clock_duration(3 * 3_600_000 + 5, en), "3 h");
        assert_eq!(clock_duration(3 * 3_600_000 + 61_000, en), "3 h 1 min");
        assert_eq!(clock_duration(12 * 3_600_000 - 1, en), "11 h 59 min");
        assert_eq!(clock_duration(30 * 3_600_000 + 60_000, en), "30 h");
    }
}
