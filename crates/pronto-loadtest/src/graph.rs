//! A stand-in for the parts of Meta's Graph API that Pronto calls, served in-process.
//!
//! It imitates, on one host (`graph.facebook.com` and `graph.instagram.com` alike):
//!
//! - `GET /{v}/me`: the Page behind a Page access token (`{"name", "id"}`), or the Instagram
//!   professional account behind an Instagram user token (`{"id", "user_id", "username"}`;
//!   `id` is an app-scoped id, *not* the `user_id` that webhooks carry as `entry[].id`).
//!   <https://developers.facebook.com/docs/messenger-platform/get-started>,
//!   <https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/get-started>
//! - `POST|GET|DELETE /{v}/{id|me}/subscribed_apps`: subscribing the app to an account's webhooks.
//!   <https://developers.facebook.com/docs/messenger-platform/webhooks>,
//!   <https://developers.facebook.com/docs/instagram-platform/webhooks>
//! - `POST /{v}/{id|me}/messages`: the Send API, with answers that tests can script.
//!   <https://developers.facebook.com/docs/messenger-platform/send-api-reference>,
//!   <https://developers.facebook.com/docs/messenger-platform/error-codes>
//! - `GET /{v}/{id|me}/conversations`, `GET /{v}/{conversation}`, `GET /{v}/{conversation}/messages`
//!   and `GET /{v}/{message}`: the Conversations API for backfill, with Graph field expansion
//!   (`fields=participants,messages.limit(10){id,from,message}`) and cursor paging.
//!   <https://developers.facebook.com/docs/messenger-platform/conversations>,
//!   <https://developers.facebook.com/docs/graph-api/results>
//!
//! The version segment (`/v23.0`) may be any `vN.N`, or absent. The access token may come as
//! the `access_token` query or body parameter or as `Authorization: Bearer`. Errors have
//! Meta's shape `{"error": {"message", "type", "code", "error_subcode"?, "fbtrace_id"}}`.
//!
//! Like Meta, it returns only the fields asked for (conversations default to `id` and
//! `updated_time`, messages to `id` and `created_time`), names Instagram people by `username`
//! and Messenger people by `name`, and details only the 20 most recent messages of a
//! conversation through `GET /{message}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How many conversations or messages a page holds when the request sets no `limit`.
const DEFAULT_LIMIT: usize = 25;
/// The largest page Meta serves, whatever `limit` says.
const MAX_LIMIT: usize = 100;
/// Meta details only a conversation's most recent messages through `GET /{message-id}`.
const DETAILED_MESSAGES: usize = 20;
/// The largest request body read (Send API bodies are a few kB).
const BODY_LIMIT: usize = 4 << 20;

/// A running stand-in. Clones share it; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct StandIn {
    shared: Arc<Shared>,
    _server: Arc<AbortOnDrop>,
}

/// One request as it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// The path, version segment included (`/v23.0/me`).
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    /// A JSON body as sent; a form body as an object of strings; any other as a string.
    pub body: Option<Value>,
}

/// A canned answer for one Send API call.
#[derive(Clone, Debug, PartialEq)]
pub enum Scripted {
    /// A Graph error in Meta's JSON shape, e.g. `Error { status: 400, code: 551, subcode:
    /// Some(1545041), .. }` for a person who isn't available.
    Error {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
    },
    /// A bare status with a non-JSON body, as a proxy in front of Meta answers a 500 or 503.
    Status(u16),
    /// Waits, then answers as usual.
    Delay(Duration),
    /// Never answers: the caller's timeout must fire.
    Hang,
}

/// A conversation served by the Conversations API.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    /// Such as `t_10161...`.
    pub id: String,
    /// ISO 8601 as Meta writes it: `2026-11-20T10:15:00+0000`.
    pub updated_time: String,
    /// `(id, name)`; the account itself is usually one of them.
    pub participants: Vec<(String, String)>,
    /// In any order; served newest first.
    pub messages: Vec<ConversationMessage>,
}

/// A message of a [`Conversation`].
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationMessage {
    /// `m_...`, the same id webhooks carry as `mid`.
    pub id: String,
    /// ISO 8601 as Meta writes it.
    pub created_time: String,
    /// `(id, name)` of the author.
    pub from: (String, String),
    /// The recipient's id.
    pub to: String,
    pub text: String,
}

impl StandIn {
    /// Starts a stand-in on `127.0.0.1` and a free port.
    pub async fn start() -> StandIn {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("binding 127.0.0.1:0")
    }

    /// Starts a stand-in on `addr` (a standalone process picks its port).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            url: format!("http://{local}"),
            // Message ids stay unique across stand-ins (and restarts) sharing a database.
            mid_prefix: format!("{:012x}", rand::random::<u64>() >> 16),
            state: Mutex::default(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            // Serving only ends with an accept error on a closed runtime: nothing to report.
            let _ = axum::serve(listener, app).await;
        });
        Ok(StandIn {
            shared,
            _server: Arc::new(AbortOnDrop(server)),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: `PRONTO_META_GRAPH_URL`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// Adds a Page and its valid Page access token.
    pub fn add_page(&self, page_id: &str, name: &str, token: &str) {
        self.shared.lock().accounts.push(Account {
            kind: Kind::Page,
            id: page_id.to_owned(),
            name: name.to_owned(),
            token: token.to_owned(),
        });
    }

    /// Adds an Instagram professional account (`user_id`, as in webhooks) and its Instagram
    /// user token.
    pub fn add_instagram(&self, ig_user_id: &str, username: &str, token: &str) {
        self.shared.lock().accounts.push(Account {
            kind: Kind::Instagram,
            id: ig_user_id.to_owned(),
            name: username.to_owned(),
            token: token.to_owned(),
        });
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// The bodies of the Send API calls that succeeded, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.shared.lock().sent.clone()
    }

    /// Queues an answer for the next Send API call; with the queue empty, sends succeed.
    pub fn script_send(&self, response: Scripted) {
        self.shared.lock().script.push_back(response);
    }

    /// Serves `conversation` among those of the account `account_id` (Page id or Instagram
    /// `user_id`); a conversation with the same id is replaced.
    pub fn add_conversation(&self, account_id: &str, conversation: Conversation) {
        let mut state = self.shared.lock();
        let list = state
            .conversations
            .entry(account_id.to_owned())
            .or_default();
        list.retain(|c| c.id != conversation.id);
        list.push(conversation);
    }

    /// A person's profile, served by `GET /{psid}` (User Profile API: `first_name`,
    /// `last_name`, `name`) and, for Instagram, `GET /{igsid}` (`name`, `username`).
    pub fn add_person(&self, id: &str, first_name: &str, last_name: &str) {
        self.shared
            .lock()
            .people
            .insert(id.to_owned(), (first_name.to_owned(), last_name.to_owned()));
    }

    /// The fields each account is subscribed to (by Page id or Instagram `user_id`).
    pub fn subscriptions(&self) -> BTreeMap<String, Vec<String>> {
        self.shared.lock().subscriptions.clone()
    }

    /// The app-scoped id `GET /me` gives for an Instagram account (distinct from `user_id`,
    /// as on Meta, so that code confusing the two fails).
    pub fn instagram_app_scoped_id(ig_user_id: &str) -> String {
        format!("9{ig_user_id}")
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared {
    url: String,
    mid_prefix: String,
    state: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the requests from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Default)]
struct Inner {
    accounts: Vec<Account>,
    requests: Vec<Recorded>,
    sent: Vec<Value>,
    script: VecDeque<Scripted>,
    conversations: BTreeMap<String, Vec<Conversation>>,
    subscriptions: BTreeMap<String, Vec<String>>,
    /// People's profiles by PSID or IGSID: (first name, last name).
    people: BTreeMap<String, (String, String)>,
    sends: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Page,
    Instagram,
}

#[derive(Clone)]
struct Account {
    kind: Kind,
    /// The Page id, or the Instagram `user_id`.
    id: String,
    /// The Page's name, or the Instagram username.
    name: String,
    token: String,
}

impl Account {
    /// Whether `node` (from a path) names this account.
    fn is(&self, node: &str) -> bool {
        node == "me"
            || node == self.id
            || (self.kind == Kind::Instagram && node == StandIn::instagram_app_scoped_id(&self.id))
    }
}

/// What a request carries, read once.
struct Call {
    method: Method,
    /// Path segments after the version.
    segments: Vec<String>,
    path: String,
    query: BTreeMap<String, String>,
    body: Option<Value>,
    token: Option<String>,
}

impl Call {
    /// A parameter from the query string or, for POSTs, the body.
    fn param(&self, name: &str) -> Option<String> {
        if let Some(value) = self.query.get(name) {
            return Some(value.clone());
        }
        match self.body.as_ref()?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            other => Some(other.to_string()),
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let call = match read(&shared, request).await {
        Ok(call) => call,
        Err(rejection) => return rejection,
    };
    let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let reply = match (&call.method, segments.as_slice()) {
        (&Method::GET, ["me"]) => me(&shared, &call),
        (_, [node, "subscribed_apps"]) => subscribed_apps(&shared, &call, node),
        (&Method::POST, [node, "messages"]) => send(&shared, &call, node).await,
        (&Method::GET, [node, "messages"]) => conversation_messages(&shared, &call, node),
        (&Method::GET, [node, "conversations"]) => conversations(&shared, &call, node),
        (&Method::GET, [node]) => node_get(&shared, &call, node),
        (_, [_] | [_, "messages" | "conversations"]) => unsupported(&call.method, &call.path),
        _ => error(
            StatusCode::BAD_REQUEST,
            2500,
            None,
            &format!("Unknown path components: {}", call.path),
        ),
    };
    reply.into_response()
}

/// Reads and records the request.
async fn read(shared: &Shared, request: Request) -> Result<Call, Response> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = Query::<BTreeMap<String, String>>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let authorization = header_str(request.headers(), header::AUTHORIZATION);
    let form = header_str(request.headers(), header::CONTENT_TYPE)
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let body = if form {
        let axum::Form(fields) = axum::Form::<BTreeMap<String, String>>::from_request(request, &())
            .await
            .map_err(IntoResponse::into_response)?;
        Some(Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ))
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response())?;
        parse_body(&bytes)
    };
    shared.lock().requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        authorization: authorization.clone(),
        body: body.clone(),
    });

    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if segments.first().is_some_and(|s| is_version(s)) {
        segments.remove(0);
    }
    let bearer = authorization
        .as_deref()
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("OAuth "))
        })
        .map(|t| t.trim().to_owned());
    let mut call = Call {
        method,
        segments,
        path,
        query,
        body,
        token: None,
    };
    call.token = call.param("access_token").or(bearer);
    Ok(call)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn parse_body(bytes: &Bytes) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}

/// `v23.0`, `v9.0`.
fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        let mut parts = rest.split('.');
        let major = parts.next().unwrap_or_default();
        let minor = parts.next().unwrap_or("0");
        parts.next().is_none()
            && !major.is_empty()
            && major.bytes().all(|b| b.is_ascii_digit())
            && !minor.is_empty()
            && minor.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The account whose token the call carries.
fn caller(shared: &Shared, call: &Call) -> Option<Account> {
    let token = call.token.as_deref()?;
    shared
        .lock()
        .accounts
        .iter()
        .find(|a| a.token == token)
        .cloned()
}

/// The account behind the token, if it is `node`.
fn owner(shared: &Shared, call: &Call, node: &str) -> Result<Account, GraphError> {
    match caller(shared, call).filter(|a| a.is(node)) {
        Some(account) => Ok(account),
        None => invalid_token(),
    }
}

fn me(shared: &Shared, call: &Call) -> Reply {
    let Some(account) = caller(shared, call) else {
        return invalid_token();
    };
    match account.kind {
        Kind::Page => ok(json!({"name": account.name, "id": account.id})),
        Kind::Instagram => {
            let fields = call.param("fields").unwrap_or_else(|| "username".into());
            let mut out = Map::new();
            out.insert(
                "id".into(),
                json!(StandIn::instagram_app_scoped_id(&account.id)),
            );
            for field in fields.split(',').map(str::trim) {
                match field {
                    "user_id" => out.insert("user_id".into(), json!(account.id)),
                    "username" => out.insert("username".into(), json!(account.name)),
                    "name" => out.insert("name".into(), json!(account.name)),
                    "account_type" => out.insert("account_type".into(), json!("BUSINESS")),
                    _ => None,
                };
            }
            ok(Value::Object(out))
        }
    }
}

fn subscribed_apps(shared: &Shared, call: &Call, node: &str) -> Reply {
    let account = owner(shared, call, node)?;
    match call.method {
        Method::POST => {
            let Some(fields) = call.param("subscribed_fields") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    100,
                    None,
                    "(#100) The parameter subscribed_fields is required",
                );
            };
            let fields = fields
                .split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect();
            shared.lock().subscriptions.insert(account.id, fields);
            ok(json!({"success": true}))
        }
        Method::DELETE => {
            shared.lock().subscriptions.remove(&account.id);
            ok(json!({"success": true}))
        }
        Method::GET => {
            let data: Vec<Value> = shared
                .lock()
                .subscriptions
                .get(&account.id)
                .map(|fields| json!({"name": "Pronto", "id": "1", "subscribed_fields": fields}))
                .into_iter()
                .collect();
            ok(json!({ "data": data }))
        }
        _ => unsupported(&call.method, &call.path),
    }
}

async fn send(shared: &Shared, call: &Call, node: &str) -> Reply {
    // Popped whatever the request holds, so that a test's queue maps onto calls one to one.
    let scripted = shared.lock().script.pop_front();
    match scripted {
        None => {}
        Some(Scripted::Error {
            status,
            code,
            subcode,
            message,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            return error(status, code, subcode, &message);
        }
        Some(Scripted::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            return Ok((status, [(header::CONTENT_TYPE, "text/html")], reason).into_response());
        }
        Some(Scripted::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Scripted::Hang) => std::future::pending::<()>().await,
    }
    let account = owner(shared, call, node)?;
    let body = match send_body(call) {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, 100, None, &message),
    };
    let Some(recipient) = body["recipient"]["id"].as_str().map(str::to_owned) else {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "(#100) The parameter recipient is required",
        );
    };
    let text_limit = match account.kind {
        Kind::Page => 2000,
        Kind::Instagram => 1000,
    };
    match &body["message"] {
        Value::Object(message) if !message.is_empty() => {
            if let Some(text) = message.get("text").and_then(Value::as_str) {
                let too_long = match account.kind {
                    Kind::Page => text.chars().count() > text_limit,
                    Kind::Instagram => text.len() > text_limit,
                };
                if too_long {
                    return error(
                        StatusCode::BAD_REQUEST,
                        100,
                        None,
                        &format!(
                            "(#100) Length of param message[text] must be less than or equal to {text_limit}"
                        ),
                    );
                }
            }
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "(#100) param message must be non-empty.",
            );
        }
    }
    if body["messaging_type"] == "MESSAGE_TAG" && body["tag"].as_str().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "(#100) Tag is required for MESSAGE_TAG messaging type.",
        );
    }
    let message_id = {
        let mut state = shared.lock();
        state.sends += 1;
        state.sent.push(body);
        format!("m_{}{:08}", shared.mid_prefix, state.sends)
    };
    ok(json!({"recipient_id": recipient, "message_id": message_id}))
}

/// The Send API body as JSON: form posts carry `recipient` and `message` as JSON strings.
fn send_body(call: &Call) -> Result<Value, String> {
    let Some(Value::Object(fields)) = &call.body else {
        return Ok(json!({}));
    };
    let mut body = Map::new();
    for (name, value) in fields {
        if name == "access_token" {
            continue;
        }
        let value = match value {
            Value::String(s) if name == "recipient" || name == "message" => {
                serde_json::from_str(s).map_err(|_| format!("(#100) param {name} must be JSON"))?
            }
            other => other.clone(),
        };
        body.insert(name.clone(), value);
    }
    Ok(Value::Object(body))
}

fn conversations(shared: &Shared, call: &Call, node: &str) -> Reply {
    let account = owner(shared, call, node)?;
    if let Some(platform) = call.param("platform")
        && platform != "messenger"
        && platform != "instagram"
    {
        return error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "(#100) platform must be one of the following values: instagram, messenger",
        );
    }
    let fields = requested(call, "id,updated_time")?;
    let mut list = shared
        .lock()
        .conversations
        .get(&account.id)
        .cloned()
        .unwrap_or_default();
    list.sort_by(|a, b| b.updated_time.cmp(&a.updated_time));
    let page = Page::of(shared, call, list.len())?;
    let mut data = Vec::new();
    for conversation in &list[page.range()] {
        data.push(render_conversation(
            shared,
            call,
            &account,
            conversation,
            &fields,
        )?);
    }
    ok(page.wrap(data))
}

/// `GET /{conversation}`, `GET /{message}`, or an account's own node.
fn node_get(shared: &Shared, call: &Call, node: &str) -> Reply {
    let Some(account) = caller(shared, call) else {
        return invalid_token();
    };
    if account.is(node) {
        return match account.kind {
            Kind::Page => ok(json!({"name": account.name, "id": account.id})),
            Kind::Instagram => ok(json!({"id": node, "username": account.name})),
        };
    }
    let list = shared
        .lock()
        .conversations
        .get(&account.id)
        .cloned()
        .unwrap_or_default();
    if let Some(conversation) = list.iter().find(|c| c.id == node) {
        let fields = requested(call, "id,updated_time")?;
        return ok(render_conversation(
            shared,
            call,
            &account,
            conversation,
            &fields,
        )?);
    }
    let person = shared.lock().people.get(node).cloned();
    if let Some((first, last)) = person {
        let name = format!("{first} {last}");
        let username = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let fields = requested(call, "id")?;
        let mut out = serde_json::Map::new();
        for field in &fields {
            let value = match (field.name.as_str(), account.kind) {
                ("id", _) => json!(node),
                ("first_name", Kind::Page) => json!(first),
                ("last_name", Kind::Page) => json!(last),
                ("name", _) => json!(name),
                ("username", Kind::Instagram) => json!(username),
                (other, _) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        100,
                        None,
                        &format!(
                            "(#100) Tried accessing nonexisting field ({other}) on node type (User)"
                        ),
                    );
                }
            };
            out.insert(field.name.clone(), value);
        }
        return ok(Value::Object(out));
    }
    for conversation in &list {
        let newest = newest_first(conversation);
        if let Some(position) = newest.iter().position(|m| m.id == node) {
            if position >= DETAILED_MESSAGES {
                break;
            }
            let fields = requested(call, "id,created_time")?;
            return ok(render_message(&account, newest[position], &fields)?);
        }
    }
    unsupported(&call.method, &call.path)
}

/// `GET /{conversation}/messages`.
fn conversation_messages(shared: &Shared, call: &Call, node: &str) -> Reply {
    let Some(account) = caller(shared, call) else {
        return invalid_token();
    };
    let conversation = shared
        .lock()
        .conversations
        .get(&account.id)
        .and_then(|list| list.iter().find(|c| c.id == node).cloned());
    let Some(conversation) = conversation else {
        return unsupported(&call.method, &call.path);
    };
    let fields = requested(call, "id,created_time")?;
    let newest = newest_first(&conversation);
    let page = Page::of(shared, call, newest.len())?;
    let mut data = Vec::new();
    for message in &newest[page.range()] {
        data.push(render_message(&account, message, &fields)?);
    }
    ok(page.wrap(data))
}

fn newest_first(conversation: &Conversation) -> Vec<&ConversationMessage> {
    let mut messages: Vec<&ConversationMessage> = conversation.messages.iter().collect();
    messages.sort_by(|a, b| b.created_time.cmp(&a.created_time));
    messages
}

fn render_conversation(
    shared: &Shared,
    call: &Call,
    account: &Account,
    conversation: &Conversation,
    fields: &[Field],
) -> Result<Value, GraphError> {
    let mut out = Map::new();
    out.insert("id".into(), json!(conversation.id));
    for field in fields {
        let value = match field.name.as_str() {
            "id" => continue,
            "updated_time" => json!(conversation.updated_time),
            "participants" | "senders" => {
                let people: Vec<Value> = conversation
                    .participants
                    .iter()
                    .map(|(id, name)| person(account, id, name))
                    .collect();
                json!({ "data": people })
            }
            "message_count" => json!(conversation.messages.len()),
            "unread_count" => json!(0),
            "can_reply" => json!(true),
            "snippet" => json!(
                newest_first(conversation)
                    .first()
                    .map(|m| m.text.clone())
                    .unwrap_or_default()
            ),
            "messages" => {
                let sub = field
                    .sub
                    .clone()
                    .unwrap_or_else(|| parse_fields("id,created_time").unwrap_or_default());
                let newest = newest_first(conversation);
                let limit = field.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
                let end = limit.min(newest.len());
                let mut data = Vec::new();
                for message in &newest[..end] {
                    data.push(render_message(account, message, &sub)?);
                }
                // The nested edge pages on through its own edge, like Meta's `next` links.
                let mut next_query = BTreeMap::new();
                next_query.insert("fields".to_owned(), unparse_fields(&sub));
                next_query.insert("limit".to_owned(), limit.to_string());
                if let Some(token) = call.query.get("access_token") {
                    next_query.insert("access_token".to_owned(), token.clone());
                }
                let path = format!("{}/messages", version_prefix(&call.path, &conversation.id));
                let page = Page {
                    start: 0,
                    end,
                    total: newest.len(),
                    next_base: format!("{}{}", shared.url, path),
                    query: next_query,
                };
                page.wrap(data)
            }
            other => return nonexisting(other, "Conversation"),
        };
        out.insert(field.name.clone(), value);
    }
    Ok(Value::Object(out))
}

/// The request path up to and including `node`, e.g. `/v23.0/t_1` for the nested edge's link.
fn version_prefix(path: &str, node: &str) -> String {
    let version = path
        .split('/')
        .find(|s| !s.is_empty())
        .filter(|s| is_version(s));
    match version {
        Some(v) => format!("/{v}/{node}"),
        None => format!("/{node}"),
    }
}

fn render_message(
    account: &Account,
    message: &ConversationMessage,
    fields: &[Field],
) -> Result<Value, GraphError> {
    let mut out = Map::new();
    out.insert("id".into(), json!(message.id));
    for field in fields {
        let value = match field.name.as_str() {
            "id" => continue,
            "created_time" => json!(message.created_time),
            "from" => person(account, &message.from.0, &message.from.1),
            "to" => {
                let name = if message.to == account.id {
                    account.name.clone()
                } else {
                    String::new()
                };
                json!({"data": [person(account, &message.to, &name)]})
            }
            "message" => json!(message.text),
            // Real fields this stand-in has nothing for: Meta omits empty ones too.
            "attachments" | "shares" | "sticker" | "tags" | "reactions" | "story"
            | "is_unsupported" => continue,
            other => return nonexisting(other, "Message"),
        };
        out.insert(field.name.clone(), value);
    }
    Ok(Value::Object(out))
}

/// A person as Meta names them: `username` on Instagram, `name` (and a relay email) on Messenger.
fn person(account: &Account, id: &str, name: &str) -> Value {
    match account.kind {
        Kind::Instagram => json!({"username": name, "id": id}),
        Kind::Page => json!({"name": name, "email": format!("{id}@facebook.com"), "id": id}),
    }
}

/// One requested field of Graph field expansion: `messages.limit(5){id,message}`.
#[derive(Clone, Debug, PartialEq)]
struct Field {
    name: String,
    limit: Option<usize>,
    sub: Option<Vec<Field>>,
}

fn requested(call: &Call, default: &str) -> Result<Vec<Field>, GraphError> {
    let fields = call.param("fields").unwrap_or_else(|| default.to_owned());
    match parse_fields(&fields) {
        Some(parsed) => Ok(parsed),
        None => error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            &format!("(#100) Syntax error in fields: {fields}"),
        ),
    }
}

/// Parses `a,b.limit(2){c,d{e}}`; `None` on a syntax error.
fn parse_fields(text: &str) -> Option<Vec<Field>> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut at = 0;
    let fields = parse_list(&chars, &mut at)?;
    (at == chars.len()).then_some(fields)
}

fn parse_list(chars: &[char], at: &mut usize) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    loop {
        let start = *at;
        while *at < chars.len() && (chars[*at].is_alphanumeric() || chars[*at] == '_') {
            *at += 1;
        }
        if *at == start {
            return None;
        }
        let mut field = Field {
            name: chars[start..*at].iter().collect(),
            limit: None,
            sub: None,
        };
        // Modifiers such as `.limit(5)`; others (`.order(...)`) are accepted and ignored.
        while chars.get(*at) == Some(&'.') {
            *at += 1;
            let name_start = *at;
            while *at < chars.len() && chars[*at].is_alphanumeric() {
                *at += 1;
            }
            let name: String = chars[name_start..*at].iter().collect();
            if chars.get(*at) != Some(&'(') {
                return None;
            }
            let arg_start = *at + 1;
            let close = arg_start + chars[arg_start..].iter().position(|&c| c == ')')?;
            let arg: String = chars[arg_start..close].iter().collect();
            if name == "limit" {
                field.limit = Some(arg.parse().ok()?);
            }
            *at = close + 1;
        }
        if chars.get(*at) == Some(&'{') {
            *at += 1;
            field.sub = Some(parse_list(chars, at)?);
            if chars.get(*at) != Some(&'}') {
                return None;
            }
            *at += 1;
        }
        fields.push(field);
        if chars.get(*at) == Some(&',') {
            *at += 1;
        } else {
            return Some(fields);
        }
    }
}

fn unparse_fields(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| {
            let mut s = f.name.clone();
            if let Some(limit) = f.limit {
                s.push_str(&format!(".limit({limit})"));
            }
            if let Some(sub) = &f.sub {
                s.push_str(&format!("{{{}}}", unparse_fields(sub)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One page of a cursor-paged edge.
struct Page {
    start: usize,
    end: usize,
    total: usize,
    /// The absolute URL of the edge, without its query.
    next_base: String,
    /// The query of the next page's link, `after` aside.
    query: BTreeMap<String, String>,
}

impl Page {
    /// The page `call` asks for (`limit`, `after`) of an edge of `total` items.
    fn of(shared: &Shared, call: &Call, total: usize) -> Result<Page, GraphError> {
        let limit = match call.param("limit").and_then(|l| l.parse().ok()) {
            Some(0) | None => DEFAULT_LIMIT,
            Some(n) => n.min(MAX_LIMIT),
        };
        let start = match call.param("after") {
            None => 0,
            Some(cursor) => match decode_cursor(&cursor) {
                Some(last) => last + 1,
                None => return error(StatusCode::BAD_REQUEST, 100, None, "(#100) Invalid cursor"),
            },
        }
        .min(total);
        let mut query = call.query.clone();
        query.remove("after");
        query.remove("before");
        query.insert("limit".into(), limit.to_string());
        Ok(Page {
            start,
            end: (start + limit).min(total),
            total,
            next_base: format!("{}{}", shared.url, call.path),
            query,
        })
    }

    fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// `{"data": [...], "paging": {"cursors": {...}, "next"?}}`.
    fn wrap(&self, data: Vec<Value>) -> Value {
        if data.is_empty() {
            return json!({"data": []});
        }
        let after = encode_cursor(self.end - 1);
        let mut paging = json!({"cursors": {"before": encode_cursor(self.start), "after": after}});
        if self.end < self.total {
            let mut url = reqwest::Url::parse(&self.next_base).expect("the stand-in's own URL");
            url.query_pairs_mut()
                .extend_pairs(&self.query)
                .append_pair("after", &after);
            paging["next"] = json!(url.as_str());
        }
        json!({"data": data, "paging": paging})
    }
}

/// Cursors are opaque to clients, as Meta's are; these encode a position.
fn encode_cursor(position: usize) -> String {
    hex::encode(format!("pos:{position}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let text = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    text.strip_prefix("pos:")?.parse().ok()
}

/// An endpoint's answer: a response, or a Graph API error.
type Reply = Result<Response, GraphError>;

/// A Graph API error, answered in Meta's shape
/// `{"error": {"message", "type", "code", "error_subcode"?, "fbtrace_id"}}`.
#[derive(Debug)]
struct GraphError {
    status: StatusCode,
    code: i64,
    subcode: Option<i64>,
    message: String,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "A1b2C3",
        });
        if let Some(subcode) = self.subcode {
            body["error_subcode"] = json!(subcode);
        }
        (self.status, axum::Json(json!({ "error": body }))).into_response()
    }
}

/// A 200 with a JSON body.
fn ok(value: Value) -> Reply {
    Ok(axum::Json(value).into_response())
}

/// Fails with a Graph API error (generic, so that any step of an endpoint can `return` it).
fn error<T>(
    status: StatusCode,
    code: i64,
    subcode: Option<i64>,
    message: &str,
) -> Result<T, GraphError> {
    Err(GraphError {
        status,
        code,
        subcode,
        message: message.to_owned(),
    })
}

fn invalid_token<T>() -> Result<T, GraphError> {
    error(
        StatusCode::BAD_REQUEST,
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

fn unsupported<T>(method: &Method, path: &str) -> Result<T, GraphError> {
    let node = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default();
    error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported {} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
            method.as_str().to_lowercase()
        ),
    )
}

fn nonexisting<T>(field: &str, node_type: &str) -> Result<T, GraphError> {
    error(
        StatusCode::BAD_REQUEST,
        100,
        None,
        &format!("(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})"),
    )
}
