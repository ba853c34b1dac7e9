//! What of a call's arguments the journal may keep.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::config::Capture;

const SECRET_KEY_PARTS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "credential",
    "cookie",
    "private_key",
];
const SECRET_VALUE_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "Bearer ",
    "bearer ",
    "Basic ",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "ASIA",
    "-----BEGIN",
];

/// Returns `args` fit for the journal: values under secret-looking keys and values that look
/// like credentials become `"[REDACTED]"`; with [`Capture::Digest`], strings longer than
/// `max_inline_bytes` become `{"sha256": ..., "bytes": n}`.
pub fn redact_parameters(args: &Value, capture: Capture, max_inline_bytes: usize) -> Value {
    match args {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase().replace('-', "_");
                    let value = if SECRET_KEY_PARTS.iter().any(|p| lower.contains(p)) {
                        Value::String("[REDACTED]".into())
                    } else {
                        redact_parameters(v, capture, max_inline_bytes)
                    };
                    (k.clone(), value)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| redact_parameters(v, capture, max_inline_bytes))
                .collect(),
        ),
        Value::String(s) if SECRET_VALUE_PREFIXES.iter().any(|p| s.starts_with(p)) => {
            Value::String("[REDACTED]".into())
        }
        Value::String(s) if capture == Capture::Digest && s.len() > max_inline_bytes => {
            serde_json::json!({
                "sha256": hex::encode(Sha256::digest(s.as_bytes())),
                "bytes": s.len(),
            })
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_long_bodies() {
        let args = json!({
            "owner": "acme", "GitHub-Token": "abc", "nested": {"password": "p"},
            "body": "x".repeat(2000), "note": "ghp_0123456789", "list": ["Bearer abc", "ok"]
        });
        let r = redact_parameters(&args, Capture::Digest, 1024);
        assert_eq!(r["owner"], "acme");
        assert_eq!(r["GitHub-Token"], "[REDACTED]");
        assert_eq!(r["nested"]["password"], "[REDACTED]");
        assert_eq!(r["body"]["bytes"], 2000);
        assert_eq!(r["note"], "[REDACTED]");
        assert_eq!(r["list"], json!(["[REDACTED]", "ok"]));
        let full = redact_parameters(&args, Capture::Full, 1024);
        assert_eq!(full["body"].as_str().unwrap().len(), 2000);
        assert_eq!(full["GitHub-Token"], "[REDACTED]");
    }
}
