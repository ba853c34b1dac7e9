//! The loopback redirect of a browser login (RFC 8252): a listener on `127.0.0.1`, the
//! `redirect_uri` it answers at, and the query of the first redirect that arrives.

use std::{collections::HashMap, time::Duration};

use crate::{Error, Result};

/// A bound loopback listener, waiting for the authorization server's redirect.
pub(crate) struct Redirect {
    listener: tokio::net::TcpListener,
    uri: String,
}

impl Redirect {
    /// Listens on `127.0.0.1:port` (0: a free port).
    pub(crate) async fn bind(port: u16) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| Error::Io {
                what: format!("cannot listen on 127.0.0.1:{port} for the login redirect"),
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| Error::Io {
            what: "loopback listener".into(),
            source,
        })?;
        Ok(Self {
            listener,
            uri: format!("http://127.0.0.1:{}/callback", bound.port()),
        })
    }

    /// `http://127.0.0.1:PORT/callback`.
    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// The query of the first request to `/callback`, or [`Error::Timeout`] after `timeout`.
    pub(crate) async fn wait(self, timeout: Duration) -> Result<HashMap<String, String>> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<HashMap<String, String>>(1);
        let app = axum::Router::new().route(
            "/callback",
            axum::routing::get(
                move |axum::extract::Query(query): axum::extract::Query<
                    HashMap<String, String>,
                >| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(query).await;
                        axum::response::Html(
                            "<!doctype html><title>claude-enterprise</title>\
                             <p>Login received. You can close this window and return to the \
                             terminal.</p>",
                        )
                    }
                },
            ),
        );
        let server = tokio::spawn(async move { axum::serve(self.listener, app).await });
        let query = tokio::time::timeout(timeout, rx.recv()).await;
        server.abort();
        match query {
            Ok(Some(query)) => Ok(query),
            _ => Err(Error::Timeout(timeout.as_secs())),
        }
    }
}

/// The authorization server's answer in a redirect query: `Err` when it carries `error`, or
/// another `state` than `expected_state`; else the code.
pub(crate) fn code<'q>(
    query: &'q HashMap<String, String>,
    expected_state: &str,
) -> Result<&'q str> {
    if let Some(error) = query.get("error") {
        let description = query.get("error_description").map_or("", String::as_str);
        return Err(Error::Refused(
            format!("{error} {description}").trim().to_owned(),
        ));
    }
    // Constant-time comparison is moot for a one-shot random value; equality suffices.
    if query.get("state").map(String::as_str) != Some(expected_state) {
        return Err(Error::StateMismatch);
    }
    query
        .get("code")
        .map(String::as_str)
        .ok_or_else(|| Error::Refused("the redirect carried no code".into()))
}
