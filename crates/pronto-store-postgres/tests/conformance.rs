//! The conformance story on PostgreSQL, when `PRONTO_TEST_POSTGRES_URL` names a server (CI sets
//! it). The server is shared and keeps what earlier runs left, so each test creates a database
//! of its own with a random name, and drops it at the end.

use pronto_core::store::Store;
use pronto_store_postgres::PgStore;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;

const VARIABLE: &str = "PRONTO_TEST_POSTGRES_URL";

/// A database of its own on the shared server.
struct Scratch {
    admin: PgConnectOptions,
    name: String,
}

impl Scratch {
    async fn create(url: &str) -> (Self, PgConnectOptions) {
        let admin = PgConnectOptions::from_str(url).expect("a PostgreSQL URL");
        let name = format!("pronto_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .expect("connect to the test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the database");
        conn.close().await.ok();
        let options = admin.clone().database(&name);
        (Self { admin, name }, options)
    }

    async fn drop_it(self) {
        let mut conn = PgConnection::connect_with(&self.admin)
            .await
            .expect("connect to the test server");
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut conn)
            .await
            .expect("drop the database");
        conn.close().await.ok();
    }
}

async fn with_store<F>(label: &str, story: F)
where
    F: for<'a> FnOnce(&'a PgStore) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>
        + Send
        + 'static,
{
    let Ok(url) = std::env::var(VARIABLE) else {
        println!("skipped: {VARIABLE} not set");
        return;
    };
    let (scratch, options) = Scratch::create(&url).await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await
        .expect("pool");
    let store = PgStore::from_pool(pool).await.expect("migrate");
    // Drop the database even when the story fails.
    let outcome = tokio::spawn(async move {
        story(&store).await;
        store.close().await;
    })
    .await;
    scratch.drop_it().await;
    if let Err(panic) = outcome {
        panic!("{label}: {panic}");
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{base}/{name}{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_story_holds_on_postgres() {
    with_store("conformance", |store| {
        Box::pin(pronto_store_tests::run_all(store))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_migrates_and_is_idempotent() {
    let Ok(url) = std::env::var(VARIABLE) else {
        println!("skipped: {VARIABLE} not set");
        return;
    };
    let (scratch, _) = Scratch::create(&url).await;
    let url = with_database(&url, &scratch.name);
    let store = PgStore::connect(&url).await.expect("connect");
    let ws = store.create_workspace("Kept", 1).await.unwrap();
    store.close().await;
    let again = PgStore::connect(&url)
        .await
        .expect("connect again, migrations already run");
    assert_eq!(again.workspace_by_name("Kept").await.unwrap(), Some(ws));
    again.close().await;
    scratch.drop_it().await;
}
