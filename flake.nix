{
  description = "claude-enterprise-mcp: governed MCP servers (GitHub, Jira, Confluence, AWS) for Claude Code, the claude-enterprise CLI, its Claude Code plugin and machine-wide enforcement";

  # One pinned flake.lock is the version a whole company runs: bump it with `nix flake update`.
  # nixos-26.05 carries rustc >= 1.94.1, which the AWS SDK crates need (README, "Nix").
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    home-manager = {
      url = "github:nix-community/home-manager/release-26.05";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      home-manager,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system (pkgsFor system));
      pkgsFor =
        system:
        import nixpkgs {
          inherit system;
          overlays = [ self.overlays.default ];
        };

      plugin = import ./nix/plugin.nix { pluginDir = ./plugin; };

      # The flake's own source (git-tracked files). Not a lib.fileset selection: a filtered copy
      # is a new store path that Nix 2.8's read-only `flake check --no-build` cannot realise,
      # while the flake's source is always there. The cost: any tracked change rebuilds.
      src = ./.;

      # server name in Claude Code -> binary, from plugin/layout.json
      servers = plugin.layout.servers;

      hmConfig =
        system: module:
        home-manager.lib.homeManagerConfiguration {
          pkgs = pkgsFor system;
          modules = [
            self.homeManagerModules.default
            {
              home.username = "tester";
              home.homeDirectory =
                if lib.hasSuffix "darwin" system then "/Users/tester" else "/home/tester";
              home.stateVersion = "25.05";
            }
            module
          ];
        };
    in
    {
      overlays.default = final: _prev: {
        claude-enterprise-mcp = final.callPackage ./nix/package.nix { inherit src; };
      };

      packages = forAllSystems (
        _system: pkgs:
        let
          workspace = pkgs.claude-enterprise-mcp;
          serverPkg = s: pkgs.callPackage ./nix/server.nix { inherit workspace; inherit (s) binary; };
        in
        {
          default = workspace;
          claude-enterprise = workspace;
        }
        // lib.listToAttrs (map (s: lib.nameValuePair s.binary (serverPkg s)) servers)
        // lib.listToAttrs (
          map (
            s:
            lib.nameValuePair "${s.binary}-image" (
              pkgs.callPackage ./nix/image.nix {
                inherit workspace;
                inherit (s) binary;
                serverName = s.name;
              }
            )
          ) servers
        )
      );

      apps = forAllSystems (
        system: _pkgs:
        let
          app = name: bin: {
            type = "app";
            program = "${self.packages.${system}.${name}}/bin/${bin}";
          };
        in
        {
          default = app "claude-enterprise" "claude-enterprise";
          claude-enterprise = app "claude-enterprise" "claude-enterprise";
        }
        // lib.listToAttrs (map (s: lib.nameValuePair s.binary (app s.binary s.binary)) servers)
      );

      homeManagerModules.default =
        { pkgs, ... }:
        {
          imports = [ ./home-manager ];
          programs.claude-enterprise.package =
            lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      nixosModules.default =
        { pkgs, ... }:
        {
          imports = [ (import ./nix/system-module.nix "nixos") ];
          programs.claude-enterprise.package =
            lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      darwinModules.default =
        { pkgs, ... }:
        {
          imports = [ (import ./nix/system-module.nix "darwin") ];
          programs.claude-enterprise.package =
            lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      # Evaluated by the module checks (nix/checks.nix) and by ../shared/nix-eval/check.sh.
      homeConfigurations = {
        hm-test = hmConfig "x86_64-linux" (import ./nix/tests/hm-linux.nix);
        hm-test-darwin = hmConfig "aarch64-darwin" (import ./nix/tests/hm-darwin.nix);
        hm-test-claude-code = hmConfig "x86_64-linux" (import ./nix/tests/hm-claude-code.nix);
      };

      checks = forAllSystems (
        system: pkgs:
        import ./nix/checks.nix {
          inherit
            self
            system
            pkgs
            lib
            plugin
            hmConfig
            ;
        }
      );

      devShells = forAllSystems (
        _system: pkgs: {
          default = pkgs.mkShell {
            inputsFrom = [ pkgs.claude-enterprise-mcp ];
            packages = [
              pkgs.clippy
              pkgs.rustfmt
              pkgs.rust-analyzer
              pkgs.nix
              pkgs.jq
            ];
          };
        }
      );
    };
}
