//! Pronto's domain, pure: the model of a helpdesk (workspaces, users, inboxes, contacts,
//! conversations, messages, the outbox, reply templates), the rules that keep a conversation's
//! urgency up to date and a template valid, and the ports that storage adapters implement
//! ([`store::Store`]).
//!
//! No I/O and no async runtime here: adapters (SQLite, PostgreSQL, channels, HTTP) depend on
//! this crate, never the other way round.

pub mod conversation;
pub mod history;
pub mod ids;
pub mod model;
pub mod store;
pub mod template;

pub use ids::*;
pub use model::*;
pub use pronto_badge::{Author, Millis, Status};
