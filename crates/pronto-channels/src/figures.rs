//! An inbox's stored events as the badge engine's log, and its figures at an instant: what
//! `pronto badge` would compute over the inbox's exported `events.jsonl`.

use pronto_badge::{Figures, Millis, Rules, evaluate};
use pronto_core::store::{InboxEvent, Store, StoreResult};
use pronto_core::{InboxId, WorkspaceId};

/// The engine's log of stored events (see [`pronto_core::store::badge_log`]).
pub use pronto_core::store::badge_log as log_of;

/// Every stored event of an inbox, page by page.
pub async fn inbox_log<S: Store>(
    store: &S,
    workspace: WorkspaceId,
    inbox: InboxId,
) -> StoreResult<Vec<InboxEvent>> {
    const PAGE: u32 = 10_000;
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store.inbox_events(workspace, inbox, after, PAGE).await?;
        let Some(last) = page.iter().map(|e| e.seq).max() else {
            return Ok(events);
        };
        let full = page.len() as u32 == PAGE;
        after = last;
        events.extend(page);
        if !full {
            return Ok(events);
        }
    }
}

/// The inbox's figures at `at`, by the engine over its stored events.
pub async fn inbox_figures<S: Store>(
    store: &S,
    workspace: WorkspaceId,
    inbox: InboxId,
    at: Millis,
    rules: &Rules,
) -> StoreResult<Figures> {
    let events = inbox_log(store, workspace, inbox).await?;
    Ok(evaluate(&log_of(&events), at, rules).figures)
}
