//! The one shape of every sink: what the shipper hands it ([`Batch`]), what it answers
//! ([`Delivery`] or [`SinkError`]), and the limits it asks the shipper to respect.
//!
//! A sink only sends. It does not read the journal, keep checkpoints, retry, or sleep: the
//! shipper does all of that the same way for every sink. A sink's one duty is to tell the truth
//! about what the far side acknowledged: [`Sink::send`] returns `Ok` only when every event of
//! the batch is durably accepted there (or counted as delivered: a duplicate, or dead-lettered
//! with its reason recorded), because the checkpoint advances past the whole batch on `Ok`.

use std::time::Duration;

use async_trait::async_trait;

/// One encoded event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    /// The event's `event_id`: the idempotency key sinks deduplicate on (Elasticsearch `_id`).
    pub event_id: String,
    /// The event's `seq` in its segment.
    pub seq: u64,
    /// The event's timestamp, milliseconds since the Unix epoch (CloudWatch wants it apart).
    pub timestamp_ms: i64,
    /// The encoded event (one JSON object, no trailing newline), in the sink's format.
    pub bytes: Vec<u8>,
}

/// The last link of a segment's chain when the shipper read it: shipped with every batch so
/// that the central copy can see lines deleted from a segment's tail, which local verification
/// cannot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    /// `seq` of the segment's last complete line.
    pub seq: u64,
    /// `hash` of that line.
    pub hash: String,
}

/// What the shipper hands a sink: consecutive events of one segment, in journal order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The segment's file name (`github-mcp-20260113T103000.000Z-4242.jsonl`).
    pub segment: String,
    /// The segment's chain head at read time.
    pub head: ChainHead,
    /// The events, in `seq` order.
    pub events: Vec<EncodedEvent>,
}

impl Batch {
    /// Encoded bytes of all events.
    pub fn bytes(&self) -> usize {
        self.events.iter().map(|e| e.bytes.len()).sum()
    }
}

/// What became of one event of an acknowledged batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Accepted by the sink.
    Delivered,
    /// Already there (the same `event_id`: an earlier attempt got through); counts as
    /// delivered.
    Duplicate,
    /// Refused for good by the sink for this event alone (a mapping conflict): reported and
    /// recorded in the sink's dead-letter file, and counted as handled.
    DeadLettered {
        /// The sink's reason.
        reason: String,
    },
}

/// A sink's answer to a batch it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Per event, in batch order; empty means every event was [`ItemOutcome::Delivered`].
    pub items: Vec<ItemOutcome>,
}

impl Delivery {
    /// Every event delivered.
    pub fn all_delivered() -> Self {
        Self::default()
    }

    /// Counts of (delivered, duplicate, dead-lettered) for `n` events.
    pub fn counts(&self, n: usize) -> (usize, usize, usize) {
        if self.items.is_empty() {
            return (n, 0, 0);
        }
        self.items
            .iter()
            .fold((0, 0, 0), |(d, u, l), item| match item {
                ItemOutcome::Delivered => (d + 1, u, l),
                ItemOutcome::Duplicate => (d, u + 1, l),
                ItemOutcome::DeadLettered { .. } => (d, u, l + 1),
            })
    }
}

/// Whether sending again may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Transient (connection refused, timeout, 429, 5xx, throttling): the shipper backs off
    /// and sends the same batch again.
    Retryable,
    /// Will not succeed by repetition (bad credentials, a missing index with no right to
    /// create it, a config error): the shipper stops this sink for this run and reports it.
    /// Nothing is lost: the checkpoint stays, the next run tries again.
    Permanent,
}

/// A batch the sink did not take.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    /// Retryable or permanent.
    pub retry: Retry,
    /// What went wrong, for the user (never a secret).
    pub message: String,
    /// A wait the sink's far side asked for (`Retry-After`), used instead of the backoff.
    pub retry_after: Option<Duration>,
}

impl SinkError {
    /// A transient failure.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retry: Retry::Retryable,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure that repetition will not fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retry: Retry::Permanent,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether the shipper should send again.
    pub fn is_retryable(&self) -> bool {
        self.retry == Retry::Retryable
    }
}

/// The most a sink takes in one [`Sink::send`]; the shipper cuts batches to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events per batch.
    pub max_events: usize,
    /// Bytes per batch, counting `overhead_per_event` for each event on top of its bytes.
    pub max_bytes: usize,
    /// Bytes the sink's far side counts per event beyond the event (CloudWatch: 26).
    pub overhead_per_event: usize,
    /// Largest time span between the first and last event of a batch (CloudWatch: 24 h).
    pub max_span: Option<Duration>,
    /// Largest single event; a bigger one is dead-lettered by the shipper, never sent.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_events: usize::MAX,
            max_bytes: usize::MAX,
            overhead_per_event: 0,
            max_span: None,
            max_event_bytes: usize::MAX,
        }
    }
}

/// A destination of the journal. Every sink is one of these; the shipper owns the rest.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The configured name (`[[audit.sinks]] name`): checkpoints, lock and reports use it.
    fn name(&self) -> &str;

    /// What one batch may hold.
    fn limits(&self) -> Limits {
        Limits::default()
    }

    /// Sets up the far side before the first batch (create the log group and stream, set the
    /// retention). Called once per run; retried like a batch when retryable.
    async fn prepare(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Whether the sink has a destination for the servers' WARN/ERROR logs (CloudWatch's
    /// `errors_log_group`, ...). Default: none, and the errors journal is not shipped to it.
    fn takes_errors(&self) -> bool {
        false
    }

    /// Sends a batch of the errors journal (records `{timestamp, level, message, host,
    /// source}`, ids `<file>:<offset>`, no chain head: those lines are not chained) to the
    /// errors stream, with [`Sink::send`]'s contract. Only called when
    /// [`Sink::takes_errors`].
    async fn send_errors(&self, batch: &Batch) -> Result<Delivery, SinkError> {
        let _ = batch;
        Err(SinkError::permanent(format!(
            "sink `{}` has no errors stream",
            self.name()
        )))
    }

    /// Sends one batch. `Ok` means every event is acknowledged (see [`Delivery`]) and the
    /// checkpoint may move past the batch; an error means none may be assumed delivered (the
    /// batch will be sent again whole, duplicates carry the same `event_id`).
    async fn send(&self, batch: &Batch) -> Result<Delivery, SinkError>;
}
