//! The shared test kit, plus how these tests start github-mcp.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::path::Path;

pub use testkit::*;

/// Starts github-mcp in a sandbox.
pub trait GithubSandbox {
    /// github-mcp against `api_url`, with `token` as GITHUB_TOKEN.
    fn github(&self, api_url: &str, token: Option<&str>) -> McpStdio;
}

impl GithubSandbox for Sandbox {
    fn github(&self, api_url: &str, token: Option<&str>) -> McpStdio {
        let mut envs = vec![("GITHUB_API_URL", api_url)];
        if let Some(token) = token {
            envs.push(("GITHUB_TOKEN", token));
        }
        self.spawn(Path::new(env!("CARGO_BIN_EXE_github-mcp")), &envs)
    }
}
