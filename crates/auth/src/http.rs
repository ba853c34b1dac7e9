//! The HTTP client handed to `openidconnect` (reqwest over rustls, no redirects followed, as
//! the OAuth specs require of token endpoints) and error wording without secrets.

use std::{future::Future, path::Path, pin::Pin, time::Duration};

use crate::Error;

/// A transport failure, as words (reqwest's message chain; never a request body).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

type Answer = Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>>;

/// One reqwest client per IdP conversation.
#[derive(Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
}

impl HttpClient {
    /// A client trusting the system's CAs, and those in `ca_file` when given.
    pub(crate) fn new(ca_file: Option<&Path>) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("claude-enterprise/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("{}: {}", path.display(), chain(&e)))?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| chain(&e))?;
        Ok(Self { client })
    }

    /// The client in the shape `openidconnect` calls (`Fn(HttpRequest) -> Future`).
    pub(crate) fn caller(&self) -> impl Fn(openidconnect::HttpRequest) -> Answer + use<> {
        let client = self.client.clone();
        move |request| Box::pin(send(client.clone(), request))
    }

    /// [`HttpClient::caller`] with every response passed through `adapt` (a provider's
    /// deviation from the OAuth wire format, mended before `oauth2` reads it).
    pub(crate) fn caller_adapting(
        &self,
        adapt: fn(openidconnect::HttpResponse) -> openidconnect::HttpResponse,
    ) -> impl Fn(openidconnect::HttpRequest) -> Answer + use<> {
        let client = self.client.clone();
        move |request| {
            let answer = send(client.clone(), request);
            Box::pin(async move { answer.await.map(adapt) })
        }
    }

    /// `GET url` with a Bearer token: the status and the body.
    pub(crate) async fn get_with_bearer(
        &self,
        url: &str,
        token: &str,
    ) -> Result<(u16, Vec<u8>), String> {
        let response = self
            .client
            .get(url)
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| chain(&e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| chain(&e))?;
        Ok((status, body.to_vec()))
    }
}

async fn send(
    client: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(chain(&e)))?;
    let mut answer = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let body = response.bytes().await.map_err(|e| HttpError(chain(&e)))?;
    answer
        .body(body.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

/// An error and its sources, joined with `: `.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !words.contains(&next) {
            words.push_str(": ");
            words.push_str(&next);
        }
        source = inner.source();
    }
    words
}

/// A request that could not even be built (an endpoint missing from discovery).
pub(crate) fn token_error(what: &'static str, e: openidconnect::ConfigurationError) -> Error {
    Error::Token {
        what,
        message: e.to_string(),
    }
}

/// A token endpoint's failure in words: its error code and description, or the transport
/// failure; never the body of a response that did not parse (it may hold tokens).
pub(crate) fn request_error<
    E: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
>(
    what: &'static str,
    e: openidconnect::RequestTokenError<E, T>,
) -> Error {
    let message = match &e {
        openidconnect::RequestTokenError::ServerResponse(response) => response.to_string(),
        openidconnect::RequestTokenError::Request(inner) => chain(inner),
        // The body may hold tokens: name the parse error only.
        openidconnect::RequestTokenError::Parse(inner, _body) => {
            format!("unexpected response: {inner}")
        }
        openidconnect::RequestTokenError::Other(message) => message.clone(),
    };
    Error::Token { what, message }
}
