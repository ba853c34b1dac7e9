//! The append-only, hash-chained journal writer, and repair of torn tails after a crash.
//!
//! Each server process writes its own segment (`<server>-<UTC time>-<pid>.jsonl`), holding an
//! exclusive lock on it while it is open: one writer per segment, no cross-process
//! coordination. Short-lived processes (the `claude-enterprise hook` command) may instead
//! continue one named segment in turn, each taking its lock ([`Journal::open_named`]).
//!
//! All file I/O happens on one writer thread per [`Journal`]: callers hand it an event and
//! wait for the answer ([`Journal::append`] blocks, [`Journal::append_async`] awaits without
//! holding an async worker). A line is written with one `write` call before the caller gets
//! its answer, so it survives the process being killed; durable appends (write intents and
//! outcomes) are also `fdatasync`ed before they are answered, so they survive power loss.
//! Durable appends that queue up while a sync runs share the next one (group commit).
//!
//! A failed write or sync closes the segment: the lines it holds stay, a partly written line
//! is cut off (its bytes kept in `<segment>.jsonl.torn`), the events waiting on it are refused,
//! and the next event opens a new segment. So every segment stays one intact chain, and no
//! event that was answered with success is lost. A process that dies mid-line leaves a torn
//! tail, which the next writer (or `claude-enterprise audit verify --repair`) moves aside the
//! same way, never dropping it silently.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use serde_json::Value;

use super::event::{AuditEvent, GENESIS_HASH, canonical_json};
use crate::content::{Scrub, clean_json};

/// The journal could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The journal directory or a segment could not be created, opened or written.
    #[error("audit journal {path} cannot be written: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No journal directory is configured and `$HOME` is unset.
    #[error("no audit journal directory: set audit.dir in the config, or XDG_STATE_HOME or HOME")]
    NoDirectory,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

/// How long [`Journal::open_named`] waits for another process to release the named segment
/// before writing to a fresh one instead: its users are hooks that must never hold a session up.
const NAMED_LOCK_WAIT: Duration = Duration::from_millis(200);

/// Requests taken into one batch at most, so that a flood cannot delay the first one's answer
/// without bound.
const MAX_BATCH: usize = 4096;

/// The two operations a segment sees after it is created: the seam through which tests fail
/// them on purpose.
trait SegmentIo: Send + Sync {
    fn write(&self, file: &File, line: &[u8]) -> std::io::Result<()> {
        (&*file).write_all(line)
    }

    fn sync(&self, file: &File) -> std::io::Result<()> {
        file.sync_data()
    }
}

struct RealIo;

impl SegmentIo for RealIo {}

/// One process's writer to the journal directory.
pub struct Journal {
    dir: PathBuf,
    /// Whether the writer has a segment open (for [`Journal::writable`]).
    open: Arc<AtomicBool>,
    /// Requests sent and not yet taken by the writer.
    queued: Arc<AtomicUsize>,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

/// What repair found and did in one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The segment.
    pub segment: PathBuf,
    /// Bytes cut from its end and appended to `<segment>.torn`.
    pub torn_bytes: usize,
}

struct Request {
    event: AuditEvent,
    /// `event` as JSON, already cleaned by the caller: the writer thread, which every event
    /// passes in turn, only chains and writes it.
    value: Value,
    durable: bool,
    reply: Reply,
}

/// Where the writer sends a request's answer: a blocked thread or an awaiting task.
enum Reply {
    Blocking(mpsc::SyncSender<Result<AuditEvent, AuditError>>),
    Async(tokio::sync::oneshot::Sender<Result<AuditEvent, AuditError>>),
}

impl Reply {
    fn send(self, answer: Result<AuditEvent, AuditError>) {
        // A caller that stopped waiting (a cancelled task) has nobody to tell.
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.send(answer);
            }
            Reply::Async(tx) => {
                let _ = tx.send(answer);
            }
        }
    }
}

impl Journal {
    /// Opens the journal directory (created 0700 if missing) for `server`, repairing the torn
    /// tails that crashed writers left. The segment file itself is created at the first event.
    pub fn open(dir: &Path, server: &str) -> Result<(Self, Vec<RepairReport>), AuditError> {
        create_dir(dir)?;
        let repairs = repair_dir(dir)?;
        let journal = Self::start(dir, server, None, Arc::new(RealIo))?;
        Ok((journal, repairs))
    }

    /// Opens the journal directory for a short-lived process that continues the segment
    /// `<name>.jsonl` (created if missing) where the last process left it, under its lock.
    /// When another process holds it past a short wait, or its last line cannot be read, the
    /// events go to a fresh `<server>-<UTC time>-<pid>.jsonl` segment instead. Only that
    /// segment is repaired, so opening stays fast in a large journal.
    pub fn open_named(dir: &Path, server: &str, name: &str) -> Result<Self, AuditError> {
        // The name is a file in the journal directory, never a path out of it.
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\0']) {
            return Err(AuditError::Io {
                path: dir.join(name),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a segment name is a file name: no '/', no leading '.'",
                ),
            });
        }
        create_dir(dir)?;
        Self::start(dir, server, Some(name.to_owned()), Arc::new(RealIo))
    }

    fn start(
        dir: &Path,
        server: &str,
        name: Option<String>,
        io: Arc<dyn SegmentIo>,
    ) -> Result<Self, AuditError> {
        let open = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            dir: dir.to_owned(),
            server: server.to_owned(),
            name,
            io,
            open: open.clone(),
            queued: queued.clone(),
            segment: None,
            pending: Vec::new(),
            to_repair: Vec::new(),
        };
        let handle = std::thread::Builder::new()
            .name("audit-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(io_error(dir))?;
        Ok(Self {
            dir: dir.to_owned(),
            open,
            queued,
            requests: Some(tx),
            writer: Some(handle),
        })
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks that the directory can take a new file now: a cheap probe run before a write's
    /// intent, so that a full disk or a read-only directory refuses the write up front.
    pub fn writable(&self) -> Result<(), AuditError> {
        if self.open.load(Ordering::Acquire) {
            return Ok(());
        }
        let meta = std::fs::metadata(&self.dir).map_err(io_error(&self.dir))?;
        if meta.permissions().readonly() {
            return Err(AuditError::Io {
                path: self.dir.clone(),
                source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only"),
            });
        }
        Ok(())
    }

    /// Appends `event`, filling in `seq`, `prev_hash` and `hash`; with `durable`, the line is
    /// fsync'd before this returns. Returns the event as written. Blocks the calling thread:
    /// from async code, use [`Journal::append_async`].
    pub fn append(&self, event: AuditEvent, durable: bool) -> Result<AuditEvent, AuditError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Request {
            value: cleaned(&event)?,
            event,
            durable,
            reply: Reply::Blocking(tx),
        })?;
        rx.recv().unwrap_or_else(|_| Err(self.stopped()))
    }

    /// [`Journal::append`] for async callers: the writer thread does the I/O, the task only
    /// awaits its answer, so no runtime worker waits on a disk.
    pub async fn append_async(
        &self,
        event: AuditEvent,
        durable: bool,
    ) -> Result<AuditEvent, AuditError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Request {
            value: cleaned(&event)?,
            event,
            durable,
            reply: Reply::Async(tx),
        })?;
        rx.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    fn send(&self, request: Request) -> Result<(), AuditError> {
        let requests = self.requests.as_ref().ok_or_else(|| self.stopped())?;
        self.queued.fetch_add(1, Ordering::AcqRel);
        requests.send(request).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.stopped()
        })
    }

    fn stopped(&self) -> AuditError {
        AuditError::Io {
            path: self.dir.clone(),
            source: std::io::Error::other("the journal writer thread stopped"),
        }
    }

    /// Requests sent and not yet taken by the writer thread.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

impl Drop for Journal {
    /// Lets the writer answer what is queued and close its segment.
    fn drop(&mut self) {
        self.requests.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The event as it will be written, before its place in the chain is known.
fn cleaned(event: &AuditEvent) -> Result<Value, AuditError> {
    let mut value = serde_json::to_value(event).map_err(|e| AuditError::Io {
        path: PathBuf::from(&event.event_id),
        source: std::io::Error::other(e),
    })?;
    // The one place every event passes: no secret (held by this process, or shaped like one
    // in an argument or an upstream error) and no hidden character is ever written. The
    // chain fields filled in later are numbers and hex.
    clean_json(&mut value, Scrub::All);
    Ok(value)
}

fn create_dir(dir: &Path) -> Result<(), AuditError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error(dir))
}

struct Segment {
    file: File,
    path: PathBuf,
    seq: u64,
    prev_hash: String,
    /// Bytes of whole lines in the file: where a failed write's partial line starts.
    len: u64,
}

/// The writer thread's state: the open segment and the durable events written to it since
/// its last sync.
struct Writer {
    dir: PathBuf,
    server: String,
    /// The named segment to continue first ([`Journal::open_named`]); taken once tried.
    name: Option<String>,
    io: Arc<dyn SegmentIo>,
    open: Arc<AtomicBool>,
    queued: Arc<AtomicUsize>,
    segment: Option<Segment>,
    /// Durable events written to `segment`, answered at its next sync.
    pending: Vec<(Reply, AuditEvent)>,
    /// Segments closed with a torn tail that could not be cut then: repaired before the next
    /// segment opens.
    to_repair: Vec<PathBuf>,
}

impl Writer {
    fn run(mut self, requests: mpsc::Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            self.take(first);
            // Everything that queued while the last sync ran shares the next one.
            for _ in 1..MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => self.take(request),
                    Err(_) => break,
                }
            }
            self.sync();
        }
        self.sync();
    }

    fn take(&mut self, request: Request) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        match self.write(request.event, request.value) {
            Ok(event) if request.durable => self.pending.push((request.reply, event)),
            answer => request.reply.send(answer),
        }
    }

    /// Writes one line: chained to the segment's last, cleaned, in one `write`.
    fn write(&mut self, mut event: AuditEvent, mut value: Value) -> Result<AuditEvent, AuditError> {
        if self.segment.is_none() {
            let segment = self.next_segment()?;
            self.segment = Some(segment);
            self.open.store(true, Ordering::Release);
        }
        let Some(segment) = self.segment.as_mut() else {
            return Err(AuditError::Io {
                path: self.dir.clone(),
                source: std::io::Error::other("no segment open"),
            });
        };
        event.seq = segment.seq + 1;
        event.prev_hash = segment.prev_hash.clone();
        value["seq"] = Value::from(event.seq);
        value["prev_hash"] = Value::String(event.prev_hash.clone());
        // `chain_hash` without its copy of the event: the writer is the one serial step.
        if let Value::Object(map) = &mut value {
            map.remove("hash");
        }
        let hash = link_hash(&event.prev_hash, &value);
        value["hash"] = Value::String(hash.clone());
        let mut line = serde_json::to_string(&value).map_err(|e| AuditError::Io {
            path: segment.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        if let Err(source) = self.io.write(&segment.file, line.as_bytes()) {
            let path = segment.path.clone();
            tracing::warn!(
                segment = %path.display(),
                event_id = %event.event_id,
                "audit write failed ({source}); the segment is closed and the next event opens a new one"
            );
            self.close();
            return Err(AuditError::Io { path, source });
        }
        segment.seq = event.seq;
        segment.prev_hash = hash.clone();
        segment.len += line.len() as u64;
        event.hash = hash;
        Ok(event)
    }

    /// One `fdatasync` for every durable event written since the last: answers them all.
    fn sync(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let Some(segment) = &self.segment else {
            // A closed segment answers its pending events itself; this is only a guard.
            let dir = self.dir.clone();
            answer(
                &mut self.pending,
                &dir,
                Err(std::io::Error::other("segment closed")),
            );
            return;
        };
        let synced = self.io.sync(&segment.file);
        let failed = synced.is_err();
        let path = segment.path.clone();
        if let Err(e) = &synced {
            tracing::warn!(
                segment = %path.display(),
                "audit sync failed ({e}); the segment is closed and the next event opens a new one"
            );
        }
        answer(&mut self.pending, &path, synced);
        if failed {
            // After a failed sync the kernel may have dropped the unsynced pages: nothing
            // more is chained onto lines that may not survive.
            self.close();
        }
    }

    /// Closes the open segment after a failure: its waiting durable events get one last sync,
    /// a partly written line is cut off, and an empty segment is removed.
    fn close(&mut self) {
        let Some(segment) = self.segment.take() else {
            return;
        };
        self.open.store(false, Ordering::Release);
        if !self.pending.is_empty() {
            let synced = self.io.sync(&segment.file);
            answer(&mut self.pending, &segment.path, synced);
        }
        let torn_left = match cut_partial_line(&segment) {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!(
                    segment = %segment.path.display(),
                    "cannot cut the partial audit line yet ({e}); it is repaired before the next segment opens"
                );
                self.to_repair.push(segment.path.clone());
                true
            }
        };
        if segment.len == 0 && !torn_left {
            // No event in it: a full disk would otherwise leave one empty file per attempt.
            drop(segment.file);
            let _ = std::fs::remove_file(&segment.path);
            sync_dir(&self.dir);
        }
    }

    /// The segment the next event goes to: the named one when asked and usable, else a new
    /// one. Segments closed torn are repaired first.
    fn next_segment(&mut self) -> Result<Segment, AuditError> {
        self.to_repair.retain(|path| match repair_segment(path) {
            Ok(_) => false,
            Err(e) => {
                tracing::warn!("{e}; retried before the next segment");
                true
            }
        });
        if let Some(name) = self.name.take() {
            let path = self.dir.join(format!("{name}.jsonl"));
            match continue_segment(&path) {
                Ok(segment) => return Ok(segment),
                Err(e) => tracing::warn!("{e}; writing to a new segment instead"),
            }
        }
        self.create_segment()
    }

    fn create_segment(&self) -> Result<Segment, AuditError> {
        let stem = format!(
            "{}-{}-{}",
            self.server,
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        );
        // A segment closed after a failure may be replaced within the same millisecond.
        let mut attempt = 1;
        let (file, path) = loop {
            let path = match attempt {
                1 => self.dir.join(format!("{stem}.jsonl")),
                n => self.dir.join(format!("{stem}-{n}.jsonl")),
            };
            match OpenOptions::new()
                .create_new(true)
                .read(true)
                .append(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => break (file, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {
                    attempt += 1;
                }
                Err(e) => return Err(io_error(&path)(e)),
            }
        };
        file.try_lock().map_err(|e| AuditError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        // The directory entry must be durable too, or a crash could lose the whole segment.
        sync_dir(&self.dir);
        Ok(Segment {
            file,
            path,
            seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
            len: 0,
        })
    }
}

/// `chain_hash` of an event that holds no `hash` field.
fn link_hash(prev_hash: &str, event: &Value) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical_json(event).as_bytes());
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Answers every pending durable event with the result of the sync that covered it.
fn answer(pending: &mut Vec<(Reply, AuditEvent)>, path: &Path, synced: std::io::Result<()>) {
    for (reply, event) in pending.drain(..) {
        reply.send(match &synced {
            Ok(()) => Ok(event),
            Err(e) => Err(AuditError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(e.kind(), e.to_string()),
            }),
        });
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Cuts what a failed write left after the segment's last whole line, keeping the bytes in
/// `<segment>.jsonl.torn`. The cut comes first: on a full disk it is what frees the space the
/// copy needs, and the bytes are only the start of an event that was refused.
fn cut_partial_line(segment: &Segment) -> std::io::Result<()> {
    let len = segment.file.metadata()?.len();
    if len <= segment.len {
        return Ok(());
    }
    let mut torn = vec![0; (len - segment.len) as usize];
    segment.file.read_exact_at(&mut torn, segment.len)?;
    segment.file.set_len(segment.len)?;
    segment.file.sync_all()?;
    let torn_path = segment.path.with_extension("jsonl.torn");
    match save_torn(&torn_path, &torn) {
        Ok(()) => tracing::warn!(
            segment = %segment.path.display(),
            torn_bytes = torn.len(),
            "cut the partial audit line a failed write left; the bytes are kept in {}",
            torn_path.display()
        ),
        Err(e) => {
            // No empty `.torn` file claiming to hold them.
            if std::fs::metadata(&torn_path).is_ok_and(|m| m.len() == 0) {
                let _ = std::fs::remove_file(&torn_path);
            }
            tracing::warn!(
                segment = %segment.path.display(),
                torn_bytes = torn.len(),
                "cut the partial audit line a failed write left; its bytes could not be kept ({e})"
            )
        }
    }
    Ok(())
}

fn save_torn(torn_path: &Path, torn: &[u8]) -> std::io::Result<()> {
    let mut saved = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(torn_path)?;
    saved.write_all(torn)?;
    saved.write_all(b"\n")?;
    saved.sync_all()
}

/// Opens `path` (created if missing) under its lock and finds where its chain ends.
fn continue_segment(path: &Path) -> Result<Segment, AuditError> {
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    let deadline = Instant::now() + NAMED_LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => {
                return Err(AuditError::Io {
                    path: path.to_owned(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        format!("still locked by another writer after {NAMED_LOCK_WAIT:?} ({e})"),
                    ),
                });
            }
        }
    }
    // Retention (audit-ship) deletes a shipped segment under its lock: one deleted while this
    // process waited would take events nobody reads. A fresh segment is opened instead.
    let inode = |m: std::fs::Metadata| (m.dev(), m.ino());
    if std::fs::metadata(path).ok().map(inode) != file.metadata().ok().map(inode) {
        return Err(AuditError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the segment was deleted while waiting for its lock",
            ),
        });
    }
    if created && let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    // Under the lock nobody is writing: a torn tail is a crash's leftover.
    repair_locked(&mut file, path)?;
    let len = file.metadata().map_err(io_error(path))?.len();
    let (seq, prev_hash) = last_link(&file, len).map_err(io_error(path))?;
    Ok(Segment {
        file,
        path: path.to_owned(),
        seq,
        prev_hash,
        len,
    })
}

/// The `seq` and `hash` of the last line of a segment that ends with a whole line.
fn last_link(file: &File, len: u64) -> std::io::Result<(u64, String)> {
    if len == 0 {
        return Ok((0, GENESIS_HASH.to_owned()));
    }
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        let mut tail = vec![0; (len - start) as usize];
        file.read_exact_at(&mut tail, start)?;
        let body = &tail[..tail.len() - 1];
        match body.iter().rposition(|b| *b == b'\n') {
            Some(i) => return parse_link(&body[i + 1..]),
            None if start == 0 => return parse_link(body),
            None => window *= 4,
        }
    }
}

fn parse_link(line: &[u8]) -> std::io::Result<(u64, String)> {
    let unreadable = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "its last line is not an audit event; the chain cannot be continued",
        )
    };
    let value: Value = serde_json::from_slice(line).map_err(|_| unreadable())?;
    match (
        value.get("seq").and_then(Value::as_u64),
        value.get("hash").and_then(Value::as_str),
    ) {
        (Some(seq), Some(hash)) => Ok((seq, hash.to_owned())),
        _ => Err(unreadable()),
    }
}

/// The journal's segments, oldest name first.
pub fn segments(dir: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_error(dir)(e)),
    };
    found.sort();
    Ok(found)
}

/// Cuts the torn last line off every segment no live writer holds, saving the cut bytes to
/// `<segment>.torn`.
pub fn repair_dir(dir: &Path) -> Result<Vec<RepairReport>, AuditError> {
    let mut reports = Vec::new();
    for path in segments(dir)? {
        if let Some(report) = repair_segment(&path)? {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// Repairs one segment unless a live writer holds it.
fn repair_segment(path: &Path) -> Result<Option<RepairReport>, AuditError> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    // A live writer holds the lock; its tail is not torn, only in flight.
    if file.try_lock().is_err() {
        return Ok(None);
    }
    repair_locked(&mut file, path)
}

/// Cuts a torn last line off a segment whose lock the caller holds.
fn repair_locked(file: &mut File, path: &Path) -> Result<Option<RepairReport>, AuditError> {
    // Only the last byte says whether the tail is torn: servers start often and the
    // journal grows, so intact segments are not read.
    let len = file.metadata().map_err(io_error(path))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)
        .map_err(io_error(path))?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).map_err(io_error(path))?;
    file.read_to_end(&mut bytes).map_err(io_error(path))?;
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let torn = &bytes[keep..];
    let torn_path = path.with_extension("jsonl.torn");
    save_torn(&torn_path, torn).map_err(io_error(&torn_path))?;
    file.set_len(keep as u64).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    tracing::warn!(
        segment = %path.display(),
        torn_bytes = torn.len(),
        "repaired a torn audit line left by a crash; the bytes are kept in {}",
        torn_path.display()
    );
    Ok(Some(RepairReport {
        segment: path.to_owned(),
        torn_bytes: torn.len(),
    }))
}

#[cfg(test)]
mod tests;
