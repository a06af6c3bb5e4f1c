//! The contract's events, in a compact form: conversations are dense indices into the log's
//! table of conversation names, and every event carries its place in the contract's order.

use crate::time::Millis;
use serde::{Deserialize, Serialize};

/// Who wrote a message. Automation is invisible to every rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    /// A reply written by a person, in Pronto or in any other app.
    Agent,
    /// Anything sent automatically: acknowledgements, away messages, bots.
    Automation,
}

/// A conversation's folder, as the team set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Done,
    Spam,
}

/// What happened in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fact {
    Message(Author),
    Status(Status),
}

/// A dense index of a conversation within one log or one tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConversationId(pub u32);

/// Where an event stands in the contract's total order: by instant, then by line (in a file) or
/// by push order (in a tracker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub at: Millis,
    pub seq: u64,
}

impl Position {
    pub const fn new(at: Millis, seq: u64) -> Self {
        Self { at, seq }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConversationEvent {
    pub at: Millis,
    pub seq: u64,
    pub conversation: ConversationId,
    pub fact: Fact,
}

impl ConversationEvent {
    pub const fn position(&self) -> Position {
        Position::new(self.at, self.seq)
    }
}

/// The whole inbox's availability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Availability {
    /// Away until `until`, or, without it, for the away-reset period (12 hours by default).
    Away {
        until: Option<Millis>,
    },
    Available,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvailabilityEvent {
    pub at: Millis,
    pub seq: u64,
    pub availability: Availability,
}

impl AvailabilityEvent {
    pub const fn position(&self) -> Position {
        Position::new(self.at, self.seq)
    }
}

/// One event of an inbox's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    Conversation(ConversationEvent),
    Availability(AvailabilityEvent),
}

impl Event {
    pub const fn at(&self) -> Millis {
        match self {
            Event::Conversation(e) => e.at,
            Event::Availability(e) => e.at,
        }
    }

    pub const fn position(&self) -> Position {
        match self {
            Event::Conversation(e) => e.position(),
            Event::Availability(e) => e.position(),
        }
    }
}

/// An inbox's event log, in any order, with the names of its conversations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    pub conversation_events: Vec<ConversationEvent>,
    pub availability_events: Vec<AvailabilityEvent>,
    /// `conversation_names[id]` is the conversation's name in the source (its id in the log).
    pub conversation_names: Vec<String>,
}

impl Log {
    /// The greatest instant among all events, the default evaluation time.
    pub fn latest_instant(&self) -> Option<Millis> {
        let conversations = self.conversation_events.iter().map(|e| e.at);
        let availability = self.availability_events.iter().map(|e| e.at);
        conversations.chain(availability).max()
    }

    pub fn is_empty(&self) -> bool {
        self.conversation_events.is_empty() && self.availability_events.is_empty()
    }

    pub fn conversation_name(&self, id: ConversationId) -> &str {
        self.conversation_names
            .get(id.0 as usize)
            .map_or("", String::as_str)
    }

    /// Adds an event whose conversation id is already in `conversation_names`.
    pub fn push(&mut self, event: Event) {
        match event {
            Event::Conversation(e) => self.conversation_events.push(e),
            Event::Availability(e) => self.availability_events.push(e),
        }
    }
}

impl Author {
    pub const fn as_str(self) -> &'static str {
        match self {
            Author::Customer => "customer",
            Author::Agent => "agent",
            Author::Automation => "automation",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "customer" => Some(Author::Customer),
            "agent" => Some(Author::Agent),
            "automation" => Some(Author::Automation),
            _ => None,
        }
    }
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Done => "done",
            Status::Spam => "spam",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "open" => Some(Status::Open),
            "done" => Some(Status::Done),
            "spam" => Some(Status::Spam),
            _ => None,
        }
    }
}
