//! The webhook journal's processor: takes journaled deliveries in, many per transaction.
//!
//! A round claims up to [`ROUND`] deliveries (few enough that an agent's write waits at most a few milliseconds behind it), plans them all (routing each event to its
//! inbox) and stores them with one `take_in`: one transaction, so the cost of a commit and of
//! the inbox lookups is shared by the round. If the round's transaction is refused, each
//! delivery is tried alone so that one bad delivery cannot hold the others back; a delivery
//! that never parses or is refused for good is set aside with its error. Taking a delivery in
//! twice (a processor that died after storing and before removing it) changes nothing:
//! messages are stored once by their channel id.

use super::webhook::{InboxCache, Plan, SOURCE, plan, store_plan};
use crate::app::App;
use pronto_channels::meta;
use pronto_core::store::{JournaledDelivery, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Deliveries per round.
pub const ROUND: u32 = 64;
const POLL: Duration = Duration::from_secs(1);

pub fn spawn_processor<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if app.is_shutting_down() {
                break;
            }
            let busy = match process_round(&app).await {
                Ok(claimed) => claimed == ROUND as usize,
                Err(error) => {
                    tracing::warn!(%error, "webhook journal: cannot process; retrying");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = app.journal_signal.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = app.shutdown_started() => break,
            }
        }
    })
}

/// Processes one round; how many deliveries it claimed.
pub async fn process_round<S: Store>(app: &Arc<App<S>>) -> Result<usize, StoreError> {
    let claimed = app.store.claim_deliveries(ROUND, app.now()).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut cache = InboxCache::new();
    let mut round = Plan::default();
    let mut planned: Vec<(i64, Plan)> = Vec::new();
    let mut done = Vec::new();
    for delivery in &claimed {
        match plan_one(app, delivery, &mut cache).await {
            Ok(plan) => planned.push((delivery.id, plan)),
            Err(Refused::Never(error)) => set_aside(app, delivery, &error).await,
            Err(Refused::Later(error)) => return Err(error),
        }
    }
    // Each delivery's plan is kept for a retry one by one; the round stores a copy of them all.
    let ids: Vec<i64> = planned.iter().map(|(id, _)| *id).collect();
    for (_, plan) in &planned {
        round.append(plan.clone());
    }
    let mut contacts = Vec::new();
    match store_plan(app, round).await {
        Ok(named) => {
            contacts = named;
            done.extend(ids);
        }
        Err(StoreError::Unavailable(error)) => return Err(StoreError::Unavailable(error)),
        Err(_) => {
            for (id, plan) in planned {
                match store_plan(app, plan).await {
                    Ok(named) => {
                        contacts.extend(named);
                        done.push(id);
                    }
                    Err(StoreError::Unavailable(error)) => {
                        return Err(StoreError::Unavailable(error));
                    }
                    Err(error) => {
                        let delivery = claimed.iter().find(|d| d.id == id).expect("claimed");
                        set_aside(app, delivery, &error.to_string()).await;
                    }
                }
            }
        }
    }
    app.store.finish_deliveries(&done).await?;
    super::profiles::name_contacts(app, contacts);
    Ok(claimed.len())
}

enum Refused {
    Never(String),
    Later(StoreError),
}

async fn plan_one<S: Store>(
    app: &App<S>,
    delivery: &JournaledDelivery,
    cache: &mut InboxCache,
) -> Result<Plan, Refused> {
    if delivery.source != SOURCE {
        return Err(Refused::Never(format!(
            "unknown source {:?}",
            delivery.source
        )));
    }
    let batch = meta::parse(&delivery.body).map_err(|e| Refused::Never(e.to_string()))?;
    plan(app, &batch, cache).await.map_err(|error| match error {
        StoreError::Unavailable(_) => Refused::Later(error),
        other => Refused::Never(other.to_string()),
    })
}

async fn set_aside<S: Store>(app: &App<S>, delivery: &JournaledDelivery, error: &str) {
    tracing::error!(delivery = delivery.id, %error, "webhook journal: a delivery set aside");
    app.metrics
        .record_webhook_event("meta", "delivery", "set_aside");
    // Kept, not due again: an operator can look at it (its error is stored with it).
    if let Err(failure) = app.store.defer_delivery(delivery.id, None, error).await {
        tracing::warn!(delivery = delivery.id, %failure, "webhook journal: cannot set aside");
    }
}
