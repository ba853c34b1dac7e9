//! The servers this CLI knows: binary names, the credentials each needs, and tool tables.

use governance::server::ToolSpec;

/// One governed MCP server binary.
pub struct ServerEntry {
    /// Binary name.
    pub binary: &'static str,
    /// Environment variables that carry its credentials.
    pub credential_env: &'static [&'static str],
    /// The command that stores its credentials.
    pub login: &'static str,
    /// Its tool table.
    pub tools: fn() -> Vec<ToolSpec>,
}

/// Every server, in the order `doctor` and `policy explain` report them.
pub const SERVERS: &[ServerEntry] = &[ServerEntry {
    binary: "github-mcp",
    credential_env: &["GITHUB_TOKEN"],
    login: "claude-enterprise login github",
    tools: github_mcp::tools::specs,
}];
