//! `aws-mcp`: the governed, read-only AWS MCP server. Speaks MCP over stdio, or streamable HTTP
//! with `--http ADDR`. Credentials: the environment's (aws-config's default chain), else the
//! keychain's from `claude-enterprise login aws`, else aws-config's profiles (IAM Identity
//! Center, ...); `AWS_ENDPOINT_URL` points it elsewhere (tests).

use aws_mcp::{AwsServer, KeychainCredentials, config::AwsConfig};
use clap::Parser;
use governance::{
    config::Config,
    server::{ServerArgs, serve_upstream},
};

/// Governed, read-only AWS MCP server.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    // This main builds its own runtime (not `runtime_for`), so it installs the provider itself.
    governance::server::install_crypto_provider();
    let args = Args::parse();
    if args.server.printed_tools(aws_mcp::tools::specs) {
        return Ok(());
    }
    let loaded = Config::load()?;
    let aws: AwsConfig = loaded.config.section()?;
    if !aws.instance_metadata && std::env::var_os("AWS_EC2_METADATA_DISABLED").is_none() {
        // SAFETY: no other thread exists yet; the SDK reads this when it builds its chain.
        #[expect(
            unsafe_code,
            clippy::disallowed_methods,
            reason = "single-threaded start-up: the only way to turn off the SDK's IMDS lookup"
        )]
        unsafe {
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true")
        };
    }
    // The SDK runs its own tasks; two workers keep STS, and calls, off the stdio path.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(args, loaded, aws))
}

async fn run(
    args: Args,
    loaded: governance::config::LoadedConfig,
    aws: AwsConfig,
) -> anyhow::Result<()> {
    governance::server::init_logging();
    let keychain = &loaded.config.keychain;
    // The environment wins: the keychain is not even opened when it has credentials.
    let stored = match auth::credentials::aws_keychain_credentials(keychain) {
        Ok(stored) => stored,
        Err(e) => {
            tracing::info!("no AWS credentials from the keychain ({e}); using aws-config's chain");
            None
        }
    };
    let upstream = AwsServer::new(
        aws,
        stored.map(|entry| KeychainCredentials {
            keychain: keychain.clone(),
            entry,
        }),
    )
    .await;
    serve_upstream(loaded, "aws-mcp", upstream, args.server.http).await?;
    Ok(())
}
