//! The audit event: the seed's shape is the contract, extensions are additive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::policy::Decision;

/// `prev_hash` of the first event of a segment.
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Whether an operation reads or changes the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Reads only.
    Read,
    /// Creates or changes something upstream.
    Write,
}

/// Which record of a call this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written and fsync'd before a write is sent upstream.
    Intent,
    /// Written when the call has ended (success, error or denied).
    Outcome,
}

/// What the AI session knew when the call was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AiContext {
    /// Claude Code's session (`CLAUDE_CODE_SESSION_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// SHA-256 of the prompt that led to the call, from the UserPromptSubmit hook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_hash: Option<String>,
    /// The model, from the SessionStart hook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `_meta["claudecode/toolUseId"]` of the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

/// The server that wrote the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Binary name (`github-mcp`).
    pub name: String,
    /// Its version.
    pub version: String,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// UUIDv7, unique across machines; the idempotency key of shipping.
    pub event_id: String,
    /// Position in the segment, from 1, without gaps.
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// Who acted.
    pub user: String,
    /// Their roles.
    pub roles: Vec<String>,
    /// The upstream (`github`, `jira`, ...).
    pub tool: String,
    /// The operation (`create_pull_request`).
    pub action: String,
    /// Read or write.
    pub access: Access,
    /// Intent or outcome.
    pub phase: Phase,
    /// Shared by the intent and the outcome of one call.
    pub call_id: String,
    /// The call's arguments, secrets redacted, long strings as digests.
    pub parameters: Value,
    /// `success`, `error` or `denied` (outcome only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error said to the user (outcome only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time of the call (outcome only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The policy decision.
    pub decision: Decision,
    /// Hidden characters stripped from upstream text before the model saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripped_chars: Option<usize>,
    /// Secrets removed from what the model saw (an upstream echoing a credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_secrets: Option<usize>,
    /// Resource keys the call touched (`repo`, `pull_number`, `issue_key`, ...), at top level.
    #[serde(flatten)]
    pub resources: BTreeMap<String, Value>,
    /// The AI session.
    pub ai_context: AiContext,
    /// The server.
    pub server: ServerInfo,
    /// The machine.
    pub host: String,
    /// SHA-256 of the policy in force.
    pub policy_digest: String,
    /// SHA-256 of the tool definitions the server binary has: which names,
    /// descriptions, input schemas and annotations the model was offered. Absent from the
    /// hooks' `claude-code` events, whose tools are Claude Code's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_digest: Option<String>,
    /// The previous event's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// `sha256(prev_hash || canonical event without hash)`.
    pub hash: String,
}

/// Serializes a JSON value with object keys sorted at every depth and no whitespace: the bytes
/// the chain hash covers, independent of field order or of serde_json's map type.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                out.push('{');
                let sorted: BTreeMap<&String, &Value> = map.iter().collect();
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// `sha256:<hex>` of the canonical JSON of `value`: the digests an event carries
/// (`policy_digest`, `tools_digest`), equal whenever the values are, whatever their key order.
pub fn digest(value: &Value) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
    )
}

/// The chain hash of an event given as JSON (its `hash` field, if any, is ignored).
pub fn chain_hash(prev_hash: &str, event: &Value) -> String {
    let mut without_hash = event.clone();
    if let Value::Object(map) = &mut without_hash {
        map.remove("hash");
    }
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical_json(&without_hash).as_bytes());
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,"x"],"x":null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#);
        assert_eq!(chain_hash(GENESIS_HASH, &a), chain_hash(GENESIS_HASH, &b));
        assert_ne!(chain_hash(GENESIS_HASH, &a), chain_hash("sha256:1", &a));
    }
}
