//! Identity and credentials for the claude-enterprise servers and CLI.
//!
//! - [`sso`]: single sign-on with the enterprise's OpenID provider ([`sso::Sso`]: discovery,
//!   code + PKCE on a loopback redirect, device code, ID token validation, refresh,
//!   revocation) and the logged-in user's [`sso::Identity`] (user and mapped roles).
//! - [`keychain`]: the OS keychain ([`keychain::Keychain`]), one entry per [`keychain::Tool`];
//!   no keychain means no storage at all, never a file.
//! - [`github`]: GitHub's OAuth device flow (github.com or GitHub Enterprise Server).
//! - [`atlassian`]: Atlassian Cloud's OAuth 2.0 (3LO) with PKCE on a loopback redirect, the
//!   sites a grant covers, and refresh (rotating refresh tokens, written back).
//! - [`credentials`]: what a server calls to get its upstream credential, the environment
//!   first (containers, CI), then the keychain.
//! - [`held`]: every secret the process has read, removed from any text before it leaves.
//!
//! This crate is not a policy engine and writes no audit events: `governance` asks it who the
//! user is; the CLI drives logins. It reads no config file itself: the `[sso]` and
//! `[keychain]` sections are its [`config`] types, embedded by `governance::config`.
#![deny(missing_docs)]

pub mod atlassian;
pub mod config;
pub mod credentials;
mod error;
pub mod github;
pub mod held;
mod http;
pub mod keychain;
mod loopback;
pub mod sso;

pub use error::{Error, IdTokenRejection, Result};
