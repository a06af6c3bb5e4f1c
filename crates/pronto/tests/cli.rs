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

/// A data folder for a server's SQLite database, removed when dropped.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pronto-serve-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        DataDir(dir)
    }

    /// `pronto` in this folder, on its own SQLite database, with a clean environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pronto"));
        command
            .args(args)
            .current_dir(&self.0)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/pronto.db", self.0.display()),
            )
            .env("PRONTO_LISTEN", "127.0.0.1:0")
            .env_remove("PRONTO_CONFIG")
            .env_remove("PRONTO_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.command(args).stdin(Stdio::piped()).spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A plain HTTP/1.1 GET on loopback: the status line's code and the body.
fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

#[test]
fn a_user_and_a_token_made_from_the_cli_work_against_a_running_server() {
    let data = DataDir::new("serve");
    let added = data.run(
        &[
            "user",
            "add",
            "ann@example.com",
            "--admin",
            "--name",
            "Ann",
            "--workspace",
            "Shop",
        ],
        "a long enough password\n",
    );
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    assert!(
        stdout(&added).contains("ann@example.com"),
        "{}",
        stdout(&added)
    );

    let mut server = data
        .command(&["serve"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        let read = std::io::BufRead::read_line(&mut lines, &mut line).unwrap();
        assert!(read > 0, "the server stopped before listening");
        if let Some(rest) = line.strip_prefix("Pronto is listening on http://") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    // A token made while the server runs, on the same database.
    let token = data.run(&["token", "add", "ann@example.com", "--label", "ci"], "");
    assert_eq!(token.status.code(), Some(0), "{}", stderr(&token));
    let token = stdout(&token).trim().to_owned();
    assert!(token.len() >= 32, "{token:?}");

    assert_eq!(http_get(&addr, "/healthz", None).0, 200);
    let (code, body) = http_get(&addr, "/api/v1/inboxes", Some(&token));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        http_get(&addr, "/api/v1/inboxes", Some("wrong-token")).0,
        401
    );

    // SIGTERM: the server stops accepting, finishes, and exits 0.
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_bad_setting_is_named() {
    let data = DataDir::new("bad-setting");
    let output = data
        .command(&["serve"])
        .env("PRONTO_LISTEN", "nowhere")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("PRONTO_LISTEN"),
        "{}",
        stderr(&output)
    );

    let output = data.run(&["user", "add", "not-an-email"], "a long enough password\n");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
}
