//! Every rule and example of `shared/docs/responsiveness.md`, with its boundaries.

use pronto_badge::jsonl::parse_log;
use pronto_badge::time::{DAY, HOUR, MINUTE, SECOND};
use pronto_badge::{Basis, Figures, Millis, Rules, evaluate, parse_instant};

const T0: &str = "2026-11-01T10:00:00Z";

fn t0() -> Millis {
    parse_instant(T0).unwrap()
}

/// A tiny log language: one event per entry, times as offsets from T0.
#[derive(Clone, Copy)]
enum E {
    Customer(&'static str, Millis),
    Agent(&'static str, Millis),
    Automation(&'static str, Millis),
    Status(&'static str, Millis, &'static str),
    Away(Millis),
    AwayUntil(Millis, Millis),
    Available(Millis),
}

fn time(offset: Millis) -> String {
    pronto_badge::format_instant(t0() + offset)
}

fn jsonl(events: &[E]) -> String {
    let line = |event: &E| match event {
        E::Customer(c, at) | E::Agent(c, at) | E::Automation(c, at) => {
            let author = match event {
                E::Customer(..) => "customer",
                E::Agent(..) => "agent",
                _ => "automation",
            };
            format!(
                r#"{{"type":"message","conversation":"{c}","at":"{}","author":"{author}"}}"#,
                time(*at)
            )
        }
        E::Status(c, at, status) => {
            format!(
                r#"{{"type":"status","conversation":"{c}","at":"{}","status":"{status}"}}"#,
                time(*at)
            )
        }
        E::Away(at) => format!(
            r#"{{"type":"availability","at":"{}","status":"away"}}"#,
            time(*at)
        ),
        E::AwayUntil(at, until) => format!(
            r#"{{"type":"availability","at":"{}","status":"away","until":"{}"}}"#,
            time(*at),
            time(*until)
        ),
        E::Available(at) => format!(
            r#"{{"type":"availability","at":"{}","status":"available"}}"#,
            time(*at)
        ),
    };
    events.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn figures_at(events: &[E], at: Millis, rules: &Rules) -> Figures {
    let log = parse_log(jsonl(events).as_bytes()).expect("a valid log");
    evaluate(&log, t0() + at, rules).figures
}

fn figures(events: &[E]) -> Figures {
    let log = parse_log(jsonl(events).as_bytes()).expect("a valid log");
    evaluate(&log, log.latest_instant().unwrap(), &Rules::default()).figures
}

use E::*;

#[test]
fn example_an_auto_reply_is_not_the_answer() {
    let f = figures(&[
        Customer("c1", 0),
        Automation("c1", 2 * SECOND),
        Agent("c1", 7 * MINUTE + 30 * SECOND),
    ]);
    assert_eq!((f.window.starts, f.window.answered), (1, 1));
    assert_eq!(f.window.response_time_seconds(), Some(450.0));
    assert!(f.badge);
}

#[test]
fn example_the_next_day_is_a_new_start_but_three_minutes_is_not() {
    let reply = 7 * MINUTE + 30 * SECOND;
    let next_day = reply + 24 * HOUR + 52 * MINUTE + 30 * SECOND; // 11:00 the next day
    let f = figures(&[
        Customer("c1", 0),
        Agent("c1", reply),
        Customer("c1", next_day),
        Agent("c1", next_day + 2 * MINUTE),
        Customer("c1", next_day + 5 * MINUTE),
    ]);
    assert_eq!((f.window.starts, f.window.answered), (2, 2));
    assert_eq!(f.window.kept_total, reply + 2 * MINUTE);
}

#[test]
fn example_the_slowest_tenth_is_forgiven() {
    let mut events = Vec::new();
    let names: Vec<&'static str> = (0..20).map(|i| &*format!("c{i}").leak()).collect();
    for (i, name) in names.iter().enumerate() {
        let start = i as Millis * HOUR;
        let delay = match i {
            18 => 3_600 * SECOND,
            19 => 7_200 * SECOND,
            _ => 60 * SECOND,
        };
        events.push(Customer(name, start));
        events.push(Agent(name, start + delay));
    }
    let f = figures(&events);
    assert_eq!((f.window.answered, f.window.kept), (20, 18));
    assert_eq!(f.window.response_time_seconds(), Some(60.0));
}

#[test]
fn example_away_resets_itself_after_twelve_hours() {
    // The inbox goes away at 19:00; a start at 22:00 is excluded, one at 07:30 counts.
    let f = figures(&[
        Away(9 * HOUR),
        Customer("c1", 12 * HOUR),
        Customer("c2", 21 * HOUR + 30 * MINUTE),
        Agent("c2", 21 * HOUR + 35 * MINUTE),
    ]);
    assert_eq!(f.excluded.away, 1);
    assert_eq!((f.window.starts, f.window.answered), (1, 1));
}

#[test]
fn example_two_starts_at_one_instant_the_later_line_is_in_the_last_ten() {
    let mut events = vec![Customer("old-a", -40 * DAY), Customer("old-b", -40 * DAY)];
    let names: Vec<&'static str> = (0..9).map(|i| &*format!("new{i}").leak()).collect();
    for (i, name) in names.iter().enumerate() {
        events.push(Customer(name, i as Millis * HOUR));
        events.push(Agent(name, i as Millis * HOUR + MINUTE));
    }
    let f = figures_at(&events, 2 * DAY, &Rules::default());
    assert_eq!(f.window.basis, Basis::LastStarts);
    assert_eq!(f.window.starts, 10);
    assert_eq!(f.window.answered, 9);
    assert_eq!(f.window.from, Some(t0() - 40 * DAY));

    // Swapping which of the two old conversations is answered shows which one is in.
    let answered_first = [&events[..], &[Agent("old-a", -40 * DAY + MINUTE)]].concat();
    assert_eq!(
        figures_at(&answered_first, 2 * DAY, &Rules::default())
            .window
            .answered,
        9
    );
    let answered_second = [&events[..], &[Agent("old-b", -40 * DAY + MINUTE)]].concat();
    assert_eq!(
        figures_at(&answered_second, 2 * DAY, &Rules::default())
            .window
            .answered,
        10
    );
}

#[test]
fn exactly_twenty_four_hours_of_silence_is_a_new_start() {
    let f = figures(&[Customer("c1", 0), Customer("c1", DAY)]);
    assert_eq!(f.window.starts + f.pending, 2);
    let f = figures(&[Customer("c1", 0), Customer("c1", DAY - 1)]);
    assert_eq!(f.window.starts + f.pending, 1);
    // The silence is measured from the last message of either side.
    let f = figures(&[
        Customer("c1", 0),
        Agent("c1", HOUR),
        Customer("c1", DAY + HOUR - 1),
    ]);
    assert_eq!(f.window.starts + f.pending, 1);
}

#[test]
fn a_customer_answering_the_page_within_a_day_is_not_a_start() {
    let f = figures(&[Agent("c1", 0), Customer("c1", HOUR)]);
    assert_eq!(f.window.starts + f.pending, 0);
    let f = figures(&[Agent("c1", 0), Customer("c1", DAY)]);
    assert_eq!(f.pending, 1);
}

#[test]
fn automation_neither_breaks_nor_ends_a_silence() {
    // An automated ping every 23 hours does not hide a customer who writes after 25 hours.
    let f = figures(&[
        Customer("c1", 0),
        Agent("c1", MINUTE),
        Automation("c1", 23 * HOUR),
        Customer("c1", 25 * HOUR),
    ]);
    assert_eq!(f.window.starts + f.pending, 2);
    // And an automated message is never the response.
    let f = figures_at(
        &[Customer("c1", 0), Automation("c1", SECOND)],
        2 * DAY,
        &Rules::default(),
    );
    assert_eq!((f.window.starts, f.window.answered), (1, 0));
}

#[test]
fn a_response_at_the_same_instant_counts_only_after_the_start() {
    let f = figures(&[Customer("c1", 0), Agent("c1", 0)]);
    assert_eq!((f.window.answered, f.window.kept_total), (1, 0));
    // The agent's line before the customer's: the agent wrote first, so no start at all.
    let f = figures(&[Agent("c1", 0), Customer("c1", 0)]);
    assert_eq!(f.window.starts + f.pending, 0);
}

#[test]
fn an_answer_after_the_reply_window_still_answers() {
    let f = figures(&[Customer("c1", 0), Agent("c1", 30 * HOUR)]);
    assert_eq!((f.window.starts, f.window.answered), (1, 1));
    assert_eq!(f.window.kept_total, 30 * HOUR);
}

#[test]
fn pending_until_exactly_twenty_four_hours_old() {
    let events = [Customer("c1", 0)];
    let f = figures_at(&events, DAY - 1, &Rules::default());
    assert_eq!((f.pending, f.window.starts), (1, 0));
    let f = figures_at(&events, DAY, &Rules::default());
    assert_eq!((f.pending, f.window.starts, f.window.answered), (0, 1, 0));
    assert!(!f.badge);
}

#[test]
fn the_window_holds_thirty_days_up_to_the_latest_start() {
    let mut events = Vec::new();
    let names: Vec<&'static str> = (0..12).map(|i| &*format!("c{i}").leak()).collect();
    // Eleven answered starts from day 0 to day 10, then the latest at day 30 exactly.
    for (i, name) in names.iter().take(11).enumerate() {
        events.push(Customer(name, i as Millis * DAY));
        events.push(Agent(name, i as Millis * DAY + MINUTE));
    }
    events.push(Customer(names[11], 30 * DAY));
    events.push(Agent(names[11], 30 * DAY + MINUTE));
    let f = figures(&events);
    // The start exactly 30 days before the latest one is out; the other ten and the latest are in.
    assert_eq!(f.window.basis, Basis::Days);
    assert_eq!(f.window.starts, 11);
    assert_eq!(f.window.from, Some(t0() + DAY));

    // One millisecond later it would be in.
    let mut shifted = events.clone();
    shifted[0] = Customer(names[0], 1);
    shifted[1] = Agent(names[0], MINUTE + 1);
    assert_eq!(figures(&shifted).window.starts, 12);
}

#[test]
fn ten_settled_starts_in_the_window_are_enough_nine_are_not() {
    let names: Vec<&'static str> = (0..11).map(|i| &*format!("c{i}").leak()).collect();
    let mut events = vec![Customer(names[10], -60 * DAY)]; // old and unanswered
    for (i, name) in names.iter().take(10).enumerate() {
        events.push(Customer(name, i as Millis * HOUR));
        events.push(Agent(name, i as Millis * HOUR + MINUTE));
    }
    let f = figures_at(&events, 2 * DAY, &Rules::default());
    assert_eq!(
        (f.window.basis, f.window.starts, f.window.answered),
        (Basis::Days, 10, 10)
    );

    events.truncate(events.len() - 2); // nine recent ones: the last 10 reach back to the old one
    let f = figures_at(&events, 2 * DAY, &Rules::default());
    assert_eq!(
        (f.window.basis, f.window.starts, f.window.answered),
        (Basis::LastStarts, 10, 9)
    );
    assert!(f.badge, "9 of 10 is exactly 90 %");
}

#[test]
fn the_rate_is_tested_exactly() {
    let rate_badge = |answered: usize, starts: usize| {
        let names: Vec<&'static str> = (0..starts).map(|i| &*format!("c{i}").leak()).collect();
        let mut events = Vec::new();
        for (i, name) in names.iter().enumerate() {
            events.push(Customer(name, i as Millis * MINUTE));
            if i < answered {
                events.push(Agent(name, i as Millis * MINUTE + SECOND));
            }
        }
        figures_at(&events, 3 * DAY, &Rules::default()).badge
    };
    assert!(rate_badge(18, 20)); // 0.9·20 is whole
    assert!(!rate_badge(17, 19)); // 0.8947…
    assert!(rate_badge(18, 19));
    assert!(!rate_badge(8, 9));
    assert!(rate_badge(27, 30));
    assert!(!rate_badge(26, 30));
}

#[test]
fn the_time_is_tested_exactly() {
    let with_delay = |delay: Millis| figures(&[Customer("c1", 0), Agent("c1", delay)]).badge;
    assert!(with_delay(900 * SECOND));
    assert!(!with_delay(900 * SECOND + 1));
}

#[test]
fn away_covers_the_twelve_hours_or_until_and_restarts_on_a_repeat() {
    let rules = Rules::default();
    let at = 3 * DAY;
    // Twelve hours exactly after `away`, Away has ended.
    let f = figures_at(
        &[
            Away(0),
            Customer("c1", 12 * HOUR - 1),
            Customer("c2", 12 * HOUR),
        ],
        at,
        &rules,
    );
    assert_eq!((f.excluded.away, f.window.starts), (1, 1));
    // A repeated away restarts the clock.
    let f = figures_at(
        &[Away(0), Away(6 * HOUR), Customer("c1", 17 * HOUR)],
        at,
        &rules,
    );
    assert_eq!(f.excluded.away, 1);
    // `until` replaces the reset, longer or shorter.
    let f = figures_at(
        &[
            AwayUntil(0, 20 * HOUR),
            Customer("c1", 19 * HOUR),
            Customer("c2", 20 * HOUR),
        ],
        at,
        &rules,
    );
    assert_eq!((f.excluded.away, f.window.starts), (1, 1));
    let f = figures_at(&[AwayUntil(0, HOUR), Customer("c1", 2 * HOUR)], at, &rules);
    assert_eq!(f.excluded.away, 0);
    // Available ends it; available without away changes nothing.
    let f = figures_at(
        &[Away(0), Available(HOUR), Customer("c1", 2 * HOUR)],
        at,
        &rules,
    );
    assert_eq!(f.excluded.away, 0);
    let f = figures_at(&[Available(0), Customer("c1", HOUR)], at, &rules);
    assert_eq!((f.excluded.away, f.window.starts), (0, 1));
    // The last change before the start decides, even at the same instant (by line).
    let f = figures_at(&[Away(HOUR), Customer("c1", HOUR)], at, &rules);
    assert_eq!(f.excluded.away, 1);
    let f = figures_at(&[Customer("c1", HOUR), Away(HOUR)], at, &rules);
    assert_eq!(f.excluded.away, 0);
    // Only starts are excluded: a reply during Away is still a response.
    let f = figures_at(
        &[Customer("c1", 0), Away(MINUTE), Agent("c1", 2 * MINUTE)],
        at,
        &rules,
    );
    assert_eq!((f.window.starts, f.window.answered), (1, 1));
}

#[test]
fn done_removes_what_is_still_waiting_even_long_after() {
    let rules = Rules::default();
    // Unanswered, settled for days, then moved to Done: excluded.
    let f = figures_at(
        &[Customer("c1", 0), Status("c1", 5 * DAY, "done")],
        6 * DAY,
        &rules,
    );
    assert_eq!((f.excluded.done, f.window.starts), (1, 0));
    // Answered, then Done: counts.
    let f = figures_at(
        &[
            Customer("c1", 0),
            Agent("c1", MINUTE),
            Status("c1", HOUR, "done"),
        ],
        6 * DAY,
        &rules,
    );
    assert_eq!((f.excluded.done, f.window.answered), (0, 1));
    // Done, then reopened within the segment: the latest status decides.
    let f = figures_at(
        &[
            Customer("c1", 0),
            Status("c1", HOUR, "done"),
            Status("c1", 2 * HOUR, "open"),
        ],
        6 * DAY,
        &rules,
    );
    assert_eq!((f.excluded.done, f.window.starts), (0, 1));
    // Done in an earlier segment does not reach the next start.
    let f = figures_at(
        &[
            Customer("c1", 0),
            Status("c1", HOUR, "done"),
            Customer("c1", 2 * DAY),
        ],
        6 * DAY,
        &rules,
    );
    assert_eq!((f.excluded.done, f.window.starts), (1, 1));
    // Done before the first start counts for nothing.
    let f = figures_at(
        &[Status("c1", 0, "done"), Customer("c1", HOUR)],
        6 * DAY,
        &rules,
    );
    assert_eq!((f.excluded.done, f.window.starts), (0, 1));
}

#[test]
fn spam_is_the_latest_status_anywhere_in_the_conversation() {
    let rules = Rules::default();
    let at = 6 * DAY;
    let f = figures_at(
        &[
            Status("c1", 0, "spam"),
            Customer("c1", HOUR),
            Customer("c1", 3 * DAY),
        ],
        at,
        &rules,
    );
    assert_eq!((f.excluded.spam, f.window.starts), (2, 0));
    let f = figures_at(
        &[
            Customer("c1", 0),
            Status("c1", HOUR, "spam"),
            Status("c1", 2 * HOUR, "open"),
        ],
        at,
        &rules,
    );
    assert_eq!((f.excluded.spam, f.window.starts), (0, 1));
    // Only statuses up to the evaluation time exist.
    let f = figures_at(
        &[Customer("c1", 0), Status("c1", 5 * DAY, "spam")],
        4 * DAY,
        &rules,
    );
    assert_eq!((f.excluded.spam, f.window.starts), (0, 1));
}

#[test]
fn spam_wins_over_done_and_done_over_away() {
    let rules = Rules::default();
    let f = figures_at(
        &[
            Away(0),
            Customer("c1", HOUR),
            Status("c1", 2 * HOUR, "done"),
            Status("c1", 3 * HOUR, "spam"),
        ],
        2 * DAY,
        &rules,
    );
    assert_eq!(
        (f.excluded.spam, f.excluded.done, f.excluded.away),
        (1, 0, 0)
    );
    let f = figures_at(
        &[
            Away(0),
            Customer("c1", HOUR),
            Status("c1", 2 * HOUR, "done"),
        ],
        2 * DAY,
        &rules,
    );
    assert_eq!(
        (f.excluded.spam, f.excluded.done, f.excluded.away),
        (0, 1, 0)
    );
}

#[test]
fn events_after_the_evaluation_time_do_not_exist() {
    let events = [Customer("c1", 0), Agent("c1", HOUR)];
    let f = figures_at(&events, 30 * MINUTE, &Rules::default());
    assert_eq!((f.pending, f.window.starts), (1, 0));
    let f = figures_at(&events, -HOUR, &Rules::default());
    assert_eq!((f.pending, f.window.starts, f.badge), (0, 0, false));
    assert_eq!(f.window.response_rate(), None);
}

#[test]
fn latest_start_includes_pending_ones() {
    // L is the pending start at day 40: the window reaches back 30 days from it, so the starts
    // of days 0–9 fall out and the fallback takes the last ten.
    let names: Vec<&'static str> = (0..11).map(|i| &*format!("c{i}").leak()).collect();
    let mut events = Vec::new();
    for (i, name) in names.iter().take(10).enumerate() {
        events.push(Customer(name, i as Millis * DAY));
        events.push(Agent(name, i as Millis * DAY + MINUTE));
    }
    events.push(Customer(names[10], 40 * DAY));
    let f = figures_at(&events, 40 * DAY + HOUR, &Rules::default());
    assert_eq!(
        (f.pending, f.window.basis, f.window.starts),
        (1, Basis::LastStarts, 10)
    );
}

#[test]
fn a_seven_day_window_is_one_setting_away() {
    let names: Vec<&'static str> = (0..12).map(|i| &*format!("c{i}").leak()).collect();
    let mut events = Vec::new();
    for (i, name) in names.iter().enumerate() {
        events.push(Customer(name, i as Millis * HOUR));
        events.push(Agent(name, i as Millis * HOUR + MINUTE));
    }
    let rules = Rules::seven_days();
    let f = figures_at(&events, DAY, &rules);
    assert_eq!(rules.basis_label(f.window.basis), "7_days");
    assert_eq!(f.window.starts, 12);
}
