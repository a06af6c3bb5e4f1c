//! `pronto badge` as a user runs it: arguments, exit codes, stdout and stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn pronto(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pronto"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pronto runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// A log file in a fresh temporary folder, removed when dropped.
struct TempLog(PathBuf);

impl TempLog {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pronto-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.jsonl");
        std::fs::write(&path, text).unwrap();
        TempLog(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

const GOOD: &str = r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"customer"}
{"type":"message","conversation":"c1","at":"2026-11-01T10:00:02Z","author":"automation"}
{"type":"message","conversation":"c1","at":"2026-11-01T10:07:30Z","author":"agent"}
{"type":"status","conversation":"c1","at":"2026-11-01T10:08:00Z","status":"done"}
{"type":"availability","at":"2026-11-01T19:00:00Z","status":"away"}
{"type":"availability","at":"2026-11-02T08:00:00Z","status":"available"}
"#;

#[test]
fn prints_the_contract_json() {
    let log = TempLog::new("contract", GOOD);
    let output = pronto(&["badge", log.path(), "--json"], None);
    let value = json(&output);
    let expected = serde_json::json!({
        "evaluated_at": "2026-11-02T08:00:00Z",
        "badge": true,
        "response_rate": 1.0,
        "response_time_seconds": 450.0,
        "window": {"basis": "last_10", "from": "2026-11-01T10:00:00Z", "to": "2026-11-01T10:00:00Z",
                   "starts": 1, "answered": 1},
        "pending": 0,
        "excluded": {"spam": 0, "done": 0, "away": 0},
        "thresholds": {"min_rate": 0.9, "max_time_seconds": 900}
    });
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&value[key], want, "{key}");
    }
    assert_eq!(value["forecast"]["state"], "at_risk");
    assert!(stderr(&output).is_empty());
}

#[test]
fn reads_standard_input() {
    let output = pronto(&["badge", "-", "--json"], Some(GOOD));
    assert_eq!(json(&output)["response_time_seconds"], 450.0);
}

#[test]
fn the_human_report_ends_with_the_forecast() {
    let log = TempLog::new("human", GOOD);
    let output = pronto(&["badge", log.path()], None);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with("Very responsive to messages: HELD"),
        "{text}"
    );
    assert!(text.contains("Response time  7 min 30 s"), "{text}");
    assert!(
        text.trim_end().ends_with("more answers a day late."),
        "{text}"
    );
}

#[test]
fn names_the_first_bad_line_and_prints_nothing_on_stdout() {
    let text = format!(
        "{GOOD}\n{}\n{}\n",
        r#"{"type":"message","conversation":"c2","at":"2026-11-01T10:00:00Z","author":"bot"}"#,
        r#"{"type":"message","conversation":"c2","at":"not a time","author":"agent"}"#,
    );
    let log = TempLog::new("bad", &text);
    let output = pronto(&["badge", log.path(), "--json"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    // GOOD has 6 lines plus its trailing newline, then a blank line: the bad one is line 8.
    assert_eq!(
        stderr(&output).trim(),
        "pronto badge: line 8: unknown author \"bot\""
    );
}

#[test]
fn a_bad_line_after_the_evaluation_time_still_refuses_the_log() {
    let text = format!(
        "{GOOD}{}\n",
        r#"{"type":"message","conversation":"c2","at":"2027-01-01T00:00:00Z"}"#
    );
    let log = TempLog::new("late-bad", &text);
    let output = pronto(&["badge", log.path(), "--at", "2026-11-01T12:00:00Z"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("line 7: missing field \"author\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_empty_log_needs_an_evaluation_time() {
    let log = TempLog::new("empty", "\n  \n");
    let output = pronto(&["badge", log.path()], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no events"), "{}", stderr(&output));

    let output = pronto(
        &[
            "badge",
            log.path(),
            "--json",
            "--at",
            "2026-11-01T00:00:00Z",
        ],
        None,
    );
    let value = json(&output);
    assert_eq!(value["badge"], false);
    assert_eq!(value["response_rate"], serde_json::Value::Null);
    assert_eq!(
        value["window"],
        serde_json::json!({"basis": "last_10", "from": null, "to": null, "starts": 0, "answered": 0})
    );
}

#[test]
fn an_evaluation_time_before_every_event_gives_an_empty_window() {
    let log = TempLog::new("before", GOOD);
    let output = pronto(
        &[
            "badge",
            log.path(),
            "--json",
            "--at",
            "2026-10-01T00:00:00+03:00",
        ],
        None,
    );
    let value = json(&output);
    assert_eq!(value["evaluated_at"], "2026-09-30T21:00:00Z");
    assert_eq!(value["window"]["starts"], 0);
    assert_eq!(value["pending"], 0);
    assert_eq!(value["response_time_seconds"], serde_json::Value::Null);
}

#[test]
fn settings_change_the_thresholds_and_the_window() {
    let log = TempLog::new("settings", GOOD);
    let output = pronto(
        &[
            "badge",
            log.path(),
            "--json",
            "--min-rate",
            "95%",
            "--max-time",
            "5m",
            "--window-days",
            "7",
        ],
        None,
    );
    let value = json(&output);
    assert_eq!(
        value["thresholds"],
        serde_json::json!({"min_rate": 0.95, "max_time_seconds": 300})
    );
    assert_eq!(value["badge"], false, "450 s is over 5 minutes");
    assert_eq!(value["window"]["basis"], "last_10");
}

#[test]
fn bad_arguments_are_refused_with_a_clear_message() {
    let log = TempLog::new("args", GOOD);
    for (args, message) in [
        (vec!["--at", "yesterday"], "bad time \"yesterday\""),
        (vec!["--min-rate", "1.5"], "out of range"),
        (vec!["--min-rate", "ninety"], "invalid rate"),
        (vec!["--max-time", "15 minutes"], "bad duration"),
        (vec!["--max-time", "0s"], "must be positive"),
        (vec!["--window-days", "0"], "window-days"),
    ] {
        let output = pronto(&[&["badge", log.path()], &args[..]].concat(), None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_missing_file_is_named() {
    let output = pronto(&["badge", "/nonexistent/inbox.jsonl"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read /nonexistent/inbox.jsonl"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_shipped_example_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inbox.jsonl");
    let value = json(&pronto(&["badge", example, "--json"], None));
    assert_eq!(value["window"]["basis"], "30_days");
    assert_eq!(value["pending"], 2);
    assert_eq!(
        value["excluded"],
        serde_json::json!({"spam": 2, "done": 1, "away": 1})
    );
}

#[test]
fn reads_a_graph_api_export_file_or_folder() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let file = format!("{examples}/graph-export.json");
    let folder = format!("{examples}/graph-export");
    let page = "104857600123456";
    let from_file = json(&pronto(
        &[
            "badge",
            "--format",
            "graph",
            "--page-id",
            page,
            &file,
            "--json",
        ],
        None,
    ));
    let from_folder = json(&pronto(
        &[
            "badge",
            "--format",
            "graph",
            "--page-id",
            page,
            &folder,
            "--json",
        ],
        None,
    ));
    assert_eq!(from_file, from_folder);
    assert_eq!(from_file["window"]["starts"], 9);
    assert_eq!(from_file["window"]["answered"], 8);

    let report = pronto(
        &["badge", "--format", "graph", "--page-id", page, &file],
        None,
    );
    assert!(
        stdout(&report).contains("automatic replies count as answers"),
        "{}",
        stdout(&report)
    );

    let wrong_page = pronto(
        &[
            "badge",
            "--format",
            "graph",
            "--page-id",
            "1",
            &file,
            "--json",
        ],
        None,
    );
    assert!(
        stderr(&wrong_page).contains("is the page id right?"),
        "{}",
        stderr(&wrong_page)
    );

    let no_page = pronto(&["badge", "--format", "graph", &file], None);
    assert_eq!(no_page.status.code(), Some(2));
    assert!(
        stderr(&no_page).contains("--page-id"),
        "{}",
        stderr(&no_page)
    );

    let not_an_export = TempLog::new("graph-bad", "{\"data\": 3}");
    let refused = pronto(
        &[
            "badge",
            "--format",
            "graph",
            "--page-id",
            page,
            not_an_export.path(),
        ],
        None,
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("log.jsonl: data"),
        "{}",
        stderr(&refused)
    );
}
