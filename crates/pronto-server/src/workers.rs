//! Background work: one outbox worker per channel kind that has a sender, the figures ticker
//! (time passing settles pending starts) and the snapshot saver. Each stops when the app's
//! shutdown begins, finishing the send in hand.

use crate::app::App;
use futures_util::future::BoxFuture;
use pronto_core::ChannelKind;
use pronto_core::store::{OutboxEntry, SendOutcome, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Hands replies to a channel. A channel kind without a sender leaves its replies queued.
pub trait Sender: Send + Sync + 'static {
    /// Sends one reply and says how it ended. `now` is the app clock's time.
    fn send<'a>(
        &'a self,
        entry: &'a OutboxEntry,
        now: pronto_badge::Millis,
    ) -> BoxFuture<'a, SendOutcome>;
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
    fn send<'a>(
        &'a self,
        entry: &'a OutboxEntry,
        now: pronto_badge::Millis,
    ) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            if let Some(hook) = &self.on_delivered {
                hook(entry);
            }
            pronto_channels::playground::deliver(entry, now)
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
                let outcome = sender.send(&entry, app.now()).await;
                if let SendOutcome::Failed { reason } | SendOutcome::Retry { reason, .. } = &outcome
                {
                    tracing::info!(channel = %kind, outbox = %entry.id, %reason, "outbox: not accepted");
                }
                if let Err(error) = app.finish_send(&entry, &outcome).await {
                    tracing::error!(channel = %kind, outbox = %entry.id, %error, "outbox: cannot record the send");
                }
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

pub fn spawn_figures_ticker<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = app.settings.figures_interval;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => app.refresh_figures().await,
                _ = app.shutdown_started() => break,
            }
        }
    })
}

pub fn spawn_snapshot_saver<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = app.settings.snapshot_interval;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {
                    if let Err(error) = app.live.save_snapshots(&app.store).await {
                        tracing::warn!(%error, "live badges: cannot save snapshots");
                    }
                }
                _ = app.shutdown_started() => break,
            }
        }
    })
}
