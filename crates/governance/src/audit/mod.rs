//! The audit event, the hash-chained local journal, and its reader and verifier.
//!
//! The journal is the record of truth on the user's machine: append-only JSON Lines segments,
//! one writer (one server process) per segment, each line hash-chained to the one before
//! (`hash = sha256(prev_hash || canonical event)`). Shipping to central logging reads these
//! files; nothing here talks to the network. Secrets never reach a line: see [`redact`].

mod errors;
mod event;
mod journal;
mod redact;
mod verify;

pub use errors::{ErrorsLog, errors_dir};
pub use event::{
    Access, AiContext, AuditEvent, GENESIS_HASH, Phase, ServerInfo, canonical_json, chain_hash,
    digest,
};
pub use journal::{AuditError, Journal, RepairReport, repair_dir, segments};
pub use redact::redact_parameters;
pub use verify::{Break, BreakKind, SegmentSummary, VerifyReport, read_events, verify_dir};
