# homeConfigurations.hm-test-darwin: the module on darwin, docker servers, the shipper on.
{
  programs.claude-enterprise = {
    enable = true;
    mode = "docker";
    docker.user = "501:20";
    docker.imagePrefix = "registry.example.com/mcp/";
    audit.shipper.enable = true;
    pluginHooks = false;
  };
}
