//! Atlassian's official OpenAPI descriptions, prepared for Prism, in `<peers>/atlassian-specs`.
//!
//! Source, first found: `CE_ATLASSIAN_SPECS` (a directory holding the four files), the
//! project's shared copy at `../shared/specs`, else a download from Atlassian's official URLs.
//! Nothing of them is committed here.
//!
//! Prism needs three repairs, made here (the same ones `../shared/specs/prep.py` documents):
//! Atlassian writes JSON examples as JSON *strings*, which Prism would answer double-encoded;
//! Confluence v2 declares its `/wiki/api/v2` base path only in `servers`, which Prism ignores;
//! Confluence v1's response schemas recurse so deeply that Prism answers 500 "schema too
//! complex" unless `$ref`s are inlined to a bounded depth.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{Map, Value};

use crate::{Result, root};

/// One description: its file name, official URL, and the repairs Prism needs.
struct Spec {
    /// The name of the prepared file (what testkit and the bench read).
    prepared: &'static str,
    /// The file name in a local copy.
    file: &'static str,
    url: &'static str,
    prefix: &'static str,
    max_ref_depth: usize,
}

const SPECS: &[Spec] = &[
    Spec {
        prepared: "jira-platform.json",
        file: "jira-platform-v3.swagger-v3.v3.json",
        url: "https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json",
        prefix: "",
        max_ref_depth: 0,
    },
    Spec {
        prepared: "jira-agile.json",
        file: "jira-software-agile.swagger.v3.json",
        url: "https://developer.atlassian.com/cloud/jira/software/swagger.v3.json",
        prefix: "",
        max_ref_depth: 0,
    },
    Spec {
        prepared: "confluence-v1.json",
        file: "confluence-v1.swagger.v3.json",
        url: "https://developer.atlassian.com/cloud/confluence/swagger.v3.json",
        prefix: "",
        max_ref_depth: 3,
    },
    Spec {
        prepared: "confluence-v2.json",
        file: "confluence-v2.openapi-v2.v3.json",
        url: "https://developer.atlassian.com/cloud/confluence/openapi-v2.v3.json",
        prefix: "/wiki/api/v2",
        max_ref_depth: 0,
    },
];

/// Where the unprepared descriptions are, if a local copy exists.
fn local_source() -> Option<PathBuf> {
    std::env::var_os("CE_ATLASSIAN_SPECS")
        .map(PathBuf::from)
        .or_else(|| Some(root().join("../shared/specs")))
        .filter(|dir| SPECS.iter().all(|s| dir.join(s.file).is_file()))
}

/// Prepares every description into `<peers>/atlassian-specs`, unless already there.
pub fn prepare(peers: &Path) -> Result<PathBuf> {
    let out = peers.join("atlassian-specs");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let source = local_source();
    for spec in SPECS {
        let target = out.join(spec.prepared);
        if target.is_file() {
            continue;
        }
        let raw = match &source {
            Some(dir) => dir.join(spec.file),
            None => download(spec, &out)?,
        };
        let text = std::fs::read_to_string(&raw).map_err(|e| format!("{}: {e}", raw.display()))?;
        let mut value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", raw.display()))?;
        repair(&mut value, spec.prefix, spec.max_ref_depth);
        let temporary = target.with_extension("json.partial");
        std::fs::write(&temporary, value.to_string()).map_err(|e| e.to_string())?;
        std::fs::rename(&temporary, &target).map_err(|e| e.to_string())?;
        eprintln!("xtask: prepared {} for Prism", target.display());
    }
    Ok(out)
}

fn download(spec: &Spec, out: &Path) -> Result<PathBuf> {
    let raw = out.join(spec.file);
    eprintln!(
        "xtask: no local copy of Atlassian's specs (set CE_ATLASSIAN_SPECS to use one); \
         downloading {}",
        spec.url
    );
    crate::run(
        Command::new("curl")
            .args([
                "--fail",
                "--silent",
                "--show-error",
                "--location",
                "--output",
            ])
            .arg(&raw)
            .arg(spec.url),
    )?;
    Ok(raw)
}

/// The three repairs, in place.
fn repair(spec: &mut Value, prefix: &str, max_ref_depth: usize) {
    let schemas = spec["components"]["schemas"].clone();
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    let mut repaired = Map::new();
    for (path, item) in std::mem::take(paths) {
        let mut item = item;
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
            .filter_map(Value::as_object_mut)
        {
            if let Some(content) = operation
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
            {
                parse_string_examples(content);
            }
            let responses = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|r| r.values_mut());
            for content in responses.filter_map(|r| r.get_mut("content")) {
                parse_string_examples(content);
                if max_ref_depth == 0 {
                    continue;
                }
                let media = content
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|c| c.values_mut());
                for schema in media.filter_map(|m| m.get_mut("schema")) {
                    *schema = inline_refs(schema, &schemas, max_ref_depth, &BTreeSet::new());
                }
            }
        }
        repaired.insert(format!("{prefix}{path}"), item);
    }
    *paths = repaired;
    if !prefix.is_empty() {
        spec["servers"] = serde_json::json!([{"url": "http://127.0.0.1"}]);
    }
}

/// Replaces JSON-looking string examples of JSON media types with the values they spell.
fn parse_string_examples(content: &mut Value) {
    let Some(media_types) = content.as_object_mut() else {
        return;
    };
    for (media_type, media) in media_types.iter_mut() {
        if !media_type.contains("json") {
            continue;
        }
        if let Some(example) = media.get_mut("example") {
            parse_if_json(example);
        }
        let examples = media
            .get_mut("examples")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|e| e.values_mut());
        for value in examples.filter_map(|e| e.get_mut("value")) {
            parse_if_json(value);
        }
    }
}

fn parse_if_json(value: &mut Value) {
    if let Some(text) = value.as_str()
        && text.trim_start().starts_with(['{', '['])
        && let Ok(parsed) = serde_json::from_str::<Value>(text)
    {
        *value = parsed;
    }
}

/// Inlines `#/components/schemas/...` references to `depth`, cutting deeper or recursive ones
/// to a plain object.
fn inline_refs(schema: &Value, schemas: &Value, depth: usize, seen: &BTreeSet<String>) -> Value {
    match schema {
        Value::Array(items) => items
            .iter()
            .map(|v| inline_refs(v, schemas, depth, seen))
            .collect(),
        Value::Object(object) => {
            if let Some(name) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                if depth == 0 || seen.contains(name) {
                    return serde_json::json!({"type": "object"});
                }
                let mut seen = seen.clone();
                seen.insert(name.to_owned());
                return inline_refs(&schemas[name], schemas, depth - 1, &seen);
            }
            object
                .iter()
                .map(|(k, v)| (k.clone(), inline_refs(v, schemas, depth, seen)))
                .collect::<Map<_, _>>()
                .into()
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repairs_examples_prefix_and_deep_refs() {
        let mut spec = json!({
            "paths": {"/pages/{id}": {"get": {"responses": {"200": {"content": {
                "application/json": {"example": "{\"id\": \"7\"}", "schema": {"$ref": "#/components/schemas/Page"}}
            }}}}}},
            "components": {"schemas": {
                "Page": {"type": "object", "properties": {"parent": {"$ref": "#/components/schemas/Page"}}}
            }}
        });
        repair(&mut spec, "/wiki/api/v2", 3);
        let media = &spec["paths"]["/wiki/api/v2/pages/{id}"]["get"]["responses"]["200"]["content"]
            ["application/json"];
        assert_eq!(media["example"], json!({"id": "7"}));
        assert_eq!(
            media["schema"]["properties"]["parent"],
            json!({"type": "object"})
        );
        assert_eq!(spec["servers"][0]["url"], "http://127.0.0.1");
        assert!(
            spec["paths"]["/wiki/api/v2/pages/{id}"]["get"]
                .get("requestBody")
                .is_none()
        );
    }
}
