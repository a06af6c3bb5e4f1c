//! The engine behind a live badge, with the incremental tracker's interface
//! (`pronto_badge::tracker::Tracker`): push events, ask for the figures at an instant at or
//! after the latest event, snapshot.
//!
//! This one keeps the inbox's log in memory and evaluates it with `pronto_badge::evaluate`
//! on every question (linear in the log); it never refuses an event and has no snapshot.

use pronto_badge::{Event, Figures, Log, Millis, Rules, Start, evaluate};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("evaluation time {evaluated_at} is before the latest event, at {latest}")]
    EvaluatedBeforeLatest {
        evaluated_at: Millis,
        latest: Millis,
    },
    #[error("{0}")]
    Refused(String),
}

pub struct Engine {
    rules: Rules,
    log: Log,
    latest: Option<Millis>,
}

impl Engine {
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            log: Log::default(),
            latest: None,
        }
    }

    pub fn push(&mut self, event: Event) -> Result<(), EngineError> {
        if let Event::Conversation(e) = &event {
            let needed = e.conversation.0 as usize + 1;
            if self.log.conversation_names.len() < needed {
                self.log.conversation_names.resize(needed, String::new());
            }
        }
        self.latest = Some(self.latest.map_or(event.at(), |l| l.max(event.at())));
        self.log.push(event);
        Ok(())
    }

    pub fn latest_at(&self) -> Option<Millis> {
        self.latest
    }

    fn check(&self, evaluated_at: Millis) -> Result<(), EngineError> {
        match self.latest {
            Some(latest) if evaluated_at < latest => Err(EngineError::EvaluatedBeforeLatest {
                evaluated_at,
                latest,
            }),
            _ => Ok(()),
        }
    }

    pub fn figures(&self, evaluated_at: Millis) -> Result<Figures, EngineError> {
        self.check(evaluated_at)?;
        Ok(evaluate(&self.log, evaluated_at, &self.rules).figures)
    }

    pub fn recent_included(&self, evaluated_at: Millis) -> Result<Vec<Start>, EngineError> {
        self.check(evaluated_at)?;
        Ok(evaluate(&self.log, evaluated_at, &self.rules).included)
    }

    pub fn snapshot(&self) -> Option<Vec<u8>> {
        None
    }

    pub fn from_snapshot(_bytes: &[u8], _rules: Rules) -> Result<Self, EngineError> {
        Err(EngineError::Refused("this engine keeps no snapshot".into()))
    }
}
