# NixOS and nix-darwin module `programs.claude-enterprise`: what users cannot undo.
#  - Claude Code's managed settings (Linux /etc/claude-code/managed-settings.json, macOS
#    /Library/Application Support/ClaudeCode/managed-settings.json): permission deny rules,
#    allowedMcpServers / deniedMcpServers by our servers' exact commands, the audit hooks as
#    managed hooks, the telemetry environment.
#  - /etc/claude-enterprise/config.toml, the company's config file (read before the user's).
# The hooks come from plugin/layout.json through nix/plugin.nix, as the plugin's do.
platform: # "nixos" | "darwin"
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption mkEnableOption types;
  cfg = config.programs.claude-enterprise;
  plugin = import ./plugin.nix { pluginDir = ../plugin; };
  settingsLib = import ./settings.nix { inherit lib pkgs; };
  cli = "${cfg.package}/bin/claude-enterprise";
  serverCommand = s: [ "${cfg.package}/bin/${s.binary}" ];
  allowed = lib.filter (s: lib.elem s.name cfg.servers) plugin.layout.servers;
  denied = lib.filter (s: !(lib.elem s.name cfg.servers)) plugin.layout.servers;

  managedSettings = lib.recursiveUpdate (
    {
      permissions.deny = cfg.denyRules;
    }
    // lib.optionalAttrs cfg.restrictMcpServers {
      allowedMcpServers = map (s: { serverCommand = serverCommand s; }) allowed ++ cfg.extraAllowedMcpServers;
    }
    // {
      deniedMcpServers = map (s: { serverCommand = serverCommand s; }) denied ++ cfg.extraDeniedMcpServers;
    }
    // lib.optionalAttrs cfg.managedHooks (plugin.hooks cli)
    // lib.optionalAttrs (cfg.telemetry.endpoint != null) {
      env = {
        CLAUDE_CODE_ENABLE_TELEMETRY = "1";
        OTEL_LOGS_EXPORTER = "otlp";
        OTEL_EXPORTER_OTLP_PROTOCOL = cfg.telemetry.protocol;
        OTEL_EXPORTER_OTLP_ENDPOINT = cfg.telemetry.endpoint;
        OTEL_LOG_TOOL_DETAILS = "1";
      };
    }
  ) cfg.extraManagedSettings;

  managedFile = pkgs.writeText "managed-settings.json" (plugin.pretty managedSettings);
  darwinPath = "/Library/Application Support/ClaudeCode/managed-settings.json";
in
{
  options.programs.claude-enterprise = {
    enable = mkEnableOption "claude-enterprise's machine-wide enforcement (Claude Code managed settings and the company config)";

    package = mkOption {
      type = types.package;
      description = "The workspace package whose server binaries are the allowed MCP servers and whose CLI runs the managed hooks. Use the same flake input as the users' home-manager module.";
    };

    settings = mkOption {
      type = settingsLib.type;
      default = { };
      description = "/etc/claude-enterprise/config.toml: the company's config file. When it exists, the servers and the CLI read it rather than the user's.";
    };

    servers = mkOption {
      type = types.listOf (types.enum plugin.serverNames);
      default = plugin.serverNames;
      description = "The servers allowed by exact command; the others are denied by exact command.";
    };

    restrictMcpServers = mkOption {
      type = types.bool;
      default = true;
      description = "Write allowedMcpServers: Claude Code then starts no MCP server but ours (and extraAllowedMcpServers).";
    };

    extraAllowedMcpServers = mkOption {
      type = types.listOf (types.attrsOf types.anything);
      default = [ ];
      example = [ { serverName = "context7"; } ];
      description = "More allowedMcpServers entries (each exactly one of serverName, serverCommand, serverUrl).";
    };

    extraDeniedMcpServers = mkOption {
      type = types.listOf (types.attrsOf types.anything);
      default = [ ];
      description = "More deniedMcpServers entries.";
    };

    denyRules = mkOption {
      type = types.listOf types.str;
      default = [
        "Bash(git push --force:*)"
        "Bash(git push -f:*)"
        "Bash(git push --force-with-lease:*)"
        "Bash(gh pr merge:*)"
      ];
      description = ''
        permissions.deny of the managed settings. Plain `git push` is left to the PreToolUse
        hook, which allows feature branches so that pull requests have a head.
      '';
    };

    managedHooks = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Install the audit hooks (plugin/layout.json) as managed hooks. Where the users' plugin
        carries them too, Claude Code runs both copies and the hook drops the duplicate (one
        journal record per event); the users' programs.claude-enterprise.pluginHooks = false
        spares the second process.
      '';
    };

    telemetry = {
      endpoint = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://otel.example.com:4318";
        description = "OTLP endpoint for Claude Code's own telemetry; null leaves telemetry alone.";
      };
      protocol = mkOption {
        type = types.enum [
          "grpc"
          "http/protobuf"
          "http/json"
        ];
        default = "http/protobuf";
        description = "OTEL_EXPORTER_OTLP_PROTOCOL.";
      };
    };

    extraManagedSettings = mkOption {
      type = types.attrsOf types.anything;
      default = { };
      example = {
        allowManagedHooksOnly = true;
      };
      description = "Merged over the generated managed settings.";
    };

    managedSettings = mkOption {
      type = types.attrsOf types.anything;
      readOnly = true;
      description = "The managed settings as written (for tests and inspection).";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        programs.claude-enterprise.managedSettings = managedSettings;
        environment.etc."claude-enterprise/config.toml".source =
          settingsLib.toml.generate "claude-enterprise-config.toml" (settingsLib.clean cfg.settings);
        environment.systemPackages = [ cfg.package ];
      }
      (
        if platform == "darwin" then
          {
            # nix-darwin's environment.etc only writes under /etc.
            system.activationScripts.postActivation.text = ''
              install -d -m 755 ${lib.escapeShellArg (dirOf darwinPath)}
              install -m 644 ${managedFile} ${lib.escapeShellArg darwinPath}
            '';
          }
        else
          {
            environment.etc."claude-code/managed-settings.json".source = managedFile;
          }
      )
    ]
  );
}
