//! The plain computation, for checking a faster one: reads a log with the exact reader
//! (`jsonl::parse_log`, on serde_json, the whole file in memory), evaluates it with
//! `batch::evaluate` and prints the contract's JSON without the forecast.
//!
//! ```text
//! verify_log FILE [--at INSTANT] [--compare OUTPUT.json]
//! ```
//!
//! With `--compare`, it checks that the JSON of `pronto badge --json` in OUTPUT.json has the
//! same figures (every key but `forecast`, which is not part of the exactness check) and exits
//! with 1 if not.

use pronto_badge::jsonl::parse_log;
use pronto_badge::report::Report;
use pronto_badge::{Rules, evaluate, parse_instant};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut file, mut at, mut compare) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--at" => at = args.next().and_then(|t| parse_instant(&t)),
            "--compare" => compare = args.next(),
            _ => file = Some(arg),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: verify_log FILE [--at INSTANT] [--compare OUTPUT.json]");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("verify_log: cannot read {file}: {error}");
            return ExitCode::from(2);
        }
    };
    let read = started.elapsed();
    let log = match parse_log(&bytes) {
        Ok(log) => log,
        Err(error) => {
            eprintln!("verify_log: {error}");
            return ExitCode::from(2);
        }
    };
    drop(bytes);
    let parsed = started.elapsed();
    let Some(evaluated_at) = at.or_else(|| log.latest_instant()) else {
        eprintln!("verify_log: the log has no events");
        return ExitCode::from(2);
    };
    let rules = Rules::default();
    let assessment = evaluate(&log, evaluated_at, &rules);
    let evaluated = started.elapsed();
    eprintln!(
        "verify_log: {} events, {} conversations; read {:.2?}, parsed {:.2?}, evaluated {:.2?}",
        log.conversation_events.len() + log.availability_events.len(),
        log.conversation_names.len(),
        read,
        parsed - read,
        evaluated - parsed
    );
    let report = Report::new(&assessment.figures, &rules, serde_json::json!({}));
    let mut expected = serde_json::to_value(&report).expect("a report serializes");
    strip_forecast(&mut expected);
    println!(
        "{}",
        serde_json::to_string_pretty(&expected).expect("serializes")
    );
    if let Some(path) = compare {
        let actual = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        let Some(mut actual) = actual else {
            eprintln!("verify_log: {path} is not readable JSON");
            return ExitCode::from(1);
        };
        strip_forecast(&mut actual);
        if actual != expected {
            eprintln!(
                "verify_log: MISMATCH: {path} has\n{}",
                serde_json::to_string_pretty(&actual).unwrap_or_default()
            );
            return ExitCode::from(1);
        }
        eprintln!("verify_log: {path} has the same figures");
    }
    ExitCode::SUCCESS
}

fn strip_forecast(value: &mut serde_json::Value) {
    if let Some(object) = value.as_object_mut() {
        object.remove("forecast");
    }
}
