//! The live badge: per inbox, the figures kept up to date by every accepted badge event
//! (ingest, status, availability, an accepted reply), restored at start from the latest
//! snapshot plus the events after it.
//!
//! Events are pushed in the store's per-inbox sequence order (the contract's line order among
//! equal instants): an event that overtakes an earlier one (two requests finishing in the
//! other order) waits until the earlier one arrives, and [`LiveBadges::sync`] catches up from
//! the store before every answer, so the figures are exactly those of the stored log, whoever
//! wrote it (this process, the CLI, another node). Duplicates are dropped by sequence.
//! When the engine refuses an event (a snapshot folded the history it would need), the inbox
//! is rebuilt from its whole log.

use crate::engine::{Engine, EngineError};
use pronto_badge::forecast::{Forecast, ForecastSettings, forecast};
use pronto_badge::report::Report;
use pronto_badge::{Event, Figures, Millis, Rules, Utc};
use pronto_core::store::{InboxEvent, Store, StoreResult};
use pronto_core::{ConversationId, InboxId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Events read from the store per page when rebuilding.
const PAGE: u32 = 5_000;

/// The figures of an inbox as the SSE `figures` event and the metrics show them: the
/// contract's JSON without the forecast.
#[derive(Clone, Debug, Serialize)]
pub struct FiguresView {
    pub inbox: InboxId,
    #[serde(flatten)]
    pub report: Report<Option<()>>,
}

/// One inbox's live state.
struct InboxBadge {
    workspace: WorkspaceId,
    engine: Engine,
    /// Store conversation id -> the engine's dense id, and back.
    dense: HashMap<ConversationId, u32>,
    names: Vec<ConversationId>,
    /// Every event with `seq <= applied` has been pushed.
    applied: i64,
    /// Events that overtook an earlier one, waiting for it.
    waiting: BTreeMap<i64, InboxEvent>,
    /// The engine refused an event: rebuild from the store.
    broken: bool,
    /// `applied` when the last snapshot was saved.
    snapshot_seq: i64,
    /// The figures last published (their evaluation time aside).
    published: Option<Figures>,
}

impl InboxBadge {
    fn new(workspace: WorkspaceId, rules: Rules) -> Self {
        Self {
            workspace,
            engine: Engine::new(rules),
            dense: HashMap::new(),
            names: Vec::new(),
            applied: 0,
            waiting: BTreeMap::new(),
            broken: false,
            snapshot_seq: 0,
            published: None,
        }
    }

    fn dense_id(&mut self, conversation: ConversationId) -> pronto_badge::ConversationId {
        let next = self.names.len() as u32;
        let id = *self.dense.entry(conversation).or_insert(next);
        if id == next {
            self.names.push(conversation);
        }
        pronto_badge::ConversationId(id)
    }

    fn engine_event(&mut self, event: &InboxEvent) -> Event {
        event.to_badge_event(|conversation| self.dense_id(conversation))
    }

    /// Takes an event in; `gapless`: the caller knows no earlier event is missing (it read
    /// them from the store in order).
    fn offer(&mut self, event: InboxEvent, gapless: bool) {
        if event.seq <= self.applied || self.waiting.contains_key(&event.seq) {
            return;
        }
        if event.seq == self.applied + 1 || gapless {
            self.push(&event);
            self.drain();
        } else {
            self.waiting.insert(event.seq, event);
        }
    }

    fn drain(&mut self) {
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() != self.applied + 1 {
                break;
            }
            let event = entry.remove();
            self.push(&event);
        }
    }

    fn push(&mut self, event: &InboxEvent) {
        let engine_event = self.engine_event(event);
        if let Err(error) = self.engine.push(engine_event) {
            tracing::info!(inbox = %event.inbox, %error, "the live badge will rebuild from the store");
            self.broken = true;
        }
        self.applied = self.applied.max(event.seq);
    }

    /// The evaluation time: `now`, or the latest event if a channel's clock is ahead of ours.
    fn evaluation_time(&self, now: Millis) -> Millis {
        self.engine
            .latest_at()
            .map_or(now, |latest| latest.max(now))
    }

    fn figures(&self, now: Millis) -> Result<Figures, EngineError> {
        self.engine.figures(self.evaluation_time(now))
    }
}

/// What a snapshot holds besides the engine's own bytes: the conversation names.
#[derive(Serialize, Deserialize)]
struct Envelope {
    version: u32,
    names: Vec<i64>,
    engine: String,
}

/// The live badges of every inbox of the installation.
pub struct LiveBadges {
    rules: Rules,
    inboxes: Mutex<HashMap<InboxId, Arc<Mutex<InboxBadge>>>>,
}

impl LiveBadges {
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            inboxes: Mutex::new(HashMap::new()),
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    fn entry(&self, inbox: InboxId) -> Option<Arc<Mutex<InboxBadge>>> {
        self.inboxes
            .lock()
            .expect("live badges")
            .get(&inbox)
            .cloned()
    }

    /// Feeds events just stored. Returns the inboxes that must be [`LiveBadges::sync`]ed
    /// (not loaded yet, or broken).
    pub fn apply(&self, events: &[InboxEvent]) -> Vec<InboxId> {
        let mut to_sync = Vec::new();
        for event in events {
            match self.entry(event.inbox) {
                Some(entry) => {
                    let mut badge = entry.lock().expect("inbox badge");
                    badge.offer(event.clone(), false);
                    if badge.broken && !to_sync.contains(&event.inbox) {
                        to_sync.push(event.inbox);
                    }
                }
                None if !to_sync.contains(&event.inbox) => to_sync.push(event.inbox),
                None => {}
            }
        }
        to_sync
    }

    /// Brings an inbox up to date with its stored log: loads it (from its snapshot) if it is
    /// not loaded, rebuilds it if it broke, else reads the events after the last pushed one.
    pub async fn sync<S: Store>(
        &self,
        store: &S,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> StoreResult<()> {
        let Some(entry) = self.entry(inbox) else {
            return self.restore(store, workspace, inbox).await;
        };
        let (applied, broken) = {
            let badge = entry.lock().expect("inbox badge");
            (badge.applied, badge.broken)
        };
        if broken {
            return self.rebuild(store, workspace, inbox).await;
        }
        let events = events_after(store, workspace, inbox, applied).await?;
        let broken = {
            let mut badge = entry.lock().expect("inbox badge");
            let mut events = events;
            events.sort_by_key(|e| e.seq);
            for event in events {
                // Everything up to it is stored, so a gap before it is one for good.
                badge.offer(event, true);
            }
            badge.broken
        };
        if broken {
            return self.rebuild(store, workspace, inbox).await;
        }
        Ok(())
    }

    /// Takes in events written in bulk (each inbox's in sequence order, continuing what was
    /// pushed before), without reading the store: the big-workspace generator feeds its
    /// history here as it writes it, then saves snapshots, so that a server starts from them
    /// instead of replaying years. An inbox not loaded yet starts empty.
    pub fn absorb(&self, workspace: WorkspaceId, events: &[InboxEvent]) {
        for event in events {
            let entry = self.entry(event.inbox).unwrap_or_else(|| {
                let badge = Arc::new(Mutex::new(InboxBadge::new(workspace, self.rules)));
                self.inboxes
                    .lock()
                    .expect("live badges")
                    .entry(event.inbox)
                    .or_insert(badge)
                    .clone()
            });
            entry
                .lock()
                .expect("inbox badge")
                .offer(event.clone(), true);
        }
    }

    /// Folds every inbox's history older than its late horizon (see
    /// `pronto_badge::tracker::Tracker::compact`), so that memory holds the recent events and
    /// a summary per conversation rather than every event ever pushed.
    pub fn compact(&self) {
        let entries: Vec<_> = self
            .inboxes
            .lock()
            .expect("live badges")
            .values()
            .cloned()
            .collect();
        for entry in entries {
            entry.lock().expect("inbox badge").engine.compact();
        }
    }

    /// Loads an inbox from its latest snapshot and the events after it, or from its whole log.
    pub async fn restore<S: Store>(
        &self,
        store: &S,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> StoreResult<()> {
        if let Some((seq, bytes)) = store.snapshot(workspace, inbox).await?
            && let Some(mut badge) = self.restored(workspace, seq, &bytes)
        {
            let mut events = events_after(store, workspace, inbox, seq).await?;
            events.sort_by_key(|e| e.seq);
            for event in events {
                badge.offer(event, true);
            }
            if !badge.broken {
                self.install(inbox, badge);
                return Ok(());
            }
        }
        self.rebuild(store, workspace, inbox).await
    }

    fn restored(&self, workspace: WorkspaceId, seq: i64, bytes: &[u8]) -> Option<InboxBadge> {
        let envelope: Envelope = serde_json::from_slice(bytes).ok()?;
        if envelope.version != 1 {
            return None;
        }
        let engine_bytes = crate::crypto::base64_decode(&envelope.engine)?;
        let engine = Engine::from_snapshot(&engine_bytes, self.rules).ok()?;
        let mut badge = InboxBadge::new(workspace, self.rules);
        badge.engine = engine;
        for (index, name) in envelope.names.iter().enumerate() {
            badge.dense.insert(ConversationId(*name), index as u32);
            badge.names.push(ConversationId(*name));
        }
        badge.applied = seq;
        badge.snapshot_seq = seq;
        Some(badge)
    }

    /// Rebuilds an inbox from its whole stored log, in the contract's order.
    pub async fn rebuild<S: Store>(
        &self,
        store: &S,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> StoreResult<()> {
        let mut badge = InboxBadge::new(workspace, self.rules);
        let events = events_after(store, workspace, inbox, 0).await?;
        // Page by page (each in the contract's order), each event keeping its sequence number
        // as its line: the engine places an event that came out of order where it belongs.
        let mut max_seq = 0;
        for event in &events {
            let engine_event = badge.engine_event(event);
            if let Err(error) = badge.engine.push(engine_event) {
                // A fresh engine holds the whole history and refuses nothing.
                tracing::error!(%inbox, %error, "a fresh live badge refused an event");
            }
            max_seq = max_seq.max(event.seq);
        }
        badge.applied = max_seq;
        self.install(inbox, badge);
        Ok(())
    }

    fn install(&self, inbox: InboxId, badge: InboxBadge) {
        let mut inboxes = self.inboxes.lock().expect("live badges");
        let published = inboxes
            .get(&inbox)
            .and_then(|old| old.lock().expect("inbox badge").published);
        let mut badge = badge;
        badge.published = published;
        inboxes.insert(inbox, Arc::new(Mutex::new(badge)));
    }

    pub fn remove(&self, inbox: InboxId) {
        self.inboxes.lock().expect("live badges").remove(&inbox);
    }

    pub fn inboxes(&self) -> Vec<(WorkspaceId, InboxId)> {
        let inboxes = self.inboxes.lock().expect("live badges");
        let mut all: Vec<_> = inboxes
            .iter()
            .map(|(id, entry)| (entry.lock().expect("inbox badge").workspace, *id))
            .collect();
        all.sort();
        all
    }

    /// The figures of an inbox at `now` (or at its latest event, if that is later).
    pub fn figures(&self, inbox: InboxId, now: Millis) -> Option<Figures> {
        let entry = self.entry(inbox)?;
        let badge = entry.lock().expect("inbox badge");
        match badge.figures(now) {
            Ok(figures) => Some(figures),
            Err(error) => {
                tracing::error!(%inbox, %error, "live figures");
                None
            }
        }
    }

    /// The contract's JSON for an inbox at `now`, with the forecast. Conversations are named
    /// by their ids, as in the exported log.
    pub fn report(&self, inbox: InboxId, now: Millis) -> Option<Report<Forecast>> {
        let entry = self.entry(inbox)?;
        let badge = entry.lock().expect("inbox badge");
        let at = badge.evaluation_time(now);
        let result = badge
            .engine
            .figures(at)
            .and_then(|figures| Ok((figures, badge.engine.recent_included(at)?)));
        let (figures, included) = match result {
            Ok(assessed) => assessed,
            Err(error) => {
                tracing::error!(%inbox, %error, "live figures");
                return None;
            }
        };
        let names = |id: pronto_badge::ConversationId| {
            badge
                .names
                .get(id.0 as usize)
                .map_or_else(String::new, |c| c.0.to_string())
        };
        let forecast = forecast(
            &figures,
            &included,
            &self.rules,
            &ForecastSettings::default(),
            &names,
        );
        Some(Report::new(&figures, &self.rules, forecast))
    }

    /// The figures of an inbox if they changed since last published (their evaluation time
    /// aside), marking them published.
    pub fn changed_figures(
        &self,
        inbox: InboxId,
        now: Millis,
    ) -> Option<(WorkspaceId, FiguresView)> {
        let entry = self.entry(inbox)?;
        let mut badge = entry.lock().expect("inbox badge");
        let figures = badge.figures(now).ok()?;
        let same = badge.published.is_some_and(|published| {
            Figures {
                evaluated_at: figures.evaluated_at,
                ..published
            } == figures
        });
        if same {
            return None;
        }
        badge.published = Some(figures);
        Some((badge.workspace, self.view(inbox, &figures)))
    }

    pub fn view(&self, inbox: InboxId, figures: &Figures) -> FiguresView {
        FiguresView {
            inbox,
            report: Report::new(figures, &self.rules, None),
        }
    }

    /// Saves a snapshot of every inbox that changed since its last one. Returns how many.
    pub async fn save_snapshots<S: Store>(&self, store: &S) -> StoreResult<usize> {
        let entries: Vec<_> = {
            let inboxes = self.inboxes.lock().expect("live badges");
            inboxes.iter().map(|(id, e)| (*id, e.clone())).collect()
        };
        let mut saved = 0;
        for (inbox, entry) in entries {
            let snapshot = {
                let badge = entry.lock().expect("inbox badge");
                if badge.applied == badge.snapshot_seq || !badge.waiting.is_empty() || badge.broken
                {
                    continue;
                }
                let Some(bytes) = badge.engine.snapshot() else {
                    continue;
                };
                let envelope = Envelope {
                    version: 1,
                    names: badge.names.iter().map(|c| c.0).collect(),
                    engine: crate::crypto::base64_encode(&bytes),
                };
                let bytes = serde_json::to_vec(&envelope).expect("an envelope serializes");
                (badge.workspace, badge.applied, bytes)
            };
            let (workspace, seq, bytes) = snapshot;
            store.save_snapshot(workspace, inbox, seq, &bytes).await?;
            entry.lock().expect("inbox badge").snapshot_seq = seq;
            saved += 1;
        }
        Ok(saved)
    }

    /// The figures of an inbox at `now` with the starts its window counts (settled, not
    /// excluded, in the contract's order, conversations named by their store ids): what the
    /// dashboard pools across inboxes and draws.
    pub fn windowed_starts(
        &self,
        inbox: InboxId,
        now: Millis,
    ) -> Option<(Figures, Vec<(ConversationId, pronto_badge::Start)>)> {
        let entry = self.entry(inbox)?;
        let badge = entry.lock().expect("inbox badge");
        let at = badge.evaluation_time(now);
        let figures = badge.engine.figures(at).ok()?;
        let included = badge.engine.recent_included(at).ok()?;
        let (Some(from), Some(to)) = (figures.window.from, figures.window.to) else {
            return Some((figures, Vec::new()));
        };
        let starts = included
            .into_iter()
            .filter(|s| s.at() >= from && s.at() <= to)
            .filter(|s| s.is_answered() || at - s.at() >= self.rules.reply_window)
            .filter_map(|s| {
                let name = *badge.names.get(s.conversation.0 as usize)?;
                Some((name, s))
            })
            .collect();
        Some((figures, starts))
    }
}

/// Every event of an inbox with `seq > after_seq`, page by page (see [`Store::inbox_events`]).
pub async fn events_after<S: Store>(
    store: &S,
    workspace: WorkspaceId,
    inbox: InboxId,
    after_seq: i64,
) -> StoreResult<Vec<InboxEvent>> {
    let mut events = Vec::new();
    let mut after = after_seq;
    loop {
        let page = store.inbox_events(workspace, inbox, after, PAGE).await?;
        let full = page.len() as u32 == PAGE;
        after = page.iter().map(|e| e.seq).max().unwrap_or(after);
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}

/// An instant as the contract prints it.
pub fn utc(at: Millis) -> String {
    Utc(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_badge::Author;
    use pronto_badge::time::MINUTE;
    use pronto_core::store::InboxFact;

    fn message(seq: i64, at: Millis, conversation: i64, author: Author) -> InboxEvent {
        InboxEvent {
            inbox: InboxId(1),
            seq,
            at,
            fact: InboxFact::Message {
                conversation: ConversationId(conversation),
                author,
            },
        }
    }

    #[test]
    fn events_are_pushed_in_sequence_order_once() {
        let mut badge = InboxBadge::new(WorkspaceId(1), Rules::default());
        let start = message(1, 0, 7, Author::Customer);
        let answer = message(2, 5 * MINUTE, 7, Author::Agent);
        // The answer overtakes its start: it waits.
        badge.offer(answer.clone(), false);
        assert_eq!(badge.applied, 0);
        assert_eq!(badge.waiting.len(), 1);
        badge.offer(start.clone(), false);
        assert_eq!(badge.applied, 2);
        assert!(badge.waiting.is_empty());
        // Duplicates change nothing.
        badge.offer(start, false);
        badge.offer(answer, false);
        let figures = badge.figures(10 * MINUTE).unwrap();
        assert_eq!(figures.window.starts, 1);
        assert_eq!(figures.window.answered, 1);
        assert_eq!(figures.window.kept_total, 5 * MINUTE);
        // A gap the store confirms (events read in order from it) is passed over.
        badge.offer(message(5, 20 * MINUTE, 8, Author::Customer), true);
        assert_eq!(badge.applied, 5);
        assert_eq!(badge.figures(21 * MINUTE).unwrap().pending, 1);
        // The evaluation time is never before the latest event.
        assert_eq!(badge.evaluation_time(0), 20 * MINUTE);
    }
}
