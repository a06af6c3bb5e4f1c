//! The outbox's sender for Messenger and Instagram: the Send API, with the 24-hour window
//! checked before the call and Meta's errors classified after it.
//!
//! The Send API is not idempotent. The outbox marks an entry `sending` before this is called;
//! a node that dies mid-call leaves the entry `sending` until its lease runs out, and in that
//! time the echo of the message (its `metadata` names the entry) confirms it if Meta did send
//! it. Only when no echo came within the lease is it sent again: a duplicate needs Meta to
//! have sent the message and its echo to be lost or later than the lease.

use super::MetaInbox;
use super::graph::{CallError, GraphClient};
use crate::crypto::SecretKey;
use crate::workers::{SendJob, Sender, Sent};
use futures_util::future::BoxFuture;
use pronto_badge::Millis;
use pronto_badge::time::{MINUTE, SECOND};
use pronto_channels::meta_api::{ErrorClass, classify, messaging_type, outbox_metadata, send_body};
use pronto_core::ChannelKind;
use pronto_core::store::SendOutcome;

/// Transient failures are retried this many times (backing off), then the reply fails.
pub const MAX_ATTEMPTS: u32 = 10;
/// How long replies of a flagged inbox wait before they look again.
pub const FLAGGED_WAIT: Millis = MINUTE;

pub struct MetaSender {
    graph: GraphClient,
    key: SecretKey,
}

impl MetaSender {
    /// A sender calling Meta with `graph` (the app's client) and opening tokens with `key`.
    pub fn new(graph: GraphClient, key: SecretKey) -> Self {
        Self { graph, key }
    }

    async fn send_job(&self, job: &SendJob, now: Millis) -> Sent {
        let entry = &job.entry;
        let Some(inbox) = MetaInbox::of(&self.key, &job.inbox) else {
            return failed("the inbox is not a Messenger or Instagram inbox");
        };
        if let Some(problem) = &inbox.problem {
            // Replies wait for the admin; they are not attempts.
            return SendOutcome::Retry {
                reason: format!("waiting for the inbox's admin: {problem}"),
                retry_at: now + FLAGGED_WAIT,
            }
            .into();
        }
        let Some(token) = inbox.access_token.as_deref() else {
            return Sent {
                outcome: SendOutcome::Retry {
                    reason: "the inbox has no access token".into(),
                    retry_at: now + FLAGGED_WAIT,
                },
                inbox_problem: Some("no access token is stored; reconnect the inbox".into()),
            };
        };
        let Some(kind) = messaging_type(job.last_customer_message_at, now, inbox.human_agent)
        else {
            return failed(if inbox.human_agent {
                "the reply window closed before it could be sent (7 days with HUMAN_AGENT)"
            } else {
                "the reply window closed before it could be sent (24 hours after the customer's last message)"
            });
        };
        let metadata =
            (inbox.channel == ChannelKind::Messenger).then(|| outbox_metadata(entry.id.0));
        let body = send_body(
            &entry.contact_external_id,
            &entry.text,
            kind,
            metadata.as_deref(),
        );
        match self
            .graph
            .send(inbox.channel, &inbox.account_id, token, &body)
            .await
        {
            Ok(message_id) => SendOutcome::Accepted {
                channel_message_id: message_id,
                at: now,
            }
            .into(),
            Err(CallError::Graph(error)) => match classify(&error) {
                ErrorClass::Permanent(reason) => failed(&reason),
                ErrorClass::Inbox(reason) => Sent {
                    outcome: SendOutcome::Retry {
                        reason: reason.clone(),
                        retry_at: now + FLAGGED_WAIT,
                    },
                    inbox_problem: Some(reason),
                },
                ErrorClass::Transient(reason) => retry(entry.attempts, reason, now),
            },
            Err(error @ CallError::Transport(_)) => retry(entry.attempts, error.to_string(), now),
        }
    }
}

impl Sender for MetaSender {
    fn send<'a>(&'a self, job: &'a SendJob, now: Millis) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_job(job, now))
    }
}

fn failed(reason: &str) -> Sent {
    SendOutcome::Failed {
        reason: reason.to_owned(),
    }
    .into()
}

/// A transient failure: again after an exponential backoff with full jitter, or failed for
/// good after [`MAX_ATTEMPTS`].
fn retry(attempts: u32, reason: String, now: Millis) -> Sent {
    if attempts >= MAX_ATTEMPTS {
        return failed(&format!("gave up after {attempts} attempts: {reason}"));
    }
    let ceiling = backoff_ceiling(attempts);
    let delay = SECOND + rand::random_range(0..=ceiling);
    SendOutcome::Retry {
        reason,
        retry_at: now + delay,
    }
    .into()
}

/// The most a retry waits after `attempts` tries: 2 s doubling, up to 10 minutes.
pub fn backoff_ceiling(attempts: u32) -> Millis {
    let doubling = 2 * SECOND * (1_i64 << attempts.saturating_sub(1).min(16));
    doubling.min(10 * MINUTE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff_ceiling(1), 2 * SECOND);
        assert_eq!(backoff_ceiling(2), 4 * SECOND);
        assert_eq!(backoff_ceiling(5), 32 * SECOND);
        assert_eq!(backoff_ceiling(20), 10 * MINUTE);
        for attempts in 1..MAX_ATTEMPTS {
            match retry(attempts, "x".into(), 0).outcome {
                SendOutcome::Retry { retry_at, .. } => {
                    assert!((SECOND..=SECOND + backoff_ceiling(attempts)).contains(&retry_at));
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            retry(MAX_ATTEMPTS, "x".into(), 0).outcome,
            SendOutcome::Failed { .. }
        ));
    }
}
