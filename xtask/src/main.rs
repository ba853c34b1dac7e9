//! `cargo xtask`: the project's tasks that are more than one cargo command.
//!
//! - `peers`: install the pinned test peers into `target/peers` (npm, a Python venv, and
//!   Atlassian's OpenAPI descriptions prepared for Prism).
//! - `test [ARGS]`: peers, then every test (`cargo test --workspace ARGS`).
//! - `bench`: spawn-to-`tools/list` time, RSS and per-call overhead, side by side with the anchors.
//! - `fuzz [--seconds N] [TARGET ...]`: cargo-fuzz over the parsers in `fuzz/` (see `fuzz.rs`).
//! - `images [--profile P]`: the servers' OCI images with podman (see `images.rs`); `test`
//!   builds them first, for the tests that run them.
//!
//! Few dependencies, on purpose: this crate builds before anything else in CI.

mod bench;
mod fuzz;
mod images;
mod specs;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("peers") => peers().map(|_| ()),
        Some("test") => test(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run_fuzz(&args[1..]),
        Some("images") => images::run_images(&args[1..]),
        _ => Err(
            "usage: cargo xtask <peers | test [cargo test args] | bench [--runs N] | fuzz [--seconds N] [TARGET ...] | images [--profile P]>"
                .into(),
        ),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the nearest directory above the current one whose Cargo.toml declares
/// the workspace. Not the path this binary was built from: with a target directory shared
/// between clones (CI reuses one), a binary built in another clone would test that clone.
pub fn root() -> PathBuf {
    let start = std::env::current_dir().expect("the current directory is readable");
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.contains("[workspace]"))
        })
        .unwrap_or(&start)
        .to_owned()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace root), else
/// `target/`.
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    if target.is_absolute() {
        target
    } else {
        root().join(target)
    }
}

/// Where the test peers live: `CE_PEERS_DIR`, else `<target dir>/peers`.
pub fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CE_PEERS_DIR") {
        return PathBuf::from(dir);
    }
    target_dir().join("peers")
}

/// Runs a command, echoing it, failing on a non-zero exit.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed with {status}", describe(command)))
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Installs `manifest` (a package.json, with `lock` when given) into `dir` with npm, and the
/// `requirements` into `venv`, unless the stamp says the same pins are already installed.
pub fn install(
    dir: &Path,
    manifest: &str,
    lock: Option<&str>,
    venv: &Path,
    requirements: &str,
) -> Result<()> {
    let pins = root().join("xtask/peers");
    let read = |name: &str| {
        std::fs::read_to_string(pins.join(name)).map_err(|e| format!("xtask/peers/{name}: {e}"))
    };
    let stamp_text = format!(
        "{}{}{}",
        read(manifest)?,
        lock.map(read).transpose()?.unwrap_or_default(),
        read(requirements)?
    );
    let stamp = dir.join(format!(".stamp-{manifest}"));
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == stamp_text)
        && venv.join("bin/python").exists()
    {
        eprintln!("xtask: peers in {} are current", dir.display());
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::copy(pins.join(manifest), dir.join("package.json")).map_err(|e| e.to_string())?;
    let npm_verb = match lock {
        Some(lock) => {
            std::fs::copy(pins.join(lock), dir.join("package-lock.json"))
                .map_err(|e| e.to_string())?;
            "ci"
        }
        None => "install",
    };
    run(Command::new("npm")
        .args([npm_verb, "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir))?;
    if !venv.join("bin/python").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(pins.join(requirements)))?;
    std::fs::write(&stamp, stamp_text).map_err(|e| e.to_string())?;
    Ok(())
}

fn peers() -> Result<PathBuf> {
    let dir = peers_dir();
    install(
        &dir,
        "package.json",
        Some("package-lock.json"),
        &dir.join("venv"),
        "requirements.txt",
    )?;
    specs::prepare(&dir)?;
    Ok(dir)
}

fn test(args: &[String]) -> Result<()> {
    let peers = peers()?;
    // The image tests run what this builds (one static build, shared by all four images).
    images::build("image")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // One cargo invocation: it builds every binary the tests spawn (each binary crate has
    // integration tests) with the same features, before any test runs.
    let mut command = Command::new(&cargo);
    command
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .env("CE_PEERS_DIR", &peers)
        .current_dir(root())
        .stdout(std::process::Stdio::piped());
    eprintln!("xtask: $ {}", describe(&command));
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    // Echo cargo's output and add up its per-binary results into one closing line.
    let (mut passed, mut failed) = (0u64, 0u64);
    let stdout = child.stdout.take().expect("piped stdout");
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |label: &str| {
                rest.split(';')
                    .find_map(|part| {
                        part.trim()
                            .strip_suffix(label)?
                            .trim()
                            .rsplit(' ')
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
                    .unwrap_or(0)
            };
            passed += count("passed");
            failed += count("failed");
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    println!("tests: {passed} passed, {failed} failed");
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test failed with {status}"))
    }
}
