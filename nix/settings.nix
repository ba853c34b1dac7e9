# The config file (config.toml) as a module option: free-form TOML, with typed options for the
# sections the kernel owns and a company sets (governance::config: [identity], [policy],
# [audit], [safety]). Unset typed options are left out of the file, so the built-in defaults
# apply. A server's own section ([github], [jira], ...) stays free-form: its crate owns its keys,
# and `claude-enterprise config check` knows them all.
{ lib, pkgs }:
let
  inherit (lib) mkOption types;
  toml = pkgs.formats.toml { };
  opt =
    type: description:
    mkOption {
      type = types.nullOr type;
      default = null;
      inherit description;
    };
  section =
    options:
    mkOption {
      type = types.submodule {
        freeformType = toml.type;
        inherit options;
      };
      default = { };
      description = "A section of config.toml; keys not listed here are passed on as written.";
    };

  # Leaves out what was not set: nulls, and the tables that are empty once they are gone.
  clean =
    v:
    if builtins.isAttrs v then
      lib.filterAttrs (_: x: x != null && x != { }) (lib.mapAttrs (_: clean) v)
    else if builtins.isList v then
      map clean v
    else
      v;
in
{
  inherit toml clean;

  type = types.submodule {
    freeformType = toml.type;
    options = {
      identity = section {
        user = opt types.str "The audit `user` until SSO provides it.";
        roles = opt (types.listOf types.str) "The user's roles until SSO provides them.";
      };
      policy = section {
        default_allow = opt (types.listOf types.str) ''Tool-name globs every user may use (built-in `["*"]`).'';
        roles = opt (types.attrsOf (
          types.submodule {
            options = {
              allow = mkOption {
                type = types.listOf types.str;
                default = [ ];
                description = "Tool-name globs this role may use.";
              };
              deny = mkOption {
                type = types.listOf types.str;
                default = [ ];
                description = "Tool-name globs this role may not use, even when another grant allows them.";
              };
            };
          }
        )) "Per role: the tool-name globs it adds and removes.";
      };
      audit = section {
        dir = opt types.str "The journal's directory (default: the state directory).";
        capture = opt (types.enum [
          "digest"
          "full"
        ]) "How much of each call's arguments the journal keeps.";
        max_inline_bytes = opt types.ints.unsigned "Longer strings are journaled as their digest.";
        retention_days = opt types.ints.unsigned "Days the local journal is kept.";
      };
      safety = section {
        confirm_writes = opt types.bool "Ask Claude Code to confirm every write tool.";
        max_argument_bytes = opt types.ints.unsigned "Largest tool argument accepted.";
        block_outgoing_secrets = opt types.bool "Refuse write tool calls whose arguments carry a credential.";
        secret_rules = opt (types.listOf types.str) "Extra secret-detection rule files.";
      };
    };
  };
}
