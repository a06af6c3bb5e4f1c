//! `GET /api/v1/events`: Server-Sent Events of the caller's workspace.
//!
//! On connecting the client gets `ready`, then one `figures` event per inbox, then, if it
//! sent `Last-Event-ID` (browsers do when they reconnect), every change it missed, read from
//! the store's change feed; then changes and figures as they happen. Changes carry `id:` (the
//! change id); figures do not (they are state, sent whole, not history).

use crate::app::App;
use crate::auth::Caller;
use crate::bus::Notice;
use crate::error::{AppResult, Query};
use crate::live::utc;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use pronto_core::WorkspaceId;
use pronto_core::store::{Change, Store};
use serde::Deserialize;
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

const REPLAY_PAGE: u32 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// For clients that cannot set the `Last-Event-ID` header.
    last_event_id: Option<i64>,
}

pub async fn stream<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.last_event_id);
    let (sender, receiver) = mpsc::channel(256);
    // Subscribe before replaying, so nothing falls between the two.
    let bus = app.bus.subscribe();
    app.metrics.sse_connected();
    tokio::spawn(async move {
        let feed = Feed {
            app: app.clone(),
            workspace: caller.workspace,
            sender,
            sent: Recent::default(),
            last_id: last_event_id.unwrap_or(0),
        };
        feed.run(bus, last_event_id).await;
        app.metrics.sse_disconnected();
    });
    Ok(Sse::new(ReceiverStream::new(receiver))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The change ids sent lately, to send each change once whichever way it came.
#[derive(Default)]
struct Recent {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl Recent {
    fn insert(&mut self, id: i64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > 4096
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

struct Feed<S: Store> {
    app: Arc<App<S>>,
    workspace: WorkspaceId,
    sender: mpsc::Sender<Result<Event, Infallible>>,
    sent: Recent,
    /// The greatest change id sent (or the client's `Last-Event-ID`).
    last_id: i64,
}

/// The JSON of a change: its id, instant, type and ids.
pub fn change_json(change: &Change) -> serde_json::Value {
    let mut value = serde_json::to_value(&change.kind).unwrap_or_default();
    value["id"] = change.id.into();
    value["at"] = utc(change.at).into();
    value
}

fn change_event(change: &Change) -> Event {
    let kind = change_json(change);
    let name = kind["type"].as_str().unwrap_or("change").to_owned();
    Event::default()
        .id(change.id.to_string())
        .event(name)
        .data(kind.to_string())
}

impl<S: Store> Feed<S> {
    async fn send(&self, event: Event) -> bool {
        self.sender.send(Ok(event)).await.is_ok()
    }

    async fn send_change(&mut self, change: &Change) -> bool {
        if !self.sent.insert(change.id) {
            return true;
        }
        self.last_id = self.last_id.max(change.id);
        self.send(change_event(change)).await
    }

    /// Sends what the store has after `after`; false if the client is gone.
    async fn replay(&mut self, after: i64) -> bool {
        let mut after = after;
        loop {
            let changes = match self
                .app
                .store
                .changes_since(self.workspace, after, REPLAY_PAGE)
                .await
            {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(%error, "events: cannot replay the change feed");
                    return true;
                }
            };
            for change in &changes {
                if !self.send_change(change).await {
                    return false;
                }
                after = after.max(change.id);
            }
            if (changes.len() as u32) < REPLAY_PAGE {
                return true;
            }
        }
    }

    async fn run(mut self, mut bus: broadcast::Receiver<Notice>, last_event_id: Option<i64>) {
        let ready =
            serde_json::json!({"workspace": self.workspace, "last_event_id": last_event_id});
        if !self
            .send(Event::default().event("ready").data(ready.to_string()))
            .await
        {
            return;
        }
        let now = self.app.now();
        if let Ok(inboxes) = self.app.store.inboxes(self.workspace).await {
            for inbox in inboxes {
                let _ = self
                    .app
                    .live
                    .sync(&self.app.store, self.workspace, inbox.id)
                    .await;
                if let Some(figures) = self.app.live.figures(inbox.id, now) {
                    let view = self.app.live.view(inbox.id, &figures);
                    if !self.send(figures_event(&view)).await {
                        return;
                    }
                }
            }
        }
        if let Some(after) = last_event_id
            && !self.replay(after).await
        {
            return;
        }
        loop {
            let notice = tokio::select! {
                notice = bus.recv() => notice,
                _ = self.app.shutdown_started() => return,
                _ = self.sender.closed() => return,
            };
            let alive = match notice {
                Ok(notice) if notice.workspace() != self.workspace => true,
                Ok(Notice::Change(change)) => self.send_change(&change).await,
                Ok(Notice::Figures { figures, .. }) => self.send(figures_event(&figures)).await,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let after = self.last_id;
                    self.replay(after).await
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if !alive {
                return;
            }
        }
    }
}

fn figures_event(view: &crate::live::FiguresView) -> Event {
    let data = serde_json::to_string(view).unwrap_or_default();
    Event::default().event("figures").data(data)
}
