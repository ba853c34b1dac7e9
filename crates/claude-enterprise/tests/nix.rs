//! The Nix side of the distribution, checked with Nix itself: every tracked `.nix` file parses
//! (`nix-instantiate --parse`), and the plugin the home-manager module writes (nix/plugin.nix,
//! evaluated from the same `plugin/` data) is the plugin `claude-enterprise plugin write`
//! writes, file by file and byte by byte. Both need `nix-instantiate` (Debian: `nix-bin`); a
//! missing one fails the test, it never skips.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn nix_instantiate() -> Command {
    let probe = Command::new("nix-instantiate").arg("--version").output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "nix-instantiate is missing: install Nix (Debian: `apt-get install nix-bin`); the \
             Nix checks of this test never skip"
        ),
    }
    let mut command = Command::new("nix-instantiate");
    // Debian's nix-bin names a build group that a CI machine need not have; nothing is built.
    command.env("NIX_CONFIG", "build-users-group =");
    command
}

#[test]
fn every_tracked_nix_file_parses() {
    let root = workspace_root();
    let out = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "-z", "--", "*.nix"])
        .output()
        .expect("git ls-files");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<PathBuf> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| root.join(String::from_utf8_lossy(f).as_ref()))
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("flake.nix")),
        "no tracked flake.nix among {files:?}"
    );
    let mut failures = Vec::new();
    for file in &files {
        let out = nix_instantiate().arg("--parse").arg(file).output().unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{}:\n{}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} .nix files do not parse:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Every file under `dir`, by path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `claude-enterprise plugin write --dir <tmp>/plugin EXTRA...` with server binaries on PATH
/// (it prefers the ones beside itself when they are built); its files and the temp dir.
fn plugin_write(extra: &[&str]) -> (BTreeMap<String, String>, tempfile::TempDir) {
    let root = workspace_root();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let layout: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("plugin/layout.json")).unwrap())
            .unwrap();
    for server in layout["servers"].as_array().unwrap() {
        let path = bin.join(server["binary"].as_str().unwrap());
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let dir = tmp.path().join("plugin");
    let out = Command::new(env!("CARGO_BIN_EXE_claude-enterprise"))
        .args(["plugin", "write", "--dir"])
        .arg(&dir)
        .args(extra)
        .env("PATH", &bin)
        .env("HOME", tmp.path())
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .env("CLAUDE_ENTERPRISE_CONFIG", &config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plugin write: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (read_tree(&dir), tmp)
}

/// nix/plugin.nix's files for `servers` (a Nix expression of `p`, the plugin functions, and of
/// the string arguments given).
fn nix_plugin(servers: &str, args: &[(&str, &Path)]) -> BTreeMap<String, String> {
    let root = workspace_root();
    let cli = std::fs::canonicalize(env!("CARGO_BIN_EXE_claude-enterprise")).unwrap();
    let names: Vec<&str> = args.iter().map(|(n, _)| *n).collect();
    let expr = format!(
        r#"{{ root, cli, {} }}:
      let p = import (/. + root + "/nix/plugin.nix") {{ pluginDir = /. + root + "/plugin"; }};
      in p.files {{ inherit cli; serverEntry = {servers}; }}"#,
        names.join(", ")
    );
    let mut command = nix_instantiate();
    command
        .args(["--eval", "--strict", "--json", "-E", &expr])
        .args(["--argstr", "root"])
        .arg(&root)
        .args(["--argstr", "cli"])
        .arg(&cli);
    for (name, value) in args {
        command.args(["--argstr", name]).arg(value);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "nix/plugin.nix does not evaluate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_same(from_nix: &BTreeMap<String, String>, written: &BTreeMap<String, String>) {
    assert_eq!(
        from_nix.keys().collect::<Vec<_>>(),
        written.keys().collect::<Vec<_>>(),
        "the two plugins have different files"
    );
    for (path, text) in written {
        assert_eq!(
            &from_nix[path], text,
            "{path} differs between nix/plugin.nix (left) and `plugin write` (right)"
        );
    }
}

#[test]
fn the_home_manager_plugin_is_the_plugin_write_plugin() {
    let (written, _tmp) = plugin_write(&[]);
    // What the CLI took from its machine: where the servers are (its own path is `cli`).
    let mcp: serde_json::Value = serde_json::from_str(&written[".mcp.json"]).unwrap();
    let commands: Vec<PathBuf> = mcp["mcpServers"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| PathBuf::from(s["command"].as_str().unwrap()))
        .collect();
    let server_dir = commands[0].parent().unwrap().to_owned();
    assert!(
        commands
            .iter()
            .all(|c| c.parent() == Some(server_dir.as_path())),
        "the servers are not in one directory: {commands:?}"
    );
    let from_nix = nix_plugin("p.nativeServer binDir", &[("binDir", &server_dir)]);
    assert_same(&from_nix, &written);
}

#[test]
fn the_docker_plugins_match() {
    let prefix = "registry.example.com/mcp/";
    let (written, tmp) = plugin_write(&["--docker", prefix]);
    // What the CLI took from its machine: the state directory, its owner, the config file.
    let state = tmp.path().join("state/claude-enterprise");
    let meta = std::fs::metadata(&state).unwrap();
    let user = PathBuf::from(format!(
        "{}:{}",
        std::os::unix::fs::MetadataExt::uid(&meta),
        std::os::unix::fs::MetadataExt::gid(&meta)
    ));
    let config = tmp.path().join("config.toml");
    let servers = format!(
        r#"p.dockerServer {{ prefix = "{prefix}"; version = "{}"; inherit user stateDir configFile; }}"#,
        env!("CARGO_PKG_VERSION")
    );
    let from_nix = nix_plugin(
        &servers,
        &[
            ("user", &user),
            ("stateDir", &state),
            ("configFile", &config),
        ],
    );
    assert_same(&from_nix, &written);
}
