//! The shared test kit, plus how these tests start jira-mcp against Prism.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::path::Path;

pub use testkit::*;

/// An API token in the shape Atlassian issues them; never a real one.
pub const API_TOKEN: &str = "ATATT3xFfGF0TESTTOKEN0123456789abcdefghijklmnop";
/// An OAuth access token (the agile API's mock wants a Bearer token).
pub const OAUTH_TOKEN: &str = "eyJraWQiOiJ0ZXN0LW9hdXRoLXRva2VuIn0.test.signature";

/// Prism on Jira's platform and agile specs behind one recording proxy, as one site. A request
/// answered by an injection is still validated by Prism.
pub fn jira_site() -> RecordingProxy {
    let platform = atlassian_prism(AtlassianSpec::JiraPlatform);
    let agile = atlassian_prism(AtlassianSpec::JiraAgile);
    let site = RecordingProxy::start_routed(&[("/rest/agile/", &agile), ("", &platform)]);
    site.validate_injected();
    site
}

/// How a test authenticates.
#[derive(Clone, Copy)]
pub enum Auth {
    /// Cloud API token + e-mail (HTTP Basic).
    Basic,
    /// OAuth bearer.
    Bearer,
    /// A Data Center personal access token.
    Pat,
    /// No credentials at all.
    None,
}

/// Starts jira-mcp in a sandbox against `url`.
pub trait JiraSandbox {
    /// jira-mcp against `url`, authenticated with `auth`.
    fn jira(&self, url: &str, auth: Auth) -> McpStdio;
}

impl JiraSandbox for Sandbox {
    fn jira(&self, url: &str, auth: Auth) -> McpStdio {
        let mut envs = vec![("JIRA_URL", url)];
        match auth {
            Auth::Basic => {
                envs.push(("ATLASSIAN_EMAIL", "jane.doe@corp.example"));
                envs.push(("ATLASSIAN_API_TOKEN", API_TOKEN));
            }
            Auth::Bearer => envs.push(("ATLASSIAN_OAUTH_TOKEN", OAUTH_TOKEN)),
            Auth::Pat => envs.push(("ATLASSIAN_PAT", API_TOKEN)),
            Auth::None => {}
        }
        let mut server = self.spawn(Path::new(env!("CARGO_BIN_EXE_jira-mcp")), &envs);
        server.initialize();
        server
    }
}

/// The names of the tools a server lists.
pub fn tool_names(server: &mut McpStdio) -> Vec<String> {
    let tools = server.request("tools/list", serde_json::json!({}));
    tools["result"]["tools"]
        .as_array()
        .expect("a tool list")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}
