//! Rules 2–4 for one conversation: its customer and agent messages become starts, each with
//! its response and the exclusions its conversation's statuses decide.

use crate::event::{
    Author, Availability, AvailabilityEvent, ConversationEvent, ConversationId, Fact, Position,
    Status,
};
use crate::rules::Rules;
use crate::time::Millis;

/// Why a start counts in neither figure (rule 4), in order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Exclusion {
    Spam,
    Done,
    Away,
}

/// A customer message that opened a new exchange (rule 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    pub position: Position,
    pub conversation: ConversationId,
    /// Time from the start to the first agent message in its segment (rule 3).
    pub response: Option<Millis>,
    pub exclusion: Option<Exclusion>,
}

impl Start {
    pub const fn at(&self) -> Millis {
        self.position.at
    }

    pub const fn is_answered(&self) -> bool {
        self.response.is_some()
    }
}

/// Appends the starts of one conversation to `starts`. `events` are that conversation's events
/// up to the evaluation time, in the contract's order. Away is left to [`AwayPeriods`], which
/// needs the whole inbox's availability.
pub fn segment_conversation<'a>(
    events: impl IntoIterator<Item = &'a ConversationEvent>,
    rules: &Rules,
    starts: &mut Vec<Start>,
) {
    let first = starts.len();
    let mut last_message_at: Option<Millis> = None;
    let mut latest_status: Option<Status> = None;
    // The latest status within the current segment; `None` before the first start.
    let mut segment_status: Option<Status> = None;
    for event in events {
        match event.fact {
            Fact::Message(Author::Customer) => {
                let silence_broken =
                    last_message_at.is_none_or(|last| event.at - last >= rules.silence);
                if silence_broken {
                    close_segment(&mut starts[first..], segment_status);
                    segment_status = None;
                    starts.push(Start {
                        position: event.position(),
                        conversation: event.conversation,
                        response: None,
                        exclusion: None,
                    });
                }
                last_message_at = Some(event.at);
            }
            Fact::Message(Author::Agent) => {
                if let Some(current) = starts[first..].last_mut() {
                    current.response.get_or_insert(event.at - current.at());
                }
                last_message_at = Some(event.at);
            }
            Fact::Message(Author::Automation) => {}
            Fact::Status(status) => {
                latest_status = Some(status);
                if starts.len() > first {
                    segment_status = Some(status);
                }
            }
        }
    }
    close_segment(&mut starts[first..], segment_status);
    if latest_status == Some(Status::Spam) {
        for start in &mut starts[first..] {
            start.exclusion = Some(Exclusion::Spam);
        }
    }
}

/// Done removes what is still waiting: the segment's start, if unanswered.
fn close_segment(starts: &mut [Start], segment_status: Option<Status>) {
    if let Some(current) = starts.last_mut()
        && segment_status == Some(Status::Done)
        && !current.is_answered()
    {
        current.exclusion = Some(Exclusion::Done);
    }
}

/// The inbox's availability changes in the contract's order, to tell which starts came
/// while the inbox was away.
#[derive(Clone, Debug, Default)]
pub struct AwayPeriods {
    changes: Vec<AvailabilityEvent>,
}

impl AwayPeriods {
    pub fn new(mut changes: Vec<AvailabilityEvent>) -> Self {
        changes.sort_unstable_by_key(AvailabilityEvent::position);
        Self { changes }
    }

    /// Whether a start at `position` came while the inbox was away (rule 4).
    pub fn covers(&self, position: Position, rules: &Rules) -> bool {
        let before = self
            .changes
            .partition_point(|change| change.position() < position);
        before > 0 && is_away_at(&self.changes[before - 1], position.at, rules)
    }
}

/// Whether `change`, the last availability change before `at`, still holds the inbox away.
pub fn is_away_at(change: &AvailabilityEvent, at: Millis, rules: &Rules) -> bool {
    match change.availability {
        Availability::Away { until } => at < until.unwrap_or(change.at + rules.away_reset),
        Availability::Available => false,
    }
}
