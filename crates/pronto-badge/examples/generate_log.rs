//! Writes a realistic inbox event log (JSON Lines) to standard output, for benchmarks.
//!
//! ```text
//! cargo run --release -p pronto-badge --example generate_log -- \
//!     --events 10000000 --conversations 1000000 --days 60 --seed 1 > bench-data/big.jsonl
//! ```
//!
//! Customers write, automation acknowledges about one message in ten, agents answer after
//! realistic delays (most within minutes, some after hours, some never), conversations come
//! back after days, some are moved to Done or Spam, and the inbox goes away every evening
//! (scheduled, with `until`) and sometimes by hand. Messages carry ignored fields (`mid`,
//! sometimes `text` with escapes and non-ASCII text), a few producers write spaces and another
//! key order, and about one line in a hundred is out of order. The same arguments always give
//! the same bytes.

use pronto_badge::time::{DAY, HOUR, MINUTE, Millis, SECOND, Utc};
use std::io::{BufWriter, Write};
use std::process::ExitCode;

struct Args {
    events: u64,
    conversations: u64,
    days: u64,
    seed: u64,
    start: Millis,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        events: 1_000_000,
        conversations: 100_000,
        days: 60,
        seed: 1,
        start: pronto_badge::parse_instant("2026-09-01T00:00:00Z").expect("a valid instant"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--events" => args.events = number()?,
            "--conversations" => args.conversations = number()?,
            "--days" => args.days = number()?,
            "--seed" => args.seed = number()?,
            "--start" => {
                args.start = pronto_badge::parse_instant(&value)
                    .ok_or_else(|| format!("--start: bad time {value}"))?
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.conversations == 0 || args.days == 0 || args.events < args.conversations {
        return Err("need --days > 0 and --events >= --conversations > 0".into());
    }
    Ok(args)
}

/// SplitMix64: small, fast and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn chance(&mut self, percent_tenths: u64) -> bool {
        self.below(1000) < percent_tenths
    }

    /// A duration between `low` and `high`, log-uniform (most are short).
    fn log_uniform(&mut self, low: Millis, high: Millis) -> Millis {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let (a, b) = ((low as f64).ln(), (high as f64).ln());
        (a + (b - a) * u).exp() as Millis
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Customer,
    Agent,
    Automation,
    Open,
    Done,
    Spam,
}

/// One event before it is written: `extra` seeds its ignored fields and formatting.
#[derive(Clone, Copy)]
struct Raw {
    at: Millis,
    conversation: u32,
    kind: u8,
    extra: u32,
}

const KINDS: [Kind; 6] = [
    Kind::Customer,
    Kind::Agent,
    Kind::Automation,
    Kind::Open,
    Kind::Done,
    Kind::Spam,
];

fn kind_code(kind: Kind) -> u8 {
    kind as u8
}

/// Appends one conversation's `len` events, starting at `t`.
fn conversation(rng: &mut Rng, id: u32, mut t: Millis, len: u64, out: &mut Vec<Raw>) {
    let mut push = |rng: &mut Rng, at: Millis, kind: Kind| {
        out.push(Raw {
            at,
            conversation: id,
            kind: kind_code(kind),
            extra: rng.next() as u32,
        });
    };
    let spam = rng.chance(10);
    let mut left = len;
    while left > 0 {
        // The customer opens an exchange, sometimes with a few messages in a row.
        push(rng, t, Kind::Customer);
        left -= 1;
        if left > 0 && rng.chance(100) {
            t += rng.log_uniform(SECOND, 5 * SECOND);
            push(rng, t, Kind::Automation);
            left -= 1;
        }
        while left > 0 && rng.chance(250) {
            t += rng.log_uniform(5 * SECOND, 10 * MINUTE);
            push(rng, t, Kind::Customer);
            left -= 1;
        }
        if spam && left > 0 {
            t += rng.log_uniform(10 * SECOND, HOUR);
            push(rng, t, Kind::Spam);
            left -= 1;
            continue;
        }
        // Most are answered, most answers are fast; some take hours, some never come.
        if left > 0 && !rng.chance(60) {
            let delay = if rng.chance(850) {
                rng.log_uniform(20 * SECOND, 20 * MINUTE)
            } else {
                rng.log_uniform(20 * MINUTE, 30 * HOUR)
            };
            t += delay;
            push(rng, t, Kind::Agent);
            left -= 1;
            while left > 1 && rng.chance(350) {
                t += rng.log_uniform(10 * SECOND, 2 * HOUR);
                push(rng, t, Kind::Customer);
                t += rng.log_uniform(10 * SECOND, 30 * MINUTE);
                push(rng, t, Kind::Agent);
                left -= 2;
            }
        }
        if left > 0 && rng.chance(300) {
            t += rng.log_uniform(MINUTE, 3 * DAY);
            let status = if rng.chance(850) {
                Kind::Done
            } else {
                Kind::Open
            };
            push(rng, t, status);
            left -= 1;
        }
        // The customer comes back: usually after days (a new start), sometimes the same day.
        t += if rng.chance(700) {
            rng.log_uniform(DAY, 10 * DAY)
        } else {
            rng.log_uniform(MINUTE, 20 * HOUR)
        };
    }
}

/// The inbox's availability: away most nights until the morning, sometimes by hand at noon.
fn availability(rng: &mut Rng, start: Millis, days: u64, out: &mut Vec<(Millis, u32)>) {
    for day in 0..days as Millis {
        if rng.chance(700) {
            let night = start + day * DAY + 22 * HOUR + rng.log_uniform(SECOND, 30 * MINUTE);
            out.push((night, 0));
        }
        if rng.chance(200) {
            let lunch = start + day * DAY + 12 * HOUR;
            out.push((lunch, 1));
            out.push((lunch + rng.log_uniform(10 * MINUTE, HOUR), 2));
        }
    }
}

const WORDS: [&str; 16] = [
    "hello",
    "bonjour",
    "merci",
    "order",
    "\\\"quoted\\\"",
    "line\\nbreak",
    "caf\\u00e9",
    "здравствуйте",
    "спасибо",
    "😀",
    "price?",
    "tab\\tstop",
    "naïve",
    "slash\\/path",
    "#4521",
    "ok",
];

fn write_event(out: &mut Vec<u8>, raw: Raw, names: &[u64]) {
    let kind = KINDS[raw.kind as usize];
    let extra = raw.extra;
    let at = Utc(raw.at);
    let conversation = names[raw.conversation as usize];
    let spaced = extra % 100 < 4;
    let (colon, comma) = if spaced { (": ", ", ") } else { (":", ",") };
    let _ = match kind {
        Kind::Customer | Kind::Agent | Kind::Automation => {
            let author = match kind {
                Kind::Customer => "customer",
                Kind::Agent => "agent",
                _ => "automation",
            };
            if extra % 100 == 7 {
                // Another producer: another key order.
                let _ = write!(
                    out,
                    "{{\"at\"{colon}\"{at}\"{comma}\"author\"{colon}\"{author}\"{comma}\"conversation\"{colon}\"t_{conversation}\"{comma}\"type\"{colon}\"message\"{comma}\"mid\"{colon}{}}}",
                    extra >> 8
                );
            } else {
                let _ = write!(
                    out,
                    "{{\"type\"{colon}\"message\"{comma}\"conversation\"{colon}\"t_{conversation}\"{comma}\"at\"{colon}\"{at}\"{comma}\"author\"{colon}\"{author}\"{comma}\"mid\"{colon}\"m_{:08x}\"",
                    extra
                );
                if extra % 10 < 2 {
                    let _ = write!(out, "{comma}\"text\"{colon}\"");
                    let mut bits = extra >> 4;
                    for i in 0..(2 + extra % 5) {
                        if i > 0 {
                            out.push(b' ');
                        }
                        out.extend_from_slice(WORDS[(bits & 15) as usize].as_bytes());
                        bits = bits.rotate_right(4) ^ 0x5bd1_e995;
                    }
                    out.push(b'"');
                }
                out.push(b'}');
            }
            Ok(())
        }
        Kind::Open | Kind::Done | Kind::Spam => {
            let status = match kind {
                Kind::Open => "open",
                Kind::Done => "done",
                _ => "spam",
            };
            write!(
                out,
                "{{\"type\"{colon}\"status\"{comma}\"conversation\"{colon}\"t_{conversation}\"{comma}\"at\"{colon}\"{at}\"{comma}\"status\"{colon}\"{status}\"}}"
            )
        }
    };
    out.push(b'\n');
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("generate_log: {message}");
            return ExitCode::from(2);
        }
    };
    let mut rng = Rng(args.seed);
    let span = args.days as Millis * DAY;

    let mut events: Vec<Raw> = Vec::with_capacity(args.events as usize + 64);
    let mut left = args.events;
    for c in 0..args.conversations {
        let remaining = args.conversations - c;
        let mean = left / remaining;
        let len = if remaining == 1 {
            left
        } else {
            // Between 1 and about twice the mean, so that the total comes out right.
            (1 + rng.below(2 * mean.max(1) - 1)).min(left - (remaining - 1))
        };
        left -= len;
        // Start early enough that most of the conversation fits in the period.
        let start = args.start + rng.below((span as u64).max(1)) as Millis;
        conversation(&mut rng, c as u32, start, len, &mut events);
    }
    // Late conversations run a little past the period's end: the event count stays exact.
    events.sort_by_key(|e| e.at);

    // Times: whole seconds for some producers, milliseconds for others.
    for e in &mut events {
        if e.extra % 3 == 0 {
            e.at -= e.at.rem_euclid(SECOND);
        }
    }
    // About one line in a hundred is written late (a few lines after its place).
    let n = events.len();
    for i in 0..n {
        if rng.chance(10) {
            let j = (i + 1 + rng.below(50) as usize).min(n - 1);
            events.swap(i, j);
        }
    }

    let mut changes = Vec::new();
    availability(&mut rng, args.start, args.days, &mut changes);
    changes.sort_by_key(|c| c.0);

    // Conversation names look like Messenger thread ids.
    let names: Vec<u64> = (0..args.conversations)
        .map(|_| 100_000_000_000_000 + rng.below(900_000_000_000_000))
        .collect();

    let stdout = std::io::stdout();
    let mut writer = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut buffer = Vec::with_capacity(1 << 16);
    let mut next_change = 0;
    let mut written = 0u64;
    for raw in events {
        while next_change < changes.len() && changes[next_change].0 <= raw.at {
            let (at, what) = changes[next_change];
            let line = match what {
                0 => {
                    let until = at + 8 * HOUR;
                    format!(
                        "{{\"type\":\"availability\",\"at\":\"{}\",\"status\":\"away\",\"until\":\"{}\"}}\n",
                        Utc(at),
                        Utc(until)
                    )
                }
                1 => format!(
                    "{{\"type\":\"availability\",\"at\":\"{}\",\"status\":\"away\"}}\n",
                    Utc(at)
                ),
                _ => format!(
                    "{{\"type\":\"availability\",\"at\":\"{}\",\"status\":\"available\"}}\n",
                    Utc(at)
                ),
            };
            buffer.extend_from_slice(line.as_bytes());
            next_change += 1;
        }
        write_event(&mut buffer, raw, &names);
        written += 1;
        if buffer.len() >= 1 << 15 {
            if writer.write_all(&buffer).is_err() {
                return ExitCode::FAILURE;
            }
            buffer.clear();
        }
    }
    if writer.write_all(&buffer).is_err() || writer.flush().is_err() {
        return ExitCode::FAILURE;
    }
    eprintln!(
        "generate_log: {written} conversation events, {} availability changes",
        next_change
    );
    ExitCode::SUCCESS
}
