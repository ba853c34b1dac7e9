# The acceptMajorVersion rule of programs.claude-enterprise: null when `version` is accepted,
# else the message the module's assertion fails with.
{
  version,
  accept,
}:
let
  major = builtins.fromJSON (builtins.head (builtins.match "([0-9]+).*" version));
in
if major <= accept then
  null
else
  ''
    programs.claude-enterprise: the package is version ${version} (major ${toString major}), but
    this configuration accepts major versions up to ${toString accept}. A major version has
    breaking changes: read MIGRATION.md, then set
    programs.claude-enterprise.acceptMajorVersion = ${toString major};''
