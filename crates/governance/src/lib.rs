//! The governed-call kernel every claude-enterprise MCP server runs through.
//!
//! The central type is [`server::GovernedServer`]: a server crate implements
//! [`server::Upstream`] (its tools and upstream client) and the kernel supplies the rest —
//! [`config`], [`identity`], [`policy`], the [`audit`] journal and [`content`] safety.
//!
//! This crate knows no upstream: no GitHub, Jira, Confluence or AWS type or SDK appears here,
//! and no server crate is imported. Policy is pure; I/O lives in `audit` and `server`.
#![deny(missing_docs)]

pub mod audit;
pub mod config;
pub mod content;
pub mod flow;
pub mod identity;
pub mod policy;
pub mod server;
