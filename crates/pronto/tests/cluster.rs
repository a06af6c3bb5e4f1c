//! Three `pronto serve` processes on one PostgreSQL database behave as one helpdesk (issue 6,
//! "Many nodes"), tested with real processes on loopback:
//!
//! - a message taken in through one node reaches every node's event stream (LISTEN/NOTIFY);
//! - signed webhook deliveries from many customers are spread over the three nodes, and agents
//!   reply through each node while they arrive;
//! - conflicting assignments and status changes made on the three nodes at once resolve to one
//!   outcome, the same on every node and in the log;
//! - one node is killed (SIGKILL) while deliveries keep coming, the other two go on, and it is
//!   restarted on its port: its live figures catch up, and its stream, reconnected with
//!   `Last-Event-ID`, gets what it missed;
//! - afterwards every node exports the same log and gives the same figures (also the same as
//!   `pronto badge --at --json` over that log), every acknowledged message is stored once, every
//!   reply reached the Graph API stand-in exactly once, and echoes of the replies, delivered
//!   through any node, are not stored again.
//!
//! Runs when `PRONTO_TEST_POSTGRES_URL` is set (in a database of its own, created and dropped
//! here); skips otherwise.

use pronto_loadtest::graph::StandIn;
use pronto_loadtest::payload::{batch, echo, message, sign};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const POSTGRES: &str = "PRONTO_TEST_POSTGRES_URL";
const NODES: usize = 3;
/// The node killed and restarted in the middle ("node 3").
const VICTIM: usize = 2;
const PAGE: &str = "3141592653";
const PAGE_TOKEN: &str = "EAAB-cluster-page";
const APP_SECRET: &str = "cluster-app-secret-0123";
const APP_ID: &str = "777000111";
/// 32 bytes in base64: every node seals and opens the Page token with it.
const SECRET_KEY: &str = "g5TC45xxgYYKHqGYLxYemO4DMyDU6+aSh/65+qgfYko=";
const ADMIN: &str = "admin@cluster.test";
const PASSWORD: &str = "cluster-password";
const WORKSPACE: &str = "Cluster";
/// The longest any wait may take. The webhook journal's lease (30 s) bounds the worst case:
/// deliveries the killed node had claimed are taken in by another node once it runs out.
const DEADLINE: Duration = Duration::from_secs(75);
/// Concurrent webhook POSTs.
const CONCURRENCY: usize = 6;
/// Customers per phase; each writes two messages.
const CUSTOMERS: usize = 24;

fn log(what: impl std::fmt::Display) {
    eprintln!("[cluster] {what}");
}

// ---------------------------------------------------------------------------------------------
// The database and the processes, cleaned up even when the test panics.

/// A database of the test's own on the server of `PRONTO_TEST_POSTGRES_URL`, dropped (best
/// effort) when the guard is.
struct Database {
    /// The server's `postgres` database, to create and drop from.
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(server: &str) -> Database {
        let mut admin = reqwest::Url::parse(server).expect("PRONTO_TEST_POSTGRES_URL is a URL");
        admin.set_path("/postgres");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("pronto_cluster_{}_{nanos:x}", std::process::id());
        let mut url = admin.clone();
        url.set_path(&format!("/{name}"));
        let mut conn = sqlx::PgConnection::connect(admin.as_str())
            .await
            .expect("connecting to the server's postgres database");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        Database {
            admin_url: admin.to_string(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()?;
                let _ = conn.close().await;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            log(format!("could not drop the database {}", self.name));
        }
    }
}

/// One `pronto serve` process, killed when dropped.
struct Node {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    url: String,
    /// Its standard error (the server's log), appended to across restarts.
    log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The nodes and what they are started with. Dropping it kills every process still running.
struct Cluster {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
    nodes: Vec<Node>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let logs: Vec<(String, PathBuf)> = self
            .nodes
            .iter()
            .map(|n| (n.url.clone(), n.log.clone()))
            .collect();
        self.nodes.clear();
        if std::thread::panicking() {
            for (i, (url, path)) in logs.iter().enumerate() {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(30)..].join("\n");
                eprintln!("--- node {} ({url}), the end of its log:\n{tail}", i + 1);
            }
            eprintln!("--- the logs are kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Cluster {
    fn new(database_url: &str, graph_url: &str) -> Cluster {
        let dir = std::env::temp_dir().join(format!(
            "pronto-cluster-{}-{}",
            std::process::id(),
            pronto_loadtest::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let env = vec![
            ("DATABASE_URL", database_url.to_owned()),
            ("PRONTO_SECRET_KEY", SECRET_KEY.to_owned()),
            ("PRONTO_META_APP_SECRET", APP_SECRET.to_owned()),
            ("PRONTO_META_APP_ID", APP_ID.to_owned()),
            ("PRONTO_META_VERIFY_TOKEN", "cluster-verify".to_owned()),
            ("PRONTO_META_GRAPH_URL", graph_url.to_owned()),
            ("PRONTO_META_INSTAGRAM_GRAPH_URL", graph_url.to_owned()),
            ("PRONTO_LOG", "warn".to_owned()),
            // Figures must reach other nodes by LISTEN/NOTIFY, not by the ticker.
            ("PRONTO_FIGURES_SECONDS", "3600".to_owned()),
        ];
        Cluster {
            dir,
            env,
            nodes: Vec::new(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pronto"));
        command.args(args).current_dir(&self.dir);
        // Nothing of the caller's environment configures these processes.
        for (key, _) in std::env::vars() {
            if key.starts_with("PRONTO_") || key == "DATABASE_URL" {
                command.env_remove(key);
            }
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Starts node `i` listening on `listen`; returns once it answers `/healthz`.
    async fn launch(&self, i: usize, listen: &str) -> Result<Node, String> {
        let data = self.dir.join(format!("node-{}", i + 1));
        std::fs::create_dir_all(&data).unwrap();
        let log = self.dir.join(format!("node-{}.log", i + 1));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = self
            .command(&["serve"])
            .env("PRONTO_LISTEN", listen)
            .env("PRONTO_DATA_DIR", &data)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("pronto serve starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // "Pronto is listening on http://127.0.0.1:PORT (...)"
                if let Some(rest) = line.strip_prefix("Pronto is listening on ")
                    && let Some(sender) = sender.take()
                {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = sender.send(url.to_owned());
                }
            }
        });
        let mut node = Node {
            child: Some(child),
            url: String::new(),
            log,
        };
        // The sender is dropped unused if the process ends without listening.
        node.url = match tokio::time::timeout(DEADLINE, receiver).await {
            Ok(Ok(url)) => url,
            _ => return Err(format!("node {} did not start on {listen}", i + 1)),
        };
        let client = Client::new();
        let started = Instant::now();
        loop {
            let healthy = client
                .get(format!("{}/healthz", node.url))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if healthy {
                return Ok(node);
            }
            if started.elapsed() > DEADLINE {
                return Err(format!(
                    "node {} at {} never became healthy",
                    i + 1,
                    node.url
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown, no flushing, no snapshot.
    fn kill(&mut self, i: usize) {
        let mut child = self.nodes[i].child.take().expect("the node runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn url(&self, i: usize) -> String {
        self.nodes[i].url.clone()
    }

    /// Runs a CLI subcommand against the database; its standard output.
    async fn cli(&self, args: &[&str], stdin: &str) -> String {
        let mut command = self.command(args);
        command
            .env("PRONTO_DATA_DIR", self.dir.join("cli"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let stdin = stdin.to_owned();
        let what = args.join(" ");
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().expect("pronto runs");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "pronto {what}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap()
        })
        .await
        .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The API.

#[derive(Clone)]
struct Api {
    client: Client,
    token: String,
    /// Agents' writes answered `503 unavailable` and made again (the API's contract: the
    /// transaction was rolled back; try again).
    unavailable: Arc<AtomicUsize>,
}

impl Api {
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, String), reqwest::Error> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status();
        Ok((status, response.text().await?))
    }

    async fn get_text(&self, base: &str, path: &str) -> (StatusCode, String) {
        self.send(self.client.get(format!("{base}{path}")))
            .await
            .unwrap_or_else(|error| panic!("GET {base}{path}: {error}"))
    }

    async fn get(&self, base: &str, path: &str) -> Value {
        let (status, text) = self.get_text(base, path).await;
        assert_eq!(status, StatusCode::OK, "GET {base}{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn post(&self, base: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, text) = self
            .send(self.client.post(format!("{base}{path}")).json(&body))
            .await
            .unwrap_or_else(|error| panic!("POST {base}{path}: {error}"));
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An agent's write: made again while the node answers `503 unavailable` (PostgreSQL
    /// aborts one of two deadlocked transactions; see the report at the top of the file).
    async fn write(&self, base: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let started = Instant::now();
        loop {
            let (status, answer) = self.post(base, path, body.clone()).await;
            if status != StatusCode::SERVICE_UNAVAILABLE || started.elapsed() > DEADLINE {
                return (status, answer);
            }
            self.unavailable.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every conversation of the workspace (paged), as the list gives them.
    async fn conversations(&self, base: &str, filter: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/conversations?limit=200&order=activity{filter}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.get(base, &path).await;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }
}

/// A gauge of `/metrics` (the database's, so the same on every node).
async fn gauge(client: &Client, base: &str, name: &str) -> Option<u64> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// Waits until the webhook journal and the outbox are both empty.
async fn until_quiet(client: &Client, base: &str, outbox_too: bool) {
    let started = Instant::now();
    loop {
        let journal = gauge(client, base, "pronto_webhook_journal_depth").await;
        let outbox = if outbox_too {
            gauge(client, base, "pronto_outbox_depth").await
        } else {
            Some(0)
        };
        if journal == Some(0) && outbox == Some(0) {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "not quiet after {DEADLINE:?}: journal {journal:?}, outbox {outbox:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Event streams, recorded as they come.

#[derive(Debug, Clone)]
struct Heard {
    event: String,
    id: Option<i64>,
    data: Value,
}

#[derive(Default)]
struct Stream {
    events: Vec<Heard>,
    ended: bool,
}

type Recording = Arc<Mutex<Stream>>;

async fn open_stream(api: &Api, base: &str, last_event_id: Option<i64>) -> Recording {
    let mut url = format!("{base}/api/v1/events");
    if let Some(id) = last_event_id {
        url.push_str(&format!("?last_event_id={id}"));
    }
    // A client of its own: the API client's timeout would cut the stream short.
    let mut response = Client::new()
        .get(url)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let recording = Recording::default();
    let writer = Arc::clone(&recording);
    tokio::spawn(async move {
        let mut buffer: Vec<u8> = Vec::new();
        while let Ok(Some(bytes)) = response.chunk().await {
            buffer.extend_from_slice(&bytes);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("UTF-8 events");
                let (mut event, mut id, mut data) = (String::new(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if event.is_empty() {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                writer
                    .lock()
                    .unwrap()
                    .events
                    .push(Heard { event, id, data });
            }
        }
        writer.lock().unwrap().ended = true;
    });
    recording
}

/// Waits until `check` holds of what a stream has heard.
async fn until_heard(recording: &Recording, what: &str, check: impl Fn(&[Heard]) -> bool) {
    let started = Instant::now();
    loop {
        if check(&recording.lock().unwrap().events) {
            return;
        }
        assert!(started.elapsed() < DEADLINE, "never heard: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn created_messages(events: &[Heard]) -> HashSet<i64> {
    events
        .iter()
        .filter(|e| e.event == "message_created")
        .filter_map(|e| e.data["message"].as_i64())
        .collect()
}

fn last_change_id(recording: &Recording) -> Option<i64> {
    recording
        .lock()
        .unwrap()
        .events
        .iter()
        .filter_map(|e| e.id)
        .max()
}

// ---------------------------------------------------------------------------------------------
// Meta's side: customers' messages as signed deliveries, spread over the nodes.

/// A customer's message as sent in a delivery.
#[derive(Clone, Debug)]
struct Sent {
    psid: String,
    mid: String,
}

#[derive(Clone)]
struct Delivery {
    body: Vec<u8>,
    messages: Vec<Sent>,
}

fn psid(customer: usize) -> String {
    format!("{}", 7_100_000_000_000u64 + customer as u64)
}

/// The deliveries of `customers` writing `per_customer` messages each (from `first`), one to
/// three customers' messages per delivery (Meta batches entries), in the order they write.
fn deliveries(customers: &[usize], first: usize, per_customer: usize) -> Vec<Delivery> {
    let now = pronto_loadtest::now_ms();
    let mut messages = Vec::new();
    for k in first..first + per_customer {
        for &customer in customers {
            let psid = psid(customer);
            let mid = format!("m_cluster_{customer}_{k}");
            let text = pronto_loadtest::TEXTS[(customer + k) % pronto_loadtest::TEXTS.len()];
            let at = now + k as u64;
            messages.push((Sent { psid, mid }, text, at));
        }
    }
    let mut out = Vec::new();
    let mut rest = messages.as_slice();
    let mut size = 1;
    while !rest.is_empty() {
        let (these, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        size = size % 3 + 1;
        let entries = these
            .iter()
            .map(|(sent, text, at)| {
                (
                    PAGE.to_owned(),
                    *at,
                    vec![message(PAGE, &sent.psid, &sent.mid, text, *at)],
                )
            })
            .collect();
        out.push(Delivery {
            body: batch("page", entries),
            messages: these.iter().map(|(sent, _, _)| sent.clone()).collect(),
        });
    }
    out
}

/// What the deliveries of a test have achieved, shared by the posting tasks.
#[derive(Default)]
struct Acked {
    /// Acknowledged deliveries by the node that answered 200.
    by_node: Mutex<[usize; NODES]>,
    count: AtomicUsize,
    /// Every message of an acknowledged delivery.
    messages: Mutex<Vec<Sent>>,
    /// POSTs that failed (a node down) and went to the next node, as Meta retries.
    retried: AtomicUsize,
}

/// Posts `deliveries` over the nodes (delivery `n` first to node `n % NODES`, the next node if
/// that one fails), `CONCURRENCY` at a time, until each is acknowledged. `at_count` fires when
/// `at_count.0` deliveries of this batch have been acknowledged.
fn post_deliveries(
    client: Client,
    urls: Arc<Mutex<Vec<String>>>,
    deliveries: Vec<Delivery>,
    acked: Arc<Acked>,
    at_count: Option<(usize, tokio::sync::oneshot::Sender<()>)>,
) -> tokio::task::JoinHandle<()> {
    let queue: Arc<Mutex<VecDeque<(usize, Delivery)>>> =
        Arc::new(Mutex::new(deliveries.into_iter().enumerate().collect()));
    let this_batch = Arc::new(AtomicUsize::new(0));
    let at_count = Arc::new(Mutex::new(at_count));
    tokio::spawn(async move {
        let mut workers = Vec::new();
        for _ in 0..CONCURRENCY {
            let (client, urls, queue, acked, this_batch, at_count) = (
                client.clone(),
                Arc::clone(&urls),
                Arc::clone(&queue),
                Arc::clone(&acked),
                Arc::clone(&this_batch),
                Arc::clone(&at_count),
            );
            workers.push(tokio::spawn(async move {
                loop {
                    let Some((n, delivery)) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let signature = sign(APP_SECRET.as_bytes(), &delivery.body);
                    let started = Instant::now();
                    let mut node = n % NODES;
                    loop {
                        let url = urls.lock().unwrap()[node].clone();
                        let answer = client
                            .post(format!("{url}/webhooks/meta"))
                            .header("content-type", "application/json")
                            .header("x-hub-signature-256", &signature)
                            .body(delivery.body.clone())
                            .send()
                            .await;
                        if answer.is_ok_and(|r| r.status() == StatusCode::OK) {
                            break;
                        }
                        assert!(
                            started.elapsed() < DEADLINE,
                            "delivery {n} was never acknowledged"
                        );
                        acked.retried.fetch_add(1, Ordering::Relaxed);
                        node = (node + 1) % NODES;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    acked.by_node.lock().unwrap()[node] += 1;
                    acked
                        .messages
                        .lock()
                        .unwrap()
                        .extend(delivery.messages.iter().cloned());
                    acked.count.fetch_add(1, Ordering::Relaxed);
                    let done = this_batch.fetch_add(1, Ordering::Relaxed) + 1;
                    let mut at = at_count.lock().unwrap();
                    if at.as_ref().is_some_and(|(count, _)| done >= *count)
                        && let Some((_, fire)) = at.take()
                    {
                        let _ = fire.send(());
                    }
                }
            }));
        }
        for worker in workers {
            worker.await.expect("a webhook poster");
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Agents: replies through each node while messages arrive.

/// One reply the test made: its text is unique, so the stand-in's record names it.
#[derive(Clone, Debug)]
struct Reply {
    conversation: i64,
    text: String,
}

struct Replies {
    made: Vec<Reply>,
    /// (conversation, waiting_since) already answered: a reply is queued for that wait.
    answered: HashSet<(i64, String)>,
    /// Each conversation's customer, read from its messages' ids.
    customers: HashMap<i64, usize>,
    /// Replies made through each node.
    by_node: [usize; NODES],
    turn: usize,
}

/// The customer of a message id of [`deliveries`].
fn customer_of(mid: &str) -> Option<usize> {
    mid.strip_prefix("m_cluster_")?
        .split('_')
        .next()?
        .parse()
        .ok()
}

/// Answers, through `nodes` in turn, every waiting conversation of the `group` of customers
/// (all of whose messages have been taken in).
async fn answer(
    api: &Api,
    urls: &Arc<Mutex<Vec<String>>>,
    nodes: &[usize],
    replies: &mut Replies,
    group: &[usize],
) {
    let base = urls.lock().unwrap()[nodes[0]].clone();
    for conversation in api.conversations(&base, "&waiting=true").await {
        let id = conversation["id"].as_i64().unwrap();
        let Some(since) = conversation["waiting_since"].as_str() else {
            continue;
        };
        if let Entry::Vacant(unknown) = replies.customers.entry(id) {
            let detail = api.get(&base, &format!("/api/v1/conversations/{id}")).await;
            let customer = detail["messages"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|m| customer_of(m["channel_message_id"].as_str()?))
                .expect("a customer's message");
            unknown.insert(customer);
        }
        if !group.contains(&replies.customers[&id])
            || !replies.answered.insert((id, since.to_owned()))
        {
            continue;
        }
        let node = nodes[replies.turn % nodes.len()];
        replies.turn += 1;
        let base = urls.lock().unwrap()[node].clone();
        let text = format!(
            "Reply {} to conversation {id}, through node {}",
            replies.made.len() + 1,
            node + 1
        );
        let (status, body) = api
            .write(
                &base,
                &format!("/api/v1/conversations/{id}/messages"),
                json!({ "text": text }),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "replying through {base}: {body}"
        );
        replies.by_node[node] += 1;
        replies.made.push(Reply {
            conversation: id,
            text,
        });
    }
}

/// Waits until the deliveries are all acknowledged and taken in.
async fn taken_in(posting: tokio::task::JoinHandle<()>, client: &Client, base: &str) {
    posting.await.expect("every delivery acknowledged");
    until_quiet(client, base, false).await;
}

// ---------------------------------------------------------------------------------------------
// Comparing figures.

/// The figures without what depends on the instant they were asked at: the evaluation time
/// (and any field that merely repeats it, such as the forecast's `new_starts_at`).
fn timeless(report: &Value) -> Value {
    fn replace(value: &mut Value, at: &str) {
        match value {
            Value::String(s) if s == at => *s = "<evaluated_at>".to_owned(),
            Value::Array(items) => items.iter_mut().for_each(|v| replace(v, at)),
            Value::Object(fields) => fields.values_mut().for_each(|v| replace(v, at)),
            _ => {}
        }
    }
    let mut report = report.clone();
    let at = report["evaluated_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    replace(&mut report, &at);
    report
}

/// The contract's figures alone: no forecast, no inbox, no evaluation time (for comparing a
/// stream's `figures` event with the endpoint's report).
fn bare_figures(report: &Value) -> Value {
    let mut report = report.clone();
    if let Value::Object(fields) = &mut report {
        fields.remove("forecast");
        fields.remove("inbox");
        fields.remove("evaluated_at");
    }
    report
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_on_one_database_behave_as_one_helpdesk() {
    let Ok(server) = std::env::var(POSTGRES) else {
        println!("skipped: {POSTGRES} not set");
        return;
    };
    let test_started = Instant::now();
    // Dropped last: after the processes are gone.
    let database = Database::create(&server).await;
    let graph = StandIn::start().await;
    graph.add_page(PAGE, "Cluster shop", PAGE_TOKEN);
    for customer in 0..3 * CUSTOMERS {
        graph.add_person(&psid(customer), "Customer", &format!("No{customer}"));
    }
    let mut cluster = Cluster::new(&database.url, &graph.url());

    // Three nodes started at once on the empty database (they migrate it together).
    let (a, b, c) = tokio::join!(
        cluster.launch(0, "127.0.0.1:0"),
        cluster.launch(1, "127.0.0.1:0"),
        cluster.launch(2, "127.0.0.1:0")
    );
    cluster.nodes = vec![a.unwrap(), b.unwrap(), c.unwrap()];
    log(format!(
        "3 nodes up in {:?}: {}",
        test_started.elapsed(),
        (0..NODES)
            .map(|i| cluster.url(i))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let urls = Arc::new(Mutex::new(
        (0..NODES).map(|i| cluster.url(i)).collect::<Vec<_>>(),
    ));
    let url = |i: usize| urls.lock().unwrap()[i].clone();

    // The admin and a token through the CLI; two agents through the API.
    cluster
        .cli(
            &[
                "user",
                "add",
                ADMIN,
                "--name",
                "Admin",
                "--admin",
                "--workspace",
                WORKSPACE,
            ],
            &format!("{PASSWORD}\n"),
        )
        .await;
    let token = cluster
        .cli(
            &[
                "token",
                "add",
                ADMIN,
                "--workspace",
                WORKSPACE,
                "--label",
                "cluster",
            ],
            "",
        )
        .await
        .trim()
        .to_owned();
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let api = Api {
        client: client.clone(),
        token,
        unavailable: Arc::default(),
    };
    let admin_id = api.get(&url(0), "/api/v1/session").await["user"]["id"]
        .as_i64()
        .expect("the session names its user");
    let mut agents = vec![admin_id];
    for (i, email) in ["bo@cluster.test", "cy@cluster.test"].iter().enumerate() {
        let (status, body) = api
            .post(
                &url(i + 1),
                "/api/v1/users",
                json!({"email": email, "name": email, "password": PASSWORD, "role": "agent"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        agents.push(body["id"].as_i64().expect("a user id"));
    }

    // The Messenger inbox, connected through node 1 (the stand-in checks the token).
    let (status, body) = api
        .post(
            &url(0),
            "/api/v1/inboxes",
            json!({"name": "Messenger", "channel": "messenger",
                   "messenger": {"page_id": PAGE, "page_access_token": PAGE_TOKEN, "backfill": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let inbox = body["id"].as_i64().unwrap();

    // An event stream on every node.
    let mut streams = Vec::new();
    for i in 0..NODES {
        let stream = open_stream(&api, &url(i), None).await;
        until_heard(&stream, "ready", |e| e.iter().any(|e| e.event == "ready")).await;
        streams.push(stream);
    }

    // A message taken in through node 1 reaches the streams and live figures of nodes 2 and 3.
    let acked = Arc::new(Acked::default());
    let first = deliveries(&[0], 0, 1);
    let first_body = first[0].body.clone();
    let (status, text) = api
        .send(
            client
                .post(format!("{}/webhooks/meta", url(0)))
                .header("content-type", "application/json")
                .header(
                    "x-hub-signature-256",
                    sign(APP_SECRET.as_bytes(), &first_body),
                )
                .body(first_body),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    acked
        .messages
        .lock()
        .unwrap()
        .extend(first[0].messages.clone());
    acked.by_node.lock().unwrap()[0] += 1;
    for (i, stream) in streams.iter().enumerate() {
        until_heard(stream, &format!("node {}: the first message", i + 1), |e| {
            e.iter()
                .any(|e| e.event == "message_created" && e.data["inbox"] == inbox)
        })
        .await;
        until_heard(stream, &format!("node {}: a pending start", i + 1), |e| {
            e.iter()
                .any(|e| e.event == "figures" && e.data["inbox"] == inbox && e.data["pending"] == 1)
        })
        .await;
    }
    log(format!(
        "the first message reached every node's stream and figures ({:?})",
        test_started.elapsed()
    ));

    let mut replies = Replies {
        made: Vec::new(),
        answered: HashSet::new(),
        customers: HashMap::new(),
        by_node: [0; NODES],
        turn: 0,
    };
    // Customers write in groups; agents answer a group, through every node, while the next
    // group's messages come in. (A reply to a conversation whose customer is writing at that
    // moment can deadlock with the webhook journal's round in PostgreSQL: `reply` and `assign`
    // lock the conversation before the change feed, `take_in` the feed before its next
    // conversation. The test keeps the two apart so that it stays quick; see the report.)
    let groups: Vec<Vec<usize>> = (0..3)
        .map(|g| (g * CUSTOMERS..(g + 1) * CUSTOMERS).collect())
        .collect();
    let phase = |what: &str, replies: &Replies| {
        log(format!(
            "{what}: {} deliveries acknowledged, {} replies ({:?})",
            acked.count.load(Ordering::Relaxed) + 1,
            replies.made.len(),
            test_started.elapsed()
        ))
    };

    // Phase 1, three nodes: the first group writes.
    let posting = post_deliveries(
        client.clone(),
        Arc::clone(&urls),
        deliveries(&groups[0], 1, 2),
        Arc::clone(&acked),
        None,
    );
    taken_in(posting, &client, &url(0)).await;
    phase("phase 1", &replies);

    // Phase 2, three nodes: the second group writes while the first is answered.
    let posting = post_deliveries(
        client.clone(),
        Arc::clone(&urls),
        deliveries(&groups[1], 0, 2),
        Arc::clone(&acked),
        None,
    );
    answer(&api, &urls, &[0, 1, 2], &mut replies, &groups[0]).await;
    taken_in(posting, &client, &url(0)).await;
    phase("phase 2", &replies);

    // Conflicts: the same conversation assigned to three people, and set to three statuses,
    // on the three nodes at once; one outcome, the same on every node.
    let conflicted: Vec<i64> = replies
        .made
        .iter()
        .take(4)
        .map(|r| r.conversation)
        .collect();
    for &id in &conflicted {
        let assign = |node: usize, assignee: i64| {
            let api = api.clone();
            let base = url(node);
            async move {
                api.write(
                    &base,
                    &format!("/api/v1/conversations/{id}/assign"),
                    json!({ "assignee": assignee }),
                )
                .await
            }
        };
        let (x, y, z) = tokio::join!(
            assign(0, agents[0]),
            assign(1, agents[1]),
            assign(2, agents[2])
        );
        for (status, body) in [x, y, z] {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let status = |node: usize, status: &'static str| {
            let api = api.clone();
            let base = url(node);
            async move {
                api.write(
                    &base,
                    &format!("/api/v1/conversations/{id}/status"),
                    json!({ "status": status }),
                )
                .await
            }
        };
        let (x, y, z) = tokio::join!(status(0, "done"), status(1, "spam"), status(2, "open"));
        for (status, body) in [x, y, z] {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let mut outcomes = BTreeMap::new();
    for &id in &conflicted {
        let mut seen = Vec::new();
        for i in 0..NODES {
            let c = api
                .get(&url(i), &format!("/api/v1/conversations/{id}"))
                .await;
            seen.push((c["assignee"].clone(), c["status"].clone()));
        }
        assert!(
            seen.iter().all(|s| *s == seen[0]),
            "conversation {id}: the nodes disagree: {seen:?}"
        );
        let assignee = seen[0].0.as_i64().or_else(|| seen[0].0["id"].as_i64());
        assert!(
            assignee.is_some_and(|a| agents.contains(&a)),
            "conversation {id}: assignee {:?}",
            seen[0].0
        );
        outcomes.insert(id, seen[0].1.as_str().unwrap().to_owned());
    }
    log(format!(
        "conflicts resolved to one outcome each: {outcomes:?}"
    ));

    // Phase 3: node 3 is killed while the third group writes (some deliveries go to it), with
    // no reply in flight (a reply a dead node was sending waits for its 5-minute lease, by
    // design, so that it is not sent twice); the two others go on and answer the second group.
    until_quiet(&client, &url(0), true).await;
    let batch3 = deliveries(&groups[2], 0, 2);
    let (fire, killing) = tokio::sync::oneshot::channel();
    let posting = post_deliveries(
        client.clone(),
        Arc::clone(&urls),
        batch3.clone(),
        Arc::clone(&acked),
        Some((batch3.len() / 3, fire)),
    );
    killing.await.expect("a third of phase 3 acknowledged");
    cluster.kill(VICTIM);
    let victim_last = last_change_id(&streams[VICTIM]);
    log(format!(
        "node {} killed after {} acknowledged deliveries ({:?})",
        VICTIM + 1,
        acked.count.load(Ordering::Relaxed) + 1,
        test_started.elapsed()
    ));
    answer(&api, &urls, &[0, 1], &mut replies, &groups[1]).await;
    taken_in(posting, &client, &url(0)).await;
    until_heard(&streams[VICTIM], "the killed node's stream ends", |_| true).await;
    phase("phase 3, on two nodes", &replies);

    // Node 3 back on its port (a new one if that is taken meanwhile); its stream reconnects
    // with the last id it had.
    let old = url(VICTIM);
    let port = old.rsplit(':').next().unwrap().to_owned();
    cluster.nodes[VICTIM] = match cluster.launch(VICTIM, &format!("127.0.0.1:{port}")).await {
        Ok(node) => node,
        Err(error) => {
            log(format!("{error}; restarting on another port"));
            cluster.launch(VICTIM, "127.0.0.1:0").await.unwrap()
        }
    };
    urls.lock().unwrap()[VICTIM] = cluster.url(VICTIM);
    let reconnected = open_stream(&api, &url(VICTIM), victim_last).await;
    log(format!(
        "node {} restarted at {} ({:?})",
        VICTIM + 1,
        url(VICTIM),
        test_started.elapsed()
    ));

    // Phase 4, three nodes again: the first group writes again (not the conflicted
    // conversations, whose outcome stays as it is) while the third group is answered; then
    // the first group is answered again.
    let conflicted_customers: HashSet<usize> =
        conflicted.iter().map(|id| replies.customers[id]).collect();
    let followers: Vec<usize> = groups[0]
        .iter()
        .copied()
        .filter(|c| !conflicted_customers.contains(c))
        .collect();
    let posting = post_deliveries(
        client.clone(),
        Arc::clone(&urls),
        deliveries(&followers, 3, 1),
        Arc::clone(&acked),
        None,
    );
    answer(&api, &urls, &[0, 1, 2], &mut replies, &groups[2]).await;
    taken_in(posting, &client, &url(0)).await;
    answer(&api, &urls, &[2, 1, 0], &mut replies, &followers).await;
    until_quiet(&client, &url(0), true).await;
    log(format!(
        "phase 4: {} deliveries acknowledged in all ({:?} per node, {} retried), {} replies ({:?} per node) ({:?})",
        acked.count.load(Ordering::Relaxed) + 1,
        acked.by_node.lock().unwrap(),
        acked.retried.load(Ordering::Relaxed),
        replies.made.len(),
        replies.by_node,
        test_started.elapsed()
    ));

    // ---- Checks.
    let acked_messages = acked.messages.lock().unwrap().clone();
    let psid_of: HashMap<String, String> = acked_messages
        .iter()
        .map(|s| (s.mid.clone(), s.psid.clone()))
        .collect();
    assert_eq!(
        psid_of.len(),
        acked_messages.len(),
        "the test sent each mid once"
    );
    assert!(
        acked.by_node.lock().unwrap().iter().all(|&n| n > 0),
        "every node took deliveries"
    );
    assert!(
        replies.by_node.iter().all(|&n| n > 0),
        "replies went through every node"
    );

    // Every reply reached the Graph API exactly once.
    let sent = graph.sent();
    let mut by_text: HashMap<String, Vec<&Value>> = HashMap::new();
    for call in &sent {
        let text = call["message"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        by_text.entry(text).or_default().push(call);
    }
    let metadata: HashSet<&str> = sent
        .iter()
        .filter_map(|c| c["message"]["metadata"].as_str())
        .collect();
    assert_eq!(
        sent.len(),
        replies.made.len(),
        "Send API calls for the replies made"
    );
    assert_eq!(metadata.len(), sent.len(), "each outbox entry sent once");
    for reply in &replies.made {
        let calls = by_text.get(&reply.text).map_or(0, Vec::len);
        assert_eq!(calls, 1, "{:?} was sent {calls} times", reply.text);
    }

    // The conversations: every acknowledged message stored once, every reply sent, the same
    // on every node; and the echoes of the replies.
    let listed: Vec<Vec<Value>> = {
        let mut lists = Vec::new();
        for i in 0..NODES {
            lists.push(api.conversations(&url(i), "").await);
        }
        lists
    };
    for (i, list) in listed.iter().enumerate().skip(1) {
        assert_eq!(
            list,
            &listed[0],
            "node {}'s conversations differ from node 1's",
            i + 1
        );
    }
    let mut stored_mids: BTreeMap<String, usize> = BTreeMap::new();
    let mut message_ids = HashSet::new();
    let mut customer_at: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut echoes = Vec::new();
    let reply_texts: HashMap<&str, i64> = replies
        .made
        .iter()
        .map(|r| (r.text.as_str(), r.conversation))
        .collect();
    for (n, conversation) in listed[0].iter().enumerate() {
        let id = conversation["id"].as_i64().unwrap();
        let detail = api
            .get(&url(n % NODES), &format!("/api/v1/conversations/{id}"))
            .await;
        let mut psids = BTreeSet::new();
        for m in detail["messages"].as_array().unwrap() {
            message_ids.insert(m["id"].as_i64().unwrap());
            let mid = m["channel_message_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            match m["author"].as_str().unwrap() {
                "customer" => {
                    psids.insert(psid_of.get(&mid).cloned().unwrap_or_default());
                    *stored_mids.entry(mid).or_default() += 1;
                    customer_at
                        .entry(id.to_string())
                        .or_default()
                        .push(m["at"].as_str().unwrap().to_owned());
                }
                "agent" => {
                    assert_eq!(m["delivery"]["state"], "sent", "{m}");
                    let text = m["text"].as_str().unwrap();
                    assert_eq!(
                        reply_texts.get(text),
                        Some(&id),
                        "an agent message not made here: {m}"
                    );
                    let call = by_text[text][0];
                    let psid = call["recipient"]["id"].as_str().unwrap().to_owned();
                    assert!(
                        psids.contains(&psid),
                        "{text:?} went to {psid}, not {psids:?}"
                    );
                    echoes.push(echo(
                        PAGE,
                        &psid,
                        &mid,
                        text,
                        Some(APP_ID),
                        call["message"]["metadata"].as_str(),
                        pronto_loadtest::now_ms(),
                    ));
                }
                other => panic!("author {other}: {m}"),
            }
        }
        assert_eq!(
            psids.len(),
            1,
            "conversation {id} mixes customers: {psids:?}"
        );
    }
    assert_eq!(
        echoes.len(),
        replies.made.len(),
        "every reply is stored, once"
    );
    let duplicated: Vec<_> = stored_mids.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        duplicated.is_empty(),
        "stored more than once: {duplicated:?}"
    );
    let missing: Vec<_> = psid_of
        .keys()
        .filter(|m| !stored_mids.contains_key(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged and not stored: {missing:?}"
    );
    assert_eq!(
        stored_mids.len(),
        psid_of.len(),
        "no message but those sent"
    );

    // The exported log, the same from every node.
    let export = |i: usize| {
        let api = api.clone();
        let base = url(i);
        async move {
            let (status, text) = api
                .get_text(&base, &format!("/api/v1/inboxes/{inbox}/events.jsonl"))
                .await;
            assert_eq!(status, StatusCode::OK, "{text}");
            text
        }
    };
    let before_echoes = export(0).await;

    // Meta echoes every reply; delivered through any node, an echo is the same message.
    let echo_deliveries: Vec<Delivery> = echoes
        .chunks(2)
        .map(|events| Delivery {
            body: batch(
                "page",
                events
                    .iter()
                    .map(|e| (PAGE.to_owned(), pronto_loadtest::now_ms(), vec![e.clone()]))
                    .collect(),
            ),
            messages: Vec::new(),
        })
        .collect();
    post_deliveries(
        client.clone(),
        Arc::clone(&urls),
        echo_deliveries,
        Arc::new(Acked::default()),
        None,
    )
    .await
    .unwrap();
    until_quiet(&client, &url(0), true).await;

    let mut logs = Vec::new();
    for i in 0..NODES {
        logs.push(export(i).await);
    }
    for (i, text) in logs.iter().enumerate() {
        assert!(
            *text == logs[0],
            "node {}'s log differs from node 1's:\n{text}\n---\n{}",
            i + 1,
            logs[0]
        );
    }
    assert!(
        logs[0] == before_echoes,
        "the echoes changed the log:\n{}\n---\n{before_echoes}",
        logs[0]
    );
    let lines: Vec<Value> = logs[0]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut logged_customer_at: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut agent_lines = 0;
    for line in &lines {
        if line["type"] == "message" {
            match line["author"].as_str().unwrap() {
                "customer" => logged_customer_at
                    .entry(line["conversation"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(line["at"].as_str().unwrap().to_owned()),
                "agent" => agent_lines += 1,
                other => panic!("author {other} in the log"),
            }
        }
    }
    for ats in customer_at
        .values_mut()
        .chain(logged_customer_at.values_mut())
    {
        ats.sort();
    }
    assert_eq!(
        logged_customer_at, customer_at,
        "the log's customer messages are the stored ones"
    );
    assert_eq!(
        agent_lines,
        replies.made.len(),
        "each reply in the log once"
    );
    // The conflicts' outcome is the log's last word on those conversations.
    for (id, status) in &outcomes {
        let last = lines
            .iter()
            .rev()
            .find(|l| {
                l["type"] == "status" && l["conversation"].as_str() == Some(id.to_string().as_str())
            })
            .map_or("open", |l| l["status"].as_str().unwrap());
        assert_eq!(
            last, status,
            "conversation {id}: the log and the state disagree"
        );
    }

    // The figures: the same from every node (each node's own live badge), the same as `pronto
    // badge` over the exported log at the same instant, and the same as each stream's latest.
    let mut reports = Vec::new();
    for i in 0..NODES {
        reports.push(
            api.get(&url(i), &format!("/api/v1/inboxes/{inbox}/responsiveness"))
                .await,
        );
    }
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(
            timeless(report),
            timeless(&reports[0]),
            "node {}'s figures differ from node 1's",
            i + 1
        );
    }
    let audit = {
        let at = reports[0]["evaluated_at"].as_str().unwrap().to_owned();
        let mut command = cluster.command(&["badge", "-", "--json", "--at", &at]);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let text = logs[0].clone();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    };
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let audited: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(
        audited, reports[0],
        "pronto badge over the log gives node 1's figures"
    );

    let live = [&streams[0], &streams[1], &reconnected];
    let expected = bare_figures(&reports[0]);
    for (i, stream) in live.iter().enumerate() {
        let latest = || {
            stream
                .lock()
                .unwrap()
                .events
                .iter()
                .rev()
                .find(|e| e.event == "figures" && e.data["inbox"] == inbox)
                .map(|f| bare_figures(&f.data))
        };
        let started = Instant::now();
        while latest().as_ref() != Some(&expected) {
            assert!(
                started.elapsed() < DEADLINE,
                "node {}'s stream: latest figures {:?}, expected {expected}",
                i + 1,
                latest()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Every message reached every stream: nodes 1 and 2 heard all of them live; node 3 heard
    // them live before it was killed and from the feed after.
    for (i, stream) in streams.iter().enumerate().take(2) {
        let heard = created_messages(&stream.lock().unwrap().events);
        let missed: Vec<_> = message_ids.difference(&heard).collect();
        assert!(
            missed.is_empty(),
            "node {}'s stream missed messages {missed:?}",
            i + 1
        );
    }
    let mut heard = created_messages(&streams[VICTIM].lock().unwrap().events);
    heard.extend(created_messages(&reconnected.lock().unwrap().events));
    let missed: Vec<_> = message_ids.difference(&heard).collect();
    assert!(
        missed.is_empty(),
        "node {}'s streams (before and after its restart) missed messages {missed:?}",
        VICTIM + 1
    );
    assert!(streams[VICTIM].lock().unwrap().ended);

    log(format!(
        "{} customer messages, {} replies sent once each, {} log lines, the same on 3 nodes; \
         {} agents' writes answered 503 and made again: done in {:?}",
        psid_of.len(),
        replies.made.len(),
        lines.len(),
        api.unavailable.load(Ordering::Relaxed),
        test_started.elapsed()
    ));
    drop(cluster);
    drop(graph);
    drop(database);
}
