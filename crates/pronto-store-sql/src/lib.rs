//! What the SQLite and PostgreSQL stores share: both schemas have the same tables and columns,
//! so their rows decode into the domain's records the same way (`sqlx::FromRow` is generic
//! over the database), and their lists page with the same cursors.

pub mod cursor;
pub mod rows;
