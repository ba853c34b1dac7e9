//! Content safety for text that comes from an upstream.
//!
//! Titles, bodies, comments, file contents and error messages are written by people other than
//! the user and reach the model verbatim: invisible characters, bidirectional controls and
//! Unicode tag characters can hide instructions a human reviewer never sees ([`hidden`]).
//! Credentials turn up in log lines and in upstream error bodies ([`secrets`]). This module
//! does not judge meaning; it removes what cannot be seen and what must not be shown.

pub mod hidden;
pub mod secrets;

pub use hidden::{is_hidden, strip_hidden, strip_hidden_json};
pub use secrets::scrub_secrets;

use serde_json::Value;

/// What cleaning removed from text on its way out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Hidden characters stripped.
    pub hidden: usize,
    /// Secrets replaced: values this process holds, and (where asked) secret shapes.
    pub secrets: usize,
}

impl std::ops::AddAssign for Cleaned {
    fn add_assign(&mut self, other: Self) {
        self.hidden += other.hidden;
        self.secrets += other.secrets;
    }
}

/// How much of the secret scrubbing to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scrub {
    /// Only the exact secrets this process holds: for upstream content the user asked for,
    /// where a `password=` in a README is content, not a leak.
    Held,
    /// Held secrets, then every secret shape ([`scrub_secrets`]): for error messages, logs and
    /// the journal, where no credential ever belongs.
    All,
}

/// Cleans one string that is about to leave the process: held secrets first (an echoed
/// `Authorization` header), then secret shapes when `scrub` says so, then hidden characters.
pub fn clean_text(text: &mut String, scrub: Scrub) -> Cleaned {
    let secrets = clean_secrets_only(text, scrub).secrets;
    Cleaned {
        hidden: strip_hidden(text),
        secrets,
    }
}

/// [`clean_text`] on every string of a JSON value, object keys included.
pub fn clean_json(value: &mut Value, scrub: Scrub) -> Cleaned {
    let mut cleaned = Cleaned::default();
    walk_strings(value, &mut |s| cleaned += clean_secrets_only(s, scrub));
    cleaned.hidden = strip_hidden_json(value);
    cleaned
}

fn clean_secrets_only(text: &mut String, scrub: Scrub) -> Cleaned {
    let mut secrets = auth::held::redact_held(text);
    if scrub == Scrub::All {
        secrets += scrub_secrets(text);
    }
    Cleaned { hidden: 0, secrets }
}

/// What a credential this process holds is reported as, beside the rule ids of
/// [`secrets::SecretSpan::kind`].
pub const HELD_KIND: &str = "held-credential";

/// A secret found in a JSON value: where and what kind, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFound {
    /// Where: `body`, `fields.description`, `labels[2]`; for a key, the object holding it (empty
    /// at the top level). A key that is itself a secret is written `[REDACTED]` in the paths
    /// below it.
    pub path: String,
    /// Whether the secret is an object key rather than a string value.
    pub in_key: bool,
    /// [`HELD_KIND`] or the id of the rule that found it.
    pub kind: &'static str,
}

/// Every secret in the strings of `value`, object keys included, as the journal's cleaning
/// ([`Scrub::All`]) would find them: the secrets this process holds, then every secret shape
/// (built-in rules and `safety.secret_rules`). Each kind once per string, in the order the
/// value's arrays and maps keep.
pub fn secrets_in_json(value: &Value) -> Vec<SecretFound> {
    let mut found = Vec::new();
    find_in_json(value, &mut String::new(), &mut found);
    found
}

fn find_in_json(value: &Value, path: &mut String, found: &mut Vec<SecretFound>) {
    let at = path.len();
    match value {
        Value::String(s) => found.extend(secret_kinds(s).into_iter().map(|kind| SecretFound {
            path: path.clone(),
            in_key: false,
            kind,
        })),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                find_in_json(item, path, found);
                path.truncate(at);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let kinds = secret_kinds(key);
                let key_is_secret = !kinds.is_empty();
                found.extend(kinds.into_iter().map(|kind| SecretFound {
                    path: path.clone(),
                    in_key: true,
                    kind,
                }));
                if !path.is_empty() {
                    path.push('.');
                }
                // The path is shown to the caller and journaled: it never spells a secret.
                path.push_str(if key_is_secret { "[REDACTED]" } else { key });
                find_in_json(item, path, found);
                path.truncate(at);
            }
        }
        _ => {}
    }
}

/// The kinds of secret in `text`, each once.
fn secret_kinds(text: &str) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    // `auth::held` answers only by redacting: a copy is redacted and dropped.
    if auth::held::redact_held(&mut text.to_owned()) > 0 {
        kinds.push(HELD_KIND);
    }
    for span in secrets::secret_spans(text) {
        if !kinds.contains(&span.kind) {
            kinds.push(span.kind);
        }
    }
    kinds
}

/// Calls `f` on every string value (not key) of `value`.
fn walk_strings(value: &mut Value, f: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| walk_strings(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| walk_strings(v, f)),
        _ => {}
    }
}

/// A log writer that cleans what it is given like every string leaving the process
/// ([`Scrub::All`]). The fmt layer writes each event in one call, so a secret is never split
/// across two writes.
pub struct ScrubbingWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for ScrubbingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut text = String::from_utf8_lossy(buf).into_owned();
        clean_secrets_only(&mut text, Scrub::All);
        self.0.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
