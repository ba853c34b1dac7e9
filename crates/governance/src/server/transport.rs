//! Serving a governed server over stdio (the default, what Claude Code spawns) or streamable
//! HTTP (`--http ADDR`, for shared deployments).

use std::net::SocketAddr;

use rmcp::{
    ServiceExt,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

use super::{GovernedServer, Upstream};

/// The server could not be started or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The MCP session over stdio could not be set up.
    #[error("MCP session failed: {0}")]
    Session(String),
    /// The HTTP listener could not be bound or failed.
    #[error("HTTP server on {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Serves over stdin/stdout until the client closes the stream.
pub async fn serve_stdio<U: Upstream>(server: GovernedServer<U>) -> Result<(), ServeError> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    Ok(())
}

/// Serves streamable HTTP at `http://ADDR/mcp` until the process is stopped.
pub async fn serve_http<U: Upstream>(
    server: GovernedServer<U>,
    addr: SocketAddr,
) -> Result<(), ServeError> {
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Http { addr, source })?;
    tracing::info!("serving MCP over streamable HTTP at http://{addr}/mcp");
    axum::serve(listener, router)
        .await
        .map_err(|source| ServeError::Http { addr, source })
}
