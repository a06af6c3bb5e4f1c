//! `pronto badge`: the figures of an event log, as JSON or as a short report.

use crate::read::{Source, read_log};
use clap::Args;
use pronto_badge::report::Report;
use pronto_badge::{Millis, Rate, Rules, evaluate, parse_instant};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct BadgeArgs {
    /// The event log (JSON Lines), or `-` for standard input.
    file: String,
    /// Evaluate at this time instead of the latest event's (e.g. 2026-11-24T12:00:00Z).
    #[arg(long, value_parser = parse_at)]
    at: Option<Millis>,
    /// Print the contract's JSON instead of a report.
    #[arg(long)]
    json: bool,
    /// The minimum response rate, as a decimal (0.9) or a percentage (90%).
    #[arg(long, value_parser = parse_rate, default_value = "0.9")]
    min_rate: Rate,
    /// The maximum response time, e.g. 900s, 15m, 1h30m.
    #[arg(long, value_parser = parse_duration, default_value = "15m")]
    max_time: Millis,
    /// The window in days (Facebook's help text speaks of 7).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    window_days: u32,
}

fn parse_at(text: &str) -> Result<Millis, String> {
    parse_instant(text).ok_or_else(|| {
        format!("bad time {text:?}: expected YYYY-MM-DDTHH:MM:SS[.mmm] then Z or ±HH:MM")
    })
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    Rate::parse(text).map_err(|error| error.to_string())
}

/// A duration such as `900`, `900s`, `15m`, `1h30m` or `1.5s`.
pub fn parse_duration(text: &str) -> Result<Millis, String> {
    let invalid = || format!("bad duration {text:?}: expected e.g. 900s, 15m or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: Millis = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: Millis = match unit {
            "ms" => 1,
            "s" | "" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            _ => return Err(invalid()),
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let millis = value * scale as f64;
        if !millis.is_finite() || millis.fract() != 0.0 || millis > 1e15 {
            return Err(invalid());
        }
        total += millis as Millis;
        rest = after;
    }
    if total <= 0 {
        return Err(format!("bad duration {text:?}: it must be positive"));
    }
    Ok(total)
}

pub fn run(args: BadgeArgs) -> ExitCode {
    match compute(&args) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("pronto badge: {message}");
            ExitCode::from(2)
        }
    }
}

fn compute(args: &BadgeArgs) -> Result<String, String> {
    let rules = Rules {
        min_rate: args.min_rate,
        max_response_time: args.max_time,
        window_days: args.window_days,
        ..Rules::default()
    };
    rules.validate().map_err(|error| error.to_string())?;
    let source = match args.file.as_str() {
        "-" => Source::Stdin,
        path => Source::File(PathBuf::from(path)),
    };
    let log = read_log(&source, std::io::stderr().is_terminal()).map_err(|e| e.to_string())?;
    let evaluated_at = match (args.at, log.latest_instant()) {
        (Some(at), _) => at,
        (None, Some(latest)) => latest,
        (None, None) => {
            return Err(
                "the log has no events: nothing to evaluate (give --at to evaluate an empty log)"
                    .into(),
            );
        }
    };
    let assessment = evaluate(&log, evaluated_at, &rules);
    let report = Report::new(&assessment.figures, &rules, serde_json::json!({}));
    Ok(report.to_json())
}
