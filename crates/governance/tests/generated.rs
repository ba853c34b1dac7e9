//! Generated artifacts checked in must match what the code generates.

#[test]
fn config_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.schema.json");
    let generated =
        serde_json::to_string_pretty(&governance::config::Config::json_schema()).unwrap() + "\n";
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/config.schema.json is stale: run `cargo run -p claude-enterprise -- config schema > docs/config.schema.json`"
    );
}
