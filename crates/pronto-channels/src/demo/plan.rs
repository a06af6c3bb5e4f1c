//! The demo's history, planned in memory before anything is written: pure and deterministic
//! for a seed and an instant.
//!
//! Each contact of an inbox has one or more *episodes* (a question, the acknowledgement, maybe
//! an answer, thanks, a follow-up, Done...), days apart so that each one is a new start. The
//! plan is turned into the inbox's badge log exactly as the store will record it (the reopening
//! `open` status included), and the badge engine evaluates it at `now`; the answer delays and
//! which starts go unanswered are then tuned until each inbox's figures land where its profile
//! wants them (holding the badge comfortably, just losing it...).

use crate::rng::Rng;
use crate::text::{self, Lang, Particulars, TOPICS};
use pronto_badge::time::{DAY, HOUR, MINUTE, SECOND};
use pronto_badge::{
    Author, Availability, AvailabilityEvent, ConversationEvent, ConversationId, Fact, Figures, Log,
    Millis, Rules, Start, Status, evaluate,
};
use std::collections::HashMap;

/// Where an inbox's badge stands at the end of the demo's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Standing {
    /// Well within both thresholds.
    HoldsComfortably,
    /// Holds it, with less room.
    Holds,
    /// Just over a threshold: the response time is a little more than 15 minutes.
    JustLosing,
}

/// How one inbox's team and customers behave.
#[derive(Debug)]
pub(crate) struct Profile {
    pub name: &'static str,
    pub slug: &'static str,
    pub standing: Standing,
    /// Share of the conversations, in thousandths.
    pub share: u32,
    pub russian: u32,
    pub spam: u32,
    /// Working hours, local.
    pub open_hour: i64,
    pub close_hour: i64,
    pub nights: Nights,
    /// Nights the scheduled Away was forgotten.
    pub forgotten_nights: u32,
    /// Daytime meetings: a manual Away, then Available an hour later.
    pub meetings: u32,
    /// One afternoon a manual Away is never reset by hand (it ends by itself after 12 hours).
    pub left_away: bool,
    /// Answer delays in working hours: (weight, from, to).
    pub delays: &'static [(u32, Millis, Millis)],
    /// Starts never answered, and starts moved to Done without an answer, in thousandths.
    pub unanswered: u32,
    pub dismissed: u32,
    /// The figures to reach: response rate in thousandths, response time in milliseconds,
    /// both inclusive.
    pub rate: (u64, u64),
    pub time: (Millis, Millis),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nights {
    /// An Away with `until` every night, from closing to opening.
    Scheduled,
    /// Someone sets Away by hand at closing; it resets by itself 12 hours later.
    ManualReset,
}

pub(crate) static PROFILES: [Profile; 3] = [
    Profile {
        name: "Messenger — Pronto Shop",
        slug: "messenger",
        standing: Standing::HoldsComfortably,
        share: 500,
        russian: 420,
        spam: 15,
        open_hour: 8,
        close_hour: 21,
        nights: Nights::Scheduled,
        forgotten_nights: 0,
        meetings: 0,
        left_away: true,
        delays: &[
            (560, 15 * SECOND, 3 * MINUTE),
            (300, 3 * MINUTE, 10 * MINUTE),
            (100, 10 * MINUTE, 30 * MINUTE),
            (40, 30 * MINUTE, 3 * HOUR),
        ],
        unanswered: 25,
        dismissed: 30,
        rate: (955, 985),
        time: (150 * SECOND, 330 * SECOND),
    },
    Profile {
        name: "Instagram — @prontoshop",
        slug: "instagram",
        standing: Standing::JustLosing,
        share: 320,
        russian: 500,
        spam: 40,
        open_hour: 8,
        close_hour: 21,
        nights: Nights::Scheduled,
        forgotten_nights: 3,
        meetings: 6,
        left_away: false,
        delays: &[
            (300, 30 * SECOND, 5 * MINUTE),
            (300, 5 * MINUTE, 15 * MINUTE),
            (220, 15 * MINUTE, 35 * MINUTE),
            (120, 35 * MINUTE, 90 * MINUTE),
            (60, 90 * MINUTE, 5 * HOUR),
        ],
        unanswered: 70,
        dismissed: 40,
        rate: (910, 935),
        time: (905 * SECOND, 960 * SECOND),
    },
    Profile {
        name: "Web chat",
        slug: "webchat",
        standing: Standing::Holds,
        share: 180,
        russian: 380,
        spam: 10,
        open_hour: 8,
        close_hour: 19,
        nights: Nights::ManualReset,
        forgotten_nights: 0,
        meetings: 2,
        left_away: false,
        delays: &[
            (450, 20 * SECOND, 4 * MINUTE),
            (330, 4 * MINUTE, 12 * MINUTE),
            (160, 12 * MINUTE, 30 * MINUTE),
            (60, 30 * MINUTE, 2 * HOUR),
        ],
        unanswered: 45,
        dismissed: 30,
        rate: (920, 960),
        time: (420 * SECOND, 660 * SECOND),
    },
];

/// The demo's agents, in the order of [`Plan::agents`]: (email, name, admin).
pub(crate) static AGENTS: [(&str, &str, bool); 3] = [
    ("anna@demo.pronto", "Anna Kovalenko", true),
    ("james@demo.pronto", "James Whitfield", false),
    ("olga@demo.pronto", "Olga Smirnova", false),
];

/// The settings of a demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOptions {
    /// The same seed and `now` give the same demo.
    pub seed: u64,
    /// How many conversations (one per contact) the history holds.
    pub conversations: usize,
    /// How far back the history goes.
    pub days: u32,
    /// The shop's local time, as an offset from UTC: working hours and nights follow it.
    pub utc_offset: Millis,
    /// How many conversations are written at once (the store batches concurrent writes).
    pub concurrency: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 2026,
            conversations: 3_000,
            days: 45,
            utc_offset: HOUR,
            concurrency: 128,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    Answered,
    /// Never answered, left open.
    Unanswered,
    /// Moved to Done without an answer.
    Dismissed,
    /// A spam message, marked Spam.
    Spam,
    /// A start of the last minutes, still waiting at `now`.
    Waiting,
}

#[derive(Clone, Debug)]
pub(crate) struct FollowUp {
    pub after: Millis,
    pub question: String,
    pub answer_after: Millis,
    pub answer: String,
}

/// One exchange of a contact: a new start and what follows it.
#[derive(Clone, Debug)]
pub(crate) struct Episode {
    pub start: Millis,
    pub fate: Fate,
    pub question: String,
    pub answer: String,
    pub ack_after: Millis,
    pub more: Option<(Millis, String)>,
    pub nudge: Option<(Millis, String)>,
    /// The answer delay in working hours, before the inbox's tuning factor.
    pub delay: Millis,
    /// The answer delay after opening, for a start outside working hours.
    pub morning: Millis,
    /// How long the agent's reply takes to reach the channel after they press Send.
    pub typing: Millis,
    pub agent_roll: u64,
    pub follow_up: Option<FollowUp>,
    pub thanks: Option<(Millis, String)>,
    pub closer: Option<(Millis, String)>,
    /// Done this long after the last message (answered episodes), or after the start
    /// (dismissed and spam ones, in working hours).
    pub status_after: Option<Millis>,
}

#[derive(Clone, Debug)]
pub(crate) struct ContactPlan {
    pub external_id: String,
    pub name: String,
    pub lang: Lang,
    pub episodes: Vec<Episode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PlannedAvailability {
    pub at: Millis,
    pub availability: Availability,
    /// The agent who set it; `None` for the schedule.
    pub by: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct InboxPlan {
    pub profile: &'static Profile,
    pub availability: Vec<PlannedAvailability>,
    pub contacts: Vec<ContactPlan>,
    /// The tuning factor of answer delays in working hours, in thousandths.
    pub factor: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub now: Millis,
    pub utc_offset: Millis,
    pub inboxes: Vec<InboxPlan>,
    /// Each inbox's figures at `now`, by the engine over the planned log.
    pub figures: Vec<Figures>,
}

/// What a step of a contact's timeline does in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepKind {
    Customer,
    Automation,
    /// A reply sent by `agent` at `created`, accepted by the channel at the step's instant.
    Agent {
        agent: usize,
        created: Millis,
    },
    Status {
        status: Status,
        agent: usize,
    },
    /// The `open` status event the store records when a customer writes on a Done
    /// conversation (not written: the store does it).
    Reopen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step<'a> {
    pub at: Millis,
    pub kind: StepKind,
    pub text: &'a str,
}

/// The longest an answer may take; with episodes at least three days apart, every episode is
/// over (answer, follow-ups, Done) more than 24 hours before the next one starts.
const LONGEST_ANSWER: Millis = 20 * HOUR;
const EPISODE_GAP_DAYS: (i64, i64) = (3, 14);

/// Customers write by the hour of the day (local): quiet nights, busy lunchtimes and evenings.
const HOUR_WEIGHTS: [u32; 24] = [
    2, 1, 1, 1, 1, 1, 2, 4, 6, 8, 10, 11, 12, 11, 10, 10, 10, 10, 11, 12, 12, 10, 7, 4,
];

struct Clock {
    offset: Millis,
}

impl Clock {
    fn day_of(&self, at: Millis) -> i64 {
        (at + self.offset).div_euclid(DAY)
    }

    fn hour_of(&self, at: Millis) -> i64 {
        (at + self.offset).rem_euclid(DAY) / HOUR
    }

    /// The instant of local `hour` on local day `day`.
    fn at(&self, day: i64, hour: i64) -> Millis {
        day * DAY + hour * HOUR - self.offset
    }

    fn in_hours(&self, at: Millis, p: &Profile) -> bool {
        (p.open_hour..p.close_hour).contains(&self.hour_of(at))
    }

    /// The next opening at or after `at` (now, if within working hours).
    fn next_opening(&self, at: Millis, p: &Profile) -> Millis {
        if self.in_hours(at, p) {
            return at;
        }
        let day = self.day_of(at);
        if self.hour_of(at) < p.open_hour {
            self.at(day, p.open_hour)
        } else {
            self.at(day + 1, p.open_hour)
        }
    }
}

/// An instant that is never a whole minute: availability changes are, so no start ever ties
/// with one (the contract orders ties by line, and lines differ between the plan and the store).
fn off_minute(at: Millis) -> Millis {
    if at.rem_euclid(MINUTE) == 0 {
        at + 1
    } else {
        at
    }
}

/// Whether the inbox is away at `at`: rule 4 over the availability changes before it.
struct AwayCheck<'a> {
    events: &'a [PlannedAvailability],
    reset: Millis,
}

impl AwayCheck<'_> {
    fn away_at(&self, at: Millis) -> bool {
        let before = self.events.partition_point(|e| e.at < at);
        match before.checked_sub(1).map(|i| self.events[i]) {
            Some(PlannedAvailability {
                at: a,
                availability: Availability::Away { until },
                ..
            }) => at < until.unwrap_or(a + self.reset),
            _ => false,
        }
    }
}

/// Which agent answers, by the hour and the customer's language: Anna and Olga in the
/// morning, James in the evening; Olga and Anna take most Russian conversations.
fn agent_for(roll: u64, hour: i64, lang: Lang) -> usize {
    let by_hour: [u32; 3] = if hour < 14 { [4, 1, 4] } else { [1, 4, 3] };
    let by_lang: [u32; 3] = match lang {
        Lang::En => [3, 5, 2],
        Lang::Ru => [4, 1, 5],
    };
    let weights = [
        by_hour[0] * by_lang[0],
        by_hour[1] * by_lang[1],
        by_hour[2] * by_lang[2],
    ];
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    let mut r = roll % total;
    for (i, w) in weights.iter().enumerate() {
        if r < u64::from(*w) {
            return i;
        }
        r -= u64::from(*w);
    }
    0
}

impl Plan {
    /// Plans the whole demo and tunes each inbox to its profile.
    pub fn new(options: &DemoOptions, now: Millis, rules: &Rules) -> Plan {
        let mut rng = Rng::new(options.seed);
        let clock = Clock {
            offset: options.utc_offset,
        };
        let total = options.conversations.max(PROFILES.len());
        let mut inboxes: Vec<InboxPlan> = PROFILES
            .iter()
            .enumerate()
            .map(|(i, profile)| {
                let mut r = rng.fork(i as u64);
                InboxPlan {
                    profile,
                    availability: plan_availability(&mut r, profile, &clock, now, options.days),
                    contacts: Vec::new(),
                    factor: 1000,
                }
            })
            .collect();
        let shares: Vec<u32> = PROFILES.iter().map(|p| p.share).collect();
        // A few customers are waiting right now, so that the demo opens on work to do.
        let waiting = [0, 1, 0, 2, 1];
        let mut contacts_rng = rng.fork(100);
        for n in 0..total {
            let (inbox, fresh) = match waiting.get(n) {
                Some(&i) if total > 2 * waiting.len() => (i, true),
                _ => (contacts_rng.weighted(&shares), false),
            };
            let plan = &mut inboxes[inbox];
            let index = plan.contacts.len();
            let mut r = contacts_rng.fork(n as u64);
            let contact = plan_contact(
                &mut r,
                plan.profile,
                &clock,
                now,
                options.days,
                index,
                fresh,
            );
            plan.contacts.push(contact);
        }
        let mut tuning = rng.fork(200);
        let figures = inboxes
            .iter_mut()
            .map(|inbox| inbox.tune(&mut tuning, &clock, now, rules))
            .collect();
        Plan {
            now,
            utc_offset: options.utc_offset,
            inboxes,
            figures,
        }
    }

    /// Every contact's timeline as the store will record it, up to `now`.
    pub fn timelines(&self, inbox: usize, rules: &Rules) -> Vec<Vec<Step<'_>>> {
        let clock = Clock {
            offset: self.utc_offset,
        };
        let plan = &self.inboxes[inbox];
        plan.contacts
            .iter()
            .map(|c| plan.timeline(c, plan.factor, &clock, self.now, rules).0)
            .collect()
    }
}

fn plan_availability(
    rng: &mut Rng,
    p: &Profile,
    clock: &Clock,
    now: Millis,
    days: u32,
) -> Vec<PlannedAvailability> {
    let today = clock.day_of(now);
    let first = today - i64::from(days) - 1;
    let forgotten: Vec<i64> = (0..p.forgotten_nights)
        .map(|_| today - rng.between(2, 28))
        .collect();
    let meetings: Vec<i64> = (0..p.meetings)
        .map(|_| today - rng.between(1, 40))
        .collect();
    let left_away = p.left_away.then(|| today - rng.between(8, 16));
    let mut events = Vec::new();
    for day in first..=today {
        if meetings.contains(&day) {
            let at = clock.at(day, 13) + rng.between(0, 20) * MINUTE;
            let by = Some(rng.below(3) as usize);
            events.push(PlannedAvailability {
                at,
                availability: Availability::Away { until: None },
                by,
            });
            let back = at + rng.between(45, 75) * MINUTE;
            events.push(PlannedAvailability {
                at: back,
                availability: Availability::Available,
                by,
            });
        }
        if left_away == Some(day) {
            let at = clock.at(day, 15) + rng.between(0, 30) * MINUTE;
            let by = Some(0);
            events.push(PlannedAvailability {
                at,
                availability: Availability::Away { until: None },
                by,
            });
        }
        match p.nights {
            Nights::Scheduled if !forgotten.contains(&day) => events.push(PlannedAvailability {
                at: clock.at(day, p.close_hour),
                availability: Availability::Away {
                    until: Some(clock.at(day + 1, p.open_hour)),
                },
                by: None,
            }),
            Nights::Scheduled => {}
            Nights::ManualReset => events.push(PlannedAvailability {
                at: clock.at(day, p.close_hour) - rng.between(1, 5) * MINUTE,
                availability: Availability::Away { until: None },
                by: Some(if rng.chance(500) { 1 } else { 2 }),
            }),
        }
    }
    events.retain(|e| e.at <= now);
    events.sort_by_key(|e| e.at);
    events
}

/// A start time: a day of the history, an hour by the customers' habits.
fn draw_start(rng: &mut Rng, clock: &Clock, from: Millis, to: Millis) -> Millis {
    if to <= from {
        return to;
    }
    for _ in 0..100 {
        let day = rng.between(clock.day_of(from), clock.day_of(to));
        let hour = rng.weighted(&HOUR_WEIGHTS) as i64;
        let at = clock.at(day, hour) + rng.between(0, HOUR - 1);
        if (from..=to).contains(&at) {
            return at;
        }
    }
    rng.between(from, to)
}

fn plan_contact(
    rng: &mut Rng,
    p: &'static Profile,
    clock: &Clock,
    now: Millis,
    days: u32,
    index: usize,
    fresh: bool,
) -> ContactPlan {
    let lang = if rng.chance(p.russian) {
        Lang::Ru
    } else {
        Lang::En
    };
    let name = text::person_name(rng, lang);
    let spam = !fresh && rng.chance(p.spam);
    let latest = now - 10 * MINUTE;
    let mut starts = vec![if fresh {
        now - rng.between(2 * MINUTE, 35 * MINUTE)
    } else {
        draw_start(rng, clock, now - i64::from(days) * DAY, latest)
    }];
    if !spam && !fresh {
        let comebacks = if rng.chance(280) {
            1 + usize::from(rng.chance(300))
        } else {
            0
        };
        for _ in 0..comebacks {
            let last = *starts.last().unwrap_or(&now);
            let gap = rng.between(EPISODE_GAP_DAYS.0, EPISODE_GAP_DAYS.1) * DAY;
            let hour = rng.weighted(&HOUR_WEIGHTS) as i64;
            let at = clock.at(clock.day_of(last + gap), hour) + rng.between(0, HOUR - 1);
            if at - last >= EPISODE_GAP_DAYS.0 * DAY && at <= latest {
                starts.push(at);
            }
        }
    }
    let episodes = starts
        .into_iter()
        .map(|start| {
            let fate = if fresh {
                Fate::Waiting
            } else if spam {
                Fate::Spam
            } else {
                match rng.below(1000) as u32 {
                    r if r < p.unanswered => Fate::Unanswered,
                    r if r < p.unanswered + p.dismissed => Fate::Dismissed,
                    _ => Fate::Answered,
                }
            };
            plan_episode(rng, p, lang, &name, start, fate)
        })
        .collect();
    ContactPlan {
        external_id: format!("demo-{}-{index:04}", p.slug),
        name,
        lang,
        episodes,
    }
}

fn plan_episode(
    rng: &mut Rng,
    p: &Profile,
    lang: Lang,
    name: &str,
    start: Millis,
    fate: Fate,
) -> Episode {
    let particulars = Particulars::draw(rng, name);
    let topic = &TOPICS[rng.below(TOPICS.len() as u64) as usize];
    let exchange = rng.below(topic.exchange_count(lang) as u64) as usize;
    let (question, answer) = topic.exchange(lang, exchange);
    let (question, answer) = if fate == Fate::Spam {
        (rng.pick(text::SPAM).to_string(), String::new())
    } else {
        (
            particulars.fill(question, lang),
            particulars.fill(answer, lang),
        )
    };
    let weights: Vec<u32> = p.delays.iter().map(|d| d.0).collect();
    let (_, lo, hi) = p.delays[rng.weighted(&weights)];
    let delay = rng.between(lo, hi);
    let more = rng.chance(180).then(|| {
        (
            rng.between(15 * SECOND, 3 * MINUTE),
            text::line(rng, &text::MORE, lang, &particulars),
        )
    });
    let nudge = rng.chance(400).then(|| {
        (
            rng.between(25 * MINUTE, 4 * HOUR),
            text::line(rng, &text::NUDGES, lang, &particulars),
        )
    });
    let follow_up = rng.chance(220).then(|| {
        let (q, a) = topic.follow_up(lang, rng.below(8) as usize);
        FollowUp {
            after: rng.between(MINUTE, 25 * MINUTE),
            question: particulars.fill(q, lang),
            answer_after: rng.between(40 * SECOND, 12 * MINUTE),
            answer: particulars.fill(a, lang),
        }
    });
    let thanks = rng.chance(520).then(|| {
        (
            rng.between(30 * SECOND, 15 * MINUTE),
            text::line(rng, &text::THANKS, lang, &particulars),
        )
    });
    let closer = (thanks.is_some() && rng.chance(400)).then(|| {
        (
            rng.between(20 * SECOND, 5 * MINUTE),
            text::line(rng, &text::CLOSERS, lang, &particulars),
        )
    });
    let status_after = match fate {
        Fate::Answered => rng
            .chance(550)
            .then(|| rng.between(2 * MINUTE, 90 * MINUTE)),
        Fate::Dismissed => Some(rng.between(HOUR, 8 * HOUR)),
        Fate::Spam => Some(rng.between(3 * MINUTE, 2 * HOUR)),
        Fate::Unanswered | Fate::Waiting => None,
    };
    Episode {
        start,
        fate,
        question,
        answer,
        ack_after: rng.between(400, 3 * SECOND),
        more,
        nudge,
        delay,
        morning: rng.between(5 * MINUTE, 80 * MINUTE),
        typing: rng.between(300, 3 * SECOND),
        agent_roll: rng.next_u64(),
        follow_up,
        thanks,
        closer,
        status_after,
    }
}

/// Builds a contact's timeline: steps strictly after each other, none after `now`.
struct Timeline<'a> {
    steps: Vec<Step<'a>>,
    last: Millis,
    now: Millis,
    /// A step would have been after `now`: the timeline ends there.
    stopped: bool,
    done: bool,
    /// The contract's instant of each episode's start, for the ones that happened.
    starts: Vec<Millis>,
}

impl<'a> Timeline<'a> {
    /// Adds a step no earlier than just after the previous one; `false` once past `now`.
    fn push(&mut self, at: Millis, kind: StepKind, text: &'a str) -> Option<Millis> {
        let at = off_minute(at.max(self.last + 1));
        if self.stopped || at > self.now {
            self.stopped = true;
            return None;
        }
        let reopens = kind == StepKind::Customer && self.done;
        if let StepKind::Status { status, .. } = kind {
            self.done = status == Status::Done;
        }
        self.steps.push(Step { at, kind, text });
        if reopens {
            // As the store records it: the `open` goes just after the message, in its segment.
            self.steps.push(Step {
                at,
                kind: StepKind::Reopen,
                text: "",
            });
            self.done = false;
        }
        self.last = at;
        Some(at)
    }
}

impl InboxPlan {
    /// A contact's timeline with the answer delays scaled by `factor` thousandths, and the
    /// instants of the starts it holds.
    fn timeline<'a>(
        &self,
        contact: &'a ContactPlan,
        factor: i64,
        clock: &Clock,
        now: Millis,
        rules: &Rules,
    ) -> (Vec<Step<'a>>, Vec<Millis>) {
        let p = self.profile;
        let away = AwayCheck {
            events: &self.availability,
            reset: rules.away_reset,
        };
        let lang = contact.lang;
        let mut t = Timeline {
            steps: Vec::new(),
            last: Millis::MIN / 2,
            now,
            stopped: false,
            done: false,
            starts: Vec::new(),
        };
        for e in &contact.episodes {
            let Some(start) = t.push(e.start, StepKind::Customer, &e.question) else {
                break;
            };
            t.starts.push(start);
            let ack = text::acknowledgement(lang, away.away_at(start));
            if t.push(start + e.ack_after, StepKind::Automation, ack)
                .is_none()
            {
                break;
            }
            if let Some((after, more)) = &e.more {
                t.push(start + after, StepKind::Customer, more);
            }
            let working = |at: Millis| {
                if clock.in_hours(at, p) {
                    at
                } else {
                    clock.next_opening(at, p) + e.morning / 4
                }
            };
            match e.fate {
                Fate::Waiting => {}
                Fate::Spam | Fate::Dismissed => {
                    if let (Fate::Dismissed, Some((after, nudge))) = (e.fate, &e.nudge) {
                        t.push(start + after, StepKind::Customer, nudge);
                    }
                    let status = if e.fate == Fate::Spam {
                        Status::Spam
                    } else {
                        Status::Done
                    };
                    let at = working(start + e.status_after.unwrap_or(HOUR));
                    let agent = agent_for(e.agent_roll, clock.hour_of(at), lang);
                    t.push(at, StepKind::Status { status, agent }, "");
                }
                Fate::Unanswered => {
                    if let Some((after, nudge)) = &e.nudge {
                        t.push(start + after, StepKind::Customer, nudge);
                    }
                }
                Fate::Answered => {
                    let planned = if clock.in_hours(start, p) {
                        start + e.delay * factor / 1000
                    } else {
                        clock.next_opening(start, p) + e.morning
                    };
                    let reply = planned.min(start + LONGEST_ANSWER);
                    if let Some((after, nudge)) = &e.nudge
                        && start + after < reply - MINUTE
                    {
                        t.push(start + after, StepKind::Customer, nudge);
                    }
                    let agent = agent_for(e.agent_roll, clock.hour_of(reply), lang);
                    let reply = reply.max(t.last + e.typing + 2);
                    let created = reply - e.typing;
                    if t.push(reply, StepKind::Agent { agent, created }, &e.answer)
                        .is_none()
                    {
                        break;
                    }
                    if let Some(f) = &e.follow_up {
                        t.push(t.last + f.after, StepKind::Customer, &f.question);
                        let at = t.last + f.answer_after + e.typing;
                        t.push(
                            at,
                            StepKind::Agent {
                                agent,
                                created: at - e.typing,
                            },
                            &f.answer,
                        );
                    }
                    if let Some((after, thanks)) = &e.thanks {
                        t.push(t.last + after, StepKind::Customer, thanks);
                        if let Some((after, closer)) = &e.closer {
                            let at = t.last + after + e.typing;
                            t.push(
                                at,
                                StepKind::Agent {
                                    agent,
                                    created: at - e.typing,
                                },
                                closer,
                            );
                        }
                    }
                    if let Some(after) = e.status_after {
                        t.push(
                            t.last + after,
                            StepKind::Status {
                                status: Status::Done,
                                agent,
                            },
                            "",
                        );
                    }
                }
            }
            if t.stopped {
                break;
            }
        }
        (t.steps, t.starts)
    }

    /// The inbox's badge log at `factor`, as the store will hold it; with, for each start
    /// instant, the (contact, episode) it belongs to.
    fn log(
        &self,
        factor: i64,
        clock: &Clock,
        now: Millis,
        rules: &Rules,
    ) -> (Log, HashMap<(u32, Millis), usize>) {
        let mut log = Log::default();
        let mut seq = 0u64;
        let mut next = || {
            seq += 1;
            seq
        };
        for e in &self.availability {
            log.availability_events.push(AvailabilityEvent {
                at: e.at,
                seq: next(),
                availability: e.availability,
            });
        }
        let mut episodes = HashMap::new();
        for (i, contact) in self.contacts.iter().enumerate() {
            let conversation = ConversationId(i as u32);
            log.conversation_names.push(contact.external_id.clone());
            let (steps, starts) = self.timeline(contact, factor, clock, now, rules);
            for (k, at) in starts.into_iter().enumerate() {
                episodes.insert((i as u32, at), k);
            }
            for step in steps {
                let fact = match step.kind {
                    StepKind::Customer => Fact::Message(Author::Customer),
                    StepKind::Automation => Fact::Message(Author::Automation),
                    StepKind::Agent { .. } => Fact::Message(Author::Agent),
                    StepKind::Status { status, .. } => Fact::Status(status),
                    StepKind::Reopen => Fact::Status(Status::Open),
                };
                log.conversation_events.push(ConversationEvent {
                    at: step.at,
                    seq: next(),
                    conversation,
                    fact,
                });
            }
        }
        (log, episodes)
    }

    fn assess(
        &self,
        factor: i64,
        clock: &Clock,
        now: Millis,
        rules: &Rules,
    ) -> (Figures, Vec<Start>, HashMap<(u32, Millis), usize>) {
        let (log, episodes) = self.log(factor, clock, now, rules);
        let assessment = evaluate(&log, now, rules);
        (assessment.figures, assessment.included, episodes)
    }

    /// Tunes which starts go unanswered and how fast answers come until the figures at `now`
    /// are the profile's; returns them.
    fn tune(&mut self, rng: &mut Rng, clock: &Clock, now: Millis, rules: &Rules) -> Figures {
        let p = self.profile;
        for _ in 0..8 {
            let (figures, included, episodes) = self.assess(self.factor, clock, now, rules);
            let w = figures.window;
            if w.starts == 0 {
                return figures;
            }
            let rate_low = w.answered * 1000 < p.rate.0 * w.starts;
            let rate_high = w.answered * 1000 > p.rate.1 * w.starts;
            if rate_low || rate_high {
                let target = (p.rate.0 + p.rate.1) / 2;
                let want = (target * w.starts).div_ceil(1000);
                let flips = want.abs_diff(w.answered) as usize;
                self.flip(
                    rng,
                    &included,
                    &episodes,
                    figures.window.from,
                    now,
                    rules,
                    rate_low,
                    flips,
                );
                continue;
            }
            let time = |f: &Figures| f.window.kept_total / (f.window.kept.max(1) as Millis);
            let (lo, hi) = p.time;
            if (lo..=hi).contains(&time(&figures)) {
                return figures;
            }
            let (mut low, mut high) = (20i64, 8_000i64);
            for _ in 0..30 {
                let mid = (low + high) / 2;
                let f = self.assess(mid, clock, now, rules).0;
                let t = time(&f);
                if t < lo {
                    low = mid + 1;
                } else if t > hi {
                    high = mid - 1;
                } else {
                    self.factor = mid;
                    break;
                }
                if low > high {
                    self.factor = mid;
                    break;
                }
            }
        }
        self.assess(self.factor, clock, now, rules).0
    }

    /// Turns `count` settled starts of the window that are counted (not excluded) from
    /// unanswered to answered (`answer`) or the other way round.
    #[allow(clippy::too_many_arguments)]
    fn flip(
        &mut self,
        rng: &mut Rng,
        included: &[Start],
        episodes: &HashMap<(u32, Millis), usize>,
        window_from: Option<Millis>,
        now: Millis,
        rules: &Rules,
        answer: bool,
        count: usize,
    ) {
        let from = window_from.unwrap_or(Millis::MIN);
        let (want, to) = if answer {
            (Fate::Unanswered, Fate::Answered)
        } else {
            (Fate::Answered, Fate::Unanswered)
        };
        let mut candidates: Vec<(usize, usize)> = included
            .iter()
            .filter(|s| {
                s.at() >= from && s.at() <= now - rules.reply_window - HOUR && s.exclusion.is_none()
            })
            .filter(|s| s.response.is_some() != answer)
            .filter_map(|s| {
                let k = *episodes.get(&(s.conversation.0, s.at()))?;
                let c = s.conversation.0 as usize;
                (self.contacts[c].episodes[k].fate == want).then_some((c, k))
            })
            .collect();
        for _ in 0..count.min(candidates.len()) {
            let i = rng.below(candidates.len() as u64) as usize;
            let (c, k) = candidates.swap_remove(i);
            let episode = &mut self.contacts[c].episodes[k];
            episode.fate = to;
            if to == Fate::Unanswered {
                episode.status_after = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_badge::parse_instant;

    fn now() -> Millis {
        parse_instant("2026-11-24T15:37:12.345Z").unwrap_or_default()
    }

    fn small(seed: u64) -> DemoOptions {
        DemoOptions {
            seed,
            conversations: 3_000,
            ..DemoOptions::default()
        }
    }

    #[test]
    fn each_inbox_lands_where_its_profile_wants() {
        let rules = Rules::default();
        let plan = Plan::new(&small(2026), now(), &rules);
        for (inbox, figures) in plan.inboxes.iter().zip(&plan.figures) {
            let p = inbox.profile;
            let w = figures.window;
            let time = w.kept_total / w.kept as Millis;
            assert!(
                w.answered * 1000 >= p.rate.0 * w.starts
                    && w.answered * 1000 <= p.rate.1 * w.starts,
                "{}: {w:?}",
                p.name
            );
            assert!(
                (p.time.0..=p.time.1).contains(&time),
                "{}: {time} ms",
                p.name
            );
            assert_eq!(
                figures.badge,
                p.standing != Standing::JustLosing,
                "{}",
                p.name
            );
            assert!(w.starts > 300, "{}: {w:?}", p.name);
            assert!(
                figures.excluded.away > 0 && figures.excluded.done > 0 && figures.excluded.spam > 0,
                "{figures:?}"
            );
        }
        let contacts: usize = plan.inboxes.iter().map(|i| i.contacts.len()).sum();
        assert_eq!(contacts, 3_000);
    }

    #[test]
    fn a_seed_gives_the_same_plan_and_another_seed_another() {
        let rules = Rules::default();
        let a = Plan::new(&small(5), now(), &rules);
        let b = Plan::new(&small(5), now(), &rules);
        let c = Plan::new(&small(6), now(), &rules);
        assert_eq!(a.figures, b.figures);
        assert_eq!(a.timelines(1, &rules), b.timelines(1, &rules));
        assert_ne!(a.timelines(1, &rules), c.timelines(1, &rules));
    }

    #[test]
    fn other_seeds_land_too() {
        let rules = Rules::default();
        for seed in [1, 99, 12345] {
            let plan = Plan::new(&small(seed), now(), &rules);
            for (inbox, figures) in plan.inboxes.iter().zip(&plan.figures) {
                assert_eq!(
                    figures.badge,
                    inbox.profile.standing != Standing::JustLosing,
                    "seed {seed}: {}: {figures:?}",
                    inbox.profile.name
                );
            }
        }
    }

    #[test]
    fn timelines_are_ordered_and_end_by_now() {
        let rules = Rules::default();
        let plan = Plan::new(&small(3), now(), &rules);
        let mut waiting = 0;
        for i in 0..plan.inboxes.len() {
            for steps in plan.timelines(i, &rules) {
                assert!(
                    steps.windows(2).all(|w| w[0].at < w[1].at
                        || (w[1].kind == StepKind::Reopen && w[0].at == w[1].at))
                );
                assert!(steps.iter().all(|s| s.at <= plan.now && s.at % MINUTE != 0));
                assert_eq!(steps.first().map(|s| s.kind), Some(StepKind::Customer));
                for s in &steps {
                    if let StepKind::Agent { created, .. } = s.kind {
                        assert!(created < s.at);
                    }
                }
                if steps
                    .last()
                    .is_some_and(|s| s.kind == StepKind::Automation && plan.now - s.at < HOUR)
                {
                    waiting += 1;
                }
            }
        }
        assert!(waiting >= 3, "{waiting}");
    }

    #[test]
    fn away_follows_rule_four() {
        let events = [
            PlannedAvailability {
                at: 100,
                availability: Availability::Away { until: Some(200) },
                by: None,
            },
            PlannedAvailability {
                at: 300,
                availability: Availability::Away { until: None },
                by: Some(0),
            },
            PlannedAvailability {
                at: 400,
                availability: Availability::Available,
                by: Some(0),
            },
            PlannedAvailability {
                at: 500,
                availability: Availability::Away { until: None },
                by: Some(0),
            },
        ];
        let away = AwayCheck {
            events: &events,
            reset: 50,
        };
        assert!(!away.away_at(100));
        assert!(away.away_at(101) && away.away_at(199));
        assert!(!away.away_at(200) && !away.away_at(300));
        assert!(away.away_at(349) && !away.away_at(350));
        assert!(!away.away_at(450));
        assert!(away.away_at(501) && !away.away_at(550));
    }
}
