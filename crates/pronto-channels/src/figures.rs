//! An inbox's stored events as the badge engine's log, and its figures at an instant: what
//! `pronto badge` would compute over the inbox's exported `events.jsonl`.

use pronto_badge::{
    AvailabilityEvent, ConversationEvent, ConversationId as LogConversation, Fact, Figures, Log,
    Millis, Rules, evaluate,
};
use pronto_core::store::{InboxEvent, InboxFact, Store, StoreResult};
use pronto_core::{ConversationId, InboxId, WorkspaceId};
use std::collections::HashMap;

/// The engine's log of stored events (in any order; their `seq` is the line order).
pub fn log_of(events: &[InboxEvent]) -> Log {
    let mut log = Log::default();
    let mut ids: HashMap<ConversationId, LogConversation> = HashMap::new();
    for event in events {
        let seq = event.seq as u64;
        match &event.fact {
            InboxFact::Message {
                conversation,
                author,
            } => {
                let id = dense(&mut ids, &mut log, *conversation);
                log.conversation_events.push(ConversationEvent {
                    at: event.at,
                    seq,
                    conversation: id,
                    fact: Fact::Message(*author),
                });
            }
            InboxFact::Status {
                conversation,
                status,
                ..
            } => {
                let id = dense(&mut ids, &mut log, *conversation);
                log.conversation_events.push(ConversationEvent {
                    at: event.at,
                    seq,
                    conversation: id,
                    fact: Fact::Status(*status),
                });
            }
            InboxFact::Availability { availability, .. } => {
                log.availability_events.push(AvailabilityEvent {
                    at: event.at,
                    seq,
                    availability: *availability,
                });
            }
        }
    }
    log
}

fn dense(
    ids: &mut HashMap<ConversationId, LogConversation>,
    log: &mut Log,
    id: ConversationId,
) -> LogConversation {
    *ids.entry(id).or_insert_with(|| {
        log.conversation_names.push(id.to_string());
        LogConversation(log.conversation_names.len() as u32 - 1)
    })
}

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
