//! The tracker with a million starts in its window: one push in time order, one late push,
//! one figures read; and a year of conversations let go and taken back. Run with
//! `cargo bench -p pronto-badge --bench tracker`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pronto_badge::time::{DAY, MINUTE};
use pronto_badge::tracker::Tracker;
use pronto_badge::{Author, ConversationEvent, ConversationId, Event, Fact, Millis, Rules};

const T0: Millis = 1_795_521_600_000;
const STARTS: u32 = 1_000_000;
/// The window's span, over which the starts are spread evenly.
const SPAN: Millis = 30 * DAY - MINUTE;

/// A deterministic hash for the pseudo-random parts (splitmix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn message(at: Millis, seq: u64, conversation: u32, author: Author) -> Event {
    Event::Conversation(ConversationEvent {
        at,
        seq,
        conversation: ConversationId(conversation),
        fact: Fact::Message(author),
    })
}

/// One start per conversation, ~90 % answered within 1 to 20 minutes.
struct Inbox {
    tracker: Tracker,
    /// Conversation `c` started at `start_at(c)`; its answer came `responses[c]` later.
    responses: Vec<Option<Millis>>,
    now: Millis,
    seq: u64,
    next_conversation: u32,
    /// The in-order stream's last event was a first message, not yet answered.
    awaiting_answer: bool,
}

fn start_at(conversation: u32) -> Millis {
    T0 + Millis::from(conversation) * SPAN / Millis::from(STARTS)
}

impl Inbox {
    fn build() -> Self {
        let responses: Vec<Option<Millis>> = (0..STARTS)
            .map(|c| {
                let h = mix(u64::from(c));
                (!h.is_multiple_of(10)).then(|| MINUTE + (h >> 8) as Millis % (19 * MINUTE))
            })
            .collect();
        let mut events: Vec<(Millis, u32, Author)> = Vec::with_capacity(2 * STARTS as usize);
        for c in 0..STARTS {
            events.push((start_at(c), c, Author::Customer));
            if let Some(r) = responses[c as usize] {
                events.push((start_at(c) + r, c, Author::Agent));
            }
        }
        events.sort_unstable_by_key(|&(at, c, author)| (at, author == Author::Customer, c));
        let mut tracker = Tracker::new(Rules::default());
        let started = Instant::now();
        for (seq, &(at, c, author)) in events.iter().enumerate() {
            tracker.push(message(at, seq as u64, c, author)).unwrap();
        }
        let now = events.last().map_or(T0, |e| e.0);
        eprintln!(
            "built: {} events, {} starts in the window, in {:.1?}; resident memory {}",
            events.len(),
            tracker.figures(now).unwrap().window.starts,
            started.elapsed(),
            resident_memory()
        );
        Inbox {
            tracker,
            responses,
            now,
            seq: events.len() as u64,
            next_conversation: STARTS,
            awaiting_answer: false,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The next event in time order: a new conversation's first message, then its answer.
    fn next_in_order(&mut self) -> Event {
        self.now += 1_300;
        let seq = self.next_seq();
        self.awaiting_answer = !self.awaiting_answer;
        if self.awaiting_answer {
            self.next_conversation += 1;
            message(self.now, seq, self.next_conversation - 1, Author::Customer)
        } else {
            message(self.now, seq, self.next_conversation - 1, Author::Agent)
        }
    }

    /// A late agent message, earlier than the answer an answered conversation already has:
    /// its start's response time changes (the conversation is derived again).
    fn late_answer(&mut self, k: u64) -> Event {
        let (answered, r) = (0..)
            .map(|attempt| (mix(k << 8 | attempt) % u64::from(STARTS)) as u32)
            .find_map(|c| self.responses[c as usize].map(|r| (c, r)))
            .expect("most conversations are answered");
        let earlier = (r / 2).max(1);
        self.responses[answered as usize] = Some(earlier);
        message(
            start_at(answered) + earlier,
            self.next_seq(),
            answered,
            Author::Agent,
        )
    }

    /// A late first message of a new conversation, an hour ago.
    fn late_start(&mut self) -> Event {
        let c = self.next_conversation;
        self.next_conversation += 1;
        message(self.now - 60 * MINUTE, self.next_seq(), c, Author::Customer)
    }
}

/// The process's resident memory, as Linux reports it.
fn resident_memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:"));
    line.map_or("unknown".into(), |l| l["VmRSS:".len()..].trim().to_owned())
}

/// Times single pushes one by one, to report their distribution rather than a mean.
fn latencies(inbox: &mut Inbox, count: usize, next: impl Fn(&mut Inbox, u64) -> Event) {
    let mut times: Vec<Duration> = Vec::with_capacity(count);
    for k in 0..count {
        let event = next(inbox, k as u64);
        let started = Instant::now();
        inbox.tracker.push(event).unwrap();
        times.push(started.elapsed());
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    eprintln!(
        "  {count} single pushes: median {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

fn tracker(c: &mut Criterion) {
    let mut inbox = Inbox::build();

    let started = Instant::now();
    let snapshot = inbox.tracker.snapshot();
    let took = started.elapsed();
    let started = Instant::now();
    let restored = Tracker::from_snapshot(&snapshot, Rules::default()).unwrap();
    eprintln!(
        "snapshot: {} bytes ({:.1} bytes per start), written in {took:.1?}, restored in {:.1?}",
        snapshot.len(),
        snapshot.len() as f64 / f64::from(STARTS),
        started.elapsed()
    );
    assert_eq!(
        restored.figures(inbox.now).unwrap(),
        inbox.tracker.figures(inbox.now).unwrap()
    );
    drop(restored);

    eprintln!("in order:");
    latencies(&mut inbox, 200_000, |inbox, _| inbox.next_in_order());
    eprintln!("late answer:");
    latencies(&mut inbox, 200_000, |inbox, k| inbox.late_answer(k));
    eprintln!("late start:");
    latencies(&mut inbox, 200_000, |inbox, _| inbox.late_start());

    let mut group = c.benchmark_group("tracker_1m_starts");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("push_in_order", |b| {
        b.iter(|| {
            let event = inbox.next_in_order();
            inbox.tracker.push(black_box(event)).unwrap();
        })
    });
    let mut k = 1u64 << 40;
    group.bench_function("push_late_answer", |b| {
        b.iter(|| {
            k += 1;
            let event = inbox.late_answer(k);
            inbox.tracker.push(black_box(event)).unwrap();
        })
    });
    group.bench_function("push_late_start", |b| {
        b.iter(|| {
            let event = inbox.late_start();
            inbox.tracker.push(black_box(event)).unwrap();
        })
    });
    let now = inbox.now;
    group.bench_function("figures", |b| {
        b.iter(|| black_box(inbox.tracker.figures(black_box(now)).unwrap()))
    });
    group.finish();
}

/// A year of a shop whose 500,000 customers each wrote once and were answered: how much of it
/// a tracker holds once it lets the idle ones go, what letting go costs, and what taking one
/// back costs (its two events handed to `readmit`, then its new message pushed). Timed by
/// hand: each conversation comes back once, so criterion's repetitions do not fit.
fn letting_go(_: &mut Criterion) {
    const CONVERSATIONS: u32 = 500_000;
    const COMEBACKS: u32 = 100_000;
    const YEAR: Millis = 365 * DAY;
    let first_at = |c: u32| T0 + Millis::from(c) * YEAR / Millis::from(CONVERSATIONS);
    let answer = |c: u32| MINUTE + (mix(u64::from(c)) >> 8) as Millis % (19 * MINUTE);
    let history = |c: u32, id: ConversationId| {
        let at = first_at(c);
        [(at, Author::Customer), (at + answer(c), Author::Agent)].map(|(at, author)| {
            ConversationEvent {
                at,
                seq: 2 * u64::from(c) + u64::from(author == Author::Agent),
                conversation: id,
                fact: Fact::Message(author),
            }
        })
    };
    let mut tracker = Tracker::new(Rules::default());
    for c in 0..CONVERSATIONS {
        for event in history(c, ConversationId(c)) {
            tracker.push(Event::Conversation(event)).unwrap();
        }
    }
    // The same year, never let go: what the figures must equal at the end.
    let mut whole = tracker.clone();
    let full = tracker.snapshot().len();
    let started = Instant::now();
    let renumbered = tracker.release_idle();
    let took = started.elapsed();
    let held = tracker.resident_conversations();
    eprintln!(
        "a year of {CONVERSATIONS} conversations: release_idle in {took:.1?} keeps {held} (the \
         last weeks'); the snapshot goes from {full} to {} bytes",
        tracker.snapshot().len()
    );
    let now = first_at(CONVERSATIONS) + DAY;
    // The oldest ones let go come back one by one, with a new message a year on.
    let gone = (0..CONVERSATIONS).filter(|&c| renumbered[c as usize].is_none());
    let mut times = Vec::with_capacity(COMEBACKS as usize);
    let mut seq = 2 * u64::from(CONVERSATIONS);
    for (k, c) in gone.take(COMEBACKS as usize).enumerate() {
        let id = ConversationId(held as u32 + k as u32);
        seq += 1;
        let comeback = message(now + k as Millis, seq, id.0, Author::Customer);
        let started = Instant::now();
        tracker.readmit(id, &history(c, id), &[]).unwrap();
        tracker.push(black_box(comeback)).unwrap();
        times.push(started.elapsed());
        let Event::Conversation(comeback) = comeback else {
            unreachable!("a message")
        };
        let comeback = ConversationEvent {
            conversation: ConversationId(c),
            ..comeback
        };
        whole.push(Event::Conversation(comeback)).unwrap();
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    eprintln!(
        "  {COMEBACKS} comebacks (readmit + push): median {:?}, p90 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
    let at = now + Millis::from(COMEBACKS);
    let after = tracker.figures(at).unwrap();
    assert_eq!(after, whole.figures(at).unwrap());
    assert_eq!(after.pending, u64::from(COMEBACKS));
}

criterion_group!(benches, tracker, letting_go);
criterion_main!(benches);
