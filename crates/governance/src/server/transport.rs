//! Serving a governed server over stdio (the default, what Claude Code spawns) or streamable
//! HTTP (`--http ADDR`, for shared deployments).

use std::net::SocketAddr;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

/// Longest JSON-RPC line read from stdin; longer ones are answered with an error and dropped
/// without being held in memory whole.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

use rmcp::{
    ServiceExt,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

use super::{GovernedServer, Kernel, KernelError, Upstream};
use crate::config::LoadedConfig;

/// The server could not be started or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The kernel could not be built from the config.
    #[error(transparent)]
    Kernel(#[from] KernelError),
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

/// Logs to stderr (stdout carries the protocol), at `CLAUDE_ENTERPRISE_LOG` (default `warn`),
/// every line cleaned of secrets first.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(|| crate::content::ScrubbingWriter(std::io::stderr()))
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAUDE_ENTERPRISE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
}

/// The runtime a server binary runs on: one thread for the one stdio client; many for an HTTP
/// listener, which serves many sessions at once.
pub fn runtime_for(http: Option<SocketAddr>) -> std::io::Result<tokio::runtime::Runtime> {
    match http {
        Some(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
}

/// Governs `upstream` with the kernel of `loaded` for the binary `server_name`, and serves it
/// over streamable HTTP at `http` when given, else stdio: the end of every server's `main`.
pub async fn serve_upstream<U: Upstream>(
    loaded: LoadedConfig,
    server_name: &str,
    upstream: U,
    http: Option<SocketAddr>,
) -> Result<(), ServeError> {
    let kernel = std::sync::Arc::new(Kernel::new(loaded, server_name)?);
    serve(GovernedServer::new(kernel, upstream), http).await
}

/// Serves streamable HTTP at `http` when given, else stdio.
pub async fn serve<U: Upstream>(
    server: GovernedServer<U>,
    http: Option<SocketAddr>,
) -> Result<(), ServeError> {
    match http {
        Some(addr) => serve_http(server, addr).await,
        None => serve_stdio(server).await,
    }
}

/// Serves over stdin/stdout until the client closes the stream.
///
/// rmcp drops lines that are not JSON-RPC without a word, which leaves a client waiting; a
/// filter in front of it answers them with the JSON-RPC error (-32700 parse error, -32600
/// invalid request) and keeps serving. Lines are written to stdout whole, from one task.
pub async fn serve_stdio<U: Upstream>(server: GovernedServer<U>) -> Result<(), ServeError> {
    serve_lines(server, tokio::io::stdin(), tokio::io::stdout()).await
}

/// [`serve_stdio`] over any line-oriented reader and writer.
pub async fn serve_lines<U, R, W>(
    server: GovernedServer<U>,
    input: R,
    output: W,
) -> Result<(), ServeError>
where
    U: Upstream,
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    const PIPE: usize = 1 << 20;
    let (to_rmcp, rmcp_in) = tokio::io::duplex(PIPE);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE);
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel::<String>(64);

    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(line) = lines_rx.recv().await {
            if output.write_all(line.as_bytes()).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    let rmcp_lines = lines_tx.clone();
    let forward_out = tokio::spawn(async move {
        let mut lines = BufReader::new(from_rmcp).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if rmcp_lines.send(line + "\n").await.is_err() {
                break;
            }
        }
    });
    let filter_in = tokio::spawn(async move {
        let mut to_rmcp = to_rmcp;
        let mut lines = FramedRead::new(input, LinesCodec::new_with_max_length(MAX_LINE_BYTES));
        while let Some(next) = lines.next().await {
            let answer = match next {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => match malformed(&line) {
                    None => {
                        if to_rmcp.write_all((line + "\n").as_bytes()).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Some(answer) => answer,
                },
                Err(LinesCodecError::MaxLineLengthExceeded) => serde_json::json!({
                    "jsonrpc": "2.0", "id": null,
                    "error": {"code": -32600, "message": format!(
                        "Invalid Request: message longer than {MAX_LINE_BYTES} bytes, discarded")},
                }),
                Err(LinesCodecError::Io(_)) => break,
            };
            tracing::warn!("answered a malformed JSON-RPC line with an error");
            if lines_tx.send(answer.to_string() + "\n").await.is_err() {
                break;
            }
        }
        // Closing the pipe tells rmcp the client has gone.
        let _ = to_rmcp.shutdown().await;
    });

    let running = server
        .serve((rmcp_in, rmcp_out))
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    let result = running.waiting().await;
    filter_in.abort();
    let _ = forward_out.await;
    let _ = writer.await;
    result.map_err(|e| ServeError::Session(e.to_string()))?;
    Ok(())
}

/// The JSON-RPC error answering a line that is not a JSON-RPC message, or `None` for a message.
fn malformed(line: &str) -> Option<serde_json::Value> {
    let error = |id: serde_json::Value, code: i64, message: &str| {
        Some(
            serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        )
    };
    let value: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return error(
                serde_json::Value::Null,
                -32700,
                &format!("Parse error: {e}"),
            );
        }
    };
    let Some(object) = value.as_object() else {
        return error(
            serde_json::Value::Null,
            -32600,
            "Invalid Request: expected one JSON-RPC 2.0 object per line (batches are not supported)",
        );
    };
    let id = object.get("id").cloned().unwrap_or(serde_json::Value::Null);
    let is_message = object.get("jsonrpc").and_then(|v| v.as_str()) == Some("2.0")
        && (object.get("method").is_some_and(|m| m.is_string())
            || object.contains_key("result")
            || object.contains_key("error"));
    if !is_message {
        return error(
            id,
            -32600,
            "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
        );
    }
    if object
        .get("params")
        .is_some_and(|p| !(p.is_object() || p.is_array() || p.is_null()))
    {
        return error(id, -32602, "Invalid params: params must be an object");
    }
    None
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
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "{addr} is not a loopback address and this listener has no authentication of its \
             own: put it behind an authenticating proxy"
        );
    }
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Http { addr, source })?;
    tracing::info!("serving MCP over streamable HTTP at http://{addr}/mcp");
    axum::serve(listener, router)
        .await
        .map_err(|source| ServeError::Http { addr, source })
}

#[cfg(test)]
mod tests {
    use super::malformed;

    #[test]
    fn malformed_lines_get_json_rpc_errors() {
        let cases: &[(&str, Option<i64>)] = &[
            ("not json", Some(-32700)),
            ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":", Some(-32700)),
            ("[1,2]", Some(-32600)),
            ("{\"id\":3,\"method\":\"tools/list\"}", Some(-32600)),
            ("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":7}", Some(-32600)),
            (
                "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":\"x\"}",
                Some(-32602),
            ),
            (
                "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}",
                None,
            ),
            (
                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                None,
            ),
        ];
        for (line, code) in cases {
            let got = malformed(line).map(|v| v["error"]["code"].as_i64().unwrap());
            assert_eq!(got, *code, "{line}");
        }
        assert_eq!(malformed("{\"id\":3}").unwrap()["id"], 3);
    }
}
