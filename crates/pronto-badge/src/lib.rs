//! The badge engine: from an inbox's event log to the two figures Facebook uses for the badge
//! "Very responsive to messages", by the rules of `shared/docs/responsiveness.md`.
//!
//! Pure: no I/O, no async runtime. Every number of the rules is a setting in [`Rules`].

pub mod batch;
pub mod event;
pub mod fastline;
pub mod figures;
pub mod forecast;
pub mod graph;
pub mod jsonl;
pub mod order_stat;
pub mod report;
pub mod rules;
pub mod starts;
pub mod time;
pub mod tracker;

pub use batch::{Assessment, evaluate};
pub use event::{
    Author, Availability, AvailabilityEvent, ConversationEvent, ConversationId, Event, Fact, Log,
    Position, Status,
};
pub use figures::{Excluded, Figures, Window};
pub use rules::{Basis, Rate, Rules, RulesError};
pub use starts::{Exclusion, Start};
pub use time::{Millis, Utc, format_instant, parse_instant};
