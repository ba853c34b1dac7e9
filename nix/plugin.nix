# The Claude Code plugin (a skills-directory plugin, ~/.claude/skills/<name>/) as files, computed
# from the data in plugin/ only: plugin/root/ is copied as it is, plugin/layout.json gives the
# hooks and the servers. This is the same function of the same data as
# crates/claude-enterprise/src/plugin.rs (`claude-enterprise plugin write`); the integration
# test crates/claude-enterprise/tests/nix_plugin.rs compares the two file by file.
#
# Builtins only (no nixpkgs), so that the test can evaluate it with plain nix-instantiate.
{
  pluginDir ? ../plugin,
}:
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    filter
    fromJSON
    hasAttr
    listToAttrs
    map
    match
    readDir
    readFile
    replaceStrings
    toJSON
    typeOf
    ;

  layout = fromJSON (readFile (pluginDir + "/layout.json"));
  manifest = fromJSON (readFile (pluginDir + "/root/.claude-plugin/plugin.json"));

  # plugin/root/, every file, as { "<relative path>" = "<text>"; }.
  rootFiles =
    let
      walk =
        dir: prefix:
        let
          entries = readDir dir;
        in
        concatLists (
          map (
            n:
            let
              path = dir + "/${n}";
              rel = if prefix == "" then n else "${prefix}/${n}";
            in
            if entries.${n} == "directory" then
              walk path rel
            else
              [
                {
                  name = rel;
                  value = readFile path;
                }
              ]
          ) (attrNames entries)
        );
    in
    listToAttrs (walk (pluginDir + "/root") "");

  # serde_json's to_string_pretty: two spaces, `"key": value`, keys sorted (serde_json's Map
  # is a BTreeMap in this workspace, as Nix attribute sets are sorted), `[]` and `{}` when empty.
  pretty =
    let
      go =
        indent: v:
        let
          t = typeOf v;
          inner = indent + "  ";
        in
        if t == "set" then
          if attrNames v == [ ] then
            "{}"
          else
            "{\n"
            + concatStringsSep ",\n" (map (n: inner + toJSON n + ": " + go inner v.${n}) (attrNames v))
            + "\n"
            + indent
            + "}"
        else if t == "list" then
          if v == [ ] then
            "[]"
          else
            "[\n" + concatStringsSep ",\n" (map (x: inner + go inner x) v) + "\n" + indent + "]"
        else
          toJSON v;
    in
    v: go "" v + "\n";

  # shell_words::quote, as the CLI quotes its own path in the hook commands.
  shellQuote =
    s:
    if s == "" then
      "''"
    else if match "[^]['|&;<>()$`\\\\\" \t*?#~=%\n]*" s != null then
      s
    else if match "[^']*" s != null && match ".*\n.*" s != null then
      "'${s}'"
    else
      "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # hooks/hooks.json: each event runs `<cli> hook EVENT`, in the order of layout.json.
  hooks =
    cli:
    let
      program = shellQuote cli;
      events = attrNames (listToAttrs (map (h: { name = h.event; value = null; }) layout.hooks));
      entry =
        h:
        (if h ? matcher then { inherit (h) matcher; } else { })
        // {
          hooks = [
            {
              type = "command";
              command = "${program} hook ${h.event}";
              inherit (h) timeout;
            }
          ];
        };
    in
    {
      hooks = listToAttrs (
        map (e: {
          name = e;
          value = map entry (filter (h: h.event == e) layout.hooks);
        }) events
      );
    };

  # `docker run -i --rm ...` per server, as `plugin write --docker PREFIX` writes it. What the
  # CLI reads from the running machine is given here: `user` ("UID:GID" of the state
  # directory), `stateDir`, `journalDir` (null unless outside stateDir), `configFile` (null
  # when there is none).
  dockerServer =
    {
      prefix,
      version,
      user,
      stateDir,
      journalDir ? null,
      configFile ? null,
    }:
    server:
    let
      stateHome = dirOf stateDir;
      common = [
        "run"
        "-i"
        "--rm"
        "--user"
        user
        "-v"
        "${stateDir}:${stateDir}"
        "-e"
        "XDG_STATE_HOME=${stateHome}"
      ]
      ++ (if journalDir != null then [ "-v" "${journalDir}:${journalDir}" ] else [ ])
      ++ (
        if configFile != null then
          [
            "-v"
            "${configFile}:/etc/claude-enterprise/config.toml:ro"
          ]
        else
          [ ]
      );
      trimmed =
        let
          m = match "(.*[^/])/*" prefix;
        in
        if m == null then "" else builtins.head m;
    in
    {
      command = "docker";
      args =
        common
        ++ concatLists (map (n: [ "-e" n ]) (layout.env ++ server.env))
        ++ [ "${trimmed}/${server.binary}:${version}" ];
    };

  # Native: the server binary's absolute path, no arguments.
  nativeServer = binDir: server: {
    command = "${binDir}/${server.binary}";
    args = [ ];
  };

  # Every file of the plugin: { "<path inside the plugin>" = "<text>"; }.
  #   cli          absolute path of the claude-enterprise executable (the hooks run it)
  #   serverEntry  layout server -> { command; args; ... } (nativeServer or dockerServer)
  #   servers      names of the servers to include (default: every one in layout.json)
  #   withHooks    write hooks/hooks.json (false when managed settings carry the hooks)
  #   withSkills   keep plugin/root/skills/ (the four agents' skills, when the data has them)
  files =
    {
      cli,
      serverEntry,
      servers ? map (s: s.name) layout.servers,
      withHooks ? true,
      withSkills ? true,
    }:
    let
      kept = filter (s: builtins.elem s.name servers) layout.servers;
      root =
        if withSkills then
          rootFiles
        else
          listToAttrs (
            map (n: {
              name = n;
              value = rootFiles.${n};
            }) (filter (n: match "skills/.*" n == null) (attrNames rootFiles))
          );
    in
    root
    // {
      ".mcp.json" = pretty {
        mcpServers = listToAttrs (
          map (s: {
            inherit (s) name;
            value = serverEntry s;
          }) kept
        );
      };
    }
    // (if withHooks then { "hooks/hooks.json" = pretty (hooks cli); } else { });
in
{
  inherit
    layout
    manifest
    rootFiles
    pretty
    shellQuote
    hooks
    dockerServer
    nativeServer
    files
    ;
  name = manifest.name;
  version = manifest.version;
  serverNames = map (s: s.name) layout.servers;
  binaries = map (s: s.binary) layout.servers;
}
