//! Starting and stopping: restore the live badges, start the workers, serve HTTP; on
//! shutdown stop accepting, finish in-flight requests, end the event streams, let the
//! workers finish the send in hand, save the live badges' snapshots.

use crate::app::App;
use crate::clock::{Clock, SystemClock};
use crate::crypto::SecretKey;
use crate::settings::{Settings, SettingsError};
use crate::workers::{self, Sender, Senders};
use pronto_badge::Rules;
use pronto_core::ChannelKind;
use pronto_core::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Worker<S> = Box<dyn FnOnce(Arc<App<S>>) -> JoinHandle<()> + Send>;

/// A server to start: the store, the settings, and what tests and the demo may change.
pub struct Server<S: Store> {
    store: S,
    settings: Settings,
    clock: Arc<dyn Clock>,
    key: Option<SecretKey>,
    rules: Rules,
    senders: Senders,
    /// Channel kinds whose sender was removed (no default sender is put back at build).
    silenced: Vec<ChannelKind>,
    workers: Vec<Worker<S>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("the live badges could not be loaded: {0}")]
    Store(#[from] pronto_core::store::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl<S: Store> Server<S> {
    pub fn new(store: S, settings: Settings) -> Self {
        Self {
            store,
            settings,
            clock: Arc::new(SystemClock),
            key: None,
            rules: Rules::default(),
            senders: workers::default_senders(),
            silenced: Vec::new(),
            workers: Vec::new(),
        }
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The key that seals channel secrets (else the settings', or the data folder's).
    pub fn key(mut self, key: SecretKey) -> Self {
        self.key = Some(key);
        self
    }

    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Replaces the settings' late horizon (`PRONTO_LATE_HOURS`).
    pub fn late_horizon(mut self, late_horizon: std::time::Duration) -> Self {
        self.settings.late_horizon = late_horizon;
        self
    }

    /// Sets the sender of a channel kind (replacing the default one).
    pub fn sender(mut self, kind: ChannelKind, sender: Arc<dyn Sender>) -> Self {
        self.senders.insert(kind, sender);
        self
    }

    /// Removes a channel kind's sender: its replies stay queued.
    pub fn without_sender(mut self, kind: ChannelKind) -> Self {
        self.senders.remove(&kind);
        self.silenced.push(kind);
        self
    }

    /// Adds a background task started with the server (the demo's simulated customers); it
    /// must end when [`App::shutdown_started`] resolves.
    pub fn worker(
        mut self,
        start: impl FnOnce(Arc<App<S>>) -> JoinHandle<()> + Send + 'static,
    ) -> Self {
        self.workers.push(Box::new(start));
        self
    }

    /// Builds the app without serving it yet (the demo seeds it first; the CLI's one-off
    /// commands use the store alone).
    pub fn build(self) -> Result<Prepared<S>, StartError> {
        let key = match self.key {
            Some(key) => key,
            None => {
                let (key, generated) = self.settings.resolve_secret_key()?;
                if generated {
                    tracing::info!(
                        path = %self.settings.data_dir.join("secret.key").display(),
                        "generated the secret key that seals channel secrets; back it up with the database"
                    );
                }
                key
            }
        };
        let app = Arc::new(App::new(
            self.store,
            self.clock,
            self.settings,
            key,
            self.rules,
        ));
        let mut senders = self.senders;
        for kind in [ChannelKind::Messenger, ChannelKind::Instagram] {
            if !self.silenced.contains(&kind) {
                senders.entry(kind).or_insert_with(|| {
                    Arc::new(crate::meta::sender::MetaSender::new(
                        app.graph.clone(),
                        app.key.clone(),
                    ))
                });
            }
        }
        Ok(Prepared {
            app,
            senders,
            workers: self.workers,
        })
    }

    /// Restores the live badges, starts the workers and serves on `listener`.
    pub async fn start(self, listener: TcpListener) -> Result<RunningServer<S>, StartError> {
        self.build()?.start(listener).await
    }
}

/// A built app, not serving yet.
pub struct Prepared<S: Store> {
    pub app: Arc<App<S>>,
    senders: Senders,
    workers: Vec<Worker<S>>,
}

impl<S: Store> Prepared<S> {
    /// Restores the live badges, starts the workers and serves on `listener`.
    pub async fn start(self, listener: TcpListener) -> Result<RunningServer<S>, StartError> {
        let Prepared {
            app,
            senders,
            workers: extra,
        } = self;
        let inboxes = app.restore_live_badges().await?;
        tracing::debug!(inboxes, "live badges loaded");
        let mut handles = Vec::new();
        for (kind, sender) in senders {
            handles.push(workers::spawn_outbox_worker(app.clone(), kind, sender));
        }
        handles.push(workers::spawn_figures_ticker(app.clone()));
        handles.push(crate::attachments::spawn_fetcher(app.clone()));
        handles.push(crate::meta::journal::spawn_processor(app.clone()));
        handles.push(workers::spawn_snapshot_saver(app.clone()));
        handles.push(workers::spawn_view_count_folder(app.clone()));
        for start in extra {
            handles.push(start(app.clone()));
        }
        let addr = listener.local_addr()?;
        let router = crate::api::router(app.clone());
        let stopping = app.clone();
        let http = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stopping.shutdown_started().await })
            .await
        });
        Ok(RunningServer {
            addr,
            app,
            http,
            workers: handles,
        })
    }
}

/// A server that is serving.
pub struct RunningServer<S: Store> {
    pub addr: SocketAddr,
    pub app: Arc<App<S>>,
    http: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl<S: Store> RunningServer<S> {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops gracefully: no new connections, in-flight requests finished, event streams
    /// ended, workers stopped, snapshots saved.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.app.begin_shutdown();
        self.wait().await
    }

    /// Waits until the server stops (after [`App::begin_shutdown`]), then finishes stopping.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = match self.http.await {
            Ok(result) => result,
            Err(error) => Err(std::io::Error::other(error)),
        };
        for worker in self.workers {
            if tokio::time::timeout(Duration::from_secs(30), worker)
                .await
                .is_err()
            {
                tracing::warn!("a worker did not stop within 30 s");
            }
        }
        match self.app.live.save_snapshots(&self.app.store).await {
            Ok(saved) => tracing::debug!(saved, "live badges saved"),
            Err(error) => tracing::warn!(%error, "live badges: cannot save snapshots"),
        }
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
