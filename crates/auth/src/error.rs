//! The one error type of this crate. No variant carries a token: messages name what failed
//! and what to run, never the secret.

/// Why an ID token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenRejection {
    /// The token response held no ID token.
    #[error("the token response has no ID token")]
    Missing,
    /// `exp` is in the past.
    #[error("the ID token has expired")]
    Expired,
    /// `aud` does not name this client.
    #[error("the ID token is for another audience (not this client)")]
    WrongAudience,
    /// `iss` is not the configured issuer.
    #[error("the ID token is from another issuer")]
    WrongIssuer,
    /// `nonce` is not the one this login sent.
    #[error("the ID token's nonce does not match this login (replayed or injected token)")]
    WrongNonce,
    /// The signature does not verify against the provider's key.
    #[error("the ID token's signature does not verify")]
    BadSignature,
    /// The header names a key id the provider's JWKS does not hold.
    #[error("the ID token is signed with a key id the provider's JWKS does not hold")]
    UnknownKey,
    /// Anything else the verifier found (malformed token, disallowed algorithm, ...).
    #[error("the ID token is invalid: {0}")]
    Invalid(String),
}

/// What went wrong in a login, a refresh, a revocation or a keychain access.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `sso.issuer` is unset.
    #[error("SSO is not configured: set `sso.issuer` and `sso.client_id` in the config file")]
    NotConfigured,
    /// No OS keychain answered; nothing is stored anywhere else.
    #[error(
        "no OS keychain is available ({reason}). Tokens are never written to a file: pass them \
         through the environment instead (GITHUB_TOKEN; ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN, \
         ATLASSIAN_PAT or ATLASSIAN_OAUTH_TOKEN; AWS_PROFILE or AWS_ACCESS_KEY_ID + \
         AWS_SECRET_ACCESS_KEY), or start a keychain (Linux: a Secret Service such as \
         gnome-keyring, or a kernel session keyring: `keyctl session -`)"
    )]
    NoKeychain {
        /// What each backend answered.
        reason: String,
    },
    /// The keychain answered with an error.
    #[error("keychain ({backend}): {message}")]
    Keychain {
        /// Which backend.
        backend: &'static str,
        /// What it said (never the stored bytes).
        message: String,
    },
    /// A stored entry could not be read back; logging in again replaces it.
    #[error("the stored {tool} credential is unreadable ({message}): run `{command}` again")]
    Corrupt {
        /// The entry.
        tool: &'static str,
        /// What is wrong.
        message: String,
        /// The command that replaces it.
        command: String,
    },
    /// The identity provider could not be reached or discovered.
    #[error("identity provider {issuer}: {message}")]
    Discovery {
        /// The configured issuer.
        issuer: String,
        /// What failed.
        message: String,
    },
    /// The login redirect came back with another `state`: nothing is exchanged or stored.
    #[error(
        "the login redirect carried a different state than this login sent (cross-site request \
         forgery?): nothing was stored; run the login again"
    )]
    StateMismatch,
    /// The IdP answered the login with an error (`access_denied`, ...).
    #[error("the identity provider refused the login: {0}")]
    Refused(String),
    /// The ID token failed validation.
    #[error("ID token rejected: {0}")]
    IdToken(#[from] IdTokenRejection),
    /// A token endpoint request (code exchange, refresh, device poll, revocation) failed.
    #[error("{what} failed: {message}")]
    Token {
        /// Which request.
        what: &'static str,
        /// The endpoint's error code and description, or the transport failure.
        message: String,
    },
    /// The browser or device login did not complete in time.
    #[error("the login did not complete within {0} s")]
    Timeout(u64),
    /// A local I/O failure (binding the loopback listener, reading stdin).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
