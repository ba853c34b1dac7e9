//! `claude-enterprise audit ship`: the journal to the configured sinks, then local retention;
//! the per-sink lines of `status` and `doctor`; the hooks' bounded background drain.

use std::{
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    time::{Duration, SystemTime},
};

use audit_ship::{Mode, Shipper, retention, sinks::SecretSource};
use governance::config::Config;

/// What `audit ship` was asked to do.
pub struct ShipArgs {
    /// `--follow` (else `--once`).
    pub follow: bool,
    /// `--sink NAME`.
    pub sink: Option<String>,
    /// `--dir`.
    pub dir: Option<PathBuf>,
    /// `--timeout SECS`: stop (nothing lost) after this long.
    pub timeout: Option<u64>,
    /// `--quiet`: no progress on stderr.
    pub quiet: bool,
}

/// `audit ship --print-ilm`: for each `elasticsearch` sink (or only `sink`), the requests that
/// set its central retention (ILM policy, index template), in the Kibana console's form.
pub fn print_ilm(sink: Option<&str>) -> anyhow::Result<ExitCode> {
    let config = Config::load()?.config;
    let mut out = String::new();
    let mut printed = 0;
    for entry in &config.audit.sinks {
        let governance::config::SinkConfig::Elasticsearch(es) = entry else {
            continue;
        };
        if sink.is_some_and(|name| name != es.name) {
            continue;
        }
        out.push_str(&format!("# sink {} ({})\n", es.name, es.url));
        for (request, body) in audit_ship::sinks::elasticsearch::retention_requests(es) {
            out.push_str(&format!(
                "{request}\n{}\n\n",
                serde_json::to_string_pretty(&body)?
            ));
        }
        printed += 1;
    }
    if printed == 0 {
        anyhow::bail!(
            "no [[audit.sinks]] entry of kind `elasticsearch`{}",
            match sink {
                Some(name) => format!(" named `{name}`"),
                None => String::new(),
            }
        );
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `audit sink-secret NAME [--delete]`: stores the secret of sink `name` (read from stdin) in
/// the keychain as `audit-sink/<name>`, where the HTTP sinks look when their variable is unset.
pub fn sink_secret(name: &str, delete: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load()?.config;
    if !config.audit.sinks.iter().any(|s| s.name() == name) {
        anyhow::bail!("no [[audit.sinks]] entry is named `{name}`");
    }
    let keychain = auth::keychain::Keychain::open(&config.keychain)?;
    let user = audit_ship::sinks::keychain_user(name);
    if delete {
        let deleted = keychain.delete_secret(&user)?;
        eprintln!(
            "{user}: {}",
            if deleted { "deleted" } else { "there was none" }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut secret = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut secret)?;
    let secret = secret.trim();
    if secret.is_empty() {
        anyhow::bail!("no secret on stdin");
    }
    keychain.save_secret(&user, secret)?;
    eprintln!("{user}: stored in the keychain ({})", keychain.backend());
    Ok(ExitCode::SUCCESS)
}

/// Runs `audit ship`. Exit 0 when every sink reached the end of the journal, 1 when one is
/// still failing or a segment is quarantined (nothing lost: the next run resumes).
pub fn run(args: ShipArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load()?.config;
    let dir = match args.dir.clone() {
        Some(dir) => dir,
        None => crate::journal_dir(None)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let sinks = audit_ship::sinks::build(
            &config.audit.sinks,
            &config.audit.ship,
            args.sink.as_deref(),
            Some(&config.keychain),
        )
        .await?;
        let errors_dir = governance::audit::errors_dir(&dir);
        let error_sinks: Vec<String> = sinks
            .iter()
            .filter(|e| e.sink.takes_errors())
            .map(|e| e.sink.name().to_owned())
            .collect();
        let shipper = Shipper::new(&dir, config.audit.ship.clone(), sinks)?
            .with_errors_dir(Some(errors_dir.clone()))
            .with_retention(
                config.audit.retention_days,
                config
                    .audit
                    .sinks
                    .iter()
                    .map(|s| s.name().to_owned())
                    .collect(),
            )
            .with_progress(!args.quiet);
        let mode = if args.follow { Mode::Follow } else { Mode::Once };
        let shipping = async {
            tokio::select! {
                report = shipper.run(mode) => report.map(Some),
                _ = tokio::signal::ctrl_c() => Ok(None),
            }
        };
        let report = match args.timeout {
            Some(secs) => match tokio::time::timeout(Duration::from_secs(secs), shipping).await {
                Ok(report) => report?,
                Err(_) => {
                    eprintln!(
                        "audit ship: stopped after {secs}s; nothing is lost, the next run resumes from the checkpoints"
                    );
                    return Ok(ExitCode::FAILURE);
                }
            },
            None => shipping.await?,
        };
        let Some(report) = report else {
            eprintln!("audit ship: interrupted; nothing is lost");
            return Ok(ExitCode::FAILURE);
        };
        let names: Vec<&str> = config
            .audit
            .sinks
            .iter()
            .map(|s| s.name())
            .collect();
        match retention::apply(&dir, &names, config.audit.retention_days, SystemTime::now()) {
            Ok(r) => {
                for path in &r.deleted {
                    if !args.quiet {
                        eprintln!(
                            "audit ship: deleted {} (past audit.retention_days, every sink has it)",
                            path.display()
                        );
                    }
                }
            }
            Err(e) => eprintln!("audit ship: retention: {e}"),
        }
        // With `--sink`, other sinks may still need the error logs: left for a full run.
        if args.sink.is_none() {
            let names: Vec<&str> = error_sinks.iter().map(String::as_str).collect();
            if let Err(e) = retention::apply_errors(
                &errors_dir,
                &names,
                config.audit.retention_days,
                SystemTime::now(),
            ) {
                eprintln!("audit ship: retention of the error logs: {e}");
            }
        }
        if !args.quiet {
            // What is left, per sink, after this run.
            for sink in &report.sinks {
                let kind = config
                    .audit
                    .sinks
                    .iter()
                    .find(|s| s.name() == sink.name)
                    .map_or("?", |s| s.kind());
                eprintln!("audit ship: {}", sink_line(&dir, &sink.name, kind).1);
            }
        }
        let mut failed = false;
        for sink in &report.sinks {
            if let Some(e) = &sink.error {
                eprintln!("audit ship: sink `{}` FAILED: {e}", sink.name);
                failed = true;
            }
            for (segment, why) in &sink.quarantined {
                eprintln!(
                    "audit ship: sink `{}`: segment {segment} is QUARANTINED ({why}); run `claude-enterprise audit verify`",
                    sink.name
                );
                failed = true;
            }
        }
        Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// One line per sink: pending events, age of the oldest, last error. `None` with no sinks.
pub fn sink_lines(config: &Config) -> Vec<(bool, String)> {
    let Some(dir) = config.audit.journal_dir() else {
        return Vec::new();
    };
    config
        .audit
        .sinks
        .iter()
        .map(|sink| {
            let (ok, mut line) = sink_line(&dir, sink.name(), sink.kind());
            match audit_ship::sinks::secret_source(sink, Some(&config.keychain)) {
                SecretSource::NotNeeded => (ok, line),
                SecretSource::Environment(var) => {
                    line.push_str(&format!(", secret from ${var}"));
                    (ok, line)
                }
                SecretSource::Keychain => {
                    line.push_str(&format!(
                        ", secret from the keychain ({})",
                        audit_ship::sinks::keychain_user(sink.name())
                    ));
                    (ok, line)
                }
                SecretSource::Missing(var) => {
                    line.push_str(&format!(
                        ", NO SECRET: set ${var} or run `claude-enterprise audit sink-secret {}`",
                        sink.name()
                    ));
                    (false, line)
                }
            }
        })
        .collect()
}

fn sink_line(dir: &Path, name: &str, kind: &str) -> (bool, String) {
    match audit_ship::pending(dir, name) {
        Err(e) => (false, format!("{name} ({kind}): {e}")),
        Ok(p) => {
            let age = p
                .oldest
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| {
                    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                        .num_seconds()
                        .max(0);
                    format!(", oldest unshipped {} old", human(secs))
                })
                .unwrap_or_default();
            let mut text = format!("{name} ({kind}): {} pending{age}", p.events);
            if p.quarantined > 0 {
                text.push_str(&format!(", {} segment(s) QUARANTINED", p.quarantined));
            }
            match &p.last_error {
                Some(e) => text.push_str(&format!(", last error: {e}")),
                None => match &p.last_success_at {
                    Some(t) => text.push_str(&format!(", last shipped {t}")),
                    None => text.push_str(", never shipped"),
                },
            }
            (p.last_error.is_none() && p.quarantined == 0, text)
        }
    }
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Starts `claude-enterprise audit ship --once` in the background, bounded by
/// `audit.ship.hook_drain_secs`, when sinks are configured. Never waits for it, never fails:
/// the hook's answer does not depend on shipping.
pub fn spawn_drain(config: &Config) {
    if config.audit.sinks.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    command
        .args(["audit", "ship", "--once", "--quiet", "--timeout"])
        .arg(config.audit.ship.hook_drain_secs.max(1).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: Claude Code ending the hook's group does not end the drain.
        command.process_group(0);
    }
    match command.spawn() {
        // Not waited for: it outlives the hook, and init reaps it.
        Ok(child) => drop(child),
        Err(e) => eprintln!("claude-enterprise hook: background audit drain not started: {e}"),
    }
}

/// `audit verify-shipped FILE`: [`audit_ship::central::check`] over a JSON Lines file.
pub fn verify_shipped(file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let event: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("{}:{}: not JSON ({e})", file.display(), n + 1))?;
        events.push(event);
    }
    let (segments, findings) = audit_ship::central::check(&events);
    if findings.is_empty() {
        println!(
            "central copy intact: {segments} segments, {} events (duplicates included), every chain up to its newest head",
            events.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for f in &findings {
        println!("BROKEN {}: {}", f.segment, f.problem);
    }
    Ok(ExitCode::FAILURE)
}
