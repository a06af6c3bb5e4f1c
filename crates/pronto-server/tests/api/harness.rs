//! Starts the real server on 127.0.0.1:0 over a fresh database, with a clock the test moves.

use pronto_badge::Millis;
use pronto_badge::parse_instant;
use pronto_core::store::Store;
use pronto_core::{InboxId, Incoming, WorkspaceId};
use pronto_loadtest::graph::StandIn;
use pronto_server::admin::add_user;
use pronto_server::crypto::SecretKey;
use pronto_server::{ManualClock, RunningServer, Server, Settings};
use pronto_store_postgres::PgStore;
use pronto_store_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const PASSWORD: &str = "correct horse battery";

/// The instant every test starts at.
pub fn t0() -> Millis {
    parse_instant("2026-11-20T09:00:00Z").unwrap()
}

pub fn temp_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pronto-server-test-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        pronto_server::crypto::random_token()[..8].to_owned()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where a test's database is: a SQLite file in its folder, or a PostgreSQL database of its
/// own on the shared test server (dropped when the test stops the server for good).
#[derive(Clone, Debug)]
pub struct Place {
    pub dir: PathBuf,
    pub url: String,
}

/// A store the tests run on.
pub trait Backend: Store + Sized {
    /// A fresh database.
    fn fresh(dir: PathBuf) -> impl Future<Output = Place>;
    fn open(place: &Place) -> impl Future<Output = Self>;
    fn close_it(&self) -> impl Future<Output = ()>;
    /// Removes the database.
    fn discard(place: &Place) -> impl Future<Output = ()>;
}

impl Backend for SqliteStore {
    async fn fresh(dir: PathBuf) -> Place {
        let url = format!("sqlite://{}/pronto.db", dir.display());
        Place { dir, url }
    }

    async fn open(place: &Place) -> Self {
        SqliteStore::open(&place.url).await.unwrap()
    }

    async fn close_it(&self) {
        self.close().await;
    }

    async fn discard(place: &Place) {
        let _ = std::fs::remove_dir_all(&place.dir);
    }
}

pub const POSTGRES: &str = "PRONTO_TEST_POSTGRES_URL";

pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES).ok().filter(|url| !url.is_empty())
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

async fn admin_execute(sql: String) {
    use sqlx::Connection;
    let url = postgres_url().expect("PRONTO_TEST_POSTGRES_URL");
    let mut conn = sqlx::postgres::PgConnection::connect(&url)
        .await
        .expect("connect to the test server");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("administer the test server");
    conn.close().await.ok();
}

impl Backend for PgStore {
    async fn fresh(dir: PathBuf) -> Place {
        let url = postgres_url().expect("PRONTO_TEST_POSTGRES_URL");
        let name = format!("pronto_server_test_{:016x}", rand::random::<u64>());
        admin_execute(format!("CREATE DATABASE {name}")).await;
        Place {
            dir,
            url: with_database(&url, &name),
        }
    }

    async fn open(place: &Place) -> Self {
        PgStore::connect(&place.url).await.unwrap()
    }

    async fn close_it(&self) {
        self.close().await;
    }

    async fn discard(place: &Place) {
        let name = place
            .url
            .rsplit('/')
            .next()
            .unwrap_or("")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        admin_execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        let _ = std::fs::remove_dir_all(&place.dir);
    }
}

/// Runs a test on SQLite, and on PostgreSQL when `PRONTO_TEST_POSTGRES_URL` is set.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name::<pronto_store_sqlite::SqliteStore>().await;
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::api::harness::postgres_url().is_none() {
                    println!("skipped: {} not set", $crate::api::harness::POSTGRES);
                    return;
                }
                super::$name::<pronto_store_postgres::PgStore>().await;
            }
        }
    )*};
}

pub struct TestServer<S: Backend> {
    pub running: Option<RunningServer<S>>,
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub place: Place,
    pub key: SecretKey,
    pub client: reqwest::Client,
    /// The stand-in for Meta's Graph API this server calls.
    pub graph: StandIn,
}

/// The test installation's Meta app.
pub const META_APP_SECRET: &str = "test-app-secret-0123";
pub const META_INSTAGRAM_APP_SECRET: &str = "test-instagram-secret-4567";
pub const META_APP_ID: &str = "555000111";
pub const META_VERIFY_TOKEN: &str = "verify-me-please";

pub fn settings(place: &Place) -> Settings {
    Settings {
        data_dir: place.dir.clone(),
        database_url: place.url.clone(),
        body_limit: 64 * 1024,
        // The tests ask for figures; the ticker stays out of their way.
        figures_interval: Duration::from_secs(3600),
        snapshot_interval: Duration::from_secs(3600),
        ..Settings::default()
    }
}

impl<S: Backend> TestServer<S> {
    pub async fn start() -> Self {
        Self::start_with(|s| s).await
    }

    pub async fn start_with(configure: impl FnOnce(Server<S>) -> Server<S>) -> Self {
        let place = S::fresh(temp_dir()).await;
        Self::start_in(
            place,
            Arc::new(ManualClock::new(t0())),
            SecretKey::generate(),
            configure,
        )
        .await
    }

    pub async fn start_in(
        place: Place,
        clock: Arc<ManualClock>,
        key: SecretKey,
        configure: impl FnOnce(Server<S>) -> Server<S>,
    ) -> Self {
        let graph = StandIn::start().await;
        let mut settings = settings(&place);
        settings.meta.app_secret = Some(META_APP_SECRET.to_owned());
        settings.meta.app_id = Some(META_APP_ID.to_owned());
        settings.meta.instagram_app_secret = Some(META_INSTAGRAM_APP_SECRET.to_owned());
        settings.meta.verify_token = Some(META_VERIFY_TOKEN.to_owned());
        settings.meta.graph_url = graph.url();
        settings.meta.instagram_graph_url = graph.url();
        let store = S::open(&place).await;
        let server = configure(
            Server::new(store, settings)
                .clock(clock.clone())
                .key(key.clone()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = server.start(listener).await.unwrap();
        let url = running.url();
        Self {
            running: Some(running),
            url,
            clock,
            place,
            key,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            graph,
        }
    }

    pub fn app(&self) -> &Arc<pronto_server::App<S>> {
        &self.running.as_ref().unwrap().app
    }

    pub fn store(&self) -> &S {
        &self.app().store
    }

    /// Stops the server gracefully and closes the store; returns what a restart needs.
    pub async fn stop_for_restart(mut self) -> (Place, Arc<ManualClock>, SecretKey) {
        let running = self.running.take().unwrap();
        let app = running.app.clone();
        tokio::time::timeout(Duration::from_secs(30), running.shutdown())
            .await
            .expect("the server stops within 30 s")
            .unwrap();
        app.store.close_it().await;
        drop(app);
        (self.place.clone(), self.clock.clone(), self.key.clone())
    }

    /// Stops the server gracefully and removes its database.
    pub async fn stop(self) {
        let (place, _, _) = self.stop_for_restart().await;
        S::discard(&place).await;
    }

    /// A user (created with [`PASSWORD`]) in a workspace, and an API token for them.
    pub async fn user(&self, email: &str, admin: bool, workspace: &str) -> User {
        let added = add_user(
            self.store(),
            email,
            None,
            PASSWORD,
            admin,
            workspace,
            self.clock_now(),
        )
        .await
        .unwrap();
        let (token, _, _) = pronto_server::admin::add_token(
            self.store(),
            email,
            "test",
            Some(workspace),
            self.clock_now(),
        )
        .await
        .unwrap();
        User {
            token,
            workspace: added.workspace.id,
            id: added.user.id.0,
        }
    }

    pub fn clock_now(&self) -> Millis {
        use pronto_server::Clock;
        self.clock.now()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// Creates a playground inbox through the API.
    pub async fn playground(&self, admin: &User, name: &str) -> InboxId {
        let (status, body) = self
            .post(
                "/api/v1/inboxes",
                &admin.token,
                serde_json::json!({"name": name, "channel": "playground"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        InboxId(body["id"].as_i64().unwrap())
    }

    /// Connects a Messenger inbox for `page_id` through the API (the stand-in knows the page),
    /// without the backfill unless `settings` asks for it.
    pub async fn messenger(&self, admin: &User, page_id: &str, settings: Value) -> InboxId {
        let token = format!("EAAB-{page_id}");
        self.graph
            .add_page(page_id, &format!("Page {page_id}"), &token);
        let mut messenger =
            serde_json::json!({"page_id": page_id, "page_access_token": token, "backfill": false});
        if let Value::Object(extra) = settings {
            for (key, value) in extra {
                messenger[key] = value;
            }
        }
        let (status, body) = self
            .post(
                "/api/v1/inboxes",
                &admin.token,
                serde_json::json!({"name": format!("Page {page_id}"), "channel": "messenger", "messenger": messenger}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        InboxId(body["id"].as_i64().unwrap())
    }

    /// POSTs a webhook delivery signed with the app secret; the status and body.
    pub async fn webhook(&self, body: &[u8]) -> (StatusCode, String) {
        self.webhook_signed(
            body,
            Some(&pronto_loadtest::payload::sign(
                META_APP_SECRET.as_bytes(),
                body,
            )),
        )
        .await
    }

    pub async fn webhook_signed(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = self
            .client
            .post(format!("{}/webhooks/meta", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        if status == StatusCode::OK {
            self.journal_drained().await;
        }
        (status, text)
    }

    /// Waits until the webhook journal's processor has taken in every delivery.
    pub async fn journal_drained(&self) {
        for _ in 0..400 {
            if self.store().journal_depth().await.unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the webhook journal did not drain");
    }

    /// A customer's message arriving on a channel, at the clock's time.
    pub async fn customer_writes(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        customer: &str,
        text: &str,
    ) -> i64 {
        self.incoming(
            workspace,
            inbox,
            customer,
            pronto_badge::Author::Customer,
            text,
        )
        .await
    }

    pub async fn incoming(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        customer: &str,
        author: pronto_badge::Author,
        text: &str,
    ) -> i64 {
        self.incoming_at(workspace, inbox, customer, author, text, self.clock_now())
            .await
    }

    /// A message from a channel with the channel's own time (possibly before messages
    /// already stored: channels deliver late).
    pub async fn incoming_at(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        customer: &str,
        author: pronto_badge::Author,
        text: &str,
        at: Millis,
    ) -> i64 {
        static N: AtomicU64 = AtomicU64::new(0);
        let incoming = Incoming {
            inbox,
            contact_external_id: customer.to_owned(),
            contact_name: format!("Customer {customer}"),
            channel_message_id: format!("mid-{}", N.fetch_add(1, Ordering::SeqCst)),
            at,
            author,
            text: text.to_owned(),
            attachments: Vec::new(),
        };
        match self.app().ingest(workspace, &incoming).await.unwrap() {
            pronto_core::store::Ingested::Stored { conversation, .. } => conversation.id.0,
            pronto_core::store::Ingested::Duplicate { .. } => panic!("a duplicate"),
        }
    }

    /// Waits until the outbox is empty (the playground sender accepts at once).
    pub async fn outbox_drained(&self) {
        for _ in 0..200 {
            if self.store().outbox_depth().await.unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the outbox did not drain");
    }
}

pub struct User {
    pub token: String,
    pub workspace: WorkspaceId,
    pub id: i64,
}

/// Percent-encodes a query value.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads Server-Sent Events from a response.
pub struct SseReader {
    pub response: reqwest::Response,
    buffer: String,
}

#[derive(Debug, Default, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` when the stream ends or `wait` passes.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        event.data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?;
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Skips events until one named `name`.
    pub async fn until(&mut self, name: &str, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event.event == name {
                return Some(event);
            }
        }
    }
}
