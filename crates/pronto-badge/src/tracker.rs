//! The incremental tracker: a live inbox's figures, kept up to date one event at a time.
//!
//! Events are pushed one at a time, mostly in time order; a late one (earlier than events
//! already pushed) is placed where it belongs. [`Tracker::figures`] at any evaluation time at
//! or after the latest pushed event equals [`crate::batch::evaluate`] over the events in push
//! order, each event's `seq` being its place among same-instant events (the caller pushes in
//! increasing `seq`).
//!
//! # How it stays exact and fast
//!
//! Each conversation keeps its customer, agent and status events in order (automation is
//! invisible, so it is not kept) and the starts they derive. An event after its
//! conversation's last one steps the conversation's rule-2/3/4 state machine once; an earlier
//! one re-derives that conversation's starts and applies only the difference. An availability
//! event re-examines the starts between it and the next availability event. Every start is
//! counted either in [`Excluded`] or in the index of non-excluded starts, which keeps:
//! - all of them by position, and the answered ones by position (for rule 6's last-N
//!   fallback, walked from the end);
//! - the unanswered ones in an [`OrderStatistics`] (pending = how many are after an instant);
//! - the window `(L − window, L]` by instant, L being the latest non-excluded start, moved
//!   along as L moves: its start count and its answers' response times in an
//!   [`OrderStatistics`] keyed by (response, position), for the sum of the fastest k.
//!
//! The evaluation time only decides which unanswered starts are still pending, so
//! [`Tracker::figures`] is a handful of O(log n) queries plus a walk of at most
//! `fallback_starts` starts.
//!
//! Costs, n being the starts held and N `fallback_starts`:
//! - a push after its conversation's last event: O(log n), plus O(log n) for each start the
//!   window's lower end passes over as L moves (amortized O(log n) in time order);
//! - a late conversation event: O(e + s log n) for the conversation's e events and s starts;
//!   a status that flips spam costs that much too, in time order or not;
//! - an availability event: O(log n) for each start between it and the next one;
//! - [`Tracker::figures`]: O(log n + N); [`Tracker::recent_included`]: O(log n + N + output);
//! - memory: every event of a full-history tracker, a few words per start; [`Tracker::compact`]
//!   bounds it to the late horizon's events, the window's starts and a summary per
//!   conversation.
//!
//! # Snapshots and the late horizon
//!
//! [`Tracker::snapshot`] folds history older than the late horizon (by default 7 days before
//! the latest pushed event) into per-conversation summaries, so a server restarts from a few
//! bytes per conversation plus the window instead of months of events. The restored tracker
//! (and [`Tracker::compact`], which folds in place) refuses, with [`TrackerError::TooLate`],
//! any non-automation event earlier than that floor. It keeps only the non-excluded starts
//! that can still matter for the figures (the window and the last `fallback_starts` settled
//! ones, with a margin); should a later event (say, a spam status removing the latest starts)
//! make the figures depend on a start that was let go, the push is undone and refused with
//! [`TrackerError::NeedsFoldedStarts`]. Either way the server rebuilds from its store.
//!
//! # Letting conversations go
//!
//! Summaries alone would still grow with every conversation ever seen. [`Tracker::release_idle`]
//! folds and then lets go of the conversations the figures can do without: nothing since the
//! floor, nothing held, and a last start too old to matter. Only their share of the counts
//! stays (their exclusions, and their latest non-excluded start, treated as let go). When one
//! of them writes again, the caller reads its events back from its log and hands them to
//! [`Tracker::readmit`], which derives the same summary again; so memory follows the last
//! weeks' conversations, whatever the years behind them.
//!
//! Format, version 2 (version 1 is still read): integers are LEB128 varints, signed ones
//! zigzag-encoded first.
//! - `"PRTK"`, version; the rules that shape the state (silence, reply window, window days,
//!   fallback starts, away reset), the late horizon, the floor, the latest pushed position;
//! - availability: the last change before the floor (if any), then every change after it;
//! - (version 2) what the conversations let go of count for: spam, done and away starts, and
//!   the latest non-excluded one;
//! - per conversation (dense ids): its folded summary, if any — the state machine (last
//!   customer/agent message instant, latest status), the current start (its segment may go
//!   on past the floor: position, response, done and away flags), the other folded starts
//!   counted by class (non-excluded, done, away), the non-excluded ones that are held for the
//!   figures (position, response), and the latest one let go — then its events since the
//!   floor (position, fact).
//!
//! Instants are written as differences from the previously written instant, positions as an
//! instant and a raw `seq`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded as After, Unbounded};

use crate::event::{
    Author, Availability, AvailabilityEvent, ConversationEvent, ConversationId, Event, Fact,
    Position, Status,
};
use crate::figures::{Excluded, Figures, Window};
use crate::order_stat::OrderStatistics;
use crate::rules::{Basis, Rules};
use crate::starts::{Exclusion, Start, is_away_at};
use crate::time::{DAY, Millis, Utc};

/// How far before the latest pushed event a snapshot keeps full history, by default.
pub const DEFAULT_LATE_HORIZON: Millis = 7 * DAY;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    #[error(
        "an event at {} is earlier than {}, before which history was folded into a snapshot",
        Utc(*at), Utc(*floor)
    )]
    TooLate { at: Millis, floor: Millis },
    #[error(
        "the event at {} would make the figures depend on starts a snapshot let go",
        Utc(*at)
    )]
    NeedsFoldedStarts { at: Millis },
    #[error(
        "evaluation time {} is before the latest pushed event, at {}",
        Utc(*evaluated_at), Utc(*latest)
    )]
    EvaluatedBeforeLatest {
        evaluated_at: Millis,
        latest: Millis,
    },
    #[error("the snapshot is cut short")]
    SnapshotTruncated,
    #[error("not a tracker snapshot, or of an unknown version")]
    SnapshotVersion,
    #[error("the snapshot was taken under other rules (silence, windows or away reset)")]
    SnapshotRules,
    #[error("the snapshot is corrupt: {0}")]
    SnapshotCorrupt(&'static str),
    #[error("a conversation cannot be taken back: {0}")]
    Readmission(&'static str),
}

/// An inbox's figures, kept up to date event by event.
#[derive(Clone, Debug)]
pub struct Tracker {
    rules: Rules,
    late_horizon: Millis,
    /// Conversation and availability events before this instant were folded into summaries.
    floor: Millis,
    latest: Option<Position>,
    conversations: Vec<Conversation>,
    availability: Timeline,
    tally: Tally,
    /// What the conversations let go of by [`Tracker::release_idle`] still count for.
    let_go: LetGo,
    /// A conversation's starts are derived again into this, to spare an allocation.
    scratch: Vec<Derived>,
}

impl Tracker {
    /// An empty tracker holding full history: it never refuses an event.
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            late_horizon: DEFAULT_LATE_HORIZON,
            floor: Millis::MIN,
            latest: None,
            conversations: Vec::new(),
            availability: Timeline::default(),
            tally: Tally::default(),
            let_go: LetGo::default(),
            scratch: Vec::new(),
        }
    }

    /// Sets how much history before the latest pushed event a snapshot keeps in full: events
    /// that arrive later than this cannot be placed by a restored tracker.
    pub fn with_late_horizon(mut self, late_horizon: Millis) -> Self {
        self.late_horizon = late_horizon.max(0);
        self
    }

    /// [`Tracker::with_late_horizon`] in place: the next fold keeps that much history.
    pub fn set_late_horizon(&mut self, late_horizon: Millis) {
        self.late_horizon = late_horizon.max(0);
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn late_horizon(&self) -> Millis {
        self.late_horizon
    }

    /// Events before this instant are refused (`Millis::MIN` while the tracker holds full
    /// history).
    pub fn floor(&self) -> Millis {
        self.floor
    }

    /// The latest position pushed so far: figures are for instants at or after it.
    pub fn latest(&self) -> Option<Position> {
        self.latest
    }

    /// Places one event. On an error nothing changed.
    pub fn push(&mut self, event: Event) -> Result<(), TrackerError> {
        let automation = matches!(
            event,
            Event::Conversation(e) if e.fact == Fact::Message(Author::Automation)
        );
        if automation {
            // Invisible to every rule: it only moves the latest pushed instant.
            self.latest = self.latest.max(Some(event.position()));
            return Ok(());
        }
        if event.at() < self.floor {
            return Err(TrackerError::TooLate {
                at: event.at(),
                floor: self.floor,
            });
        }
        let previous_latest = self.latest;
        self.latest = self.latest.max(Some(event.position()));
        match event {
            Event::Conversation(e) => self.place(e.conversation, Kept::new(e.position(), e.fact)),
            Event::Availability(e) => self.place_availability(e),
        }
        self.tally.included.move_window(self.rules.window());
        if self.needs_folded_starts() {
            match event {
                Event::Conversation(e) => self.unplace(e.conversation, e.position()),
                Event::Availability(e) => self.unplace_availability(e.position()),
            }
            self.tally.included.move_window(self.rules.window());
            self.latest = previous_latest;
            return Err(TrackerError::NeedsFoldedStarts { at: event.at() });
        }
        Ok(())
    }

    /// The figures at `evaluated_at`, which must not be before the latest pushed event.
    pub fn figures(&self, evaluated_at: Millis) -> Result<Figures, TrackerError> {
        self.check_evaluation_time(evaluated_at)?;
        let included = &self.tally.included;
        let window = included.window(evaluated_at, &self.rules);
        Ok(Figures {
            evaluated_at,
            badge: window.earns_badge(&self.rules),
            window,
            pending: included.unanswered_after(evaluated_at - self.rules.reply_window) as u64,
            excluded: self.tally.excluded.plus(self.let_go.excluded),
        })
    }

    /// The non-excluded starts, settled and pending, in position order, that a forecast may
    /// need at `evaluated_at`: every one after `evaluated_at − window`, and before those as
    /// many as it takes to include the last `fallback_starts` settled ones (all of them, if
    /// there are not that many). A suffix of batch's `Assessment::included`.
    pub fn recent_included(&self, evaluated_at: Millis) -> Result<Vec<Start>, TrackerError> {
        self.check_evaluation_time(evaluated_at)?;
        let included = &self.tally.included;
        let Some((&first, _)) = included.starts.first_key_value() else {
            return Ok(Vec::new());
        };
        let wanted = self.rules.fallback_starts as usize;
        let last_settled: Vec<_> = included.last_settled(evaluated_at, &self.rules).collect();
        let earliest_settled = if last_settled.len() < wanted {
            first
        } else {
            last_settled.last().map_or(first, |&(position, _)| position)
        };
        let in_days = just_after(evaluated_at - self.rules.window());
        let from = earliest_settled.min(in_days);
        let starts = included
            .starts
            .range(from..)
            .map(|(&position, &entry)| Start {
                position,
                conversation: entry.conversation,
                response: entry.response,
                exclusion: None,
            });
        Ok(starts.collect())
    }

    /// The state as compact bytes, history before the late horizon folded (see the module
    /// documentation).
    pub fn snapshot(&self) -> Vec<u8> {
        encode(&self.rules, &self.fold(false).0, VERSION)
    }

    /// Restores a snapshot. `rules` must shape starts and windows as the snapshot's did
    /// (silence, reply window, window days, fallback starts, away reset); the badge
    /// thresholds may differ, since they only read the state.
    pub fn from_snapshot(bytes: &[u8], rules: Rules) -> Result<Self, TrackerError> {
        let folded = decode(bytes, &rules)?;
        Ok(Self::unfold(rules, folded))
    }

    /// Folds history before the late horizon in place, as a snapshot and restore would.
    pub fn compact(&mut self) {
        let (folded, _) = self.fold(false);
        *self = Self::unfold(self.rules, folded);
    }

    /// Folds as [`Tracker::compact`] does, then lets go of every conversation the figures can
    /// do without in memory: nothing of it since the floor, none of its starts held, and its
    /// last start, if still unanswered, older than the figures can reach. What those count for
    /// stays (their exclusions, and their latest non-excluded start, which the figures are
    /// never allowed to depend on), and the others are numbered afresh: the result maps each
    /// old id to its new one, `None` for those let go (ids past its end had nothing pushed to
    /// them, and are let go as well). A conversation let go must be taken
    /// back with [`Tracker::readmit`] before any event of it is pushed again.
    ///
    /// So memory holds the conversations of the last weeks, not of every year.
    pub fn release_idle(&mut self) -> Vec<Option<ConversationId>> {
        let (folded, renumbered) = self.fold(true);
        *self = Self::unfold(self.rules, folded);
        renumbered
    }

    /// Takes back, as `id`, a conversation that [`Tracker::release_idle`] let go, before its
    /// next event is pushed. `history` holds every event of it pushed before (in any order;
    /// automation and other conversations' events are passed over), `availability` at least
    /// every availability event before the floor. `id` must be unused: past the end, or one
    /// no event has been pushed to. An empty history (a new conversation) changes nothing.
    ///
    /// The conversation's summary is derived again from its history, exactly as folding had
    /// made it, and what it counted for moves back from the conversations let go to it. On an
    /// error (the history does not fit what was let go) nothing changed.
    pub fn readmit(
        &mut self,
        id: ConversationId,
        history: &[ConversationEvent],
        availability: &[AvailabilityEvent],
    ) -> Result<(), TrackerError> {
        let mut events: Vec<Kept> = history
            .iter()
            .filter(|e| e.conversation == id && e.fact != Fact::Message(Author::Automation))
            .map(|e| Kept::new(e.position(), e.fact))
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let index = id.0 as usize;
        if self
            .conversations
            .get(index)
            .is_some_and(|c| !c.is_unused())
        {
            return Err(TrackerError::Readmission("the id is in use"));
        }
        events.sort_unstable_by_key(|e| e.position);
        events.dedup_by_key(|e| e.position);
        if events.last().is_some_and(|e| e.position.at >= self.floor) {
            return Err(TrackerError::Readmission("an event after the floor"));
        }
        let before_floor = Timeline {
            before_floor: None,
            changes: availability
                .iter()
                .filter(|e| e.at < self.floor)
                .map(|e| (e.position(), e.availability))
                .collect(),
        };
        let history = Conversation {
            events,
            ..Conversation::default()
        };
        let (Some(summary), _) = history.fold(self.floor, Millis::MAX, &self.rules, &before_floor)
        else {
            unreachable!("a history before the floor folds into a summary");
        };
        self.let_go = self
            .let_go
            .without(LetGo::share_of(&summary))
            .ok_or(TrackerError::Readmission("more than was let go"))?;
        let conversation = self.settle(id, Some(summary), Vec::new());
        if index >= self.conversations.len() {
            self.conversations
                .resize_with(index + 1, Conversation::default);
        }
        self.conversations[index] = conversation;
        Ok(())
    }

    /// How many conversations the tracker holds in memory.
    pub fn resident_conversations(&self) -> usize {
        self.conversations.iter().filter(|c| !c.is_unused()).count()
    }

    fn check_evaluation_time(&self, evaluated_at: Millis) -> Result<(), TrackerError> {
        match self.latest {
            Some(latest) if evaluated_at < latest.at => Err(TrackerError::EvaluatedBeforeLatest {
                evaluated_at,
                latest: latest.at,
            }),
            _ => Ok(()),
        }
    }

    /// Adds a customer or agent message or a status to its conversation.
    fn place(&mut self, id: ConversationId, event: Kept) {
        let index = id.0 as usize;
        if index >= self.conversations.len() {
            self.conversations
                .resize_with(index + 1, Conversation::default);
        }
        let conversation = &mut self.conversations[index];
        let appended = conversation
            .events
            .last()
            .is_none_or(|last| last.position < event.position);
        if !appended {
            let at = conversation
                .events
                .partition_point(|e| e.position < event.position);
            conversation.events.insert(at, event);
            self.rederive(id);
            return;
        }
        // The common case: one step of the state machine, and only the last start and a new
        // one can change (or all of them, if spam flips).
        conversation.events.push(event);
        let was_spam = conversation.machine.is_spam();
        let before = conversation.starts.len();
        let last_before = conversation.starts.last().copied();
        let (rules, availability) = (&self.rules, &self.availability);
        conversation
            .machine
            .step(&mut conversation.starts, event, rules, |position| {
                availability.is_away(position, rules)
            });
        let is_spam = conversation.machine.is_spam();
        let tally = &mut self.tally;
        if was_spam != is_spam {
            for start in &conversation.starts[..before.saturating_sub(1)] {
                tally.revise(id, start, was_spam, start, is_spam);
            }
            if let Some(folded) = &conversation.folded {
                tally.forget_folded(folded, was_spam);
                tally.count_folded(id, folded, is_spam);
            }
        }
        if let Some(last_before) = last_before {
            tally.revise(
                id,
                &last_before,
                was_spam,
                &conversation.starts[before - 1],
                is_spam,
            );
        }
        if let Some(new) = conversation.starts.get(before) {
            tally.enter(id, new, is_spam);
        }
    }

    /// Takes a conversation event back out (to undo a refused push).
    fn unplace(&mut self, id: ConversationId, position: Position) {
        let conversation = &mut self.conversations[id.0 as usize];
        if let Ok(at) = conversation
            .events
            .binary_search_by_key(&position, |e| e.position)
        {
            conversation.events.remove(at);
            self.rederive(id);
        }
    }

    /// Derives a conversation's starts afresh from its events and applies the difference.
    fn rederive(&mut self, id: ConversationId) {
        let conversation = &mut self.conversations[id.0 as usize];
        let mut starts = std::mem::take(&mut self.scratch);
        let machine = derive_into(
            &mut starts,
            conversation.folded.as_deref(),
            &conversation.events,
            &self.rules,
            &self.availability,
        );
        let old = std::mem::replace(&mut conversation.starts, starts);
        let was_spam = conversation.machine.is_spam();
        conversation.machine = machine;
        let is_spam = machine.is_spam();
        let tally = &mut self.tally;
        let (mut old_starts, mut new_starts) = (old.iter().peekable(), conversation.starts.iter());
        let mut next_new = new_starts.next();
        loop {
            match (old_starts.peek(), next_new) {
                (None, None) => break,
                (Some(o), Some(n)) if o.position == n.position => {
                    tally.revise(id, o, was_spam, n, is_spam);
                    old_starts.next();
                    next_new = new_starts.next();
                }
                (Some(o), n) if n.is_none_or(|n| o.position < n.position) => {
                    tally.leave(o, was_spam);
                    old_starts.next();
                }
                (_, Some(n)) => {
                    tally.enter(id, n, is_spam);
                    next_new = new_starts.next();
                }
                (Some(_), None) => unreachable!("handled above"),
            }
        }
        if was_spam != is_spam
            && let Some(folded) = &conversation.folded
        {
            tally.forget_folded(folded, was_spam);
            tally.count_folded(id, folded, is_spam);
        }
        self.scratch = old;
    }

    fn place_availability(&mut self, event: AvailabilityEvent) {
        self.availability
            .changes
            .insert(event.position(), event.availability);
        self.reassess_away(event.position());
    }

    fn unplace_availability(&mut self, position: Position) {
        self.availability.changes.remove(&position);
        self.reassess_away(position);
    }

    /// Re-examines the starts governed by the availability change at or before `from`: those
    /// after it up to the next change.
    fn reassess_away(&mut self, from: Position) {
        let governing = self.availability.governing(from);
        let until = self
            .availability
            .changes
            .range((After(from), Unbounded))
            .next()
            .map_or(Unbounded, |(&next, _)| After(next));
        let affected: Vec<(Position, ConversationId)> = self
            .tally
            .by_position
            .range((After(from), until))
            .map(|(&position, &id)| (position, id))
            .collect();
        for (position, id) in affected {
            let conversation = &mut self.conversations[id.0 as usize];
            let spam = conversation.machine.is_spam();
            let Ok(index) = conversation
                .starts
                .binary_search_by_key(&position, |s| s.position)
            else {
                unreachable!("every indexed start is in its conversation");
            };
            let away = governing.is_some_and(|g| is_away_at(&g, position.at, &self.rules));
            let old = conversation.starts[index];
            if old.away != away {
                conversation.starts[index].away = away;
                self.tally
                    .revise(id, &old, spam, &conversation.starts[index], spam);
            }
        }
    }

    /// Whether the figures now depend on a non-excluded start that a snapshot let go: the
    /// window reaches back to it, or it is among the last `fallback_starts` settled starts.
    /// Evaluation times only move forward, and settled starts only add up with them, so it is
    /// enough to ask at the latest pushed instant.
    fn needs_folded_starts(&self) -> bool {
        let Some(dropped) = self.tally.dropped.last().copied().max(self.let_go.dropped) else {
            return false;
        };
        let included = &self.tally.included;
        let Some((&latest, _)) = included.starts.last_key_value() else {
            return true;
        };
        if latest < dropped || dropped.at > latest.at - self.rules.window() {
            return true;
        }
        let now = self.latest.map_or(latest.at, |p| p.at);
        let wanted = self.rules.fallback_starts as usize;
        if included.settled_in_window(now, &self.rules) >= wanted as u64 {
            return false;
        }
        let held = included
            .last_settled(now, &self.rules)
            .filter(|&(position, _)| position > dropped);
        held.count() < wanted
    }

    /// The state with history before the late horizon folded into summaries; with `release`,
    /// without the conversations that can be let go (see [`Tracker::release_idle`]), and how
    /// the others are numbered now.
    fn fold(&self, release: bool) -> (Folded, Vec<Option<ConversationId>>) {
        let Some(latest) = self.latest else {
            let folded = Folded {
                late_horizon: self.late_horizon,
                floor: self.floor,
                latest: None,
                availability: self.availability.clone(),
                conversations: Vec::new(),
                let_go: self.let_go,
            };
            return (folded, Vec::new());
        };
        let floor = self.floor.max(latest.at - self.late_horizon);
        let hold_after = self.hold_after(floor, latest.at);
        let mut let_go = self.let_go;
        let mut renumbered = Vec::with_capacity(self.conversations.len());
        let mut conversations = Vec::with_capacity(self.conversations.len());
        for conversation in &self.conversations {
            let (summary, events) =
                conversation.fold(floor, hold_after, &self.rules, &self.availability);
            let idle =
                events.is_empty() && summary.as_deref().is_none_or(|s| s.is_idle(hold_after));
            if release && idle {
                if let Some(summary) = &summary {
                    let_go = let_go.plus(LetGo::share_of(summary));
                }
                renumbered.push(None);
            } else {
                renumbered.push(Some(ConversationId(conversations.len() as u32)));
                conversations.push((summary, events));
            }
        }
        let availability = Timeline {
            before_floor: self.availability.last_before(Position::new(floor, 0)),
            changes: self
                .availability
                .changes
                .range(Position::new(floor, 0)..)
                .map(|(&p, &a)| (p, a))
                .collect(),
        };
        let folded = Folded {
            late_horizon: self.late_horizon,
            floor,
            latest: Some(latest),
            availability,
            conversations,
            let_go,
        };
        (folded, renumbered)
    }

    /// The instant after which folded non-excluded starts are held: the window as it is and
    /// as it would be with L back at the floor, the last `fallback_starts` settled starts, and
    /// nothing that could still be pending.
    fn hold_after(&self, floor: Millis, now: Millis) -> Millis {
        let window = self.rules.window();
        let included = &self.tally.included;
        let mut hold_after = (floor - window).min(now - self.rules.reply_window);
        if let Some((latest, _)) = included.starts.last_key_value() {
            hold_after = hold_after.min(latest.at - window);
        }
        let wanted = self.rules.fallback_starts as usize;
        let last_settled: Vec<_> = included.last_settled(now, &self.rules).collect();
        match last_settled.last() {
            Some((earliest, _)) if last_settled.len() == wanted => hold_after.min(earliest.at - 1),
            _ => Millis::MIN,
        }
    }

    /// Builds a tracker from folded state.
    fn unfold(rules: Rules, folded: Folded) -> Self {
        let mut tracker = Self {
            rules,
            late_horizon: folded.late_horizon,
            floor: folded.floor,
            latest: folded.latest,
            conversations: Vec::with_capacity(folded.conversations.len()),
            availability: folded.availability,
            tally: Tally::default(),
            let_go: folded.let_go,
            scratch: Vec::new(),
        };
        for (index, (summary, events)) in folded.conversations.into_iter().enumerate() {
            let conversation = tracker.settle(ConversationId(index as u32), summary, events);
            tracker.conversations.push(conversation);
        }
        tracker.tally.included.move_window(tracker.rules.window());
        tracker
    }

    /// A conversation made of its folded summary and its events since, its starts derived and
    /// counted in the tally under `id`.
    fn settle(
        &mut self,
        id: ConversationId,
        summary: Option<Box<Summary>>,
        events: Vec<Kept>,
    ) -> Conversation {
        let (starts, machine) =
            derive(summary.as_deref(), &events, &self.rules, &self.availability);
        let spam = machine.is_spam();
        for start in &starts {
            self.tally.enter(id, start, spam);
        }
        if let Some(summary) = &summary {
            self.tally.count_folded(id, summary, spam);
        }
        Conversation {
            events,
            starts,
            machine,
            folded: summary,
        }
    }
}

/// The earliest position after instant `at`.
fn just_after(at: Millis) -> Position {
    Position::new(at.saturating_add(1), 0)
}

/// A conversation event the rules read: a customer or agent message, or a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kept {
    position: Position,
    fact: Fact,
}

impl Kept {
    fn new(position: Position, fact: Fact) -> Self {
        Self { position, fact }
    }
}

/// A start as its conversation derives it; its exclusion also needs the conversation's spam.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Derived {
    position: Position,
    response: Option<Millis>,
    /// The latest status within its segment is `done`.
    segment_done: bool,
    /// The inbox was away when it came.
    away: bool,
}

impl Derived {
    /// Rule 4, spam over done over away.
    fn exclusion(&self, spam: bool) -> Option<Exclusion> {
        if spam {
            Some(Exclusion::Spam)
        } else if self.segment_done && self.response.is_none() {
            Some(Exclusion::Done)
        } else if self.away {
            Some(Exclusion::Away)
        } else {
            None
        }
    }
}

/// Rules 2–4 for one conversation, as a state machine over its events in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Machine {
    last_message_at: Option<Millis>,
    latest_status: Option<Status>,
}

impl Machine {
    fn is_spam(&self) -> bool {
        self.latest_status == Some(Status::Spam)
    }

    /// Takes `event`, the conversation's next, into account; `starts` are the conversation's
    /// starts so far, the last one being the current segment's.
    fn step(
        &mut self,
        starts: &mut Vec<Derived>,
        event: Kept,
        rules: &Rules,
        is_away: impl FnOnce(Position) -> bool,
    ) {
        let at = event.position.at;
        match event.fact {
            Fact::Message(Author::Customer) => {
                if self
                    .last_message_at
                    .is_none_or(|last| at - last >= rules.silence)
                {
                    starts.push(Derived {
                        position: event.position,
                        response: None,
                        segment_done: false,
                        away: is_away(event.position),
                    });
                }
                self.last_message_at = Some(at);
            }
            Fact::Message(Author::Agent) => {
                if let Some(current) = starts.last_mut() {
                    current.response.get_or_insert(at - current.position.at);
                }
                self.last_message_at = Some(at);
            }
            Fact::Message(Author::Automation) => {}
            Fact::Status(status) => {
                self.latest_status = Some(status);
                if let Some(current) = starts.last_mut() {
                    current.segment_done = status == Status::Done;
                }
            }
        }
    }
}

/// Derives a conversation's starts from its folded summary and its events since.
fn derive(
    folded: Option<&Summary>,
    events: &[Kept],
    rules: &Rules,
    availability: &Timeline,
) -> (Vec<Derived>, Machine) {
    let mut starts = Vec::new();
    let machine = derive_into(&mut starts, folded, events, rules, availability);
    (starts, machine)
}

/// [`derive`] into `starts`, which it clears first, to reuse its allocation.
fn derive_into(
    starts: &mut Vec<Derived>,
    folded: Option<&Summary>,
    events: &[Kept],
    rules: &Rules,
    availability: &Timeline,
) -> Machine {
    let mut machine = folded.map_or_else(Machine::default, |f| f.machine);
    starts.clear();
    starts.extend(folded.and_then(|f| f.current));
    for &event in events {
        machine.step(starts, event, rules, |position| {
            availability.is_away(position, rules)
        });
    }
    machine
}

#[derive(Clone, Debug, Default)]
struct Conversation {
    /// Customer and agent messages and statuses since the floor, in order.
    events: Vec<Kept>,
    /// The starts they derive, in order; the first may be the summary's current start.
    starts: Vec<Derived>,
    /// The state after all events.
    machine: Machine,
    /// What became of the events before the floor; boxed, since most trackers have none.
    folded: Option<Box<Summary>>,
}

impl Conversation {
    /// No event of it is held: a slot free for [`Tracker::readmit`].
    fn is_unused(&self) -> bool {
        self.events.is_empty() && self.starts.is_empty() && self.folded.is_none()
    }
}

/// What the conversations let go of count for: their starts' exclusions, and the latest of
/// their non-excluded starts, which the figures must never come to depend on. The latest is
/// kept when its conversation comes back, so it may be earlier than it says, never later:
/// at worst an event is refused that could have been placed, and the inbox is rebuilt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LetGo {
    excluded: Excluded,
    dropped: Option<Position>,
}

impl LetGo {
    /// What a conversation with nothing since the floor and nothing held counts for.
    fn share_of(summary: &Summary) -> Self {
        let current = u64::from(summary.current.is_some());
        if summary.machine.is_spam() {
            let spam = summary.included + summary.done + summary.away + current;
            return Self {
                excluded: Excluded {
                    spam,
                    ..Excluded::default()
                },
                dropped: None,
            };
        }
        let mut share = Self {
            excluded: Excluded {
                spam: 0,
                done: summary.done,
                away: summary.away,
            },
            dropped: summary.dropped,
        };
        if let Some(current) = summary.current {
            match current.exclusion(false) {
                Some(exclusion) => share.excluded.count(exclusion),
                None => share.dropped = share.dropped.max(Some(current.position)),
            }
        }
        share
    }

    fn plus(self, other: Self) -> Self {
        Self {
            excluded: self.excluded.plus(other.excluded),
            dropped: self.dropped.max(other.dropped),
        }
    }

    /// `self` without `other`'s exclusions; `None` if it does not hold them.
    fn without(self, other: Self) -> Option<Self> {
        let (a, b) = (self.excluded, other.excluded);
        Some(Self {
            excluded: Excluded {
                spam: a.spam.checked_sub(b.spam)?,
                done: a.done.checked_sub(b.done)?,
                away: a.away.checked_sub(b.away)?,
            },
            dropped: self.dropped,
        })
    }
}

/// A conversation's events before the floor, summed up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Summary {
    /// The state machine after them.
    machine: Machine,
    /// The last start before the floor, unless answered: its segment goes on, so a later
    /// event can still answer it or mark it done.
    current: Option<Derived>,
    /// The other starts before the floor, by class ignoring spam (which the conversation's
    /// latest status decides): these can no longer change but for spam.
    included: u64,
    done: u64,
    away: u64,
    /// Of the `included`, the ones the figures may still need, in order.
    held: Vec<(Position, Option<Millis>)>,
    /// Of the `included`, the latest one not held.
    dropped: Option<Position>,
}

impl Summary {
    /// Whether the figures can do without it in memory, nothing of its conversation being
    /// after the floor: no start held, and its current one, if any, no later than `hold_after`.
    fn is_idle(&self, hold_after: Millis) -> bool {
        self.held.is_empty() && self.current.is_none_or(|c| c.position.at <= hold_after)
    }
}

impl Conversation {
    /// This conversation with its events before `floor` summed up; folded non-excluded
    /// starts after `hold_after` are held.
    fn fold(
        &self,
        floor: Millis,
        hold_after: Millis,
        rules: &Rules,
        availability: &Timeline,
    ) -> (Option<Box<Summary>>, Vec<Kept>) {
        let split = self.events.partition_point(|e| e.position.at < floor);
        let (before, after) = self.events.split_at(split);
        if self.folded.is_none() && before.is_empty() {
            return (None, after.to_vec());
        }
        let (mut starts, machine) = derive(self.folded.as_deref(), before, rules, availability);
        let mut summary = self.folded.as_deref().cloned().unwrap_or_default();
        summary.machine = machine;
        // An answered start can no longer change but for spam: it folds like a closed one.
        summary.current = starts.pop_if(|s| s.response.is_none());
        let (held, dropped): (Vec<_>, Vec<_>) = summary
            .held
            .drain(..)
            .partition(|(position, _)| position.at > hold_after);
        summary.held = held;
        summary.dropped = summary.dropped.max(dropped.last().map(|&(p, _)| p));
        for closed in starts {
            match closed.exclusion(false) {
                Some(Exclusion::Done) => summary.done += 1,
                Some(Exclusion::Away) => summary.away += 1,
                Some(Exclusion::Spam) => unreachable!("spam is the conversation's"),
                None => {
                    summary.included += 1;
                    if closed.position.at > hold_after {
                        summary.held.push((closed.position, closed.response));
                    } else {
                        summary.dropped = summary.dropped.max(Some(closed.position));
                    }
                }
            }
        }
        (Some(Box::new(summary)), after.to_vec())
    }
}

/// The inbox's availability changes since the floor, and the last one before it.
#[derive(Clone, Debug, Default)]
struct Timeline {
    before_floor: Option<AvailabilityEvent>,
    changes: BTreeMap<Position, Availability>,
}

impl Timeline {
    fn change_at(&self, position: Position) -> Option<AvailabilityEvent> {
        let availability = *self.changes.get(&position)?;
        Some(AvailabilityEvent {
            at: position.at,
            seq: position.seq,
            availability,
        })
    }

    /// The last change before `position`.
    fn last_before(&self, position: Position) -> Option<AvailabilityEvent> {
        let latest = self.changes.range(..position).next_back();
        latest
            .map(|(p, &availability)| AvailabilityEvent {
                at: p.at,
                seq: p.seq,
                availability,
            })
            .or(self.before_floor.filter(|e| e.position() < position))
    }

    /// The last change at or before `position`.
    fn governing(&self, position: Position) -> Option<AvailabilityEvent> {
        self.change_at(position)
            .or_else(|| self.last_before(position))
    }

    /// Whether a start at `position` came while the inbox was away (rule 4).
    fn is_away(&self, position: Position, rules: &Rules) -> bool {
        self.last_before(position)
            .is_some_and(|change| is_away_at(&change, position.at, rules))
    }
}

/// Where every start is counted: in an exclusion or in the index of non-excluded starts.
#[derive(Clone, Debug, Default)]
struct Tally {
    excluded: Excluded,
    included: Included,
    /// Every derived start (not the folded ones), for availability changes to find.
    by_position: BTreeMap<Position, ConversationId>,
    /// For each conversation, not spam, with folded non-excluded starts that were let go,
    /// the latest of those.
    dropped: BTreeSet<Position>,
}

impl Tally {
    fn count(
        &mut self,
        id: ConversationId,
        position: Position,
        response: Option<Millis>,
        exclusion: Option<Exclusion>,
    ) {
        match exclusion {
            Some(exclusion) => self.excluded.count(exclusion),
            None => self.included.insert(position, id, response),
        }
    }

    fn uncount(&mut self, position: Position, exclusion: Option<Exclusion>) {
        match exclusion {
            Some(exclusion) => self.excluded.uncount(exclusion),
            None => self.included.remove(position),
        }
    }

    fn enter(&mut self, id: ConversationId, start: &Derived, spam: bool) {
        self.by_position.insert(start.position, id);
        self.count(id, start.position, start.response, start.exclusion(spam));
    }

    fn leave(&mut self, start: &Derived, spam: bool) {
        self.by_position.remove(&start.position);
        self.uncount(start.position, start.exclusion(spam));
    }

    /// A start at the same position changed.
    fn revise(
        &mut self,
        id: ConversationId,
        old: &Derived,
        was_spam: bool,
        new: &Derived,
        is_spam: bool,
    ) {
        let (before, after) = (old.exclusion(was_spam), new.exclusion(is_spam));
        if before != after {
            self.uncount(old.position, before);
            self.count(id, new.position, new.response, after);
        } else if after.is_none() && old.response != new.response {
            self.included
                .answer(old.position, old.response, new.response);
        }
    }

    /// Counts a conversation's folded starts, under its spam.
    fn count_folded(&mut self, id: ConversationId, folded: &Summary, spam: bool) {
        let exclusion = spam.then_some(Exclusion::Spam);
        for &(position, response) in &folded.held {
            self.count(id, position, response, exclusion);
        }
        let let_go = folded.included - folded.held.len() as u64;
        if spam {
            self.excluded.spam += let_go + folded.done + folded.away;
        } else {
            self.excluded.done += folded.done;
            self.excluded.away += folded.away;
            self.dropped.extend(folded.dropped);
        }
    }

    fn forget_folded(&mut self, folded: &Summary, spam: bool) {
        let exclusion = spam.then_some(Exclusion::Spam);
        for &(position, _) in &folded.held {
            self.uncount(position, exclusion);
        }
        let let_go = folded.included - folded.held.len() as u64;
        if spam {
            self.excluded.spam -= let_go + folded.done + folded.away;
        } else {
            self.excluded.done -= folded.done;
            self.excluded.away -= folded.away;
            if let Some(dropped) = folded.dropped {
                self.dropped.remove(&dropped);
            }
        }
    }
}

/// The non-excluded starts, indexed for rules 5–9.
#[derive(Clone, Debug, Default)]
struct Included {
    starts: BTreeMap<Position, Entry>,
    answered: BTreeMap<Position, Millis>,
    unanswered: OrderStatistics<Position>,
    /// L − window, L being the latest start; `None` when there is none. The window holds the
    /// starts after it.
    lower: Option<Millis>,
    window_starts: u64,
    /// The window's response times, keyed by (response, position) to keep equal ones apart.
    window_answers: OrderStatistics<(Millis, Position)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    conversation: ConversationId,
    response: Option<Millis>,
}

impl Included {
    fn in_window(&self, at: Millis) -> bool {
        self.lower.is_some_and(|lower| at > lower)
    }

    fn insert(
        &mut self,
        position: Position,
        conversation: ConversationId,
        response: Option<Millis>,
    ) {
        self.starts.insert(
            position,
            Entry {
                conversation,
                response,
            },
        );
        match response {
            Some(response) => {
                self.answered.insert(position, response);
            }
            None => {
                self.unanswered.insert(position, 0);
            }
        }
        if self.in_window(position.at) {
            self.enter_window(position, response);
        }
    }

    fn remove(&mut self, position: Position) {
        let entry = self
            .starts
            .remove(&position)
            .expect("a start counted as included is indexed");
        match entry.response {
            Some(_) => {
                self.answered.remove(&position);
            }
            None => {
                self.unanswered.remove(&position);
            }
        }
        if self.in_window(position.at) {
            self.leave_window(position, entry.response);
        }
    }

    /// A start's response changed (a late message answered it sooner, or later).
    fn answer(&mut self, position: Position, old: Option<Millis>, new: Option<Millis>) {
        if let Some(entry) = self.starts.get_mut(&position) {
            entry.response = new;
        }
        match (old, new) {
            (Some(_), Some(response)) => {
                self.answered.insert(position, response);
            }
            (Some(_), None) => {
                self.answered.remove(&position);
                self.unanswered.insert(position, 0);
            }
            (None, Some(response)) => {
                self.unanswered.remove(&position);
                self.answered.insert(position, response);
            }
            (None, None) => {}
        }
        if self.in_window(position.at) {
            if let Some(old) = old {
                self.window_answers.remove(&(old, position));
            }
            if let Some(new) = new {
                self.window_answers.insert((new, position), new);
            }
        }
    }

    fn enter_window(&mut self, position: Position, response: Option<Millis>) {
        self.window_starts += 1;
        if let Some(response) = response {
            self.window_answers.insert((response, position), response);
        }
    }

    fn leave_window(&mut self, position: Position, response: Option<Millis>) {
        self.window_starts -= 1;
        if let Some(response) = response {
            self.window_answers.remove(&(response, position));
        }
    }

    /// Moves the window along with L, entering or leaving the starts it passes over.
    fn move_window(&mut self, window: Millis) {
        let lower = self
            .starts
            .last_key_value()
            .map(|(latest, _)| latest.at - window);
        let (passed, entering) = match (self.lower, lower) {
            (old, new) if old == new => return,
            (_, None) => {
                self.lower = None;
                self.window_starts = 0;
                self.window_answers.clear();
                return;
            }
            (None, Some(new)) => (self.starts.range(just_after(new)..), true),
            (Some(old), Some(new)) if new > old => {
                (self.starts.range(just_after(old)..just_after(new)), false)
            }
            (Some(old), Some(new)) => (self.starts.range(just_after(new)..just_after(old)), true),
        };
        self.lower = lower;
        // Field by field, since `passed` borrows `starts`.
        for (&position, entry) in passed {
            let answer = entry.response.map(|r| ((r, position), r));
            if entering {
                self.window_starts += 1;
                if let Some((key, r)) = answer {
                    self.window_answers.insert(key, r);
                }
            } else {
                self.window_starts -= 1;
                if let Some((key, _)) = answer {
                    self.window_answers.remove(&key);
                }
            }
        }
    }

    /// How many unanswered starts came after `at`.
    fn unanswered_after(&self, at: Millis) -> usize {
        self.unanswered.len() - self.unanswered.count_below(&just_after(at))
    }

    /// How many starts in the window are settled at `now`: all but the unanswered ones less
    /// than a reply window old.
    fn settled_in_window(&self, now: Millis, rules: &Rules) -> u64 {
        match self.lower {
            None => 0,
            Some(lower) => {
                let unsettled = self.unanswered_after(lower.max(now - rules.reply_window));
                self.window_starts - unsettled as u64
            }
        }
    }

    /// The settled starts at `now`, latest first: the answered ones less than a reply window
    /// old, then all older ones.
    fn last_settled(
        &self,
        now: Millis,
        rules: &Rules,
    ) -> impl Iterator<Item = (Position, Option<Millis>)> + '_ {
        let young = just_after(now - rules.reply_window);
        let answered = self.answered.range(young..).rev();
        let older = self.starts.range(..young).rev();
        let answered = answered.map(|(&position, &response)| (position, Some(response)));
        let older = older.map(|(&position, entry)| (position, entry.response));
        answered.chain(older).take(rules.fallback_starts as usize)
    }

    /// Rule 6's window at `now`, summed up (rules 7 and 8).
    fn window(&self, now: Millis, rules: &Rules) -> Window {
        let Some(lower) = self.lower else {
            return Window::EMPTY;
        };
        let settled = self.settled_in_window(now, rules);
        if settled < u64::from(rules.fallback_starts) {
            let last: Vec<_> = self.last_settled(now, rules).collect();
            let span = last.first().map(|&(latest, _)| {
                let earliest = last.last().map_or(latest, |&(p, _)| p);
                (earliest.at, latest.at)
            });
            let responses = last.iter().filter_map(|&(_, r)| r).collect();
            return Window::summarize(Basis::LastStarts, span, last.len() as u64, responses, rules);
        }
        // The earliest and latest settled starts in the window: answered ones are settled,
        // unanswered ones once a reply window old.
        let old_enough = now - rules.reply_window;
        let first_answered = self.answered.range(just_after(lower)..).next();
        let first_unanswered = self
            .unanswered
            .nth(self.unanswered.count_below(&just_after(lower)))
            .filter(|p| p.at <= old_enough);
        let from = first_answered
            .map(|(p, _)| p.at)
            .into_iter()
            .chain(first_unanswered.map(|p| p.at))
            .min();
        let last_answered = self.answered.last_key_value().filter(|(p, _)| p.at > lower);
        let last_unanswered = self
            .unanswered
            .count_below(&just_after(old_enough))
            .checked_sub(1)
            .and_then(|index| self.unanswered.nth(index))
            .filter(|p| p.at > lower);
        let to = last_answered
            .map(|(p, _)| p.at)
            .into_iter()
            .chain(last_unanswered.map(|p| p.at))
            .max();
        let answered = self.window_answers.len() as u64;
        let kept = rules.kept_answers(answered);
        Window {
            basis: Basis::Days,
            from,
            to,
            starts: settled,
            answered,
            kept,
            kept_total: self.window_answers.sum_of_smallest(kept as usize),
        }
    }
}

/// A tracker's state with history before the floor folded: what a snapshot holds.
#[derive(Clone, Debug)]
struct Folded {
    late_horizon: Millis,
    floor: Millis,
    latest: Option<Position>,
    availability: Timeline,
    conversations: Vec<(Option<Box<Summary>>, Vec<Kept>)>,
    let_go: LetGo,
}

const MAGIC: &[u8; 4] = b"PRTK";
/// Version 2 adds what the conversations let go of count for; version 1 is still read.
const VERSION: u64 = 2;

/// Writes `version` (an older one only for the tests that read it back).
fn encode(rules: &Rules, folded: &Folded, version: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.bytes.extend_from_slice(MAGIC);
    w.uint(version);
    w.int(rules.silence);
    w.int(rules.reply_window);
    w.uint(u64::from(rules.window_days));
    w.uint(u64::from(rules.fallback_starts));
    w.int(rules.away_reset);
    w.int(folded.late_horizon);
    w.int(folded.floor);
    w.option(folded.latest, Writer::position);
    w.option(folded.availability.before_floor, Writer::availability);
    w.uint(folded.availability.changes.len() as u64);
    for (&position, &availability) in &folded.availability.changes {
        w.availability(AvailabilityEvent {
            at: position.at,
            seq: position.seq,
            availability,
        });
    }
    let let_go = folded.let_go;
    if version >= 2 {
        w.uint(let_go.excluded.spam);
        w.uint(let_go.excluded.done);
        w.uint(let_go.excluded.away);
        w.option(let_go.dropped, Writer::position);
    }
    w.uint(folded.conversations.len() as u64);
    for (summary, events) in &folded.conversations {
        w.option(summary.as_deref(), Writer::summary);
        w.uint(events.len() as u64);
        for event in events {
            w.position(event.position);
            w.uint(fact_code(event.fact));
        }
    }
    w.bytes
}

fn decode(bytes: &[u8], rules: &Rules) -> Result<Folded, TrackerError> {
    let mut r = Reader { bytes, previous: 0 };
    if r.take(4)? != MAGIC {
        return Err(TrackerError::SnapshotVersion);
    }
    let version = r.uint()?;
    if !(1..=VERSION).contains(&version) {
        return Err(TrackerError::SnapshotVersion);
    }
    let shape = (r.int()?, r.int()?, r.uint()?, r.uint()?, r.int()?);
    let expected = (
        rules.silence,
        rules.reply_window,
        u64::from(rules.window_days),
        u64::from(rules.fallback_starts),
        rules.away_reset,
    );
    if shape != expected {
        return Err(TrackerError::SnapshotRules);
    }
    let late_horizon = r.int()?;
    let floor = r.int()?;
    let latest = r.option(Reader::position)?;
    let before_floor = r.option(Reader::availability)?;
    if before_floor.is_some_and(|e| e.at >= floor) {
        return Err(TrackerError::SnapshotCorrupt(
            "availability before the floor",
        ));
    }
    let mut changes = BTreeMap::new();
    for _ in 0..r.count()? {
        let event = r.availability()?;
        let in_order = changes
            .last_key_value()
            .is_none_or(|(&p, _)| p < event.position());
        if event.at < floor || !in_order {
            return Err(TrackerError::SnapshotCorrupt(
                "availability changes out of order",
            ));
        }
        changes.insert(event.position(), event.availability);
    }
    let mut let_go = LetGo::default();
    if version >= 2 {
        let_go.excluded = Excluded {
            spam: r.uint()?,
            done: r.uint()?,
            away: r.uint()?,
        };
        let_go.dropped = r.option(Reader::position)?;
        if let_go.dropped.is_some_and(|p| p.at >= floor) {
            return Err(TrackerError::SnapshotCorrupt(
                "a start let go after the floor",
            ));
        }
    }
    let conversation_count = r.count()?;
    if conversation_count > u64::from(u32::MAX) {
        return Err(TrackerError::SnapshotCorrupt("too many conversations"));
    }
    let mut conversations = Vec::with_capacity(conversation_count.min(1 << 20) as usize);
    for _ in 0..conversation_count {
        let summary = r.option(|r| r.summary(floor))?.map(Box::new);
        let mut events: Vec<Kept> = Vec::new();
        for _ in 0..r.count()? {
            let position = r.position()?;
            let fact = fact_of(r.uint()?)?;
            let in_order = events.last().is_none_or(|e| e.position < position);
            if position.at < floor || !in_order {
                return Err(TrackerError::SnapshotCorrupt("events out of order"));
            }
            events.push(Kept::new(position, fact));
        }
        conversations.push((summary, events));
    }
    if !r.bytes.is_empty() {
        return Err(TrackerError::SnapshotCorrupt("trailing bytes"));
    }
    let latest_event = conversations
        .iter()
        .filter_map(|(_, events)| events.last().map(|e| e.position))
        .chain(changes.keys().copied())
        .max();
    if latest_event > latest {
        return Err(TrackerError::SnapshotCorrupt("events after the latest"));
    }
    Ok(Folded {
        late_horizon,
        floor,
        latest,
        availability: Timeline {
            before_floor,
            changes,
        },
        conversations,
        let_go,
    })
}

fn fact_code(fact: Fact) -> u64 {
    match fact {
        Fact::Message(Author::Customer) => 0,
        Fact::Message(Author::Agent) => 1,
        Fact::Message(Author::Automation) => 2,
        Fact::Status(status) => 3 + status_code(status),
    }
}

fn fact_of(code: u64) -> Result<Fact, TrackerError> {
    Ok(match code {
        0 => Fact::Message(Author::Customer),
        1 => Fact::Message(Author::Agent),
        2 => Fact::Message(Author::Automation),
        _ => Fact::Status(status_of(code - 3)?),
    })
}

fn status_code(status: Status) -> u64 {
    match status {
        Status::Open => 0,
        Status::Done => 1,
        Status::Spam => 2,
    }
}

fn status_of(code: u64) -> Result<Status, TrackerError> {
    match code {
        0 => Ok(Status::Open),
        1 => Ok(Status::Done),
        2 => Ok(Status::Spam),
        _ => Err(TrackerError::SnapshotCorrupt("unknown status")),
    }
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
    /// Instants are written as the difference from the previous one.
    previous: Millis,
}

impl Writer {
    fn uint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn int(&mut self, value: i64) {
        self.uint(((value << 1) ^ (value >> 63)) as u64);
    }

    fn instant(&mut self, at: Millis) {
        self.int(at.wrapping_sub(self.previous));
        self.previous = at;
    }

    fn position(&mut self, position: Position) {
        self.instant(position.at);
        self.uint(position.seq);
    }

    fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            None => self.uint(0),
            Some(value) => {
                self.uint(1);
                write(self, value);
            }
        }
    }

    /// `None` as 0, a value v as v + 1.
    fn response(&mut self, response: Option<Millis>) {
        self.uint(response.map_or(0, |r| r as u64 + 1));
    }

    fn availability(&mut self, event: AvailabilityEvent) {
        self.position(event.position());
        match event.availability {
            Availability::Available => self.uint(0),
            Availability::Away { until: None } => self.uint(1),
            Availability::Away { until: Some(until) } => {
                self.uint(2);
                self.int(until - event.at);
            }
        }
    }

    fn summary(&mut self, summary: &Summary) {
        self.option(summary.machine.last_message_at, Self::instant);
        self.uint(
            summary
                .machine
                .latest_status
                .map_or(0, |s| status_code(s) + 1),
        );
        self.option(summary.current, |w, current| {
            w.position(current.position);
            w.response(current.response);
            w.uint(u64::from(current.segment_done) | u64::from(current.away) << 1);
        });
        self.uint(summary.included);
        self.uint(summary.done);
        self.uint(summary.away);
        self.option(summary.dropped, Self::position);
        self.uint(summary.held.len() as u64);
        for &(position, response) in &summary.held {
            self.position(position);
            self.response(response);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    previous: Millis,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TrackerError> {
        if self.bytes.len() < n {
            return Err(TrackerError::SnapshotTruncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn uint(&mut self) -> Result<u64, TrackerError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or(TrackerError::SnapshotTruncated)?;
            self.bytes = rest;
            let bits = u64::from(byte & 0x7F);
            if shift == 63 && bits > 1 {
                break;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(TrackerError::SnapshotCorrupt("a number too long"))
    }

    fn int(&mut self) -> Result<i64, TrackerError> {
        let value = self.uint()?;
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    /// A count of items that each take at least one byte: never more than the bytes left.
    fn count(&mut self) -> Result<u64, TrackerError> {
        let count = self.uint()?;
        match count <= self.bytes.len() as u64 {
            true => Ok(count),
            false => Err(TrackerError::SnapshotTruncated),
        }
    }

    fn instant(&mut self) -> Result<Millis, TrackerError> {
        let at = self.previous.wrapping_add(self.int()?);
        self.previous = at;
        Ok(at)
    }

    fn position(&mut self) -> Result<Position, TrackerError> {
        Ok(Position::new(self.instant()?, self.uint()?))
    }

    fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, TrackerError>,
    ) -> Result<Option<T>, TrackerError> {
        match self.uint()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(TrackerError::SnapshotCorrupt("a bad option flag")),
        }
    }

    fn response(&mut self) -> Result<Option<Millis>, TrackerError> {
        match self.uint()? {
            0 => Ok(None),
            v if v - 1 <= i64::MAX as u64 => Ok(Some((v - 1) as i64)),
            _ => Err(TrackerError::SnapshotCorrupt(
                "a response time out of range",
            )),
        }
    }

    fn availability(&mut self) -> Result<AvailabilityEvent, TrackerError> {
        let position = self.position()?;
        let availability = match self.uint()? {
            0 => Availability::Available,
            1 => Availability::Away { until: None },
            2 => Availability::Away {
                until: Some(position.at.wrapping_add(self.int()?)),
            },
            _ => return Err(TrackerError::SnapshotCorrupt("unknown availability")),
        };
        Ok(AvailabilityEvent {
            at: position.at,
            seq: position.seq,
            availability,
        })
    }

    fn summary(&mut self, floor: Millis) -> Result<Summary, TrackerError> {
        let last_message_at = self.option(Self::instant)?;
        let latest_status = match self.uint()? {
            0 => None,
            code => Some(status_of(code - 1)?),
        };
        let current = self.option(|r| {
            let position = r.position()?;
            let response = r.response()?;
            let flags = r.uint()?;
            Ok(Derived {
                position,
                response,
                segment_done: flags & 1 != 0,
                away: flags & 2 != 0,
            })
        })?;
        let (included, done, away) = (self.uint()?, self.uint()?, self.uint()?);
        let dropped = self.option(Self::position)?;
        let mut held: Vec<(Position, Option<Millis>)> = Vec::new();
        for _ in 0..self.count()? {
            let position = self.position()?;
            let response = self.response()?;
            if held.last().is_some_and(|&(p, _)| p >= position) {
                return Err(TrackerError::SnapshotCorrupt("held starts out of order"));
            }
            held.push((position, response));
        }
        let before_floor = |p: Option<Position>| p.is_none_or(|p| p.at < floor);
        if !before_floor(current.map(|c| c.position))
            || !before_floor(dropped)
            || !before_floor(held.last().map(|&(p, _)| p))
            || (held.len() as u64) > included
            || (included > held.len() as u64) != dropped.is_some()
        {
            return Err(TrackerError::SnapshotCorrupt("a conversation's summary"));
        }
        Ok(Summary {
            machine: Machine {
                last_message_at,
                latest_status,
            },
            current,
            included,
            done,
            away,
            held,
            dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{HOUR, MINUTE};

    /// A snapshot saved before conversations were let go (version 1) is still read, the same.
    #[test]
    fn version_1_snapshots_are_read() {
        let rules = Rules::default();
        let mut tracker = Tracker::new(rules);
        let mut seq = 0;
        let mut push = |tracker: &mut Tracker, at: Millis, c: u32, fact: Fact| {
            seq += 1;
            let event = ConversationEvent {
                at,
                seq,
                conversation: ConversationId(c),
                fact,
            };
            tracker.push(Event::Conversation(event)).unwrap();
        };
        for day in 0..40 {
            let at = day * DAY;
            push(
                &mut tracker,
                at,
                day as u32,
                Fact::Message(Author::Customer),
            );
            if day % 4 != 0 {
                push(
                    &mut tracker,
                    at + 5 * MINUTE,
                    day as u32,
                    Fact::Message(Author::Agent),
                );
            }
            if day % 7 == 0 {
                push(
                    &mut tracker,
                    at + HOUR,
                    day as u32,
                    Fact::Status(Status::Done),
                );
            }
        }
        let folded = tracker.fold(false).0;
        let old = encode(&rules, &folded, 1);
        assert_ne!(old, tracker.snapshot());
        let restored = Tracker::from_snapshot(&old, rules).unwrap();
        let at = 41 * DAY;
        assert_eq!(restored.figures(at), tracker.figures(at));
        assert_eq!(restored.snapshot(), tracker.snapshot());
    }
}
