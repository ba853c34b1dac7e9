//! Encoding journal lines for a sink: the native event, or OCSF API Activity (class 6003).
//!
//! Both shapes carry the segment's chain head under `ship` (native) or `unmapped.ship` (OCSF):
//! `{"segment", "head_seq", "head_hash"}`, the last link of the segment when the batch was
//! read. A central verifier drops `ship` before recomputing `hash` (which, like the local
//! verifier, covers every other field), and compares the chain it holds with the newest head
//! it saw: lines deleted from a segment's tail show as a head it never received.
//!
//! Not here: batching and sending (the shipper and the sinks).

use governance::config::ShipFormat;
use serde_json::{Map, Value, json};

use crate::sink::ChainHead;

/// The OCSF schema version the mapping follows.
pub const OCSF_VERSION: &str = "1.3.0";

/// Encodes one verified journal line (`event`, parsed) in `format`, with the chain head.
pub fn encode(event: &Value, format: ShipFormat, segment: &str, head: &ChainHead) -> Vec<u8> {
    let ship = json!({"segment": segment, "head_seq": head.seq, "head_hash": head.hash});
    let value = match format {
        ShipFormat::Native => {
            let mut value = event.clone();
            if let Value::Object(map) = &mut value {
                map.insert("ship".to_owned(), ship);
            }
            value
        }
        ShipFormat::Ocsf => {
            let mut value = ocsf(event);
            value["unmapped"]["ship"] = ship;
            value
        }
    };
    // A `Value` always serializes.
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The event's timestamp in milliseconds since the epoch (0 when unreadable).
pub fn timestamp_ms(event: &Value) -> i64 {
    event
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp_millis())
}

/// OCSF activity of an action: (activity_id, activity_name).
fn activity(event: &Value) -> (u64, &'static str) {
    let access = event.get("access").and_then(Value::as_str).unwrap_or("");
    let action = event.get("action").and_then(Value::as_str).unwrap_or("");
    if access == "read" {
        return (2, "Read");
    }
    let verb = action.split('_').next().unwrap_or("");
    match verb {
        "create" | "add" | "open" | "post" | "put" | "start" | "run" | "invoke" => (1, "Create"),
        "delete" | "remove" | "close" | "terminate" | "stop" => (4, "Delete"),
        "" => (99, "Other"),
        _ => (3, "Update"),
    }
}

/// Maps a native event to OCSF API Activity (class 6003, category Application Activity),
/// keeping the native event whole under `unmapped.event`.
pub fn ocsf(event: &Value) -> Value {
    let s = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
    let (activity_id, activity_name) = activity(event);
    let result = event.get("result").and_then(Value::as_str);
    let (status_id, status) = match result {
        Some("success") => (1, "Success"),
        Some(_) => (2, "Failure"),
        None => (0, "Unknown"),
    };
    let allowed = event
        .pointer("/decision/allowed")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let groups: Vec<Value> = event
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| roles.iter().map(|r| json!({"name": r})).collect())
        .unwrap_or_default();
    let user = s("user");
    let mut actor_user = json!({"name": user, "groups": groups});
    if user.contains('@') {
        actor_user["email_addr"] = json!(user);
    }
    let mut actor = json!({"user": actor_user, "app_name": event.pointer("/server/name")});
    if let Some(session) = event.pointer("/ai_context/session_id") {
        actor["session"] = json!({"uid": session});
    }
    // Resource keys sit at the top level of the native event: every key the event type does
    // not define.
    const KNOWN: &[&str] = &[
        "event_id",
        "seq",
        "timestamp",
        "user",
        "roles",
        "tool",
        "action",
        "access",
        "phase",
        "call_id",
        "parameters",
        "result",
        "error",
        "duration_ms",
        "decision",
        "stripped_chars",
        "redacted_secrets",
        "ai_context",
        "server",
        "host",
        "policy_digest",
        "tools_digest",
        "prev_hash",
        "hash",
    ];
    let resources: Vec<Value> = match event {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
            .map(|(k, v)| {
                let uid = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                json!({"type": k, "uid": uid})
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("class_uid", json!(6003));
    put("class_name", json!("API Activity"));
    put("category_uid", json!(6));
    put("category_name", json!("Application Activity"));
    put("activity_id", json!(activity_id));
    put("activity_name", json!(activity_name));
    put("type_uid", json!(600300 + activity_id));
    put("time", json!(timestamp_ms(event)));
    put("severity_id", json!(if allowed { 1 } else { 3 }));
    put("status_id", json!(status_id));
    put("status", json!(status));
    if let Some(error) = event.get("error") {
        put("status_detail", error.clone());
    }
    put("disposition_id", json!(if allowed { 1 } else { 2 }));
    put("actor", actor);
    put(
        "api",
        json!({
            "operation": s("action"),
            "service": {"name": s("tool")},
            "request": {"uid": s("call_id")},
        }),
    );
    put("src_endpoint", json!({"hostname": s("host")}));
    if !resources.is_empty() {
        put("resources", Value::Array(resources));
    }
    if let Some(duration) = event.get("duration_ms") {
        put("duration", duration.clone());
    }
    put(
        "metadata",
        json!({
            "uid": s("event_id"),
            "version": OCSF_VERSION,
            "sequence": event.get("seq"),
            "product": {
                "name": event.pointer("/server/name"),
                "vendor_name": "claude-enterprise-mcp",
                "version": event.pointer("/server/version"),
            },
        }),
    );
    put("unmapped", json!({"event": event}));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn event() -> Value {
        json!({
            "event_id": "0193-a", "seq": 3, "timestamp": "2026-01-13T10:30:00.000Z",
            "user": "jane@corp.example", "roles": ["delivery"], "tool": "jira",
            "action": "create_issue", "access": "write", "phase": "outcome", "call_id": "c1",
            "parameters": {"project": "PROJ"}, "result": "success", "issue_key": "PROJ-123",
            "duration_ms": 412, "decision": {"allowed": true, "rule": "default"},
            "ai_context": {"session_id": "s1"}, "server": {"name": "jira-mcp", "version": "1.0.0"},
            "host": "laptop-42", "policy_digest": "sha256:p", "tools_digest": "sha256:t", "prev_hash": "sha256:a", "hash": "sha256:b"
        })
    }

    #[test]
    fn native_is_the_event_plus_the_chain_head() {
        let head = ChainHead {
            seq: 9,
            hash: "sha256:h".into(),
        };
        let bytes = encode(&event(), ShipFormat::Native, "seg.jsonl", &head);
        let mut value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            value["ship"],
            json!({"segment": "seg.jsonl", "head_seq": 9, "head_hash": "sha256:h"})
        );
        value.as_object_mut().unwrap().remove("ship");
        assert_eq!(value, event());
    }

    #[test]
    fn ocsf_maps_api_activity() {
        let head = ChainHead {
            seq: 9,
            hash: "sha256:h".into(),
        };
        let bytes = encode(&event(), ShipFormat::Ocsf, "seg.jsonl", &head);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["class_uid"], 6003);
        assert_eq!(v["category_uid"], 6);
        assert_eq!(v["activity_id"], 1);
        assert_eq!(v["type_uid"], 600301);
        assert_eq!(v["status_id"], 1);
        assert_eq!(v["time"], 1768300200000i64);
        assert_eq!(v["actor"]["user"]["email_addr"], "jane@corp.example");
        assert_eq!(v["api"]["operation"], "create_issue");
        assert_eq!(v["api"]["service"]["name"], "jira");
        assert_eq!(v["metadata"]["uid"], "0193-a");
        assert_eq!(
            v["resources"],
            json!([{"type": "issue_key", "uid": "PROJ-123"}])
        );
        assert_eq!(v["unmapped"]["event"], event());
        assert_eq!(v["unmapped"]["ship"]["head_seq"], 9);
    }
}
