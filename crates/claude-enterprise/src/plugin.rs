//! `claude-enterprise plugin write`: the Claude Code plugin (servers, hooks and skills) as a
//! skills-directory plugin, `~/.claude/skills/<name>/`, which Claude Code loads in place.
//!
//! The layout is data in `plugin/` at the workspace root, read here with `include_str!` and by
//! the Nix module with `builtins.fromJSON` / `builtins.readDir`, so the two cannot drift:
//! `plugin/root/` is copied as it is (manifest, README, LICENSE), and `plugin/layout.json`
//! holds what depends on the install: the hooks (`claude-enterprise hook EVENT` per event,
//! matcher, timeout) and the servers (name in Claude Code, binary, the variables a container
//! is given). Only what the install decides is added here: absolute paths, or `docker run`.
//!
//! Nothing secret is written: paths and variable *names* only. Claude Code's own
//! `~/.claude/settings.json` and `~/.claude.json` are never touched (Claude Code rewrites them).

use std::{
    collections::BTreeMap,
    fs::{DirBuilder, File, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use governance::config::{Config, ConfigSource, SYSTEM_CONFIG, state_dir};
use serde::Deserialize;
use serde_json::{Value, json};

/// The install-dependent part of the plugin.
const LAYOUT: &str = include_str!("../../../plugin/layout.json");

/// The plugin's manifest; its `name` names the plugin everywhere.
const MANIFEST: &str = include_str!("../../../plugin/root/.claude-plugin/plugin.json");
/// The plugin's license, the workspace's.
const LICENSE: &str = include_str!("../../../plugin/root/LICENSE");

/// `plugin/root/`, copied as it is: (path inside the plugin, content).
const FILES: &[(&str, &str)] = &[
    (".claude-plugin/plugin.json", MANIFEST),
    ("README.md", include_str!("../../../plugin/root/README.md")),
    ("LICENSE", LICENSE),
    // The four agents' skills (Claude Code reads `skills/<name>/SKILL.md`).
    (
        "skills/delivery-status/SKILL.md",
        include_str!("../../../plugin/root/skills/delivery-status/SKILL.md"),
    ),
    (
        "skills/delivery-status/status-template.md",
        include_str!("../../../plugin/root/skills/delivery-status/status-template.md"),
    ),
    (
        "skills/portfolio-rollup/SKILL.md",
        include_str!("../../../plugin/root/skills/portfolio-rollup/SKILL.md"),
    ),
    (
        "skills/portfolio-rollup/rollup-template.md",
        include_str!("../../../plugin/root/skills/portfolio-rollup/rollup-template.md"),
    ),
    (
        "skills/security-review/SKILL.md",
        include_str!("../../../plugin/root/skills/security-review/SKILL.md"),
    ),
    (
        "skills/security-review/checklist.md",
        include_str!("../../../plugin/root/skills/security-review/checklist.md"),
    ),
    (
        "skills/security-review/findings-template.md",
        include_str!("../../../plugin/root/skills/security-review/findings-template.md"),
    ),
    (
        "skills/service-health/SKILL.md",
        include_str!("../../../plugin/root/skills/service-health/SKILL.md"),
    ),
    (
        "skills/service-health/signals.md",
        include_str!("../../../plugin/root/skills/service-health/signals.md"),
    ),
];

/// `plugin/layout.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layout {
    /// One `claude-enterprise hook EVENT` command per entry.
    hooks: Vec<HookLayout>,
    /// Variables every server container is given (besides its own).
    env: Vec<String>,
    servers: Vec<ServerLayout>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HookLayout {
    event: String,
    matcher: Option<String>,
    /// Seconds; the hook ends itself well before (it never holds a session up).
    timeout: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerLayout {
    /// The server's name in Claude Code: `plugin:<plugin>:<name>`.
    name: String,
    binary: String,
    /// Credential and config variables a container is given by name (`-e NAME`).
    env: Vec<String>,
}

/// What `plugin write` was asked.
pub struct WriteArgs {
    /// Where (default `~/.claude/skills/<plugin name>`).
    pub dir: Option<PathBuf>,
    /// `docker run -i --rm PREFIX/<binary>:<version>` entries instead of local binaries.
    pub docker: Option<String>,
}

/// Writes the plugin, replacing an earlier one in one rename.
pub fn write(args: WriteArgs) -> anyhow::Result<ExitCode> {
    let layout: Layout = serde_json::from_str(LAYOUT).context("plugin/layout.json")?;
    let name = plugin_name()?;
    let dir = match args.dir {
        Some(dir) => std::path::absolute(&dir).with_context(|| dir.display().to_string())?,
        None => {
            let home = std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .context("HOME is not set: give the plugin's directory with --dir")?;
            PathBuf::from(home).join(".claude/skills").join(&name)
        }
    };
    let cli = std::env::current_exe().context("cannot find this executable's path")?;
    let servers = match &args.docker {
        None => native_servers(&layout)?,
        Some(prefix) => docker_servers(&layout, prefix)?,
    };
    let mut files: BTreeMap<String, String> = FILES
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    files.insert(
        ".mcp.json".into(),
        pretty(&json!({ "mcpServers": servers }))?,
    );
    files.insert("hooks/hooks.json".into(), pretty(&hooks(&layout, &cli))?);
    replace_dir(&dir, &name, &files)?;
    println!("wrote the Claude Code plugin {name} to {}:", dir.display());
    for path in files.keys() {
        println!("  {path}");
    }
    let names: Vec<String> = layout
        .servers
        .iter()
        .map(|s| format!("plugin:{name}:{}", s.name))
        .collect();
    println!(
        "Claude Code loads it at its next start; `claude mcp list` shows {}.",
        names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// The plugin's name, from its manifest.
fn plugin_name() -> anyhow::Result<String> {
    let manifest: Value =
        serde_json::from_str(MANIFEST).context("plugin/root/.claude-plugin/plugin.json")?;
    manifest
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("plugin/root/.claude-plugin/plugin.json has no name")
}

fn pretty(value: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// `hooks/hooks.json`: each event runs this executable, by absolute path, with no shell
/// construct besides the quoting of the path.
fn hooks(layout: &Layout, cli: &Path) -> Value {
    let program = shell_words::quote(&cli.to_string_lossy()).into_owned();
    let mut events = serde_json::Map::new();
    for hook in &layout.hooks {
        let mut entry = serde_json::Map::new();
        if let Some(matcher) = &hook.matcher {
            entry.insert("matcher".into(), json!(matcher));
        }
        entry.insert(
            "hooks".into(),
            json!([{
                "type": "command",
                "command": format!("{program} hook {}", hook.event),
                "timeout": hook.timeout,
            }]),
        );
        let list = events
            .entry(hook.event.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(Value::Object(entry));
        }
    }
    json!({ "hooks": events })
}

/// Each server's binary, beside this executable or on PATH; every missing one is named.
fn native_servers(layout: &Layout) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut servers = serde_json::Map::new();
    let mut missing = Vec::new();
    for server in &layout.servers {
        match crate::servers::find_binary(&server.binary) {
            Some(path) => {
                let command = path
                    .to_str()
                    .with_context(|| format!("{} is not UTF-8", path.display()))?;
                servers.insert(
                    server.name.clone(),
                    json!({ "command": command, "args": [] }),
                );
            }
            None => missing.push(server.binary.as_str()),
        }
    }
    if !missing.is_empty() {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.display().to_string()))
            .unwrap_or_else(|| "this executable".into());
        bail!(
            "server binary not found beside {beside} or on PATH: {} (install every server with \
             the CLI, or write container entries with --docker IMAGE_PREFIX)",
            missing.join(", ")
        );
    }
    Ok(servers)
}

/// `docker run -i --rm` per server: the variables passed on by name, the state directory
/// (journal, session state) mounted at its own path so that the hooks on the host and the
/// servers in the containers share it, the config file read-only where the servers look.
fn docker_servers(layout: &Layout, prefix: &str) -> anyhow::Result<serde_json::Map<String, Value>> {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        bail!("--docker needs an image prefix, such as ghcr.io/acme");
    }
    let loaded = Config::load().context(
        "the config must load for the containers' mounts (`claude-enterprise config check`)",
    )?;
    let state = state_dir().context("no state directory: set XDG_STATE_HOME or HOME")?;
    // The mount source must exist, or the container engine creates it, owned by root.
    create_private_dir(&state)?;
    let state_home = state
        .parent()
        .context("the state directory has no parent")?
        .to_owned();
    let owner = std::fs::metadata(&state).with_context(|| state.display().to_string())?;
    let mut common = vec![
        "run".to_owned(),
        "-i".into(),
        "--rm".into(),
        "--user".into(),
        format!("{}:{}", owner.uid(), owner.gid()),
        "-v".into(),
        format!("{0}:{0}", state.display()),
        "-e".into(),
        format!("XDG_STATE_HOME={}", state_home.display()),
    ];
    if let Some(journal) = loaded.config.audit.journal_dir()
        && !journal.starts_with(&state)
    {
        create_private_dir(&journal)?;
        common.extend(["-v".into(), format!("{0}:{0}", journal.display())]);
    }
    if let ConfigSource::File(config) = &loaded.source {
        let config = std::path::absolute(config)?;
        common.extend([
            "-v".into(),
            format!("{}:{SYSTEM_CONFIG}:ro", config.display()),
        ]);
    }
    let version = env!("CARGO_PKG_VERSION");
    let mut servers = serde_json::Map::new();
    for server in &layout.servers {
        let mut args = common.clone();
        for name in layout.env.iter().chain(&server.env) {
            args.extend(["-e".into(), name.clone()]);
        }
        args.push(format!("{prefix}/{}:{version}", server.binary));
        servers.insert(
            server.name.clone(),
            json!({ "command": "docker", "args": args }),
        );
    }
    Ok(servers)
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes `files` into a fresh directory beside `dir`, then renames it into place: a reader
/// sees the old plugin, no plugin for the instant between two renames, or the new one, never
/// a half-written one. Refuses to replace anything but an earlier copy of this plugin.
fn replace_dir(dir: &Path, name: &str, files: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let parent = dir
        .parent()
        .with_context(|| format!("{} has no parent directory", dir.display()))?;
    let base = dir
        .file_name()
        .with_context(|| format!("{} has no file name", dir.display()))?
        .to_string_lossy()
        .into_owned();
    let existing = match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => bail!(
            "{} is a symlink (installed by Nix or home-manager?): remove it, or write elsewhere \
             with --dir",
            dir.display()
        ),
        Ok(meta) if !meta.is_dir() => bail!("{} is not a directory", dir.display()),
        Ok(_) if !is_replaceable(dir, name) => bail!(
            "{} holds something other than the {name} plugin; not replacing it",
            dir.display()
        ),
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| dir.display().to_string()),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let pid = std::process::id();
    let staging = parent.join(format!(".{base}.new-{pid}"));
    if let Err(e) = stage(&staging, files) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if existing {
        let old = parent.join(format!(".{base}.old-{pid}"));
        std::fs::rename(dir, &old)
            .with_context(|| format!("cannot move {} aside", dir.display()))?;
        if let Err(e) = std::fs::rename(&staging, dir) {
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e).with_context(|| format!("cannot rename into {}", dir.display()));
        }
        std::fs::remove_dir_all(&old).with_context(|| old.display().to_string())?;
    } else if let Err(e) = std::fs::rename(&staging, dir) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e).with_context(|| format!("cannot rename into {}", dir.display()));
    }
    File::open(parent)
        .and_then(|d| d.sync_all())
        .with_context(|| parent.display().to_string())
}

/// An empty directory, or an earlier copy of this plugin (its manifest names it).
fn is_replaceable(dir: &Path, name: &str) -> bool {
    let empty = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    let ours = std::fs::read_to_string(dir.join(".claude-plugin/plugin.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .is_some_and(|manifest| manifest.get("name").and_then(Value::as_str) == Some(name));
    empty || ours
}

/// Every file 0644 (nothing in them is secret), every directory 0755, all synced.
fn stage(staging: &Path, files: &BTreeMap<String, String>) -> anyhow::Result<()> {
    if staging.exists() {
        std::fs::remove_dir_all(staging).with_context(|| staging.display().to_string())?;
    }
    let mut dirs = DirBuilder::new();
    dirs.recursive(true).mode(0o755);
    dirs.create(staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    for (relative, text) in files {
        let path = staging.join(relative);
        let parent = path.parent().unwrap_or(staging);
        dirs.create(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(0o644)))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Deepest first, so each directory is synced after what it holds; 0755 whatever the umask.
    let created: std::collections::BTreeSet<PathBuf> = files
        .keys()
        .flat_map(|relative| {
            let path = staging.join(relative);
            path.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .filter(|dir| dir.starts_with(staging))
        .collect();
    let mut created: Vec<PathBuf> = created.into_iter().collect();
    created.sort_by_key(|dir| std::cmp::Reverse(dir.components().count()));
    for dir in created {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .and_then(|()| File::open(&dir)?.sync_all())
            .with_context(|| dir.display().to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of `plugin/root/` is embedded, so the Nix module (which copies the
    /// directory) and this command write the same files.
    #[test]
    fn every_file_of_plugin_root_is_embedded() {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let relative = path.strip_prefix(root).unwrap();
                    out.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugin/root");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn the_layout_names_every_known_server_and_the_manifest_this_version() {
        let layout: Layout = serde_json::from_str(LAYOUT).unwrap();
        let binaries: Vec<&str> = layout.servers.iter().map(|s| s.binary.as_str()).collect();
        let mut known: Vec<&str> = crate::servers::SERVERS.iter().map(|s| s.binary).collect();
        let mut listed = binaries.clone();
        known.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, known);
        let manifest: Value = serde_json::from_str(MANIFEST).unwrap();
        assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
        // Claude Code's validator reserves names starting with `claude-`.
        assert!(!plugin_name().unwrap().starts_with("claude-"));
    }

    #[test]
    fn the_plugin_license_is_the_workspace_license() {
        let workspace = include_str!("../../../LICENSE");
        assert_eq!(LICENSE, workspace);
    }
}
