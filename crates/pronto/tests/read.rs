//! The streaming reader as `pronto badge` uses it: logs larger than a block (4 MB), read from a
//! file and from standard input, give the figures of the plain computation, and a refused log
//! names its lowest-numbered bad line whichever block it is in.

use pronto_badge::jsonl::parse_log;
use pronto_badge::report::Report;
use pronto_badge::{Rules, evaluate};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn pronto(args: &[&str], stdin: Option<Vec<u8>>) -> Output {
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
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("a pipe");
        // Written from another thread: the input is larger than a pipe holds.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let output = child.wait_with_output().expect("pronto ends");
    if let Some(writer) = writer {
        writer.join().expect("the writer ends");
    }
    output
}

/// A file in a fresh temporary folder, removed when dropped.
struct TempLog(PathBuf);

impl TempLog {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!("pronto-read-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.jsonl");
        std::fs::write(&path, bytes).unwrap();
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

/// About `lines` lines of a busy inbox: conversations that come back, automation, statuses,
/// availability changes, ignored fields with escapes and non-ASCII text, some lines written
/// out of order, blank lines, CRLF now and then.
fn big_log(lines: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(lines * 130);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let start = 1_790_000_000_000i64;
    for i in 0..lines {
        let at = start + i as i64 * 7_000 - random(3) as i64 * 60_000;
        let at = pronto_badge::format_instant(at);
        let conversation = random(lines as u64 / 8 + 1);
        let line = match random(40) {
            0 => format!(
                r#"{{"type":"status","conversation":"c{conversation}","at":"{at}","status":"done"}}"#
            ),
            1 => format!(r#"{{"type":"availability","at":"{at}","status":"away"}}"#),
            2 => format!(r#"{{"type":"availability","at":"{at}","status":"available"}}"#),
            3 => String::new(),
            4 => format!(
                r#"{{"type": "message", "conversation": "c{conversation}", "at": "{at}", "author": "automation", "text": "Merci \"{i}\" — до свидания 😀"}}"#
            ),
            5 => format!(
                r#"{{"at":"{at}","type":"message","author":"customer","conversation":"c\u0031{conversation}","mid":{i}}}"#
            ),
            n => {
                let author = if n % 2 == 0 { "customer" } else { "agent" };
                format!(
                    r#"{{"type":"message","conversation":"c{conversation}","at":"{at}","author":"{author}","mid":"m_{i}"}}"#
                )
            }
        };
        text.extend_from_slice(line.as_bytes());
        text.extend_from_slice(if random(50) == 0 { b"\r\n" } else { b"\n" });
    }
    text
}

/// The plain computation's JSON without the forecast (not part of the exactness check).
fn expected_figures(bytes: &[u8]) -> serde_json::Value {
    let log = parse_log(bytes).expect("a valid log");
    let rules = Rules::default();
    let assessment = evaluate(&log, log.latest_instant().unwrap(), &rules);
    let report = Report::new(&assessment.figures, &rules, serde_json::json!({}));
    figures(serde_json::to_value(&report).unwrap())
}

fn figures(mut value: serde_json::Value) -> serde_json::Value {
    value.as_object_mut().unwrap().remove("forecast");
    value
}

fn json_figures(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    figures(serde_json::from_slice(&output.stdout).expect("JSON on stdout"))
}

#[test]
fn a_log_of_several_blocks_gives_the_plain_figures_from_a_file_and_from_stdin() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(big_log(120_000));
    assert!(bytes.len() > 9 << 20, "more than two blocks");
    let expected = expected_figures(&bytes);
    assert!(expected["window"]["starts"].as_u64().unwrap() > 100);

    let file = TempLog::new("big", &bytes);
    let from_file = pronto(&["badge", file.path(), "--json"], None);
    assert_eq!(json_figures(&from_file), expected);

    let from_stdin = pronto(&["badge", "-", "--json"], Some(bytes));
    assert_eq!(json_figures(&from_stdin), expected);
}

#[test]
fn the_lowest_bad_line_is_named_even_when_a_later_block_fails_first() {
    let mut bytes = big_log(120_000);
    // A bad line deep in the third block, and another near the end of the first one: a worker
    // may well find the later one first.
    let lines: Vec<&[u8]> = bytes.split(|&c| c == b'\n').collect();
    let (early, late) = (40_000, 100_000);
    let mut damaged = Vec::with_capacity(bytes.len());
    for (i, line) in lines.iter().enumerate() {
        match i + 1 {
            n if n == late => damaged.extend_from_slice(b"{\"type\":\"message\""),
            n if n == early => damaged.extend_from_slice(b"[\"not an object\"]"),
            _ => damaged.extend_from_slice(line),
        }
        if i + 1 < lines.len() {
            damaged.push(b'\n');
        }
    }
    bytes = damaged;
    let exact = parse_log(&bytes).unwrap_err();
    assert_eq!(exact.line, early as u64);

    let file = TempLog::new("bad", &bytes);
    for output in [
        pronto(&["badge", file.path(), "--json"], None),
        pronto(&["badge", "-"], Some(bytes.clone())),
    ] {
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("pronto badge: {exact}\n")
        );
    }
}

#[test]
fn crlf_bom_and_blank_lines_read_as_the_contract_says() {
    let lf = big_log(2_000);
    let crlf: Vec<u8> = String::from_utf8(lf.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n\r\n  \t\n")
        .into_bytes();
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(&crlf);
    let expected = expected_figures(&lf);
    assert_eq!(expected_figures(&with_bom), expected);
    let file = TempLog::new("crlf", &with_bom);
    assert_eq!(
        json_figures(&pronto(&["badge", file.path(), "--json"], None)),
        expected
    );

    // A BOM anywhere else is not skipped: that line is not JSON.
    let mut late_bom = lf.clone();
    late_bom.extend_from_slice(b"\xEF\xBB\xBF{}\n");
    let file = TempLog::new("late-bom", &late_bom);
    let output = pronto(&["badge", file.path(), "--json"], None);
    assert_eq!(output.status.code(), Some(2));
    let exact = parse_log(&late_bom).unwrap_err();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("pronto badge: {exact}\n")
    );
}

#[test]
fn an_empty_input_and_a_missing_file_are_refused() {
    let output = pronto(&["badge", "-", "--json"], Some(Vec::new()));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no events"));

    let output = pronto(&["badge", "/nonexistent/pronto/log.jsonl"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("pronto badge: cannot read /nonexistent/pronto/log.jsonl: ")
    );
}
