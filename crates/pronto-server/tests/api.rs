//! The server's integration tests: the real app on 127.0.0.1:0 with a real SQLite file (and
//! PostgreSQL when `PRONTO_TEST_POSTGRES_URL` is set), driven over HTTP with reqwest.
//! One test binary for the crate, one module per concern.

mod api {
    pub mod harness;

    mod auth;
    mod badge;
    mod cluster;
    mod conversations;
    mod errors;
    mod events;
    mod inboxes;
    mod meta;
    mod templates;
    mod tenancy;
}
