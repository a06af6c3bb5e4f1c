//! `pronto demo`: the demo workspace of `pronto-channels` seeded on an empty database, and its
//! simulated customers running with the server, hearing the agents' replies at once.
//!
//! Order matters: [`prepare`] seeds before the server's workers start (the seeding claims the
//! playground's outbox itself), then [`spawn_customers`] once the server runs.

use crate::app::App;
use crate::workers::{SendJob, Sender, Sent};
use futures_util::future::BoxFuture;
use pronto_badge::Millis;
pub use pronto_channels::demo::BigOptions;
use pronto_channels::demo::{DEMO_WORKSPACE, database_is_empty};
use pronto_channels::playground::{
    CustomerSettings, ReplyFeed, ReplyReceiver, reply_feed, run_customers,
};
use pronto_core::history::HistoryLoader;
use pronto_core::store::{Store, StoreError, StoreResult};
use pronto_core::{ChannelKind, InboxId, WorkspaceId};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// How to log in to a freshly seeded demo.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub workspace: String,
    pub conversations: u64,
}

/// The demo workspace the customers write to.
pub struct Demo {
    pub workspace: WorkspaceId,
    pub inboxes: Vec<InboxId>,
    /// Set when the demo was seeded now.
    pub login: Option<DemoLogin>,
}

/// The playground's sender in the demo: accepted at once, and the customer hears it.
struct FeedSender(ReplyFeed);

impl Sender for FeedSender {
    fn send<'a>(&'a self, job: &'a SendJob, now: Millis) -> BoxFuture<'a, Sent> {
        Box::pin(async move { self.0.deliver(&job.entry, now).into() })
    }
}

/// The playground sender for [`crate::Server::sender`] and the customers' side of it.
pub fn playground_sender() -> (Arc<dyn Sender>, ReplyReceiver) {
    let (feed, receiver) = reply_feed();
    (Arc::new(FeedSender(feed)), receiver)
}

/// Seeds the demo on an empty database (its history ending now), or finds the demo workspace
/// seeded earlier; `None` when the database holds something else.
pub async fn prepare<S: Store>(
    app: &App<S>,
    progress: impl Fn(u64, u64) + Send + Sync,
) -> Result<Option<Demo>, StoreError> {
    if database_is_empty(&app.store).await? {
        let seeded = pronto_channels::demo::seed(&app.store, app.now(), progress).await?;
        return Ok(Some(Demo {
            workspace: seeded.workspace.id,
            inboxes: seeded.inbox_ids(),
            login: Some(DemoLogin {
                email: seeded.login_email.clone(),
                password: seeded.password.clone(),
                workspace: seeded.workspace.name.clone(),
                conversations: seeded.conversations,
            }),
        }));
    }
    let Some(workspace) = app.store.workspace_by_name(DEMO_WORKSPACE).await? else {
        return Ok(None);
    };
    let inboxes = app
        .store
        .inboxes(workspace.id)
        .await?
        .into_iter()
        .filter(|inbox| inbox.channel == ChannelKind::Playground)
        .map(|inbox| inbox.id)
        .collect();
    Ok(Some(Demo {
        workspace: workspace.id,
        inboxes,
        login: None,
    }))
}

/// Seeds the big workspace ([`pronto_channels::demo::seed_big`]) on an empty database: its
/// history is written in bulk, and as each day is written the live badges catch up with it
/// from the store, letting conversations go as they read (so the loader, too, holds the
/// recent weeks rather than every conversation); their snapshots are then saved, so that this
/// server and every later start read snapshots instead of replaying the years. `None` when
/// the database holds something already.
pub async fn prepare_big<S: Store + HistoryLoader>(
    app: &App<S>,
    options: &BigOptions,
    progress: impl Fn(u64, u64) + Send + Sync,
) -> Result<Option<Demo>, StoreError> {
    if !database_is_empty(&app.store).await? {
        return prepare(app, |_, _| {}).await;
    }
    let inboxes = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let (written, mut days) = tokio::sync::mpsc::unbounded_channel::<()>();
    let seeding = pronto_channels::demo::seed_big(
        &app.store,
        app.now(),
        options,
        |workspace, events| {
            let mut inboxes = inboxes.lock().expect("seeded inboxes");
            inboxes.extend(events.iter().map(|e| (workspace, e.inbox)));
        },
        move |day, total| {
            // A day is written: the live badges may read it.
            let _ = written.send(());
            progress(day, total);
        },
    );
    let following = async {
        while days.recv().await.is_some() {
            // Days written meanwhile are read at once.
            while days.try_recv().is_ok() {}
            let seen: Vec<_> = inboxes
                .lock()
                .expect("seeded inboxes")
                .iter()
                .copied()
                .collect();
            for (workspace, inbox) in seen {
                app.live.sync(&app.store, workspace, inbox).await?;
            }
        }
        StoreResult::Ok(())
    };
    let (seeded, followed) = futures_util::future::join(seeding, following).await;
    let seeded = seeded?;
    followed?;
    for inbox in &seeded.inboxes {
        app.live
            .sync(&app.store, seeded.workspace.id, inbox.id)
            .await?;
    }
    app.live.save_snapshots(&app.store).await?;
    app.store.fold_view_counts().await?;
    Ok(Some(Demo {
        workspace: seeded.workspace.id,
        inboxes: seeded.inboxes.iter().map(|i| i.id).collect(),
        login: Some(DemoLogin {
            email: seeded.login_email,
            password: seeded.password,
            workspace: seeded.workspace.name,
            conversations: seeded.conversations,
        }),
    }))
}

/// Starts the simulated customers of the demo's playground inboxes; they stop when the
/// server's shutdown begins.
pub fn spawn_customers<S: Store>(
    app: Arc<App<S>>,
    demo: &Demo,
    replies: Option<ReplyReceiver>,
    settings: CustomerSettings,
) -> JoinHandle<()> {
    let (workspace, inboxes) = (demo.workspace, demo.inboxes.clone());
    tokio::spawn(async move {
        let stats = run_customers(
            &app.store,
            workspace,
            inboxes,
            || app.now(),
            settings,
            replies,
            |ingested| {
                let app = app.clone();
                async move { app.ingested(workspace, "playground", &ingested).await }
            },
            app.shutdown_started(),
        )
        .await;
        tracing::info!(?stats, "the demo's customers stopped");
    })
}
