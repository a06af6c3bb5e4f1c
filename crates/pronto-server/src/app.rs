//! The application: the store and everything around it that one process keeps, with the
//! operations that change something. Handlers, workers and the demo all change data through
//! these, so that every change feeds the live badge and the event bus the same way.

use crate::auth::LoginLimiter;
use crate::bus::{Bus, Notice};
use crate::clock::Clock;
use crate::crypto::SecretKey;
use crate::live::LiveBadges;
use crate::metrics::Metrics;
use crate::settings::Settings;
use pronto_badge::{Availability, Rules, Status};
use pronto_core::store::{
    Change, Inbound, InboxEvent, Ingested, OutboxEntry, SendOutcome, Store, StoreResult, Taken,
};
use pronto_core::{
    ChannelKind, Conversation, ConversationId, InboxId, Incoming, Message, UserId, WorkspaceId,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Notify, watch};

pub struct App<S: Store> {
    pub store: S,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    /// Seals channel secrets at rest.
    pub key: SecretKey,
    pub live: LiveBadges,
    pub bus: Bus,
    pub metrics: Metrics,
    pub limiter: LoginLimiter,
    /// Ids of the changes this node published lately: what it must not hear again from the
    /// store's announcements.
    own_changes: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// The Graph API client (Meta's channels).
    pub graph: crate::meta::graph::GraphClient,
    /// Contacts whose profile this node has looked up (or is looking up).
    pub profile_lookups:
        std::sync::Mutex<std::collections::HashSet<(WorkspaceId, pronto_core::ContactId)>>,
    /// Wakes the webhook journal's processor when a delivery is journaled.
    pub journal_signal: Arc<Notify>,
    /// Wakes the attachment fetcher when a delivery brought attachments.
    pub attachment_signal: Arc<Notify>,
    /// Wakes the outbox worker of a channel kind when a reply is queued.
    outbox: HashMap<ChannelKind, Arc<Notify>>,
    shutdown: watch::Sender<bool>,
}

impl<S: Store> App<S> {
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        settings: Settings,
        key: SecretKey,
        rules: Rules,
    ) -> Self {
        let late_horizon = settings.late_horizon.as_millis() as pronto_badge::Millis;
        Self {
            graph: crate::meta::graph::GraphClient::new(&settings.meta),
            store,
            clock,
            settings,
            key,
            live: LiveBadges::new(rules, late_horizon),
            bus: Bus::default(),
            metrics: Metrics::default(),
            limiter: LoginLimiter::default(),
            attachment_signal: Arc::new(Notify::new()),
            journal_signal: Arc::new(Notify::new()),
            profile_lookups: Default::default(),
            own_changes: Default::default(),
            outbox: ChannelKind::ALL
                .iter()
                .map(|kind| (*kind, Arc::new(Notify::new())))
                .collect(),
            shutdown: watch::channel(false).0,
        }
    }

    pub fn rules(&self) -> &Rules {
        self.live.rules()
    }

    pub fn now(&self) -> pronto_badge::Millis {
        self.clock.now()
    }

    /// The signal the outbox worker of `kind` waits on.
    pub fn outbox_signal(&self, kind: ChannelKind) -> Arc<Notify> {
        self.outbox[&kind].clone()
    }

    /// Tells every long-running task (workers, event streams) to stop.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once shutdown has begun.
    pub async fn shutdown_started(&self) {
        let mut receiver = self.shutdown.subscribe();
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }

    /// Publishes changes to the event bus.
    pub fn publish(&self, changes: Vec<Change>) {
        if !changes.is_empty() {
            let mut own = self.own_changes.lock().expect("own changes");
            if own.len() > 20_000 {
                // Forgetting only costs a change heard twice (streams send each id once).
                own.clear();
            }
            own.extend(changes.iter().map(|change| change.id));
        }
        for change in changes {
            self.bus.publish(Notice::Change(change));
        }
    }

    /// Feeds stored badge events to the live badge and publishes the figures that changed.
    pub async fn feed(&self, workspace: WorkspaceId, events: &[InboxEvent]) {
        if events.is_empty() {
            return;
        }
        for inbox in self.live.apply(events) {
            if let Err(error) = self.live.sync(&self.store, workspace, inbox).await {
                tracing::warn!(%inbox, %error, "the live badge could not catch up; it will on the next tick");
            }
        }
        let mut inboxes: Vec<InboxId> = events.iter().map(|e| e.inbox).collect();
        inboxes.dedup();
        for inbox in inboxes {
            self.publish_figures(inbox);
        }
    }

    /// Publishes an inbox's figures if they changed since last published.
    pub fn publish_figures(&self, inbox: InboxId) {
        if let Some((workspace, view)) = self.live.changed_figures(inbox, self.now()) {
            self.bus.publish(Notice::Figures {
                workspace,
                inbox,
                figures: Box::new(view),
            });
        }
    }

    /// Stores a message from a channel (idempotent on its channel message id).
    pub async fn ingest(
        &self,
        workspace: WorkspaceId,
        incoming: &Incoming,
    ) -> StoreResult<Ingested> {
        let channel = self
            .store
            .inbox(workspace, incoming.inbox)
            .await
            .map(|inbox| inbox.channel.as_str())
            .unwrap_or("unknown");
        let ingested = self.store.ingest(workspace, incoming).await?;
        self.ingested(workspace, channel, &ingested).await;
        Ok(ingested)
    }

    /// Takes in what a channel stored with [`Store::ingest`] itself (the playground's
    /// customers do): counts it, publishes its changes and feeds the live badge.
    pub async fn ingested(
        &self,
        workspace: WorkspaceId,
        channel: &'static str,
        ingested: &Ingested,
    ) {
        match ingested {
            Ingested::Duplicate { .. } => self.metrics.record_ingest(channel, "duplicate"),
            Ingested::Stored {
                events, changes, ..
            } => {
                self.metrics.record_ingest(channel, "stored");
                self.publish(changes.clone());
                self.feed(workspace, events).await;
            }
        }
    }

    /// Takes in a channel's webhook delivery in one transaction (see [`Store::take_in`]),
    /// then publishes its changes and feeds the live badges.
    pub async fn take_in(&self, items: Vec<(WorkspaceId, Inbound)>) -> StoreResult<Vec<Taken>> {
        let taken = self.store.take_in(&items).await?;
        let attachments = items.iter().any(|(_, item)| match item {
            Inbound::Message(message) | Inbound::Echo { message, .. } => {
                !message.attachments.is_empty()
            }
            Inbound::Edit { .. } => false,
        });
        if attachments {
            self.attachment_signal.notify_one();
        }
        let mut events: HashMap<WorkspaceId, Vec<InboxEvent>> = HashMap::new();
        for ((workspace, _), item) in items.iter().zip(&taken) {
            let (new_events, changes) = item.events_and_changes();
            self.publish(changes.to_vec());
            if !new_events.is_empty() {
                events
                    .entry(*workspace)
                    .or_default()
                    .extend_from_slice(new_events);
            }
        }
        for (workspace, events) in events {
            self.feed(workspace, &events).await;
        }
        Ok(taken)
    }

    pub async fn set_status(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        status: Status,
        by: Option<UserId>,
    ) -> StoreResult<Conversation> {
        let (conversation, events, changes) = self
            .store
            .set_status(workspace, conversation, status, by, self.now())
            .await?;
        self.publish(changes);
        self.feed(workspace, &events).await;
        Ok(conversation)
    }

    pub async fn assign(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        assignee: Option<UserId>,
    ) -> StoreResult<Conversation> {
        let (conversation, changes) = self
            .store
            .assign(workspace, conversation, assignee, self.now())
            .await?;
        self.publish(changes);
        Ok(conversation)
    }

    /// Queues an agent's reply; the channel's outbox worker sends it.
    pub async fn reply(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        agent: UserId,
        text: &str,
    ) -> StoreResult<(Message, OutboxEntry)> {
        let (message, entry, changes) = self
            .store
            .reply(workspace, conversation, agent, text, self.now())
            .await?;
        self.publish(changes);
        self.outbox_signal(entry.channel).notify_one();
        Ok((message, entry))
    }

    pub async fn set_availability(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        availability: Availability,
        by: Option<UserId>,
    ) -> StoreResult<InboxEvent> {
        let (event, changes) = self
            .store
            .set_availability(workspace, inbox, availability, by, self.now())
            .await?;
        self.publish(changes);
        self.feed(workspace, std::slice::from_ref(&event)).await;
        Ok(event)
    }

    /// Records how a send ended: an accepted reply enters the figures now.
    pub async fn finish_send(
        &self,
        entry: &OutboxEntry,
        outcome: &SendOutcome,
    ) -> StoreResult<Message> {
        let (message, events, changes) = self.store.finish_send(entry, outcome, self.now()).await?;
        let label = match outcome {
            SendOutcome::Accepted { .. } => "accepted",
            SendOutcome::Retry { .. } => "retry",
            SendOutcome::Failed { .. } => "failed",
        };
        self.metrics.record_send(entry.channel.as_str(), label);
        self.publish(changes);
        self.feed(entry.workspace, &events).await;
        Ok(message)
    }

    /// Takes in changes another node committed (`first..=last` of the workspace's feed, as
    /// the store announced them): publishes them to this node's bus and brings the live badges
    /// of their inboxes up to date.
    pub async fn hear(&self, workspace: WorkspaceId, first: i64, last: i64) {
        let count = (last - first + 1).clamp(1, 10_000) as u32;
        let changes = match self.store.changes_since(workspace, first - 1, count).await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::warn!(%workspace, %error, "cannot read announced changes");
                return;
            }
        };
        let fresh: Vec<Change> = {
            let own = self.own_changes.lock().expect("own changes");
            changes
                .into_iter()
                .filter(|change| change.id <= last && !own.contains(&change.id))
                .collect()
        };
        if fresh.is_empty() {
            return;
        }
        let mut inboxes: Vec<InboxId> = Vec::new();
        for change in &fresh {
            let inbox = match &change.kind {
                pronto_core::store::ChangeKind::MessageCreated { inbox, .. }
                | pronto_core::store::ChangeKind::MessageUpdated { inbox, .. }
                | pronto_core::store::ChangeKind::ConversationUpdated { inbox, .. }
                | pronto_core::store::ChangeKind::AvailabilityChanged { inbox }
                | pronto_core::store::ChangeKind::InboxChanged { inbox } => *inbox,
            };
            if !inboxes.contains(&inbox) {
                inboxes.push(inbox);
            }
        }
        for change in fresh {
            self.bus.publish(Notice::Change(change));
        }
        for inbox in inboxes {
            if let Err(error) = self.live.sync(&self.store, workspace, inbox).await {
                tracing::warn!(%inbox, %error, "the live badge could not catch up with another node");
            }
            self.publish_figures(inbox);
        }
    }

    /// Flags an inbox for its admin (`Some(why)`: it cannot send until they act) or clears
    /// the flag. The flag lives in the inbox's settings as `problem`.
    pub async fn set_inbox_problem(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        problem: Option<&str>,
    ) -> StoreResult<()> {
        let value = problem.map(serde_json::Value::from);
        let changed = self
            .set_inbox_setting(workspace, inbox, "problem", value)
            .await?;
        if let Some(inbox) = changed
            && problem.is_none()
        {
            self.outbox_signal(inbox.channel).notify_one();
        }
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) one key of an inbox's settings, the keys the server
    /// keeps there itself (`problem`, `backfill`); writes only when it changes, and then
    /// returns the changed inbox.
    pub async fn set_inbox_setting(
        &self,
        workspace: WorkspaceId,
        inbox: InboxId,
        key: &str,
        value: Option<serde_json::Value>,
    ) -> StoreResult<Option<pronto_core::Inbox>> {
        let mut settings = self.store.inbox(workspace, inbox).await?.settings;
        if settings.get(key) == value.as_ref() {
            return Ok(None);
        }
        match value {
            Some(value) => settings[key] = value,
            None => {
                if let Some(map) = settings.as_object_mut() {
                    map.remove(key);
                }
            }
        }
        let update = pronto_core::store::InboxUpdate {
            settings: Some(settings),
            ..Default::default()
        };
        self.store
            .update_inbox(workspace, inbox, &update)
            .await
            .map(Some)
    }

    /// Loads the live badge of every inbox of the installation (from snapshots).
    pub async fn restore_live_badges(&self) -> StoreResult<usize> {
        let inboxes = self.store.all_inboxes().await?;
        for inbox in &inboxes {
            self.live
                .restore(&self.store, inbox.workspace, inbox.id)
                .await?;
            // What is loaded is what browsers will be told about first.
            self.live.changed_figures(inbox.id, self.now());
        }
        Ok(inboxes.len())
    }

    /// Catches every live badge up with the store and publishes the figures that changed
    /// (time passing settles pending starts with no new event).
    pub async fn refresh_figures(&self) {
        let known = self.live.inboxes();
        match self.store.all_inboxes().await {
            Ok(all) => {
                for inbox in &all {
                    if let Err(error) = self.live.sync(&self.store, inbox.workspace, inbox.id).await
                    {
                        tracing::warn!(inbox = %inbox.id, %error, "live badge sync");
                    }
                    self.publish_figures(inbox.id);
                }
                for (_, id) in known {
                    if !all.iter().any(|inbox| inbox.id == id) {
                        self.live.remove(id);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "live badges: cannot list the inboxes"),
        }
    }
}
