//! `claude-enterprise`: the CLI a user and a platform team run beside the servers.
//!
//! `doctor` is the first command a new user runs; `login`, `logout` and `status` manage the
//! SSO session and per-tool credentials in the OS keychain; `audit` reads and verifies the
//! local journal; `policy explain` shows what each role sees; `config schema` prints the
//! config's JSON Schema; `plugin write` installs the Claude Code plugin (servers and hooks).

mod credential_report;
mod doctor;
mod hook;
mod login;
mod plugin;
mod sections;
mod servers;
mod ship;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use governance::{
    audit::{AuditEvent, read_events, repair_dir, verify_dir},
    config::Config,
    policy::ToolPolicy,
};

/// Governed MCP servers for Claude Code: health, audit trail and policy.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every installed server: MCP handshake, tools, credentials, config, journal.
    Doctor,
    /// Log in: SSO with the enterprise IdP (default), or store a tool's token in the keychain.
    Login {
        /// What to log in to.
        #[arg(value_enum, default_value = "sso")]
        tool: login::LoginTool,
        /// SSO: use the device authorization grant (a code to enter on another device).
        /// (GitHub logins without `--with-token` always use the device flow.)
        #[arg(long)]
        device: bool,
        /// Print the login URL (SSO, Atlassian) or the device page (GitHub) without opening a
        /// browser.
        #[arg(long)]
        no_browser: bool,
        /// GitHub, Atlassian: read the token from stdin.
        #[arg(long)]
        with_token: bool,
        /// Atlassian Cloud: the account e-mail that goes with an API token.
        #[arg(long)]
        email: Option<String>,
    },
    /// Log out: revoke the SSO tokens at the IdP and delete keychain entries.
    Logout {
        /// `sso` (default), `github`, `atlassian` (`jira`, `confluence`) or `aws`.
        tool: Option<String>,
        /// Every tool.
        #[arg(long, conflicts_with = "tool")]
        all: bool,
    },
    /// Who you are, your roles, and each credential's presence and expiry (never the secret).
    Status,
    /// Read or verify the local audit journal.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Explain the policy in force.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The config file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The Claude Code plugin (servers and hooks).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// A Claude Code hook (installed in hooks.json): EVENT is UserPromptSubmit, SessionStart,
    /// PreToolUse, PostToolUse or PostToolUseFailure, the hook's JSON on stdin. Always exits 0;
    /// a deny is printed as Claude Code's deny JSON.
    Hook {
        /// The hook event.
        event: Option<String>,
        /// Ignored (reported on stderr).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Print the newest events.
    Tail {
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// One JSON event per line, as stored.
        #[arg(long)]
        json: bool,
        /// Journal directory (default: from the config).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Ship the journal to the `[[audit.sinks]]`, then delete local segments past
    /// `audit.retention_days` that every sink has. Exit 1 when a sink is still failing or a
    /// segment is quarantined (nothing is lost: the next run resumes).
    Ship {
        /// Ship what there is, then exit (the default).
        #[arg(long, conflicts_with = "follow")]
        once: bool,
        /// Keep tailing the journal.
        #[arg(long)]
        follow: bool,
        /// Only this sink.
        #[arg(long)]
        sink: Option<String>,
        /// Stop after this many seconds (nothing is lost).
        #[arg(long)]
        timeout: Option<u64>,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Print the ILM policies and index templates that set the central retention of the
        /// `elasticsearch` sinks (audit 365 days, errors 90), as Kibana console requests, and
        /// exit without shipping.
        #[arg(long, conflicts_with_all = ["follow", "timeout"])]
        print_ilm: bool,
        /// Journal directory (default: from the config).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Store the secret of an HTTP audit sink (Splunk HEC token, Elasticsearch API key or
    /// password, OTLP headers as `k=v,k2=v2`), read from stdin, in the keychain as
    /// `audit-sink/<NAME>`: used when the sink's environment variable is unset.
    SinkSecret {
        /// The sink's `name` in `[[audit.sinks]]`.
        name: String,
        /// Delete the stored secret instead.
        #[arg(long)]
        delete: bool,
    },
    /// Check a central copy (a file sink's output, or native events exported from a SIEM as
    /// JSON Lines): every segment's chain whole, up to the newest chain head shipped. Exit 1
    /// naming what is missing or edited.
    VerifyShipped {
        /// The JSON Lines file of shipped native events.
        file: PathBuf,
    },
    /// Verify every segment's hash chain. Exit 0 when intact, 1 at the first break.
    Verify {
        /// First cut torn last lines left by crashed writers (kept in `<segment>.torn`).
        #[arg(long)]
        repair: bool,
        /// Journal directory (default: from the config).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Write the plugin Claude Code loads in place: `.claude-plugin/plugin.json`, `.mcp.json`
    /// (the four servers), `hooks/hooks.json` (`claude-enterprise hook EVENT`), README.md,
    /// LICENSE. Replaces an earlier copy in one rename; never touches Claude Code's settings.
    Write {
        /// The plugin's directory (default `~/.claude/skills/enterprise-governance`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Run each server as `docker run -i --rm IMAGE_PREFIX/<server>:<version>` instead of
        /// the binaries beside this one.
        #[arg(long, value_name = "IMAGE_PREFIX")]
        docker: Option<String>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Which tools each server shows a role, and the rule that decides each.
    Explain {
        /// The role (repeat for several; none: a user with no role).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the JSON Schema of the config file.
    Schema,
    /// Print where the config in force comes from, and check it.
    Check,
}

fn main() -> ExitCode {
    // Claude Code reads exit code 2 as "block", and clap exits 2 on a usage error: the hook
    // parses its own arguments, before clap can see them.
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.get(1).is_some_and(|a| a == "hook") {
        return hook::main(args[2..].to_vec());
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if args.iter().any(|a| a == "hook") => {
            eprintln!("claude-enterprise hook: {e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    governance::server::install_crypto_provider();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn journal_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    Config::load()?.config.audit.journal_dir().ok_or_else(|| {
        anyhow::anyhow!("no journal directory: set audit.dir, XDG_STATE_HOME or HOME")
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Hook { event, rest } => Ok(hook::main(event.into_iter().chain(rest).collect())),
        Command::Doctor => doctor::run(),
        Command::Login {
            tool,
            device,
            no_browser,
            with_token,
            email,
        } => login::login(login::LoginArgs {
            tool,
            device,
            no_browser,
            with_token,
            email,
        }),
        Command::Logout { tool, all } => login::logout(tool, all),
        Command::Status => login::status(),
        Command::Plugin {
            command: PluginCommand::Write { dir, docker },
        } => plugin::write(plugin::WriteArgs { dir, docker }),
        Command::Audit {
            command: AuditCommand::Tail { lines, json, dir },
        } => {
            let events = read_events(&journal_dir(dir)?)?;
            for event in &events[events.len().saturating_sub(lines)..] {
                if json {
                    println!("{}", serde_json::to_string(event)?);
                } else {
                    println!("{}", tail_line(event));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Ship {
                    print_ilm: true,
                    sink,
                    ..
                },
        } => ship::print_ilm(sink.as_deref()),
        Command::Audit {
            command:
                AuditCommand::Ship {
                    once: _,
                    follow,
                    sink,
                    timeout,
                    quiet,
                    print_ilm: false,
                    dir,
                },
        } => ship::run(ship::ShipArgs {
            follow,
            sink,
            dir,
            timeout,
            quiet,
        }),
        Command::Audit {
            command: AuditCommand::SinkSecret { name, delete },
        } => ship::sink_secret(&name, delete),
        Command::Audit {
            command: AuditCommand::VerifyShipped { file },
        } => ship::verify_shipped(&file),
        Command::Audit {
            command: AuditCommand::Verify { repair, dir },
        } => {
            let dir = journal_dir(dir)?;
            if repair {
                for r in repair_dir(&dir)? {
                    println!(
                        "repaired {}: cut a torn last line of {} bytes (kept in {}.torn)",
                        r.segment.display(),
                        r.torn_bytes,
                        r.segment.display()
                    );
                }
            }
            let report = verify_dir(&dir)?;
            match report.first_break() {
                None => {
                    println!(
                        "journal intact: {} segments, {} events in {}",
                        report.segments.len(),
                        report.events(),
                        dir.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    println!("journal BROKEN: {b}");
                    if b.kind == governance::audit::BreakKind::TruncatedTail {
                        println!(
                            "a crash mid-write leaves this; `claude-enterprise audit verify --repair` cuts it (keeping the bytes)"
                        );
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Policy {
            command: PolicyCommand::Explain { roles },
        } => {
            let loaded = Config::load()?;
            let policy = ToolPolicy::new(&loaded.config.policy)?;
            println!("config: {}", loaded.source);
            println!("roles: [{}]", roles.join(", "));
            for server in servers::SERVERS {
                println!("\n{}", server.binary);
                let Some(binary) = servers::find_binary(server.binary) else {
                    println!("  (not installed)");
                    continue;
                };
                for tool in servers::catalog(&binary)? {
                    let d = policy.tool(&roles, &tool.name);
                    let mark = if d.allowed { "shown " } else { "hidden" };
                    let why = if d.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", d.reason)
                    };
                    println!(
                        "  {mark}  {:<30} {:<5}  by {}{why}",
                        tool.name, tool.access, d.rule
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Schema,
        } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&sections::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let loaded = Config::load()?;
            ToolPolicy::new(&loaded.config.policy)?;
            sections::check(&loaded.config)?;
            println!("config OK: {}", loaded.source);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn tail_line(e: &AuditEvent) -> String {
    let keys: Vec<String> = e
        .resources
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let result = e.result.as_deref().unwrap_or("-");
    let phase = format!("{:?}", e.phase).to_lowercase();
    let access = format!("{:?}", e.access).to_lowercase();
    format!(
        "{} {} {}.{} {access} {phase} {result} [{}] rule={}{}",
        e.timestamp,
        e.user,
        e.tool,
        e.action,
        keys.join(" "),
        e.decision.rule,
        e.error
            .as_deref()
            .map(|m| format!(" error={m:?}"))
            .unwrap_or_default()
    )
}
