# `nix build .#<server>-image` -> `./result | docker load` -> `docker run -i --rm ...`: one
# server, a CA bundle, a non-root user, the binary as the entrypoint, the version as the tag.
# The Containerfile route builds the same image without Nix.
{
  lib,
  dockerTools,
  cacert,
  writeTextDir,
  workspace,
  binary,
  serverName,
}:
let
  uid = "65532";
  passwd = writeTextDir "etc/passwd" ''
    root:x:0:0:root:/root:/sbin/nologin
    mcp:x:${uid}:${uid}:mcp:/home/mcp:/sbin/nologin
  '';
  group = writeTextDir "etc/group" ''
    root:x:0:
    mcp:x:${uid}:
  '';
in
dockerTools.streamLayeredImage {
  name = binary;
  tag = workspace.version;
  contents = [
    cacert
    passwd
    group
  ];
  fakeRootCommands = ''
    mkdir -p home/mcp tmp
    chown ${uid}:${uid} home/mcp
    chmod 1777 tmp
  '';
  config = {
    Entrypoint = [ "${workspace}/bin/${binary}" ];
    User = "${uid}:${uid}";
    WorkingDir = "/home/mcp";
    Env = [
      "HOME=/home/mcp"
      "SSL_CERT_FILE=${cacert}/etc/ssl/certs/ca-bundle.crt"
    ];
    Labels = {
      "org.opencontainers.image.title" = binary;
      "org.opencontainers.image.description" = "${serverName} MCP server of claude-enterprise-mcp (stdio: run with -i)";
      "org.opencontainers.image.version" = workspace.version;
      "org.opencontainers.image.licenses" = "Apache-2.0";
      "org.opencontainers.image.source" = workspace.meta.homepage;
      "io.modelcontextprotocol.server.name" = "io.github.claude-enterprise-mcp/${binary}";
    };
  };
}
