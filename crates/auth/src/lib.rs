//! Identity and credentials for the claude-enterprise servers and CLI.
//!
//! - [`sso`]: single sign-on with the enterprise's OpenID provider ([`sso::Sso`]: discovery,
//!   code + PKCE on a loopback redirect, device code, ID token validation, refresh,
//!   revocation) and the logged-in user's [`sso::Identity`] (user and mapped roles).
//! - [`keychain`]: the OS keychain ([`keychain::Keychain`]), one entry per [`keychain::Tool`];
//!   no keychain means no storage at all, never a file.
//! - [`credentials`]: what a server calls to get its upstream credential, the environment
//!   first (containers, CI), then the keychain.
//!
//! This crate is not a policy engine and writes no audit events: `governance` asks it who the
//! user is; the CLI drives logins. It reads no config file itself: the `[sso]` and
//! `[keychain]` sections are its [`config`] types, embedded by `governance::config`.
#![deny(missing_docs)]

pub mod config;
pub mod credentials;
mod error;
mod http;
pub mod keychain;
pub mod sso;

pub use error::{Error, IdTokenRejection, Result};
