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
//!
//! Memory follows the recent weeks, not the years: when a snapshot is saved (and every
//! [`RELEASE_EVERY`] events while catching up), each inbox lets go of the conversations its
//! figures can do without (`pronto_badge::tracker::Tracker::release_idle`), and a conversation
//! let go is read back from the store at its next event. An unknown conversation is either new
//! or let go: the store tells, with one indexed read per batch of events.

use crate::engine::{Engine, EngineError};
use pronto_badge::forecast::{Forecast, ForecastSettings, forecast};
use pronto_badge::report::Report;
use pronto_badge::{Event, Figures, Millis, Rules, Utc};
use pronto_core::store::{InboxEvent, InboxFact, Store, StoreResult};
use pronto_core::{ConversationId, InboxId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Events read from the store per page when catching up.
const PAGE: u32 = 5_000;

/// While catching up on many events (a rebuild, a start after a long stop), conversations are
/// let go every this many events, so that reading years of history takes the memory of weeks.
pub const RELEASE_EVERY: u64 = 100_000;

/// An inbox whose events came later than its late horizon (a backfill of the last 30 days,
/// newest first; a channel's clock far ahead) gets a horizon twice as long as that lateness,
/// so that its next late events are placed instead of each costing a rebuild; it goes back to
/// the setting after this many snapshot saves without one.
const QUIET_SAVES: u32 = 12;

/// The widest horizon an inbox is given (beyond it, a late event costs a rebuild each time).
const WIDEST_HORIZON: Millis = 2 * 365 * pronto_badge::time::DAY;

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
    /// An event waits for a conversation that is new or was let go: the store must tell.
    needs_store: bool,
    /// Events pushed since conversations were last let go.
    since_release: u64,
    /// Some conversation may have been let go: until then, one the engine does not hold is new.
    let_go_some: bool,
    /// While the log is read from its start (a rebuild): every conversation it has shown so
    /// far, so that one not among them is known to be new without asking the store.
    seen: Option<Seen>,
    /// The instant of the latest event refused for being later than the horizon.
    refused_late: Option<Millis>,
    /// Snapshot saves since the horizon was last widened.
    quiet_saves: u32,
    /// `applied` when the last snapshot was saved.
    snapshot_seq: i64,
    /// The figures last published (their evaluation time aside).
    published: Option<Figures>,
}

impl InboxBadge {
    fn new(workspace: WorkspaceId, engine: Engine) -> Self {
        Self {
            refused_late: None,
            quiet_saves: 0,
            workspace,
            engine,
            dense: HashMap::new(),
            names: Vec::new(),
            applied: 0,
            waiting: BTreeMap::new(),
            broken: false,
            needs_store: false,
            since_release: 0,
            let_go_some: false,
            seen: None,
            snapshot_seq: 0,
            published: None,
        }
    }

    /// Whether the engine holds the event's conversation (availability has none), or knows
    /// it to be new.
    fn knows(&self, event: &InboxEvent) -> bool {
        conversation_of(event).is_none_or(|c| {
            !self.let_go_some
                || self.dense.contains_key(&c)
                || self.seen.as_ref().is_some_and(|seen| seen.is_new(c))
        })
    }

    /// Gives a conversation the engine does not hold the next dense id.
    fn admit(&mut self, conversation: ConversationId) -> pronto_badge::ConversationId {
        if let Some(seen) = &mut self.seen {
            seen.insert(conversation);
        }
        let id = self.names.len() as u32;
        self.dense.insert(conversation, id);
        self.names.push(conversation);
        pronto_badge::ConversationId(id)
    }

    /// The event as the engine takes it, a new conversation given the next dense id.
    fn engine_event(&mut self, event: &InboxEvent) -> Event {
        if let Some(conversation) = conversation_of(event)
            && !self.dense.contains_key(&conversation)
        {
            self.admit(conversation);
        }
        event.to_badge_event(|conversation| pronto_badge::ConversationId(self.dense[&conversation]))
    }

    /// Takes an event in; `gapless`: the caller knows no earlier event is missing (it read
    /// them from the store in order). An event of a conversation the engine does not hold
    /// waits for the store to tell whether it is new or was let go.
    fn offer(&mut self, event: InboxEvent, gapless: bool) {
        if event.seq <= self.applied || self.waiting.contains_key(&event.seq) {
            return;
        }
        let known = self.knows(&event);
        if (event.seq == self.applied + 1 || gapless) && known {
            self.push(&event);
            self.drain();
        } else {
            self.needs_store |= !known;
            self.waiting.insert(event.seq, event);
        }
    }

    fn drain(&mut self) {
        while let Some((&seq, event)) = self.waiting.first_key_value() {
            if seq != self.applied + 1 {
                break;
            }
            if !self.knows(event) {
                self.needs_store = true;
                break;
            }
            let event = self.waiting.remove(&seq).expect("the first waiting event");
            self.push(&event);
        }
    }

    fn push(&mut self, event: &InboxEvent) {
        let engine_event = self.engine_event(event);
        if let Err(error) = self.engine.push(engine_event) {
            tracing::info!(inbox = %event.inbox, %error, "the live badge will rebuild from the store");
            if let EngineError::TooLate { at, .. } = error {
                self.refused_late = Some(self.refused_late.map_or(at, |earlier| earlier.min(at)));
            }
            self.broken = true;
        }
        self.applied = self.applied.max(event.seq);
        self.since_release += 1;
    }

    /// Lets go of the conversations the figures can do without in memory, and names the
    /// others by their new dense ids.
    fn release_idle(&mut self) {
        let renumbered = self.engine.release_idle();
        let held = renumbered.iter().flatten().count();
        let mut names = vec![ConversationId(0); held];
        let mut dense = HashMap::with_capacity(held);
        // Ids past the engine's end had nothing pushed to them: they go too.
        for (old, &name) in self.names.iter().enumerate() {
            if let Some(new) = renumbered.get(old).copied().flatten() {
                names[new.0 as usize] = name;
                dense.insert(name, new.0);
            }
        }
        self.let_go_some |= held < self.names.len();
        self.names = names;
        self.dense = dense;
        self.since_release = 0;
    }

    /// Pushes a page of stored events (all with `seq` up to the page's greatest stored), taking
    /// back first, from `returning`, the conversations the engine does not hold.
    fn take_page(&mut self, mut page: Vec<InboxEvent>, returning: Option<Returning>) -> Progress {
        if returning
            .as_ref()
            .is_some_and(|r| r.floor != self.engine.floor())
        {
            // Folded meanwhile: the availability read may not reach the new floor.
            return Progress::Again;
        }
        let mut returning = returning.map(Returning::by_conversation);
        page.sort_by_key(|e| e.seq);
        for event in page {
            if event.seq <= self.applied {
                continue;
            }
            if let Some(conversation) = conversation_of(&event)
                && !self.knows(&event)
            {
                let Some(history) = returning
                    .as_mut()
                    .and_then(|r| r.history.remove(&conversation))
                else {
                    // Let go after the store was asked: ask again.
                    return Progress::Again;
                };
                let availability = returning.as_ref().map_or(&[][..], |r| &r.availability);
                if let Err(error) = self.readmit(conversation, &history, availability) {
                    tracing::warn!(inbox = %event.inbox, %error, "the live badge will rebuild from the store");
                    self.broken = true;
                    return Progress::Broken;
                }
            }
            // The stored event stands for any copy of it waiting.
            self.waiting.remove(&event.seq);
            self.offer(event, true);
            if self.broken {
                return Progress::Broken;
            }
        }
        let applied = self.applied;
        self.waiting.retain(|&seq, _| seq > applied);
        self.recheck_waiting();
        Progress::Done
    }

    /// Whether an event waits for the store to tell of its conversation.
    fn recheck_waiting(&mut self) {
        self.needs_store = self.waiting.values().any(|e| !self.knows(e));
    }

    /// Takes a conversation back (or in, when new) with its stored history.
    fn readmit(
        &mut self,
        conversation: ConversationId,
        history: &[InboxEvent],
        availability: &[pronto_badge::AvailabilityEvent],
    ) -> Result<(), EngineError> {
        let id = self.admit(conversation);
        let applied = self.applied;
        let history: Vec<_> = history
            .iter()
            .filter(|e| e.seq <= applied)
            .filter_map(|e| match e.to_badge_event(|_| id) {
                Event::Conversation(e) => Some(e),
                Event::Availability(_) => None,
            })
            .collect();
        let availability: Vec<_> = availability
            .iter()
            .filter(|e| e.seq <= applied.max(0) as u64)
            .copied()
            .collect();
        self.engine.readmit(id, &history, &availability)
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

/// Conversation ids, as bits: at most 16 MiB (ids below 2^27); a larger id is never taken for
/// new, so the store is asked about it.
#[derive(Default)]
struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    const LIMIT: i64 = 1 << 27;

    fn insert(&mut self, conversation: ConversationId) {
        if (0..Self::LIMIT).contains(&conversation.0) {
            let (word, bit) = (conversation.0 as usize / 64, conversation.0 % 64);
            if word >= self.bits.len() {
                self.bits.resize(word + 1, 0);
            }
            self.bits[word] |= 1 << bit;
        }
    }

    fn is_new(&self, conversation: ConversationId) -> bool {
        let (word, bit) = (conversation.0 as usize / 64, conversation.0 % 64);
        (0..Self::LIMIT).contains(&conversation.0)
            && self.bits.get(word).is_none_or(|w| w & (1 << bit) == 0)
    }
}

/// The conversation of a conversation event.
fn conversation_of(event: &InboxEvent) -> Option<ConversationId> {
    match &event.fact {
        InboxFact::Message { conversation, .. } | InboxFact::Status { conversation, .. } => {
            Some(*conversation)
        }
        InboxFact::Availability { .. } => None,
    }
}

/// What the store told of the conversations of a page the engine did not hold: their events
/// so far (none for a new one), and the inbox's availability before the engine's floor.
struct Returning {
    asked: Vec<ConversationId>,
    history: Vec<InboxEvent>,
    availability: Vec<InboxEvent>,
    floor: Millis,
}

/// [`Returning`] with each conversation's history apart.
struct ReturningHistories {
    history: HashMap<ConversationId, Vec<InboxEvent>>,
    availability: Vec<pronto_badge::AvailabilityEvent>,
}

impl Returning {
    fn by_conversation(self) -> ReturningHistories {
        let mut history: HashMap<_, Vec<_>> = self.asked.iter().map(|&c| (c, Vec::new())).collect();
        for event in self.history {
            if let Some(events) = conversation_of(&event).and_then(|c| history.get_mut(&c)) {
                events.push(event);
            }
        }
        let availability = self
            .availability
            .iter()
            .filter_map(
                |e| match e.to_badge_event(|_| pronto_badge::ConversationId(0)) {
                    Event::Availability(a) => Some(a),
                    Event::Conversation(_) => None,
                },
            )
            .collect();
        ReturningHistories {
            history,
            availability,
        }
    }
}

/// How far a page got.
enum Progress {
    Done,
    /// Something changed while the store was read: read again.
    Again,
    Broken,
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
    late_horizon: Millis,
    inboxes: Mutex<HashMap<InboxId, Arc<Mutex<InboxBadge>>>>,
    /// How many times an inbox was read again from its whole log.
    rebuilds: std::sync::atomic::AtomicU64,
}

impl LiveBadges {
    /// `late_horizon`: how late an event may come and still be placed without a rebuild; also
    /// how long a silent conversation stays in memory (see `Tracker::release_idle`).
    pub fn new(rules: Rules, late_horizon: Millis) -> Self {
        Self {
            rules,
            late_horizon,
            inboxes: Mutex::new(HashMap::new()),
            rebuilds: Default::default(),
        }
    }

    /// How many times an inbox was rebuilt from its whole log since the start.
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn new_badge(&self, workspace: WorkspaceId, late_horizon: Millis) -> InboxBadge {
        InboxBadge::new(workspace, Engine::new(self.rules, late_horizon))
    }

    /// How many conversations the live badges hold in memory, over every inbox.
    pub fn resident_conversations(&self) -> usize {
        let entries: Vec<_> = self
            .inboxes
            .lock()
            .expect("live badges")
            .values()
            .cloned()
            .collect();
        entries
            .iter()
            .map(|entry| entry.lock().expect("inbox badge").names.len())
            .sum()
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
    /// (not loaded yet, broken, or with an event of a conversation the engine does not hold).
    pub fn apply(&self, events: &[InboxEvent]) -> Vec<InboxId> {
        let mut to_sync = Vec::new();
        for event in events {
            match self.entry(event.inbox) {
                Some(entry) => {
                    let mut badge = entry.lock().expect("inbox badge");
                    badge.offer(event.clone(), false);
                    if (badge.broken || badge.needs_store) && !to_sync.contains(&event.inbox) {
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
        if entry.lock().expect("inbox badge").broken {
            return self.rebuild(store, workspace, inbox).await;
        }
        if !read_log(store, workspace, inbox, &entry, Some(RELEASE_EVERY)).await? {
            return self.rebuild(store, workspace, inbox).await;
        }
        Ok(())
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
            // A snapshot from before conversations were let go holds them all.
            badge.release_idle();
            let entry = Mutex::new(badge);
            if read_log(store, workspace, inbox, &entry, Some(RELEASE_EVERY)).await? {
                self.install(inbox, entry.into_inner().expect("inbox badge"));
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
        let engine = Engine::from_snapshot(&engine_bytes, self.rules, self.late_horizon).ok()?;
        let mut badge = InboxBadge::new(workspace, engine);
        for name in envelope.names {
            badge.admit(ConversationId(name));
        }
        // Conversations it let go are not named in it.
        badge.let_go_some = true;
        badge.applied = seq;
        badge.snapshot_seq = seq;
        Some(badge)
    }

    /// Rebuilds an inbox from its whole stored log, page by page, letting conversations go
    /// as it reads so that years of history take the memory of weeks. Should an event come
    /// later than the late horizon behind those read before it (a backfill of old messages),
    /// the engine cannot place it once it has let go; the log is then read again with the
    /// whole history held, which refuses nothing.
    pub async fn rebuild<S: Store>(
        &self,
        store: &S,
        workspace: WorkspaceId,
        inbox: InboxId,
    ) -> StoreResult<()> {
        self.rebuilds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Late events widen the horizon, so that the next ones (the rest of a backfill) fit.
        let late_horizon = self.entry(inbox).map_or(self.late_horizon, |entry| {
            let old = entry.lock().expect("inbox badge");
            match (old.refused_late, old.engine.latest_at()) {
                (Some(at), Some(latest)) => {
                    let horizon = old.engine.late_horizon();
                    horizon.max(2 * (latest - at)).min(WIDEST_HORIZON)
                }
                _ => old.engine.late_horizon(),
            }
        });
        let mut badge = None;
        for release_every in [Some(RELEASE_EVERY), None] {
            let mut fresh = self.new_badge(workspace, late_horizon);
            fresh.seen = Some(Seen::default());
            let entry = Mutex::new(fresh);
            if read_log(store, workspace, inbox, &entry, release_every).await? {
                badge = Some(entry.into_inner().expect("inbox badge"));
                break;
            }
            tracing::info!(%inbox, "the live badge reads its log again, holding all of it");
        }
        let Some(mut badge) = badge else {
            // A fresh engine holding the whole history refuses nothing; should it all the
            // same, the inbox shows no figures rather than wrong ones.
            tracing::error!(%inbox, "a live badge holding its whole history refused an event");
            return Ok(());
        };
        badge.release_idle();
        badge.seen = None;
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

    /// The non-excluded starts of an inbox after `now` less the window, settled or pending,
    /// in the contract's order: what the dashboard's daily series are drawn from. Exactly the
    /// batch computation's over the whole log, without reading it.
    pub fn recent_starts(&self, inbox: InboxId, now: Millis) -> Option<Vec<pronto_badge::Start>> {
        let entry = self.entry(inbox)?;
        let badge = entry.lock().expect("inbox badge");
        let at = badge.evaluation_time(now);
        let starts = badge.engine.recent_included(at).ok()?;
        let after = at - self.rules.window();
        Some(starts.into_iter().filter(|s| s.at() > after).collect())
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
                let mut badge = entry.lock().expect("inbox badge");
                if badge.applied == badge.snapshot_seq || !badge.waiting.is_empty() || badge.broken
                {
                    continue;
                }
                if badge.engine.late_horizon() > self.late_horizon {
                    badge.quiet_saves += 1;
                    if badge.quiet_saves >= QUIET_SAVES {
                        badge.engine.set_late_horizon(self.late_horizon);
                    }
                }
                badge.release_idle();
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

/// Reads an inbox's stored log after the last event pushed, page by page, and pushes it,
/// taking back from the store the conversations it holds events of that the engine does not
/// hold; with `release_every`, lets conversations go every that many events. `false` when the
/// engine refused an event (the inbox must be rebuilt).
async fn read_log<S: Store>(
    store: &S,
    workspace: WorkspaceId,
    inbox: InboxId,
    entry: &Mutex<InboxBadge>,
    release_every: Option<u64>,
) -> StoreResult<bool> {
    loop {
        let (applied, floor) = {
            let badge = entry.lock().expect("inbox badge");
            (badge.applied, badge.engine.floor())
        };
        let page = store.inbox_events(workspace, inbox, applied, PAGE).await?;
        let Some(through) = page.iter().map(|e| e.seq).max() else {
            let mut badge = entry.lock().expect("inbox badge");
            badge.recheck_waiting();
            return Ok(!badge.broken);
        };
        let full = page.len() as u32 == PAGE;
        let mut asked: Vec<ConversationId> = {
            let badge = entry.lock().expect("inbox badge");
            page.iter()
                .filter(|e| e.seq > badge.applied && !badge.knows(e))
                .filter_map(conversation_of)
                .collect()
        };
        asked.sort_unstable();
        asked.dedup();
        let returning = match asked.is_empty() {
            true => None,
            false => {
                let history = store
                    .conversation_events(workspace, inbox, &asked, through)
                    .await?;
                let availability = match history.is_empty() {
                    true => Vec::new(),
                    false => {
                        store
                            .availability_before(workspace, inbox, floor, through)
                            .await?
                    }
                };
                Some(Returning {
                    asked,
                    history,
                    availability,
                    floor,
                })
            }
        };
        let mut badge = entry.lock().expect("inbox badge");
        match badge.take_page(page, returning) {
            Progress::Broken => return Ok(false),
            Progress::Again => continue,
            Progress::Done => {}
        }
        if release_every.is_some_and(|every| badge.since_release >= every) {
            badge.release_idle();
        }
        if !full {
            return Ok(true);
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
        let engine = Engine::new(
            Rules::default(),
            pronto_badge::tracker::DEFAULT_LATE_HORIZON,
        );
        let mut badge = InboxBadge::new(WorkspaceId(1), engine);
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
        // Once conversations may have been let go, one the engine does not hold waits for the
        // store to tell whether it is new or comes back.
        badge.let_go_some = true;
        badge.offer(message(6, 21 * MINUTE, 9, Author::Customer), false);
        assert_eq!(badge.applied, 5);
        assert!(badge.needs_store);
        assert_eq!(badge.figures(22 * MINUTE).unwrap().pending, 1);
    }
}
