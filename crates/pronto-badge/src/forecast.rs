//! Pronto's advice: what it takes to earn or keep the badge (the contract's "The forecast").
//!
//! The forecast plays scenarios forward from the evaluation time T, under assumptions it states
//! in its output:
//! - new starts arrive at T, so they move the latest start L to T and the window to end at T;
//! - every future answer takes `answer_time` (by default a third of the time limit);
//! - every pending start is answered within `answer_time` of its start, or at T if that moment
//!   has passed ("pending starts must be answered within the time limit to count as fast":
//!   their deadlines are listed);
//! - a slow answer is one given at the very end of the reply window (24 hours).
//!
//! When the badge is held it counts how many more unanswered starts, and how many more slow
//! answers, the badge absorbs (each counted alone, one after another, until the next would
//! lose it); the badge is *at risk* when the smaller of the two is 2 or less. When it is not
//! held, it finds the smallest number of upcoming starts answered in `answer_time` that earns it.

use crate::event::ConversationId;
use crate::figures::{Figures, Window};
use crate::rules::{Basis, Rules};
use crate::starts::Start;
use crate::time::{Millis, SECOND, Utc};
use serde::Serialize;

/// The forecast's own settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForecastSettings {
    /// How long each future answer is assumed to take; `None`: a third of the time limit.
    pub answer_time: Option<Millis>,
    /// Scenarios stop at this many new starts: the answer is then "more than this".
    pub search_limit: u64,
    /// At most this many pending starts are listed with their deadlines.
    pub deadlines_listed: usize,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        Self {
            answer_time: None,
            search_limit: 10_000_000,
            deadlines_listed: 20,
        }
    }
}

/// Held, held but at risk (slack of 2 or less), or lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeState {
    Held,
    AtRisk,
    Lost,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    pub state: BadgeState,
    pub assumptions: Assumptions,
    /// When held: how many more of each the badge absorbs, each counted alone.
    pub absorbable: Option<Absorbable>,
    /// When not held: what earns it.
    pub to_earn: Option<ToEarn>,
    /// Pending starts, soonest deadline first: answered by then, they count as fast.
    pub deadlines: Vec<Deadline>,
    /// The forecast in one sentence.
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assumptions {
    pub new_starts_at: Utc,
    pub answer_seconds: f64,
    pub slow_answer_seconds: f64,
    pub pending: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Absorbable {
    pub unanswered: u64,
    pub slow_answers: u64,
}

impl Absorbable {
    pub fn slack(&self) -> u64 {
        self.unanswered.min(self.slow_answers)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ToEarn {
    /// The smallest number of upcoming starts answered in the assumed time that earns the
    /// badge; `None` when even `search_limit` of them would not.
    pub fast_answers: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub conversation: String,
    pub start: Utc,
    pub answer_by: Utc,
    pub overdue: bool,
}

const PENDING_ASSUMPTION: &str =
    "each pending start is answered within the assumed time, or now if that has passed";

/// Forecasts from the figures at T and the non-excluded starts (settled and pending, in the
/// contract's order) that a window ending at T can hold: every one after T − window, and at
/// least the last `fallback_starts` settled ones.
pub fn forecast(
    figures: &Figures,
    included: &[Start],
    rules: &Rules,
    settings: &ForecastSettings,
    conversation_name: &dyn Fn(ConversationId) -> String,
) -> Forecast {
    let now = figures.evaluated_at;
    let answer_time = settings
        .answer_time
        .unwrap_or((rules.max_response_time / 3).max(1));
    let slow_answer_time = rules.reply_window;
    let scenarios = Scenarios::new(included, now, answer_time, rules);
    let deadlines = deadlines(
        included,
        now,
        rules,
        settings.deadlines_listed,
        conversation_name,
    );
    let assumptions = Assumptions {
        new_starts_at: Utc(now),
        answer_seconds: answer_time as f64 / 1000.0,
        slow_answer_seconds: slow_answer_time as f64 / 1000.0,
        pending: PENDING_ASSUMPTION,
    };
    let pending = figures.pending;
    if figures.badge {
        let limit = settings.search_limit;
        let absorbable = Absorbable {
            unanswered: scenarios.absorbable(None, limit),
            slow_answers: scenarios.absorbable(Some(slow_answer_time), limit),
        };
        let state = if absorbable.slack() <= 2 {
            BadgeState::AtRisk
        } else {
            BadgeState::Held
        };
        let summary = held_summary(state, absorbable, pending);
        Forecast {
            state,
            assumptions,
            absorbable: Some(absorbable),
            to_earn: None,
            deadlines,
            summary,
        }
    } else {
        let fast_answers = scenarios.first_earning(answer_time, settings.search_limit);
        let summary = lost_summary(
            fast_answers,
            answer_time,
            &deadlines,
            pending,
            settings.search_limit,
        );
        Forecast {
            state: BadgeState::Lost,
            assumptions,
            absorbable: None,
            to_earn: Some(ToEarn { fast_answers }),
            deadlines,
            summary,
        }
    }
}

fn deadlines(
    included: &[Start],
    now: Millis,
    rules: &Rules,
    listed: usize,
    conversation_name: &dyn Fn(ConversationId) -> String,
) -> Vec<Deadline> {
    // Pending starts are the unanswered ones within the reply window, at the end of the list.
    let mut pending: Vec<&Start> = included
        .iter()
        .rev()
        .take_while(|s| now - s.at() < rules.reply_window)
        .filter(|s| !s.is_answered())
        .collect();
    pending.sort_by_key(|s| s.position);
    pending
        .into_iter()
        .take(listed)
        .map(|start| {
            let answer_by = start.at() + rules.max_response_time;
            Deadline {
                conversation: conversation_name(start.conversation),
                start: Utc(start.at()),
                answer_by: Utc(answer_by),
                overdue: answer_by < now,
            }
        })
        .collect()
}

/// The settled starts of the scenarios, with pending ones answered as assumed.
struct Scenarios<'a> {
    rules: &'a Rules,
    now: Millis,
    /// Every included start as (instant, response), pending ones answered as assumed.
    settled: Vec<(Millis, Option<Millis>)>,
    /// With no new start, the window still ends at the latest start: its figures.
    without_new_starts: Window,
    /// With new starts at T: the settled ones after T − window.
    recent_starts: u64,
    /// Their response times, ascending, and prefix sums.
    recent_times: Vec<Millis>,
    prefix: Vec<i128>,
}

impl<'a> Scenarios<'a> {
    fn new(included: &[Start], now: Millis, answer_time: Millis, rules: &'a Rules) -> Self {
        let settled: Vec<(Millis, Option<Millis>)> = included
            .iter()
            .map(|s| {
                let pending = !s.is_answered() && now - s.at() < rules.reply_window;
                let assumed = pending.then(|| answer_time.max(now - s.at()));
                (s.at(), s.response.or(assumed))
            })
            .collect();
        let without_new_starts = match settled.last() {
            Some(&(latest, _)) => window_of(&settled, latest - rules.window(), 0, None, rules),
            None => Window::EMPTY,
        };
        let lower = now - rules.window();
        let recent = &settled[settled.partition_point(|&(at, _)| at <= lower)..];
        let mut recent_times: Vec<Millis> = recent.iter().filter_map(|&(_, r)| r).collect();
        recent_times.sort_unstable();
        let mut prefix = Vec::with_capacity(recent_times.len() + 1);
        prefix.push(0i128);
        for &time in &recent_times {
            prefix.push(prefix.last().copied().unwrap_or(0) + i128::from(time));
        }
        Self {
            rules,
            now,
            recent_starts: recent.len() as u64,
            settled,
            without_new_starts,
            recent_times,
            prefix,
        }
    }

    /// Whether the badge holds after `extra` new starts at T, each answered in `answer` (or
    /// never, with `None`).
    fn holds_with(&self, extra: u64, answer: Option<Millis>) -> bool {
        let rules = self.rules;
        if extra == 0 {
            return self.without_new_starts.earns_badge(rules);
        }
        if self.recent_starts + extra < u64::from(rules.fallback_starts) {
            // Few starts: the window is the last ones in event order, whatever their age.
            let window = window_of(
                &self.settled,
                self.now - rules.window(),
                extra,
                answer,
                rules,
            );
            return window.earns_badge(rules);
        }
        let starts = self.recent_starts + extra;
        let base_answered = self.recent_times.len() as u64;
        let (answered, kept_total) = match answer {
            None => {
                let kept = rules.kept_answers(base_answered);
                (base_answered, self.prefix[kept as usize])
            }
            Some(time) => {
                let answered = base_answered + extra;
                let kept = rules.kept_answers(answered);
                (answered, self.smallest_with_copies(kept, time, extra))
            }
        };
        let kept = rules.kept_answers(answered);
        answered > 0
            && rules.min_rate.is_met_by(answered, starts)
            && kept_total <= i128::from(rules.max_response_time) * i128::from(kept)
    }

    /// The sum of the `k` smallest of the recent response times and `copies` copies of `time`.
    fn smallest_with_copies(&self, k: u64, time: Millis, copies: u64) -> i128 {
        let below = self.recent_times.partition_point(|&t| t < time) as u64;
        let time = i128::from(time);
        if k <= below {
            self.prefix[k as usize]
        } else if k <= below + copies {
            self.prefix[below as usize] + i128::from(k - below) * time
        } else {
            self.prefix[(k - copies) as usize] + i128::from(copies) * time
        }
    }

    /// How many more new starts, each answered in `answer` (or never), the badge takes one
    /// after another before the next would lose it.
    fn absorbable(&self, answer: Option<Millis>, limit: u64) -> u64 {
        (1..=limit)
            .find(|&extra| !self.holds_with(extra, answer))
            .map_or(limit, |lost| lost - 1)
    }

    /// The fewest new starts answered in `answer_time` that earn the badge.
    fn first_earning(&self, answer_time: Millis, limit: u64) -> Option<u64> {
        (0..=limit).find(|&extra| self.holds_with(extra, Some(answer_time)))
    }
}

/// The window over `settled` (instant, response) plus `extra` new starts at the end, each
/// answered in `answer`: the starts after `lower`, or the last `fallback_starts` of them.
fn window_of(
    settled: &[(Millis, Option<Millis>)],
    lower: Millis,
    extra: u64,
    answer: Option<Millis>,
    rules: &Rules,
) -> Window {
    let fallback = u64::from(rules.fallback_starts);
    let recent = &settled[settled.partition_point(|&(at, _)| at <= lower)..];
    let (basis, chosen) = if recent.len() as u64 + extra >= fallback {
        (Basis::Days, recent)
    } else {
        let keep = fallback.saturating_sub(extra).min(settled.len() as u64) as usize;
        (Basis::LastStarts, &settled[settled.len() - keep..])
    };
    let mut times: Vec<Millis> = chosen.iter().filter_map(|&(_, r)| r).collect();
    times.extend(answer.into_iter().cycle().take(extra as usize));
    Window::summarize(basis, None, chosen.len() as u64 + extra, times, rules)
}

fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn duration_words(millis: Millis) -> String {
    let seconds = millis / SECOND;
    match seconds {
        s if s % 3600 == 0 && s > 0 => plural((s / 3600) as u64, "hour", "hours"),
        s if s % 60 == 0 && s > 0 => plural((s / 60) as u64, "minute", "minutes"),
        s => plural(s as u64, "second", "seconds"),
    }
}

fn held_summary(state: BadgeState, absorbable: Absorbable, pending: u64) -> String {
    let lead = match state {
        BadgeState::AtRisk => "The badge is held but at risk",
        _ => "The badge is held",
    };
    let pending = match pending {
        0 => String::new(),
        n => format!(
            ", provided the {} answered in time",
            plural(n, "waiting conversation is", "waiting conversations are")
        ),
    };
    format!(
        "{lead}: it can absorb {} or {}{pending}.",
        plural(
            absorbable.unanswered,
            "more unanswered conversation",
            "more unanswered conversations"
        ),
        plural(
            absorbable.slow_answers,
            "more answer a day late",
            "more answers a day late"
        ),
    )
}

fn lost_summary(
    fast_answers: Option<u64>,
    answer_time: Millis,
    deadlines: &[Deadline],
    pending: u64,
    limit: u64,
) -> String {
    let waiting = match deadlines.first() {
        Some(first) => format!(
            "answer the {} (the first by {})",
            plural(
                pending,
                "waiting conversation in time",
                "waiting conversations in time"
            ),
            first.answer_by
        ),
        None => String::new(),
    };
    match fast_answers {
        Some(0) if !waiting.is_empty() => format!("To earn the badge, {waiting}."),
        Some(0) => "The badge is earned as soon as the next start arrives.".to_owned(),
        Some(n) => {
            let conversations = match n {
                1 => "new conversation".to_owned(),
                n => format!("{n} new conversations"),
            };
            let next = format!(
                "answer the next {conversations} within {}",
                duration_words(answer_time)
            );
            if waiting.is_empty() {
                format!("To earn the badge, {next}.")
            } else {
                format!("To earn the badge, {waiting} and {next}.")
            }
        }
        None => format!(
            "Even {limit} new conversations answered within {} would not earn the badge back: answer faster.",
            duration_words(answer_time)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::evaluate;
    use crate::event::{Author, ConversationEvent, Fact, Log};
    use crate::time::{DAY, HOUR, MINUTE};

    /// One conversation per (start, response) pair, an hour apart, answered as given.
    fn log_of(replies: &[Option<Millis>]) -> Log {
        let mut log = Log::default();
        for (i, reply) in replies.iter().enumerate() {
            let conversation = ConversationId(i as u32);
            log.conversation_names.push(format!("c{i}"));
            let start = i as Millis * HOUR;
            let mut push = |at, author, seq| {
                log.conversation_events.push(ConversationEvent {
                    at,
                    seq,
                    conversation,
                    fact: Fact::Message(author),
                })
            };
            push(start, Author::Customer, 2 * i as u64);
            if let Some(reply) = reply {
                push(start + reply, Author::Agent, 2 * i as u64 + 1);
            }
        }
        log
    }

    fn forecast_at(log: &Log, at: Millis) -> Forecast {
        let rules = Rules::default();
        let assessment = evaluate(log, at, &rules);
        let name = |id: ConversationId| log.conversation_name(id).to_owned();
        forecast(
            &assessment.figures,
            &assessment.included,
            &rules,
            &ForecastSettings::default(),
            &name,
        )
    }

    #[test]
    fn a_held_badge_counts_what_it_can_absorb() {
        let log = log_of(&[Some(MINUTE); 20]);
        let f = forecast_at(&log, 20 * HOUR);
        // 20/(20+m) ≥ 0.9 up to m = 2; two day-late answers are forgiven (10 % of 22), a third is not.
        assert_eq!(
            f.absorbable,
            Some(Absorbable {
                unanswered: 2,
                slow_answers: 2
            })
        );
        assert_eq!(f.state, BadgeState::AtRisk);

        let log = log_of(&[Some(MINUTE); 100]);
        let f = forecast_at(&log, 100 * HOUR);
        assert_eq!(f.absorbable.map(|a| a.unanswered), Some(11)); // 100/111 ≥ 0.9 > 100/112
        assert_eq!(f.state, BadgeState::Held);
    }

    #[test]
    fn a_lost_badge_says_how_many_fast_answers_earn_it() {
        let mut replies = vec![Some(MINUTE); 8];
        replies.extend([None, None]);
        let log = log_of(&replies);
        let f = forecast_at(&log, 3 * DAY);
        assert_eq!(f.state, BadgeState::Lost);
        // (8 + m) / (10 + m) ≥ 0.9 from m = 10.
        assert_eq!(
            f.to_earn,
            Some(ToEarn {
                fast_answers: Some(10)
            })
        );
        assert!(
            f.summary
                .contains("answer the next 10 new conversations within 5 minutes"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn slow_answers_need_many_fast_ones_to_earn_it() {
        let log = log_of(&[Some(HOUR); 10]);
        let f = forecast_at(&log, 2 * DAY);
        let needed = f.to_earn.and_then(|t| t.fast_answers).expect("reachable");
        // Check the answer by playing it: `needed` answers of 5 minutes earn it, one fewer does not.
        let rules = Rules::default();
        let holds = |m: u64| {
            let mut times = vec![HOUR; 10];
            times.extend(std::iter::repeat_n(5 * MINUTE, m as usize));
            Window::summarize(Basis::Days, None, 10 + m, times, &rules).earns_badge(&rules)
        };
        assert!(holds(needed) && !holds(needed - 1), "needed {needed}");
    }

    #[test]
    fn pending_starts_are_listed_with_their_deadlines() {
        let mut replies = vec![Some(MINUTE); 12];
        replies.push(None);
        let log = log_of(&replies);
        let start = 12 * HOUR;
        let f = forecast_at(&log, start + 5 * MINUTE);
        assert_eq!(f.deadlines.len(), 1);
        assert_eq!(f.deadlines[0].conversation, "c12");
        assert_eq!(f.deadlines[0].answer_by, Utc(start + 15 * MINUTE));
        assert!(!f.deadlines[0].overdue);
        let f = forecast_at(&log, start + 20 * MINUTE);
        assert!(f.deadlines[0].overdue);
    }
}
