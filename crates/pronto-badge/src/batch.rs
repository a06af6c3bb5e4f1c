//! The plain computation: a whole log, evaluated at one instant.

use crate::event::{ConversationEvent, ConversationId, Log, Position};
use crate::figures::{Excluded, Figures, Window};
use crate::rules::{Basis, Rules};
use crate::starts::{AwayPeriods, Exclusion, Start, segment_conversation};
use crate::time::Millis;
use std::ops::Range;

/// The figures at one instant, with the starts they were computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub figures: Figures,
    /// Every start that is not excluded, settled or pending, in the contract's order.
    pub included: Vec<Start>,
}

/// Evaluates `log` at `evaluated_at`: only events at or before it exist.
///
/// A large log is split between threads by conversation (rules 2–4 look at one conversation
/// at a time); their starts are merged back in the contract's order.
pub fn evaluate(log: &Log, evaluated_at: Millis, rules: &Rules) -> Assessment {
    let away = AwayPeriods::new(
        log.availability_events
            .iter()
            .filter(|e| e.at <= evaluated_at)
            .copied()
            .collect(),
    );
    let parts = if log.conversation_events.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    };
    let counts = count_by_conversation(log, evaluated_at, parts);
    let ranges = split_by_count(&counts, parts);
    let context = Context {
        log,
        evaluated_at,
        rules,
        away: &away,
        counts: &counts,
    };
    let mut results: Vec<(Vec<Start>, Excluded)> = if ranges.len() <= 1 {
        ranges.into_iter().map(|r| context.starts_in(r)).collect()
    } else {
        std::thread::scope(|scope| {
            let context = &context;
            let handles: Vec<_> = ranges
                .into_iter()
                .map(|range| scope.spawn(move || context.starts_in(range)))
                .collect();
            handles.into_iter().map(join).collect()
        })
    };
    drop(counts);

    let mut excluded = Excluded::default();
    for (_, part) in &results {
        excluded.spam += part.spam;
        excluded.done += part.done;
        excluded.away += part.away;
    }
    let included = match results.len() {
        0 => Vec::new(),
        1 => results
            .pop()
            .map(|(included, _)| included)
            .unwrap_or_default(),
        _ => merge_in_order(results.into_iter().map(|(included, _)| included).collect()),
    };
    let figures = figures_of_included(&included, excluded, evaluated_at, rules);
    Assessment { figures, included }
}

/// Below this many conversation events, one thread does it all.
const PARALLEL_FROM: usize = 100_000;
const MAX_THREADS: usize = 8;

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The contract's order, and a fixed order for starts at the same position (which a log read
/// from a file or pushed to a tracker never has).
fn order_key(start: &Start) -> (Position, ConversationId) {
    (start.position, start.conversation)
}

/// How many events up to `evaluated_at` each conversation has (counted by `parts` threads).
fn count_by_conversation(log: &Log, evaluated_at: Millis, parts: usize) -> Vec<u32> {
    let count = |events: &[ConversationEvent]| {
        let mut counts = vec![0u32; log.conversation_names.len()];
        for event in events.iter().filter(|e| e.at <= evaluated_at) {
            let c = event.conversation.0 as usize;
            if c >= counts.len() {
                // A log built by hand may use ids without names.
                counts.resize(c + 1, 0);
            }
            counts[c] += 1;
        }
        counts
    };
    let events = &log.conversation_events;
    if parts <= 1 {
        return count(events);
    }
    let chunk = events.len().div_ceil(parts);
    let partial: Vec<Vec<u32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = events
            .chunks(chunk)
            .map(|events| scope.spawn(move || count(events)))
            .collect();
        handles.into_iter().map(join).collect()
    });
    let mut partial = partial.into_iter();
    let mut counts = partial.next().unwrap_or_default();
    for other in partial {
        if other.len() > counts.len() {
            counts.resize(other.len(), 0);
        }
        for (total, n) in counts.iter_mut().zip(other) {
            *total += n;
        }
    }
    counts
}

/// Up to `parts` consecutive ranges of conversations with about as many events each.
fn split_by_count(counts: &[u32], parts: usize) -> Vec<Range<usize>> {
    let total: u64 = counts.iter().map(|&n| u64::from(n)).sum();
    let mut ranges = Vec::with_capacity(parts);
    let (mut start, mut seen) = (0, 0u64);
    for (c, &n) in counts.iter().enumerate() {
        seen += u64::from(n);
        let part = ranges.len() as u64 + 1;
        if part < parts as u64 && seen * parts as u64 >= total * part {
            ranges.push(start..c + 1);
            start = c + 1;
        }
    }
    ranges.push(start..counts.len());
    ranges
}

/// What every part of the work reads.
struct Context<'a> {
    log: &'a Log,
    evaluated_at: Millis,
    rules: &'a Rules,
    away: &'a AwayPeriods,
    counts: &'a [u32],
}

impl Context<'_> {
    /// Rules 2–4 for the conversations in `range`: their non-excluded starts in order, and
    /// how many were excluded.
    fn starts_in(&self, range: Range<usize>) -> (Vec<Start>, Excluded) {
        let grouped = group_by_conversation(self.log, self.evaluated_at, self.counts, range);
        // At most one start per event; capacity never used costs no memory, growing would.
        let mut starts = Vec::with_capacity(grouped.events.len());
        for events in grouped.iter() {
            segment_conversation(events, self.rules, &mut starts);
        }
        drop(grouped);

        let mut excluded = Excluded::default();
        let mut included = Vec::with_capacity(starts.len());
        for mut start in starts {
            if start.exclusion.is_none() && self.away.covers(start.position, self.rules) {
                start.exclusion = Some(Exclusion::Away);
            }
            match start.exclusion {
                Some(exclusion) => excluded.count(exclusion),
                None => included.push(start),
            }
        }
        included.sort_unstable_by_key(order_key);
        (included, excluded)
    }
}

/// Merges lists of starts, each in order, into one in order.
fn merge_in_order(mut lists: Vec<Vec<Start>>) -> Vec<Start> {
    while lists.len() > 1 {
        let mut merged = Vec::with_capacity(lists.len().div_ceil(2));
        let mut pairs = lists.into_iter();
        while let Some(a) = pairs.next() {
            merged.push(match pairs.next() {
                Some(b) => merge_two(a, b),
                None => a,
            });
        }
        lists = merged;
    }
    lists.pop().unwrap_or_default()
}

fn merge_two(a: Vec<Start>, b: Vec<Start>) -> Vec<Start> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                if order_key(y) < order_key(x) {
                    b.next()
                } else {
                    a.next()
                }
            }
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some(start) => merged.push(start),
            None => return merged,
        }
    }
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

/// Conversation events up to `evaluated_at` of the conversations in `range`, grouped by
/// conversation (a counting sort, since conversation ids are dense) and each group in the
/// contract's order.
struct Grouped {
    events: Vec<ConversationEvent>,
    /// `events[bounds[c]..bounds[c + 1]]` are the events of the range's `c`-th conversation.
    bounds: Vec<usize>,
}

impl Grouped {
    fn iter(&self) -> impl Iterator<Item = &[ConversationEvent]> {
        self.bounds.windows(2).map(|w| &self.events[w[0]..w[1]])
    }
}

fn group_by_conversation(
    log: &Log,
    evaluated_at: Millis,
    counts: &[u32],
    range: Range<usize>,
) -> Grouped {
    let mut bounds = Vec::with_capacity(range.len() + 1);
    bounds.push(0usize);
    let mut total = 0;
    for &n in &counts[range.clone()] {
        total += n as usize;
        bounds.push(total);
    }
    let mut next = bounds[..range.len()].to_vec();
    let placeholder = log.conversation_events.first().copied();
    let mut events = match placeholder {
        Some(first) if total > 0 => vec![first; total],
        _ => Vec::new(),
    };
    let (low, high) = (range.start, range.end);
    for event in log
        .conversation_events
        .iter()
        .filter(|e| e.at <= evaluated_at)
    {
        let c = event.conversation.0 as usize;
        if (low..high).contains(&c) {
            let slot = &mut next[c - low];
            events[*slot] = *event;
            *slot += 1;
        }
    }
    for w in bounds.windows(2) {
        let group = &mut events[w[0]..w[1]];
        if !group.is_sorted_by_key(ConversationEvent::position) {
            group.sort_unstable_by_key(ConversationEvent::position);
        }
    }
    Grouped { events, bounds }
}
