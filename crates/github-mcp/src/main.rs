//! `github-mcp`: the governed GitHub MCP server. Speaks MCP over stdio (what Claude Code
//! spawns), or streamable HTTP with `--http ADDR`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use github_mcp::{GithubServer, config::GithubConfig};
use governance::{config::Config, server::serve_upstream};

/// Governed GitHub MCP server. Credentials: GITHUB_TOKEN, else the OS keychain entry written by
/// `claude-enterprise login github`. API base URL: github.api_url in the config, or
/// GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3).
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
        let catalog = governance::server::tool_catalog(&github_mcp::tools::specs());
        println!("{catalog}");
        return Ok(());
    }
    governance::server::runtime_for(args.http)?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    governance::server::init_logging();
    let loaded = Config::load()?;
    // The environment wins (containers, CI), then the keychain entry of `login github`.
    let token = match auth::credentials::github_token(&loaded.config.keychain) {
        Ok(Some(found)) => {
            tracing::debug!(source = %found.source, "GitHub token found");
            Some(found.value)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    };
    if token.is_none() {
        tracing::warn!(
            "no GitHub token: tools are listed, calls answer with how to log in \
             (set GITHUB_TOKEN or run `claude-enterprise login github`)"
        );
    }
    let upstream = GithubServer::new(loaded.config.section::<GithubConfig>()?, token)
        .map_err(anyhow::Error::msg)
        .context("github-mcp cannot start")?;
    serve_upstream(loaded, "github-mcp", upstream, args.http).await?;
    Ok(())
}
