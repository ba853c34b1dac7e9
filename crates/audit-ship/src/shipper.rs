//! The shipper: journal segments -> verified, encoded batches -> sinks -> checkpoints.
//!
//! For each sink, under its lock, for each segment in name order: the complete lines after the
//! sink's checkpoint are read, their chain verified from the checkpoint's link, encoded, cut
//! into batches that fit both `[audit.ship]` and the sink's [`Limits`], and sent with retries
//! (exponential backoff with jitter). **The checkpoint advances only after the sink
//! acknowledged the batch**: a crash or a kill anywhere sends the batch again, with the same
//! `event_id`s (at least once, duplicates recognisable). A segment whose chain breaks is shipped
//! up to the break, then quarantined for that sink (recorded, reported, skipped); the other
//! segments still ship.
//!
//! Not here: what a sink does with a batch ([`crate::sinks`]), deleting segments
//! ([`crate::retention`]).

use std::{
    fs::File,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use backon::{BackoffBuilder, ExponentialBuilder};
use governance::{
    audit::{AuditError, chain_hash, segments},
    config::{ShipConfig, ShipFormat},
};
use serde_json::Value;

use crate::{
    checkpoint::{Checkpoint, Quarantine, SinkDir, SinkState, StateError, valid_sink_name},
    encode::{encode, timestamp_ms},
    sink::{Batch, ChainHead, Delivery, EncodedEvent, ItemOutcome, Limits, Sink, SinkError},
};

/// How often `--follow` applies local retention.
pub const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// Bytes of a segment read at once.
const CHUNK: u64 = 8 * 1024 * 1024;

/// How the shipper runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Ship everything there is, then return. A sink held by another shipper is an error.
    Once,
    /// Keep tailing the journal; partial batches wait up to `batch_max_age_ms`. A sink held
    /// by another shipper is waited for.
    Follow,
}

/// A run that could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShipError {
    /// No `[[audit.sinks]]` configured (or none by that name).
    #[error("{0}")]
    NoSinks(String),
    /// Two sinks share a name, or a name cannot name a directory.
    #[error("{0}")]
    BadSink(String),
    /// The journal directory could not be listed.
    #[error(transparent)]
    Journal(#[from] AuditError),
}

/// What one run did for one sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink.
    pub name: String,
    /// Events acknowledged as delivered.
    pub shipped: u64,
    /// Lines of the servers' errors journal delivered to the sink's errors stream.
    pub errors_shipped: u64,
    /// Events the sink already had (same `event_id`).
    pub duplicates: u64,
    /// Events the sink refused for good, recorded in its `deadletter.jsonl`.
    pub dead_lettered: u64,
    /// Segments quarantined for this sink (file name, why).
    pub quarantined: Vec<(String, String)>,
    /// Why the sink stopped before the end of the journal (nothing lost: the checkpoint stays).
    pub error: Option<String>,
    /// Wall time spent on this sink.
    pub elapsed: Duration,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipReport {
    /// One per sink, in config order.
    pub sinks: Vec<SinkReport>,
}

impl ShipReport {
    /// Whether every sink reached the end of the journal without error.
    pub fn ok(&self) -> bool {
        self.sinks.iter().all(|s| s.error.is_none())
    }
}

/// One configured sink and the format it ships.
pub struct SinkEntry {
    /// The sink.
    pub sink: Arc<dyn Sink>,
    /// Native or OCSF.
    pub format: ShipFormat,
}

/// Ships one journal directory to its sinks.
pub struct Shipper {
    dir: PathBuf,
    /// The servers' WARN/ERROR logs ([`governance::audit::errors_dir`]), for sinks that take
    /// them.
    errors_dir: Option<PathBuf>,
    /// `--follow`: local retention (days, every configured sink's name) applied as it runs.
    retention: Option<(u32, Vec<String>)>,
    config: ShipConfig,
    sinks: Vec<SinkEntry>,
    progress: bool,
}

/// Why a sink stopped for this run.
struct Stop(String);

impl From<StateError> for Stop {
    fn from(e: StateError) -> Self {
        Stop(format!("{e}; the checkpoint did not advance"))
    }
}

/// A verified line, encoded.
struct Line {
    event: EncodedEvent,
    /// Offset just past the line.
    end: u64,
    hash: String,
}

impl Shipper {
    /// A shipper of `dir` to `sinks`. Sink names must be unique and usable as file names.
    pub fn new(dir: &Path, config: ShipConfig, sinks: Vec<SinkEntry>) -> Result<Self, ShipError> {
        if sinks.is_empty() {
            return Err(ShipError::NoSinks(
                "no sink configured: add an [[audit.sinks]] table to the config".into(),
            ));
        }
        let mut names: Vec<&str> = Vec::new();
        for entry in &sinks {
            let name = entry.sink.name();
            if !valid_sink_name(name) {
                return Err(ShipError::BadSink(format!(
                    "sink name `{name}`: use letters, digits, '-', '_' or '.' (it names a directory)"
                )));
            }
            if names.contains(&name) {
                return Err(ShipError::BadSink(format!("two sinks are named `{name}`")));
            }
            names.push(name);
        }
        Ok(Self {
            dir: dir.to_owned(),
            errors_dir: None,
            retention: None,
            config,
            sinks,
            progress: false,
        })
    }

    /// Also ships the errors journal at `dir` to the sinks that have an errors stream
    /// ([`Sink::takes_errors`]). Its lines are not chained: read as they are.
    pub fn with_errors_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.errors_dir = dir;
        self
    }

    /// With [`Mode::Follow`], applies local retention ([`crate::retention`]) for `sinks` (every
    /// configured sink, not only those shipped here) at the start and every
    /// [`RETENTION_EVERY`]; a `--once` run leaves it to its caller.
    pub fn with_retention(mut self, days: u32, sinks: Vec<String>) -> Self {
        self.retention = Some((days, sinks));
        self
    }

    /// Prints progress to stderr (pending, shipped, rate, per sink).
    pub fn with_progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Ships until the journal is drained ([`Mode::Once`]) or for ever ([`Mode::Follow`]),
    /// each sink in turn.
    pub async fn run(&self, mode: Mode) -> Result<ShipReport, ShipError> {
        match mode {
            Mode::Once => {
                let mut report = ShipReport::default();
                for entry in &self.sinks {
                    report.sinks.push(self.ship_once(entry).await);
                }
                Ok(report)
            }
            Mode::Follow => self.follow().await,
        }
    }

    /// `--once` for one sink: lock, prepare, one pass, record the outcome.
    async fn ship_once(&self, entry: &SinkEntry) -> SinkReport {
        let started = Instant::now();
        let (dir, mut report) = self.start(entry);
        let outcome = async {
            let _lock = self.lock(&dir, &report.name, Mode::Once).await?;
            self.retry(entry.sink.as_ref(), "prepare", || entry.sink.prepare())
                .await?;
            self.pass(entry, &dir, Mode::Once, &mut report).await
        }
        .await;
        self.finish(&dir, &mut report, outcome, started);
        report
    }

    /// `--follow`: every sink's lock held for the whole run (waited for), each prepared once
    /// it can be, then a pass over the journal per poll interval. A failing sink is retried at
    /// the next poll; the others go on.
    async fn follow(&self) -> Result<ShipReport, ShipError> {
        let mut locks = Vec::new();
        for entry in &self.sinks {
            let dir = SinkDir::new(&self.dir, entry.sink.name());
            match self.lock(&dir, entry.sink.name(), Mode::Follow).await {
                Ok(lock) => locks.push(lock),
                Err(Stop(e)) => return Err(ShipError::BadSink(e)),
            }
        }
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(10));
        let mut prepared = vec![false; self.sinks.len()];
        let mut last_retention: Option<Instant> = None;
        loop {
            for (entry, prepared) in self.sinks.iter().zip(prepared.iter_mut()) {
                let started = Instant::now();
                let (dir, mut report) = self.start(entry);
                let outcome = async {
                    if !*prepared {
                        self.retry(entry.sink.as_ref(), "prepare", || entry.sink.prepare())
                            .await?;
                        *prepared = true;
                    }
                    self.pass(entry, &dir, Mode::Follow, &mut report).await
                }
                .await;
                self.finish(&dir, &mut report, outcome, started);
            }
            if last_retention.is_none_or(|t: Instant| t.elapsed() >= RETENTION_EVERY) {
                self.apply_retention();
                last_retention = Some(Instant::now());
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Local retention of the journal and of the errors journal.
    fn apply_retention(&self) {
        let Some((days, sinks)) = &self.retention else {
            return;
        };
        let names: Vec<&str> = sinks.iter().map(String::as_str).collect();
        let now = std::time::SystemTime::now();
        match crate::retention::apply(&self.dir, &names, *days, now) {
            Ok(r) => {
                for path in &r.deleted {
                    tracing::info!("deleted {} after its retention", path.display());
                }
            }
            Err(e) => tracing::warn!("retention: {e}"),
        }
        if let Some(errors) = &self.errors_dir {
            let takers: Vec<&str> = self
                .sinks
                .iter()
                .filter(|e| e.sink.takes_errors())
                .map(|e| e.sink.name())
                .collect();
            // With `--sink`, another sink not run here may still need the error logs.
            if sinks.len() == self.sinks.len()
                && let Err(e) = crate::retention::apply_errors(errors, &takers, *days, now)
            {
                tracing::warn!("retention of the error logs: {e}");
            }
        }
    }

    fn start(&self, entry: &SinkEntry) -> (SinkDir, SinkReport) {
        let name = entry.sink.name().to_owned();
        let dir = SinkDir::new(&self.dir, &name);
        let report = SinkReport {
            name,
            ..SinkReport::default()
        };
        (dir, report)
    }

    /// Records a pass's outcome in the sink's `state.json` and on stderr.
    fn finish(
        &self,
        dir: &SinkDir,
        report: &mut SinkReport,
        outcome: Result<(), Stop>,
        started: Instant,
    ) {
        report.elapsed = started.elapsed();
        let mut state = dir.state().unwrap_or_default();
        match outcome {
            Ok(()) => state.last_error = None,
            Err(Stop(message)) => {
                state.last_error = Some(message.clone());
                state.last_error_at = Some(now());
                report.error = Some(message);
            }
        }
        let moved =
            report.shipped + report.errors_shipped + report.duplicates + report.dead_lettered > 0;
        if moved {
            state.last_success_at = Some(now());
        }
        if let Err(e) = dir.create().and_then(|()| dir.set_state(&state)) {
            tracing::warn!("{e}");
        }
        // Quarantines are said when found (`quarantine`), not again at every poll.
        if self.progress && (moved || report.error.is_some()) {
            eprintln!("{}", summary_line(report));
        }
    }

    /// The sink's lock: refused at once with [`Mode::Once`], waited for with [`Mode::Follow`].
    async fn lock(&self, dir: &SinkDir, name: &str, mode: Mode) -> Result<File, Stop> {
        let mut said = false;
        loop {
            match dir.try_lock()? {
                Some(lock) => return Ok(lock),
                None if mode == Mode::Once => {
                    return Err(Stop(format!(
                        "another shipper is shipping sink `{name}` (it holds {}); nothing was sent",
                        dir.path().join("lock").display()
                    )));
                }
                None => {
                    if !said && self.progress {
                        eprintln!(
                            "audit ship: {name}: another shipper holds {}; waiting for it",
                            dir.path().join("lock").display()
                        );
                        said = true;
                    }
                    tokio::time::sleep(Duration::from_millis(self.config.poll_interval_ms)).await;
                }
            }
        }
    }

    /// One pass over the journal's segments for one sink (its lock held).
    async fn pass(
        &self,
        entry: &SinkEntry,
        dir: &SinkDir,
        mode: Mode,
        report: &mut SinkReport,
    ) -> Result<(), Stop> {
        let segments = segments(&self.dir).map_err(|e| Stop(e.to_string()))?;
        let mut progress = Progress::new(self.progress, &report.name);
        for segment in segments {
            self.ship_segment(
                entry,
                dir,
                &segment,
                (mode, Stream::Audit),
                report,
                &mut progress,
            )
            .await?;
        }
        if let Some(errors) = &self.errors_dir
            && entry.sink.takes_errors()
        {
            // Under the sink's own lock, like its audit checkpoints.
            let errors_state = SinkDir::new(errors, entry.sink.name());
            errors_state.create()?;
            let audit_shipped = report.shipped;
            for segment in segments_of(errors).map_err(|e| Stop(e.to_string()))? {
                self.ship_segment(
                    entry,
                    &errors_state,
                    &segment,
                    (mode, Stream::Errors),
                    report,
                    &mut progress,
                )
                .await?;
            }
            // Error-log lines are counted apart from audit events.
            report.errors_shipped += report.shipped - audit_shipped;
            report.shipped = audit_shipped;
        }
        Ok(())
    }

    async fn ship_segment(
        &self,
        entry: &SinkEntry,
        dir: &SinkDir,
        path: &Path,
        (mode, stream): (Mode, Stream),
        report: &mut SinkReport,
        progress: &mut Progress,
    ) -> Result<(), Stop> {
        let Some(segment) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            return Ok(());
        };
        if let Some(q) = dir.quarantine(&segment)? {
            report
                .quarantined
                .push((segment.clone(), format!("seq {}: {}", q.seq, q.reason)));
            return Ok(());
        }
        let mut checkpoint = dir.checkpoint(&segment)?;
        let file = match File::open(path) {
            Ok(f) => f,
            // Deleted by retention since the listing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Stop(format!("cannot read {}: {e}", path.display()))),
        };
        let limits = entry.sink.limits();
        loop {
            let len = file
                .metadata()
                .map_err(|e| Stop(format!("cannot read {}: {e}", path.display())))?
                .len();
            if checkpoint.offset == len {
                return Ok(());
            }
            if checkpoint.offset > len {
                let q = Quarantine {
                    seq: checkpoint.seq,
                    offset: checkpoint.offset,
                    reason: format!(
                        "the segment is shorter ({len} bytes) than what was already shipped ({} bytes): it was truncated",
                        checkpoint.offset
                    ),
                    at: now(),
                };
                return self.quarantine(dir, &segment, q, report);
            }
            let head = match stream {
                Stream::Audit => read_head(&file, len)
                    .map_err(|e| Stop(format!("cannot read {}: {e}", path.display())))?,
                Stream::Errors => ChainHead {
                    seq: 0,
                    hash: String::new(),
                },
            };
            let (lines, broken) = read_verified(
                &file,
                &checkpoint,
                len,
                entry.format,
                &segment,
                &head,
                stream,
            )
            .map_err(|e| Stop(format!("cannot read {}: {e}", path.display())))?;
            if lines.is_empty() && broken.is_none() {
                // Only a partial line past the checkpoint: a writer is mid-line.
                return Ok(());
            }
            let read_all = lines.last().map(|l| l.end) == Some(len) || broken.is_some();
            let mut rest: &[Line] = &lines;
            while !rest.is_empty() {
                let (take, oversized) = cut(rest, &limits, &self.config);
                let chunk = &rest[..take];
                rest = &rest[take..];
                let full = !rest.is_empty();
                if mode == Mode::Follow && !full && !oversized && read_all && broken.is_none() {
                    // The last, partial batch waits for more events, up to its age limit.
                    let age = chrono::Utc::now().timestamp_millis() - chunk[0].event.timestamp_ms;
                    if age < self.config.batch_max_age_ms as i64 {
                        return Ok(());
                    }
                }
                let batch = Batch {
                    segment: segment.clone(),
                    head: head.clone(),
                    events: chunk.iter().map(|l| l.event.clone()).collect(),
                };
                let delivery = if oversized {
                    Delivery {
                        items: vec![ItemOutcome::DeadLettered {
                            reason: format!(
                                "the event is larger ({} bytes) than sink `{}` takes",
                                batch.bytes(),
                                report.name
                            ),
                        }],
                    }
                } else {
                    match stream {
                        Stream::Audit => {
                            self.retry(entry.sink.as_ref(), "send", || entry.sink.send(&batch))
                                .await?
                        }
                        Stream::Errors => {
                            self.retry(entry.sink.as_ref(), "send error logs", || {
                                entry.sink.send_errors(&batch)
                            })
                            .await?
                        }
                    }
                };
                dir.dead_letter(&batch, &delivery)?;
                let (delivered, duplicates, dead) = delivery.counts(batch.events.len());
                let last = &chunk[chunk.len() - 1];
                let next = Checkpoint {
                    offset: last.end,
                    seq: last.event.seq,
                    hash: last.hash.clone(),
                };
                dir.set_checkpoint(&segment, &next)?;
                checkpoint = next;
                report.shipped += delivered as u64;
                report.duplicates += duplicates as u64;
                report.dead_lettered += dead as u64;
                progress.tick(report, &segment);
            }
            if let Some(q) = broken {
                return self.quarantine(dir, &segment, q, report);
            }
        }
    }

    fn quarantine(
        &self,
        dir: &SinkDir,
        segment: &str,
        q: Quarantine,
        report: &mut SinkReport,
    ) -> Result<(), Stop> {
        tracing::warn!(
            sink = %report.name,
            segment,
            "segment quarantined at seq {}: {}; the other segments still ship",
            q.seq,
            q.reason
        );
        if self.progress {
            eprintln!(
                "audit ship: {}: segment {segment} QUARANTINED at seq {}: {} (not shipped past it; `claude-enterprise audit verify` shows the break)",
                report.name, q.seq, q.reason
            );
        }
        dir.set_quarantine(segment, &q)?;
        report
            .quarantined
            .push((segment.to_owned(), format!("seq {}: {}", q.seq, q.reason)));
        Ok(())
    }

    /// Runs `op` until it succeeds, a permanent error, or the retries run out.
    async fn retry<T, F, Fut>(&self, sink: &dyn Sink, what: &str, mut op: F) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SinkError>>,
    {
        let builder = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(self.config.retry_initial_ms))
            .with_max_delay(Duration::from_millis(
                self.config.retry_max_ms.max(self.config.retry_initial_ms),
            ))
            .with_jitter();
        // Bounded in both modes: `--follow` tries a failing sink again at its next poll,
        // so that one sink down does not hold the others up.
        let mut backoff = builder
            .with_max_times(self.config.retry_max_attempts as usize)
            .build();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match op().await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_retryable() => match backoff.next() {
                    Some(delay) => {
                        let delay = e.retry_after.unwrap_or(delay);
                        tracing::info!(
                            sink = sink.name(),
                            "{what} failed ({e}); retrying in {delay:?}"
                        );
                        if self.progress {
                            eprintln!(
                                "audit ship: {}: {what} failed ({e}); retry in {:.1}s",
                                sink.name(),
                                delay.as_secs_f64()
                            );
                        }
                        tokio::time::sleep(delay).await;
                    }
                    None => {
                        return Err(Stop(format!(
                            "{what} failed after {attempts} attempts: {e}; nothing is lost, the next run sends it again"
                        )));
                    }
                },
                Err(e) => {
                    return Err(Stop(format!(
                        "{what} failed: {e} (not retried); nothing is lost, the next run sends it again"
                    )));
                }
            }
        }
    }
}

/// How many of `lines` fit one batch; `true` when the first alone is too big for the sink.
fn cut(lines: &[Line], limits: &Limits, config: &ShipConfig) -> (usize, bool) {
    let max_events = config.batch_max_events.min(limits.max_events).max(1);
    let max_bytes = config.batch_max_bytes.min(limits.max_bytes);
    // Too big for the sink itself: dead-lettered. Only the sink's limits decide that; an
    // event bigger than `[audit.ship] batch_max_bytes` alone is sent alone.
    let first_cost = lines[0].event.bytes.len() + limits.overhead_per_event;
    if lines[0].event.bytes.len() > limits.max_event_bytes || first_cost > limits.max_bytes {
        return (1, true);
    }
    let first_ts = lines[0].event.timestamp_ms;
    let mut bytes = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let cost = line.event.bytes.len() + limits.overhead_per_event;
        let over_span = limits.max_span.is_some_and(|span| {
            (line.event.timestamp_ms - first_ts).unsigned_abs() > span.as_millis() as u64
        });
        let too_big = line.event.bytes.len() > limits.max_event_bytes;
        if i > 0 && (i == max_events || bytes + cost > max_bytes || over_span || too_big) {
            return (i, false);
        }
        bytes += cost;
    }
    (lines.len(), false)
}

/// Reads the complete lines after `checkpoint` (up to [`CHUNK`] bytes), verifying their chain
/// from the checkpoint's link. Returns the verified lines, and the break if the chain breaks.
fn read_verified(
    file: &File,
    checkpoint: &Checkpoint,
    len: u64,
    format: ShipFormat,
    segment: &str,
    head: &ChainHead,
    stream: Stream,
) -> std::io::Result<(Vec<Line>, Option<Quarantine>)> {
    let mut want = (len - checkpoint.offset).min(CHUNK);
    let bytes = loop {
        let mut bytes = vec![0; want as usize];
        file.read_exact_at(&mut bytes, checkpoint.offset)?;
        match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => {
                bytes.truncate(i + 1);
                break bytes;
            }
            // One line longer than the chunk: read more.
            None if checkpoint.offset + want < len => {
                want = (want * 2).min(len - checkpoint.offset)
            }
            None => return Ok((Vec::new(), None)),
        }
    };
    let mut lines = Vec::new();
    let (mut seq, mut prev) = (checkpoint.seq, checkpoint.hash.clone());
    let mut offset = checkpoint.offset;
    for raw in bytes.split_inclusive(|b| *b == b'\n') {
        if stream == Stream::Errors {
            let (event, value) = error_record(raw, segment, offset, seq + 1);
            offset += raw.len() as u64;
            seq += 1;
            lines.push(Line {
                event: EncodedEvent {
                    bytes: serde_json::to_vec(&value).unwrap_or_default(),
                    ..event
                },
                end: offset,
                hash: String::new(),
            });
            continue;
        }
        let broken = |reason: &str| Quarantine {
            seq: seq + 1,
            offset,
            reason: reason.to_owned(),
            at: now(),
        };
        let value: Value = match serde_json::from_slice(raw) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Ok((lines, Some(broken("line is not a JSON audit event")))),
        };
        let line_seq = value.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let prev_hash = value.get("prev_hash").and_then(Value::as_str).unwrap_or("");
        let hash = value.get("hash").and_then(Value::as_str).unwrap_or("");
        let reason = if line_seq != seq + 1 {
            Some("lines are missing, reordered or duplicated (seq out of sequence)")
        } else if hash != chain_hash(prev_hash, &value) {
            Some("line was edited (hash mismatch)")
        } else if prev_hash != prev {
            Some("prev_hash does not match the previous line")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok((lines, Some(broken(reason))));
        }
        offset += raw.len() as u64;
        let event_id = value
            .get("event_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        lines.push(Line {
            event: EncodedEvent {
                event_id,
                seq: line_seq,
                timestamp_ms: timestamp_ms(&value),
                bytes: encode(&value, format, segment, head),
            },
            end: offset,
            hash: hash.to_owned(),
        });
        seq = line_seq;
        prev = hash.to_owned();
    }
    Ok((lines, None))
}

/// Which journal a segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    /// The hash-chained audit journal.
    Audit,
    /// The servers' WARN/ERROR lines: not chained, shipped to the sink's errors stream.
    Errors,
}

/// The `*.jsonl` files of the errors journal, oldest name first.
fn segments_of(dir: &Path) -> Result<Vec<PathBuf>, AuditError> {
    segments(dir)
}

/// One line of the errors journal as the record shipped: `{timestamp, level, message, host,
/// source}`, its id `<file>:<offset>` (stable across resends).
fn error_record(raw: &[u8], segment: &str, offset: u64, seq: u64) -> (EncodedEvent, Value) {
    let text = String::from_utf8_lossy(raw).trim_end().to_owned();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("");
    let time = chrono::DateTime::parse_from_rfc3339(first).ok();
    let level = words.next().unwrap_or("").to_owned();
    let timestamp_ms = time.map_or_else(
        || chrono::Utc::now().timestamp_millis(),
        |t| t.timestamp_millis(),
    );
    let value = serde_json::json!({
        "timestamp": time.map_or_else(now, |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        "level": level,
        "message": text,
        "host": gethostname::gethostname().to_string_lossy(),
        "source": segment,
    });
    let event = EncodedEvent {
        event_id: format!("{segment}:{offset}"),
        seq,
        timestamp_ms,
        bytes: Vec::new(),
    };
    (event, value)
}

/// The `seq` and `hash` of the segment's last complete line (seq 0 and the genesis hash when
/// it has none, or when that line is unreadable).
fn read_head(file: &File, len: u64) -> std::io::Result<ChainHead> {
    let genesis = ChainHead {
        seq: 0,
        hash: governance::audit::GENESIS_HASH.to_owned(),
    };
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        let mut tail = vec![0; (len - start) as usize];
        file.read_exact_at(&mut tail, start)?;
        let Some(end) = tail.iter().rposition(|b| *b == b'\n') else {
            if start == 0 {
                return Ok(genesis);
            }
            window *= 4;
            continue;
        };
        let body = &tail[..end];
        let line = match body.iter().rposition(|b| *b == b'\n') {
            Some(i) => &body[i + 1..],
            None if start == 0 => body,
            None => {
                window *= 4;
                continue;
            }
        };
        let value: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
        return Ok(
            match (
                value.get("seq").and_then(Value::as_u64),
                value.get("hash").and_then(Value::as_str),
            ) {
                (Some(seq), Some(hash)) => ChainHead {
                    seq,
                    hash: hash.to_owned(),
                },
                _ => genesis,
            },
        );
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn summary_line(r: &SinkReport) -> String {
    let rate = r.shipped as f64 / r.elapsed.as_secs_f64().max(0.001);
    let mut line = format!(
        "audit ship: {}: shipped {} ({rate:.0}/s), duplicates {}, dead-lettered {}, quarantined {}",
        r.name,
        r.shipped,
        r.duplicates,
        r.dead_lettered,
        r.quarantined.len()
    );
    if r.errors_shipped > 0 {
        line.push_str(&format!(", error-log lines {}", r.errors_shipped));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!(", STOPPED: {e}"));
    }
    line
}

/// Progress lines on stderr, at most one a second.
struct Progress {
    on: bool,
    started: Instant,
    last: Instant,
    name: String,
}

impl Progress {
    fn new(on: bool, name: &str) -> Self {
        let now = Instant::now();
        Self {
            on,
            started: now,
            last: now,
            name: name.to_owned(),
        }
    }

    fn tick(&mut self, report: &SinkReport, segment: &str) {
        if !self.on || self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last = Instant::now();
        let rate = report.shipped as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        eprintln!(
            "audit ship: {}: shipped {} ({rate:.0}/s), now at {segment}",
            self.name, report.shipped
        );
    }
}

/// The sink's backlog, for `status` and `doctor`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    /// Complete lines not yet acknowledged by the sink (quarantined segments included).
    pub events: u64,
    /// Timestamp of the oldest of them.
    pub oldest: Option<String>,
    /// Segments quarantined for the sink.
    pub quarantined: usize,
    /// The sink's last error.
    pub last_error: Option<String>,
    /// When the sink last acknowledged a batch.
    pub last_success_at: Option<String>,
}

/// What `sink` has not acknowledged yet in the journal at `dir`.
pub fn pending(dir: &Path, sink: &str) -> Result<Pending, ShipError> {
    let state_dir = SinkDir::new(dir, sink);
    let state: SinkState = state_dir.state().unwrap_or_default();
    let mut out = Pending {
        last_error: state.last_error,
        last_success_at: state.last_success_at,
        ..Pending::default()
    };
    for path in segments(dir)? {
        let Some(segment) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if state_dir.quarantine(segment).ok().flatten().is_some() {
            out.quarantined += 1;
        }
        let offset = state_dir.checkpoint(segment).map(|c| c.offset).unwrap_or(0);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Some(rest) = bytes.get(offset as usize..) else {
            continue;
        };
        let count = rest.iter().filter(|b| **b == b'\n').count() as u64;
        if count == 0 {
            continue;
        }
        out.events += count;
        let first = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        if let Some(ts) = serde_json::from_slice::<Value>(first).ok().and_then(|v| {
            v.get("timestamp")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) && out.oldest.as_ref().is_none_or(|o| ts < *o)
        {
            out.oldest = Some(ts);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::sinks::cloudwatch;

    fn line(bytes: usize, timestamp_ms: i64) -> Line {
        Line {
            event: EncodedEvent {
                event_id: "e".into(),
                seq: 1,
                timestamp_ms,
                bytes: vec![b'x'; bytes],
            },
            end: 0,
            hash: String::new(),
        }
    }

    fn cloudwatch_limits() -> Limits {
        Limits {
            max_events: cloudwatch::MAX_EVENTS,
            max_bytes: cloudwatch::MAX_BYTES,
            overhead_per_event: cloudwatch::EVENT_OVERHEAD,
            max_span: Some(Duration::from_secs(24 * 3600)),
            max_event_bytes: cloudwatch::MAX_EVENT_BYTES,
        }
    }

    /// Large batches allowed by `[audit.ship]`, so the sink's limits are what cut.
    fn wide() -> ShipConfig {
        ShipConfig {
            batch_max_events: 1_000_000,
            batch_max_bytes: 1 << 30,
            ..ShipConfig::default()
        }
    }

    #[test]
    fn batches_respect_put_log_events_limits() {
        let limits = cloudwatch_limits();
        // 10,000 events at most.
        let small: Vec<Line> = (0..10_001).map(|_| line(10, 0)).collect();
        assert_eq!(cut(&small, &limits, &wide()), (10_000, false));
        // 1,048,576 bytes counting 26 per event: 1,000-byte events fit 1,022 to a batch.
        let big: Vec<Line> = (0..2_000).map(|_| line(1_000, 0)).collect();
        let (n, _) = cut(&big, &limits, &wide());
        assert_eq!(n, 1_048_576 / 1_026);
        assert!(n * 1_026 <= 1_048_576 && (n + 1) * 1_026 > 1_048_576);
        // A batch spans 24 hours at most.
        let day = 24 * 3600 * 1000;
        let spread = vec![line(10, 0), line(10, day), line(10, day + 1)];
        assert_eq!(cut(&spread, &limits, &wide()), (2, false));
        // An event CloudWatch cannot take goes alone, to be dead-lettered, not sent.
        let huge = vec![line(300 * 1024, 0), line(10, 0)];
        assert_eq!(cut(&huge, &limits, &wide()), (1, true));
        let after = vec![line(10, 0), line(300 * 1024, 0)];
        assert_eq!(cut(&after, &limits, &wide()), (1, false));
        // `[audit.ship]` cuts first when it is smaller.
        let config = ShipConfig {
            batch_max_events: 7,
            ..ShipConfig::default()
        };
        assert_eq!(cut(&small, &limits, &config), (7, false));
        // An event over `[audit.ship] batch_max_bytes` (a config slip) but within the sink's
        // limits is sent alone, never dead-lettered.
        let tiny = ShipConfig {
            batch_max_bytes: 0,
            ..ShipConfig::default()
        };
        assert_eq!(cut(&big, &limits, &tiny), (1, false));
    }
}
