//! What an agent's screen asks a server with a big workspace, timed: every view of the
//! conversation list (all inboxes and one inbox, urgency or activity order), its first page and
//! a page deep behind a cursor, the view counts and an inbox's responsiveness. One request at
//! a time, so that each latency is the server's work for one screen, not a queue.

use indicatif::ProgressBar;
use std::time::{Duration, Instant};

/// What to measure.
pub struct ReadSettings {
    pub url: String,
    pub token: String,
    /// The inbox whose responsiveness is asked, and whose views are listed on their own.
    pub inbox: i64,
    /// Requests per measured endpoint.
    pub samples: usize,
    /// How many pages deep the deep page is.
    pub depth: usize,
    /// Rows per page.
    pub limit: u32,
}

/// Latencies of one endpoint.
pub struct Measured {
    pub name: String,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

const VIEWS: [(&str, &str); 6] = [
    ("unanswered", "waiting=true"),
    ("mine", "status=open&assignee=me"),
    ("unassigned", "status=open&assignee=none"),
    ("open", "status=open"),
    ("done", "status=done&order=activity"),
    ("spam", "status=spam&order=activity"),
];

/// Runs every measurement; `Err` names the request that failed.
pub async fn measure(settings: &ReadSettings) -> Result<Vec<Measured>, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let base = settings.url.trim_end_matches('/');
    let mut paths: Vec<(String, String, Option<String>)> = Vec::new();
    for scope in [None, Some(settings.inbox)] {
        for (view, query) in VIEWS {
            let scope_name = scope.map_or("all inboxes".to_owned(), |i| format!("inbox {i}"));
            let inbox = scope.map_or(String::new(), |i| format!("&inbox={i}"));
            let first = format!(
                "/api/v1/conversations?{query}{inbox}&limit={}",
                settings.limit
            );
            paths.push((
                format!("{view}, {scope_name}, first page"),
                first.clone(),
                None,
            ));
            if let Some(cursor) = deep_cursor(&client, base, settings, &first).await? {
                paths.push((
                    format!("{view}, {scope_name}, page {}", settings.depth + 1),
                    first,
                    Some(cursor),
                ));
            }
        }
    }
    paths.push((
        "counts, all inboxes".into(),
        "/api/v1/conversations/counts".into(),
        None,
    ));
    paths.push((
        format!("counts, inbox {}", settings.inbox),
        format!("/api/v1/conversations/counts?inbox={}", settings.inbox),
        None,
    ));
    paths.push((
        format!("responsiveness, inbox {}", settings.inbox),
        format!("/api/v1/inboxes/{}/responsiveness", settings.inbox),
        None,
    ));
    let bar = ProgressBar::new((paths.len() * settings.samples) as u64);
    let mut results = Vec::new();
    for (name, path, cursor) in paths {
        let mut times = Vec::with_capacity(settings.samples);
        for _ in 0..settings.samples {
            let started = Instant::now();
            get(&client, base, &settings.token, &path, cursor.as_deref()).await?;
            times.push(started.elapsed());
            bar.inc(1);
        }
        times.sort();
        let at = |q: f64| crate::webhooks::quantile(&times, q).expect("samples");
        results.push(Measured {
            name,
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        });
    }
    bar.finish_and_clear();
    Ok(results)
}

/// The cursor of the page `depth` pages after the first, if the view is that long.
async fn deep_cursor(
    client: &reqwest::Client,
    base: &str,
    settings: &ReadSettings,
    first: &str,
) -> Result<Option<String>, String> {
    let mut cursor: Option<String> = None;
    for _ in 0..settings.depth {
        let page = get(client, base, &settings.token, first, cursor.as_deref()).await?;
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(None),
        }
    }
    Ok(cursor)
}

async fn get(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    cursor: Option<&str>,
) -> Result<serde_json::Value, String> {
    let mut url =
        reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| format!("{path}: {e}"))?;
    if let Some(cursor) = cursor {
        url.query_pairs_mut().append_pair("cursor", cursor);
    }
    let response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {path}: not JSON: {e}"))
}
