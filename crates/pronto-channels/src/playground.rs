//! The playground channel: simulated customers on this machine, so that a newcomer sees the
//! whole product live without a Meta app.
//!
//! - [`deliver`] is the channel's sender: a simulated customer has the reply at once, so it is
//!   always accepted, at the moment it is handed over.
//! - [`run_customers`] is the customers themselves: while it runs they keep writing, every few
//!   minutes (a random, configurable interval), new conversations and follow-ups in existing
//!   ones, in English and Russian; each new start gets the automatic acknowledgement the
//!   instant-acknowledgement feature will send. Given a [`ReplyReceiver`] they also hear the
//!   agents' replies and may answer them (thanks, or a follow-up question) after a short delay.
//!
//! Time comes from the caller's clock (a `now` function), so a test can run the customers on a
//! fast fake clock: the driver looks at the clock every `tick` and acts on what is due.

use crate::rng::Rng;
use crate::text::{self, Lang, Particulars, TOPICS};
use pronto_badge::time::{HOUR, MINUTE, SECOND};
use pronto_badge::{Author, Availability, Millis, Status};
use pronto_core::store::{
    ConversationOrder, ConversationQuery, InboxFact, Ingested, OutboxEntry, SendOutcome, Store,
};
use pronto_core::{ConversationId, InboxId, Incoming, WorkspaceId};
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use tokio::sync::mpsc;

/// The channel's id of a reply delivered to a simulated customer.
pub fn outgoing_message_id(entry: &OutboxEntry) -> String {
    format!("playground-out-{}-{}", entry.workspace, entry.id)
}

/// Sends a reply to a simulated customer: always accepted, at `now`.
pub fn deliver(entry: &OutboxEntry, now: Millis) -> SendOutcome {
    SendOutcome::Accepted {
        channel_message_id: outgoing_message_id(entry),
        at: now,
    }
}

/// How delivered replies reach the simulated customers: the sender side. Cheap to clone; give
/// it to the playground's sender (`heard` in its delivery hook, or [`ReplyFeed::deliver`] as
/// the sender itself) and the [`ReplyReceiver`] to [`run_customers`].
#[derive(Clone, Debug)]
pub struct ReplyFeed {
    tx: mpsc::Sender<OutboxEntry>,
}

/// The customers' side of a [`ReplyFeed`].
#[derive(Debug)]
pub struct ReplyReceiver {
    rx: mpsc::Receiver<OutboxEntry>,
}

/// How many delivered replies wait for the customers before newer ones are dropped.
const FEED_CAPACITY: usize = 1024;

pub fn reply_feed() -> (ReplyFeed, ReplyReceiver) {
    let (tx, rx) = mpsc::channel(FEED_CAPACITY);
    (ReplyFeed { tx }, ReplyReceiver { rx })
}

impl ReplyFeed {
    /// Tells the simulated customer about a reply delivered to them. Never blocks: if the
    /// customers are not running (or far behind), the reply simply goes unheard.
    pub fn heard(&self, entry: &OutboxEntry) {
        let _ = self.tx.try_send(entry.clone());
    }

    /// [`deliver`], and the customer hears the reply.
    pub fn deliver(&self, entry: &OutboxEntry, now: Millis) -> SendOutcome {
        self.heard(entry);
        deliver(entry, now)
    }
}

/// How the simulated customers behave. Durations in `Millis` are on the caller's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerSettings {
    /// The time between two customer messages (across all the inboxes), drawn uniformly in
    /// this range.
    pub interval: (Millis, Millis),
    /// The share of messages, in thousandths, written in an existing conversation (a customer
    /// of this run adding something, or one from the history coming back) instead of a new one.
    pub follow_up_per_mille: u32,
    /// The share of new customers, in thousandths, who write in Russian (the others in English).
    pub russian_per_mille: u32,
    /// The chance, in thousandths, that a customer answers an agent's reply.
    pub react_per_mille: u32,
    /// How long after the reply they answer, drawn uniformly in this range.
    pub react_after: (Millis, Millis),
    /// Send the automatic acknowledgement (author automation) right after each new start.
    pub acknowledge: bool,
    /// How often the driver looks at the clock, in real time.
    pub tick: Duration,
    /// The random seed; `None` draws one from the clock.
    pub seed: Option<u64>,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self {
            interval: (2 * MINUTE, 6 * MINUTE),
            follow_up_per_mille: 350,
            russian_per_mille: 450,
            react_per_mille: 700,
            react_after: (20 * SECOND, 3 * MINUTE),
            acknowledge: true,
            tick: Duration::from_secs(1),
            seed: None,
        }
    }
}

/// What the customers did during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CustomerStats {
    /// Customer messages stored.
    pub customer_messages: u64,
    /// Of those, new conversations.
    pub new_conversations: u64,
    /// Of those, answers to an agent's reply.
    pub reactions: u64,
    /// Automatic acknowledgements stored.
    pub acknowledgements: u64,
    /// Store calls that failed (logged; the customers carry on).
    pub errors: u64,
}

/// A customer the simulation is talking as.
#[derive(Clone, Debug)]
struct Customer {
    inbox: InboxId,
    external_id: String,
    name: String,
    lang: Lang,
    particulars: Particulars,
    topic: usize,
    exchange: usize,
    conversation: Option<ConversationId>,
    /// An agent answered since the customer last wrote.
    answered: bool,
}

/// A customer message due at some instant.
#[derive(Clone, Debug)]
struct Due {
    at: Millis,
    customer: usize,
    text: String,
    reaction: bool,
}

/// How many customers of a run the simulation remembers (the oldest are forgotten).
const REMEMBERED: usize = 200;

/// How many due messages one tick sends at most (a clock that jumps far does not flood).
const PER_TICK: usize = 8;

struct Simulation<'a, S, N, F> {
    store: &'a S,
    workspace: WorkspaceId,
    inboxes: Vec<InboxId>,
    now: &'a N,
    on_ingested: &'a F,
    settings: CustomerSettings,
    rng: Rng,
    run: u64,
    sent: u64,
    created: u64,
    customers: Vec<Customer>,
    due: Vec<Due>,
    stats: CustomerStats,
}

/// Runs the simulated customers of `inboxes` (playground inboxes of `workspace`) until
/// `shutdown` completes, and returns what they did.
///
/// Every message goes through [`Store::ingest`] (customers as `customer`, acknowledgements as
/// `automation`, at the clock's `now()`), and every result is handed to `on_ingested` (and
/// awaited) so that the caller can publish the changes (event bus, live badge, SSE) before the
/// next message. Store errors are logged and counted; the customers carry on.
///
/// `store` is borrowed: to spawn the customers, move what owns the store into the task, e.g.
/// `tokio::spawn(async move { run_customers(&app.store, ...).await })`.
#[allow(clippy::too_many_arguments)]
pub async fn run_customers<S, N, F, P>(
    store: &S,
    workspace: WorkspaceId,
    inboxes: Vec<InboxId>,
    now: N,
    settings: CustomerSettings,
    replies: Option<ReplyReceiver>,
    on_ingested: F,
    shutdown: impl Future<Output = ()> + Send,
) -> CustomerStats
where
    S: Store,
    N: Fn() -> Millis + Send + Sync,
    F: Fn(Ingested) -> P + Send + Sync,
    P: Future<Output = ()> + Send,
{
    let start = now();
    let seed = settings.seed.unwrap_or(start as u64 ^ 0x5EED_0FC0_FFEE);
    let mut rng = Rng::new(seed);
    let run = rng.next_u64() & 0xFFFF_FFFF;
    let tick = settings.tick.max(Duration::from_millis(1));
    let mut sim = Simulation {
        store,
        workspace,
        inboxes,
        now: &now,
        on_ingested: &on_ingested,
        settings,
        rng,
        run,
        sent: 0,
        created: 0,
        customers: Vec::new(),
        due: Vec::new(),
        stats: CustomerStats::default(),
    };
    let mut next_at = start + sim.interval();
    let mut replies = replies;
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            entry = next_reply(&mut replies) => match entry {
                Some(entry) => sim.hear(&entry).await,
                None => replies = None,
            },
            () = tokio::time::sleep(tick) => {}
        }
        if sim.inboxes.is_empty() {
            continue;
        }
        let t = (sim.now)();
        sim.send_due(t).await;
        if t >= next_at {
            sim.write_something().await;
            next_at = t + sim.interval();
        }
    }
    sim.stats
}

async fn next_reply(replies: &mut Option<ReplyReceiver>) -> Option<OutboxEntry> {
    match replies {
        Some(r) => r.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl<S, N, F, P> Simulation<'_, S, N, F>
where
    S: Store,
    N: Fn() -> Millis + Send + Sync,
    F: Fn(Ingested) -> P + Send + Sync,
    P: Future<Output = ()> + Send,
{
    fn interval(&mut self) -> Millis {
        let (lo, hi) = self.settings.interval;
        self.rng.between(lo.max(1), hi.max(lo.max(1)))
    }

    /// A new customer message: a new conversation, or a follow-up in an existing one.
    async fn write_something(&mut self) {
        if self.rng.chance(self.settings.follow_up_per_mille) {
            let from_this_run = !self.customers.is_empty() && self.rng.chance(500);
            if from_this_run {
                let i = self.rng.below(self.customers.len() as u64) as usize;
                let customer = &self.customers[i];
                let text = if customer.answered {
                    let (question, _) =
                        TOPICS[customer.topic].follow_up(customer.lang, customer.exchange);
                    customer.particulars.fill(question, customer.lang)
                } else {
                    text::line(
                        &mut self.rng,
                        &text::NUDGES,
                        customer.lang,
                        &customer.particulars,
                    )
                };
                self.send(i, text, false).await;
                return;
            }
            if let Some(i) = self.returning_customer().await {
                let text = self.opening(i);
                self.send(i, text, false).await;
                return;
            }
        }
        let i = self.new_customer();
        let text = self.opening(i);
        self.stats.new_conversations += 1;
        self.send(i, text, false).await;
        if self.rng.chance(200) {
            // Some customers add a line before anyone could answer.
            let customer = &self.customers[i];
            let more = text::line(
                &mut self.rng,
                &text::MORE,
                customer.lang,
                &customer.particulars,
            );
            let at = (self.now)() + self.rng.between(10 * SECOND, 90 * SECOND);
            self.due.push(Due {
                at,
                customer: i,
                text: more,
                reaction: false,
            });
        }
    }

    fn new_customer(&mut self) -> usize {
        let inbox = self.rng.pick(&self.inboxes);
        let lang = if self.rng.chance(self.settings.russian_per_mille) {
            Lang::Ru
        } else {
            Lang::En
        };
        let name = text::person_name(&mut self.rng, lang);
        self.created += 1;
        let external_id = format!("playground-{:08x}-{}", self.run, self.created);
        let particulars = Particulars::draw(&mut self.rng, &name);
        let customer = Customer {
            inbox,
            external_id,
            name,
            lang,
            particulars,
            topic: 0,
            exchange: 0,
            conversation: None,
            answered: false,
        };
        self.remember(customer)
    }

    /// A customer from the history (any conversation of one of the inboxes that is not spam)
    /// who comes back with a new question.
    async fn returning_customer(&mut self) -> Option<usize> {
        let inbox = self.rng.pick(&self.inboxes);
        let query = ConversationQuery {
            inbox: Some(inbox),
            status: None,
            assignee: None,
            waiting: false,
            order: ConversationOrder::Activity,
            cursor: None,
            limit: 100,
        };
        let page = match self.store.conversations(self.workspace, &query).await {
            Ok(page) => page,
            Err(error) => {
                self.failed("listing conversations", &error);
                return None;
            }
        };
        let candidates: Vec<_> = page
            .items
            .iter()
            .filter(|c| c.conversation.status != Status::Spam)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let chosen = candidates[self.rng.below(candidates.len() as u64) as usize];
        if let Some(i) = self
            .customers
            .iter()
            .position(|c| c.conversation == Some(chosen.conversation.id))
        {
            return Some(i);
        }
        let contact = match self
            .store
            .contact(self.workspace, chosen.conversation.contact)
            .await
        {
            Ok(contact) => contact,
            Err(error) => {
                self.failed("reading a contact", &error);
                return None;
            }
        };
        let lang = Lang::of_text(&format!("{} {}", contact.name, chosen.conversation.preview));
        let particulars = Particulars::draw(&mut self.rng, &contact.name);
        let customer = Customer {
            inbox,
            external_id: contact.external_id,
            name: contact.name,
            lang,
            particulars,
            topic: 0,
            exchange: 0,
            conversation: Some(chosen.conversation.id),
            answered: false,
        };
        Some(self.remember(customer))
    }

    fn remember(&mut self, customer: Customer) -> usize {
        if self.customers.len() >= REMEMBERED {
            // Forget the oldest, with what they still meant to say.
            self.customers.remove(0);
            self.due.retain(|d| d.customer != 0);
            for d in &mut self.due {
                d.customer -= 1;
            }
        }
        self.customers.push(customer);
        self.customers.len() - 1
    }

    /// A new question for customer `i`, who now talks about it.
    fn opening(&mut self, i: usize) -> String {
        let topic = self.rng.below(TOPICS.len() as u64) as usize;
        let customer = &mut self.customers[i];
        let exchange =
            self.rng
                .below(TOPICS[topic].exchange_count(customer.lang) as u64) as usize;
        customer.topic = topic;
        customer.exchange = exchange;
        let (question, _) = TOPICS[topic].exchange(customer.lang, exchange);
        customer.particulars.fill(question, customer.lang)
    }

    /// Sends what is due at `t`, the earliest first.
    async fn send_due(&mut self, t: Millis) {
        for _ in 0..PER_TICK {
            let Some(k) = (0..self.due.len())
                .filter(|&k| self.due[k].at <= t)
                .min_by_key(|&k| self.due[k].at)
            else {
                return;
            };
            let due = self.due.swap_remove(k);
            if due.reaction {
                self.stats.reactions += 1;
            }
            self.send(due.customer, due.text, due.reaction).await;
        }
    }

    /// An agent's reply reached a customer: they may answer it after a while.
    async fn hear(&mut self, entry: &OutboxEntry) {
        if entry.workspace != self.workspace || !self.inboxes.contains(&entry.inbox) {
            return;
        }
        let known = self
            .customers
            .iter()
            .position(|c| c.inbox == entry.inbox && c.external_id == entry.contact_external_id);
        let i = match known {
            Some(i) => i,
            None => {
                let name = match self
                    .store
                    .conversation(self.workspace, entry.conversation)
                    .await
                {
                    Ok(summary) => summary.contact_name,
                    Err(error) => {
                        self.failed("reading a conversation", &error);
                        return;
                    }
                };
                let lang = Lang::of_text(&entry.text);
                let particulars = Particulars::draw(&mut self.rng, &name);
                let customer = Customer {
                    inbox: entry.inbox,
                    external_id: entry.contact_external_id.clone(),
                    name,
                    lang,
                    particulars,
                    topic: self.rng.below(TOPICS.len() as u64) as usize,
                    exchange: 0,
                    conversation: Some(entry.conversation),
                    answered: false,
                };
                self.remember(customer)
            }
        };
        let first_answer = !self.customers[i].answered;
        self.customers[i].answered = true;
        if self.due.iter().any(|d| d.reaction && d.customer == i)
            || !self.rng.chance(self.settings.react_per_mille)
        {
            return;
        }
        let customer = &self.customers[i];
        // After the first answer some have another question; otherwise they say thanks.
        let text = if first_answer && self.rng.chance(300) {
            let (question, _) = TOPICS[customer.topic].follow_up(customer.lang, customer.exchange);
            customer.particulars.fill(question, customer.lang)
        } else {
            text::line(
                &mut self.rng,
                &text::THANKS,
                customer.lang,
                &customer.particulars,
            )
        };
        let (lo, hi) = self.settings.react_after;
        let at = (self.now)() + self.rng.between(lo, hi);
        self.due.push(Due {
            at,
            customer: i,
            text,
            reaction: true,
        });
    }

    fn next_message_id(&mut self) -> String {
        self.sent += 1;
        format!("playground-in-{:08x}-{}", self.run, self.sent)
    }

    /// Customer `i` writes `text` now; a new start gets the acknowledgement.
    async fn send(&mut self, i: usize, text: String, reaction: bool) {
        let at = (self.now)();
        let channel_message_id = self.next_message_id();
        let customer = &self.customers[i];
        let incoming = Incoming {
            inbox: customer.inbox,
            contact_external_id: customer.external_id.clone(),
            contact_name: customer.name.clone(),
            channel_message_id,
            at,
            author: Author::Customer,
            text,
            attachments: Vec::new(),
        };
        let (inbox, lang) = (customer.inbox, customer.lang);
        let ingested = match self.store.ingest(self.workspace, &incoming).await {
            Ok(ingested) => ingested,
            Err(error) => {
                self.failed("ingesting a customer message", &error);
                return;
            }
        };
        self.stats.customer_messages += 1;
        let started = match &ingested {
            Ingested::Stored { conversation, .. } => {
                let customer = &mut self.customers[i];
                customer.conversation = Some(conversation.id);
                if !reaction {
                    customer.answered = false;
                }
                conversation.urgency.waiting_since == Some(at)
            }
            Ingested::Duplicate { .. } => false,
        };
        (self.on_ingested)(ingested).await;
        if started && self.settings.acknowledge {
            self.acknowledge(i, inbox, lang, at).await;
        }
    }

    /// The instant acknowledgement of a start at `start`.
    async fn acknowledge(&mut self, i: usize, inbox: InboxId, lang: Lang, start: Millis) {
        let away = match self.store.availability(self.workspace, inbox).await {
            Ok(latest) => latest.is_some_and(|event| match event.fact {
                InboxFact::Availability {
                    availability: Availability::Away { until },
                    ..
                } => start < until.unwrap_or(event.at + 12 * HOUR),
                _ => false,
            }),
            Err(error) => {
                self.failed("reading availability", &error);
                false
            }
        };
        let incoming = Incoming {
            inbox,
            contact_external_id: self.customers[i].external_id.clone(),
            contact_name: self.customers[i].name.clone(),
            channel_message_id: self.next_message_id(),
            at: (self.now)().max(start),
            author: Author::Automation,
            text: text::acknowledgement(lang, away).to_owned(),
            attachments: Vec::new(),
        };
        match self.store.ingest(self.workspace, &incoming).await {
            Ok(ingested) => {
                self.stats.acknowledgements += 1;
                (self.on_ingested)(ingested).await;
            }
            Err(error) => self.failed("ingesting an acknowledgement", &error),
        }
    }

    fn failed(&mut self, what: &str, error: &pronto_core::store::StoreError) {
        self.stats.errors += 1;
        tracing::warn!(%error, "playground customers: {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_core::{ChannelKind, ConversationId, MessageId, OutboxId};

    fn entry() -> OutboxEntry {
        OutboxEntry {
            id: OutboxId(7),
            workspace: WorkspaceId(1),
            inbox: InboxId(2),
            channel: ChannelKind::Playground,
            conversation: ConversationId(3),
            message: MessageId(4),
            contact_external_id: "c".into(),
            text: "Hi!".into(),
            attempts: 1,
            created_at: 10,
        }
    }

    #[test]
    fn a_reply_is_accepted_at_once_with_its_own_id() {
        assert_eq!(
            deliver(&entry(), 99),
            SendOutcome::Accepted {
                channel_message_id: "playground-out-1-7".into(),
                at: 99
            }
        );
    }

    #[tokio::test]
    async fn the_feed_hands_replies_to_the_customers_and_never_blocks() {
        let (feed, mut receiver) = reply_feed();
        assert!(matches!(
            feed.deliver(&entry(), 5),
            SendOutcome::Accepted { at: 5, .. }
        ));
        assert_eq!(receiver.rx.recv().await, Some(entry()));
        for _ in 0..FEED_CAPACITY + 10 {
            feed.heard(&entry());
        }
        drop(receiver);
        feed.heard(&entry());
    }
}
