//! `cargo xtask images [--profile P]`: the four servers' OCI images without Nix, with podman.
//!
//! Static binaries (`-C target-feature=+crt-static` on the host's glibc target) built once in
//! `P` (default `image`: unoptimised, so that the test suite's second build of every
//! dependency stays minutes on two cores; `--profile release` for the images a team ships and
//! for the size bench), a build context per server under `<target>/images/<server>/`, then
//! `podman build` on
//! `containers/Containerfile`, tagged `localhost/<server>:<version>`.
//!
//! Podman runs rootful and daemonless here, with its configuration and storage under the peers
//! directory (`podman/`), so that the tests find the same images: [`podman_env`].

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{Result, peers_dir, root, run, target_dir};

/// The servers that get an image, by binary name.
pub const SERVERS: [&str; 4] = ["github-mcp", "jira-mcp", "confluence-mcp", "aws-mcp"];

/// Where the CA bundle comes from: `SSL_CERT_FILE`, else Debian's (package ca-certificates).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The settings podman needs on these machines (../shared/containers.md): runc with cgroupfs
/// (crun refuses hybrid cgroups), ulimits it may set, no network unless a run asks for one.
const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"#;

pub fn run_images(args: &[String]) -> Result<()> {
    let profile = match args {
        [] => "image".to_owned(),
        [flag, profile] if flag == "--profile" => profile.clone(),
        _ => return Err("usage: cargo xtask images [--profile image|release]".into()),
    };
    build(&profile)
}

/// The environment every podman command of the project runs with: the configuration and
/// storage `cargo xtask images` wrote under the peers directory.
pub fn podman_env() -> Result<[(&'static str, PathBuf); 2]> {
    let dir = peers_dir().join("podman");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let storage = format!(
        "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
        dir.join("graph").display(),
        dir.join("run").display()
    );
    for (name, text) in [
        ("containers.conf", CONTAINERS_CONF),
        ("storage.conf", storage.as_str()),
    ] {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok([
        ("CONTAINERS_CONF", dir.join("containers.conf")),
        ("CONTAINERS_STORAGE_CONF", dir.join("storage.conf")),
    ])
}

/// Builds the four images in `profile`.
pub fn build(profile: &str) -> Result<()> {
    let triple = host_triple()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--locked",
            "--profile",
            profile,
            "--target",
            &triple,
        ])
        .args(SERVERS.iter().flat_map(|s| ["-p", s]))
        // Only the target's code is linked statically: with `--target` given, build scripts
        // and proc macros (host code) are built without these flags.
        .env(
            format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                triple.to_uppercase().replace('-', "_")
            ),
            "-C target-feature=+crt-static",
        )
        .current_dir(root());
    run(&mut command)?;

    let target = target_dir();
    let binaries = target.join(&triple).join(profile);
    let version = workspace_version()?;
    let ca_bundle = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(CA_BUNDLE));
    if !ca_bundle.is_file() {
        return Err(format!(
            "no CA bundle at {}: install ca-certificates or set SSL_CERT_FILE",
            ca_bundle.display()
        ));
    }
    let env = podman_env()?;
    for server in SERVERS {
        let binary = binaries.join(server);
        assert_static(&binary)?;
        let context = target.join("images").join(server);
        prepare_context(&context, &binary, &ca_bundle)?;
        let tag = format!("localhost/{server}:{version}");
        run(Command::new("podman")
            .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
            .args(["build", "--quiet", "--file"])
            .arg(root().join("containers/Containerfile"))
            .args(["--build-arg", &format!("SERVER={server}")])
            .args(["--build-arg", &format!("VERSION={version}")])
            .args(["--tag", &tag])
            .arg(&context))?;
        println!("{tag}: {:.1} MB", image_size(&tag)? as f64 / 1e6);
    }
    Ok(())
}

/// The size podman reports for an image (its layers, uncompressed).
pub fn image_size(tag: &str) -> Result<u64> {
    let env = podman_env()?;
    let out = Command::new("podman")
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .args(["image", "inspect", "--format", "{{.Size}}", tag])
        .output()
        .map_err(|e| format!("cannot run podman: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "podman image inspect {tag}: {} (build the images with `cargo xtask images`)",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .map_err(|e| format!("podman image inspect {tag} printed {text:?}: {e}"))
}

/// The context `containers/Containerfile` reads: the binary as `server`, the CA bundle, the
/// image's /etc, an empty home and /tmp. Replaced whole each time.
fn prepare_context(context: &Path, binary: &Path, ca_bundle: &Path) -> Result<()> {
    if context.exists() {
        std::fs::remove_dir_all(context).map_err(io(context))?;
    }
    for dir in ["etc", "home", "tmp"] {
        std::fs::create_dir_all(context.join(dir)).map_err(io(context))?;
    }
    std::fs::copy(binary, context.join("server")).map_err(io(binary))?;
    std::fs::copy(ca_bundle, context.join("ca-certificates.crt")).map_err(io(ca_bundle))?;
    let etc = root().join("containers/etc");
    for entry in std::fs::read_dir(&etc).map_err(io(&etc))? {
        let entry = entry.map_err(io(&etc))?;
        std::fs::copy(entry.path(), context.join("etc").join(entry.file_name()))
            .map_err(io(&entry.path()))?;
    }
    Ok(())
}

/// An I/O error named by the path it happened on.
fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// A binary for FROM scratch must need no loader: an ELF without a PT_INTERP program header.
fn assert_static(binary: &Path) -> Result<()> {
    let elf = std::fs::read(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let field = |at: usize, len: usize| -> Option<u64> {
        let bytes = elf.get(at..at + len)?;
        Some(bytes.iter().rev().fold(0, |n, b| (n << 8) | u64::from(*b)))
    };
    // ELF64, little endian: e_phoff at 0x20, e_phentsize at 0x36, e_phnum at 0x38.
    let headers = (|| {
        if elf.get(..6)? != b"\x7fELF\x02\x01" {
            return None;
        }
        let (offset, size, count) = (field(0x20, 8)?, field(0x36, 2)?, field(0x38, 2)?);
        (0..count)
            .map(|i| field(usize::try_from(offset + i * size).ok()?, 4))
            .collect::<Option<Vec<u64>>>()
    })()
    .ok_or_else(|| format!("{} is not a 64-bit ELF file", binary.display()))?;
    const PT_INTERP: u64 = 3;
    if headers.contains(&PT_INTERP) {
        return Err(format!(
            "{} is dynamically linked: the image needs +crt-static",
            binary.display()
        ));
    }
    Ok(())
}

fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV names no host".into())
}

/// `[workspace.package] version` of the root Cargo.toml, which every crate inherits.
pub fn workspace_version() -> Result<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    manifest
        .split("[workspace.package]")
        .nth(1)
        .and_then(|section| {
            section
                .lines()
                .find_map(|l| l.trim().strip_prefix("version = \""))
        })
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .ok_or_else(|| "no [workspace.package] version in Cargo.toml".into())
}
