//! The engine behind a live badge: the incremental tracker of `pronto-badge`
//! (`pronto_badge::tracker::Tracker`). Each push and each question costs a few logarithmic
//! steps; a snapshot folds old history so that a restart reads little.

use pronto_badge::tracker::{Tracker, TrackerError};
use pronto_badge::{
    AvailabilityEvent, ConversationEvent, ConversationId, Event, Figures, Millis, Rules, Start,
};

pub type EngineError = TrackerError;

pub struct Engine {
    tracker: Tracker,
}

impl Engine {
    pub fn new(rules: Rules, late_horizon: Millis) -> Self {
        Self {
            tracker: Tracker::new(rules).with_late_horizon(late_horizon),
        }
    }

    /// Places one event; on an error nothing changed and the inbox must be rebuilt.
    pub fn push(&mut self, event: Event) -> Result<(), EngineError> {
        self.tracker.push(event)
    }

    pub fn latest_at(&self) -> Option<Millis> {
        self.tracker.latest().map(|position| position.at)
    }

    pub fn figures(&self, evaluated_at: Millis) -> Result<Figures, EngineError> {
        self.tracker.figures(evaluated_at)
    }

    pub fn recent_included(&self, evaluated_at: Millis) -> Result<Vec<Start>, EngineError> {
        self.tracker.recent_included(evaluated_at)
    }

    /// Folds, then lets go of the conversations the figures can do without in memory; maps
    /// each old dense id to its new one (see `Tracker::release_idle`).
    pub fn release_idle(&mut self) -> Vec<Option<ConversationId>> {
        self.tracker.release_idle()
    }

    /// Takes back a conversation let go, with its stored history, before its next event.
    pub fn readmit(
        &mut self,
        id: ConversationId,
        history: &[ConversationEvent],
        availability: &[AvailabilityEvent],
    ) -> Result<(), EngineError> {
        self.tracker.readmit(id, history, availability)
    }

    /// Events before this instant are refused.
    pub fn floor(&self) -> Millis {
        self.tracker.floor()
    }

    pub fn late_horizon(&self) -> Millis {
        self.tracker.late_horizon()
    }

    /// Sets how much history the next fold keeps in full.
    pub fn set_late_horizon(&mut self, late_horizon: Millis) {
        self.tracker.set_late_horizon(late_horizon);
    }

    pub fn snapshot(&self) -> Option<Vec<u8>> {
        Some(self.tracker.snapshot())
    }

    /// Restores a snapshot; `late_horizon` replaces the one it was taken with.
    pub fn from_snapshot(
        bytes: &[u8],
        rules: Rules,
        late_horizon: Millis,
    ) -> Result<Self, EngineError> {
        let tracker = Tracker::from_snapshot(bytes, rules)?.with_late_horizon(late_horizon);
        Ok(Self { tracker })
    }
}
