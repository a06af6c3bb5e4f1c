//! The independent check: `tests/reference/badge_reference.py`, written from the contract
//! alone, must agree with `pronto badge --json` on every figure — on the hand-written cases and
//! on random logs that stress the rules' boundaries.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python_available() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: python3 is not installed, the reference implementation cannot run");
    }
    found
}

/// The reference takes `--max-time-seconds S`; pronto takes a duration.
fn pronto_args(reference_args: &[String]) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = reference_args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--max-time-seconds" {
            args.push("--max-time".to_owned());
            args.push(format!("{}s", rest.next().expect("a value")));
        } else {
            args.push(arg.clone());
        }
    }
    args
}

fn run_pronto(log: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pronto"))
        .arg("badge")
        .arg(log)
        .arg("--json")
        .args(pronto_args(args))
        .output()
        .expect("pronto runs")
}

fn run_reference(log: &Path, args: &[String]) -> Output {
    Command::new("python3")
        .arg(repo().join("tests/reference/badge_reference.py"))
        .arg(log)
        .args(args)
        .output()
        .expect("python3 runs")
}

/// The number after "line " in an error message, if any.
fn bad_line(stderr: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(stderr);
    let after = text.split("line ").nth(1)?;
    after.split(':').next()?.trim().parse().ok()
}

fn figures_of(output: &Output) -> Value {
    let mut value: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    value.as_object_mut().expect("an object").remove("forecast");
    value
}

/// Compares pronto with an expectation; returns a description of the difference.
fn compare(log: &Path, args: &[String], expected: &Output) -> Option<String> {
    let actual = run_pronto(log, args);
    let name = log.display();
    match (expected.status.code(), actual.status.code()) {
        (Some(0), Some(0)) => {
            let (want, got) = (figures_of(expected), figures_of(&actual));
            (want != got)
                .then(|| format!("{name} {args:?}:\n  reference {want}\n  pronto    {got}"))
        }
        (Some(2), Some(2)) => {
            let (want, got) = (bad_line(&expected.stderr), bad_line(&actual.stderr));
            (want != got).then(|| {
                format!(
                    "{name}: refused at different lines:\n  reference {}  pronto {}",
                    String::from_utf8_lossy(&expected.stderr).trim(),
                    String::from_utf8_lossy(&actual.stderr).trim()
                )
            })
        }
        (want, got) => Some(format!(
            "{name} {args:?}: exit {want:?} vs {got:?}; pronto said {}",
            String::from_utf8_lossy(&actual.stderr).trim()
        )),
    }
}

#[test]
fn the_hand_written_cases_agree() {
    let cases = repo().join("tests/reference/cases");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("the cases folder")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 30, "the cases are there");
    let mut differences = Vec::new();
    for log in &logs {
        let args: Vec<String> = std::fs::read_to_string(log.with_extension("args"))
            .map(|text| text.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let actual = run_pronto(log, &args);
        if let Ok(json) = std::fs::read_to_string(log.with_extension("expected.json")) {
            let want: Value = serde_json::from_str(&json).expect("expected JSON");
            if actual.status.code() != Some(0) || figures_of(&actual) != want {
                differences.push(format!(
                    "{}: expected {want}, got {} {}",
                    log.display(),
                    String::from_utf8_lossy(&actual.stdout),
                    String::from_utf8_lossy(&actual.stderr)
                ));
            }
        } else {
            let expected = std::fs::read_to_string(log.with_extension("expected.err"))
                .expect("an .expected.err");
            let want = bad_line(expected.as_bytes());
            if actual.status.code() != Some(2)
                || (want.is_some() && bad_line(&actual.stderr) != want)
            {
                differences.push(format!(
                    "{}: expected a refusal `{}`, got exit {:?}: {}",
                    log.display(),
                    expected.trim(),
                    actual.status.code(),
                    String::from_utf8_lossy(&actual.stderr).trim()
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

fn generate(seed: u64, count: u32, extra: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pronto-reference-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new("python3")
        .arg(repo().join("tests/reference/gen_logs.py"))
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(&dir)
        .args(["--count", &count.to_string()])
        .args(extra)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the generator runs");
    dir
}

fn random_logs_agree(seed: u64, count: u32, extra: &[&str]) {
    if !python_available() {
        return;
    }
    let dir = generate(seed, count, extra);
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    logs.sort();
    assert_eq!(logs.len(), count as usize);
    // Two workers: the reference is a Python process per log.
    let halves: Vec<&[PathBuf]> = logs.chunks(logs.len().div_ceil(2)).collect();
    let differences: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .iter()
            .map(|half| {
                scope.spawn(move || {
                    half.iter()
                        .filter_map(|log| {
                            let at = std::fs::read_to_string(log.with_extension("at"))
                                .unwrap_or_default();
                            let args: Vec<String> = match at.trim() {
                                "" => Vec::new(),
                                at => vec!["--at".to_owned(), at.to_owned()],
                            };
                            compare(log, &args, &run_reference(log, &args))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        differences.is_empty(),
        "{} of {count} logs differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn random_logs_agree_on_every_figure() {
    random_logs_agree(20_261_125, 160, &[]);
}

#[test]
fn random_bad_logs_are_refused_at_the_same_line() {
    random_logs_agree(7, 60, &["--bad-lines", "0.6"]);
}
