//! The plain computation: a whole log, evaluated at one instant.

use crate::event::{ConversationEvent, Log};
use crate::figures::{Excluded, Figures, Window};
use crate::rules::{Basis, Rules};
use crate::starts::{AwayPeriods, Exclusion, Start, segment_conversation};
use crate::time::Millis;

/// The figures at one instant, with the starts they were computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub figures: Figures,
    /// Every start that is not excluded, settled or pending, in the contract's order.
    pub included: Vec<Start>,
}

/// Evaluates `log` at `evaluated_at`: only events at or before it exist.
pub fn evaluate(log: &Log, evaluated_at: Millis, rules: &Rules) -> Assessment {
    let away = AwayPeriods::new(
        log.availability_events
            .iter()
            .filter(|e| e.at <= evaluated_at)
            .copied()
            .collect(),
    );
    let grouped = group_by_conversation(log, evaluated_at);
    let mut starts = Vec::new();
    for events in grouped.iter() {
        segment_conversation(events, rules, &mut starts);
    }
    drop(grouped);

    let mut excluded = Excluded::default();
    let mut included = Vec::with_capacity(starts.len());
    for mut start in starts {
        if start.exclusion.is_none() && away.covers(start.position, rules) {
            start.exclusion = Some(Exclusion::Away);
        }
        match start.exclusion {
            Some(exclusion) => excluded.count(exclusion),
            None => included.push(start),
        }
    }
    included.sort_unstable_by_key(|start| start.position);
    let figures = figures_of_included(&included, excluded, evaluated_at, rules);
    Assessment { figures, included }
}

/// Rules 5–9 over the non-excluded starts, sorted in the contract's order.
pub fn figures_of_included(
    included: &[Start],
    excluded: Excluded,
    evaluated_at: Millis,
    rules: &Rules,
) -> Figures {
    let is_settled =
        |start: &Start| start.is_answered() || evaluated_at - start.at() >= rules.reply_window;
    let pending = included
        .iter()
        .rev()
        .take_while(|s| evaluated_at - s.at() < rules.reply_window);
    let pending = pending.filter(|s| !s.is_answered()).count() as u64;

    let window = match included.last() {
        None => Window::EMPTY,
        Some(latest) => {
            let lower = latest.at() - rules.window();
            let recent = &included[included.partition_point(|s| s.at() <= lower)..];
            let in_days = recent.iter().filter(|s| is_settled(s)).count() as u64;
            if in_days >= u64::from(rules.fallback_starts) {
                summarize(Basis::Days, recent.iter().filter(|s| is_settled(s)), rules)
            } else {
                let mut last: Vec<&Start> = included
                    .iter()
                    .rev()
                    .filter(|s| is_settled(s))
                    .take(rules.fallback_starts as usize)
                    .collect();
                last.reverse();
                summarize(Basis::LastStarts, last.into_iter(), rules)
            }
        }
    };
    Figures {
        evaluated_at,
        badge: window.earns_badge(rules),
        window,
        pending,
        excluded,
    }
}

/// Sums up a window given its starts in the contract's order.
fn summarize<'a>(basis: Basis, window: impl Iterator<Item = &'a Start>, rules: &Rules) -> Window {
    let (mut starts, mut span, mut response_times) = (0, None, Vec::new());
    for start in window {
        starts += 1;
        span = Some(span.map_or((start.at(), start.at()), |(from, _)| (from, start.at())));
        response_times.extend(start.response);
    }
    Window::summarize(basis, span, starts, response_times, rules)
}

/// Conversation events up to `evaluated_at`, grouped by conversation (a counting sort, since
/// conversation ids are dense) and each group in the contract's order.
struct Grouped {
    events: Vec<ConversationEvent>,
    /// `events[bounds[c]..bounds[c + 1]]` are conversation `c`'s.
    bounds: Vec<usize>,
}

impl Grouped {
    fn iter(&self) -> impl Iterator<Item = &[ConversationEvent]> {
        self.bounds.windows(2).map(|w| &self.events[w[0]..w[1]])
    }
}

fn group_by_conversation(log: &Log, evaluated_at: Millis) -> Grouped {
    let conversations = log.conversation_names.len().max(
        log.conversation_events
            .iter()
            .map(|e| e.conversation.0 as usize + 1)
            .max()
            .unwrap_or(0),
    );
    let mut bounds = vec![0usize; conversations + 1];
    let existing = || {
        log.conversation_events
            .iter()
            .filter(|e| e.at <= evaluated_at)
    };
    for event in existing() {
        bounds[event.conversation.0 as usize + 1] += 1;
    }
    for c in 1..bounds.len() {
        bounds[c] += bounds[c - 1];
    }
    let mut next = bounds.clone();
    let placeholder = log.conversation_events.first().copied();
    let mut events = match placeholder {
        Some(first) => vec![first; bounds[conversations]],
        None => Vec::new(),
    };
    for event in existing() {
        let slot = &mut next[event.conversation.0 as usize];
        events[*slot] = *event;
        *slot += 1;
    }
    for w in bounds.windows(2) {
        let group = &mut events[w[0]..w[1]];
        if !group.is_sorted_by_key(ConversationEvent::position) {
            group.sort_unstable_by_key(ConversationEvent::position);
        }
    }
    Grouped { events, bounds }
}
