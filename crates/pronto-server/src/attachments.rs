//! Keeping channels' attachments: Meta's attachment URLs expire, so each file is fetched once
//! (at most `PRONTO_META_ATTACHMENT_LIMIT` bytes) and kept in the database, and the message's
//! attachment then points to `/api/v1/files/{id}`. The queue of files to fetch is written with
//! the message, so a restart loses none.

use crate::app::App;
use pronto_badge::Millis;
use pronto_badge::time::{MINUTE, SECOND};
use pronto_core::store::{AttachmentFetch, FetchOutcome, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Tries before an attachment keeps the channel's URL for good.
pub const MAX_ATTEMPTS: u32 = 6;
const CLAIM: u32 = 8;
const POLL: Duration = Duration::from_secs(2);

pub fn spawn_fetcher<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("the HTTP client builds with static settings");
        let limit = app.settings.meta.attachment_limit;
        loop {
            if app.is_shutting_down() {
                break;
            }
            let claimed = match app.store.claim_attachment_fetches(CLAIM, app.now()).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "attachments: cannot claim");
                    Vec::new()
                }
            };
            let busy = claimed.len() as u32 == CLAIM;
            for fetch in claimed {
                let outcome = fetch_one(&http, &fetch, limit, app.now()).await;
                match app
                    .store
                    .finish_attachment_fetch(&fetch, &outcome, app.now())
                    .await
                {
                    Ok(changes) => app.publish(changes),
                    Err(error) => {
                        tracing::warn!(message = %fetch.message, %error, "attachments: cannot record the fetch")
                    }
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = app.attachment_signal.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = app.shutdown_started() => break,
            }
        }
    })
}

/// Fetches one attachment, refusing anything over `limit` bytes.
pub async fn fetch_one(
    http: &reqwest::Client,
    fetch: &AttachmentFetch,
    limit: usize,
    now: Millis,
) -> FetchOutcome {
    let retry = |reason: String| {
        if fetch.attempts >= MAX_ATTEMPTS {
            FetchOutcome::GiveUp {
                reason: format!("gave up after {} attempts: {reason}", fetch.attempts),
            }
        } else {
            let backoff = (5 * SECOND) << fetch.attempts.min(8);
            FetchOutcome::Retry {
                at: now + backoff.min(30 * MINUTE),
            }
        }
    };
    let mut response = match http.get(&fetch.url).send().await {
        Ok(response) => response,
        Err(error) => return retry(error.without_url().to_string()),
    };
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return retry(format!("HTTP {status}"));
    }
    if !status.is_success() {
        // Expired or gone: retrying will not bring it back.
        return FetchOutcome::GiveUp {
            reason: format!("the channel answered HTTP {status}"),
        };
    }
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return FetchOutcome::GiveUp {
            reason: format!("larger than the {limit}-byte limit"),
        };
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() < 200)
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > limit {
                    return FetchOutcome::GiveUp {
                        reason: format!("larger than the {limit}-byte limit"),
                    };
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(error) => return retry(error.without_url().to_string()),
        }
    }
    FetchOutcome::Kept {
        content_type,
        bytes,
    }
}
