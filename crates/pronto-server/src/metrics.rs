//! `/metrics` in the Prometheus text format: requests and their latency per route, ingest and
//! send counts, the outbox's depth and every inbox's badge figures. Hand-written (a few
//! counters and one histogram do not need a metrics crate).

use pronto_badge::Figures;
use pronto_core::{InboxId, WorkspaceId};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    ingested: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    sent: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    webhook_events: Mutex<BTreeMap<(&'static str, String, &'static str), u64>>,
    failed_logins: AtomicU64,
    sse_clients: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        *self
            .requests
            .lock()
            .expect("metrics")
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let mut latency = self.latency.lock().expect("metrics");
        let histogram = latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        for (slot, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// An ingested message: `result` is `stored` or `duplicate`.
    pub fn record_ingest(&self, channel: &'static str, result: &'static str) {
        *self
            .ingested
            .lock()
            .expect("metrics")
            .entry((channel, result))
            .or_default() += 1;
    }

    /// A finished send: `outcome` is `accepted`, `retry` or `failed`.
    pub fn record_send(&self, channel: &'static str, outcome: &'static str) {
        *self
            .sent
            .lock()
            .expect("metrics")
            .entry((channel, outcome))
            .or_default() += 1;
    }

    /// One event of a channel's webhook delivery: its `source` (`page`, `instagram`), its
    /// kind as the channel names it (`message`, `echo`, `reaction`, ...) and what became of
    /// it (`stored`, `duplicate`, `confirmed`, `ignored`, `unknown_kind`, `unknown_account`,
    /// `bad_signature`, ...). Kinds Pronto does not know are counted here, never an error.
    pub fn record_webhook_event(&self, source: &'static str, kind: &str, outcome: &'static str) {
        // Kinds come from the sender; bound what a label may hold.
        let kind: String = kind
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        *self
            .webhook_events
            .lock()
            .expect("metrics")
            .entry((source, kind, outcome))
            .or_default() += 1;
    }

    pub fn record_failed_login(&self) {
        self.failed_logins.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sse_connected(&self) {
        self.sse_clients.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sse_disconnected(&self) {
        self.sse_clients.fetch_sub(1, Ordering::Relaxed);
    }

    /// The whole exposition. `figures`: every live inbox's current figures.
    pub fn render(
        &self,
        outbox_depth: Option<u64>,
        figures: &[(WorkspaceId, InboxId, Figures)],
    ) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP pronto_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE pronto_http_requests_total counter\n");
        for ((method, route, status), count) in self.requests.lock().expect("metrics").iter() {
            let _ = writeln!(
                out,
                "pronto_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP pronto_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE pronto_http_request_duration_seconds histogram\n");
        for ((method, route), histogram) in self.latency.lock().expect("metrics").iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                let _ = writeln!(
                    out,
                    "pronto_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "pronto_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "pronto_http_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "pronto_http_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
        out.push_str(
            "# HELP pronto_ingested_messages_total Messages received from channels, by result.\n",
        );
        out.push_str("# TYPE pronto_ingested_messages_total counter\n");
        for ((channel, result), count) in self.ingested.lock().expect("metrics").iter() {
            let _ = writeln!(
                out,
                "pronto_ingested_messages_total{{channel=\"{channel}\",result=\"{result}\"}} {count}"
            );
        }
        out.push_str("# HELP pronto_sent_replies_total Replies handed to channels, by outcome.\n");
        out.push_str("# TYPE pronto_sent_replies_total counter\n");
        for ((channel, outcome), count) in self.sent.lock().expect("metrics").iter() {
            let _ = writeln!(
                out,
                "pronto_sent_replies_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP pronto_webhook_events_total Events of channels' webhook deliveries, by kind and outcome.\n",
        );
        out.push_str("# TYPE pronto_webhook_events_total counter\n");
        for ((source, kind, outcome), count) in self.webhook_events.lock().expect("metrics").iter()
        {
            let _ = writeln!(
                out,
                "pronto_webhook_events_total{{source=\"{source}\",kind=\"{kind}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP pronto_failed_logins_total Refused logins (bad password or rate limited).\n",
        );
        out.push_str("# TYPE pronto_failed_logins_total counter\n");
        let _ = writeln!(
            out,
            "pronto_failed_logins_total {}",
            self.failed_logins.load(Ordering::Relaxed)
        );
        out.push_str("# HELP pronto_sse_clients Connected Server-Sent Events streams.\n");
        out.push_str("# TYPE pronto_sse_clients gauge\n");
        let _ = writeln!(
            out,
            "pronto_sse_clients {}",
            self.sse_clients.load(Ordering::Relaxed)
        );
        if let Some(depth) = outbox_depth {
            out.push_str("# HELP pronto_outbox_depth Replies waiting in the outbox.\n");
            out.push_str("# TYPE pronto_outbox_depth gauge\n");
            let _ = writeln!(out, "pronto_outbox_depth {depth}");
        }
        type Gauge = (&'static str, &'static str, fn(&Figures) -> Option<f64>);
        let gauges: [Gauge; 6] = [
            (
                "pronto_badge_held",
                "1 when the inbox holds the badge.",
                |f| Some(if f.badge { 1.0 } else { 0.0 }),
            ),
            (
                "pronto_badge_response_rate",
                "The response rate over the window.",
                |f| f.window.response_rate(),
            ),
            (
                "pronto_badge_response_time_seconds",
                "The response time over the window (mean of the fastest 90%).",
                |f| f.window.response_time_seconds(),
            ),
            (
                "pronto_badge_window_starts",
                "Settled starts in the window.",
                |f| Some(f.window.starts as f64),
            ),
            (
                "pronto_badge_pending",
                "Starts waiting within the reply window.",
                |f| Some(f.pending as f64),
            ),
            (
                "pronto_badge_excluded",
                "Starts left out (spam, done, away).",
                |f| Some((f.excluded.spam + f.excluded.done + f.excluded.away) as f64),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (workspace, inbox, figures) in figures {
                if let Some(v) = value(figures) {
                    let _ = writeln!(
                        out,
                        "{name}{{workspace=\"{workspace}\",inbox=\"{inbox}\"}} {v}"
                    );
                }
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_requests_in_buckets() {
        let metrics = Metrics::default();
        metrics.record_request("GET", "/api/v1/inboxes", 200, Duration::from_millis(3));
        metrics.record_request("GET", "/api/v1/inboxes", 200, Duration::from_millis(30));
        metrics.record_ingest("playground", "stored");
        let text = metrics.render(Some(2), &[]);
        assert!(text.contains(
            "pronto_http_requests_total{method=\"GET\",route=\"/api/v1/inboxes\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.05\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains(
            "pronto_ingested_messages_total{channel=\"playground\",result=\"stored\"} 1"
        ));
        assert!(text.contains("pronto_outbox_depth 2"));
    }
}
