//! The big workspace (`pronto demo --conversations N`): years of a busy shop's history,
//! planned day by day, pure and deterministic for a seed and an instant, and handed to the
//! store as [`HistoryChunk`]s for [`HistoryLoader::load_history`](pronto_core::history::HistoryLoader).
//!
//! Each conversation is one customer's thread in one inbox. It opens on a day drawn from a
//! growing, weekly-shaped volume, at an hour drawn from the shop's day, and holds a few
//! *episodes* (the customer comes back days or weeks later): a question, often an automatic
//! acknowledgement, the assigned agent's answer after a delay typical of its inbox (next
//! morning when the question came at night), thanks, follow-ups, Done. Some threads are
//! Spam, a few questions go unanswered. The inboxes go Away every night. About ten messages
//! per conversation on average.
//!
//! The rows of a thread are all planned on its first day (the store takes a conversation with
//! its final state); its badge events wait in a queue until their day comes, so that every
//! inbox's log is in time order, with the reopening `open` statuses the store writes when a
//! customer comes back to a Done conversation.

use crate::rng::Rng;
use crate::text::{self, Lang, Particulars, TOPICS};
use pronto_badge::time::{DAY, HOUR, MINUTE, SECOND};
use pronto_badge::{Author, Availability, Millis, Rules, Status};
use pronto_core::conversation::Urgency;
use pronto_core::history::{HistoricConversation, HistoryChunk};
use pronto_core::store::{InboxEvent, InboxFact, preview};
use pronto_core::{
    Contact, ContactId, Conversation, ConversationId, Delivery, InboxId, Message, MessageId,
    UserId, WorkspaceId,
};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The settings of a big workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BigOptions {
    pub conversations: u64,
    /// How far back the history goes.
    pub days: u32,
    pub seed: u64,
}

impl Default for BigOptions {
    fn default() -> Self {
        Self {
            conversations: 1_000_000,
            days: 730,
            seed: 0x5052_4f4e_544f,
        }
    }
}

/// How one inbox of the big workspace behaves.
#[derive(Debug)]
pub struct BigInbox {
    pub name: &'static str,
    pub slug: &'static str,
    /// Share of the conversations, in thousandths.
    pub share: u32,
    /// Episodes that get an automatic acknowledgement, in thousandths.
    acknowledged: u32,
    /// Answer delays in working hours: (weight, from, to).
    delays: &'static [(u32, Millis, Millis)],
}

/// The inboxes, the first one big enough to hold half a million conversations of a million.
pub static BIG_INBOXES: [BigInbox; 4] = [
    BigInbox {
        name: "Messenger · Main page",
        slug: "messenger",
        share: 550,
        acknowledged: 700,
        delays: &[
            (600, MINUTE, 8 * MINUTE),
            (280, 8 * MINUTE, 20 * MINUTE),
            (90, 20 * MINUTE, HOUR),
            (30, HOUR, 5 * HOUR),
        ],
    },
    BigInbox {
        name: "Instagram · @shop",
        slug: "instagram",
        share: 250,
        acknowledged: 700,
        delays: &[
            (500, MINUTE, 10 * MINUTE),
            (300, 10 * MINUTE, 25 * MINUTE),
            (150, 25 * MINUTE, 2 * HOUR),
            (50, 2 * HOUR, 6 * HOUR),
        ],
    },
    BigInbox {
        name: "Email · Marketplace buyers",
        slug: "email",
        share: 120,
        acknowledged: 0,
        delays: &[
            (250, 5 * MINUTE, 15 * MINUTE),
            (400, 15 * MINUTE, HOUR),
            (350, HOUR, 8 * HOUR),
        ],
    },
    BigInbox {
        name: "Web chat · shop site",
        slug: "webchat",
        share: 80,
        acknowledged: 900,
        delays: &[
            (800, 30 * SECOND, 5 * MINUTE),
            (200, 5 * MINUTE, 15 * MINUTE),
        ],
    },
];

/// The shop's team beyond the demo's three agents.
pub(super) static MORE_AGENTS: [(&str, &str); 5] = [
    ("maria@demo.pronto", "Maria Lopez"),
    ("dmitry@demo.pronto", "Dmitry Orlov"),
    ("sofia@demo.pronto", "Sofia Rossi"),
    ("ivan@demo.pronto", "Ivan Petrov"),
    ("emma@demo.pronto", "Emma Clarke"),
];

/// The team's night in UTC (21:00–09:00 at UTC+3): the inboxes are Away, nobody answers.
const NIGHT_FROM: Millis = 18 * HOUR;
const MORNING: Millis = 6 * HOUR;

/// Customers' hours (local, UTC+3), relative weights.
const HOURS: [u32; 24] = [
    10, 5, 3, 2, 2, 3, 8, 20, 40, 60, 70, 75, 80, 80, 75, 75, 70, 70, 75, 80, 75, 60, 40, 20,
];

/// One thing that happens in a thread.
#[derive(Clone, Debug)]
enum Step {
    Message {
        at: Millis,
        author: Author,
        text: String,
        agent: Option<usize>,
    },
    Status {
        at: Millis,
        status: Status,
        agent: usize,
    },
}

impl Step {
    fn at(&self) -> Millis {
        match self {
            Step::Message { at, .. } | Step::Status { at, .. } => *at,
        }
    }
}

/// One conversation, planned.
#[derive(Debug)]
struct Thread {
    inbox: usize,
    name: String,
    agent: Option<usize>,
    steps: Vec<Step>,
}

/// A day's conversations, planned; [`BigHistory::chunk`] turns them into rows once the store
/// has given their ids.
#[derive(Debug)]
pub struct DayPlan {
    day: u32,
    threads: Vec<Thread>,
}

impl DayPlan {
    pub fn conversations(&self) -> usize {
        self.threads.len()
    }

    pub fn messages(&self) -> usize {
        self.threads
            .iter()
            .map(|t| {
                t.steps
                    .iter()
                    .filter(|s| matches!(s, Step::Message { .. }))
                    .count()
            })
            .sum()
    }
}

/// A badge event waiting for its day, ordered by instant, then by when it was planned.
#[derive(Debug)]
struct Pending {
    at: Millis,
    order: u64,
    inbox: usize,
    fact: PendingFact,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

#[derive(Debug)]
enum PendingFact {
    Message(i64, Author),
    Status(i64, Status, Option<usize>),
    Away(Millis),
}

/// The generator: [`BigHistory::plan_day`] then [`BigHistory::chunk`], day after day.
pub struct BigHistory {
    options: BigOptions,
    workspace: WorkspaceId,
    now: Millis,
    first_day: Millis,
    rules: Rules,
    rng: Rng,
    inboxes: Vec<InboxId>,
    agents: Vec<UserId>,
    /// Cumulative volume weights of the days, for spreading the conversations.
    cumulative: Vec<u64>,
    next_day: u32,
    planned: u64,
    pending: BinaryHeap<Reverse<Pending>>,
    order: u64,
    seqs: Vec<i64>,
}

impl BigHistory {
    /// A history of `options.conversations` over `options.days` days ending at `now`, for the
    /// inboxes of [`BIG_INBOXES`] (in that order) and the team's agents.
    pub fn new(
        options: &BigOptions,
        now: Millis,
        workspace: WorkspaceId,
        inboxes: Vec<InboxId>,
        agents: Vec<UserId>,
    ) -> Self {
        assert_eq!(inboxes.len(), BIG_INBOXES.len(), "one inbox per profile");
        assert!(!agents.is_empty(), "a team");
        let days = options.days.max(1);
        let first_day = (now / DAY - i64::from(days) + 1) * DAY;
        // The shop grows (twice the volume at the end) and is quieter on weekends.
        let mut cumulative = Vec::with_capacity(days as usize);
        let mut total = 0u64;
        for d in 0..days {
            let growth = 1000 + 1000 * u64::from(d) / u64::from(days);
            // 1970-01-01 was a Thursday: days 2 and 3 of the week are Saturday and Sunday.
            let weekday = ((first_day / DAY + i64::from(d)) % 7) as u32;
            let weekly = if weekday == 2 || weekday == 3 {
                750
            } else {
                1000
            };
            total += growth * weekly;
            cumulative.push(total);
        }
        Self {
            options: BigOptions {
                days,
                ..options.clone()
            },
            workspace,
            now,
            first_day,
            rules: Rules::default(),
            rng: Rng::new(options.seed),
            seqs: vec![0; inboxes.len()],
            inboxes,
            agents,
            cumulative,
            next_day: 0,
            planned: 0,
            pending: BinaryHeap::new(),
            order: 0,
        }
    }

    pub fn days(&self) -> u32 {
        self.options.days
    }

    /// The next day's conversations, or `None` after the last day.
    pub fn plan_day(&mut self) -> Option<DayPlan> {
        let day = self.next_day;
        if day >= self.options.days {
            return None;
        }
        self.next_day += 1;
        let total = *self.cumulative.last().expect("days");
        let until = u128::from(self.options.conversations)
            * u128::from(self.cumulative[day as usize])
            / u128::from(total);
        let count = until as u64 - self.planned;
        self.planned = until as u64;
        let mut rng = self.rng.fork(u64::from(day));
        let day_start = self.first_day + i64::from(day) * DAY;
        let shares: Vec<u32> = BIG_INBOXES.iter().map(|i| i.share).collect();
        let threads = (0..count)
            .map(|_| {
                let inbox = rng.weighted(&shares);
                self.thread(&mut rng, inbox, day_start)
            })
            .collect();
        Some(DayPlan { day, threads })
    }

    /// A customer's first message: an hour of the shop's day, never after `now`.
    fn opening(&self, rng: &mut Rng, day_start: Millis) -> Millis {
        let local = rng.weighted(&HOURS) as i64;
        let hour = (local + 24 - 3) % 24;
        let at = day_start + hour * HOUR + rng.between(0, HOUR - 1);
        if at < self.now {
            at
        } else {
            day_start + rng.between(0, (self.now - day_start - 1).max(0))
        }
    }

    fn is_night(at: Millis) -> bool {
        let time = at.rem_euclid(DAY);
        !(MORNING..NIGHT_FROM).contains(&time)
    }

    /// When an answer `delay` after `at` comes: in working hours, or the next morning.
    fn answer_time(rng: &mut Rng, at: Millis, delay: Millis) -> Millis {
        let answered = at + delay;
        if !Self::is_night(at) && !Self::is_night(answered) {
            return answered;
        }
        let day = at.div_euclid(DAY) * DAY;
        let morning = if at - day < MORNING {
            day + MORNING
        } else {
            day + DAY + MORNING
        };
        morning + rng.between(MINUTE, 45 * MINUTE)
    }

    fn thread(&self, rng: &mut Rng, inbox: usize, day_start: Millis) -> Thread {
        let profile = &BIG_INBOXES[inbox];
        let lang = if rng.chance(600) { Lang::Ru } else { Lang::En };
        let name = text::person_name(rng, lang);
        let mut steps = Vec::new();
        let mut at = self.opening(rng, day_start);
        if rng.chance(20) {
            let agent = rng.below(self.agents.len() as u64) as usize;
            steps.push(Step::Message {
                at,
                author: Author::Customer,
                text: rng.pick(text::SPAM).to_owned(),
                agent: None,
            });
            let marked = at + rng.between(5 * MINUTE, 2 * HOUR);
            if marked < self.now {
                steps.push(Step::Status {
                    at: marked,
                    status: Status::Spam,
                    agent,
                });
            }
            return Thread {
                inbox,
                name,
                agent: None,
                steps,
            };
        }
        let agent = rng.below(self.agents.len() as u64) as usize;
        let mut answered_once = false;
        for episode in 0..15 {
            if episode > 0 {
                if !rng.chance(620) {
                    break;
                }
                at += DAY + rng.between(0, 30 * DAY) + rng.between(0, 30 * DAY);
                let day = at.div_euclid(DAY) * DAY;
                at = self.opening(rng, day);
                if day >= self.now {
                    break;
                }
            }
            let end = self.episode(rng, profile, lang, &name, agent, at, &mut steps);
            answered_once |= end.1;
            at = end.0;
        }
        steps.retain(|s| s.at() <= self.now);
        steps.sort_by_key(Step::at);
        Thread {
            inbox,
            name,
            agent: answered_once.then_some(agent),
            steps,
        }
    }

    /// One episode from the customer's question at `at`; returns when it ended and whether
    /// the agent answered.
    #[allow(clippy::too_many_arguments)]
    fn episode(
        &self,
        rng: &mut Rng,
        profile: &BigInbox,
        lang: Lang,
        name: &str,
        agent: usize,
        at: Millis,
        steps: &mut Vec<Step>,
    ) -> (Millis, bool) {
        let topic = &TOPICS[rng.below(TOPICS.len() as u64) as usize];
        let particulars = Particulars::draw(rng, name);
        let (question, answer) = topic.exchange(lang, rng.below(64) as usize);
        let customer = |at, text: String| Step::Message {
            at,
            author: Author::Customer,
            text,
            agent: None,
        };
        let reply = |at, text: String| Step::Message {
            at,
            author: Author::Agent,
            text,
            agent: Some(agent),
        };
        steps.push(customer(at, particulars.fill(question, lang)));
        let mut last = at;
        if rng.chance(300) {
            last += rng.between(20 * SECOND, 3 * MINUTE);
            steps.push(customer(
                last,
                text::line(rng, &text::MORE, lang, &particulars),
            ));
        }
        if rng.chance(profile.acknowledged) {
            steps.push(Step::Message {
                at: at + rng.between(2 * SECOND, 20 * SECOND),
                author: Author::Automation,
                text: text::acknowledgement(lang, Self::is_night(at)).to_owned(),
                agent: None,
            });
        }
        if rng.chance(30) {
            // Never answered: the customer waits (or gave up).
            return (last, false);
        }
        let (_, from, to) = profile.delays[rng.weighted(
            &profile
                .delays
                .iter()
                .map(|(weight, _, _)| *weight)
                .collect::<Vec<_>>(),
        )];
        let delay = rng.between(from, to);
        let answered = Self::answer_time(rng, last, delay);
        steps.push(reply(answered, particulars.fill(answer, lang)));
        let mut end = answered;
        if rng.chance(300) {
            let (more, more_answer) = topic.follow_up(lang, rng.below(64) as usize);
            let asked = answered + rng.between(2 * MINUTE, HOUR);
            steps.push(customer(asked, particulars.fill(more, lang)));
            let delay = rng.between(from, to);
            end = Self::answer_time(rng, asked, delay);
            steps.push(reply(end, particulars.fill(more_answer, lang)));
        }
        if rng.chance(500) {
            end += rng.between(MINUTE, 30 * MINUTE);
            steps.push(customer(
                end,
                text::line(rng, &text::THANKS, lang, &particulars),
            ));
            if rng.chance(400) {
                end += rng.between(MINUTE, 10 * MINUTE);
                steps.push(reply(
                    end,
                    text::line(rng, &text::CLOSERS, lang, &particulars),
                ));
            }
        }
        if rng.chance(800) {
            end += rng.between(MINUTE, 30 * MINUTE);
            steps.push(Step::Status {
                at: end,
                status: Status::Done,
                agent,
            });
        }
        (end, true)
    }

    /// The rows of a planned day, with the ids the store gave (as many as the plan counts),
    /// and the badge events of every inbox up to the end of that day.
    pub fn chunk(
        &mut self,
        plan: DayPlan,
        contact_ids: &[i64],
        conversation_ids: &[i64],
        message_ids: &[i64],
    ) -> HistoryChunk {
        let mut chunk = HistoryChunk::default();
        let mut message_ids = message_ids.iter().copied();
        for ((thread, &contact), &conversation) in
            plan.threads.iter().zip(contact_ids).zip(conversation_ids)
        {
            self.thread_rows(
                thread,
                ContactId(contact),
                ConversationId(conversation),
                &mut message_ids,
                &mut chunk,
            );
        }
        let day_start = self.first_day + i64::from(plan.day) * DAY;
        for inbox in 0..self.inboxes.len() {
            let away = day_start + NIGHT_FROM;
            if away <= self.now {
                self.queue(away, inbox, PendingFact::Away(away + 12 * HOUR));
            }
        }
        let day_end = if plan.day + 1 == self.options.days {
            Millis::MAX
        } else {
            day_start + DAY
        };
        while let Some(Reverse(next)) = self.pending.peek()
            && next.at < day_end
        {
            let Reverse(next) = self.pending.pop().expect("peeked");
            self.seqs[next.inbox] += 1;
            let fact = match next.fact {
                PendingFact::Message(c, author) => InboxFact::Message {
                    conversation: ConversationId(c),
                    author,
                },
                PendingFact::Status(c, status, agent) => InboxFact::Status {
                    conversation: ConversationId(c),
                    status,
                    by: agent.map(|a| self.agents[a]),
                },
                PendingFact::Away(until) => InboxFact::Availability {
                    availability: Availability::Away { until: Some(until) },
                    by: None,
                },
            };
            chunk.events.push(InboxEvent {
                inbox: self.inboxes[next.inbox],
                seq: self.seqs[next.inbox],
                at: next.at,
                fact,
            });
        }
        chunk
    }

    fn queue(&mut self, at: Millis, inbox: usize, fact: PendingFact) {
        self.order += 1;
        self.pending.push(Reverse(Pending {
            at,
            order: self.order,
            inbox,
            fact,
        }));
    }

    fn thread_rows(
        &mut self,
        thread: &Thread,
        contact: ContactId,
        conversation: ConversationId,
        message_ids: &mut impl Iterator<Item = i64>,
        chunk: &mut HistoryChunk,
    ) {
        let inbox = self.inboxes[thread.inbox];
        let mut urgency = Urgency::default();
        let mut status = Status::Open;
        let mut status_at: Option<Millis> = None;
        let (mut last_activity, mut last_text) = (0, "");
        for step in &thread.steps {
            match step {
                Step::Message {
                    at,
                    author,
                    text,
                    agent,
                } => {
                    let id = message_ids.next().expect("an id for every planned message");
                    let agent = agent.map(|a| self.agents[a]);
                    chunk.messages.push((
                        inbox,
                        Message {
                            id: MessageId(id),
                            workspace: self.workspace,
                            conversation,
                            author: *author,
                            agent,
                            channel_message_id: Some(format!("big-{id:012}")),
                            at: *at,
                            text: text.clone(),
                            attachments: Vec::new(),
                            delivery: if *author == Author::Agent {
                                Delivery::Sent
                            } else {
                                Delivery::Received
                            },
                        },
                    ));
                    self.queue(
                        *at,
                        thread.inbox,
                        PendingFact::Message(conversation.0, *author),
                    );
                    if *author != Author::Automation {
                        urgency.on_message(*author, *at, &self.rules);
                    }
                    if *author == Author::Customer && status == Status::Done {
                        // As the store does: reopened just after the message.
                        let reopened = status_at.map_or(*at, |s| s.max(*at));
                        status = Status::Open;
                        status_at = Some(reopened);
                        self.queue(
                            reopened,
                            thread.inbox,
                            PendingFact::Status(conversation.0, Status::Open, None),
                        );
                    }
                    if *at >= last_activity {
                        last_activity = *at;
                        last_text = text;
                    }
                }
                Step::Status {
                    at,
                    status: next,
                    agent,
                } => {
                    status = *next;
                    status_at = Some(*at);
                    self.queue(
                        *at,
                        thread.inbox,
                        PendingFact::Status(conversation.0, *next, Some(*agent)),
                    );
                }
            }
        }
        chunk.contacts.push(Contact {
            id: contact,
            workspace: self.workspace,
            inbox,
            external_id: format!("big-{:012}", contact.0),
            name: thread.name.clone(),
        });
        chunk.conversations.push(HistoricConversation {
            conversation: Conversation {
                id: conversation,
                workspace: self.workspace,
                inbox,
                contact,
                status,
                assignee: thread.agent.map(|a| self.agents[a]),
                urgency,
                last_activity_at: last_activity,
                preview: preview(last_text),
            },
            status_at,
        });
    }
}
