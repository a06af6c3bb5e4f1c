//! The incremental tracker against the batch computation: random logs that stress the rules,
//! pushed in random orders, read at random evaluation times, before and after snapshots.

use pronto_badge::time::{DAY, HOUR, MINUTE, SECOND};
use pronto_badge::tracker::{Tracker, TrackerError};
use pronto_badge::{
    Author, Availability, AvailabilityEvent, ConversationEvent, ConversationId, Event, Fact, Log,
    Millis, Rate, Rules, Start, Status, evaluate,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const T0: Millis = 1_795_521_600_000;
const CONVERSATIONS: u32 = 8;

/// Tight rules make every boundary easy to hit with few events.
fn tight_rules() -> Rules {
    Rules {
        silence: 3 * HOUR,
        reply_window: 2 * HOUR,
        window_days: 1,
        fallback_starts: 4,
        forgiven_per_mille: 250,
        away_reset: HOUR,
        min_rate: Rate::new(1, 2).unwrap(),
        max_response_time: 30 * MINUTE,
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Message(u32, Author),
    Status(u32, Status),
    Away(Option<Millis>),
    Available,
}

/// One event of a generated log, before the push order gives it its `seq`.
#[derive(Clone, Copy, Debug)]
struct Spec {
    at: Millis,
    kind: Kind,
}

impl Spec {
    fn event(&self, seq: u64) -> Event {
        let conversation = |c: u32, fact| {
            Event::Conversation(ConversationEvent {
                at: self.at,
                seq,
                conversation: ConversationId(c),
                fact,
            })
        };
        match self.kind {
            Kind::Message(c, author) => conversation(c, Fact::Message(author)),
            Kind::Status(c, status) => conversation(c, Fact::Status(status)),
            Kind::Away(until) => Event::Availability(AvailabilityEvent {
                at: self.at,
                seq,
                availability: Availability::Away { until },
            }),
            Kind::Available => Event::Availability(AvailabilityEvent {
                at: self.at,
                seq,
                availability: Availability::Available,
            }),
        }
    }
}

/// Gaps between consecutive events: ties, near-ties and every rule's duration, exactly and
/// off by one millisecond; the window's rarely, so that windows fill up.
fn gaps(rules: &Rules) -> Vec<Millis> {
    let mut gaps = vec![
        0,
        0,
        0,
        0,
        1,
        1,
        SECOND,
        MINUTE,
        MINUTE,
        10 * MINUTE,
        10 * MINUTE,
        HOUR,
    ];
    for d in [rules.silence, rules.reply_window, rules.away_reset] {
        gaps.extend([d - 1, d, d + 1]);
    }
    let window = rules.window();
    gaps.extend([window - 1, window, window + 1]);
    gaps.extend([window / 3, window / 2]);
    gaps
}

fn kind(conversations: u32) -> impl Strategy<Value = (Kind, usize)> {
    let c = 0..conversations;
    prop_oneof![
        5 => c.clone().prop_map(|c| (Kind::Message(c, Author::Customer), 0)),
        4 => c.clone().prop_map(|c| (Kind::Message(c, Author::Agent), 0)),
        1 => c.clone().prop_map(|c| (Kind::Message(c, Author::Automation), 0)),
        2 => (c, prop_oneof![Just(Status::Open), Just(Status::Done), Just(Status::Spam)])
            .prop_map(|(c, s)| (Kind::Status(c, s), 0)),
        1 => Just((Kind::Away(None), 0)),
        // The `until`, as an index into the gaps (plus one millisecond, so it is after `at`).
        1 => (0..20usize).prop_map(|g| (Kind::Away(Some(0)), g)),
        1 => Just((Kind::Available, 0)),
    ]
}

/// A log in time order, stressing the rules.
fn log(rules: Rules, max_events: usize) -> impl Strategy<Value = Vec<Spec>> {
    let gaps = gaps(&rules);
    let gap_count = gaps.len();
    (1..=CONVERSATIONS).prop_flat_map(move |conversations| {
        let gaps = gaps.clone();
        let gap = prop_oneof![8 => 0..gap_count - 5, 1 => 0..gap_count];
        prop::collection::vec((gap, kind(conversations)), 1..max_events).prop_map(move |entries| {
            let mut at = T0;
            let mut specs = Vec::with_capacity(entries.len());
            for (gap, (kind, until)) in entries {
                at += gaps[gap];
                let kind = match kind {
                    Kind::Away(Some(_)) => Kind::Away(Some(at + 1 + gaps[until % gap_count])),
                    other => other,
                };
                specs.push(Spec { at, kind });
            }
            specs
        })
    })
}

#[derive(Clone, Copy, Debug)]
enum Order {
    /// In time order.
    Sorted,
    /// In time order but for some events, pushed later than their time.
    MostlySorted,
    Shuffled,
}

/// A push order: indices into the log.
fn push_order(len: usize) -> impl Strategy<Value = Vec<usize>> {
    let order = prop_oneof![
        1 => Just(Order::Sorted),
        3 => Just(Order::MostlySorted),
        2 => Just(Order::Shuffled),
    ];
    let lateness = prop::collection::vec(
        prop_oneof![6 => Just(0usize), 1 => 1..40usize, 1 => 0..1000usize],
        len,
    );
    let keys = prop::collection::vec(any::<u32>(), len);
    (order, lateness, keys).prop_map(move |(order, lateness, keys)| {
        let mut indices: Vec<usize> = (0..len).collect();
        match order {
            Order::Sorted => {}
            Order::MostlySorted => indices.sort_by_key(|&i| (i + lateness[i], i)),
            Order::Shuffled => indices.sort_by_key(|&i| keys[i]),
        }
        indices
    })
}

/// Evaluation offsets after the latest pushed event, many of them at a boundary.
fn offsets() -> impl Strategy<Value = Vec<(u8, Millis)>> {
    prop::collection::vec((any::<u8>(), 0..3 * DAY), 1..8)
}

fn evaluation_time(pushed: &[Event], rules: &Rules, (choice, random): (u8, Millis)) -> Millis {
    let latest = pushed.iter().map(Event::at).max().unwrap_or(T0);
    // Some start's reply window closing, exactly or one millisecond off.
    let some_event = pushed[usize::from(choice) % pushed.len()].at();
    let candidate = match choice % 8 {
        0 => latest,
        1 => latest + 1,
        2 => some_event + rules.reply_window,
        3 => some_event + rules.reply_window - 1,
        4 => some_event + rules.reply_window + 1,
        5 => latest + rules.window(),
        _ => latest + random,
    };
    candidate.max(latest)
}

fn batch_log(pushed: &[Event]) -> Log {
    let mut log = Log {
        conversation_names: (0..CONVERSATIONS).map(|c| format!("c{c}")).collect(),
        ..Log::default()
    };
    for &event in pushed {
        log.push(event);
    }
    log
}

/// The starts `recent_included` must return: the suffix of batch's from the first one after
/// `evaluated_at − window` or the last `fallback_starts` settled one, whichever is earlier.
fn expected_recent(included: &[Start], evaluated_at: Millis, rules: &Rules) -> Vec<Start> {
    let in_days = included.partition_point(|s| s.at() <= evaluated_at - rules.window());
    let settled: Vec<usize> = (0..included.len())
        .filter(|&i| {
            included[i].is_answered() || evaluated_at - included[i].at() >= rules.reply_window
        })
        .collect();
    let wanted = rules.fallback_starts as usize;
    let last_settled = match settled.len() < wanted {
        true => 0,
        false => settled[settled.len() - wanted],
    };
    included[in_days.min(last_settled)..].to_vec()
}

/// The tracker agrees with batch over `pushed` at `evaluated_at`.
fn check(
    tracker: &Tracker,
    pushed: &[Event],
    evaluated_at: Millis,
    rules: &Rules,
) -> Result<(), TestCaseError> {
    let assessment = evaluate(&batch_log(pushed), evaluated_at, rules);
    let figures = tracker.figures(evaluated_at).unwrap();
    prop_assert_eq!(
        figures,
        assessment.figures,
        "figures after {} events",
        pushed.len()
    );
    let recent = tracker.recent_included(evaluated_at).unwrap();
    prop_assert_eq!(
        recent,
        expected_recent(&assessment.included, evaluated_at, rules),
        "recent starts after {} events",
        pushed.len()
    );
    Ok(())
}

/// Rules, a log in time order, a push order and evaluation offsets.
type Case = (Rules, Vec<Spec>, Vec<usize>, Vec<(u8, Millis)>);

fn case(rules: Rules) -> impl Strategy<Value = Case> {
    log(rules, 80).prop_flat_map(move |specs| {
        let len = specs.len();
        (Just(rules), Just(specs), push_order(len), offsets())
    })
}

fn any_case() -> impl Strategy<Value = Case> {
    // With a short fallback the window by days is the common case.
    let short_fallback = Rules {
        fallback_starts: 2,
        ..tight_rules()
    };
    prop_oneof![
        1 => case(Rules::default()),
        2 => case(tight_rules()),
        1 => case(short_fallback),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// After every push, the tracker's figures are batch's over the log in push order.
    #[test]
    fn tracker_equals_batch((rules, specs, order, offsets) in any_case()) {
        let mut tracker = Tracker::new(rules);
        let mut pushed = Vec::new();
        for (seq, &i) in order.iter().enumerate() {
            let event = specs[i].event(seq as u64);
            tracker.push(event).unwrap();
            pushed.push(event);
            let offset = offsets[seq % offsets.len()];
            check(&tracker, &pushed, evaluation_time(&pushed, &rules, offset), &rules)?;
        }
    }
}

fn late_horizon(rules: &Rules, choice: u8) -> Millis {
    match choice % 6 {
        0 => 0,
        1 => rules.silence,
        2 => rules.reply_window,
        3 => rules.window() / 2,
        4 => 7 * DAY,
        _ => 400 * DAY,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Push some, snapshot, restore, push the rest: the restored tracker agrees with batch
    /// over the events it accepted, and refuses only events it cannot place.
    #[test]
    fn snapshots_continue_exactly(
        (rules, specs, order, offsets) in any_case(),
        cut in any::<prop::sample::Index>(),
        horizon in any::<u8>(),
        compact in any::<bool>(),
    ) {
        let cut = cut.index(order.len() + 1);
        let late_horizon = late_horizon(&rules, horizon);
        let mut tracker = Tracker::new(rules).with_late_horizon(late_horizon);
        let mut pushed = Vec::new();
        for (seq, &i) in order[..cut].iter().enumerate() {
            let event = specs[i].event(seq as u64);
            tracker.push(event).unwrap();
            pushed.push(event);
        }
        let bytes = tracker.snapshot();
        let mut restored = if compact {
            let mut compacted = tracker.clone();
            compacted.compact();
            compacted
        } else {
            Tracker::from_snapshot(&bytes, rules).unwrap()
        };
        prop_assert_eq!(restored.late_horizon(), late_horizon);
        prop_assert_eq!(restored.latest(), tracker.latest());
        // Folding again at the same instant changes nothing.
        prop_assert_eq!(restored.snapshot(), bytes.clone());
        if !pushed.is_empty() {
            let offset = offsets[0];
            check(&restored, &pushed, evaluation_time(&pushed, &rules, offset), &rules)?;
        }
        for (seq, &i) in order.iter().enumerate().skip(cut) {
            let event = specs[i].event(seq as u64);
            let floor = restored.floor();
            match restored.push(event) {
                Ok(()) => pushed.push(event),
                Err(TrackerError::TooLate { at, .. }) => {
                    prop_assert!(at < floor, "refused at {} with the floor at {}", at, floor);
                }
                Err(TrackerError::NeedsFoldedStarts { .. }) => {
                    prop_assert!(restored.floor() > Millis::MIN);
                }
                Err(other) => prop_assert!(false, "unexpected {}", other),
            }
            if pushed.is_empty() {
                continue;
            }
            // Whether it was accepted or refused, the tracker agrees with what it accepted.
            let offset = offsets[seq % offsets.len()];
            check(&restored, &pushed, evaluation_time(&pushed, &rules, offset), &rules)?;
        }
    }
}

/// A tracker with full history places every event, however late.
#[test]
fn full_history_never_refuses() {
    let rules = Rules::default();
    let mut tracker = Tracker::new(rules);
    let customer = |at, seq, c| {
        Event::Conversation(ConversationEvent {
            at,
            seq,
            conversation: ConversationId(c),
            fact: Fact::Message(Author::Customer),
        })
    };
    tracker.push(customer(T0 + 400 * DAY, 0, 0)).unwrap();
    tracker.push(customer(T0, 1, 1)).unwrap();
    let figures = tracker.figures(T0 + 401 * DAY).unwrap();
    assert_eq!(figures.window.starts, 2);
    assert_eq!(
        tracker.figures(T0),
        Err(TrackerError::EvaluatedBeforeLatest {
            evaluated_at: T0,
            latest: T0 + 400 * DAY
        })
    );
}

/// A restored tracker refuses what it folded, and says why.
#[test]
fn restored_tracker_refuses_events_before_its_floor() {
    let rules = Rules::default();
    let mut tracker = Tracker::new(rules);
    let customer = |at, seq, c| {
        Event::Conversation(ConversationEvent {
            at,
            seq,
            conversation: ConversationId(c),
            fact: Fact::Message(Author::Customer),
        })
    };
    for day in 0..20 {
        tracker
            .push(customer(T0 + day * DAY, day as u64, 0))
            .unwrap();
    }
    let mut restored = Tracker::from_snapshot(&tracker.snapshot(), rules).unwrap();
    assert_eq!(restored.floor(), T0 + 12 * DAY);
    assert_eq!(
        restored.push(customer(T0 + 11 * DAY, 20, 1)),
        Err(TrackerError::TooLate {
            at: T0 + 11 * DAY,
            floor: T0 + 12 * DAY
        })
    );
    restored.push(customer(T0 + 12 * DAY, 21, 1)).unwrap();
    assert_eq!(
        Tracker::from_snapshot(&tracker.snapshot(), tight_rules()).err(),
        Some(TrackerError::SnapshotRules)
    );
    let bytes = tracker.snapshot();
    for cut in 0..bytes.len() {
        assert!(Tracker::from_snapshot(&bytes[..cut], rules).is_err());
    }
}

/// After a restore, a spam status that pulls L back a month would need the starts the
/// snapshot let go: the push is refused and changes nothing; with full history it is placed.
#[test]
fn spam_that_reaches_past_the_snapshot_is_refused() {
    let rules = Rules::default();
    let mut full = Tracker::new(rules);
    let mut seq = 0;
    let mut push = |tracker: &mut Tracker, at, c, fact| {
        seq += 1;
        tracker.push(Event::Conversation(ConversationEvent {
            at,
            seq,
            conversation: ConversationId(c),
            fact,
        }))
    };
    // A start every 25 hours: more than a day after the previous answer.
    let start = |k: i64| T0 + k * (DAY + HOUR);
    for k in 0..=60 {
        let c = if k <= 40 { 0 } else { 1 };
        let at = start(k);
        push(&mut full, at, c, Fact::Message(Author::Customer)).unwrap();
        push(&mut full, at + MINUTE, c, Fact::Message(Author::Agent)).unwrap();
    }
    let mut restored = Tracker::from_snapshot(&full.snapshot(), rules).unwrap();
    let now = start(61);
    let before = restored.figures(now).unwrap();
    assert_eq!(before, full.figures(now).unwrap());
    let spam = Fact::Status(Status::Spam);
    let spam_at = start(60) + HOUR;
    assert_eq!(
        push(&mut restored, spam_at, 1, spam),
        Err(TrackerError::NeedsFoldedStarts { at: spam_at })
    );
    assert_eq!(restored.figures(now).unwrap(), before);
    push(&mut full, spam_at, 1, spam).unwrap();
    let after = full.figures(now).unwrap();
    assert_eq!(after.excluded.spam, 20);
    assert_eq!(after.window.to, Some(start(40)));
}

/// A deterministic generator (splitmix64) for the large logs below.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A busy inbox: hundreds of conversations over a few months, a few percent of the events
/// late by up to two days.
fn large_log(seed: u64, events: usize) -> Vec<Event> {
    let mut mix = Mix(seed);
    let mut at = T0;
    let mut specs = Vec::with_capacity(events);
    for _ in 0..events {
        at += match mix.below(100) {
            0..=79 => mix.below(3 * MINUTE as u64) as Millis,
            80..=98 => mix.below(HOUR as u64) as Millis,
            _ => mix.below(DAY as u64) as Millis,
        };
        let c = mix.below(300) as u32;
        let kind = match mix.below(100) {
            0..=44 => Kind::Message(c, Author::Customer),
            45..=84 => Kind::Message(c, Author::Agent),
            85..=89 => Kind::Message(c, Author::Automation),
            90..=93 => Kind::Status(c, Status::Done),
            94 if mix.below(4) == 0 => Kind::Status(c, Status::Spam),
            94..=96 => Kind::Status(c, Status::Open),
            97 => Kind::Away(Some(at + mix.below(DAY as u64) as Millis + 1)),
            98 => Kind::Away(None),
            _ => Kind::Available,
        };
        let delay = match mix.below(1000) {
            0..=39 => mix.below(2 * DAY as u64) as Millis,
            // Later than the late horizon of the restored tracker below.
            40..=44 => mix.below(6 * DAY as u64) as Millis,
            _ => 0,
        };
        specs.push((at + delay, Spec { at, kind }));
    }
    in_arrival_order(specs)
}

/// Events as pushed, by arrival: a late event arrives after later ones, and its `seq` is
/// its place in the arrivals.
fn in_arrival_order(mut specs: Vec<(Millis, Spec)>) -> Vec<Event> {
    specs.sort_by_key(|&(arrival, _)| arrival);
    let specs = specs.into_iter().enumerate();
    specs
        .map(|(seq, (_, spec))| spec.event(seq as u64))
        .collect()
}

fn check_large(tracker: &Tracker, pushed: &[Event], rules: &Rules) {
    let latest = pushed.iter().map(Event::at).max().unwrap();
    for evaluated_at in [latest, latest + rules.reply_window / 2, latest + 3 * DAY] {
        let assessment = evaluate(&batch_log_of(pushed), evaluated_at, rules);
        assert_eq!(tracker.figures(evaluated_at).unwrap(), assessment.figures);
        assert_eq!(
            tracker.recent_included(evaluated_at).unwrap(),
            expected_recent(&assessment.included, evaluated_at, rules)
        );
    }
}

fn batch_log_of(pushed: &[Event]) -> Log {
    let mut log = Log {
        conversation_names: (0..300).map(|c| format!("c{c}")).collect(),
        ..Log::default()
    };
    for &event in pushed {
        log.push(event);
    }
    log
}

/// Thousands of events, hundreds of conversations: deep trees and long window moves; then a
/// snapshot midway, and the rest pushed to the restored tracker, compacted now and then.
#[test]
fn large_logs_agree_with_batch() {
    for (seed, rules) in [
        (1, Rules::default()),
        (2, tight_rules()),
        (3, Rules::default()),
    ] {
        let events = large_log(seed, 16_000);
        let mut tracker = Tracker::new(rules).with_late_horizon(3 * DAY);
        let mut pushed = Vec::new();
        let (first_half, second_half) = events.split_at(events.len() / 2);
        for (i, &event) in first_half.iter().enumerate() {
            tracker.push(event).unwrap();
            pushed.push(event);
            if i % 2_000 == 1_999 {
                check_large(&tracker, &pushed, &rules);
            }
        }
        let mut restored = Tracker::from_snapshot(&tracker.snapshot(), rules).unwrap();
        check_large(&restored, &pushed, &rules);
        let mut refused = 0;
        for (i, &event) in second_half.iter().enumerate() {
            match restored.push(event) {
                Ok(()) => pushed.push(event),
                Err(TrackerError::TooLate { .. } | TrackerError::NeedsFoldedStarts { .. }) => {
                    refused += 1
                }
                Err(other) => panic!("{other}"),
            }
            if i % 2_000 == 1_999 {
                check_large(&restored, &pushed, &rules);
                // Folding again as a long-running server would, to bound its memory.
                restored.compact();
                check_large(&restored, &pushed, &rules);
            }
        }
        check_large(&restored, &pushed, &rules);
        assert!(refused < second_half.len() / 50, "{refused} refused");
    }
}

/// The caller's side of letting conversations go: it names conversations for the tracker,
/// keeps what it pushed (as a store would), takes a conversation back before its next event,
/// and renames the rest when the tracker renumbers them. Events use the log's own ids.
struct Caller {
    tracker: Tracker,
    /// The log's conversation -> the tracker's id, while held.
    ids: Vec<Option<u32>>,
    /// The tracker's id -> the log's conversation.
    names: Vec<u32>,
    /// Every conversation event pushed, by the log's conversation.
    history: Vec<Vec<ConversationEvent>>,
    availability: Vec<AvailabilityEvent>,
    released: usize,
}

impl Caller {
    fn new(tracker: Tracker, conversations: usize) -> Self {
        Self {
            tracker,
            ids: vec![None; conversations],
            names: Vec::new(),
            history: vec![Vec::new(); conversations],
            availability: Vec::new(),
            released: 0,
        }
    }

    fn push(&mut self, event: Event) -> Result<(), TrackerError> {
        match event {
            Event::Availability(e) => {
                self.tracker.push(event)?;
                self.availability.push(e);
            }
            Event::Conversation(e) => {
                let name = e.conversation.0 as usize;
                let id = match self.ids[name] {
                    Some(id) => ConversationId(id),
                    None => {
                        let id = ConversationId(self.names.len() as u32);
                        let history: Vec<_> = self.history[name]
                            .iter()
                            .map(|&h| ConversationEvent {
                                conversation: id,
                                ..h
                            })
                            .collect();
                        self.tracker.readmit(id, &history, &self.availability)?;
                        self.ids[name] = Some(id.0);
                        self.names.push(name as u32);
                        id
                    }
                };
                self.tracker.push(Event::Conversation(ConversationEvent {
                    conversation: id,
                    ..e
                }))?;
                self.history[name].push(e);
            }
        }
        Ok(())
    }

    fn release_idle(&mut self) {
        let renumbered = self.tracker.release_idle();
        let mut names = vec![0; renumbered.iter().flatten().count()];
        // Ids past the mapping's end were never pushed to: they are let go too.
        for (old, &name) in self.names.iter().enumerate() {
            match renumbered.get(old).copied().flatten() {
                Some(new) => {
                    names[new.0 as usize] = name;
                    self.ids[name as usize] = Some(new.0);
                }
                None => {
                    self.ids[name as usize] = None;
                    self.released += 1;
                }
            }
        }
        self.names = names;
    }

    /// The tracker's recent starts, named as in the log.
    fn recent_included(&self, evaluated_at: Millis) -> Vec<Start> {
        let mut starts = self.tracker.recent_included(evaluated_at).unwrap();
        for start in &mut starts {
            start.conversation = ConversationId(self.names[start.conversation.0 as usize]);
        }
        starts
    }

    fn check(&self, pushed: &[Event], evaluated_at: Millis, rules: &Rules, names: usize) {
        let assessment = evaluate(&named_log(pushed, names), evaluated_at, rules);
        assert_eq!(
            self.tracker.figures(evaluated_at).unwrap(),
            assessment.figures,
            "figures after {} events",
            pushed.len()
        );
        assert_eq!(
            self.recent_included(evaluated_at),
            expected_recent(&assessment.included, evaluated_at, rules),
            "recent starts after {} events",
            pushed.len()
        );
    }
}

fn named_log(pushed: &[Event], names: usize) -> Log {
    let mut log = Log {
        conversation_names: (0..names).map(|c| format!("c{c}")).collect(),
        ..Log::default()
    };
    for &event in pushed {
        log.push(event);
    }
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Conversations let go now and then, taken back at their next event, through snapshots:
    /// the figures stay batch's over the events accepted, and only events the tracker cannot
    /// place are refused.
    #[test]
    fn conversations_let_go_come_back_exactly(
        (rules, specs, order, offsets) in any_case(),
        horizon in any::<u8>(),
        releases in prop::collection::vec(0u8..8, 1..16),
    ) {
        let late_horizon = late_horizon(&rules, horizon);
        let tracker = Tracker::new(rules).with_late_horizon(late_horizon);
        let mut caller = Caller::new(tracker, CONVERSATIONS as usize);
        let mut pushed = Vec::new();
        for (seq, &i) in order.iter().enumerate() {
            let event = specs[i].event(seq as u64);
            let floor = caller.tracker.floor();
            match caller.push(event) {
                Ok(()) => pushed.push(event),
                Err(TrackerError::TooLate { at, .. }) => {
                    prop_assert!(at < floor, "refused at {} with the floor at {}", at, floor);
                }
                Err(TrackerError::NeedsFoldedStarts { .. }) => {
                    prop_assert!(caller.tracker.floor() > Millis::MIN);
                }
                Err(other) => prop_assert!(false, "unexpected {}", other),
            }
            match releases[seq % releases.len()] {
                0 => caller.release_idle(),
                1 => {
                    caller.release_idle();
                    let bytes = caller.tracker.snapshot();
                    caller.tracker = Tracker::from_snapshot(&bytes, rules).unwrap();
                    prop_assert_eq!(caller.tracker.snapshot(), bytes);
                }
                _ => {}
            }
            if pushed.is_empty() {
                continue;
            }
            let offset = offsets[seq % offsets.len()];
            let at = evaluation_time(&pushed, &rules, offset);
            caller.check(&pushed, at, &rules, CONVERSATIONS as usize);
        }
    }
}

/// A shop over a year: each conversation busy for a few days, most never heard from again,
/// some coming back weeks later, some spam, Away every night; events a little late.
fn drifting_log(seed: u64, events: usize, conversations: u32) -> Vec<Event> {
    let mut mix = Mix(seed);
    let mut at = T0;
    let mut specs = Vec::with_capacity(events);
    for i in 0..events {
        at += mix.below(40 * MINUTE as u64) as Millis;
        // Conversations are taken up in order, a few dozen at a time, and now and then an old
        // one comes back.
        let front = (i as u64 * u64::from(conversations) / events as u64) as u32;
        let c = match mix.below(50) {
            0 => mix.below(u64::from(front) + 1) as u32,
            _ => front.saturating_sub(mix.below(40) as u32),
        };
        let kind = match mix.below(100) {
            0..=44 => Kind::Message(c, Author::Customer),
            45..=84 => Kind::Message(c, Author::Agent),
            85..=88 => Kind::Message(c, Author::Automation),
            89..=93 => Kind::Status(c, Status::Done),
            94 => Kind::Status(c, Status::Spam),
            95..=96 => Kind::Status(c, Status::Open),
            97 => Kind::Away(Some(at + mix.below(DAY as u64) as Millis + 1)),
            98 => Kind::Away(None),
            _ => Kind::Available,
        };
        let delay = match mix.below(100) {
            0..=2 => mix.below(2 * DAY as u64) as Millis,
            _ => 0,
        };
        specs.push((at + delay, Spec { at, kind }));
    }
    in_arrival_order(specs)
}

/// Letting go as a long-running server does: memory holds the conversations of the last
/// weeks, a small part of the year's, and the figures stay batch's, through snapshots.
#[test]
fn letting_go_bounds_memory_and_keeps_figures() {
    const NAMES: u32 = 6_000;
    for (seed, rules) in [(4, Rules::default()), (5, tight_rules())] {
        let events = drifting_log(seed, 24_000, NAMES);
        let tracker = Tracker::new(rules).with_late_horizon(3 * DAY);
        let mut caller = Caller::new(tracker, NAMES as usize);
        let mut pushed = Vec::new();
        let mut refused = 0;
        let mut most_resident = 0;
        for (i, &event) in events.iter().enumerate() {
            match caller.push(event) {
                Ok(()) => pushed.push(event),
                Err(TrackerError::TooLate { .. } | TrackerError::NeedsFoldedStarts { .. }) => {
                    refused += 1
                }
                Err(other) => panic!("{other}"),
            }
            if i % 1_000 == 999 {
                caller.release_idle();
                most_resident = most_resident.max(caller.tracker.resident_conversations());
                caller.check(
                    &pushed,
                    pushed.iter().map(Event::at).max().unwrap(),
                    &rules,
                    NAMES as usize,
                );
            }
            if i % 6_000 == 5_999 {
                caller.tracker = Tracker::from_snapshot(&caller.tracker.snapshot(), rules).unwrap();
            }
        }
        let latest = pushed.iter().map(Event::at).max().unwrap();
        for evaluated_at in [latest, latest + rules.reply_window / 2, latest + 3 * DAY] {
            caller.check(&pushed, evaluated_at, &rules, NAMES as usize);
        }
        let touched = caller.history.iter().filter(|h| !h.is_empty()).count();
        assert!(
            caller.released > touched / 2,
            "{} let go of {touched}",
            caller.released
        );
        assert!(
            most_resident < touched / 3,
            "{most_resident} held of {touched}"
        );
        assert!(refused < events.len() / 50, "{refused} refused");
    }
}
