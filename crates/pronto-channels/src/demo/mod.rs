//! `pronto demo`'s workspace: on an empty database, a shop with three agents, its reply
//! templates in English and Russian, three playground inboxes (named after what they
//! simulate) and 45 days of history — about 3,000 conversations
//! in English and Russian, answered with realistic delays, with automatic acknowledgements,
//! Spam and Done, nights and meetings Away, customers coming back — tuned so that one inbox
//! holds the badge comfortably, one holds it and one is just losing it.
//!
//! The history is planned in memory first ([`plan`], pure and deterministic for a seed and
//! `now`), checked with the badge engine, then written through the [`Store`] port the way the
//! live product writes: customers' messages and acknowledgements with [`Store::ingest`],
//! replies with [`Store::reply`], then claimed and accepted by the playground channel at their
//! historic instant ([`Store::claim_outbox`], [`Store::finish_send`]), statuses and
//! availability with the agent who set them.

mod big;
mod plan;

pub use big::{BIG_INBOXES, BigHistory, BigOptions, DayPlan};

pub use plan::{DemoOptions, Standing};

use crate::playground::outgoing_message_id;
use crate::text::Lang;
use futures_util::stream::{self, TryStreamExt};
use plan::{AGENTS, ContactPlan, Plan, Step, StepKind};
use pronto_badge::time::DAY;
use pronto_badge::{Author, Figures, Millis, Rules};
use pronto_core::history::{HistoryChunk, HistoryLoader, IdKind};
use pronto_core::store::{
    InboxEvent, Ingested, NewInbox, OutboxEntry, SendOutcome, Store, StoreError, StoreResult,
};
use pronto_core::template::NewTemplate;
use pronto_core::{
    ChannelKind, ConversationId, Inbox, InboxId, Incoming, Presence, Role, Template, User, UserId,
    Workspace, WorkspaceId,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// The demo workspace's name.
pub const DEMO_WORKSPACE: &str = "Demo shop";
/// Every demo agent's password (the demo is for trying Pronto out, on this machine).
pub const DEMO_PASSWORD: &str = "pronto-demo";
/// The demo's admin, the login to print.
pub const DEMO_ADMIN_EMAIL: &str = "anna@demo.pronto";

/// What [`seed`] created.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoWorkspace {
    pub workspace: Workspace,
    /// The admin first, then the two agents.
    pub agents: Vec<(User, Role)>,
    /// How to log in: [`DEMO_ADMIN_EMAIL`] and [`DEMO_PASSWORD`].
    pub login_email: String,
    pub password: String,
    /// The reply templates ([`crate::demo_templates`]), by the admin, as the store lists them.
    pub templates: Vec<Template>,
    pub inboxes: Vec<DemoInbox>,
    pub conversations: u64,
    pub messages: u64,
    /// The instant the history ends and the figures are computed at (`seed`'s `now`).
    pub now: Millis,
}

impl DemoWorkspace {
    /// The playground inboxes, for [`crate::playground::run_customers`].
    pub fn inbox_ids(&self) -> Vec<InboxId> {
        self.inboxes.iter().map(|i| i.inbox.id).collect()
    }
}

/// One inbox of the demo, with where its badge stands at `now`.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoInbox {
    pub inbox: Inbox,
    pub standing: Standing,
    /// The figures at the demo's `now`, by the badge engine over the planned log (which is
    /// the log the store holds afterwards).
    pub figures: Figures,
    pub conversations: u64,
}

/// Whether the database has no user and no inbox yet: the only case [`seed`] works in.
pub async fn database_is_empty<S: Store>(store: &S) -> StoreResult<bool> {
    Ok(store.user_count().await? == 0 && store.all_inboxes().await?.is_empty())
}

/// [`StoreError::Conflict`] unless [`database_is_empty`]: the only case a demo is seeded in.
async fn require_empty_database<S: Store>(store: &S) -> StoreResult<()> {
    if database_is_empty(store).await? {
        return Ok(());
    }
    Err(StoreError::Conflict(
        "the demo is seeded only on an empty database; this one has users or inboxes already"
            .into(),
    ))
}

/// Seeds the demo workspace with the default [`DemoOptions`]; see [`seed_with`].
pub async fn seed<S: Store>(
    store: &S,
    now: Millis,
    progress: impl Fn(u64, u64) + Send + Sync,
) -> Result<DemoWorkspace, StoreError> {
    seed_with(store, now, &DemoOptions::default(), progress).await
}

/// Seeds the demo workspace on an empty database, its history ending at `now`;
/// [`StoreError::Conflict`] (and nothing written) if the database has users or inboxes already.
/// `progress(done, total)` is called as conversations are written.
///
/// Replies are claimed from the playground's outbox as they are written: no outbox worker of
/// the playground channel may run during the seeding (start the server's workers after it).
pub async fn seed_with<S: Store>(
    store: &S,
    now: Millis,
    options: &DemoOptions,
    progress: impl Fn(u64, u64) + Send + Sync,
) -> Result<DemoWorkspace, StoreError> {
    require_empty_database(store).await?;
    let rules = Rules::default();
    let plan = Plan::new(options, now, &rules);
    let founded = now - (i64::from(options.days) + 14) * DAY;
    let workspace = store.create_workspace(DEMO_WORKSPACE, founded).await?;
    let ws = workspace.id;

    let (agents, templates) = found_team(store, ws, founded, &[]).await?;
    let agent_ids: Vec<UserId> = agents.iter().map(|(u, _)| u.id).collect();

    let mut inboxes = Vec::new();
    for (planned, figures) in plan.inboxes.iter().zip(&plan.figures) {
        let p = planned.profile;
        let new = NewInbox {
            name: p.name.to_owned(),
            channel: ChannelKind::Playground,
            channel_key: None,
            settings: serde_json::json!({ "simulates": p.slug }),
            sealed_secrets: None,
        };
        let inbox = store.create_inbox(ws, &new, founded + DAY).await?;
        inboxes.push(DemoInbox {
            inbox,
            standing: p.standing,
            figures: *figures,
            conversations: planned.contacts.len() as u64,
        });
    }

    // Everyone's timeline, in a shuffled-by-inbox order so that the inboxes fill together.
    let timelines: Vec<Vec<Vec<Step<'_>>>> = (0..plan.inboxes.len())
        .map(|i| plan.timelines(i, &rules))
        .collect();
    let mut work: Vec<(InboxId, &ContactPlan, &[Step<'_>])> = Vec::new();
    let mut queues: Vec<_> = plan
        .inboxes
        .iter()
        .zip(&timelines)
        .zip(&inboxes)
        .map(|((planned, steps), demo)| (demo.inbox.id, planned.contacts.iter().zip(steps)))
        .collect();
    loop {
        let before = work.len();
        for (inbox, queue) in &mut queues {
            if let Some((contact, steps)) = queue.next() {
                work.push((*inbox, contact, steps));
            }
        }
        if work.len() == before {
            break;
        }
    }
    let messages = work
        .iter()
        .flat_map(|(_, _, steps)| steps.iter())
        .filter(|s| {
            matches!(
                s.kind,
                StepKind::Customer | StepKind::Automation | StepKind::Agent { .. }
            )
        })
        .count() as u64;
    let total = work.len() as u64;
    progress(0, total);
    let done = AtomicU64::new(0);
    let courier = Courier::new(now);
    let writer = Writer {
        store,
        ws,
        agents: &agent_ids,
        courier: &courier,
    };

    let availability = futures_util::future::try_join_all(plan.inboxes.iter().zip(&inboxes).map(
        |(planned, demo)| {
            let writer = &writer;
            async move {
                for a in &planned.availability {
                    let by = a.by.map(|i| writer.agents[i]);
                    store
                        .set_availability(ws, demo.inbox.id, a.availability, by, a.at)
                        .await?;
                }
                StoreResult::Ok(())
            }
        },
    ));
    let conversations = stream::iter(work.into_iter().map(Ok)).try_for_each_concurrent(
        options.concurrency.max(1),
        |(inbox, contact, steps)| {
            let (writer, done, progress) = (&writer, &done, &progress);
            async move {
                writer.contact(inbox, contact, steps).await?;
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                StoreResult::Ok(())
            }
        },
    );
    let conversations = async {
        let written = conversations.await;
        courier.close();
        written
    };
    futures_util::future::try_join3(availability, conversations, courier.run(store)).await?;

    Ok(DemoWorkspace {
        workspace,
        agents,
        login_email: DEMO_ADMIN_EMAIL.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
        templates,
        conversations: total,
        messages,
        inboxes,
        now,
    })
}

/// What [`seed_big`] created.
#[derive(Clone, Debug, PartialEq)]
pub struct BigWorkspace {
    pub workspace: Workspace,
    pub login_email: String,
    pub password: String,
    /// The inboxes of [`BIG_INBOXES`], in that order.
    pub inboxes: Vec<Inbox>,
    pub conversations: u64,
    pub messages: u64,
    pub events: u64,
}

/// Ids taken from the store in big blocks and handed out day by day.
struct IdPool {
    kind: IdKind,
    block: usize,
    ids: std::collections::VecDeque<i64>,
}

impl IdPool {
    fn new(kind: IdKind, block: usize) -> Self {
        Self {
            kind,
            block,
            ids: Default::default(),
        }
    }

    async fn take<S: HistoryLoader>(&mut self, store: &S, count: usize) -> StoreResult<Vec<i64>> {
        if self.ids.len() < count {
            let more = store.fresh_ids(self.kind, count.max(self.block)).await?;
            self.ids.extend(more);
        }
        Ok(self.ids.drain(..count).collect())
    }
}

/// Seeds the big workspace on an empty database: the demo's team (and five more agents), its
/// templates, the four inboxes of [`BIG_INBOXES`] and `options.conversations` conversations
/// over `options.days` days ending at `now`, written in bulk day by day
/// ([`HistoryLoader::load_history`]). `absorb` sees every chunk's badge events as they are
/// written, in each inbox's sequence order (the server feeds its live badges with them, so
/// that it starts from snapshots instead of replaying years). `progress(day, days)`.
pub async fn seed_big<S: Store + HistoryLoader>(
    store: &S,
    now: Millis,
    options: &BigOptions,
    mut absorb: impl FnMut(WorkspaceId, &[InboxEvent]) + Send,
    progress: impl Fn(u64, u64) + Send + Sync,
) -> Result<BigWorkspace, StoreError> {
    require_empty_database(store).await?;
    let founded = now - (i64::from(options.days.max(1)) + 14) * DAY;
    let workspace = store.create_workspace(DEMO_WORKSPACE, founded).await?;
    let ws = workspace.id;
    let (agents, _) = found_team(store, ws, founded, &big::MORE_AGENTS).await?;
    let mut inboxes = Vec::new();
    for profile in &BIG_INBOXES {
        let new = NewInbox {
            name: profile.name.to_owned(),
            channel: ChannelKind::Playground,
            channel_key: None,
            settings: serde_json::json!({ "simulates": profile.slug }),
            sealed_secrets: None,
        };
        inboxes.push(store.create_inbox(ws, &new, founded + DAY).await?);
    }
    let mut history = BigHistory::new(
        options,
        now,
        ws,
        inboxes.iter().map(|i| i.id).collect(),
        agents.iter().map(|(u, _)| u.id).collect(),
    );
    let days = u64::from(history.days());
    let mut contacts = IdPool::new(IdKind::Contact, 50_000);
    let mut conversations = IdPool::new(IdKind::Conversation, 50_000);
    let mut messages = IdPool::new(IdKind::Message, 500_000);
    let (mut conversation_count, mut message_count, mut event_count) = (0u64, 0u64, 0u64);
    let mut writing: Option<HistoryChunk> = None;
    progress(0, days);
    let mut day = 0;
    loop {
        // The previous day is written while the next one is planned: the store's own thread
        // (SQLite's writer) or the database server works meanwhile.
        let written = async {
            match writing.take() {
                Some(previous) => {
                    store.load_history(ws, previous).await?;
                    day += 1;
                    progress(day, days);
                    StoreResult::Ok(())
                }
                None => Ok(()),
            }
        };
        let planned = async {
            let Some(plan) = history.plan_day() else {
                return StoreResult::Ok(None);
            };
            let contact_ids = contacts.take(store, plan.conversations()).await?;
            let conversation_ids = conversations.take(store, plan.conversations()).await?;
            let message_ids = messages.take(store, plan.messages()).await?;
            conversation_count += plan.conversations() as u64;
            message_count += plan.messages() as u64;
            let chunk = history.chunk(plan, &contact_ids, &conversation_ids, &message_ids);
            event_count += chunk.events.len() as u64;
            absorb(ws, &chunk.events);
            Ok(Some(chunk))
        };
        let (written, planned) = futures_util::future::join(written, planned).await;
        written?;
        match planned? {
            Some(chunk) => writing = Some(chunk),
            None => break,
        }
    }
    store.finish_history().await?;
    Ok(BigWorkspace {
        workspace,
        login_email: DEMO_ADMIN_EMAIL.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
        inboxes,
        conversations: conversation_count,
        messages: message_count,
        events: event_count,
    })
}

/// The shop's team (the demo's three agents, then `more` agents), with the demo password,
/// and its reply templates.
async fn found_team<S: Store>(
    store: &S,
    ws: WorkspaceId,
    founded: Millis,
    more: &[(&str, &str)],
) -> StoreResult<(Vec<(User, Role)>, Vec<Template>)> {
    let hash = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD))
        .await
        .map_err(|e| StoreError::Invalid(format!("hashing the demo password: {e}")))??;
    let mut agents = Vec::new();
    let team = AGENTS
        .iter()
        .copied()
        .chain(more.iter().map(|&(email, name)| (email, name, false)));
    for (i, (email, name, admin)) in team.enumerate() {
        let user = store.create_user(email, name, &hash, founded).await?;
        let role = if admin { Role::Admin } else { Role::Agent };
        store.set_member(ws, user.id, role).await?;
        let presence = if i == 1 {
            Presence::Busy
        } else {
            Presence::Online
        };
        store.set_presence(ws, user.id, presence).await?;
        agents.push((user, role));
    }
    let agent_ids: Vec<UserId> = agents.iter().map(|(u, _)| u.id).collect();

    for (title, text) in crate::demo_templates() {
        let language = match Lang::of_text(text) {
            Lang::En => "en",
            Lang::Ru => "ru",
        };
        let new = NewTemplate::new(title, text, Some(language))
            .map_err(|e| StoreError::Invalid(format!("demo template {title:?}: {e}")))?;
        store
            .create_template(ws, &new, Some(agent_ids[0]), founded)
            .await?;
    }
    let templates = store.templates(ws).await?;
    Ok((agents, templates))
}

/// An argon2id PHC string of `password`, as the server's login checks it.
fn hash_password(password: &str) -> StoreResult<String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Invalid(format!("hashing the demo password: {e}")))
}

struct Writer<'a, S> {
    store: &'a S,
    ws: WorkspaceId,
    agents: &'a [UserId],
    courier: &'a Courier,
}

impl<S: Store> Writer<'_, S> {
    /// Writes one contact's timeline, in order.
    async fn contact(
        &self,
        inbox: InboxId,
        contact: &ContactPlan,
        steps: &[Step<'_>],
    ) -> StoreResult<()> {
        let (store, ws) = (self.store, self.ws);
        let mut conversation: Option<ConversationId> = None;
        let mut assigned = false;
        let missing =
            || StoreError::Invalid("the demo plan answers before the customer wrote".into());
        for (k, step) in steps.iter().enumerate() {
            match step.kind {
                StepKind::Customer | StepKind::Automation => {
                    let author = if step.kind == StepKind::Customer {
                        Author::Customer
                    } else {
                        Author::Automation
                    };
                    let incoming = Incoming {
                        inbox,
                        contact_external_id: contact.external_id.clone(),
                        contact_name: contact.name.clone(),
                        channel_message_id: format!("{}-{k}", contact.external_id),
                        at: step.at,
                        author,
                        text: step.text.to_owned(),
                        attachments: Vec::new(),
                    };
                    match store.ingest(ws, &incoming).await? {
                        Ingested::Stored {
                            conversation: c, ..
                        } => conversation = Some(c.id),
                        Ingested::Duplicate { .. } => {
                            return Err(StoreError::Conflict(format!(
                                "demo message {} is stored already",
                                incoming.channel_message_id
                            )));
                        }
                    }
                }
                StepKind::Agent { agent, created } => {
                    let c = conversation.ok_or_else(missing)?;
                    let user = self.agents[agent];
                    self.courier
                        .reply(store, ws, c, user, step.text, created, step.at)
                        .await?;
                    if !assigned {
                        store.assign(ws, c, Some(user), created).await?;
                        assigned = true;
                    }
                }
                StepKind::Status { status, agent } => {
                    let c = conversation.ok_or_else(missing)?;
                    store
                        .set_status(ws, c, status, Some(self.agents[agent]), step.at)
                        .await?;
                }
                // The store records it when the customer's message reopens the conversation.
                StepKind::Reopen => {}
            }
        }
        Ok(())
    }
}

/// Takes the demo's replies through the playground's outbox, so that each counts from its
/// historic instant. Conversations are written concurrently; one loop ([`Courier::run`])
/// claims whatever replies are due, finishes them all at once (each with the instant its
/// writer planned) and tells each writer that its reply went out.
struct Courier {
    now: Millis,
    /// The one reply in flight per conversation: its planned acceptance, and its writer.
    planned: Mutex<HashMap<ConversationId, Outgoing>>,
    wake: Notify,
    /// No more replies will come.
    closed: AtomicBool,
}

/// A reply's planned acceptance, and how to tell its writer it went out.
type Outgoing = (Millis, oneshot::Sender<StoreResult<()>>);

/// How long a writer waits for its reply to go out before giving up.
const COURIER_PATIENCE: Duration = Duration::from_secs(60);
const CLAIM: u32 = 512;

impl Courier {
    fn new(now: Millis) -> Self {
        Self {
            now,
            planned: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// Stores the reply, and returns once the courier has had the channel accept it.
    #[allow(clippy::too_many_arguments)]
    async fn reply<S: Store>(
        &self,
        store: &S,
        ws: WorkspaceId,
        conversation: ConversationId,
        agent: UserId,
        text: &str,
        created: Millis,
        accepted: Millis,
    ) -> StoreResult<()> {
        let (tx, rx) = oneshot::channel();
        lock(&self.planned).insert(conversation, (accepted, tx));
        let stored = store.reply(ws, conversation, agent, text, created).await;
        if let Err(error) = stored {
            lock(&self.planned).remove(&conversation);
            return Err(error);
        }
        self.wake.notify_one();
        match tokio::time::timeout(COURIER_PATIENCE, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Unavailable("the demo's courier stopped".into())),
            Err(_) => Err(StoreError::Invalid(
                "a demo reply did not go out: was it taken from the outbox by someone else? \
                 Seed the demo before starting the outbox workers"
                    .into(),
            )),
        }
    }

    /// No more replies: [`Courier::run`] returns once the last ones are out.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Claims and finishes replies until closed.
    async fn run<S: Store>(&self, store: &S) -> StoreResult<()> {
        loop {
            let closed = self.closed.load(Ordering::SeqCst);
            let claimed = store
                .claim_outbox(ChannelKind::Playground, CLAIM, self.now)
                .await?;
            if claimed.is_empty() {
                if closed {
                    return Ok(());
                }
                self.wake.notified().await;
                continue;
            }
            let results = futures_util::future::join_all(
                claimed.iter().map(|entry| self.finish(store, entry)),
            )
            .await;
            results.into_iter().collect::<StoreResult<()>>()?;
        }
    }

    async fn finish<S: Store>(&self, store: &S, entry: &OutboxEntry) -> StoreResult<()> {
        let (at, writer) = lock(&self.planned)
            .remove(&entry.conversation)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "outbox entry {} is not one of the demo's replies",
                    entry.id
                ))
            })?;
        let outcome = SendOutcome::Accepted {
            channel_message_id: outgoing_message_id(entry),
            at,
        };
        let result = store.finish_send(entry, &outcome, at).await.map(|_| ());
        let _ = writer.send(result.clone());
        result
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
