# homeConfigurations.hm-test-claude-code: beside home-manager's programs.claude-code, with a
# configDir of its own.
{ config, ... }:
{
  programs.claude-code = {
    enable = true;
    configDir = "${config.xdg.configHome}/claude";
  };
  programs.claude-enterprise.enable = true;
}
