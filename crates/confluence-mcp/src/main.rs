//! `confluence-mcp`: the governed Confluence MCP server. Speaks MCP over stdio (what Claude
//! Code spawns), or streamable HTTP with `--http ADDR`. Only wiring: the config section, the
//! credential, and the API of the configured deployment; no tool or guardrail lives here.

use anyhow::Context;
use atlassian::{Deployment, LOGIN_HINT};
use clap::Parser;
use confluence_mcp::{
    ConfluenceServer,
    api::{self, cloud::Cloud, datacenter::DataCenter},
    config::ConfluenceConfig,
};
use governance::{
    config::Config,
    server::{ServerArgs, serve_upstream},
};

/// Governed Confluence MCP server (Cloud and Data Center). Site: confluence.url in the config, or
/// CONFLUENCE_URL (Cloud: https://SITE.atlassian.net/wiki). Credentials: ATLASSIAN_EMAIL with
/// ATLASSIAN_API_TOKEN, ATLASSIAN_PAT, or ATLASSIAN_OAUTH_TOKEN; else the keychain entry of
/// `claude-enterprise login atlassian`.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.server.printed_tools(confluence_mcp::tools::specs) {
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
            "no Atlassian credentials: tools are listed, calls answer with how to log in ({LOGIN_HINT})"
        );
    }
    let session = std::env::var("CLAUDE_CODE_SESSION_ID").ok();
    let config: ConfluenceConfig = loaded.config.section()?;
    let client = api::client(
        &config,
        credential,
        atlassian::OAuthRefresh::new(&loaded.config.oauth.atlassian, &loaded.config.keychain),
    )
    .context("confluence-mcp cannot start")?;
    // One server type per deployment: the guardrails are the same, the API behind them not.
    match config.deployment {
        Deployment::Cloud => {
            let upstream = ConfluenceServer::new(config, Cloud::new(client), session);
            serve_upstream(loaded, "confluence-mcp", upstream, args.server.http).await?;
        }
        Deployment::Datacenter => {
            let upstream = ConfluenceServer::new(config, DataCenter::new(client), session);
            serve_upstream(loaded, "confluence-mcp", upstream, args.server.http).await?;
        }
    }
    Ok(())
}
