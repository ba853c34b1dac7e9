# homeConfigurations.hm-test: the module on Linux, native servers, the shipper on.
{
  programs.claude-enterprise = {
    enable = true;
    audit.shipper.enable = true;
    settings = {
      identity.roles = [ "developer" ];
      policy.roles.developer.deny = [ "aws_*" ];
      audit.retention_days = 14;
    };
    servers.github.settings.api_url = "https://github.example.com/api/v3";
    servers.confluence.enable = false;
  };
}
