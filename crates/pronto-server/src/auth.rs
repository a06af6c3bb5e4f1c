//! Who is calling: a browser session (an HttpOnly, SameSite=Lax cookie holding a random token,
//! stored hashed, with a CSRF token required on every state-changing request) or an API token
//! (`Authorization: Bearer`, stored hashed, no CSRF needed since browsers never send it by
//! themselves). Passwords are argon2id. Failed logins are rate limited per email and per
//! client address with in-memory token buckets (one node; several nodes each keep their own).

use crate::app::App;
use crate::crypto::{constant_time_eq, random_token, token_hash};
use crate::error::{AppError, AppResult};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use pronto_badge::time::DAY;
use pronto_core::store::{Session, Store};
use pronto_core::{Role, TokenId, User, UserId, Workspace, WorkspaceId};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

pub const SESSION_COOKIE: &str = "pronto_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf_token";

/// An argon2id PHC string of `password` (argon2's default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Hashing takes tens of milliseconds of CPU: off the async threads.
pub async fn hash_password_async(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

async fn verify_password_async(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            // Spend the same time on an unknown email as on a known one.
            static DUMMY: OnceLock<String> = OnceLock::new();
            let dummy =
                DUMMY.get_or_init(|| hash_password("pronto dummy password").unwrap_or_default());
            let _ = verify_password(&password, dummy);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// The rules of a password: long enough to resist guessing, short enough to hash.
pub fn check_password_rules(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < 8 {
        return Err("a password needs at least 8 characters".into());
    }
    if length > 1024 {
        return Err("a password can have at most 1024 characters".into());
    }
    Ok(())
}

/// Emails are compared lower-cased and trimmed.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(format!("{email:?} is not an email address"))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    Session {
        token_hash: Vec<u8>,
        csrf_token: String,
    },
    Token {
        id: TokenId,
    },
}

/// The authenticated caller of a request, scoped to one workspace.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: UserId,
    pub email: String,
    pub name: String,
    pub workspace: WorkspaceId,
    pub role: Role,
    pub via: Via,
}

impl Caller {
    pub fn require_admin(&self) -> AppResult<()> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Agent => Err(AppError::forbidden(
                "only the workspace's admins can do this",
            )),
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf_token, .. } => Some(csrf_token),
            Via::Token { .. } => None,
        }
    }
}

/// What the authentication middleware found, for the [`Caller`] extractor.
#[derive(Clone, Debug)]
pub struct Authentication(pub Option<Result<Caller, AppError>>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication(Some(result))) => result.clone(),
            _ => Err(AppError::unauthorized()),
        }
    }
}

/// An optional caller: pages that show something else to visitors.
#[derive(Clone, Debug)]
pub struct MaybeCaller(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(
            match parts.extensions.get::<Authentication>() {
                Some(Authentication(Some(Ok(caller)))) => Some(caller.clone()),
                _ => None,
            },
        ))
    }
}

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Resolves the caller of every request and enforces CSRF for cookie sessions on
/// state-changing requests (the `X-CSRF-Token` header, or a `csrf_token` form field).
pub async fn authenticate<S: Store>(
    State(app): State<Arc<App<S>>>,
    request: Request,
    next: Next,
) -> Response {
    let now = app.clock.now();
    let headers = request.headers();
    let mut found: Option<Result<Caller, AppError>> = None;
    if let Some(token) = bearer_token(headers) {
        found = Some(
            match app.store.use_api_token(&token_hash(token), now).await {
                Ok(Some(record)) => caller_of(
                    &app,
                    record.workspace,
                    record.user,
                    Via::Token { id: record.id },
                )
                .await
                .and_then(|caller| caller.ok_or_else(invalid_token)),
                Ok(None) => Err(invalid_token()),
                Err(error) => Err(error.into()),
            },
        );
    } else if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let hash = token_hash(token);
        match app.store.session(&hash, now).await {
            Ok(Some(session)) => {
                let via = Via::Session {
                    token_hash: hash,
                    csrf_token: session.csrf_token.clone(),
                };
                match caller_of(&app, session.workspace, session.user, via).await {
                    Ok(Some(caller)) => found = Some(Ok(caller)),
                    Ok(None) => {}
                    Err(error) => found = Some(Err(error)),
                }
            }
            Ok(None) => {}
            Err(error) => found = Some(Err(error.into())),
        }
    }
    let mut request = request;
    if let Some(Ok(caller)) = &found
        && let Via::Session { csrf_token, .. } = &caller.via
        && !is_safe(request.method())
    {
        let (ok, rebuilt) = check_csrf(request, csrf_token, app.settings.body_limit).await;
        request = rebuilt;
        if !ok {
            found = Some(Err(AppError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "a state-changing request from a browser session needs its CSRF token \
                 (the X-CSRF-Token header or the csrf_token form field)",
            )));
        }
    }
    request.extensions_mut().insert(Authentication(found));
    next.run(request).await
}

fn invalid_token() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "the API token is unknown or revoked",
    )
}

async fn caller_of<S: Store>(
    app: &App<S>,
    workspace: WorkspaceId,
    user: UserId,
    via: Via,
) -> AppResult<Option<Caller>> {
    let member = app.store.member(workspace, user).await?;
    Ok(member
        .filter(|member| member.user.active)
        .map(|member| Caller {
            user: member.user.id,
            email: member.user.email,
            name: member.user.name,
            workspace,
            role: member.role,
            via,
        }))
}

/// Checks the CSRF token of a state-changing request, reading a form body if the header is
/// absent; returns the request whole again.
async fn check_csrf(request: Request, expected: &str, limit: usize) -> (bool, Request) {
    if let Some(value) = request.headers().get(CSRF_HEADER) {
        let ok = constant_time_eq(value.as_bytes(), expected.as_bytes());
        return (ok, request);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, request);
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return (false, Request::from_parts(parts, Body::empty()));
    };
    let ok = form_field(&bytes, CSRF_FIELD)
        .is_some_and(|token| constant_time_eq(token.as_bytes(), expected.as_bytes()));
    (ok, Request::from_parts(parts, Body::from(bytes)))
}

/// One field of an urlencoded form.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b'%' => return None,
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A new session for a user who proved their password.
pub struct NewSession {
    pub token: String,
    pub session: Session,
    pub user: User,
    pub workspace: Workspace,
    pub role: Role,
}

/// Checks an email and password (rate limited) and opens a session in the chosen workspace
/// (by name), or the user's first one.
pub async fn login<S: Store>(
    app: &App<S>,
    email: &str,
    password: &str,
    workspace: Option<&str>,
    client: Option<IpAddr>,
) -> AppResult<NewSession> {
    let invalid = || {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong email or password",
        )
    };
    let email = normalize_email(email).map_err(|_| invalid())?;
    let keys = login_keys(&email, client);
    if let Some(wait) = app.limiter.wait(&keys) {
        app.metrics.record_failed_login();
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed logins; wait before trying again",
        )
        .with_retry_after(wait));
    }
    let user = app.store.user_by_email(&email).await?;
    let verified = verify_password_async(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let user = match user {
        Some(user) if verified && user.active => user,
        _ => {
            app.limiter.fail(&keys);
            app.metrics.record_failed_login();
            return Err(invalid());
        }
    };
    let memberships = app.store.memberships(user.id).await?;
    let chosen = match workspace {
        Some(name) => memberships.into_iter().find(|(w, _)| w.name == name),
        None => memberships.into_iter().next(),
    };
    let Some((workspace, role)) = chosen else {
        return Err(AppError::forbidden(
            "this user is not a member of that workspace",
        ));
    };
    let token = random_token();
    let now = app.clock.now();
    let session = Session {
        token_hash: token_hash(&token),
        user: user.id,
        workspace: workspace.id,
        csrf_token: random_token(),
        expires_at: now + i64::from(app.settings.session_days) * DAY,
    };
    app.store.create_session(&session).await?;
    Ok(NewSession {
        token,
        session,
        user,
        workspace,
        role,
    })
}

fn login_keys(email: &str, client: Option<IpAddr>) -> Vec<(String, Limit)> {
    let mut keys = vec![(format!("email:{email}"), Limit::EMAIL)];
    if let Some(ip) = client {
        keys.push((format!("ip:{ip}"), Limit::ADDRESS));
    }
    keys
}

/// The session cookie for a new session.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_session_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// A token bucket's size and refill.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub capacity: f64,
    pub per_second: f64,
}

impl Limit {
    /// Five failures in a row for one email, then one try a minute.
    pub const EMAIL: Limit = Limit {
        capacity: 5.0,
        per_second: 1.0 / 60.0,
    };
    /// Twenty failures from one address, then one every ten seconds.
    pub const ADDRESS: Limit = Limit {
        capacity: 20.0,
        per_second: 0.1,
    };
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Failed-login token buckets, in memory.
#[derive(Default)]
pub struct LoginLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl LoginLimiter {
    fn refill(bucket: &mut Bucket, limit: Limit, now: Instant) {
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.capacity);
        bucket.updated = now;
    }

    /// `Some(seconds)` to wait if any of the keys has no try left.
    pub fn wait(&self, keys: &[(String, Limit)]) -> Option<u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter");
        keys.iter()
            .filter_map(|(key, limit)| {
                let bucket = buckets.get_mut(key)?;
                Self::refill(bucket, *limit, now);
                (bucket.tokens < 1.0)
                    .then(|| ((1.0 - bucket.tokens) / limit.per_second).ceil() as u64)
            })
            .max()
    }

    /// Takes one try from each key's bucket.
    pub fn fail(&self, keys: &[(String, Limit)]) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter");
        if buckets.len() > 100_000 {
            // Forget the buckets that have refilled (they hold no information).
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs() < 3_600);
        }
        for (key, limit) in keys {
            let bucket = buckets.entry(key.clone()).or_insert(Bucket {
                tokens: limit.capacity,
                updated: now,
            });
            Self::refill(bucket, *limit, now);
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_limiter_refuses_after_the_bucket_empties() {
        let limiter = LoginLimiter::default();
        let keys = login_keys("a@b.c", None);
        for _ in 0..5 {
            assert_eq!(limiter.wait(&keys), None);
            limiter.fail(&keys);
        }
        let wait = limiter.wait(&keys).expect("limited");
        assert!((1..=60).contains(&wait), "{wait}");
        let other = login_keys("other@b.c", None);
        assert_eq!(limiter.wait(&other), None);
    }

    #[test]
    fn cookies_and_forms_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; pronto_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "c"), None);
        assert_eq!(
            form_field(b"email=a%40b.c&csrf_token=x+y%2B", "csrf_token").as_deref(),
            Some("x y+")
        );
        assert_eq!(form_field(b"csrf_token=%zz", "csrf_token"), None);
        assert!(session_cookie("t", 60, true).ends_with("; Secure"));
        assert!(session_cookie("t", 60, false).contains("HttpOnly; SameSite=Lax"));
        assert_eq!(
            normalize_email(" Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        assert!(normalize_email("nobody").is_err());
    }
}
