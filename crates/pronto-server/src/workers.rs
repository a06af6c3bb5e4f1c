//! Background work: one outbox worker per channel kind that has a sender, the figures ticker
//! (time passing settles pending starts), the snapshot saver and the view counts' folder.
//! Each stops when the app's shutdown begins, finishing the send in hand.

use crate::app::App;
use futures_util::future::BoxFuture;
use pronto_badge::Millis;
use pronto_core::store::{OutboxEntry, SendOutcome, Store, StoreError};
use pronto_core::{ChannelKind, Inbox};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Hands replies to a channel. A channel kind without a sender leaves its replies queued.
pub trait Sender: Send + Sync + 'static {
    /// Sends one reply and says how it ended. `now` is the app clock's time.
    fn send<'a>(&'a self, job: &'a SendJob, now: Millis) -> BoxFuture<'a, Sent>;
}

/// A reply to send, with what a channel needs to know around it.
#[derive(Clone, Debug)]
pub struct SendJob {
    pub entry: OutboxEntry,
    /// The inbox it goes out through (its settings and sealed credentials).
    pub inbox: Inbox,
    /// The customer's latest message in the conversation: the channel's reply window runs
    /// from it.
    pub last_customer_message_at: Option<Millis>,
}

/// How a send ended, and whether the inbox needs its admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub outcome: SendOutcome,
    /// Set when the channel refused the inbox's credentials (an expired token, a missing
    /// permission): the inbox is flagged for its admin and its replies wait.
    pub inbox_problem: Option<String>,
}

impl From<SendOutcome> for Sent {
    fn from(outcome: SendOutcome) -> Self {
        Self {
            outcome,
            inbox_problem: None,
        }
    }
}

/// Called with every reply the playground delivers.
pub type DeliveryHook = Arc<dyn Fn(&OutboxEntry) + Send + Sync>;

/// The playground channel delivers locally: the simulated customer has it at once.
/// `on_delivered` lets the playground's simulation hear the reply.
#[derive(Default, Clone)]
pub struct PlaygroundSender {
    pub on_delivered: Option<DeliveryHook>,
}

impl Sender for PlaygroundSender {
    fn send<'a>(&'a self, job: &'a SendJob, now: Millis) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            if let Some(hook) = &self.on_delivered {
                hook(&job.entry);
            }
            pronto_channels::playground::deliver(&job.entry, now).into()
        })
    }
}

pub type Senders = HashMap<ChannelKind, Arc<dyn Sender>>;

/// The senders of a plain installation: the playground's.
pub fn default_senders() -> Senders {
    let mut senders: Senders = HashMap::new();
    senders.insert(
        ChannelKind::Playground,
        Arc::new(PlaygroundSender::default()),
    );
    senders
}

/// How many entries a worker claims at once, and how often it looks for due retries.
const CLAIM: u32 = 16;
const POLL: Duration = Duration::from_secs(1);

pub fn spawn_outbox_worker<S: Store>(
    app: Arc<App<S>>,
    kind: ChannelKind,
    sender: Arc<dyn Sender>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let signal = app.outbox_signal(kind);
        loop {
            if app.is_shutting_down() {
                break;
            }
            let claimed = match app.store.claim_outbox(kind, CLAIM, app.now()).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(channel = %kind, %error, "outbox: cannot claim");
                    Vec::new()
                }
            };
            let busy = claimed.len() as u32 == CLAIM;
            for entry in claimed {
                // Finish what was claimed even when stopping: it is marked `sending`.
                send_one(&app, kind, sender.as_ref(), entry).await;
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = app.shutdown_started() => break,
            }
        }
    })
}

/// Sends one claimed entry and records how it ended.
async fn send_one<S: Store>(
    app: &App<S>,
    kind: ChannelKind,
    sender: &dyn Sender,
    entry: OutboxEntry,
) {
    let (workspace, inbox) = (entry.workspace, entry.inbox);
    let job = match app.store.inbox(workspace, inbox).await {
        Ok(inbox) => {
            let last_customer_message_at =
                match app.store.conversation(workspace, entry.conversation).await {
                    Ok(summary) => summary
                        .conversation
                        .urgency
                        .last_customer_message_at(app.rules()),
                    Err(_) => None,
                };
            SendJob {
                entry,
                inbox,
                last_customer_message_at,
            }
        }
        Err(StoreError::NotFound(_)) => {
            let outcome = SendOutcome::Failed {
                reason: "the inbox no longer exists".into(),
            };
            if let Err(error) = app.finish_send(&entry, &outcome).await {
                tracing::warn!(channel = %kind, outbox = %entry.id, %error, "outbox: cannot record the send");
            }
            return;
        }
        Err(error) => {
            // Its lease runs out and it is claimed again.
            tracing::warn!(channel = %kind, outbox = %entry.id, %error, "outbox: cannot load the inbox");
            return;
        }
    };
    let sent = sender.send(&job, app.now()).await;
    if let SendOutcome::Failed { reason } | SendOutcome::Retry { reason, .. } = &sent.outcome {
        tracing::info!(channel = %kind, outbox = %job.entry.id, %reason, "outbox: not accepted");
    }
    if let Some(problem) = &sent.inbox_problem
        && let Err(error) = app.set_inbox_problem(workspace, inbox, Some(problem)).await
    {
        tracing::warn!(%inbox, %error, "outbox: cannot flag the inbox");
    }
    if let Err(error) = app.finish_send(&job.entry, &sent.outcome).await {
        tracing::error!(channel = %kind, outbox = %job.entry.id, %error, "outbox: cannot record the send");
    }
}

/// Runs `work` every `every` until the app's shutdown begins (an iteration in hand finishes).
fn spawn_every<S: Store, F, W>(app: Arc<App<S>>, every: Duration, work: F) -> JoinHandle<()>
where
    F: Fn(Arc<App<S>>) -> W + Send + 'static,
    W: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => work(app.clone()).await,
                _ = app.shutdown_started() => break,
            }
        }
    })
}

pub fn spawn_figures_ticker<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    let every = app.settings.figures_interval;
    spawn_every(app, every, |app| async move { app.refresh_figures().await })
}

pub fn spawn_snapshot_saver<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    let every = app.settings.snapshot_interval;
    spawn_every(app, every, |app| async move {
        if let Err(error) = app.live.save_snapshots(&app.store).await {
            tracing::warn!(%error, "live badges: cannot save snapshots");
        }
    })
}

/// Folds the view counters' pending differences into their totals (see
/// `Store::fold_view_counts`) every second, so that reading the sizes of the inbox's views
/// stays a sum of a few rows however busy the inbox is. Every node runs one; folds may overlap.
pub fn spawn_view_count_folder<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    spawn_every(app, Duration::from_secs(1), |app| async move {
        if let Err(error) = app.store.fold_view_counts().await {
            tracing::warn!(%error, "view counts: cannot fold");
        }
    })
}
