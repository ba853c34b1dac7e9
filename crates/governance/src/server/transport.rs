//! Serving a governed server over stdio (the default, what Claude Code spawns) or streamable
//! HTTP (`--http ADDR`, for shared deployments).

use std::net::SocketAddr;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::{
    bytes::{Buf, BytesMut},
    codec::{Decoder, FramedRead},
};

/// Longest JSON-RPC line read from stdin; longer ones are answered with an error and dropped
/// without being held in memory whole.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// One line of the client's stream, as the filter in front of rmcp sees it.
#[derive(Debug, PartialEq)]
enum Line {
    /// A line of UTF-8 text, without its line ending.
    Text(String),
    /// A line that is not UTF-8.
    NotUtf8,
    /// A line longer than the bound, dropped as it arrived.
    TooLong,
}

/// Splits the client's stream into [`Line`]s. Unlike `LinesCodec`, a bad line is an item, not
/// an error: `FramedRead` ends the stream after a decoder error, which would end the session
/// for one bad line.
struct LineDecoder {
    max: usize,
    /// Bytes of the buffered line already searched for a newline.
    searched: usize,
    /// Inside a line that was already reported as too long.
    discarding: bool,
}

impl LineDecoder {
    fn new(max: usize) -> Self {
        Self {
            max,
            searched: 0,
            discarding: false,
        }
    }
}

impl Decoder for LineDecoder {
    type Item = Line;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, std::io::Error> {
        loop {
            let newline = buf[self.searched..].iter().position(|b| *b == b'\n');
            match (newline, self.discarding) {
                (Some(offset), true) => {
                    buf.advance(self.searched + offset + 1);
                    self.searched = 0;
                    self.discarding = false;
                }
                (None, true) => {
                    buf.clear();
                    self.searched = 0;
                    return Ok(None);
                }
                (Some(offset), false) => {
                    let end = self.searched + offset;
                    let line = buf.split_to(end + 1);
                    self.searched = 0;
                    if end > self.max {
                        return Ok(Some(Line::TooLong));
                    }
                    let text = &line[..end];
                    let text = text.strip_suffix(b"\r").unwrap_or(text);
                    return Ok(Some(match std::str::from_utf8(text) {
                        Ok(text) => Line::Text(text.to_owned()),
                        Err(_) => Line::NotUtf8,
                    }));
                }
                (None, false) if buf.len() > self.max => {
                    buf.clear();
                    self.searched = 0;
                    self.discarding = true;
                    return Ok(Some(Line::TooLong));
                }
                (None, false) => {
                    self.searched = buf.len();
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, std::io::Error> {
        match self.decode(buf)? {
            Some(line) => Ok(Some(line)),
            None if buf.is_empty() || self.discarding => Ok(None),
            // A last line without its newline.
            None => {
                buf.extend_from_slice(b"\n");
                self.decode(buf)
            }
        }
    }
}

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
/// every line cleaned of secrets first; WARN and ERROR also go to the local errors journal
/// ([`crate::audit::errors_dir`], [`crate::audit::ErrorsLog`]), which `audit ship` sends to the
/// sinks' errors streams.
pub fn init_logging() {
    use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(|| crate::content::ScrubbingWriter(std::io::stderr()))
        .with_ansi(false)
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAUDE_ENTERPRISE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        );
    let errors = crate::config::Config::load()
        .ok()
        .and_then(|loaded| loaded.config.audit.journal_dir())
        .map(|dir| {
            let server = std::env::current_exe()
                .ok()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "server".into());
            let log = crate::audit::ErrorsLog::new(&crate::audit::errors_dir(&dir), &server);
            tracing_subscriber::fmt::layer()
                .with_writer(move || crate::content::ScrubbingWriter(log.clone()))
                .with_ansi(false)
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN)
        });
    tracing_subscriber::registry()
        .with(stderr)
        .with(errors)
        .init();
}

/// Installs ring as this process's TLS crypto provider, the one every rustls client in it uses
/// (reqwest in auth and atlassian, built without a provider of its own; octocrab's hyper-rustls
/// on ring). Call it first thing in `main`, before any client exists: `runtime_for` does, for
/// the servers; the CLI calls it itself. A second call changes nothing.
pub fn install_crypto_provider() {
    // Err means a provider is installed already: the first one stands.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place the provider is installed"
    )]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The runtime a server binary runs on: one thread for the one stdio client; many for an HTTP
/// listener, which serves many sessions at once. Installs the TLS crypto provider first.
pub fn runtime_for(http: Option<SocketAddr>) -> std::io::Result<tokio::runtime::Runtime> {
    install_crypto_provider();
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
    let filter_server = server.clone();
    let filter_in = tokio::spawn(async move {
        let mut to_rmcp = to_rmcp;
        let mut lines = FramedRead::new(input, LineDecoder::new(MAX_LINE_BYTES));
        while let Some(next) = lines.next().await {
            let answer = match next {
                Ok(Line::Text(line)) if line.trim().is_empty() => continue,
                Ok(Line::Text(line)) => match check_line(&line) {
                    Checked::Message => {
                        if to_rmcp.write_all((line + "\n").as_bytes()).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Checked::Malformed(answer) => answer,
                    Checked::CallWithBadArguments {
                        id,
                        name,
                        arguments,
                    } => refuse_bad_arguments(&filter_server, id, &name, arguments).await,
                },
                Ok(Line::NotUtf8) => serde_json::json!({
                    "jsonrpc": "2.0", "id": null,
                    "error": {"code": -32700, "message": "Parse error: the line is not UTF-8"},
                }),
                Ok(Line::TooLong) => serde_json::json!({
                    "jsonrpc": "2.0", "id": null,
                    "error": {"code": -32600, "message": format!(
                        "Invalid Request: message longer than {MAX_LINE_BYTES} bytes, discarded")},
                }),
                Err(_) => break,
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

/// The answer to a `tools/call` whose `arguments` is not an object. rmcp would answer "method
/// not found" and journal nothing: the pipeline answers invalid params and journals the
/// refused call.
async fn refuse_bad_arguments<U: Upstream>(
    server: &GovernedServer<U>,
    id: serde_json::Value,
    name: &str,
    arguments: serde_json::Value,
) -> serde_json::Value {
    let error = match server.governed_call(name, arguments, None).await {
        Err(error) => serde_json::to_value(error).unwrap_or_default(),
        Ok(_) => serde_json::json!({"code": -32602, "message": "Invalid params"}),
    };
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": error})
}

/// What the filter makes of one line of text.
#[derive(Debug)]
enum Checked {
    /// A JSON-RPC message for rmcp.
    Message,
    /// Not a JSON-RPC message: the error that answers it.
    Malformed(serde_json::Value),
    /// A `tools/call` whose `arguments` is not an object, for the pipeline to refuse and journal.
    CallWithBadArguments {
        id: serde_json::Value,
        name: String,
        arguments: serde_json::Value,
    },
}

/// Sorts a line into a message for rmcp, a malformed line with the JSON-RPC error that answers
/// it, or a tool call whose arguments are not an object.
fn check_line(line: &str) -> Checked {
    let error = |id: serde_json::Value, code: i64, message: &str| {
        Checked::Malformed(
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
    let params = object.get("params");
    if params.is_some_and(|p| !(p.is_object() || p.is_array() || p.is_null())) {
        return error(id, -32602, "Invalid params: params must be an object");
    }
    if object.get("method").and_then(|m| m.as_str()) == Some("tools/call") {
        let params = params.and_then(|p| p.as_object());
        let Some(name) = params.and_then(|p| p.get("name")).and_then(|n| n.as_str()) else {
            return error(
                id,
                -32602,
                "Invalid params: tools/call needs the tool's `name` as a string",
            );
        };
        let arguments = params.and_then(|p| p.get("arguments"));
        if let Some(arguments) = arguments.filter(|a| !(a.is_object() || a.is_null())) {
            return Checked::CallWithBadArguments {
                id,
                name: name.to_owned(),
                arguments: arguments.clone(),
            };
        }
    }
    Checked::Message
}

/// Serves streamable HTTP at `http://ADDR/mcp` until the process is stopped.
pub async fn serve_http<U: Upstream>(
    server: GovernedServer<U>,
    addr: SocketAddr,
) -> Result<(), ServeError> {
    let sessions = std::sync::Arc::new(LocalSessionManager::default());
    let config = StreamableHttpServerConfig::default();
    let body_limit = config.max_request_body_bytes;
    let guard = BadArgumentsGuard {
        server: server.clone(),
        sessions: sessions.clone(),
        body_limit,
    };
    let service = StreamableHttpService::new(move || Ok(server.clone()), sessions, config);
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "{addr} is not a loopback address and this listener has no authentication of its \
             own: put it behind an authenticating proxy"
        );
    }
    let router =
        axum::Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn(move |request, next| {
                let guard = guard.clone();
                async move { guard.check(request, next).await }
            }));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Http { addr, source })?;
    tracing::info!("serving MCP over streamable HTTP at http://{addr}/mcp");
    axum::serve(listener, router)
        .await
        .map_err(|source| ServeError::Http { addr, source })
}

/// The HTTP counterpart of the stdio filter's `tools/call` check: rmcp's HTTP service answers
/// a call whose `arguments` is not an object with "method not found" and journals nothing, so
/// such a POST, within a live session, is answered and journaled by the pipeline before rmcp
/// sees it. Every other request reaches rmcp unchanged.
struct BadArgumentsGuard<U: Upstream> {
    server: GovernedServer<U>,
    sessions: std::sync::Arc<LocalSessionManager>,
    body_limit: usize,
}

impl<U: Upstream> Clone for BadArgumentsGuard<U> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            sessions: self.sessions.clone(),
            body_limit: self.body_limit,
        }
    }
}

impl<U: Upstream> BadArgumentsGuard<U> {
    async fn check(
        &self,
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        use rmcp::transport::streamable_http_server::session::SessionManager;

        if request.method() != axum::http::Method::POST {
            return next.run(request).await;
        }
        let (parts, body) = request.into_parts();
        // One byte over rmcp's own bound, so that rmcp still gives its answer to a body that
        // is too long; a body longer still is refused here, as rmcp would.
        let bytes = match axum::body::to_bytes(body, self.body_limit.saturating_add(1)).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let answer = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {
                    "code": -32600,
                    "message": format!("Invalid Request: body longer than {} bytes", self.body_limit),
                }});
                return json_response(axum::http::StatusCode::PAYLOAD_TOO_LARGE, &answer);
            }
        };
        let session = parts
            .headers
            .get(rmcp::transport::common::http_header::HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(std::sync::Arc::<str>::from);
        if let (Some(session), Ok(text)) = (session, std::str::from_utf8(&bytes))
            && let Checked::CallWithBadArguments {
                id,
                name,
                arguments,
            } = check_line(text)
            && self.sessions.has_session(&session).await.unwrap_or(false)
        {
            let answer = refuse_bad_arguments(&self.server, id, &name, arguments).await;
            return json_response(axum::http::StatusCode::OK, &answer);
        }
        next.run(axum::extract::Request::from_parts(
            parts,
            axum::body::Body::from(bytes),
        ))
        .await
    }
}

/// A JSON-RPC message as a plain JSON response, which streamable HTTP clients accept for a POST.
fn json_response(
    status: axum::http::StatusCode,
    answer: &serde_json::Value,
) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(answer.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> Option<i64> {
        match check_line(line) {
            Checked::Malformed(answer) => answer["error"]["code"].as_i64(),
            _ => None,
        }
    }

    #[test]
    fn malformed_lines_get_json_rpc_errors() {
        let cases: &[(&str, Option<i64>)] = &[
            ("not json", Some(-32700)),
            (r#"{"jsonrpc":"2.0","id":1,"method":"#, Some(-32700)),
            ("[1,2]", Some(-32600)),
            (r#"{"id":3,"method":"tools/list"}"#, Some(-32600)),
            (r#"{"jsonrpc":"2.0","id":4,"method":7}"#, Some(-32600)),
            (
                r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":"x"}"#,
                Some(-32602),
            ),
            (
                r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":3}}"#,
                Some(-32602),
            ),
            (r#"{"jsonrpc":"2.0","id":6,"method":"tools/list"}"#, None),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"t","arguments":null}}"#,
                None,
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(code(line), *expected, "{line}");
        }
        let Checked::Malformed(answer) = check_line(r#"{"id":3}"#) else {
            panic!("not malformed")
        };
        assert_eq!(answer["id"], 3);
    }

    #[test]
    fn tool_calls_with_arguments_that_are_not_objects_go_to_the_pipeline() {
        for arguments in [r#""x""#, "[1]", "3", "true"] {
            let line = format!(
                r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"t","arguments":{arguments}}}}}"#
            );
            match check_line(&line) {
                Checked::CallWithBadArguments { id, name, .. } => {
                    assert_eq!((id, name.as_str()), (serde_json::json!(9), "t"));
                }
                other => panic!("{arguments}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_lines_are_items_and_the_lines_after_them_still_arrive() {
        let input: &[u8] = b"ok 1\n\xff\xfe bad\n0123456789abcdef too long\nok 2\r\n\nlast";
        let mut buf = BytesMut::from(input);
        let mut decoder = LineDecoder::new(10);
        let mut lines = Vec::new();
        while let Some(line) = decoder.decode(&mut buf).unwrap() {
            lines.push(line);
        }
        while let Some(line) = decoder.decode_eof(&mut buf).unwrap() {
            lines.push(line);
        }
        let text = |s: &str| Line::Text(s.to_owned());
        assert_eq!(
            lines,
            [
                text("ok 1"),
                Line::NotUtf8,
                Line::TooLong,
                text("ok 2"),
                text(""),
                text("last")
            ]
        );
    }

    #[test]
    fn a_long_line_arriving_in_pieces_is_dropped_once_without_being_held() {
        let mut decoder = LineDecoder::new(8);
        let mut buf = BytesMut::from(&b"0123456789"[..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), Some(Line::TooLong));
        assert!(buf.is_empty(), "the long line is not kept");
        buf.extend_from_slice(b"more of it");
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b" end\nnext\n");
        assert_eq!(
            decoder.decode(&mut buf).unwrap(),
            Some(Line::Text("next".into()))
        );
    }
}
