//! Pronto's channels: wire formats <-> domain.
//!
//! - [`playground`]: the local channel of simulated customers (its sender, [`playground::deliver`],
//!   and the customers, [`playground::run_customers`]).
//! - [`demo`]: `pronto demo`'s workspace, seeded on an empty database ([`demo::seed`]).
//! - [`figures`]: an inbox's stored events as the badge engine's log, and its figures.
//! - [`meta`]: Meta's webhooks (Messenger, Instagram): signatures, the handshake, typed events.
//! - [`meta_api`]: Meta's Graph API (the Send API's body, answers and error classes).
//! - [`demo_templates`]: the demo's reply templates, which [`demo::seed`] stores.
//!
//! Adapters only: the domain and the badge engine never depend on this crate.

#![forbid(unsafe_code)]

pub mod demo;
pub mod figures;
pub mod meta;
pub mod meta_api;
pub mod playground;
mod rng;
mod text;

pub use text::demo_templates;
