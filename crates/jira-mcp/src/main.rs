//! `jira-mcp`: the governed Jira MCP server. Speaks MCP over stdio (what Claude Code spawns),
//! or streamable HTTP with `--http ADDR`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use governance::{config::Config, server::serve_upstream};
use jira_mcp::{JiraServer, config::JiraConfig};

/// Governed Jira MCP server. Site: jira.url in the config, or JIRA_URL. Credentials:
/// ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN (Cloud), ATLASSIAN_PAT (Data Center) or
/// ATLASSIAN_OAUTH_TOKEN; else the keychain entry of `claude-enterprise login atlassian`.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Print the tool table as JSON and exit.
    #[arg(long)]
    tools: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.tools {
        let catalog = governance::server::tool_catalog(&jira_mcp::tools::specs());
        println!("{catalog}");
        return Ok(());
    }
    governance::server::runtime_for(args.http)?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    governance::server::init_logging();
    let loaded = Config::load()?;
    let credential = atlassian::find_credential(&loaded.config.keychain);
    if credential.is_none() {
        tracing::warn!(
            "no Atlassian credentials: tools are listed, calls answer with how to log in ({})",
            atlassian::LOGIN_HINT
        );
    }
    let upstream = JiraServer::new(
        loaded.config.section::<JiraConfig>()?,
        credential,
        atlassian::OAuthRefresh::new(&loaded.config.oauth.atlassian, &loaded.config.keychain),
    )
    .context("jira-mcp cannot start")?;
    serve_upstream(loaded, "jira-mcp", upstream, args.http).await?;
    Ok(())
}
