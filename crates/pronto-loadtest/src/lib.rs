//! Pronto's test and load tools for the Meta channels (Messenger, Instagram).
//!
//! - [`graph::StandIn`]: an in-process stand-in for the Graph API endpoints Pronto calls
//!   (`/me`, `subscribed_apps`, the Send API, the Conversations API), for the server's
//!   integration tests and for the benchmark.
//! - [`payload`]: webhook bodies in Meta's exact shapes and their `X-Hub-Signature-256`.
//!
//! The `pronto-loadtest` binary runs the stand-in as a process (`graph`), drives signed
//! webhook deliveries at a server (`webhooks`), measures plain batched INSERTs as a ceiling to
//! compare with (`ceiling`), and checks that every acknowledged message is stored once
//! (`count`); `scripts/bench-webhooks.sh` and `scripts/crash-webhooks.sh` tie them together.

pub mod graph;
pub mod payload;
