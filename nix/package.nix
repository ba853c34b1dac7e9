# The whole workspace in one Rust build: every binary (claude-enterprise and the four servers)
# in one output. One build because the five binaries share almost their whole dependency graph
# (rmcp, tokio, rustls, the AWS SDK): five buildRustPackage calls would vendor and compile it
# five times. The per-server packages of the flake are thin links into this one
# (nix/server.nix), and `claude-enterprise plugin write` finds the servers beside its own
# executable, as it does here.
{
  lib,
  rustPlatform,
  src,
}:
let
  workspace = (builtins.fromTOML (builtins.readFile (src + "/Cargo.toml"))).workspace.package;
  plugin = import ./plugin.nix { pluginDir = src + "/plugin"; };
in
rustPlatform.buildRustPackage {
  pname = "claude-enterprise-mcp";
  inherit (workspace) version;
  inherit src;

  cargoLock.lockFile = src + "/Cargo.lock"; # ./Cargo.lock of the flake

  # Only the shipped binaries, not xtask or the test kit.
  cargoBuildFlags = lib.concatMap (p: [ "-p" p ]) ([ "claude-enterprise" ] ++ plugin.binaries);

  # The full suite needs its peers (Prism, moto, an OIDC provider, a Secret Service):
  # `cargo xtask test` runs it; the flake's `checks.<system>.tests` runs the peer-free part.
  doCheck = false;

  meta = {
    description = "Governed MCP servers (GitHub, Jira, Confluence, AWS) and the claude-enterprise CLI";
    homepage = workspace.repository;
    license = lib.licenses.asl20;
    mainProgram = "claude-enterprise";
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
  };
}
