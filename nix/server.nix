# One server as its own package: a link to its binary in the workspace build (nix/package.nix),
# so that `nix run .#jira-mcp` and `lib.getExe` work, with no second compilation.
{
  lib,
  runCommand,
  workspace,
  binary,
}:
runCommand "${binary}-${workspace.version}"
  {
    pname = binary;
    inherit (workspace) version;
    meta = workspace.meta // {
      mainProgram = binary;
    };
    passthru = {
      inherit workspace;
    };
  }
  ''
    mkdir -p $out/bin
    ln -s ${workspace}/bin/${binary} $out/bin/${binary}
  ''
