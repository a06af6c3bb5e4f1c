//! The webhook load generator: signed Meta `page` deliveries POSTed to Pronto, with the
//! throughput of acknowledged messages and the latency of each POST.
//!
//! - **Closed loop** (`rate = 0`): each connection sends its next POST as soon as the last is
//!   answered; this finds the maximum rate. Latency runs from send to answer.
//! - **Open loop** (`rate > 0`): POST `n` is due at `start + n × per_post / rate`, whether or not
//!   earlier ones are answered, and its latency runs from that due time. A stalled server then
//!   shows as long latencies for every POST that waited, not as one slow POST among few
//!   (the "coordinated omission" of closed-loop tools). Tokio's timer has a 1 ms resolution,
//!   so a POST may leave up to about 1 ms after its due time, and that lag is counted in its
//!   latency (against a server that does nothing, the open loop's p50 is ~0.5 ms above the
//!   closed loop's).
//!
//! Every message has a unique `mid` (`m_<run>_<n>`), so that the server stores each; a POST
//! answered 200 is acknowledged, and with an acknowledgement file its mids are appended there
//! (flushed per POST) for [`crate::db::count`] to check later.

use crate::{TEXTS, now_ms, payload};
use axum::body::Bytes;
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to send, how fast and for how long.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server's base URL; deliveries go to `{url}/webhooks/meta`. Several nodes:
    /// comma-separated, each POST to the next one in turn (as a load balancer would).
    pub url: String,
    /// The Meta app secret the server checks signatures with.
    pub secret: String,
    /// The Page whose customers write.
    pub page_id: String,
    /// Messages per second (open loop); 0 sends as fast as answers come (closed loop).
    pub rate: u64,
    pub duration: Duration,
    /// Messages per POST (one entry each, as Meta batches).
    pub per_post: usize,
    /// Concurrent keep-alive connections (and POSTs in flight).
    pub connections: usize,
    /// Distinct customers (PSIDs) writing.
    pub customers: u64,
    /// Where to append acknowledged mids.
    pub acked: Option<PathBuf>,
    /// How many times a POST not answered 200 is sent again (same body, as Meta retries).
    pub retries: u32,
    /// How long a POST may take before it counts as a transport error.
    pub timeout: Duration,
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub elapsed: Duration,
    /// POSTs started (first attempts).
    pub posts: u64,
    /// Open loop: the POSTs due within the duration. More than `posts` when the server fell
    /// behind: the rest were still waiting for a connection at the end.
    pub due_posts: Option<u64>,
    pub acked_posts: u64,
    pub acked_messages: u64,
    /// Answers other than 200, by status, over all attempts.
    pub statuses: BTreeMap<u16, u64>,
    /// Attempts that got no answer (refused, reset, timed out).
    pub transport_errors: u64,
    /// Attempts beyond the first.
    pub retries: u64,
    /// Latency of acknowledged POSTs, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

/// The value at quantile `q` (0.5 for the median) of `sorted`: the nearest rank.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

impl Report {
    /// Acknowledged messages per second.
    pub fn throughput(&self) -> f64 {
        self.acked_messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0.5 for the median), in microseconds.
    pub fn percentile_us(&self, q: f64) -> u64 {
        quantile(&self.latencies_us, q).unwrap_or(0)
    }

    /// The summary as one JSON object.
    pub fn to_json(&self, options: &Options) -> serde_json::Value {
        let ms = |q| self.percentile_us(q) as f64 / 1000.0;
        serde_json::json!({
            "mode": if options.rate == 0 { "closed" } else { "open" },
            "rate": options.rate,
            "per_post": options.per_post,
            "connections": options.connections,
            "seconds": self.elapsed.as_secs_f64(),
            "posts": self.posts,
            "due_posts": self.due_posts,
            "acked_posts": self.acked_posts,
            "acked_messages": self.acked_messages,
            "messages_per_second": self.throughput(),
            "latency_ms": {
                "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "p99.9": ms(0.999),
                "max": self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            },
            "statuses": self.statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect::<BTreeMap<_, _>>(),
            "transport_errors": self.transport_errors,
            "retries": self.retries,
        })
    }

    /// A plain summary for people.
    pub fn summary(&self, options: &Options) -> String {
        let ms = |us: u64| format!("{:.2} ms", us as f64 / 1000.0);
        let mode = if options.rate == 0 {
            "closed loop".to_owned()
        } else {
            format!("open loop at {}/s", options.rate)
        };
        let mut out = format!(
            "webhooks: {mode}, {} per POST, {} connections, {:.1} s\n",
            options.per_post,
            options.connections,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  acknowledged: {} messages in {} of {} POSTs: {:.0} messages/s",
            self.acked_messages,
            self.acked_posts,
            self.posts,
            self.throughput()
        );
        let _ = writeln!(
            out,
            "  latency to 200: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            ms(self.percentile_us(0.5)),
            ms(self.percentile_us(0.9)),
            ms(self.percentile_us(0.99)),
            ms(self.percentile_us(0.999)),
            ms(self.latencies_us.last().copied().unwrap_or(0)),
        );
        if let Some(due) = self.due_posts.filter(|&due| due > self.posts) {
            let _ = writeln!(
                out,
                "  behind: only {} of the {due} POSTs due were sent ({:.1}%): the server did not keep up",
                self.posts,
                100.0 * self.posts as f64 / due as f64
            );
        }
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect();
        let _ = write!(
            out,
            "  not 200: {}; transport errors: {}; retries: {}",
            if statuses.is_empty() {
                "none".to_owned()
            } else {
                statuses.join(", ")
            },
            self.transport_errors,
            self.retries
        );
        out
    }
}

/// The parts of every body that do not change, JSON-escaped once.
struct Template {
    run: String,
    page_json: String,
    texts_json: Vec<String>,
    customers: u64,
}

impl Template {
    fn new(page_id: &str, customers: u64) -> Template {
        let json = |s: &str| serde_json::to_string(s).expect("a string serializes");
        Template {
            run: format!("{:08x}", rand::random::<u32>()),
            page_json: json(page_id),
            texts_json: TEXTS.iter().map(|t| json(t)).collect(),
            customers: customers.max(1),
        }
    }

    fn mid(&self, n: u64) -> String {
        format!("m_{}_{n}", self.run)
    }

    /// PSIDs look like Meta's: 16 digits, the same for a customer from run to run.
    fn psid(&self, n: u64) -> u64 {
        7_000_000_000_000_000 + n % self.customers
    }

    /// The body of messages `first..first + count`, as [`payload::batch`] of
    /// [`payload::message`]s would build it, without building JSON values.
    fn body(&self, first: u64, count: usize, time_ms: u64) -> Vec<u8> {
        let mut body = String::with_capacity(64 + count * 260);
        body.push_str(r#"{"object":"page","entry":["#);
        for n in first..first + count as u64 {
            if n != first {
                body.push(',');
            }
            let text = &self.texts_json[(n % self.texts_json.len() as u64) as usize];
            let _ = write!(
                body,
                r#"{{"id":{page},"time":{time_ms},"messaging":[{{"sender":{{"id":"{psid}"}},"recipient":{{"id":{page}}},"timestamp":{time_ms},"message":{{"mid":"{mid}","text":{text}}}}}]}}"#,
                page = self.page_json,
                psid = self.psid(n),
                mid = self.mid(n),
            );
        }
        body.push_str("]}");
        body.into_bytes()
    }
}

/// One connection's tallies, merged at the end (no sharing in the hot path).
#[derive(Default)]
struct Tally {
    posts: u64,
    acked_posts: u64,
    acked_messages: u64,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    retries: u64,
    latencies_us: Vec<u64>,
}

struct Shared {
    options: Options,
    template: Template,
    client: reqwest::Client,
    endpoints: Vec<String>,
    next_post: AtomicU64,
    /// Acknowledged messages so far, for the progress bar.
    acked: AtomicU64,
    stop: AtomicBool,
    acked_file: Option<Mutex<std::io::BufWriter<std::fs::File>>>,
    start: tokio::time::Instant,
}

/// Runs the load described by `options`; `progress` shows acknowledged messages.
pub async fn run(options: Options, progress: &ProgressBar) -> std::io::Result<Report> {
    let connections = options.connections.max(1);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .http1_only()
        .timeout(options.timeout)
        .build()
        .map_err(std::io::Error::other)?;
    let acked_file = match &options.acked {
        Some(path) => Some(Mutex::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ))),
        None => None,
    };
    let shared = Arc::new(Shared {
        template: Template::new(&options.page_id, options.customers),
        endpoints: options
            .url
            .split(',')
            .map(|url| format!("{}/webhooks/meta", url.trim().trim_end_matches('/')))
            .collect(),
        options,
        client,
        next_post: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        acked_file,
        start: tokio::time::Instant::now(),
    });
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(Arc::clone(&shared))))
        .collect();
    let deadline = shared.start + shared.options.duration;
    progress.set_length(shared.options.duration.as_secs().max(1));
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    while tokio::time::Instant::now() < deadline {
        tick.tick().await;
        let elapsed = shared.start.elapsed();
        progress.set_position(elapsed.as_secs().min(shared.options.duration.as_secs()));
        let acked = shared.acked.load(Ordering::Relaxed);
        progress.set_message(format!(
            "{acked} acked, {:.0}/s",
            acked as f64 / elapsed.as_secs_f64().max(1e-3)
        ));
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut report = Report::default();
    for worker in workers {
        let tally = worker.await.map_err(std::io::Error::other)?;
        report.posts += tally.posts;
        report.acked_posts += tally.acked_posts;
        report.acked_messages += tally.acked_messages;
        report.transport_errors += tally.transport_errors;
        report.retries += tally.retries;
        for (status, n) in tally.statuses {
            *report.statuses.entry(status).or_default() += n;
        }
        report.latencies_us.extend(tally.latencies_us);
    }
    // POSTs still in flight at the deadline are waited for and counted: the run lasts until
    // the last answer.
    report.elapsed = shared.start.elapsed();
    report.latencies_us.sort_unstable();
    if shared.options.rate > 0 {
        let posts_per_second = shared.options.rate as f64 / shared.options.per_post.max(1) as f64;
        report.due_posts =
            Some((shared.options.duration.as_secs_f64() * posts_per_second).ceil() as u64);
    }
    if let Some(file) = &shared.acked_file {
        file.lock().unwrap_or_else(|e| e.into_inner()).flush()?;
    }
    Ok(report)
}

async fn worker(shared: Arc<Shared>) -> Tally {
    let options = &shared.options;
    let per_post = options.per_post.max(1);
    let secret = options.secret.as_bytes();
    let deadline = shared.start + options.duration;
    // Open loop: the interval between POSTs that keeps the message rate.
    let interval =
        (options.rate > 0).then(|| Duration::from_secs_f64(per_post as f64 / options.rate as f64));
    let mut tally = Tally::default();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let n = shared.next_post.fetch_add(1, Ordering::Relaxed);
        let due = match interval {
            Some(interval) => {
                let due = shared.start + interval.mul_f64(n as f64);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due).await;
                due
            }
            None => {
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
        };
        tally.posts += 1;
        let first = n * per_post as u64;
        let body = Bytes::from(shared.template.body(first, per_post, now_ms()));
        let signature = payload::sign(secret, &body);
        let mut attempt = 0;
        loop {
            // A retry goes to the next node, as Meta's would through a load balancer.
            let endpoint =
                &shared.endpoints[(n as usize + attempt as usize) % shared.endpoints.len()];
            let sent = shared
                .client
                .post(endpoint)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", &signature)
                .body(body.clone())
                .send()
                .await;
            let acked = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    // Read the answer to the end so that the connection is reused.
                    let _ = response.bytes().await;
                    if status != 200 {
                        *tally.statuses.entry(status).or_default() += 1;
                    }
                    status == 200
                }
                Err(_) => {
                    tally.transport_errors += 1;
                    false
                }
            };
            if acked {
                let latency = due.elapsed();
                tally.latencies_us.push(latency.as_micros() as u64);
                tally.acked_posts += 1;
                tally.acked_messages += per_post as u64;
                shared.acked.fetch_add(per_post as u64, Ordering::Relaxed);
                if let Some(file) = &shared.acked_file {
                    record(file, &shared.template, first, per_post);
                }
                break;
            }
            if attempt >= options.retries {
                // Without retries, a down server must not be hammered in a tight loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
                break;
            }
            attempt += 1;
            tally.retries += 1;
            // Meta retries with backoff; shorter here so that a run's retries fit its time.
            let backoff = Duration::from_millis(50 << attempt.min(5));
            tokio::time::sleep(backoff).await;
        }
    }
    tally
}

/// Appends the mids of an acknowledged POST, flushed so that they survive this process.
fn record(
    file: &Mutex<std::io::BufWriter<std::fs::File>>,
    template: &Template,
    first: u64,
    count: usize,
) {
    let mut lines = String::with_capacity(count * 24);
    for n in first..first + count as u64 {
        lines.push_str(&template.mid(n));
        lines.push('\n');
    }
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = file.write_all(lines.as_bytes()).and_then(|()| file.flush()) {
        eprintln!("pronto-loadtest: cannot record acknowledged mids: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn fast_bodies_equal_the_payload_builders() {
        let template = Template::new("1001", 3);
        let body: Value = serde_json::from_slice(&template.body(10, 2, 1_700_000_000_000)).unwrap();
        let expected: Value = serde_json::from_slice(&payload::batch(
            "page",
            (10..12)
                .map(|n| {
                    let text = TEXTS[n as usize % TEXTS.len()];
                    let psid = template.psid(n).to_string();
                    let event =
                        payload::message("1001", &psid, &template.mid(n), text, 1_700_000_000_000);
                    ("1001".to_owned(), 1_700_000_000_000, vec![event])
                })
                .collect(),
        ))
        .unwrap();
        assert_eq!(body, expected);
    }

    #[test]
    fn percentiles_pick_ranks() {
        let report = Report {
            latencies_us: (1..=1000).collect(),
            ..Report::default()
        };
        assert_eq!(report.percentile_us(0.5), 500);
        assert_eq!(report.percentile_us(0.99), 990);
        assert_eq!(report.percentile_us(0.999), 999);
        assert_eq!(report.percentile_us(1.0), 1000);
    }
}
