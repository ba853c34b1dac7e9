//! `cargo xtask fuzz [--seconds N] [TARGET ...]`: coverage-guided fuzzing of the parsers that
//! read text nobody wrote, with cargo-fuzz (libFuzzer) over the targets in `fuzz/`.
//!
//! What runs: `cargo fuzz run TARGET --sanitizer none --release --debug-assertions
//! fuzz/corpus/TARGET -- -max_total_time=N` for each target (`adf`, `wiki`, `storage`, `jql`,
//! `cql`; 60 s each by default), one after the other. The corpus starts from the project's own
//! fixtures and grows in `fuzz/corpus/` (ignored by git); a crash is kept in
//! `fuzz/artifacts/TARGET/` and fails the task. cargo-fuzz is installed from crates.io
//! (`cargo install cargo-fuzz --locked`) when `cargo fuzz` is missing.
//!
//! The toolchain: the project's machines have the stable toolchain alone, and this needs no
//! other. cargo-fuzz (0.13) asks for nightly-only `-Z` flags for a sanitizer, `build-std` or
//! its careful mode only; with `--sanitizer none` it instruments with stable flags alone
//! (`-Cpasses=sancov-module` and `-Cllvm-args=-sanitizer-coverage-*`), so libFuzzer is as
//! coverage-guided as on nightly, and neither nightly nor `RUSTC_BOOTSTRAP` is needed (checked
//! on rustc 1.95). What is given up is AddressSanitizer, which safe Rust code does not need to
//! find panics; `--debug-assertions` keeps overflow checks, which release builds drop.
//!
//! Not here: the property tests (`cargo test -p atlassian --test properties`), which run in
//! every `cargo test`; this is the long, open-ended search.

use std::{path::Path, process::Command};

use crate::{Result, root, run};

/// Every target in `fuzz/fuzz_targets`, and the fixtures its corpus starts from.
const TARGETS: &[(&str, &[&str])] = &[
    (
        "adf",
        &[
            "crates/atlassian/tests/fixtures/wiki",
            "crates/atlassian/tests/fixtures/storage",
        ],
    ),
    ("wiki", &["crates/atlassian/tests/fixtures/wiki"]),
    ("storage", &["crates/atlassian/tests/fixtures/storage"]),
    ("jql", &[]),
    ("cql", &[]),
];

/// Queries the JQL and CQL corpora start from: the shapes the servers' tests use.
const QUERIES: &[&str] = &[
    "project = PROJ AND status = \"In Progress\" ORDER BY created DESC",
    "assignee = currentUser() AND cf[10010] > 5 OR \"Story Points\" is EMPTY",
    "issue in linkedIssues(\"PROJ-1\", \"blocks\") AND text ~ 'a \\'quoted\\' word'",
    "space = DOC and type = page and title ~ \"release notes\" order by lastmodified desc",
    "(label in (a, b) OR creator = jdoe) AND NOT space.key = HR",
];

pub fn run_fuzz(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut chosen: Vec<&str> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds takes a number")?;
            }
            name => match TARGETS.iter().find(|(target, _)| *target == name) {
                Some((target, _)) => chosen.push(target),
                None => {
                    let names: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
                    return Err(format!(
                        "no fuzz target {name}; there are {}",
                        names.join(", ")
                    ));
                }
            },
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.iter().map(|(t, _)| *t).collect();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_cargo_fuzz(&cargo)?;
    let fuzz_dir = root().join("fuzz");
    let mut failed = Vec::new();
    for target in chosen {
        let corpus = fuzz_dir.join("corpus").join(target);
        seed(target, &corpus)?;
        let mut command = Command::new(&cargo);
        command
            .args(["fuzz", "run", target, "--sanitizer", "none", "--release"])
            .arg("--debug-assertions")
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // Inputs of a few KiB reach every construct; longer ones only slow the search.
            .arg("-max_len=4096")
            // A parser stuck for seconds on one input is a finding too.
            .arg("-timeout=10")
            .current_dir(&fuzz_dir);
        if let Err(e) = run(&mut command) {
            eprintln!("xtask: fuzz target {target}: {e}; the input is in fuzz/artifacts/{target}/");
            failed.push(target);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}

/// Installs cargo-fuzz from crates.io unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz(cargo: &str) -> Result<()> {
    let installed = Command::new(cargo)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if installed {
        return Ok(());
    }
    run(Command::new(cargo).args(["install", "cargo-fuzz", "--locked"]))
}

/// Starts a target's corpus from the fixtures (and, for the query languages, from `QUERIES`),
/// once: libFuzzer adds what it finds next to them.
fn seed(target: &str, corpus: &Path) -> Result<()> {
    let io = |e: std::io::Error| format!("{}: {e}", corpus.display());
    std::fs::create_dir_all(corpus).map_err(io)?;
    if std::fs::read_dir(corpus).map_err(io)?.next().is_some() {
        return Ok(());
    }
    let (_, fixtures) = TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .expect("a known target");
    for dir in *fixtures {
        for entry in std::fs::read_dir(root().join(dir)).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let name = format!("fixture-{}", path.file_name().unwrap().to_string_lossy());
            std::fs::copy(&path, corpus.join(name)).map_err(io)?;
        }
    }
    if matches!(target, "jql" | "cql") {
        for (i, query) in QUERIES.iter().enumerate() {
            std::fs::write(corpus.join(format!("query-{i}")), query).map_err(io)?;
        }
    }
    Ok(())
}
