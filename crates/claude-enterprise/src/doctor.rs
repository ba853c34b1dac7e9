//! `claude-enterprise doctor`: spawns each installed server, does the MCP handshake, and reports
//! tools, credentials (from the environment or the keychain, with their expiry; never their
//! value), the config in force and the
//! journal's health. Exit 1 when something is broken; a missing credential is only a warning,
//! since servers still start and list their tools without one.

use std::{
    process::{ExitCode, Stdio},
    time::{Duration, Instant},
};

use governance::{audit::verify_dir, config::Config, policy::ToolPolicy};
use rmcp::{ServiceExt, transport::TokioChildProcess};

use crate::servers::{SERVERS, ServerEntry, catalog, find_binary};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs every check, printing one line each.
pub fn run() -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut broken = 0;
    let config = match Config::load().and_then(|loaded| {
        crate::sections::check(&loaded.config)?;
        Ok(loaded)
    }) {
        Ok(loaded) => {
            println!("ok    config    {}", loaded.source);
            Some(loaded.config)
        }
        Err(e) => {
            println!("FAIL  config    {e}");
            broken += 1;
            None
        }
    };
    let config = config.unwrap_or_default();
    let roles = &config.identity.roles;
    let policy = ToolPolicy::new(&config.policy);
    if let Err(e) = &policy {
        println!("FAIL  policy    {e}");
        broken += 1;
    }
    println!(
        "info  identity  user {}, roles [{}]",
        config
            .identity
            .user
            .as_deref()
            .unwrap_or("(from the upstream's who-am-I)"),
        roles.join(", ")
    );
    for line in crate::credential_report::report(auth::keychain::Tool::Sso, &config) {
        let mark = if line.ok { "ok  " } else { "warn" };
        println!("{mark}  sso       {}", line.text);
    }
    broken += journal(&config);
    for (ok, line) in crate::ship::sink_lines(&config) {
        // A sink that cannot take events yet loses nothing: a warning, not a failure.
        let mark = if ok { "ok  " } else { "warn" };
        println!("{mark}  sink      {line}");
    }
    for server in SERVERS {
        broken += runtime.block_on(check_server(server, &config, policy.as_ref().ok(), roles));
    }
    Ok(if broken == 0 {
        println!("\nall checks passed");
        ExitCode::SUCCESS
    } else {
        println!("\n{broken} check(s) failed");
        ExitCode::FAILURE
    })
}

fn journal(config: &Config) -> u32 {
    let Some(dir) = config.audit.journal_dir() else {
        println!("FAIL  journal   no directory: set audit.dir, XDG_STATE_HOME or HOME");
        return 1;
    };
    if !dir.exists() {
        println!(
            "ok    journal   {} (created at the first call)",
            dir.display()
        );
        return 0;
    }
    match verify_dir(&dir) {
        Ok(report) => match report.first_break() {
            None => {
                println!(
                    "ok    journal   {}: {} segments, {} events, hash chains intact",
                    dir.display(),
                    report.segments.len(),
                    report.events()
                );
                0
            }
            Some(b) => {
                println!("FAIL  journal   {b} (run `claude-enterprise audit verify`)");
                1
            }
        },
        Err(e) => {
            println!("FAIL  journal   {e}");
            1
        }
    }
}

async fn check_server(
    server: &ServerEntry,
    config: &Config,
    policy: Option<&ToolPolicy>,
    roles: &[String],
) -> u32 {
    let name = server.binary;
    let mut broken = 0;
    let Some(binary) = find_binary(name) else {
        println!("FAIL  {name:<11} not installed (not beside this binary nor on PATH)");
        return 1;
    };
    let started = Instant::now();
    let mut command = tokio::process::Command::new(&binary);
    command.stderr(Stdio::null());
    let handshake = async {
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(Stdio::null())
            .spawn()?;
        let client = ().serve(transport).await?;
        let info = client
            .peer_info()
            .and_then(|i| i.server_info.as_ref().map(|s| s.version.clone()));
        let tools = client.list_all_tools().await?;
        let _ = client.cancel().await;
        anyhow::Ok((info, tools))
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok((version, tools))) => {
            let table = catalog(&binary).unwrap_or_default();
            let all = table.len();
            let visible = policy.map_or(0, |p| {
                table
                    .iter()
                    .filter(|s| p.tool(roles, &s.name).allowed)
                    .count()
            });
            println!(
                "ok    {name:<11} {} {}: MCP handshake in {} ms, {} tools listed ({visible} of {all} \
                 allowed for your roles)",
                binary.display(),
                version.unwrap_or_default(),
                started.elapsed().as_millis(),
                tools.len(),
            );
            // A server may hide more (an AWS production account), never show more.
            if tools.len() > visible {
                println!(
                    "FAIL  {name:<11} lists {} tools but policy allows {visible}",
                    tools.len()
                );
                broken += 1;
            }
        }
        Ok(Err(e)) => {
            println!(
                "FAIL  {name:<11} {}: MCP handshake failed: {e}",
                binary.display()
            );
            broken += 1;
        }
        Err(_) => {
            println!(
                "FAIL  {name:<11} {}: no MCP handshake within {} s",
                binary.display(),
                HANDSHAKE_TIMEOUT.as_secs()
            );
            broken += 1;
        }
    }
    for line in crate::credential_report::report(server.tool, config) {
        let mark = if line.ok { "ok  " } else { "warn" };
        println!("{mark}  {name:<11} credentials: {}", line.text.trim_start());
    }
    broken
}
