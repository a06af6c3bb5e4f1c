//! The single writer with group commit.
//!
//! Every write is a job sent over a channel to one task that owns the only writing connection.
//! The task takes whatever jobs are waiting (up to [`MAX_BATCH`]), runs them in one transaction,
//! each inside its own savepoint, and commits once: many concurrent writes share one fsync.
//! A job that fails is rolled back to its savepoint and answered with its error; the others
//! still commit. Answers are sent only after the commit, so a caller never hears "done" for a
//! write that is not durable. There is no waiting for a batch to fill: while one batch commits,
//! the next one gathers by itself.

use pronto_core::store::{StoreError, StoreResult};
use sqlx::SqliteConnection;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 512;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a job leaves for after the commit: its answer, held back until then.
trait Answer: Send {
    fn succeeded(&self) -> bool;
    /// Sends the job's result, or `failure` when the transaction did not commit.
    fn send(self: Box<Self>, failure: Option<StoreError>);
}

struct Pending<T> {
    result: StoreResult<T>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T: Send> Answer for Pending<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn send(self: Box<Self>, failure: Option<StoreError>) {
        let result = match (self.result, failure) {
            (Ok(_), Some(failure)) => Err(failure),
            (result, _) => result,
        };
        // The caller may have gone away; its write stands all the same.
        let _ = self.reply.send(result);
    }
}

type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Box<dyn Answer>> + Send>;

enum Request {
    Job(Job),
    /// A row for the webhook journal: the batch's rows go in with one multi-row INSERT, so
    /// that journaling costs a statement per batch, not three per delivery.
    Append(NewDelivery, oneshot::Sender<StoreResult<i64>>),
    Close(oneshot::Sender<()>),
}

/// A delivery for the webhook journal.
pub(crate) struct NewDelivery {
    pub source: String,
    pub body: Vec<u8>,
    pub received_at: i64,
}

/// Rows per INSERT statement (four parameters each, far below SQLite's limit).
const APPEND_CHUNK: usize = 256;

type Appends = Vec<(NewDelivery, oneshot::Sender<StoreResult<i64>>)>;

/// How many transactions the writer committed and how many jobs they held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub batches: u64,
    pub jobs: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    jobs: AtomicU64,
}

/// The handle to the writer task.
pub(crate) struct Writer {
    sender: mpsc::Sender<Request>,
    counters: Arc<Counters>,
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

impl Writer {
    pub(crate) fn spawn(conn: SqliteConnection) -> Self {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(conn, receiver, Arc::clone(&counters)));
        Self { sender, counters }
    }

    /// Runs `job` in the next batch and answers once that batch has committed.
    pub(crate) async fn write<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = job(conn).await;
                Box::new(Pending { result, reply }) as Box<dyn Answer>
            })
        });
        self.sender
            .send(Request::Job(job))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the writer could not run the transaction".into())
        })?
    }

    /// Appends a delivery to the webhook journal in the next batch; its id, once committed.
    pub(crate) async fn append(&self, delivery: NewDelivery) -> StoreResult<i64> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request::Append(delivery, reply))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the writer could not run the transaction".into())
        })?
    }

    /// Lets every write sent before this one finish, then stops the writer.
    pub(crate) async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.sender.send(Request::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
    }

    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            jobs: self.counters.jobs.load(Ordering::Relaxed),
        }
    }
}

async fn execute(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(drop)
}

async fn run(
    mut conn: SqliteConnection,
    mut receiver: mpsc::Receiver<Request>,
    counters: Arc<Counters>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut appends: Appends = Vec::new();
    let mut closing = None;
    while closing.is_none() {
        match receiver.recv().await {
            Some(Request::Job(job)) => jobs.push(job),
            Some(Request::Append(row, reply)) => appends.push((row, reply)),
            Some(Request::Close(done)) => closing = Some(done),
            None => break,
        }
        while closing.is_none() && jobs.len() + appends.len() < 4 * MAX_BATCH {
            match receiver.try_recv() {
                Ok(Request::Job(job)) if jobs.len() < MAX_BATCH => jobs.push(job),
                Ok(Request::Job(job)) => {
                    jobs.push(job);
                    break;
                }
                Ok(Request::Append(row, reply)) => appends.push((row, reply)),
                Ok(Request::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if !jobs.is_empty() || !appends.is_empty() {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters
                .jobs
                .fetch_add((jobs.len() + appends.len()) as u64, Ordering::Relaxed);
            run_batch(&mut conn, jobs.drain(..), std::mem::take(&mut appends)).await;
        }
    }
    // No new job after this point: the channel refuses them once the receiver is gone.
    receiver.close();
    while let Ok(request) = receiver.try_recv() {
        if let Request::Close(done) = request {
            let _ = done.send(());
        }
    }
    if let Err(error) = sqlx::Connection::close(conn).await {
        tracing::warn!(%error, "closing the SQLite writer connection");
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Inserts the batch's journal rows (inside a savepoint of their own); their ids in order.
async fn insert_appends(
    conn: &mut SqliteConnection,
    rows: &[NewDelivery],
) -> Result<Vec<i64>, sqlx::Error> {
    execute(conn, "SAVEPOINT appends").await?;
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(APPEND_CHUNK) {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO webhook_journal (source, received_at, body, attempts, due_at) ",
        );
        query.push_values(chunk, |mut row, delivery| {
            row.push_bind(delivery.source.as_str())
                .push_bind(delivery.received_at)
                .push_bind(delivery.body.as_slice())
                .push_bind(0_i64)
                .push_bind(delivery.received_at);
        });
        query.push(" RETURNING id");
        let returned: Result<Vec<i64>, sqlx::Error> =
            query.build_query_scalar().fetch_all(&mut *conn).await;
        match returned {
            // Ids grow in insertion order; RETURNING's own order is not promised.
            Ok(mut chunk_ids) => {
                chunk_ids.sort_unstable();
                ids.extend(chunk_ids);
            }
            Err(error) => {
                let _ = execute(conn, "ROLLBACK TO appends").await;
                let _ = execute(conn, "RELEASE appends").await;
                return Err(error);
            }
        }
    }
    execute(conn, "RELEASE appends").await?;
    Ok(ids)
}

async fn run_batch(conn: &mut SqliteConnection, jobs: impl Iterator<Item = Job>, appends: Appends) {
    if let Err(error) = execute(conn, "BEGIN IMMEDIATE").await {
        // Dropping the jobs drops their reply senders: each caller hears "unavailable".
        tracing::error!(%error, "the SQLite writer could not begin a transaction");
        return;
    }
    let (rows, replies): (Vec<NewDelivery>, Vec<_>) = appends.into_iter().unzip();
    let appended = if rows.is_empty() {
        Ok(Vec::new())
    } else {
        insert_appends(conn, &rows).await
    };
    let mut answers: Vec<Box<dyn Answer>> = Vec::new();
    let mut broken = None;
    for job in jobs {
        if broken.is_some() {
            break;
        }
        if let Err(error) = execute(conn, "SAVEPOINT job").await {
            broken = Some(error);
            break;
        }
        let answer = job(conn).await;
        let ended = if answer.succeeded() {
            execute(conn, "RELEASE job").await
        } else {
            // Undo this job only. If SQLite already rolled the whole transaction back (a full
            // disk, an I/O error), the savepoint is gone and so is the batch.
            match execute(conn, "ROLLBACK TO job").await {
                Ok(()) => execute(conn, "RELEASE job").await,
                Err(error) => Err(error),
            }
        };
        answers.push(answer);
        if let Err(error) = ended {
            broken = Some(error);
        }
    }
    let outcome = match broken {
        Some(error) => Err(error),
        None => execute(conn, "COMMIT").await,
    };
    match outcome {
        Ok(()) => {
            answers.into_iter().for_each(|answer| answer.send(None));
            match appended {
                Ok(ids) => {
                    for (reply, id) in replies.into_iter().zip(ids) {
                        let _ = reply.send(Ok(id));
                    }
                }
                Err(error) => {
                    let failure = StoreError::Unavailable(format!("journaling failed: {error}"));
                    for reply in replies {
                        let _ = reply.send(Err(failure.clone()));
                    }
                }
            }
        }
        Err(error) => {
            tracing::error!(%error, "an SQLite write batch failed; rolling it back");
            let _ = execute(conn, "ROLLBACK").await;
            let failure = StoreError::Unavailable(format!("the write was rolled back: {error}"));
            answers
                .into_iter()
                .for_each(|answer| answer.send(Some(failure.clone())));
            for reply in replies {
                let _ = reply.send(Err(failure.clone()));
            }
        }
    }
}
