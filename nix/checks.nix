# checks.<system>: the Rust checks that need no peer (tests, clippy, fmt), built from the same
# vendored dependencies as the package, and the module checks, which assert at evaluation time
# what the modules generate (plugin.json, .mcp.json, hooks.json, config.toml, the systemd unit /
# launchd agent, the managed settings): they need no build and no import-from-derivation.
{
  self,
  system,
  pkgs,
  lib,
  plugin,
  hmConfig,
}:
let
  workspace = pkgs.claude-enterprise-mcp;
  isDarwin = lib.hasSuffix "darwin" system;
  noContext = builtins.unsafeDiscardStringContext;
  ok = name: pkgs.runCommand name { } "touch $out";
  check =
    cond: msg:
    lib.assertMsg cond "[claude-enterprise module check] ${msg}";
  bin = name: noContext "${workspace}/bin/${name}";

  # --- home-manager -----------------------------------------------------------------------
  hmFor = module: (hmConfig system module).config;
  pluginEntry =
    cfg: dir:
    let
      hits = lib.filter (f: f.target == dir) (lib.attrValues cfg.home.file);
    in
    if hits == [ ] then throw "no home.file with target ${dir}" else builtins.head hits;
  pluginFilesOf = cfg: dir: (pluginEntry cfg dir).source.files;
  json = s: builtins.fromJSON (noContext s);
  configToml = cfg: json cfg.xdg.configFile."claude-enterprise/config.toml".source.value;
  skillsDir = ".claude/skills/${plugin.name}";

  hmLinux =
    let
      cfg = hmFor (import ./tests/hm-linux.nix);
      files = pluginFilesOf cfg skillsDir;
      mcp = (json files.".mcp.json").mcpServers;
      hooks = (json files."hooks/hooks.json").hooks;
      settings = configToml cfg;
      unit = cfg.systemd.user.services.claude-enterprise-audit-ship;
    in
    assert check (
      files.".claude-plugin/plugin.json" == builtins.readFile ../plugin/root/.claude-plugin/plugin.json
    ) "plugin.json is not plugin/root's";
    assert check (lib.attrNames mcp == [
      "aws"
      "github"
      "jira"
    ]) ".mcp.json servers: ${toString (lib.attrNames mcp)} (confluence is disabled)";
    assert check (
      mcp.github.command == bin "github-mcp" && mcp.github.args == [ ]
    ) ".mcp.json github: ${builtins.toJSON mcp.github}";
    assert check (
      (builtins.head hooks.PreToolUse).matcher == "Bash"
      && (builtins.head (builtins.head hooks.PreToolUse).hooks).command
      == "${bin "claude-enterprise"} hook PreToolUse"
    ) "hooks.json PreToolUse: ${builtins.toJSON hooks.PreToolUse}";
    assert check (
      lib.attrNames hooks == map (h: h.event) (lib.sort (a: b: a.event < b.event) plugin.layout.hooks)
    ) "hooks.json events: ${toString (lib.attrNames hooks)}";
    assert check (
      settings.identity.roles == [ "developer" ]
      && settings.policy.roles.developer.deny == [ "aws_*" ]
      && settings.policy.roles.developer.allow == [ ]
      && settings.audit.retention_days == 14
      && settings.github.api_url == "https://github.example.com/api/v3"
      && !(settings ? safety)
      && !(settings.identity ? user)
    ) "config.toml: ${builtins.toJSON settings}";
    assert check (
      noContext (toString unit.Service.ExecStart) == "${bin "claude-enterprise"} audit ship --follow"
      && unit.Install.WantedBy == [ "default.target" ]
    ) "systemd unit: ${builtins.toJSON unit}";
    assert check (
      cfg.xdg.configFile ? "systemd/user/claude-enterprise-audit-ship.service"
    ) "the systemd unit file is not written";
    ok "hm-module-linux";

  hmDarwin =
    let
      cfg = hmFor (import ./tests/hm-darwin.nix);
      files = pluginFilesOf cfg skillsDir;
      mcp = (json files.".mcp.json").mcpServers;
      agent = cfg.launchd.agents.claude-enterprise-audit-ship;
      home = cfg.home.homeDirectory;
      gh = mcp.github;
    in
    assert check (!(files ? "hooks/hooks.json")) "pluginHooks = false still writes hooks.json";
    assert check (
      agent.enable
      && map noContext agent.config.ProgramArguments == [
        (bin "claude-enterprise")
        "audit"
        "ship"
        "--follow"
      ]
    ) "launchd agent: ${builtins.toJSON agent.config}";
    assert check (
      gh.command == "docker"
      && lib.take 5 gh.args == [
        "run"
        "-i"
        "--rm"
        "--user"
        "501:20"
      ]
      && lib.last gh.args == "registry.example.com/mcp/github-mcp:${workspace.version}"
      && lib.elem "${home}/.local/state/claude-enterprise:${home}/.local/state/claude-enterprise" gh.args
      && lib.elem "${home}/.config/claude-enterprise/config.toml:/etc/claude-enterprise/config.toml:ro" gh.args
      && lib.elem "GITHUB_TOKEN" gh.args
      && lib.elem "CLAUDE_CODE_SESSION_ID" gh.args
    ) ".mcp.json docker github: ${builtins.toJSON gh}";
    ok "hm-module-darwin";

  # With the defaults, the module's plugin is exactly nix/plugin.nix's for the package's paths,
  # which tests/nix.rs compares with `claude-enterprise plugin write` byte for byte.
  hmClaudeCode =
    let
      cfg = hmFor (import ./tests/hm-claude-code.nix);
      files = pluginFilesOf cfg ".config/claude/skills/${plugin.name}";
      expected = plugin.files {
        cli = "${workspace}/bin/claude-enterprise";
        serverEntry = plugin.nativeServer "${workspace}/bin";
      };
    in
    assert check (files ? ".mcp.json") "with programs.claude-code the plugin is not under its configDir";
    assert check (
      lib.mapAttrs (_: noContext) files == lib.mapAttrs (_: noContext) expected
    ) "the module's default plugin is not nix/plugin.nix's";
    ok "hm-module-claude-code";

  hmMajor =
    let
      next = pkgs.runCommand "claude-enterprise-mcp-1.0.0" {
        pname = "claude-enterprise-mcp";
        version = "1.0.0";
      } "mkdir -p $out/bin";
      # home-manager throws on a failed assertion before any option can be read: the refusal
      # is seen as a failed evaluation, its text through the rule the assertion uses.
      evaluates =
        module:
        (builtins.tryEval (builtins.seq (hmFor {
          imports = [ module ];
          programs.claude-enterprise = {
            enable = true;
            package = next;
          };
        }).home.username true)).success;
      rule = import ../home-manager/major-version.nix;
      refusal = rule {
        version = "1.0.0";
        accept = 0;
      };
    in
    assert check (!(evaluates { })) "a new major version is not refused";
    assert check (evaluates { programs.claude-enterprise.acceptMajorVersion = 1; })
      "acceptMajorVersion = 1 still refuses 1.0.0";
    assert check (
      refusal != null && lib.hasInfix "MIGRATION.md" refusal
    ) "the refusal does not point to MIGRATION.md";
    assert check (
      rule {
        version = "0.9.3";
        accept = 0;
      } == null
    ) "0.9.3 is refused under acceptMajorVersion = 0";
    ok "hm-module-major-version";

  # --- NixOS / nix-darwin (no nixosSystem here: lib.evalModules with stand-in options) ------
  standIns =
    { lib, ... }:
    {
      options = {
        assertions = lib.mkOption {
          type = lib.types.listOf lib.types.unspecified;
          default = [ ];
        };
        warnings = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
        };
        environment.etc = lib.mkOption {
          type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
          default = { };
        };
        environment.systemPackages = lib.mkOption {
          type = lib.types.listOf lib.types.package;
          default = [ ];
        };
        system.activationScripts = lib.mkOption {
          type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
          default = { };
        };
      };
    };
  systemEval =
    module:
    (lib.evalModules {
      modules = [
        standIns
        module
        {
          _module.args.pkgs = pkgs;
          programs.claude-enterprise = {
            enable = true;
            settings.policy.default_allow = [ "*_read*" ];
            telemetry.endpoint = "https://otel.example.com:4318";
            servers = [
              "github"
              "jira"
              "confluence"
            ];
          };
        }
      ];
    }).config;
  systemChecks =
    name: cfg:
    let
      m = cfg.programs.claude-enterprise.managedSettings;
    in
    assert check (lib.elem "Bash(git push --force:*)" m.permissions.deny && lib.elem "Bash(gh pr merge:*)" m.permissions.deny)
      "managed deny rules: ${builtins.toJSON m.permissions.deny}";
    assert check (
      map (e: map noContext e.serverCommand) m.allowedMcpServers == [
        [ (bin "github-mcp") ]
        [ (bin "jira-mcp") ]
        [ (bin "confluence-mcp") ]
      ]
      && map (e: map noContext e.serverCommand) m.deniedMcpServers == [ [ (bin "aws-mcp") ] ]
    ) "allowed/denied MCP servers: ${builtins.toJSON [ m.allowedMcpServers m.deniedMcpServers ]}";
    assert check (
      noContext (builtins.head (builtins.head m.hooks.SessionStart).hooks).command
      == "${bin "claude-enterprise"} hook SessionStart"
    ) "managed hooks: ${builtins.toJSON m.hooks}";
    assert check (
      m.env.OTEL_EXPORTER_OTLP_ENDPOINT == "https://otel.example.com:4318"
      && m.env.CLAUDE_CODE_ENABLE_TELEMETRY == "1"
    ) "telemetry env: ${builtins.toJSON (m.env or null)}";
    assert check (
      (json cfg.environment.etc."claude-enterprise/config.toml".source.value).policy.default_allow == [
        "*_read*"
      ]
    ) "/etc/claude-enterprise/config.toml";
    ok name;

  nixos =
    let
      cfg = systemEval self.nixosModules.default;
    in
    assert check (
      cfg.environment.etc ? "claude-code/managed-settings.json"
    ) "NixOS: /etc/claude-code/managed-settings.json is not written";
    systemChecks "nixos-module" cfg;

  darwin =
    let
      cfg = systemEval self.darwinModules.default;
    in
    assert check (
      lib.hasInfix "/Library/Application Support/ClaudeCode" cfg.system.activationScripts.postActivation.text
      && !(cfg.environment.etc ? "claude-code/managed-settings.json")
    ) "darwin: managed-settings.json is not written to /Library/Application Support/ClaudeCode";
    systemChecks "darwin-module" cfg;

  # --- Rust ---------------------------------------------------------------------------------
  cargoCheck =
    name: command:
    workspace.overrideAttrs (old: {
      pname = "claude-enterprise-mcp-${name}";
      nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ [
        pkgs.clippy
        pkgs.rustfmt
      ];
      buildPhase = ''
        runHook preBuild
        ${command}
        runHook postBuild
      '';
      doCheck = false;
      installPhase = "touch $out";
    });
in
{
  # plain `cargo test`: what needs no peer (the peers run under `cargo xtask test`). The tests
  # of tests/nix.rs need git metadata and nix-instantiate, which the sandbox lacks: the Nix
  # side is what the module checks below assert.
  tests = cargoCheck "tests" ''
    cargo test --workspace --offline --frozen -- \
      --skip every_tracked_nix_file_parses \
      --skip the_home_manager_plugin_is_the_plugin_write_plugin \
      --skip the_docker_plugins_match
  '';
  clippy = cargoCheck "clippy" "cargo clippy --workspace --all-targets --offline --frozen -- -D warnings";
  fmt = cargoCheck "fmt" "cargo fmt --all --check";
  hm-module = if isDarwin then hmDarwin else hmLinux;
  hm-module-claude-code = hmClaudeCode;
  hm-module-major-version = hmMajor;
  nixos-module = nixos;
  darwin-module = darwin;
}
