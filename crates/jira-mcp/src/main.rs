//! `jira-mcp`: the governed Jira MCP server. Speaks MCP over stdio (what Claude Code spawns),
//! or streamable HTTP with `--http ADDR`.

use anyhow::Context;
use clap::Parser;
use governance::{
    config::Config,
    server::{ServerArgs, serve_upstream},
};
use jira_mcp::{JiraServer, config::JiraConfig};

/// Governed Jira MCP server. Site: jira.url in the config, or JIRA_URL. Credentials:
/// ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN (Cloud), ATLASSIAN_PAT (Data Center) or
/// ATLASSIAN_OAUTH_TOKEN; else the keychain entry of `claude-enterprise login atlassian`.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.server.printed_tools(jira_mcp::tools::specs) {
        return Ok(());
    }
    governance::server::runtime_for(args.server.http)?.block_on(run(args))
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
    serve_upstream(loaded, "jira-mcp", upstream, args.server.http).await?;
    Ok(())
}
