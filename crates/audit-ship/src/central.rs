//! Checking a central copy: what a SIEM job (or `claude-enterprise audit verify-shipped` on a
//! file sink's output) runs over the shipped native events to find what local verification
//! cannot.
//!
//! Per segment (`ship.segment`): the events, deduplicated by `event_id`, must form one chain
//! from seq 1 (each `hash` recomputed without `ship`, each `prev_hash` the hash before), and
//! reach the newest chain head any batch carried (`ship.head_seq`, `ship.head_hash`): a head
//! beyond the last event received means lines were deleted from the segment's tail before they
//! were shipped (or are still on their way: run it once the shipper has drained).

use std::collections::BTreeMap;

use governance::audit::{GENESIS_HASH, chain_hash};
use serde_json::Value;

/// What is wrong with one segment's central copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The segment.
    pub segment: String,
    /// What is wrong.
    pub problem: String,
}

/// Checks shipped native events (each with its `ship` object), in any order, duplicates
/// allowed. Returns the segments checked and what is wrong.
pub fn check<'a>(events: impl IntoIterator<Item = &'a Value>) -> (usize, Vec<Finding>) {
    #[derive(Default)]
    struct Seg {
        by_seq: BTreeMap<u64, Value>,
        head: (u64, String),
    }
    let mut segments: BTreeMap<String, Seg> = BTreeMap::new();
    let mut findings = Vec::new();
    for event in events {
        let Some(ship) = event.get("ship") else {
            findings.push(Finding {
                segment: String::new(),
                problem: format!(
                    "event {} carries no `ship` object",
                    event.get("event_id").unwrap_or(&Value::Null)
                ),
            });
            continue;
        };
        let name = ship["segment"].as_str().unwrap_or("").to_owned();
        let seg = segments.entry(name).or_default();
        let head_seq = ship["head_seq"].as_u64().unwrap_or(0);
        if head_seq > seg.head.0 {
            seg.head = (
                head_seq,
                ship["head_hash"].as_str().unwrap_or("").to_owned(),
            );
        }
        let mut native = event.clone();
        if let Value::Object(map) = &mut native {
            map.remove("ship");
        }
        let seq = native["seq"].as_u64().unwrap_or(0);
        // A resend is the same event; anything else under the same seq is a finding below.
        if let Some(seen) = seg.by_seq.get(&seq)
            && *seen != native
        {
            findings.push(Finding {
                segment: ship["segment"].as_str().unwrap_or("").to_owned(),
                problem: format!("two different events with seq {seq}"),
            });
        }
        seg.by_seq.insert(seq, native);
    }
    for (name, seg) in &segments {
        let mut problem = |p: String| {
            findings.push(Finding {
                segment: name.clone(),
                problem: p,
            })
        };
        let mut prev = GENESIS_HASH.to_owned();
        let mut expected = 1u64;
        for (seq, event) in &seg.by_seq {
            if *seq != expected {
                problem(format!("events {expected}..{} are missing", seq - 1));
                break;
            }
            let hash = event["hash"].as_str().unwrap_or("");
            if event["prev_hash"].as_str() != Some(prev.as_str()) {
                problem(format!(
                    "seq {seq}: prev_hash does not match the event before"
                ));
                break;
            }
            if hash != chain_hash(&prev, event) {
                problem(format!("seq {seq}: edited (hash mismatch)"));
                break;
            }
            prev = hash.to_owned();
            expected += 1;
        }
        let last = expected - 1;
        let (head_seq, head_hash) = &seg.head;
        if *head_seq > last {
            problem(format!(
                "the segment held {head_seq} events when shipped, only {last} arrived: events {}..{head_seq} are missing (deleted from its tail?)",
                last + 1
            ));
        } else if let Some(event) = seg.by_seq.get(head_seq)
            && event["hash"].as_str() != Some(head_hash.as_str())
        {
            problem(format!(
                "seq {head_seq}: its hash differs from the chain head shipped"
            ));
        }
    }
    (segments.len(), findings)
}
