//! One conformance story for every store adapter: the same calls, the same answers, on SQLite
//! and on PostgreSQL. An adapter's integration test opens a fresh store and runs
//! [`run_all`]; each chapter is also public, to run alone while debugging.
//!
//! The chapters make their own workspaces (with names of their own), so they can share one
//! store; they run one after another, since some of them (the outbox, user counts) look at
//! installation-wide figures. Instants are fixed, never the clock.

use futures_util::future::join_all;
use pronto_badge::time::{DAY, HOUR, MINUTE, SECOND};
use pronto_badge::{Author, Availability, Millis, Rules, Status};
use pronto_core::conversation::Urgency;
use pronto_core::history::{HistoricConversation, HistoryChunk, HistoryLoader, IdKind};
use pronto_core::store::*;
use pronto_core::template::{NewTemplate, TemplateUpdate};
use pronto_core::*;
use std::collections::{BTreeMap, BTreeSet};

/// The story's epoch: 2025-11-24T16:00:00Z.
pub const T0: Millis = 1_764_000_000_000;

/// Runs the whole story.
pub async fn run_all<S: Store + HistoryLoader>(store: &S) {
    workspaces_users_and_members(store).await;
    sessions_and_api_tokens(store).await;
    inboxes_and_channel_keys(store).await;
    reply_templates(store).await;
    ingest_stores_each_message_once(store).await;
    done_reopens_and_spam_stays(store).await;
    reopening_never_revives_a_settled_done_start(store).await;
    status_and_assignment(store).await;
    urgency_follows_the_messages(store).await;
    conversation_lists_and_paging(store).await;
    replies_and_the_outbox(store).await;
    an_echo_ingested_before_the_acceptance_counts_once(store).await;
    a_delivery_is_taken_in_whole_or_not_at_all(store).await;
    the_webhook_journal(store).await;
    availability(store).await;
    the_log_in_order_with_paging(store).await;
    conversation_events_and_availability_before(store).await;
    snapshots(store).await;
    the_change_feed(store).await;
    tenant_isolation(store).await;
    deleting_an_inbox_deletes_what_it_holds(store).await;
    view_counts(store).await;
    a_history_loaded_in_bulk(store).await;
    concurrent_ingests(store, 200).await;
    deliveries_and_agents_at_once(store).await;
    eprintln!("conformance story: every chapter passed");
}

// The cast.

/// A workspace with an admin, an agent and an inbox.
pub struct World {
    pub ws: Workspace,
    pub admin: User,
    pub agent: User,
    pub inbox: Inbox,
}

pub async fn world<S: Store>(store: &S, label: &str, channel: ChannelKind) -> World {
    let ws = store
        .create_workspace(&format!("Story {label}"), T0)
        .await
        .expect("workspace");
    let admin = store
        .create_user(
            &format!("admin.{label}@example.com"),
            "Admin",
            "hash-admin",
            T0,
        )
        .await
        .expect("admin");
    let agent = store
        .create_user(
            &format!("agent.{label}@example.com"),
            "Agent",
            "hash-agent",
            T0,
        )
        .await
        .expect("agent");
    store
        .set_member(ws.id, admin.id, Role::Admin)
        .await
        .expect("admin member");
    store
        .set_member(ws.id, agent.id, Role::Agent)
        .await
        .expect("agent member");
    let inbox = store
        .create_inbox(ws.id, &new_inbox("Support", channel, None), T0)
        .await
        .expect("inbox");
    World {
        ws,
        admin,
        agent,
        inbox,
    }
}

pub fn new_inbox(name: &str, channel: ChannelKind, key: Option<&str>) -> NewInbox {
    NewInbox {
        name: name.into(),
        channel,
        channel_key: key.map(Into::into),
        settings: serde_json::json!({}),
        sealed_secrets: None,
    }
}

pub fn incoming(inbox: InboxId, contact: &str, mid: &str, at: Millis, author: Author) -> Incoming {
    Incoming {
        inbox,
        contact_external_id: contact.into(),
        contact_name: format!("Customer {contact}"),
        channel_message_id: mid.into(),
        at,
        author,
        text: format!("message {mid}"),
        attachments: Vec::new(),
    }
}

/// Ingests a message that must be new.
pub async fn ingest<S: Store>(
    store: &S,
    ws: WorkspaceId,
    message: &Incoming,
) -> (Message, Conversation, Vec<InboxEvent>, Vec<Change>) {
    match store.ingest(ws, message).await.expect("ingest") {
        Ingested::Stored {
            message,
            conversation,
            events,
            changes,
        } => (message, conversation, events, changes),
        Ingested::Duplicate { .. } => {
            panic!("{} was taken for a duplicate", message.channel_message_id)
        }
    }
}

/// A reply sent and accepted by the channel at `at`.
pub async fn answer<S: Store>(
    store: &S,
    world: &World,
    conversation: ConversationId,
    at: Millis,
    mid: &str,
) -> (Message, Vec<InboxEvent>) {
    let (_, entry, _) = store
        .reply(
            world.ws.id,
            conversation,
            world.agent.id,
            "Thanks, on it",
            at,
        )
        .await
        .expect("reply");
    let claimed = store
        .claim_outbox(entry.channel, 100, at)
        .await
        .expect("claim");
    let mine = claimed
        .iter()
        .find(|e| e.id == entry.id && e.workspace == entry.workspace)
        .expect("the reply is claimed");
    let accepted = SendOutcome::Accepted {
        channel_message_id: mid.into(),
        at,
    };
    let (message, events, _) = store
        .finish_send(mine, &accepted, at)
        .await
        .expect("finish");
    (message, events)
}

fn expect_not_found<T: std::fmt::Debug>(what: &str, result: StoreResult<T>) {
    match result {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

fn expect_invalid<T: std::fmt::Debug>(what: &str, result: StoreResult<T>) {
    match result {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

fn expect_conflict<T: std::fmt::Debug>(what: &str, result: StoreResult<T>) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

/// The badge event of an availability change.
async fn availability_event<S: Store>(
    store: &S,
    ws: WorkspaceId,
    inbox: InboxId,
    availability: Availability,
    by: Option<UserId>,
    at: Millis,
) -> InboxEvent {
    let (event, _) = store
        .set_availability(ws, inbox, availability, by, at)
        .await
        .unwrap();
    event
}

/// The badge events of a status change.
async fn status_events<S: Store>(
    store: &S,
    ws: WorkspaceId,
    conversation: ConversationId,
    status: Status,
    by: Option<UserId>,
    at: Millis,
) -> Vec<InboxEvent> {
    store
        .set_status(ws, conversation, status, by, at)
        .await
        .unwrap()
        .1
}

async fn all_events<S: Store>(store: &S, ws: WorkspaceId, inbox: InboxId) -> Vec<InboxEvent> {
    store
        .inbox_events(ws, inbox, 0, u32::MAX)
        .await
        .expect("events")
}

// The chapters.

/// A customer who comes back days after an unanswered start was moved to Done opens a new
/// start; the old one stays Done (the `open` belongs to the new message's segment).
pub async fn reopening_never_revives_a_settled_done_start<S: Store>(store: &S) {
    use pronto_badge::time::{DAY, HOUR};
    let w = world(store, "reopen-later", ChannelKind::Playground).await;
    ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "r1", "r-1", T0, Author::Customer),
    )
    .await;
    let c = store
        .conversations(
            w.ws.id,
            &ConversationQuery {
                inbox: Some(w.inbox.id),
                status: None,
                assignee: None,
                waiting: false,
                order: ConversationOrder::Activity,
                cursor: None,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .items[0]
        .conversation
        .id;
    store
        .set_status(w.ws.id, c, Status::Done, None, T0 + HOUR)
        .await
        .unwrap();
    ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "r1", "r-2", T0 + 2 * DAY, Author::Customer),
    )
    .await;
    let log = badge_log(&all_events(store, w.ws.id, w.inbox.id).await);
    let figures =
        pronto_badge::evaluate(&log, T0 + 2 * DAY + HOUR, &pronto_badge::Rules::default()).figures;
    assert_eq!(
        (
            figures.excluded.done,
            figures.pending,
            figures.window.starts
        ),
        (1, 1, 0)
    );
}

pub async fn workspaces_users_and_members<S: Store>(store: &S) {
    let acme = store.create_workspace("Acme", T0).await.unwrap();
    assert_eq!((acme.name.as_str(), acme.created_at), ("Acme", T0));
    expect_conflict("a second Acme", store.create_workspace("Acme", T0).await);
    assert_eq!(
        store.workspace_by_name("Acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.workspace_by_name("Nobody").await.unwrap(), None);

    let users_before = store.user_count().await.unwrap();
    let ann = store
        .create_user("Ann@Example.com", "Ann", "hash-1", T0)
        .await
        .unwrap();
    assert_eq!(
        (ann.email.as_str(), ann.name.as_str(), ann.active),
        ("Ann@Example.com", "Ann", true)
    );
    assert_eq!(store.user_count().await.unwrap(), users_before + 1);
    expect_conflict(
        "the same email in other letters",
        store.create_user("ann@example.COM", "Ann 2", "h", T0).await,
    );
    let found = store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .expect("found by email, any case");
    assert_eq!(found, ann);
    assert_eq!(store.user_by_email("bob@example.com").await.unwrap(), None);

    store.set_password(ann.id, "hash-2").await.unwrap();
    assert_eq!(
        store
            .user_by_email("Ann@Example.com")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "hash-2"
    );
    expect_not_found(
        "password of nobody",
        store.set_password(UserId(i64::MAX), "x").await,
    );

    assert_eq!(store.member(acme.id, ann.id).await.unwrap(), None);
    store
        .set_member(acme.id, ann.id, Role::Admin)
        .await
        .unwrap();
    let member = store
        .member(acme.id, ann.id)
        .await
        .unwrap()
        .expect("member");
    assert_eq!(
        (member.workspace, member.role, member.presence),
        (acme.id, Role::Admin, Presence::Offline)
    );
    assert_eq!(member.user.id, ann.id);
    store
        .set_member(acme.id, ann.id, Role::Agent)
        .await
        .unwrap();
    assert_eq!(
        store.member(acme.id, ann.id).await.unwrap().unwrap().role,
        Role::Agent
    );
    assert_eq!(store.members(acme.id).await.unwrap().len(), 1);

    let other = store.create_workspace("Acme Two", T0 + 1).await.unwrap();
    store
        .set_member(other.id, ann.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        store.memberships(ann.id).await.unwrap(),
        vec![(acme.clone(), Role::Agent), (other.clone(), Role::Admin)]
    );
    expect_not_found(
        "member of no workspace",
        store
            .set_member(WorkspaceId(i64::MAX), ann.id, Role::Agent)
            .await,
    );
    expect_not_found(
        "nobody as a member",
        store
            .set_member(acme.id, UserId(i64::MAX), Role::Agent)
            .await,
    );

    store
        .set_presence(acme.id, ann.id, Presence::Online)
        .await
        .unwrap();
    assert_eq!(
        store
            .member(acme.id, ann.id)
            .await
            .unwrap()
            .unwrap()
            .presence,
        Presence::Online
    );
    assert_eq!(
        store
            .member(other.id, ann.id)
            .await
            .unwrap()
            .unwrap()
            .presence,
        Presence::Offline
    );
    let bob = store
        .create_user("bob@example.com", "Bob", "h", T0)
        .await
        .unwrap();
    expect_not_found(
        "presence of a non-member",
        store.set_presence(acme.id, bob.id, Presence::Busy).await,
    );

    store.set_user_active(ann.id, false).await.unwrap();
    assert!(
        !store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    store.set_user_active(ann.id, true).await.unwrap();
    assert!(
        store
            .member(acme.id, ann.id)
            .await
            .unwrap()
            .unwrap()
            .user
            .active
    );
    expect_not_found(
        "deactivating nobody",
        store.set_user_active(UserId(i64::MAX), false).await,
    );
}

pub async fn sessions_and_api_tokens<S: Store>(store: &S) {
    let w = world(store, "auth", ChannelKind::Playground).await;
    let session = Session {
        token_hash: b"session-hash-1".to_vec(),
        user: w.agent.id,
        workspace: w.ws.id,
        csrf_token: "csrf-1".into(),
        expires_at: T0 + DAY,
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(
        store.session(&session.token_hash, T0).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.session(&session.token_hash, T0 + DAY).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.session(b"unknown", T0).await.unwrap(), None);
    expect_conflict(
        "the same session twice",
        store.create_session(&session).await,
    );

    store.set_user_active(w.agent.id, false).await.unwrap();
    assert_eq!(
        store.session(&session.token_hash, T0).await.unwrap(),
        None,
        "deactivated user"
    );
    store.set_user_active(w.agent.id, true).await.unwrap();
    assert!(
        store
            .session(&session.token_hash, T0)
            .await
            .unwrap()
            .is_some()
    );
    store.delete_session(&session.token_hash).await.unwrap();
    assert_eq!(store.session(&session.token_hash, T0).await.unwrap(), None);
    store.delete_session(&session.token_hash).await.unwrap();

    let outsider = store
        .create_user("outsider.auth@example.com", "Out", "h", T0)
        .await
        .unwrap();
    let foreign = Session {
        token_hash: b"session-hash-2".to_vec(),
        user: outsider.id,
        ..session.clone()
    };
    expect_not_found(
        "a session of a non-member",
        store.create_session(&foreign).await,
    );

    let token = store
        .create_api_token(w.ws.id, w.admin.id, "CI", b"token-hash-1", T0)
        .await
        .unwrap();
    assert_eq!(
        (token.workspace, token.user, token.label.as_str()),
        (w.ws.id, w.admin.id, "CI")
    );
    assert_eq!((token.created_at, token.last_used_at), (T0, None));
    let used = store
        .use_api_token(b"token-hash-1", T0 + HOUR)
        .await
        .unwrap()
        .expect("token");
    assert_eq!(used.last_used_at, Some(T0 + HOUR));
    assert_eq!(used.id, token.id);
    let soon = store
        .use_api_token(b"token-hash-1", T0 + HOUR + SECOND)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(soon.last_used_at, Some(T0 + HOUR), "within the resolution");
    let later = T0 + HOUR + TOKEN_USE_RESOLUTION;
    assert_eq!(
        store
            .use_api_token(b"token-hash-1", later)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(later)
    );
    assert_eq!(
        store.use_api_token(b"token-hash-2", T0).await.unwrap(),
        None
    );
    store.set_user_active(w.admin.id, false).await.unwrap();
    assert_eq!(
        store.use_api_token(b"token-hash-1", later).await.unwrap(),
        None,
        "deactivated user"
    );
    store.set_user_active(w.admin.id, true).await.unwrap();
    expect_not_found(
        "a token for a non-member",
        store
            .create_api_token(w.ws.id, outsider.id, "x", b"token-hash-3", T0)
            .await,
    );
    expect_conflict(
        "a token hash twice",
        store
            .create_api_token(w.ws.id, w.agent.id, "y", b"token-hash-1", T0)
            .await,
    );
}

pub async fn inboxes_and_channel_keys<S: Store>(store: &S) {
    let w = world(store, "inboxes", ChannelKind::Playground).await;
    let mut new = new_inbox("Page", ChannelKind::Messenger, Some("page-1"));
    new.settings = serde_json::json!({"greeting": "hi"});
    new.sealed_secrets = Some(vec![1, 2, 3]);
    let page = store.create_inbox(w.ws.id, &new, T0 + 1).await.unwrap();
    assert_eq!(
        (
            page.workspace,
            page.name.as_str(),
            page.channel,
            page.channel_key.as_deref()
        ),
        (w.ws.id, "Page", ChannelKind::Messenger, Some("page-1"))
    );
    assert_eq!(
        (
            page.settings.clone(),
            page.sealed_secrets.clone(),
            page.created_at
        ),
        (new.settings.clone(), Some(vec![1, 2, 3]), T0 + 1)
    );
    assert_eq!(store.inbox(w.ws.id, page.id).await.unwrap(), page);
    assert_eq!(
        store.inboxes(w.ws.id).await.unwrap(),
        vec![w.inbox.clone(), page.clone()]
    );
    assert_eq!(
        store
            .inbox_by_channel_key(ChannelKind::Messenger, "page-1")
            .await
            .unwrap(),
        Some(page.clone())
    );
    assert_eq!(
        store
            .inbox_by_channel_key(ChannelKind::Instagram, "page-1")
            .await
            .unwrap(),
        None,
        "per channel kind"
    );
    assert_eq!(
        store
            .inbox_by_channel_key(ChannelKind::Messenger, "page-2")
            .await
            .unwrap(),
        None
    );

    let elsewhere = store
        .create_workspace("Story inboxes elsewhere", T0)
        .await
        .unwrap();
    expect_conflict(
        "a page connected twice",
        store.create_inbox(elsewhere.id, &new, T0).await,
    );
    let mut same_key_other_kind = new.clone();
    same_key_other_kind.channel = ChannelKind::Instagram;
    let insta = store
        .create_inbox(elsewhere.id, &same_key_other_kind, T0)
        .await
        .unwrap();
    let keyless = store
        .create_inbox(
            w.ws.id,
            &new_inbox("Play 2", ChannelKind::Playground, None),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(keyless.channel_key, None);
    expect_invalid(
        "an inbox without a name",
        store
            .create_inbox(w.ws.id, &new_inbox(" ", ChannelKind::Playground, None), T0)
            .await,
    );
    expect_not_found(
        "an inbox of no workspace",
        store
            .create_inbox(
                WorkspaceId(i64::MAX),
                &new_inbox("x", ChannelKind::Api, None),
                T0,
            )
            .await,
    );

    let update = InboxUpdate {
        name: Some("Page renamed".into()),
        settings: Some(serde_json::json!({"greeting": "hello"})),
        sealed_secrets: None,
    };
    let updated = store.update_inbox(w.ws.id, page.id, &update).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.settings.clone()),
        ("Page renamed", serde_json::json!({"greeting": "hello"}))
    );
    assert_eq!(
        updated.sealed_secrets,
        Some(vec![1, 2, 3]),
        "secrets kept when not updated"
    );
    let resealed = store
        .update_inbox(
            w.ws.id,
            page.id,
            &InboxUpdate {
                sealed_secrets: Some(vec![9]),
                ..InboxUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (resealed.name.as_str(), resealed.sealed_secrets.clone()),
        ("Page renamed", Some(vec![9]))
    );
    assert_eq!(store.inbox(w.ws.id, page.id).await.unwrap(), resealed);
    expect_invalid(
        "settings that are not an object",
        store
            .update_inbox(
                w.ws.id,
                page.id,
                &InboxUpdate {
                    settings: Some(serde_json::json!([1])),
                    ..InboxUpdate::default()
                },
            )
            .await,
    );
    expect_not_found(
        "updating no inbox",
        store
            .update_inbox(w.ws.id, InboxId(i64::MAX), &update)
            .await,
    );

    let all = store.all_inboxes().await.unwrap();
    for inbox in [&w.inbox, &resealed, &insta, &keyless] {
        assert!(all.contains(inbox), "all_inboxes holds {}", inbox.name);
    }

    store.delete_inbox(w.ws.id, page.id).await.unwrap();
    expect_not_found("a deleted inbox", store.inbox(w.ws.id, page.id).await);
    expect_not_found(
        "deleting it again",
        store.delete_inbox(w.ws.id, page.id).await,
    );
    assert_eq!(
        store
            .inbox_by_channel_key(ChannelKind::Messenger, "page-1")
            .await
            .unwrap(),
        None
    );
    let again = store
        .create_inbox(elsewhere.id, &new, T0)
        .await
        .expect("the page can be connected again");
    assert_eq!(
        store
            .inbox_by_channel_key(ChannelKind::Messenger, "page-1")
            .await
            .unwrap(),
        Some(again)
    );
}

fn new_template(title: &str, text: &str, language: Option<&str>) -> NewTemplate {
    NewTemplate::new(title, text, language).expect("a valid template")
}

/// Reply templates: created, listed by title (ignoring case), changed, deleted; a title is
/// unique within its workspace only; another workspace's template is not found.
pub async fn reply_templates<S: Store>(store: &S) {
    let w = world(store, "templates", ChannelKind::Playground).await;
    assert_eq!(store.templates(w.ws.id).await.unwrap(), vec![]);
    let returns = store
        .create_template(
            w.ws.id,
            &new_template("Returns", "Within 30 days.", Some("en")),
            Some(w.admin.id),
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(
        returns,
        Template {
            id: returns.id,
            workspace: w.ws.id,
            title: "Returns".into(),
            text: "Within 30 days.".into(),
            language: Some("en".into()),
            created_by: Some(w.admin.id),
            created_at: T0 + 1,
            updated_at: T0 + 1,
        }
    );
    let closing = store
        .create_template(
            w.ws.id,
            &new_template("closing", "Have a great day!\nThe team", None),
            Some(w.agent.id),
            T0 + 2,
        )
        .await
        .unwrap();
    let apology = store
        .create_template(
            w.ws.id,
            &new_template("Apology", "Извините за задержку.", Some("ru")),
            None,
            T0 + 3,
        )
        .await
        .unwrap();
    assert_eq!(apology.created_by, None, "written by no person (an import)");
    assert_eq!(
        store.templates(w.ws.id).await.unwrap(),
        vec![apology.clone(), closing.clone(), returns.clone()],
        "by title, ignoring case"
    );

    // A title is unique within the workspace, not across workspaces.
    expect_conflict(
        "a duplicate title",
        store
            .create_template(
                w.ws.id,
                &new_template(" Returns ", "Another text", None),
                Some(w.admin.id),
                T0 + 4,
            )
            .await,
    );
    let other = world(store, "templates-other", ChannelKind::Playground).await;
    let theirs = store
        .create_template(
            other.ws.id,
            &new_template("Returns", "Their returns", None),
            Some(other.admin.id),
            T0 + 4,
        )
        .await
        .expect("the same title in another workspace");
    expect_not_found(
        "a creator who is not a member",
        store
            .create_template(
                w.ws.id,
                &new_template("Stranger", "x", None),
                Some(other.admin.id),
                T0,
            )
            .await,
    );
    expect_not_found(
        "a template of no workspace",
        store
            .create_template(
                WorkspaceId(i64::MAX),
                &new_template("Nowhere", "x", None),
                None,
                T0,
            )
            .await,
    );

    // Updates change what they name; the same values change nothing.
    let update = TemplateUpdate::new(Some("Refunds"), Some("Within 14 days."), Some(None)).unwrap();
    let refunds = store
        .update_template(w.ws.id, returns.id, &update, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        (
            refunds.title.as_str(),
            refunds.text.as_str(),
            refunds.language.as_deref(),
            refunds.created_by,
            refunds.created_at,
            refunds.updated_at
        ),
        (
            "Refunds",
            "Within 14 days.",
            None,
            Some(w.admin.id),
            T0 + 1,
            T0 + 10
        )
    );
    let unchanged = store
        .update_template(w.ws.id, refunds.id, &update, T0 + 20)
        .await
        .unwrap();
    assert_eq!(unchanged, refunds, "no change, no new updated_at");
    let nothing = store
        .update_template(w.ws.id, refunds.id, &TemplateUpdate::default(), T0 + 20)
        .await
        .unwrap();
    assert_eq!(nothing, refunds);
    let language = TemplateUpdate::new(None, None, Some(Some("EN"))).unwrap();
    let refunds = store
        .update_template(w.ws.id, refunds.id, &language, T0 + 21)
        .await
        .unwrap();
    assert_eq!(
        (
            refunds.language.as_deref(),
            refunds.title.as_str(),
            refunds.updated_at
        ),
        (Some("en"), "Refunds", T0 + 21)
    );
    expect_conflict(
        "renaming onto another template's title",
        store
            .update_template(
                w.ws.id,
                closing.id,
                &TemplateUpdate::new(Some("Apology"), None, None).unwrap(),
                T0 + 22,
            )
            .await,
    );
    assert_eq!(
        store.templates(w.ws.id).await.unwrap(),
        vec![apology.clone(), closing.clone(), refunds.clone()],
        "the refused rename changed nothing; the renamed one moved"
    );
    // The title given up is free again.
    let returns_again = store
        .create_template(
            w.ws.id,
            &new_template("Returns", "Within 30 days.", None),
            Some(w.agent.id),
            T0 + 23,
        )
        .await
        .unwrap();

    // Another workspace's template is not found, and stays as it was.
    expect_not_found(
        "updating another workspace's template",
        store
            .update_template(w.ws.id, theirs.id, &update, T0 + 30)
            .await,
    );
    expect_not_found(
        "deleting another workspace's template",
        store.delete_template(w.ws.id, theirs.id).await,
    );
    assert_eq!(store.templates(other.ws.id).await.unwrap(), vec![theirs]);
    assert!(
        !store
            .templates(w.ws.id)
            .await
            .unwrap()
            .iter()
            .any(|t| t.workspace != w.ws.id)
    );

    // Deleting.
    store.delete_template(w.ws.id, closing.id).await.unwrap();
    expect_not_found(
        "deleting it again",
        store.delete_template(w.ws.id, closing.id).await,
    );
    expect_not_found(
        "updating a deleted template",
        store
            .update_template(w.ws.id, closing.id, &language, T0 + 40)
            .await,
    );
    expect_not_found(
        "updating no template",
        store
            .update_template(w.ws.id, TemplateId(i64::MAX), &language, T0 + 40)
            .await,
    );
    assert_eq!(
        store.templates(w.ws.id).await.unwrap(),
        vec![apology, refunds, returns_again]
    );
}

pub async fn ingest_stores_each_message_once<S: Store>(store: &S) {
    let w = world(store, "ingest", ChannelKind::Playground).await;
    let mut first = incoming(w.inbox.id, "psid-1", "m-1", T0, Author::Customer);
    first.attachments = vec![Attachment {
        kind: "image".into(),
        url: "https://example.com/a.png".into(),
        name: Some("a.png".into()),
    }];
    let (message, conversation, events, changes) = ingest(store, w.ws.id, &first).await;
    assert_eq!(
        (
            message.workspace,
            message.conversation,
            message.author,
            message.agent
        ),
        (w.ws.id, conversation.id, Author::Customer, None)
    );
    assert_eq!(
        (
            message.channel_message_id.as_deref(),
            message.at,
            message.text.as_str()
        ),
        (Some("m-1"), T0, "message m-1")
    );
    assert_eq!(
        (message.attachments.clone(), message.delivery.clone()),
        (first.attachments.clone(), Delivery::Received)
    );
    assert_eq!(
        (
            conversation.workspace,
            conversation.inbox,
            conversation.status,
            conversation.assignee
        ),
        (w.ws.id, w.inbox.id, Status::Open, None)
    );
    assert_eq!(
        (conversation.last_activity_at, conversation.preview.as_str()),
        (T0, "message m-1")
    );
    assert_eq!(conversation.urgency.waiting_since, Some(T0));
    assert_eq!(
        events,
        vec![InboxEvent {
            inbox: w.inbox.id,
            seq: 1,
            at: T0,
            fact: InboxFact::Message {
                conversation: conversation.id,
                author: Author::Customer
            }
        }]
    );
    let kinds: Vec<_> = changes.iter().map(|c| c.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::MessageCreated {
                inbox: w.inbox.id,
                conversation: conversation.id,
                message: message.id
            },
            ChangeKind::ConversationUpdated {
                inbox: w.inbox.id,
                conversation: conversation.id
            },
        ]
    );
    let contact = store.contact(w.ws.id, conversation.contact).await.unwrap();
    assert_eq!(
        (
            contact.inbox,
            contact.external_id.as_str(),
            contact.name.as_str()
        ),
        (w.inbox.id, "psid-1", "Customer psid-1")
    );

    // The same message again is stored once.
    assert_eq!(
        store.ingest(w.ws.id, &first).await.unwrap(),
        Ingested::Duplicate {
            message: message.id
        }
    );
    let mut changed_text = first.clone();
    changed_text.text = "edited".into();
    assert_eq!(
        store.ingest(w.ws.id, &changed_text).await.unwrap(),
        Ingested::Duplicate {
            message: message.id
        }
    );
    assert_eq!(
        store.messages(w.ws.id, conversation.id).await.unwrap(),
        vec![message.clone()]
    );
    assert_eq!(all_events(store, w.ws.id, w.inbox.id).await.len(), 1);

    // The same message id in another inbox is another message.
    let other_inbox = store
        .create_inbox(
            w.ws.id,
            &new_inbox("Other", ChannelKind::Playground, None),
            T0,
        )
        .await
        .unwrap();
    let (_, elsewhere, other_events, _) = ingest(
        store,
        w.ws.id,
        &incoming(other_inbox.id, "psid-1", "m-1", T0, Author::Customer),
    )
    .await;
    assert_ne!(elsewhere.id, conversation.id);
    assert_eq!(other_events[0].seq, 1, "sequences are per inbox");

    // One thread per (inbox, contact); the contact's name follows the channel.
    let mut second = incoming(w.inbox.id, "psid-1", "m-2", T0 + MINUTE, Author::Customer);
    second.contact_name = "Ann Smith".into();
    let (message2, same, events2, _) = ingest(store, w.ws.id, &second).await;
    assert_eq!(same.id, conversation.id);
    assert_eq!(events2[0].seq, 2);
    assert_eq!(
        store
            .contact(w.ws.id, conversation.contact)
            .await
            .unwrap()
            .name,
        "Ann Smith"
    );
    assert_eq!(
        store.messages(w.ws.id, conversation.id).await.unwrap(),
        vec![message, message2]
    );
    let (_, another, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "psid-2", "m-3", T0, Author::Customer),
    )
    .await;
    assert_ne!(another.id, conversation.id);
    assert_ne!(another.contact, conversation.contact);

    expect_not_found(
        "ingest into no inbox",
        store
            .ingest(
                w.ws.id,
                &incoming(InboxId(i64::MAX), "p", "m-x", T0, Author::Customer),
            )
            .await,
    );
    expect_invalid(
        "a message without an id",
        store
            .ingest(
                w.ws.id,
                &incoming(w.inbox.id, "p", "", T0, Author::Customer),
            )
            .await,
    );
}

pub async fn done_reopens_and_spam_stays<S: Store>(store: &S) {
    let w = world(store, "lifecycle", ChannelKind::Playground).await;
    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "l-1", T0, Author::Customer),
    )
    .await;
    let (done, events, _) = store
        .set_status(w.ws.id, c.id, Status::Done, Some(w.agent.id), T0 + MINUTE)
        .await
        .unwrap();
    assert_eq!(done.status, Status::Done);
    assert_eq!(
        events[0].fact,
        InboxFact::Status {
            conversation: c.id,
            status: Status::Done,
            by: Some(w.agent.id)
        }
    );

    // Automation and agents do not reopen it.
    let (_, still, events, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "l-2", T0 + 2 * MINUTE, Author::Automation),
    )
    .await;
    assert_eq!((still.status, events.len()), (Status::Done, 1));
    let (_, still, events, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "l-3", T0 + 3 * MINUTE, Author::Agent),
    )
    .await;
    assert_eq!((still.status, events.len()), (Status::Done, 1));

    // A customer does: the message, then an `open` status event at the same instant, so that
    // the `open` falls in the message's segment (an earlier settled start stays Done).
    let (_, reopened, events, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "l-4", T0 + 4 * MINUTE, Author::Customer),
    )
    .await;
    assert_eq!(reopened.status, Status::Open);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].fact,
        InboxFact::Message {
            conversation: c.id,
            author: Author::Customer
        }
    );
    assert_eq!(
        (events[1].at, events[1].fact.clone()),
        (
            T0 + 4 * MINUTE,
            InboxFact::Status {
                conversation: c.id,
                status: Status::Open,
                by: None
            }
        )
    );
    assert!(events[0].seq < events[1].seq);
    assert_eq!(
        store
            .conversation(w.ws.id, c.id)
            .await
            .unwrap()
            .conversation
            .status,
        Status::Open
    );

    // A late customer message (older than the Done) reopens it no earlier than the Done.
    store
        .set_status(w.ws.id, c.id, Status::Done, None, T0 + 10 * MINUTE)
        .await
        .unwrap();
    let (_, reopened, events, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "l-5", T0 + 5 * MINUTE, Author::Customer),
    )
    .await;
    assert_eq!(reopened.status, Status::Open);
    assert_eq!(events[1].at, T0 + 10 * MINUTE);

    // Spam stays Spam until someone reopens it.
    store
        .set_status(
            w.ws.id,
            c.id,
            Status::Spam,
            Some(w.admin.id),
            T0 + 20 * MINUTE,
        )
        .await
        .unwrap();
    let (_, spam, events, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "l-6", T0 + 21 * MINUTE, Author::Customer),
    )
    .await;
    assert_eq!(spam.status, Status::Spam);
    assert_eq!(events.len(), 1);
    let (open, events, _) = store
        .set_status(
            w.ws.id,
            c.id,
            Status::Open,
            Some(w.admin.id),
            T0 + 22 * MINUTE,
        )
        .await
        .unwrap();
    assert_eq!((open.status, events.len()), (Status::Open, 1));
}

pub async fn status_and_assignment<S: Store>(store: &S) {
    let w = world(store, "status", ChannelKind::Playground).await;
    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p1", "s-1", T0, Author::Customer),
    )
    .await;
    let (same, events, changes) = store
        .set_status(w.ws.id, c.id, Status::Open, None, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        (same.status, events.len(), changes.len()),
        (Status::Open, 0, 0),
        "no change, no event"
    );
    let (done, events, changes) = store
        .set_status(w.ws.id, c.id, Status::Done, Some(w.admin.id), T0 + 2)
        .await
        .unwrap();
    assert_eq!(done.status, Status::Done);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].at, events[0].seq), (T0 + 2, 2));
    assert_eq!(
        changes.iter().map(|c| c.kind.clone()).collect::<Vec<_>>(),
        vec![ChangeKind::ConversationUpdated {
            inbox: w.inbox.id,
            conversation: c.id
        }]
    );
    let outsider = store
        .create_user("outsider.status@example.com", "Out", "h", T0)
        .await
        .unwrap();
    expect_not_found(
        "a status change by a non-member",
        store
            .set_status(w.ws.id, c.id, Status::Spam, Some(outsider.id), T0 + 3)
            .await,
    );
    expect_not_found(
        "the status of no conversation",
        store
            .set_status(w.ws.id, ConversationId(i64::MAX), Status::Done, None, T0)
            .await,
    );

    let (assigned, changes) = store
        .assign(w.ws.id, c.id, Some(w.agent.id), T0 + 4)
        .await
        .unwrap();
    assert_eq!((assigned.assignee, changes.len()), (Some(w.agent.id), 1));
    let (again, changes) = store
        .assign(w.ws.id, c.id, Some(w.agent.id), T0 + 5)
        .await
        .unwrap();
    assert_eq!((again.assignee, changes.len()), (Some(w.agent.id), 0));
    assert_eq!(
        store
            .conversation(w.ws.id, c.id)
            .await
            .unwrap()
            .conversation
            .assignee,
        Some(w.agent.id)
    );
    expect_not_found(
        "assigning a non-member",
        store.assign(w.ws.id, c.id, Some(outsider.id), T0 + 6).await,
    );
    let (unassigned, changes) = store.assign(w.ws.id, c.id, None, T0 + 7).await.unwrap();
    assert_eq!((unassigned.assignee, changes.len()), (None, 1));
    // Assigning changes no badge figure: no event.
    assert_eq!(all_events(store, w.ws.id, w.inbox.id).await.len(), 2);
}

pub async fn urgency_follows_the_messages<S: Store>(store: &S) {
    let rules = Rules::default();
    let w = world(store, "urgency", ChannelKind::Api).await;
    let mut expected = Urgency::default();

    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p", "u-1", T0, Author::Customer),
    )
    .await;
    expected.on_message(Author::Customer, T0, &rules);
    assert_eq!(c.urgency, expected);
    assert_eq!(
        c.urgency,
        Urgency {
            last_message_at: Some(T0),
            waiting_since: Some(T0),
            unanswered_since: Some(T0),
            reply_window_closes_at: Some(T0 + DAY)
        }
    );
    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p", "u-2", T0 + SECOND, Author::Automation),
    )
    .await;
    assert_eq!(c.urgency, expected, "automation is invisible");
    assert_eq!(
        (c.last_activity_at, c.preview.as_str()),
        (T0 + SECOND, "message u-2")
    );

    // A reply waiting in the outbox is not an answer yet; accepted, it is.
    let (_, entry, _) = store
        .reply(w.ws.id, c.id, w.agent.id, "On it", T0 + 2 * MINUTE)
        .await
        .unwrap();
    assert_eq!(
        store
            .conversation(w.ws.id, c.id)
            .await
            .unwrap()
            .conversation
            .urgency,
        expected
    );
    let claimed = store
        .claim_outbox(ChannelKind::Api, 10, T0 + 2 * MINUTE)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![entry.id]
    );
    let accepted = SendOutcome::Accepted {
        channel_message_id: "u-out-1".into(),
        at: T0 + 5 * MINUTE,
    };
    store
        .finish_send(&claimed[0], &accepted, T0 + 5 * MINUTE)
        .await
        .unwrap();
    expected.on_message(Author::Agent, T0 + 5 * MINUTE, &rules);
    let c = store
        .conversation(w.ws.id, c.id)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.urgency, expected);
    assert_eq!(
        (c.urgency.waiting_since, c.urgency.unanswered_since),
        (None, None)
    );

    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p", "u-3", T0 + 10 * MINUTE, Author::Customer),
    )
    .await;
    expected.on_message(Author::Customer, T0 + 10 * MINUTE, &rules);
    assert_eq!(c.urgency, expected);
    assert_eq!(
        (c.urgency.waiting_since, c.urgency.unanswered_since),
        (None, Some(T0 + 10 * MINUTE)),
        "a follow-up"
    );
    let late = T0 + 10 * MINUTE + DAY + HOUR;
    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p", "u-4", late, Author::Customer),
    )
    .await;
    expected.on_message(Author::Customer, late, &rules);
    assert_eq!(c.urgency, expected);
    assert_eq!(
        c.urgency.waiting_since,
        Some(late),
        "a new start after a day of silence"
    );

    // A message older than the latest one: the urgency is what all the messages in time order make.
    let (_, c, _, _) = ingest(
        store,
        w.ws.id,
        &incoming(w.inbox.id, "p", "u-5", T0 + 20 * MINUTE, Author::Agent),
    )
    .await;
    let timeline = [
        (Author::Customer, T0),
        (Author::Agent, T0 + 5 * MINUTE),
        (Author::Customer, T0 + 10 * MINUTE),
        (Author::Agent, T0 + 20 * MINUTE),
        (Author::Customer, late),
    ];
    assert_eq!(c.urgency, Urgency::from_messages(timeline, &rules));
    assert_eq!(
        c.last_activity_at, late,
        "an old message does not move the activity back"
    );
    assert_eq!(c.preview, "message u-4");
}

/// The conversations of a page's items, by id.
fn ids(page: &ConversationPage) -> Vec<ConversationId> {
    page.items.iter().map(|s| s.conversation.id).collect()
}

/// All pages of a query, `limit` at a time.
async fn all_pages<S: Store>(
    store: &S,
    ws: WorkspaceId,
    query: &ConversationQuery,
    limit: u32,
) -> Vec<ConversationId> {
    let mut query = ConversationQuery {
        limit,
        cursor: None,
        ..query.clone()
    };
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let page = store.conversations(ws, &query).await.expect("page");
        assert!(page.items.len() <= limit as usize);
        seen.extend(ids(&page));
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return seen,
        }
    }
    panic!("paging does not end");
}

pub async fn conversation_lists_and_paging<S: Store>(store: &S) {
    let w = world(store, "lists", ChannelKind::Playground).await;
    let second = store
        .create_inbox(
            w.ws.id,
            &new_inbox("Second", ChannelKind::Webchat, None),
            T0,
        )
        .await
        .unwrap();
    let ws = w.ws.id;
    let open =
        |inbox, contact: &str, mid: &str, at| incoming(inbox, contact, mid, at, Author::Customer);
    let (_, c1, _, _) = ingest(store, ws, &open(w.inbox.id, "c1", "l1", T0 + HOUR)).await;
    let (_, c2, _, _) = ingest(store, ws, &open(w.inbox.id, "c2", "l2", T0 + 2 * HOUR)).await;
    let (_, c3, _, _) = ingest(store, ws, &open(w.inbox.id, "c3", "l3a", T0)).await;
    answer(store, &w, c3.id, T0 + 10 * MINUTE, "l3-out").await;
    ingest(store, ws, &open(w.inbox.id, "c3", "l3b", T0 + 20 * MINUTE)).await;
    let (_, c4, _, _) = ingest(store, ws, &open(w.inbox.id, "c4", "l4", T0 + 30 * MINUTE)).await;
    answer(store, &w, c4.id, T0 + 40 * MINUTE, "l4-out").await;
    let (_, c5, _, _) = ingest(store, ws, &open(w.inbox.id, "c5", "l5", T0 + 3 * HOUR)).await;
    store
        .set_status(ws, c5.id, Status::Done, None, T0 + 3 * HOUR + MINUTE)
        .await
        .unwrap();
    let (_, c6, _, _) = ingest(store, ws, &open(w.inbox.id, "c6", "l6", T0 + 4 * HOUR)).await;
    store
        .set_status(ws, c6.id, Status::Spam, None, T0 + 4 * HOUR + MINUTE)
        .await
        .unwrap();
    let (_, c7, _, _) = ingest(store, ws, &open(second.id, "c7", "l7", T0 + 5 * MINUTE)).await;
    let (_, c8, _, _) = ingest(store, ws, &open(w.inbox.id, "c8", "l8", T0 + HOUR)).await;

    let urgency = ConversationQuery {
        inbox: None,
        status: None,
        assignee: None,
        waiting: false,
        order: ConversationOrder::Urgency,
        cursor: None,
        limit: 100,
    };
    let activity = ConversationQuery {
        order: ConversationOrder::Activity,
        ..urgency.clone()
    };
    // First answers by their start (c1 and c8 tie: by id), the follow-up by its window, then the
    // calm ones, the latest activity first (Done and Spam are calm).
    let by_urgency = vec![c7.id, c1.id, c8.id, c2.id, c3.id, c6.id, c5.id, c4.id];
    let by_activity = vec![c6.id, c5.id, c2.id, c8.id, c1.id, c4.id, c3.id, c7.id];
    let page = store.conversations(ws, &urgency).await.unwrap();
    assert_eq!((ids(&page), page.next.clone()), (by_urgency.clone(), None));
    let first = &page.items[0];
    assert_eq!(
        (first.contact_name.as_str(), first.channel),
        ("Customer c7", ChannelKind::Webchat)
    );
    assert_eq!(
        ids(&store.conversations(ws, &activity).await.unwrap()),
        by_activity
    );
    assert_eq!(
        store
            .conversation(ws, c3.id)
            .await
            .unwrap()
            .conversation
            .urgency
            .reply_window_closes_at,
        Some(T0 + 20 * MINUTE + DAY)
    );

    // Paging, a few at a time: every conversation once, in the same order.
    for limit in [1, 2, 3, 7, 8] {
        assert_eq!(
            all_pages(store, ws, &urgency, limit).await,
            by_urgency,
            "urgency, {limit} a page"
        );
        assert_eq!(
            all_pages(store, ws, &activity, limit).await,
            by_activity,
            "activity, {limit} a page"
        );
    }

    // Filters.
    let only = |q: ConversationQuery| async move { all_pages(store, ws, &q, 2).await };
    assert_eq!(
        only(ConversationQuery {
            inbox: Some(second.id),
            ..urgency.clone()
        })
        .await,
        vec![c7.id]
    );
    assert_eq!(
        only(ConversationQuery {
            waiting: true,
            ..urgency.clone()
        })
        .await,
        vec![c7.id, c1.id, c8.id, c2.id, c3.id]
    );
    assert_eq!(
        only(ConversationQuery {
            status: Some(Status::Open),
            ..activity.clone()
        })
        .await,
        vec![c2.id, c8.id, c1.id, c4.id, c3.id, c7.id]
    );
    assert_eq!(
        only(ConversationQuery {
            status: Some(Status::Spam),
            ..urgency.clone()
        })
        .await,
        vec![c6.id]
    );
    store
        .assign(ws, c2.id, Some(w.agent.id), T0 + 5 * HOUR)
        .await
        .unwrap();
    store
        .assign(ws, c4.id, Some(w.agent.id), T0 + 5 * HOUR)
        .await
        .unwrap();
    assert_eq!(
        only(ConversationQuery {
            assignee: Some(Some(w.agent.id)),
            ..urgency.clone()
        })
        .await,
        vec![c2.id, c4.id]
    );
    assert_eq!(
        only(ConversationQuery {
            assignee: Some(None),
            ..urgency.clone()
        })
        .await,
        vec![c7.id, c1.id, c8.id, c3.id, c6.id, c5.id]
    );
    assert_eq!(
        only(ConversationQuery {
            assignee: Some(Some(w.agent.id)),
            waiting: true,
            inbox: Some(w.inbox.id),
            ..urgency.clone()
        })
        .await,
        vec![c2.id]
    );

    // The order keeps up with the conversations: an answer makes a first answer calm.
    answer(store, &w, c1.id, T0 + 6 * HOUR, "l1-out").await;
    let waiting = store
        .conversations(
            ws,
            &ConversationQuery {
                waiting: true,
                ..urgency.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&waiting), vec![c7.id, c8.id, c2.id, c3.id]);
    assert_eq!(
        ids(&store.conversations(ws, &urgency).await.unwrap())[4],
        c1.id,
        "the most recently active calm one"
    );

    // Cursors are opaque but checked.
    let page = store
        .conversations(
            ws,
            &ConversationQuery {
                limit: 2,
                ..urgency.clone()
            },
        )
        .await
        .unwrap();
    let cursor = page.next.expect("more pages");
    expect_invalid(
        "an urgency cursor on an activity list",
        store
            .conversations(
                ws,
                &ConversationQuery {
                    cursor: Some(cursor),
                    ..activity.clone()
                },
            )
            .await,
    );
    expect_invalid(
        "a made-up cursor",
        store
            .conversations(
                ws,
                &ConversationQuery {
                    cursor: Some("nonsense".into()),
                    ..urgency.clone()
                },
            )
            .await,
    );
}

pub async fn replies_and_the_outbox<S: Store>(store: &S) {
    let w = world(store, "outbox", ChannelKind::Email).await;
    let ws = w.ws.id;
    let (_, c, _, _) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "ann@example.org", "o-1", T0, Author::Customer),
    )
    .await;
    let depth = store.outbox_depth().await.unwrap();
    let now = T0 + MINUTE;
    let (message, entry, changes) = store
        .reply(ws, c.id, w.agent.id, "Hello Ann", now)
        .await
        .unwrap();
    assert_eq!(
        (
            message.author,
            message.agent,
            message.channel_message_id.clone(),
            message.delivery.clone()
        ),
        (Author::Agent, Some(w.agent.id), None, Delivery::Queued)
    );
    assert_eq!(
        (message.text.as_str(), message.conversation),
        ("Hello Ann", c.id)
    );
    assert_eq!(
        (
            entry.workspace,
            entry.inbox,
            entry.channel,
            entry.conversation,
            entry.message
        ),
        (ws, w.inbox.id, ChannelKind::Email, c.id, message.id)
    );
    assert_eq!(
        (
            entry.contact_external_id.as_str(),
            entry.text.as_str(),
            entry.attempts,
            entry.created_at
        ),
        ("ann@example.org", "Hello Ann", 0, now)
    );
    assert_eq!(changes.len(), 2);
    assert_eq!(store.outbox_depth().await.unwrap(), depth + 1);
    assert_eq!(
        all_events(store, ws, w.inbox.id).await.len(),
        1,
        "a queued reply is no event"
    );
    let shown = store.conversation(ws, c.id).await.unwrap().conversation;
    assert_eq!(
        (shown.preview.as_str(), shown.last_activity_at),
        ("Hello Ann", now)
    );
    expect_invalid(
        "an empty reply",
        store.reply(ws, c.id, w.agent.id, "  ", now).await,
    );
    let outsider = store
        .create_user("outsider.outbox@example.com", "Out", "h", T0)
        .await
        .unwrap();
    expect_not_found(
        "a reply by a non-member",
        store.reply(ws, c.id, outsider.id, "hi", now).await,
    );
    expect_not_found(
        "a reply to no conversation",
        store
            .reply(ws, ConversationId(i64::MAX), w.agent.id, "hi", now)
            .await,
    );

    // Claimed once; a retry comes back when it is due.
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Email, 10, now - 1)
            .await
            .unwrap(),
        vec![],
        "not due yet"
    );
    let claimed = store
        .claim_outbox(ChannelKind::Email, 10, now)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        vec![OutboxEntry {
            attempts: 1,
            ..entry.clone()
        }]
    );
    assert_eq!(
        store.messages(ws, c.id).await.unwrap()[1].delivery,
        Delivery::Sending
    );
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Email, 10, now)
            .await
            .unwrap(),
        vec![],
        "claimed already"
    );
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Webchat, 10, now)
            .await
            .unwrap(),
        vec![],
        "another channel"
    );
    let retry = SendOutcome::Retry {
        reason: "timeout".into(),
        retry_at: now + MINUTE,
    };
    let (queued, events, changes) = store
        .finish_send(&claimed[0], &retry, now + SECOND)
        .await
        .unwrap();
    assert_eq!(
        (queued.delivery, events.len(), changes.len()),
        (Delivery::Queued, 0, 1)
    );
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Email, 10, now + 30 * SECOND)
            .await
            .unwrap(),
        vec![]
    );
    let claimed = store
        .claim_outbox(ChannelKind::Email, 10, now + MINUTE)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|e| (e.id, e.attempts))
            .collect::<Vec<_>>(),
        vec![(entry.id, 2)]
    );

    // Accepted: an agent event at the acceptance time, not at the reply's.
    let accepted_at = now + MINUTE + 3 * SECOND;
    let accepted = SendOutcome::Accepted {
        channel_message_id: "smtp-1".into(),
        at: accepted_at,
    };
    let (sent, events, changes) = store
        .finish_send(&claimed[0], &accepted, accepted_at + 1)
        .await
        .unwrap();
    assert_eq!(
        (
            sent.delivery.clone(),
            sent.at,
            sent.channel_message_id.as_deref()
        ),
        (Delivery::Sent, accepted_at, Some("smtp-1"))
    );
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].at, events[0].seq), (accepted_at, 2));
    assert_eq!(
        events[0].fact,
        InboxFact::Message {
            conversation: c.id,
            author: Author::Agent
        }
    );
    assert!(changes.iter().any(|ch| ch.kind
        == ChangeKind::MessageUpdated {
            inbox: w.inbox.id,
            conversation: c.id,
            message: sent.id
        }));
    assert_eq!(store.outbox_depth().await.unwrap(), depth);
    assert_eq!(store.messages(ws, c.id).await.unwrap()[1], sent);
    assert_eq!(
        store
            .conversation(ws, c.id)
            .await
            .unwrap()
            .conversation
            .urgency
            .waiting_since,
        None
    );
    // Finishing it again (a second sender after a lease ran out) changes nothing.
    let (again, events, changes) = store
        .finish_send(&claimed[0], &accepted, accepted_at + 2)
        .await
        .unwrap();
    assert_eq!((again, events.len(), changes.len()), (sent.clone(), 0, 0));
    // An echo of it from the channel is a duplicate.
    let echo = incoming(
        w.inbox.id,
        "ann@example.org",
        "smtp-1",
        accepted_at,
        Author::Agent,
    );
    assert_eq!(
        store.ingest(ws, &echo).await.unwrap(),
        Ingested::Duplicate { message: sent.id }
    );

    // Failed for good: it never counts.
    let (_, failing, _) = store
        .reply(ws, c.id, w.agent.id, "Second", now + HOUR)
        .await
        .unwrap();
    let claimed = store
        .claim_outbox(ChannelKind::Email, 10, now + HOUR)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![failing.id]
    );
    let failed = SendOutcome::Failed {
        reason: "mailbox unavailable".into(),
    };
    let (message, events, _) = store
        .finish_send(&claimed[0], &failed, now + HOUR)
        .await
        .unwrap();
    assert_eq!(
        (message.delivery, events.len()),
        (Delivery::Failed("mailbox unavailable".into()), 0)
    );
    assert_eq!(store.outbox_depth().await.unwrap(), depth);
    assert_eq!(all_events(store, ws, w.inbox.id).await.len(), 2);
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Email, 10, now + DAY)
            .await
            .unwrap(),
        vec![]
    );

    // A sender that never reports back: its lease runs out and the entry is due again.
    let (_, lost, _) = store
        .reply(ws, c.id, w.agent.id, "Third", now + 2 * HOUR)
        .await
        .unwrap();
    let t = now + 2 * HOUR;
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Email, 10, t)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Email, 10, t + OUTBOX_LEASE - 1)
            .await
            .unwrap(),
        vec![]
    );
    let reclaimed = store
        .claim_outbox(ChannelKind::Email, 10, t + OUTBOX_LEASE)
        .await
        .unwrap();
    assert_eq!(
        reclaimed
            .iter()
            .map(|e| (e.id, e.attempts))
            .collect::<Vec<_>>(),
        vec![(lost.id, 2)]
    );
    let done = SendOutcome::Accepted {
        channel_message_id: "smtp-3".into(),
        at: t + OUTBOX_LEASE,
    };
    store
        .finish_send(&reclaimed[0], &done, t + OUTBOX_LEASE)
        .await
        .unwrap();

    // Concurrent claims share the entries out: each to one claimer.
    let mut made = BTreeSet::new();
    for i in 0..7 {
        made.insert(
            store
                .reply(ws, c.id, w.agent.id, &format!("batch {i}"), now + 3 * HOUR)
                .await
                .unwrap()
                .1
                .id,
        );
    }
    let claims =
        join_all((0..4).map(|_| store.claim_outbox(ChannelKind::Email, 3, now + 3 * HOUR))).await;
    let mut got = Vec::new();
    for claim in claims {
        got.extend(claim.unwrap());
    }
    let unique: BTreeSet<_> = got.iter().map(|e| e.id).collect();
    assert_eq!(
        (got.len(), unique),
        (7, made),
        "every entry claimed exactly once"
    );
    for (i, entry) in got.iter().enumerate() {
        let outcome = SendOutcome::Accepted {
            channel_message_id: format!("smtp-batch-{i}"),
            at: now + 3 * HOUR + SECOND,
        };
        store
            .finish_send(entry, &outcome, now + 3 * HOUR + SECOND)
            .await
            .unwrap();
    }
    assert_eq!(store.outbox_depth().await.unwrap(), depth);
}

pub async fn an_echo_ingested_before_the_acceptance_counts_once<S: Store>(store: &S) {
    let w = world(store, "echo", ChannelKind::Messenger).await;
    let ws = w.ws.id;
    let (_, c, _, _) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "psid", "e-1", T0, Author::Customer),
    )
    .await;
    let depth = store.outbox_depth().await.unwrap();
    let (reply, _, _) = store
        .reply(ws, c.id, w.agent.id, "Hi!", T0 + MINUTE)
        .await
        .unwrap();
    let claimed = store
        .claim_outbox(ChannelKind::Messenger, 10, T0 + MINUTE)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Meta's echo of the reply arrives before the Send API's answer is recorded.
    let echo = Incoming {
        text: "Hi!".into(),
        ..incoming(
            w.inbox.id,
            "psid",
            "mid.reply",
            T0 + MINUTE + 1,
            Author::Agent,
        )
    };
    let (_, _, echo_events, _) = ingest(store, ws, &echo).await;
    assert_eq!(echo_events.len(), 1);
    let accepted = SendOutcome::Accepted {
        channel_message_id: "mid.reply".into(),
        at: T0 + MINUTE + 2,
    };
    let (sent, events, _) = store
        .finish_send(&claimed[0], &accepted, T0 + MINUTE + 3)
        .await
        .unwrap();
    assert_eq!(events, vec![], "the echo counts already");
    assert_eq!(
        (sent.id, sent.delivery.clone(), sent.agent),
        (reply.id, Delivery::Sent, Some(w.agent.id))
    );
    assert_eq!(sent.channel_message_id.as_deref(), Some("mid.reply"));
    let messages = store.messages(ws, c.id).await.unwrap();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.author == Author::Agent)
            .count(),
        1,
        "one reply shown"
    );
    let agent_events = all_events(store, ws, w.inbox.id)
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e.fact,
                InboxFact::Message {
                    author: Author::Agent,
                    ..
                }
            )
        })
        .count();
    assert_eq!(agent_events, 1);
    assert_eq!(
        store.ingest(ws, &echo).await.unwrap(),
        Ingested::Duplicate { message: reply.id }
    );
    assert_eq!(store.outbox_depth().await.unwrap(), depth);
}

pub async fn a_delivery_is_taken_in_whole_or_not_at_all<S: Store>(store: &S) {
    let w = world(store, "delivery", ChannelKind::Messenger).await;
    let other = world(store, "delivery-2", ChannelKind::Messenger).await;
    let ws = w.ws.id;
    let before = all_events(store, ws, w.inbox.id).await.len();
    // A delivery whose last item the store refuses: nothing of it is kept.
    let broken = vec![
        (
            ws,
            Inbound::Message(incoming(w.inbox.id, "p1", "d-1", T0, Author::Customer)),
        ),
        (
            other.ws.id,
            Inbound::Message(incoming(other.inbox.id, "p9", "d-9", T0, Author::Customer)),
        ),
        (
            ws,
            Inbound::Message(incoming(w.inbox.id, "", "d-2", T0, Author::Customer)),
        ),
    ];
    assert!(matches!(
        store.take_in(&broken).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(all_events(store, ws, w.inbox.id).await.len(), before);
    assert!(
        all_events(store, other.ws.id, other.inbox.id)
            .await
            .is_empty()
    );

    // The same delivery without the bad item, twice (Meta retries): stored once, in order,
    // answers in the items' order across workspaces.
    let good = &broken[..2];
    let taken = store.take_in(good).await.unwrap();
    assert!(matches!(taken[0], Taken::Ingested(Ingested::Stored { .. })));
    assert!(matches!(taken[1], Taken::Ingested(Ingested::Stored { .. })));
    let again = store.take_in(good).await.unwrap();
    assert!(
        again
            .iter()
            .all(|t| matches!(t, Taken::Ingested(Ingested::Duplicate { .. })))
    );
    let Taken::Ingested(Ingested::Stored { conversation, .. }) = &taken[0] else {
        unreachable!()
    };
    let c = conversation.id;

    // An edit changes the text and no figure; an edit of an unknown message is unmatched.
    let edits = vec![
        (
            ws,
            Inbound::Edit {
                inbox: w.inbox.id,
                channel_message_id: "d-1".into(),
                text: "message d-1, edited".into(),
                at: T0 + 1,
            },
        ),
        (
            ws,
            Inbound::Edit {
                inbox: w.inbox.id,
                channel_message_id: "nope".into(),
                text: "x".into(),
                at: T0 + 1,
            },
        ),
    ];
    let events = all_events(store, ws, w.inbox.id).await.len();
    let taken = store.take_in(&edits).await.unwrap();
    assert!(
        matches!(&taken[0], Taken::Edited { message, .. } if message.text == "message d-1, edited")
    );
    assert_eq!(taken[1], Taken::Unmatched);
    assert_eq!(all_events(store, ws, w.inbox.id).await.len(), events);

    // The echo of a pending reply confirms it at the echo's instant; its later acceptance
    // by the sender changes nothing, and a second echo is a duplicate.
    let (reply, entry, _) = store
        .reply(ws, c, w.agent.id, "Yes!", T0 + MINUTE)
        .await
        .unwrap();
    let claimed = store
        .claim_outbox(ChannelKind::Messenger, 10, T0 + MINUTE)
        .await
        .unwrap();
    assert!(claimed.iter().any(|e| e.id == entry.id));
    let echo = Inbound::Echo {
        outbox: entry.id,
        message: Incoming {
            text: "Yes!".into(),
            ..incoming(w.inbox.id, "p1", "mid.echo", T0 + 2 * MINUTE, Author::Agent)
        },
    };
    let taken = store.take_in(&[(ws, echo.clone())]).await.unwrap();
    let Taken::Confirmed {
        message, events, ..
    } = &taken[0]
    else {
        panic!("{taken:?}")
    };
    assert_eq!(
        (message.id, message.at, &message.delivery),
        (reply.id, T0 + 2 * MINUTE, &Delivery::Sent)
    );
    assert_eq!(events.len(), 1);
    let accepted = SendOutcome::Accepted {
        channel_message_id: "mid.echo".into(),
        at: T0 + 3 * MINUTE,
    };
    let (_, events, _) = store
        .finish_send(&entry, &accepted, T0 + 3 * MINUTE)
        .await
        .unwrap();
    assert!(events.is_empty());
    let taken = store.take_in(&[(ws, echo)]).await.unwrap();
    assert_eq!(
        taken[0],
        Taken::Ingested(Ingested::Duplicate { message: reply.id })
    );
    let messages = store.messages(ws, c).await.unwrap();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.author == Author::Agent)
            .count(),
        1
    );
    for other_entry in claimed.iter().filter(|e| e.id != entry.id) {
        let failed = SendOutcome::Failed {
            reason: "cleanup".into(),
        };
        store
            .finish_send(other_entry, &failed, T0 + 3 * MINUTE)
            .await
            .unwrap();
    }
}

pub async fn the_webhook_journal<S: Store>(store: &S) {
    let before = store.journal_depth().await.unwrap();
    // Many deliveries at once (as concurrent webhook requests make them): each gets its own
    // id, and each is claimed once, oldest first.
    let bodies: Vec<Vec<u8>> = (0..60)
        .map(|n| format!("delivery {n}").into_bytes())
        .collect();
    let ids = join_all(
        bodies
            .iter()
            .map(|body| store.journal_delivery("meta", body, T0)),
    )
    .await
    .into_iter()
    .collect::<StoreResult<Vec<i64>>>()
    .unwrap();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 60);
    assert_eq!(store.journal_depth().await.unwrap(), before + 60);
    let mut claimed = Vec::new();
    loop {
        let round = store.claim_deliveries(25, T0 + 1).await.unwrap();
        if round.is_empty() {
            break;
        }
        claimed.extend(round);
    }
    let ours: Vec<&JournaledDelivery> = claimed.iter().filter(|d| ids.contains(&d.id)).collect();
    assert_eq!(ours.len(), 60);
    for delivery in &ours {
        let n = ids.iter().position(|id| *id == delivery.id).unwrap();
        assert_eq!(delivery.body, bodies[n]);
        assert_eq!(
            (
                delivery.source.as_str(),
                delivery.attempts,
                delivery.received_at
            ),
            ("meta", 1, T0)
        );
    }
    assert!(claimed.windows(2).all(|w| w[0].id < w[1].id) || claimed.len() > 60);
    // Claimed ones are not claimed again within the lease; after it they are.
    assert!(
        store
            .claim_deliveries(100, T0 + 2)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_deliveries(100, T0 + 1 + JOURNAL_LEASE)
        .await
        .unwrap();
    assert_eq!(again.len(), claimed.len());
    assert!(again.iter().all(|d| d.attempts == 2));
    // One set aside (never due, not counted), one deferred, the rest finished.
    store
        .defer_delivery(ids[0], None, "malformed")
        .await
        .unwrap();
    store
        .defer_delivery(ids[1], Some(T0 + 10 * MINUTE), "busy")
        .await
        .unwrap();
    let rest: Vec<i64> = claimed
        .iter()
        .map(|d| d.id)
        .filter(|id| *id != ids[0] && *id != ids[1])
        .collect();
    store.finish_deliveries(&rest).await.unwrap();
    assert_eq!(store.journal_depth().await.unwrap(), 1);
    let later = store.claim_deliveries(100, T0 + 10 * MINUTE).await.unwrap();
    assert_eq!(later.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[1]]);
    store.finish_deliveries(&[ids[1]]).await.unwrap();
    assert_eq!(store.journal_depth().await.unwrap(), 0);
}

pub async fn availability<S: Store>(store: &S) {
    let w = world(store, "availability", ChannelKind::Playground).await;
    let ws = w.ws.id;
    assert_eq!(store.availability(ws, w.inbox.id).await.unwrap(), None);
    let away = Availability::Away {
        until: Some(T0 + 8 * HOUR),
    };
    let (event, changes) = store
        .set_availability(ws, w.inbox.id, away, Some(w.admin.id), T0)
        .await
        .unwrap();
    assert_eq!(
        event,
        InboxEvent {
            inbox: w.inbox.id,
            seq: 1,
            at: T0,
            fact: InboxFact::Availability {
                availability: away,
                by: Some(w.admin.id)
            }
        }
    );
    assert_eq!(
        changes.iter().map(|c| c.kind.clone()).collect::<Vec<_>>(),
        vec![ChangeKind::AvailabilityChanged { inbox: w.inbox.id }]
    );
    assert_eq!(
        store.availability(ws, w.inbox.id).await.unwrap(),
        Some(event)
    );
    // Messages in between do not hide the latest availability.
    ingest(
        store,
        ws,
        &incoming(w.inbox.id, "p", "a-1", T0 + HOUR, Author::Customer),
    )
    .await;
    let (manual, _) = store
        .set_availability(
            ws,
            w.inbox.id,
            Availability::Away { until: None },
            None,
            T0 + 2 * HOUR,
        )
        .await
        .unwrap();
    assert_eq!(
        store.availability(ws, w.inbox.id).await.unwrap(),
        Some(manual)
    );
    let (back, _) = store
        .set_availability(
            ws,
            w.inbox.id,
            Availability::Available,
            Some(w.agent.id),
            T0 + 3 * HOUR,
        )
        .await
        .unwrap();
    assert_eq!(back.seq, 4);
    assert_eq!(
        store.availability(ws, w.inbox.id).await.unwrap(),
        Some(back)
    );
    expect_invalid(
        "an Away ending before it starts",
        store
            .set_availability(
                ws,
                w.inbox.id,
                Availability::Away { until: Some(T0) },
                None,
                T0 + 4 * HOUR,
            )
            .await,
    );
    expect_not_found(
        "availability of no inbox",
        store
            .set_availability(ws, InboxId(i64::MAX), Availability::Available, None, T0)
            .await,
    );
    expect_not_found(
        "availability of no inbox",
        store.availability(ws, InboxId(i64::MAX)).await,
    );
    let outsider = store
        .create_user("outsider.availability@example.com", "Out", "h", T0)
        .await
        .unwrap();
    expect_not_found(
        "set by a non-member",
        store
            .set_availability(
                ws,
                w.inbox.id,
                Availability::Available,
                Some(outsider.id),
                T0 + 5 * HOUR,
            )
            .await,
    );
}

pub async fn the_log_in_order_with_paging<S: Store>(store: &S) {
    let w = world(store, "log", ChannelKind::Playground).await;
    let ws = w.ws.id;
    // Instants out of order, as webhooks deliver them sometimes.
    let (_, a, _, _) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "a", "g-1", T0 + 10 * SECOND, Author::Customer),
    )
    .await;
    ingest(
        store,
        ws,
        &incoming(w.inbox.id, "b", "g-2", T0 + 30 * SECOND, Author::Customer),
    )
    .await;
    ingest(
        store,
        ws,
        &incoming(w.inbox.id, "a", "g-3", T0 + 20 * SECOND, Author::Automation),
    )
    .await;
    store
        .set_status(ws, a.id, Status::Done, Some(w.agent.id), T0 + 30 * SECOND)
        .await
        .unwrap();
    store
        .set_availability(
            ws,
            w.inbox.id,
            Availability::Away { until: None },
            None,
            T0 + 20 * SECOND,
        )
        .await
        .unwrap();
    ingest(
        store,
        ws,
        &incoming(w.inbox.id, "c", "g-4", T0, Author::Customer),
    )
    .await;
    ingest(
        store,
        ws,
        &incoming(w.inbox.id, "b", "g-5", T0 + 30 * SECOND, Author::Agent),
    )
    .await;

    let log = all_events(store, ws, w.inbox.id).await;
    let order: Vec<_> = log.iter().map(|e| (e.at, e.seq)).collect();
    let expected = vec![
        (T0, 6),
        (T0 + 10 * SECOND, 1),
        (T0 + 20 * SECOND, 3),
        (T0 + 20 * SECOND, 5),
        (T0 + 30 * SECOND, 2),
        (T0 + 30 * SECOND, 4),
        (T0 + 30 * SECOND, 7),
    ];
    assert_eq!(order, expected, "(instant, sequence) order");
    assert!(matches!(
        log[1].fact,
        InboxFact::Message {
            author: Author::Customer,
            ..
        }
    ));
    assert!(matches!(
        log[2].fact,
        InboxFact::Message {
            author: Author::Automation,
            ..
        }
    ));
    assert_eq!(
        log[3].fact,
        InboxFact::Availability {
            availability: Availability::Away { until: None },
            by: None
        }
    );
    assert_eq!(
        log[5].fact,
        InboxFact::Status {
            conversation: a.id,
            status: Status::Done,
            by: Some(w.agent.id)
        }
    );

    // Pages: the next one starts after the greatest sequence of the last.
    for limit in 1..=8 {
        let mut after = 0;
        let mut seen = Vec::new();
        loop {
            let page = store
                .inbox_events(ws, w.inbox.id, after, limit)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= limit as usize);
            assert!(
                page.windows(2)
                    .all(|p| (p[0].at, p[0].seq) < (p[1].at, p[1].seq)),
                "each page is sorted"
            );
            after = page.iter().map(|e| e.seq).max().unwrap();
            seen.extend(page.into_iter().map(|e| e.seq));
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            (1..=7).collect::<Vec<_>>(),
            "{limit} a page: every event once"
        );
    }
    assert_eq!(
        store.inbox_events(ws, w.inbox.id, 7, 10).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .inbox_events(ws, w.inbox.id, 5, 10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        vec![6, 7]
    );
    expect_not_found(
        "the log of no inbox",
        store.inbox_events(ws, InboxId(i64::MAX), 0, 10).await,
    );
}

/// What a live badge reads to take back conversations it let go: the events of some
/// conversations, and the inbox's availability before an instant, each through a sequence
/// number. The expected answers are filtered from the events the writes returned, which are
/// first checked to be the stored log.
pub async fn conversation_events_and_availability_before<S: Store>(store: &S) {
    let a = world(store, "take-back-a", ChannelKind::Playground).await;
    let b = world(store, "take-back-b", ChannelKind::Playground).await;
    let (ws, inbox) = (a.ws.id, a.inbox.id);
    let sales = store
        .create_inbox(ws, &new_inbox("Sales", ChannelKind::Playground, None), T0)
        .await
        .unwrap()
        .id;
    // Every event the writes returned, by inbox.
    let mut written: BTreeMap<InboxId, Vec<InboxEvent>> = BTreeMap::new();
    let mut record = |events: Vec<InboxEvent>| {
        for e in events {
            written.entry(e.inbox).or_default().push(e);
        }
    };

    // Support, in workspace A: four conversations; customers, automation, agents (a reply
    // accepted by the channel, an echo), status changes, availability changes; a message and
    // an availability change stored late with earlier instants.
    let (_, c1, events, _) = ingest(
        store,
        ws,
        &incoming(inbox, "k1", "tb-1", T0 + 10 * SECOND, Author::Customer),
    )
    .await;
    record(events);
    let (_, c2, events, _) = ingest(
        store,
        ws,
        &incoming(inbox, "k2", "tb-2", T0 + 15 * SECOND, Author::Customer),
    )
    .await;
    record(events);
    record(
        ingest(
            store,
            ws,
            &incoming(inbox, "k1", "tb-3", T0 + 20 * SECOND, Author::Automation),
        )
        .await
        .2,
    );
    let (_, c3, events, _) = ingest(
        store,
        ws,
        &incoming(inbox, "k3", "tb-4", T0 + 25 * SECOND, Author::Customer),
    )
    .await;
    record(events);
    let away_for_an_hour = Availability::Away {
        until: Some(T0 + HOUR),
    };
    record(vec![
        availability_event(
            store,
            ws,
            inbox,
            away_for_an_hour,
            Some(a.admin.id),
            T0 + 30 * SECOND,
        )
        .await,
    ]);
    let (_, c4, events, _) = ingest(
        store,
        ws,
        &incoming(inbox, "k4", "tb-5", T0 + 35 * SECOND, Author::Customer),
    )
    .await;
    record(events);
    record(
        ingest(
            store,
            ws,
            &incoming(inbox, "k2", "tb-6", T0 + 40 * SECOND, Author::Agent),
        )
        .await
        .2,
    );
    record(
        status_events(
            store,
            ws,
            c2.id,
            Status::Spam,
            Some(a.agent.id),
            T0 + 50 * SECOND,
        )
        .await,
    );
    record(answer(store, &a, c1.id, T0 + MINUTE, "tb-reply-1").await.1);
    record(vec![
        availability_event(
            store,
            ws,
            inbox,
            Availability::Available,
            None,
            T0 + 90 * SECOND,
        )
        .await,
    ]);
    // Two changes at one instant: the sequence orders them.
    record(vec![
        availability_event(
            store,
            ws,
            inbox,
            Availability::Away { until: None },
            None,
            T0 + 90 * SECOND,
        )
        .await,
    ]);
    record(
        status_events(
            store,
            ws,
            c1.id,
            Status::Done,
            Some(a.agent.id),
            T0 + 2 * MINUTE,
        )
        .await,
    );
    record(
        ingest(
            store,
            ws,
            &incoming(inbox, "k1", "tb-7", T0 + 3 * MINUTE, Author::Customer),
        )
        .await
        .2,
    );
    record(status_events(store, ws, c3.id, Status::Done, None, T0 + 4 * MINUTE).await);
    record(
        status_events(
            store,
            ws,
            c3.id,
            Status::Open,
            Some(a.agent.id),
            T0 + 5 * MINUTE,
        )
        .await,
    );
    let (_, _, late, _) = ingest(
        store,
        ws,
        &incoming(inbox, "k1", "tb-8", T0 + 5 * SECOND, Author::Customer),
    )
    .await;
    let late_message = late
        .iter()
        .find(|e| matches!(e.fact, InboxFact::Message { .. }))
        .expect("the late message's event")
        .clone();
    record(late);
    let late_availability = availability_event(
        store,
        ws,
        inbox,
        Availability::Available,
        None,
        T0 + 5 * SECOND,
    )
    .await;
    record(vec![late_availability.clone()]);
    // Sales, in the same workspace, and Support in workspace B: a customer of the same id,
    // availability changes, before and between the instants above.
    let (_, sales_conversation, events, _) = ingest(
        store,
        ws,
        &incoming(sales, "k1", "tb-9", T0 + 12 * SECOND, Author::Customer),
    )
    .await;
    record(events);
    record(
        status_events(
            store,
            ws,
            sales_conversation.id,
            Status::Done,
            None,
            T0 + 45 * SECOND,
        )
        .await,
    );
    record(vec![
        availability_event(
            store,
            ws,
            sales,
            Availability::Away { until: None },
            None,
            T0 + 20 * SECOND,
        )
        .await,
    ]);
    let (_, b_conversation, events, _) = ingest(
        store,
        b.ws.id,
        &incoming(
            b.inbox.id,
            "k1",
            "tb-10",
            T0 + 11 * SECOND,
            Author::Customer,
        ),
    )
    .await;
    record(events);
    record(vec![
        availability_event(
            store,
            b.ws.id,
            b.inbox.id,
            Availability::Away { until: None },
            None,
            T0 + 8 * SECOND,
        )
        .await,
    ]);

    // What the writes returned is what was stored.
    for (w, i) in [(ws, inbox), (ws, sales), (b.ws.id, b.inbox.id)] {
        let mut log = all_events(store, w, i).await;
        log.sort_by_key(|e| e.seq);
        let mut mine = written[&i].clone();
        mine.sort_by_key(|e| e.seq);
        assert_eq!(log, mine, "the writes' events are the stored log of {i:?}");
    }
    let support = written[&inbox].clone();
    let last = support.iter().map(|e| e.seq).max().unwrap();
    let conversation_of = |e: &InboxEvent| match e.fact {
        InboxFact::Message { conversation, .. } | InboxFact::Status { conversation, .. } => {
            Some(conversation)
        }
        InboxFact::Availability { .. } => None,
    };
    let expected = |asked: &[ConversationId], through: i64| {
        let mut events: Vec<InboxEvent> = support
            .iter()
            .filter(|e| e.seq <= through && conversation_of(e).is_some_and(|c| asked.contains(&c)))
            .cloned()
            .collect();
        events.sort_by_key(|e| (e.at, e.seq));
        events
    };

    // The events of the conversations asked, through each sequence number.
    let (c1, c2, c3, c4) = (c1.id, c2.id, c3.id, c4.id);
    let foreign = [sales_conversation.id, b_conversation.id];
    for asked in [
        vec![c1],
        vec![c2],
        vec![c3, c1],
        vec![c4, c2],
        vec![c1, c2, c3, c4],
        vec![c1, foreign[0], foreign[1], c1],
    ] {
        for through in 0..=last + 1 {
            let got = store
                .conversation_events(ws, inbox, &asked, through)
                .await
                .unwrap();
            assert_eq!(
                got,
                expected(&asked, through),
                "{asked:?} through {through}"
            );
        }
    }
    let everything = store
        .conversation_events(ws, inbox, &[c1, c2, c3, c4], last)
        .await
        .unwrap();
    assert_eq!(
        everything.len(),
        support
            .iter()
            .filter(|e| conversation_of(e).is_some())
            .count(),
        "every event of a conversation, no availability"
    );
    for author in [Author::Customer, Author::Agent, Author::Automation] {
        assert!(
            everything
                .iter()
                .any(|e| matches!(e.fact, InboxFact::Message { author: a, .. } if a == author)),
            "a message by {author:?}"
        );
    }
    assert!(
        everything
            .iter()
            .any(|e| matches!(e.fact, InboxFact::Status { .. }))
    );
    let first = store
        .conversation_events(ws, inbox, &[c1], last)
        .await
        .unwrap();
    assert_eq!(
        first[0], late_message,
        "by instant: the late message comes first"
    );
    assert!(
        first.windows(2).any(|p| p[0].seq > p[1].seq),
        "instants, not sequence numbers, order them"
    );
    assert_eq!(
        store
            .conversation_events(ws, inbox, &[], last)
            .await
            .unwrap(),
        vec![]
    );

    // Other inboxes' and workspaces' conversations yield nothing; other workspaces' inboxes
    // are not found.
    assert_eq!(
        store
            .conversation_events(ws, inbox, &foreign, i64::MAX)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .conversation_events(ws, sales, &[c1, c2, b_conversation.id], i64::MAX)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .conversation_events(
                b.ws.id,
                b.inbox.id,
                &[c1, c2, sales_conversation.id],
                i64::MAX
            )
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .conversation_events(ws, sales, &[sales_conversation.id], i64::MAX)
            .await
            .unwrap(),
        {
            let mut events = written[&sales].clone();
            events.sort_by_key(|e| (e.at, e.seq));
            events.retain(|e| conversation_of(e).is_some());
            events
        },
        "Sales' own conversation"
    );
    expect_not_found(
        "another workspace's inbox",
        store
            .conversation_events(ws, b.inbox.id, &[b_conversation.id], i64::MAX)
            .await,
    );
    expect_not_found(
        "an inbox under another workspace",
        store
            .conversation_events(b.ws.id, inbox, &[c1], i64::MAX)
            .await,
    );

    // More ids than one statement binds (SQLite), most of them of no conversation, some twice:
    // the asked conversations' ids in the middle of the list, sorted or not.
    let mut many: Vec<ConversationId> = vec![c1];
    many.extend((1..=700).map(|i| ConversationId(-i)));
    many.extend([c1, c2, c3, foreign[0], foreign[1]]);
    many.extend((1..=793).map(|i| ConversationId((1 << 40) + i)));
    many.push(c4);
    assert_eq!(many.len(), 1_500);
    for through in [last / 2, last] {
        let got = store
            .conversation_events(ws, inbox, &many, through)
            .await
            .unwrap();
        assert_eq!(
            got,
            expected(&[c1, c2, c3, c4], through),
            "1,500 ids through {through}"
        );
    }
    assert_eq!(
        store
            .conversation_events(ws, inbox, &[c1; 1_200], last)
            .await
            .unwrap(),
        expected(&[c1], last),
        "one id, many times: its events once"
    );

    // Availability before an instant (strictly), through a sequence number.
    let availability_expected = |before: Millis, through: i64| {
        let mut events: Vec<InboxEvent> = support
            .iter()
            .filter(|e| {
                matches!(e.fact, InboxFact::Availability { .. })
                    && e.at < before
                    && e.seq <= through
            })
            .cloned()
            .collect();
        events.sort_by_key(|e| (e.at, e.seq));
        events
    };
    let mut instants: BTreeSet<Millis> = support
        .iter()
        .flat_map(|e| [e.at - 1, e.at, e.at + 1])
        .collect();
    instants.extend([T0, T0 + DAY]);
    for &before in &instants {
        for through in 0..=last + 1 {
            let got = store
                .availability_before(ws, inbox, before, through)
                .await
                .unwrap();
            assert_eq!(
                got,
                availability_expected(before, through),
                "before {before} through {through}"
            );
        }
    }
    let changes: Vec<&InboxEvent> = support
        .iter()
        .filter(|e| matches!(e.fact, InboxFact::Availability { .. }))
        .collect();
    assert_eq!(changes.len(), 4);
    for change in changes {
        let before = |at| async move {
            store
                .availability_before(ws, inbox, at, last)
                .await
                .unwrap()
        };
        assert!(
            !before(change.at).await.contains(change),
            "strictly before: {change:?}"
        );
        assert!(before(change.at + 1).await.contains(change), "{change:?}");
        let through = |seq| async move {
            store
                .availability_before(ws, inbox, T0 + DAY, seq)
                .await
                .unwrap()
        };
        assert!(
            !through(change.seq - 1).await.contains(change),
            "{change:?}"
        );
        assert!(through(change.seq).await.contains(change), "{change:?}");
    }
    let all = store
        .availability_before(ws, inbox, T0 + DAY, last)
        .await
        .unwrap();
    assert_eq!(
        all[0], late_availability,
        "by instant: the late change comes first"
    );
    assert_eq!(
        store
            .availability_before(ws, sales, T0 + DAY, i64::MAX)
            .await
            .unwrap(),
        written[&sales]
            .iter()
            .filter(|e| matches!(e.fact, InboxFact::Availability { .. }))
            .cloned()
            .collect::<Vec<_>>(),
        "Sales' own"
    );
    expect_not_found(
        "another workspace's inbox",
        store
            .availability_before(ws, b.inbox.id, T0 + DAY, i64::MAX)
            .await,
    );
    expect_not_found(
        "an inbox under another workspace",
        store
            .availability_before(b.ws.id, inbox, T0 + DAY, i64::MAX)
            .await,
    );
}

pub async fn snapshots<S: Store>(store: &S) {
    let w = world(store, "snapshots", ChannelKind::Playground).await;
    let (ws, inbox) = (w.ws.id, w.inbox.id);
    assert_eq!(store.snapshot(ws, inbox).await.unwrap(), None);
    store.save_snapshot(ws, inbox, 5, b"five").await.unwrap();
    assert_eq!(
        store.snapshot(ws, inbox).await.unwrap(),
        Some((5, b"five".to_vec()))
    );
    store.save_snapshot(ws, inbox, 7, b"seven").await.unwrap();
    assert_eq!(
        store.snapshot(ws, inbox).await.unwrap(),
        Some((7, b"seven".to_vec()))
    );
    store
        .save_snapshot(ws, inbox, 6, b"six, late")
        .await
        .unwrap();
    assert_eq!(
        store.snapshot(ws, inbox).await.unwrap(),
        Some((7, b"seven".to_vec())),
        "an older snapshot never replaces a newer one"
    );
    let big = vec![0xA5; 300_000];
    store.save_snapshot(ws, inbox, 8, &big).await.unwrap();
    assert_eq!(store.snapshot(ws, inbox).await.unwrap(), Some((8, big)));
    expect_not_found(
        "a snapshot of no inbox",
        store.save_snapshot(ws, InboxId(i64::MAX), 1, b"x").await,
    );
    expect_not_found(
        "a snapshot of no inbox",
        store.snapshot(ws, InboxId(i64::MAX)).await,
    );
}

pub async fn the_change_feed<S: Store>(store: &S) {
    let w = world(store, "feed", ChannelKind::Playground).await;
    let other = world(store, "feed-other", ChannelKind::Playground).await;
    let ws = w.ws.id;
    assert_eq!(store.changes_since(ws, 0, 100).await.unwrap(), vec![]);
    let mut returned = Vec::new();
    let (_, c, _, changes) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "p", "f-1", T0, Author::Customer),
    )
    .await;
    returned.extend(changes);
    ingest(
        store,
        other.ws.id,
        &incoming(other.inbox.id, "p", "f-1", T0, Author::Customer),
    )
    .await;
    returned.extend(
        store
            .set_status(ws, c.id, Status::Done, None, T0 + 1)
            .await
            .unwrap()
            .2,
    );
    returned.extend(
        store
            .assign(ws, c.id, Some(w.agent.id), T0 + 2)
            .await
            .unwrap()
            .1,
    );
    let (_, entry, changes) = store
        .reply(ws, c.id, w.agent.id, "hi", T0 + 3)
        .await
        .unwrap();
    returned.extend(changes);
    let claimed = store
        .claim_outbox(ChannelKind::Playground, 10, T0 + 3)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![entry.id]
    );
    let accepted = SendOutcome::Accepted {
        channel_message_id: "f-out".into(),
        at: T0 + 4,
    };
    returned.extend(
        store
            .finish_send(&claimed[0], &accepted, T0 + 4)
            .await
            .unwrap()
            .2,
    );
    returned.extend(
        store
            .set_availability(ws, w.inbox.id, Availability::Available, None, T0 + 5)
            .await
            .unwrap()
            .1,
    );

    let feed = store.changes_since(ws, 0, 1000).await.unwrap();
    assert_eq!(
        feed, returned,
        "the feed holds what the methods returned, in order"
    );
    assert!(feed.windows(2).all(|p| p[0].id < p[1].id));
    assert!(feed.iter().all(|c| c.workspace == ws));
    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let page = store.changes_since(ws, after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        paged.extend(page);
    }
    assert_eq!(paged, feed);
    let other_feed = store.changes_since(other.ws.id, 0, 1000).await.unwrap();
    assert_eq!(other_feed.len(), 2);
    assert!(other_feed.iter().all(|c| c.workspace == other.ws.id));
}

pub async fn tenant_isolation<S: Store>(store: &S) {
    let a = world(store, "tenant-a", ChannelKind::Instagram).await;
    let b = world(store, "tenant-b", ChannelKind::Instagram).await;
    let keyed = store
        .create_inbox(
            a.ws.id,
            &new_inbox("A's account", ChannelKind::Instagram, Some("ig-a")),
            T0,
        )
        .await
        .unwrap();
    let (message, conv, _, _) = ingest(
        store,
        a.ws.id,
        &incoming(a.inbox.id, "p", "t-1", T0, Author::Customer),
    )
    .await;
    let (_, entry, _) = store
        .reply(a.ws.id, conv.id, a.agent.id, "A's reply", T0 + 1)
        .await
        .unwrap();
    store
        .save_snapshot(a.ws.id, a.inbox.id, 1, b"a")
        .await
        .unwrap();
    store
        .set_availability(a.ws.id, a.inbox.id, Availability::Available, None, T0 + 2)
        .await
        .unwrap();
    let before = store.conversation(a.ws.id, conv.id).await.unwrap();
    let (bw, bi) = (b.ws.id, a.inbox.id);

    // Users and members.
    assert_eq!(store.member(bw, a.agent.id).await.unwrap(), None);
    assert!(
        store
            .members(bw)
            .await
            .unwrap()
            .iter()
            .all(|m| m.user.id != a.agent.id && m.user.id != a.admin.id)
    );
    expect_not_found(
        "presence in another workspace",
        store.set_presence(bw, a.agent.id, Presence::Online).await,
    );
    let session = Session {
        token_hash: b"tenant-s".to_vec(),
        user: a.agent.id,
        workspace: bw,
        csrf_token: "c".into(),
        expires_at: T0 + DAY,
    };
    expect_not_found(
        "a session in another workspace",
        store.create_session(&session).await,
    );
    expect_not_found(
        "a token in another workspace",
        store
            .create_api_token(bw, a.agent.id, "x", b"tenant-t", T0)
            .await,
    );

    // Inboxes.
    expect_not_found("inbox", store.inbox(bw, bi).await);
    expect_not_found(
        "update_inbox",
        store
            .update_inbox(
                bw,
                bi,
                &InboxUpdate {
                    name: Some("stolen".into()),
                    ..InboxUpdate::default()
                },
            )
            .await,
    );
    expect_not_found("delete_inbox", store.delete_inbox(bw, keyed.id).await);
    assert!(
        store
            .inboxes(bw)
            .await
            .unwrap()
            .iter()
            .all(|i| i.workspace == bw)
    );
    assert_eq!(
        store.inbox(a.ws.id, keyed.id).await.unwrap(),
        keyed,
        "still there, unchanged"
    );

    // Conversations and messages.
    expect_not_found(
        "ingest",
        store
            .ingest(bw, &incoming(bi, "p", "t-2", T0, Author::Customer))
            .await,
    );
    let query = ConversationQuery {
        inbox: Some(bi),
        status: None,
        assignee: None,
        waiting: false,
        order: ConversationOrder::Urgency,
        cursor: None,
        limit: 100,
    };
    assert_eq!(store.conversations(bw, &query).await.unwrap().items, vec![]);
    let everything = store
        .conversations(
            bw,
            &ConversationQuery {
                inbox: None,
                ..query.clone()
            },
        )
        .await
        .unwrap();
    assert!(
        everything
            .items
            .iter()
            .all(|s| s.conversation.workspace == bw)
    );
    expect_not_found("conversation", store.conversation(bw, conv.id).await);
    expect_not_found("messages", store.messages(bw, conv.id).await);
    expect_not_found("contact", store.contact(bw, conv.contact).await);
    expect_not_found(
        "set_status",
        store
            .set_status(bw, conv.id, Status::Spam, None, T0 + 3)
            .await,
    );
    expect_not_found(
        "assign",
        store.assign(bw, conv.id, Some(b.agent.id), T0 + 3).await,
    );
    expect_not_found(
        "reply",
        store.reply(bw, conv.id, b.agent.id, "hi", T0 + 3).await,
    );
    expect_not_found(
        "assign to another workspace's agent",
        store
            .assign(a.ws.id, conv.id, Some(b.agent.id), T0 + 3)
            .await,
    );
    expect_not_found(
        "status by another workspace's agent",
        store
            .set_status(a.ws.id, conv.id, Status::Done, Some(b.agent.id), T0 + 3)
            .await,
    );
    expect_not_found(
        "reply by another workspace's agent",
        store
            .reply(a.ws.id, conv.id, b.agent.id, "hi", T0 + 3)
            .await,
    );
    let forged = OutboxEntry {
        workspace: bw,
        ..entry.clone()
    };
    let accepted = SendOutcome::Accepted {
        channel_message_id: "forged".into(),
        at: T0 + 4,
    };
    expect_not_found(
        "finish_send of another workspace's entry",
        store.finish_send(&forged, &accepted, T0 + 4).await,
    );

    // The log, availability, snapshots, the feed.
    expect_not_found(
        "set_availability",
        store
            .set_availability(bw, bi, Availability::Away { until: None }, None, T0 + 5)
            .await,
    );
    expect_not_found("availability", store.availability(bw, bi).await);
    expect_not_found("inbox_events", store.inbox_events(bw, bi, 0, 100).await);
    expect_not_found("save_snapshot", store.save_snapshot(bw, bi, 9, b"b").await);
    expect_not_found("snapshot", store.snapshot(bw, bi).await);
    assert!(
        store
            .changes_since(bw, 0, 1000)
            .await
            .unwrap()
            .iter()
            .all(|c| c.workspace == bw)
    );

    // A's data is as it was.
    assert_eq!(store.conversation(a.ws.id, conv.id).await.unwrap(), before);
    assert_eq!(store.messages(a.ws.id, conv.id).await.unwrap()[0], message);
    assert_eq!(
        store.snapshot(a.ws.id, a.inbox.id).await.unwrap(),
        Some((1, b"a".to_vec()))
    );
    assert_eq!(all_events(store, a.ws.id, a.inbox.id).await.len(), 2);
    // Leave the outbox empty for the chapters after this one.
    let claimed = store
        .claim_outbox(ChannelKind::Instagram, 10, T0 + 6)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![entry.id]
    );
    store
        .finish_send(
            &claimed[0],
            &SendOutcome::Failed {
                reason: "test".into(),
            },
            T0 + 6,
        )
        .await
        .unwrap();
}

pub async fn deleting_an_inbox_deletes_what_it_holds<S: Store>(store: &S) {
    let w = world(store, "delete", ChannelKind::Webchat).await;
    let ws = w.ws.id;
    let (message, c, _, _) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "p", "d-1", T0, Author::Customer),
    )
    .await;
    let depth = store.outbox_depth().await.unwrap();
    store
        .reply(ws, c.id, w.agent.id, "bye", T0 + 1)
        .await
        .unwrap();
    store.save_snapshot(ws, w.inbox.id, 1, b"s").await.unwrap();
    store
        .set_availability(ws, w.inbox.id, Availability::Available, None, T0 + 2)
        .await
        .unwrap();
    assert_eq!(store.outbox_depth().await.unwrap(), depth + 1);
    store.delete_inbox(ws, w.inbox.id).await.unwrap();
    expect_not_found("its conversation", store.conversation(ws, c.id).await);
    expect_not_found(
        "its messages",
        store.messages(ws, message.conversation).await,
    );
    expect_not_found("its contact", store.contact(ws, c.contact).await);
    expect_not_found("its log", store.inbox_events(ws, w.inbox.id, 0, 10).await);
    assert_eq!(store.outbox_depth().await.unwrap(), depth);
    assert_eq!(
        store
            .claim_outbox(ChannelKind::Webchat, 10, T0 + DAY)
            .await
            .unwrap(),
        vec![]
    );
    // The workspace's other data is untouched, and so is its change feed.
    assert!(!store.changes_since(ws, 0, 100).await.unwrap().is_empty());
    assert_eq!(store.members(ws).await.unwrap().len(), 2);
}

/// Many ingests at once, some of them the same message twice: each message stored once, the
/// inbox's sequence numbers unique and without gaps.
pub async fn concurrent_ingests<S: Store>(store: &S, count: usize) {
    let w = world(store, "concurrency", ChannelKind::Playground).await;
    let ws = w.ws.id;
    let messages: Vec<Incoming> = (0..count)
        .map(|i| {
            // Every tenth is a message sent before, again (a webhook retried).
            let n = if i % 10 == 9 { i - 5 } else { i };
            let author = if n % 7 == 3 {
                Author::Agent
            } else {
                Author::Customer
            };
            incoming(
                w.inbox.id,
                &format!("contact-{}", n % 20),
                &format!("burst-{n}"),
                T0 + (n as Millis) * SECOND,
                author,
            )
        })
        .collect();
    let results = join_all(messages.iter().map(|m| store.ingest(ws, m))).await;
    let mut stored = BTreeMap::new();
    let mut duplicates = 0;
    let mut seqs = Vec::new();
    for result in results {
        match result.expect("every ingest succeeds") {
            Ingested::Stored {
                message, events, ..
            } => {
                let mid = message.channel_message_id.clone().unwrap();
                assert!(stored.insert(mid, message.id).is_none(), "stored twice");
                seqs.extend(events.iter().map(|e| e.seq));
            }
            Ingested::Duplicate { .. } => duplicates += 1,
        }
    }
    let unique: BTreeSet<_> = messages
        .iter()
        .map(|m| m.channel_message_id.clone())
        .collect();
    assert_eq!(
        (stored.len(), duplicates),
        (unique.len(), count - unique.len())
    );
    seqs.sort_unstable();
    let log = all_events(store, ws, w.inbox.id).await;
    let mut logged: Vec<i64> = log.iter().map(|e| e.seq).collect();
    logged.sort_unstable();
    assert_eq!(
        logged,
        (1..=log.len() as i64).collect::<Vec<_>>(),
        "gapless and unique"
    );
    assert_eq!(seqs, logged, "the events returned are the events logged");
    let message_events = log
        .iter()
        .filter(|e| matches!(e.fact, InboxFact::Message { .. }))
        .count();
    assert_eq!(message_events, unique.len());
    // Each conversation holds its own contact's messages, once each.
    let query = ConversationQuery {
        inbox: Some(w.inbox.id),
        status: None,
        assignee: None,
        waiting: false,
        order: ConversationOrder::Activity,
        cursor: None,
        limit: 100,
    };
    let conversations = store.conversations(ws, &query).await.unwrap().items;
    let contacts: BTreeSet<_> = messages
        .iter()
        .map(|m| m.contact_external_id.clone())
        .collect();
    assert_eq!(conversations.len(), contacts.len());
    let mut total = 0;
    for summary in &conversations {
        let mine = store.messages(ws, summary.conversation.id).await.unwrap();
        assert!(
            mine.windows(2)
                .all(|p| (p[0].at, p[0].id) <= (p[1].at, p[1].id)),
            "in time order"
        );
        total += mine.len();
    }
    assert_eq!(total, unique.len());
}

/// The sizes of the inbox's views, per inbox and across the workspace.
pub async fn view_counts<S: Store>(store: &S) {
    let w = world(store, "counts", ChannelKind::Playground).await;
    let other = store
        .create_inbox(
            w.ws.id,
            &new_inbox("Sales", ChannelKind::Playground, None),
            T0,
        )
        .await
        .expect("second inbox");
    let empty = store
        .conversation_counts(w.ws.id, None, w.agent.id)
        .await
        .unwrap();
    assert_eq!(empty, pronto_core::store::ConversationCounts::default());
    let mut ids = Vec::new();
    for (n, inbox) in [
        w.inbox.id, w.inbox.id, w.inbox.id, other.id, other.id, other.id,
    ]
    .into_iter()
    .enumerate()
    {
        let (_, c, _, _) = ingest(
            store,
            w.ws.id,
            &incoming(
                inbox,
                &format!("vc{n}"),
                &format!("vc-{n}"),
                T0 + n as i64,
                Author::Customer,
            ),
        )
        .await;
        ids.push(c.id);
    }
    // 0: answered (open, calm), assigned to the agent; 1: waiting, assigned to the admin;
    // 2: done; 3: spam; 4: waiting, assigned to the agent; 5: waiting, unassigned.
    answer(store, &w, ids[0], T0 + 100, "vc-answer").await;
    store
        .assign(w.ws.id, ids[0], Some(w.agent.id), T0 + 101)
        .await
        .unwrap();
    store
        .assign(w.ws.id, ids[1], Some(w.admin.id), T0 + 102)
        .await
        .unwrap();
    store
        .set_status(w.ws.id, ids[2], Status::Done, None, T0 + 103)
        .await
        .unwrap();
    store
        .set_status(w.ws.id, ids[3], Status::Spam, None, T0 + 104)
        .await
        .unwrap();
    store
        .assign(w.ws.id, ids[4], Some(w.agent.id), T0 + 105)
        .await
        .unwrap();
    let all = store
        .conversation_counts(w.ws.id, None, w.agent.id)
        .await
        .unwrap();
    assert_eq!(
        all,
        pronto_core::store::ConversationCounts {
            unanswered: 3,
            mine: 2,
            unassigned: 1,
            open: 4,
            done: 1,
            spam: 1,
        }
    );
    let first = store
        .conversation_counts(w.ws.id, Some(w.inbox.id), w.admin.id)
        .await
        .unwrap();
    assert_eq!(
        first,
        pronto_core::store::ConversationCounts {
            unanswered: 1,
            mine: 1,
            unassigned: 0,
            open: 2,
            done: 1,
            spam: 0,
        }
    );
    let outsider = world(store, "counts-other", ChannelKind::Playground).await;
    assert_eq!(
        store
            .conversation_counts(outsider.ws.id, None, outsider.agent.id)
            .await
            .unwrap(),
        pronto_core::store::ConversationCounts::default(),
        "another workspace's conversations are not counted"
    );
    // Folding the deltas into the totals changes no count; later changes count on top.
    store.fold_view_counts().await.unwrap();
    let counts = |inbox, me| store.conversation_counts(w.ws.id, inbox, me);
    assert_eq!(counts(None, w.agent.id).await.unwrap(), all);
    assert_eq!(counts(Some(w.inbox.id), w.admin.id).await.unwrap(), first);
    assert_eq!(
        store.fold_view_counts().await.unwrap(),
        0,
        "nothing left to fold"
    );
    store
        .set_status(w.ws.id, ids[0], Status::Done, None, T0 + 106)
        .await
        .unwrap();
    store
        .assign(w.ws.id, ids[5], Some(w.agent.id), T0 + 107)
        .await
        .unwrap();
    let expected = pronto_core::store::ConversationCounts {
        unanswered: 3,
        mine: 2,
        unassigned: 0,
        open: 3,
        done: 2,
        spam: 1,
    };
    assert_eq!(counts(None, w.agent.id).await.unwrap(), expected);
    assert!(store.fold_view_counts().await.unwrap() > 0);
    assert_eq!(counts(None, w.agent.id).await.unwrap(), expected);
}

/// A history loaded in bulk reads back like one written message by message, and the live
/// product carries on after it without colliding.
pub async fn a_history_loaded_in_bulk<S: Store + HistoryLoader>(store: &S) {
    let w = world(store, "bulk", ChannelKind::Playground).await;
    let (ws, inbox) = (w.ws.id, w.inbox.id);
    let contacts = store.fresh_ids(IdKind::Contact, 2).await.unwrap();
    let conversations = store.fresh_ids(IdKind::Conversation, 2).await.unwrap();
    let messages = store.fresh_ids(IdKind::Message, 3).await.unwrap();
    assert_eq!(
        (contacts.len(), conversations.len(), messages.len()),
        (2, 2, 3)
    );
    let rules = pronto_badge::Rules::default();
    let mut chunk = HistoryChunk::default();
    let mut seq = 0;
    let mut event = |at, fact| {
        seq += 1;
        InboxEvent {
            inbox,
            seq,
            at,
            fact,
        }
    };
    // Conversation 0: asked and answered, then Done. Conversation 1: asked, waiting.
    let said = [
        (0, Author::Customer, T0, "Where is my order?"),
        (
            0,
            Author::Agent,
            T0 + 5 * MINUTE,
            "On its way, arriving Friday.",
        ),
        (1, Author::Customer, T0 + HOUR, "Do you ship to Riga?"),
    ];
    for k in 0..2 {
        chunk.contacts.push(Contact {
            id: ContactId(contacts[k]),
            workspace: ws,
            inbox,
            external_id: format!("bulk-{k}"),
            name: format!("Bulk customer {k}"),
        });
        let mine: Vec<_> = said.iter().filter(|s| s.0 == k).collect();
        let urgency = Urgency::from_messages(mine.iter().map(|s| (s.1, s.2)), &rules);
        let last = mine.last().unwrap();
        let done = k == 0;
        chunk.conversations.push(HistoricConversation {
            conversation: Conversation {
                id: ConversationId(conversations[k]),
                workspace: ws,
                inbox,
                contact: ContactId(contacts[k]),
                status: if done { Status::Done } else { Status::Open },
                assignee: done.then_some(w.agent.id),
                urgency,
                last_activity_at: last.2,
                preview: last.3.into(),
            },
            status_at: done.then_some(T0 + 6 * MINUTE),
        });
    }
    for (i, (k, author, at, text)) in said.iter().enumerate() {
        let conversation = ConversationId(conversations[*k]);
        chunk.messages.push((
            inbox,
            Message {
                id: MessageId(messages[i]),
                workspace: ws,
                conversation,
                author: *author,
                agent: (*author == Author::Agent).then_some(w.agent.id),
                channel_message_id: Some(format!("bulk-m{i}")),
                at: *at,
                text: (*text).into(),
                attachments: Vec::new(),
                delivery: if *author == Author::Agent {
                    Delivery::Sent
                } else {
                    Delivery::Received
                },
            },
        ));
        chunk.events.push(event(
            *at,
            InboxFact::Message {
                conversation,
                author: *author,
            },
        ));
        if i == 1 {
            let fact = InboxFact::Status {
                conversation,
                status: Status::Done,
                by: Some(w.agent.id),
            };
            chunk.events.push(event(T0 + 6 * MINUTE, fact));
        }
    }
    let loaded_events = chunk.events.clone();
    store.load_history(ws, chunk).await.unwrap();
    store.finish_history().await.unwrap();

    let done = store
        .conversation(ws, ConversationId(conversations[0]))
        .await
        .unwrap();
    assert_eq!(done.conversation.status, Status::Done);
    assert_eq!(done.contact_name, "Bulk customer 0");
    let waiting = store
        .conversation(ws, ConversationId(conversations[1]))
        .await
        .unwrap();
    assert_eq!(waiting.conversation.urgency.waiting_since, Some(T0 + HOUR));
    let texts: Vec<_> = store
        .messages(ws, ConversationId(conversations[0]))
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.author, m.text))
        .collect();
    assert_eq!(
        texts,
        vec![
            (Author::Customer, "Where is my order?".to_owned()),
            (Author::Agent, "On its way, arriving Friday.".to_owned()),
        ]
    );
    assert_eq!(
        store.inbox_events(ws, inbox, 0, 100).await.unwrap(),
        loaded_events
    );
    let counts = store
        .conversation_counts(ws, Some(inbox), w.agent.id)
        .await
        .unwrap();
    assert_eq!(
        counts,
        pronto_core::store::ConversationCounts {
            unanswered: 1,
            mine: 0,
            unassigned: 1,
            open: 1,
            done: 1,
            spam: 0,
        }
    );
    // The live product goes on after the history: the next event follows it, and a returning
    // customer finds their conversation (reopened, as Done is).
    let (message, conversation, events, _) = ingest(
        store,
        ws,
        &incoming(inbox, "bulk-0", "bulk-live", T0 + 2 * DAY, Author::Customer),
    )
    .await;
    assert_eq!(conversation.id, ConversationId(conversations[0]));
    assert_eq!(conversation.status, Status::Open);
    assert!(
        message.id.0 > messages[2],
        "fresh ids come after the loaded ones"
    );
    assert_eq!(events.first().map(|e| e.seq), Some(seq + 1));
    // A chunk that names an inbox of another workspace is refused whole.
    let outsider = world(store, "bulk-other", ChannelKind::Playground).await;
    let mut foreign = HistoryChunk::default();
    foreign.events.push(InboxEvent {
        inbox: outsider.inbox.id,
        seq: 1,
        at: T0,
        fact: InboxFact::Availability {
            availability: Availability::Available,
            by: None,
        },
    });
    assert!(store.load_history(ws, foreign).await.is_err());
    assert!(
        store
            .inbox_events(outsider.ws.id, outsider.inbox.id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Deliveries that go from conversation to conversation, and agents assigning and replying to
/// those conversations at the same moment, all succeed: every writer takes its locks in one
/// order (inbox, conversation, change feed), so none waits for another in a circle.
pub async fn deliveries_and_agents_at_once<S: Store>(store: &S) {
    let w = world(store, "crossing", ChannelKind::Playground).await;
    let ws = w.ws.id;
    let (_, a, _, _) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "cross-a", "cross-a-0", T0, Author::Customer),
    )
    .await;
    let (_, b, _, _) = ingest(
        store,
        ws,
        &incoming(w.inbox.id, "cross-b", "cross-b-0", T0, Author::Customer),
    )
    .await;
    for round in 1..=25i64 {
        let at = T0 + round * SECOND;
        let message = |contact: &str| {
            let mid = format!("{contact}-{round}");
            (
                ws,
                Inbound::Message(incoming(w.inbox.id, contact, &mid, at, Author::Customer)),
            )
        };
        let forth = vec![message("cross-a"), message("cross-b")];
        let back = vec![message("cross-b"), message("cross-a")];
        let (assignee, other) = if round % 2 == 0 {
            (w.agent.id, w.admin.id)
        } else {
            (w.admin.id, w.agent.id)
        };
        let (taken, taken_again, assigned_b, replied, assigned_a) = futures_util::future::join5(
            store.take_in(&forth),
            store.take_in(&back),
            store.assign(ws, b.id, Some(assignee), at),
            store.reply(ws, a.id, w.agent.id, "On it!", at),
            store.assign(ws, a.id, Some(other), at),
        )
        .await;
        taken.expect("a delivery");
        taken_again.expect("the same delivery again");
        assigned_b.expect("an assignment");
        replied.expect("a reply");
        assigned_a.expect("another assignment");
    }
    let messages = store.messages(ws, a.id).await.unwrap();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.author == Author::Customer)
            .count(),
        26
    );
}
