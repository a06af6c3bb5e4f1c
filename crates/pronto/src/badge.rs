//! `pronto badge`: the figures of an event log, as JSON or as a short report.

use crate::read::{Source, read_log};
use clap::Args;
use pronto_badge::Log;
use pronto_badge::forecast::{BadgeState, Forecast, ForecastSettings, forecast};
use pronto_badge::graph::GraphImport;
use pronto_badge::report::Report;
use pronto_badge::{
    Basis, ConversationId, Figures, Millis, Rate, Rules, Utc, evaluate, parse_instant,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The formats `pronto badge` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The contract's JSON Lines event log.
    Jsonl,
    /// A Graph API export of a Page's conversations (a file or a folder of files).
    Graph,
}

#[derive(Args, Debug)]
pub struct BadgeArgs {
    /// The event log (JSON Lines), or `-` for standard input; with `--format graph`, an export
    /// file or a folder of them.
    file: String,
    /// What the input is.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// With `--format graph`: the Page's id; its messages are the agents' replies.
    #[arg(long, required_if_eq("format", "graph"))]
    page_id: Option<String>,
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
    let log = match (args.format, &args.page_id) {
        (Format::Graph, Some(page_id)) => read_graph(&args.file, page_id)?,
        _ => read_log(&source, std::io::stderr().is_terminal()).map_err(|e| e.to_string())?,
    };
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
    let names = |id: ConversationId| log.conversation_name(id).to_owned();
    let forecast = forecast(
        &assessment.figures,
        &assessment.included,
        &rules,
        &ForecastSettings::default(),
        &names,
    );
    let report = Report::new(&assessment.figures, &rules, forecast);
    Ok(if args.json {
        report.to_json()
    } else {
        let mut text = human_report(&report, &assessment.figures, &rules);
        if args.format == Format::Graph {
            text.push_str(GRAPH_CAVEAT);
        }
        text
    })
}

const GRAPH_CAVEAT: &str = "\n\nFrom a Graph API export: it holds no automation, statuses or Away, so the \
    page's own automatic replies count as answers here, and Spam, Done and Away are not left out.";

/// Reads a Graph API export: one file, or every file of a folder in file-name order.
fn read_graph(path: &str, page_id: &str) -> Result<Log, String> {
    let path = Path::new(path);
    let cannot_read =
        |path: &Path, error: std::io::Error| format!("cannot read {}: {error}", path.display());
    let metadata = std::fs::metadata(path).map_err(|e| cannot_read(path, e))?;
    let files = if metadata.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| cannot_read(path, e))? {
            let entry = entry.map_err(|e| cannot_read(path, e))?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden
                && entry
                    .file_type()
                    .map_err(|e| cannot_read(path, e))?
                    .is_file()
            {
                files.push(entry.path());
            }
        }
        files.sort();
        if files.is_empty() {
            return Err(format!("{} holds no export files", path.display()));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut import = GraphImport::new(page_id);
    for file in &files {
        let bytes = std::fs::read(file).map_err(|e| cannot_read(file, e))?;
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        import
            .add_document(&name, &bytes)
            .map_err(|e| e.to_string())?;
    }
    let counts = import.counts();
    if counts.messages > 0 && counts.page_messages == 0 {
        eprintln!(
            "pronto badge: warning: no message in the export is from page {page_id}: is the page id right?"
        );
    }
    if counts.messages == 0 && counts.conversations > 0 {
        eprintln!(
            "pronto badge: warning: the export has conversations but no messages: was it made with fields=messages{{created_time,from,message}}?"
        );
    }
    Ok(import.finish())
}

/// The short report for people: the state, the two figures against their thresholds, what
/// they were computed over, and the forecast in a sentence.
fn human_report(report: &Report<Forecast>, figures: &Figures, rules: &Rules) -> String {
    let window = &figures.window;
    let state = match report.forecast.state {
        BadgeState::Held => "HELD",
        BadgeState::AtRisk => "HELD, AT RISK",
        BadgeState::Lost => "NOT HELD",
    };
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "Very responsive to messages: {state}   (evaluated at {})",
        report.evaluated_at
    ));
    line(format!(
        "  Response rate  {}  (needs at least {})",
        match window.response_rate() {
            Some(rate) => format!(
                "{}  ({} of {} answered)",
                percent(rate),
                window.answered,
                window.starts
            ),
            None => "none yet".to_owned(),
        },
        percent(rules.min_rate.as_f64()),
    ));
    line(format!(
        "  Response time  {}  (needs at most {})",
        match window.response_time_seconds() {
            Some(seconds) => format!(
                "{}  (mean of the fastest {})",
                duration(seconds),
                window.kept
            ),
            None => "none yet".to_owned(),
        },
        duration(rules.max_response_time as f64 / 1000.0),
    ));
    let counted = match window.starts {
        1 => "1 new conversation".to_owned(),
        n => format!("{n} new conversations"),
    };
    let basis = match window.basis {
        Basis::Days => format!("{counted} in the last {} days", rules.window_days),
        Basis::LastStarts if window.starts == 0 => "no new conversation settled yet".to_owned(),
        Basis::LastStarts => format!(
            "the last {counted} (fewer than {} in {} days)",
            rules.fallback_starts, rules.window_days
        ),
    };
    let span = match (window.from, window.to) {
        (Some(from), Some(to)) => format!(", {} to {}", Utc(from), Utc(to)),
        _ => String::new(),
    };
    line(format!("  Window         {basis}{span}"));
    line(format!(
        "  Waiting        {} within the reply window, not counted yet",
        figures.pending
    ));
    let excluded = figures.excluded;
    line(format!(
        "  Left out       {} spam, {} done unanswered, {} during Away",
        excluded.spam, excluded.done, excluded.away
    ));
    line(String::new());
    line(report.forecast.summary.clone());
    for deadline in &report.forecast.deadlines {
        let when = if deadline.overdue {
            "overdue since"
        } else {
            "answer by"
        };
        line(format!(
            "  {}  {when} {}",
            deadline.conversation, deadline.answer_by
        ));
    }
    out.truncate(out.trim_end().len());
    out
}

/// A rate as a percentage, rounded down so that it never shows a threshold it does not meet.
fn percent(rate: f64) -> String {
    format!("{:.1} %", (rate * 1000.0).floor() / 10.0)
}

fn duration(seconds: f64) -> String {
    let whole = seconds.floor() as u64;
    match whole {
        0..60 => format!("{seconds:.1} s"),
        60..3600 if whole.is_multiple_of(60) && seconds.fract() == 0.0 => {
            format!("{} min", whole / 60)
        }
        60..3600 => format!("{} min {} s", whole / 60, whole % 60),
        _ if whole.is_multiple_of(3600) && seconds.fract() == 0.0 => format!("{} h", whole / 3600),
        _ => format!("{} h {} min", whole / 3600, whole % 3600 / 60),
    }
}
