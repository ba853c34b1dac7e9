# home-manager module `programs.claude-enterprise`: the CLI, the config file
# (~/.config/claude-enterprise/config.toml), the Claude Code plugin
# (~/.claude/skills/<plugin name>/, built from plugin/ data only, through nix/plugin.nix, the
# same function of the same data as `claude-enterprise plugin write`), and the audit shipper
# (a systemd user service on Linux, a launchd agent on darwin).
#
# Works with or without home-manager's own programs.claude-code: when that module is present
# and enabled, the plugin goes under its `configDir`; nothing of Claude Code's own
# settings.json / .claude.json is written (Claude Code rewrites them).
{
  config,
  lib,
  pkgs,
  options,
  ...
}:
let
  inherit (lib) mkOption mkEnableOption types;
  cfg = config.programs.claude-enterprise;
  plugin = import ../nix/plugin.nix { pluginDir = ../plugin; };
  settingsLib = import ../nix/settings.nix { inherit lib pkgs; };
  isDarwin = pkgs.stdenv.hostPlatform.isDarwin;

  # The first major version; a configuration accepts a higher one only when it says so.
  firstMajor = 0;
  majorRefusal = import ./major-version.nix {
    version = lib.getVersion cfg.package;
    accept = cfg.acceptMajorVersion;
  };

  withClaudeCode = options.programs ? claude-code && config.programs.claude-code.enable;
  claudeDir =
    if withClaudeCode then config.programs.claude-code.configDir else "${config.home.homeDirectory}/.claude";
  pluginTarget = "${claudeDir}/skills/${plugin.name}";

  configFile = "${config.xdg.configHome}/claude-enterprise/config.toml";
  stateDir = "${config.xdg.stateHome}/claude-enterprise";
  cli = "${cfg.package}/bin/claude-enterprise";

  enabledServers = lib.filter (n: cfg.servers.${n}.enable) plugin.serverNames;
  layoutOf = n: lib.findFirst (s: s.name == n) null plugin.layout.servers;

  # One server's .mcp.json entry: the layout's, plus the env the user set (not secrets: the
  # store is world-readable).
  serverEntry =
    s:
    let
      scfg = cfg.servers.${s.name};
      base =
        if cfg.mode == "native" then
          {
            command = "${scfg.package}/bin/${s.binary}";
            args = [ ];
          }
        else
          plugin.dockerServer {
            prefix = cfg.docker.imagePrefix;
            version = lib.getVersion cfg.package;
            user = cfg.docker.user;
            inherit stateDir configFile;
            journalDir =
              let
                d = finalSettings.audit.dir or null;
              in
              if d != null && !(lib.hasPrefix stateDir d) then d else null;
          } (s // { env = s.env ++ lib.filter (n: !(lib.elem n s.env)) (lib.attrNames scfg.env); });
    in
    base // lib.optionalAttrs (scfg.env != { }) { inherit (scfg) env; };

  finalSettings = settingsLib.clean (
    lib.foldl' (
      acc: n:
      if cfg.servers.${n}.settings == { } then
        acc
      else
        lib.recursiveUpdate acc { ${n} = cfg.servers.${n}.settings; }
    ) cfg.settings plugin.serverNames
  );

  pluginFiles = plugin.files {
    inherit cli serverEntry;
    servers = enabledServers;
    withHooks = cfg.pluginHooks;
    withSkills = cfg.skills.enable;
  };

  # The plugin as one directory of regular files, linked as a whole: Claude Code lists some
  # plugin directories with a readdir that skips symlinks.
  pluginDrv =
    pkgs.runCommand "claude-code-plugin-${plugin.name}-${plugin.version}"
      {
        passthru.files = pluginFiles;
      }
      (
        ''
          mkdir -p "$out"
        ''
        + lib.concatStrings (
          lib.mapAttrsToList (path: text: ''
            install -D -m 644 ${pkgs.writeText "plugin-file" text} "$out"/${lib.escapeShellArg path}
          '') pluginFiles
        )
      );

  shipArgs = [
    cli
    "audit"
    "ship"
    "--follow"
  ];

  serverModule =
    name:
    types.submodule {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
          description = "Whether the plugin offers the ${name} server to Claude Code.";
        };
        package = mkOption {
          type = types.package;
          default = cfg.package;
          defaultText = lib.literalExpression "config.programs.claude-enterprise.package";
          description = "The package holding bin/${(layoutOf name).binary}.";
        };
        settings = mkOption {
          type = settingsLib.toml.type;
          default = { };
          example = lib.literalExpression ''{ api_url = "https://github.example.com/api/v3"; }'';
          description = "The [${name}] section of config.toml.";
        };
        env = mkOption {
          type = types.attrsOf types.str;
          default = { };
          description = ''
            Environment of the server process in Claude Code (`env` in .mcp.json; in docker
            mode also passed into the container). Never a secret: it is written to the
            world-readable Nix store. Tokens belong in the keychain (`claude-enterprise login`).
          '';
        };
      };
    };
in
{
  options.programs.claude-enterprise = {
    enable = mkEnableOption "claude-enterprise: governed MCP servers and their Claude Code plugin";

    package = mkOption {
      type = types.package;
      description = "The workspace package: bin/claude-enterprise and the four server binaries.";
    };

    mode = mkOption {
      type = types.enum [
        "native"
        "docker"
      ];
      default = "native";
      description = ''
        How Claude Code starts the servers: the binaries from the Nix store, or
        `docker run -i --rm` of the images (`nix build .#<server>-image`, or a registry).
      '';
    };

    docker = {
      imagePrefix = mkOption {
        type = types.str;
        default = "ghcr.io/claude-enterprise-mcp";
        description = "Image prefix: images are `<prefix>/<server binary>:<version>`.";
      };
      user = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "1000:100";
        description = "UID:GID the containers run as: the owner of the state directory.";
      };
    };

    servers = lib.genAttrs plugin.serverNames (
      name:
      mkOption {
        type = serverModule name;
        default = { };
        description = "The ${name} server.";
      }
    );

    settings = mkOption {
      type = settingsLib.type;
      default = { };
      example = lib.literalExpression ''
        {
          identity.roles = [ "developer" ];
          policy.roles.developer.deny = [ "aws_*" ];
          audit.ship.sink = "splunk";
        }
      '';
      description = ''
        config.toml, rendered with pkgs.formats.toml to
        ~/.config/claude-enterprise/config.toml. `/etc/claude-enterprise/config.toml` (the
        NixOS / nix-darwin module's company layer) is read instead when it exists.
      '';
    };

    skills.enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether the plugin carries the agents' skills (skills/<name>/SKILL.md).";
    };

    pluginHooks = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether the plugin carries the hooks (hooks/hooks.json). Where the NixOS / nix-darwin
        module installs them as managed hooks as well, Claude Code runs both copies and the
        hook drops the duplicate (each event is journaled once); turning this off there spares
        the second process.
      '';
    };

    audit.shipper.enable = mkEnableOption ''
      the audit shipper: `claude-enterprise audit ship --follow` as a systemd user service
      (Linux) or a launchd agent (darwin), sending the journal to the [audit.ship] sink'';

    acceptMajorVersion = mkOption {
      type = types.ints.unsigned;
      default = firstMajor;
      description = ''
        The highest major version of the package this configuration accepts. A flake update
        that brings a new major version fails until this is raised, after reading MIGRATION.md.
      '';
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = majorRefusal == null;
            message = toString majorRefusal;
          }
          {
            assertion = cfg.mode != "docker" || cfg.docker.user != null;
            message = ''programs.claude-enterprise.mode = "docker" needs docker.user ("UID:GID" of the state directory's owner).'';
          }
        ];
        warnings = lib.concatMap (
          n:
          map (v: "programs.claude-enterprise.servers.${n}.env.${v} looks like a secret; it is written to the world-readable Nix store: use `claude-enterprise login` or the keychain.")
            (lib.filter (v: builtins.match ".*(TOKEN|SECRET|PASSWORD|API_KEY).*" v != null) (lib.attrNames cfg.servers.${n}.env))
        ) plugin.serverNames;

        home.packages = [ cfg.package ];
        xdg.configFile."claude-enterprise/config.toml".source =
          settingsLib.toml.generate "claude-enterprise-config.toml" finalSettings;
        home.file.${pluginTarget} = {
          source = pluginDrv;
        };
      }
      (lib.mkIf (cfg.audit.shipper.enable && !isDarwin) {
        systemd.user.services.claude-enterprise-audit-ship = {
          Unit = {
            Description = "claude-enterprise audit shipper (journal -> [audit.ship] sink)";
            After = [ "network-online.target" ];
          };
          Service = {
            ExecStart = lib.escapeShellArgs shipArgs;
            Restart = "on-failure";
            RestartSec = 30;
          };
          Install.WantedBy = [ "default.target" ];
        };
      })
      (lib.mkIf (cfg.audit.shipper.enable && isDarwin) {
        launchd.agents.claude-enterprise-audit-ship = {
          enable = true;
          config = {
            ProgramArguments = shipArgs;
            RunAtLoad = true;
            KeepAlive = {
              SuccessfulExit = false;
            };
            ThrottleInterval = 30;
            StandardErrorPath = "${config.home.homeDirectory}/Library/Logs/claude-enterprise-audit-ship.log";
          };
        };
      })
    ]
  );
}
