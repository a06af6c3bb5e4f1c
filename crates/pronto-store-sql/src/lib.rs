//! What the SQLite and PostgreSQL stores share: both schemas have the same tables and columns,
//! so their rows decode into the domain's records the same way (`sqlx::FromRow` is generic
//! over the database), their lists page with the same cursors, and all but a few of their
//! statements are the same: [`sql_ops!`] expands the operations for an adapter's connection
//! type, given its hooks for what differs (ids, row locks, the outbox's claim), and
//! [`impl_store!`] implements the port on them, given how the adapter runs a write and a read.

pub mod cursor;
pub mod ops;
pub mod rows;
pub mod store_impl;
