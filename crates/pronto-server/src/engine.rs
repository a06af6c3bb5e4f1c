//! The engine behind a live badge: the incremental tracker of `pronto-badge`
//! (`pronto_badge::tracker::Tracker`). Each push and each question costs a few logarithmic
//! steps; a snapshot folds old history so that a restart reads little.

use pronto_badge::tracker::{Tracker, TrackerError};
use pronto_badge::{Event, Figures, Millis, Rules, Start};

pub type EngineError = TrackerError;

pub struct Engine {
    tracker: Tracker,
}

impl Engine {
    pub fn new(rules: Rules) -> Self {
        Self {
            tracker: Tracker::new(rules),
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

    /// Folds history older than the late horizon; later pushes before it are refused.
    pub fn compact(&mut self) {
        self.tracker.compact();
    }

    pub fn snapshot(&self) -> Option<Vec<u8>> {
        Some(self.tracker.snapshot())
    }

    pub fn from_snapshot(bytes: &[u8], rules: Rules) -> Result<Self, EngineError> {
        Tracker::from_snapshot(bytes, rules).map(|tracker| Self { tracker })
    }
}
