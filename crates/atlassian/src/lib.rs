//! What the Jira and Confluence servers share: the REST client of one Atlassian site and the
//! conversions between Atlassian's document formats and Markdown.
//!
//! Scope: transport, authentication (Cloud API token + e-mail, Data Center personal access
//! token, OAuth bearer), retries and rate limits, Atlassian's error bodies, and the formats:
//! [`adf`] (Cloud's Atlassian Document Format), [`wiki`] (Data Center's wiki markup) and
//! [`storage`] (Confluence's XHTML storage format). No tool, no policy: those belong to the
//! servers and the kernel.

pub mod adf;
pub mod client;
mod deployment;
mod markdown;
pub mod storage;
pub mod wiki;

pub use client::{
    AtlassianClient, AtlassianError, Credential, LOGIN_HINT, OAuthRefresh, Product, Site,
    credential_email, find_credential,
};
pub use deployment::Deployment;
