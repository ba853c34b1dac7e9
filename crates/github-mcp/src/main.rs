//! `github-mcp`: the governed GitHub MCP server. Speaks MCP over stdio (what Claude Code
//! spawns), or streamable HTTP with `--http ADDR`.

use anyhow::Context;
use clap::Parser;
use github_mcp::{GithubServer, config::GithubConfig};
use governance::{
    config::Config,
    server::{ServerArgs, serve_upstream},
};

/// Governed GitHub MCP server. Credentials: GITHUB_TOKEN, else the OS keychain entry written by
/// `claude-enterprise login github`. API base URL: github.api_url in the config, or
/// GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.server.printed_tools(github_mcp::tools::specs) {
        return Ok(());
    }
    governance::server::runtime_for(args.server.http)?.block_on(run(args))
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
    serve_upstream(loaded, "github-mcp", upstream, args.server.http).await?;
    Ok(())
}
