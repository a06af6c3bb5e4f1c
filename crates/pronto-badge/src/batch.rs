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
    let parts = if log.conversation_events.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    };
    evaluate_in_parts(log, evaluated_at, rules, parts)
}

/// [`evaluate`] with the work split in `parts` threads (the same result for any number).
fn evaluate_in_parts(log: &Log, evaluated_at: Millis, rules: &Rules, parts: usize) -> Assessment {
    let away = AwayPeriods::new(
        log.availability_events
            .iter()
            .filter(|e| e.at <= evaluated_at)
            .copied()
            .collect(),
    );
    // A log whose events are already grouped by conversation, each group in the contract's
    // order (as `pronto badge` reads them), is split as it is; any other is grouped first.
    let counts;
    let work = match grouped_parts(&log.conversation_events, parts) {
        Some(ranges) => ranges.into_iter().map(Part::Events).collect(),
        None => {
            counts = count_by_conversation(log, evaluated_at, parts);
            split_by_count(&counts, parts)
                .into_iter()
                .map(|range| Part::Conversations(range, &counts))
                .collect::<Vec<_>>()
        }
    };
    let context = Context {
        log,
        evaluated_at,
        rules,
        away: &away,
    };
    let mut results: Vec<(Vec<Start>, Excluded)> = if work.len() <= 1 {
        work.into_iter()
            .map(|part| context.starts_of(part))
            .collect()
    } else {
        std::thread::scope(|scope| {
            let context = &context;
            let handles: Vec<_> = work
                .into_iter()
                .map(|part| scope.spawn(move || context.starts_of(part)))
                .collect();
            handles.into_iter().map(join).collect()
        })
    };

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

/// A share of the work: conversations by id (`counts` are the events of each), or a range of
/// events already grouped by conversation.
enum Part<'a> {
    Conversations(Range<usize>, &'a [u32]),
    Events(Range<usize>),
}

/// What every part of the work reads.
struct Context<'a> {
    log: &'a Log,
    evaluated_at: Millis,
    rules: &'a Rules,
    away: &'a AwayPeriods,
}

impl Context<'_> {
    /// Rules 2–4 for the conversations of `part`: their non-excluded starts in order, and
    /// how many were excluded.
    fn starts_of(&self, part: Part<'_>) -> (Vec<Start>, Excluded) {
        let mut starts = Vec::new();
        match part {
            Part::Conversations(range, counts) => {
                let grouped = group_by_conversation(self.log, self.evaluated_at, counts, range);
                // At most one start per event; capacity never used costs no memory, growing
                // would.
                starts.reserve(grouped.events.len());
                for events in grouped.iter() {
                    segment_conversation(events, self.rules, &mut starts);
                }
            }
            Part::Events(range) => {
                let events = &self.log.conversation_events[range];
                starts.reserve(events.len());
                for group in events.chunk_by(|a, b| a.conversation == b.conversation) {
                    // In the contract's order: the events that exist come first.
                    let existing = group.partition_point(|e| e.at <= self.evaluated_at);
                    segment_conversation(&group[..existing], self.rules, &mut starts);
                }
            }
        }

        let mut excluded = Excluded::default();
        starts.retain_mut(|start| {
            if start.exclusion.is_none() && self.away.covers(start.position, self.rules) {
                start.exclusion = Some(Exclusion::Away);
            }
            match start.exclusion {
                Some(exclusion) => {
                    excluded.count(exclusion);
                    false
                }
                None => true,
            }
        });
        starts.sort_unstable_by_key(order_key);
        (starts, excluded)
    }
}

/// Whether `a` may come just before `b` in a log grouped by conversation (ids ascending), each
/// group in the contract's order.
fn in_grouped_order(a: &ConversationEvent, b: &ConversationEvent) -> bool {
    a.conversation < b.conversation
        || (a.conversation == b.conversation && a.position() < b.position())
}

/// If `events` are grouped by conversation, each group in order: up to `parts` consecutive
/// ranges of about as many events each, cut between groups (checked by `parts` threads).
fn grouped_parts(events: &[ConversationEvent], parts: usize) -> Option<Vec<Range<usize>>> {
    let parts = parts.clamp(1, events.len().max(1));
    let chunk = events.len().div_ceil(parts).max(1);
    let check = |events: &[ConversationEvent]| {
        events
            .windows(2)
            .all(|pair| in_grouped_order(&pair[0], &pair[1]))
    };
    let grouped = if parts == 1 {
        check(events)
    } else {
        // Chunks overlapping by one event, so that every neighbouring pair is checked.
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..events.len())
                .step_by(chunk)
                .map(|start| {
                    let end = (start + chunk + 1).min(events.len());
                    let events = &events[start..end];
                    scope.spawn(move || check(events))
                })
                .collect();
            handles
                .into_iter()
                .map(join)
                .collect::<Vec<bool>>()
                .into_iter()
                .all(|ok| ok)
        })
    };
    if !grouped {
        return None;
    }
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for k in 1..parts {
        let mut cut = (k * events.len() / parts).max(start);
        while cut > 0
            && cut < events.len()
            && events[cut].conversation == events[cut - 1].conversation
        {
            cut += 1;
        }
        if cut > start && cut < events.len() {
            ranges.push(start..cut);
            start = cut;
        }
    }
    ranges.push(start..events.len());
    Some(ranges)
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

fn merge_two(mut a: Vec<Start>, b: Vec<Start>) -> Vec<Start> {
    // From the end, in `a` grown to hold both: no new list to fill (and fault in).
    let (mut i, mut j) = (a.len(), b.len());
    let Some(&filler) = a.first().or(b.first()) else {
        return a;
    };
    a.resize(i + j, filler);
    while j > 0 {
        let k = i + j - 1;
        // On equal keys (which a log never has), `a`'s first.
        if i > 0 && order_key(&b[j - 1]) < order_key(&a[i - 1]) {
            a[k] = a[i - 1];
            i -= 1;
        } else {
            a[k] = b[j - 1];
            j -= 1;
        }
    }
    a
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Author, Availability, AvailabilityEvent, Fact, Status};
    use crate::time::{HOUR, MINUTE};
    use proptest::prelude::*;

    /// Small random logs: a few conversations, events minutes to days apart, in any order,
    /// sometimes at the same instant.
    fn log() -> impl Strategy<Value = Log> {
        let fact = prop_oneof![
            4 => Just(Fact::Message(Author::Customer)),
            4 => Just(Fact::Message(Author::Agent)),
            1 => Just(Fact::Message(Author::Automation)),
            1 => Just(Fact::Status(Status::Open)),
            1 => Just(Fact::Status(Status::Done)),
            1 => Just(Fact::Status(Status::Spam)),
        ];
        let event = (0u32..6, 0i64..2_000, fact);
        let away = (0i64..2_000, any::<bool>(), proptest::option::of(1i64..40));
        (
            proptest::collection::vec(event, 0..60),
            proptest::collection::vec(away, 0..4),
        )
            .prop_map(|(events, changes)| {
                let mut log = Log {
                    conversation_names: (0..6).map(|c| format!("c{c}")).collect(),
                    ..Log::default()
                };
                for (seq, (conversation, at, fact)) in events.into_iter().enumerate() {
                    log.conversation_events.push(ConversationEvent {
                        at: at * 20 * MINUTE,
                        seq: seq as u64 + 1,
                        conversation: ConversationId(conversation),
                        fact,
                    });
                }
                for (i, (at, away, until)) in changes.into_iter().enumerate() {
                    let at = at * 20 * MINUTE;
                    log.availability_events.push(AvailabilityEvent {
                        at,
                        seq: 1_000 + i as u64,
                        availability: if away {
                            Availability::Away {
                                until: until.map(|h| at + h * HOUR),
                            }
                        } else {
                            Availability::Available
                        },
                    });
                }
                log
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Grouped or not, in one part or several: the same assessment.
        #[test]
        fn the_same_assessment_however_the_work_is_split(log in log(), at in 0i64..2_100) {
            let at = at * 20 * MINUTE;
            let rules = Rules::default();
            let expected = evaluate_in_parts(&log, at, &rules, 1);
            let mut grouped = log.clone();
            grouped
                .conversation_events
                .sort_by_key(|e| (e.conversation, e.position()));
            for parts in 1..=4 {
                prop_assert_eq!(&evaluate_in_parts(&log, at, &rules, parts), &expected);
                prop_assert_eq!(&evaluate_in_parts(&grouped, at, &rules, parts), &expected);
            }
        }
    }

    #[test]
    fn grouped_logs_are_recognised_and_cut_between_groups() {
        let event = |conversation, at| ConversationEvent {
            at,
            seq: at as u64,
            conversation: ConversationId(conversation),
            fact: Fact::Message(Author::Customer),
        };
        let events = [
            event(0, 1),
            event(0, 2),
            event(0, 3),
            event(1, 1),
            event(2, 5),
        ];
        assert_eq!(grouped_parts(&events, 2), Some(vec![0..3, 3..5]));
        assert_eq!(grouped_parts(&events, 8), Some(vec![0..3, 3..4, 4..5]));
        let whole = grouped_parts(&events[..3], 3).unwrap();
        assert_eq!((whole.len(), whole[0].clone()), (1, 0..3));
        assert_eq!(grouped_parts(&[], 2).map(|r| r.len()), Some(1));
        let unsorted = [event(0, 2), event(0, 1)];
        assert_eq!(grouped_parts(&unsorted, 1), None);
        let ungrouped = [event(1, 1), event(0, 2)];
        assert_eq!(grouped_parts(&ungrouped, 2), None);
    }
}
