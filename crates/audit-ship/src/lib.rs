//! Ships the local audit journal to central logging.
//!
//! The main type is [`Shipper`]: for each configured [`Sink`], it reads each journal segment
//! past that sink's checkpoint, verifies the chain of what it read, encodes the events
//! ([`encode`]: native JSON or OCSF API Activity), cuts them into batches that fit the sink's
//! [`Limits`], sends them with retries (exponential backoff with jitter), and advances the
//! checkpoint only after the sink acknowledged. Delivery is at least once; a duplicate always
//! carries the same `event_id`, so the central side deduplicates on it.
//!
//! [`retention`] deletes local segments that every sink has acknowledged and that are past
//! `audit.retention_days`: an unshipped event is never deleted, whatever its age.
//!
//! What this crate is not: it never writes the journal (governance's `Journal` does), and it
//! holds no secret in its config (tokens come from the environment or the keychain).

pub mod central;
pub mod checkpoint;
pub mod encode;
pub mod retention;
pub mod shipper;
pub mod sink;
pub mod sinks;

pub use shipper::{Mode, Pending, ShipError, ShipReport, Shipper, SinkEntry, SinkReport, pending};
pub use sink::{
    Batch, ChainHead, Delivery, EncodedEvent, ItemOutcome, Limits, Retry, Sink, SinkError,
};
