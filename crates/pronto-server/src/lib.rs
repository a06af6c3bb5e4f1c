//! Pronto's server core: settings, auth, the JSON REST API under `/api/v1`, Server-Sent
//! Events, the outbox workers and the live badge of every inbox.
//!
//! Everything is generic over the storage port ([`pronto_core::store::Store`]): the binary
//! picks SQLite or PostgreSQL by `DATABASE_URL`, the tests pass a real store on a temporary
//! database. Time comes from a [`clock::Clock`] so that tests can move it.
//!
//! The shape: [`app::App`] holds the store, the clock, the live badges, the event bus and the
//! metrics, and offers the operations that change something (ingest, status, assign, reply,
//! availability, a finished send) so that every change feeds the badge and the browsers the
//! same way, whoever makes it (a handler, a worker, the demo). [`api::router`] is the HTTP
//! edge; [`server::Server`] starts it all and stops it gracefully.

#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod app;
pub mod attachments;
pub mod auth;
pub mod bus;
pub mod clock;
pub mod cluster;
pub mod crypto;
pub mod demo;
pub mod engine;
pub mod error;
pub mod live;
pub mod meta;
pub mod metrics;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod web;
pub mod workers;

pub use app::App;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use server::{RunningServer, Server};
pub use settings::{Settings, SettingsError};
