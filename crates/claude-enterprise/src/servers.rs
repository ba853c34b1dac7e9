//! The servers this CLI knows: binary names and whose credential each uses. Tool tables come
//! from the binaries themselves (`<server> --tools`), so the CLI links no upstream SDK.

use std::path::{Path, PathBuf};

use auth::keychain::Tool;
use serde::Deserialize;

/// One governed MCP server binary.
pub struct ServerEntry {
    /// Binary name.
    pub binary: &'static str,
    /// Whose credential it uses (the environment or that tool's keychain entry).
    pub tool: Tool,
}

/// Every server, in the order `doctor` and `policy explain` report them.
pub const SERVERS: &[ServerEntry] = &[
    ServerEntry {
        binary: "github-mcp",
        tool: Tool::Github,
    },
    ServerEntry {
        binary: "aws-mcp",
        tool: Tool::Aws,
    },
    ServerEntry {
        binary: "jira-mcp",
        tool: Tool::Atlassian,
    },
    ServerEntry {
        binary: "confluence-mcp",
        tool: Tool::Atlassian,
    },
];

/// One row of a server's tool table.
#[derive(Debug, Deserialize)]
pub struct CatalogEntry {
    /// Tool name.
    pub name: String,
    /// `read` or `write`.
    pub access: String,
}

/// The server binary: beside this executable first (one install, one version), then on PATH.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name));
    beside.into_iter().chain(on_path).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The full tool table of a server binary (`--tools`), whatever the policy.
pub fn catalog(binary: &Path) -> anyhow::Result<Vec<CatalogEntry>> {
    let out = std::process::Command::new(binary).arg("--tools").output()?;
    anyhow::ensure!(
        out.status.success(),
        "{} --tools failed: {}",
        binary.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}
