//! Credentials in free text (log lines, upstream error bodies, journaled arguments), found by
//! their shape and replaced. Not a judge of what text means.
//!
//! Two kinds of rule. Shapes (vendor tokens, AWS key ids, `password=` assignments in their
//! `=`, `:`, JSON and YAML forms, passwords in URLs, Bearer and Basic credentials, presigned
//! URL signatures, long base64 key material) are data: `secrets/rules.toml`, in gitleaks'
//! rule-file format and run with gitleaks' semantics ([`ruleset`]), so a maintained rule set in
//! that format can be added beside it unmodified. Private key blocks (PEM, OpenSSH, PGP) are
//! found by a walk over their BEGIN and END lines here, because a block can be cut: BEGIN
//! without END is redacted to the end of the text, END without BEGIN back over the key body
//! before it.
//!
//! Cost: nothing is parsed or compiled until the first text is scrubbed, and then only the
//! rules whose keywords occur in it (one Aho-Corasick pass over the text picks them); start-up
//! and `tools/list` never pay for it.

mod ruleset;

use std::{
    collections::HashMap,
    ops::Range,
    path::PathBuf,
    sync::{LazyLock, OnceLock},
};

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

use ruleset::RuleSet;

/// The built-in rule file (ours, in gitleaks' format). Others, gitleaks' own among them, are
/// added by [`add_rule_files`] (`safety.secret_rules`).
const RULES: &str = include_str!("secrets/rules.toml");

/// What replaces a private key block, or the part of one a text holds.
pub const PRIVATE_KEY_LABEL: &str = "[REDACTED PRIVATE KEY]";

/// What a private key block found by the BEGIN/END walk is, as a rule id would name it.
pub const PRIVATE_KEY_KIND: &str = "private-key";

/// One secret found in a text: its byte range (on character boundaries), what replaces it, and
/// what kind of secret it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpan {
    /// Byte range in the scanned text.
    pub range: Range<usize>,
    /// The replacement, e.g. `[REDACTED]`, `[REDACTED AWS KEY]`, `[REDACTED github-token]`.
    pub label: &'static str,
    /// The id of the rule that found it (`github-token`, `secret-assignment`), or
    /// [`PRIVATE_KEY_KIND`]: what a refusal names, since it tells the kind and not the value.
    pub kind: &'static str,
}

/// A rule the keyword pass can enable: rule `.1` of rule set `.0`, or the private key walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleRef {
    Set(usize, usize),
    PrivateKeys,
}

struct Engine {
    /// The built-in rules first, then each added rule file: a file's global allowlist
    /// applies to its own rules only, as in gitleaks.
    sets: Vec<RuleSet>,
    /// Every keyword of every rule, ASCII case-insensitive.
    keywords: AhoCorasick,
    /// For each keyword, the rules it enables.
    by_keyword: Vec<Vec<RuleRef>>,
    /// Rules without keywords: they run on every text.
    always: Vec<RuleRef>,
}

impl Engine {
    fn new(sets: Vec<RuleSet>) -> Self {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut by_keyword: Vec<Vec<RuleRef>> = Vec::new();
        let mut always = Vec::new();
        let mut add = |keyword: &str, rule: RuleRef| {
            let next = index.len();
            let at = *index.entry(keyword.to_owned()).or_insert(next);
            if at == by_keyword.len() {
                by_keyword.push(Vec::new());
            }
            by_keyword[at].push(rule);
        };
        for (s, set) in sets.iter().enumerate() {
            for (i, rule) in set.rules.iter().enumerate() {
                if rule.keywords.is_empty() {
                    always.push(RuleRef::Set(s, i));
                }
                for keyword in &rule.keywords {
                    add(keyword, RuleRef::Set(s, i));
                }
            }
        }
        add("private key", RuleRef::PrivateKeys);
        let mut patterns: Vec<(&String, &usize)> = index.iter().collect();
        patterns.sort_by_key(|(_, i)| **i);
        #[expect(
            clippy::expect_used,
            reason = "built from constants this crate embeds and its tests load: it cannot fail at run time"
        )]
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(patterns.iter().map(|(k, _)| k.as_bytes()))
            .expect("keywords are literals");
        Self {
            sets,
            keywords,
            by_keyword,
            always,
        }
    }
}

fn builtin_rules() -> RuleSet {
    #[expect(
        clippy::expect_used,
        reason = "a constant this crate embeds and its tests load: it cannot fail at run time"
    )]
    RuleSet::parse(RULES).expect("the embedded rule file parses (tested)")
}

/// The built-in rules, until [`add_rule_files`] adds others.
static BUILTIN: LazyLock<Engine> = LazyLock::new(|| Engine::new(vec![builtin_rules()]));

/// The built-in rules and the added files, and those files' paths: set once per process.
static WITH_FILES: OnceLock<(Vec<PathBuf>, &'static Engine)> = OnceLock::new();

fn engine() -> &'static Engine {
    match WITH_FILES.get() {
        Some((_, engine)) => engine,
        None => &BUILTIN,
    }
}

/// A rule file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleFileError {
    /// The file could not be read.
    #[error("secret rule file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a rule file in gitleaks' format, or a rule does not compile.
    #[error("secret rule file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the rule.
        message: String,
    },
    /// Other files were added already in this process.
    #[error(
        "secret rule files {} were added already in this process; {} cannot replace them",
        .added.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        .asked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Conflict {
        /// The files in force.
        added: Vec<PathBuf>,
        /// The files asked for.
        asked: Vec<PathBuf>,
    },
}

/// Adds rule files in gitleaks' format (gitleaks' own `config/gitleaks.toml`, an
/// organisation's) beside the built-in rules, for every text scrubbed from now on in this
/// process; returns how many rules they add. Patterns compile on first use, as the built-in
/// ones do (start-up stays cheap); [`check_rule_file`] compiles every one, for `config check`.
/// The same files again change nothing; other files after the first are refused (the set is
/// process-wide).
pub fn add_rule_files(paths: &[PathBuf]) -> Result<usize, RuleFileError> {
    if let Some((added, engine)) = WITH_FILES.get() {
        if added == paths {
            return Ok(engine.sets.iter().skip(1).map(|s| s.rules.len()).sum());
        }
        return Err(RuleFileError::Conflict {
            added: added.clone(),
            asked: paths.to_vec(),
        });
    }
    if paths.is_empty() {
        return Ok(0);
    }
    let mut sets = vec![builtin_rules()];
    for path in paths {
        sets.push(read_rule_file(path)?);
    }
    let added = sets.iter().skip(1).map(|s| s.rules.len()).sum();
    let engine: &'static Engine = Box::leak(Box::new(Engine::new(sets)));
    // A racing caller with the same files is as good; with others, it is refused above next
    // time, and this call's files are dropped: report it.
    WITH_FILES
        .set((paths.to_vec(), engine))
        .map_err(|_| RuleFileError::Conflict {
            added: WITH_FILES.get().map(|(p, _)| p.clone()).unwrap_or_default(),
            asked: paths.to_vec(),
        })?;
    Ok(added)
}

/// BEGIN and END lines of private key blocks: PEM (`RSA`, `EC`, `ENCRYPTED`, ...), OpenSSH,
/// PGP (`PGP PRIVATE KEY BLOCK`) and SSH2 (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`).
#[expect(
    clippy::expect_used,
    reason = "built from constants this crate embeds and its tests load: it cannot fail at run time"
)]
static KEY_MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    ruleset::compile(r"(?i)-{4,5} ?(BEGIN|END)[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)? ?-{4,5}")
        .expect("marker pattern compiles")
});

/// Reads a rule file and compiles every rule in it, as `claude-enterprise config check`
/// does: returns how many rules it runs and the ids of those it skips (scoped to file paths).
pub fn check_rule_file(path: &std::path::Path) -> Result<(usize, Vec<String>), RuleFileError> {
    let set = read_rule_file(path)?;
    set.compile_all()
        .map_err(|message| RuleFileError::Invalid {
            path: path.to_owned(),
            message,
        })?;
    Ok((set.rules.len(), set.skipped))
}

/// Reads and parses one rule file, errors naming it.
fn read_rule_file(path: &std::path::Path) -> Result<RuleSet, RuleFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| RuleFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    RuleSet::parse(&text).map_err(|message| RuleFileError::Invalid {
        path: path.to_owned(),
        message,
    })
}

/// Every secret in `text`, merged where they overlap, in order.
///
/// Hidden characters (zero-width, bidi controls, tags) are looked through: `AKIA\u{200B}…` is
/// scanned as `AKIA…`, since they are stripped from everything leaving the process and the
/// key would come out whole. A span covers the hidden characters inside it.
pub fn secret_spans(text: &str) -> Vec<SecretSpan> {
    if text.is_ascii() || !text.chars().any(super::is_hidden) {
        return spans_of_visible(text);
    }
    // The visible text, and for each of its bytes (and its end) the offset in `text`.
    let mut visible = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len() + 1);
    for (at, c) in text.char_indices() {
        if !super::is_hidden(c) {
            visible.push(c);
            offsets.extend(at..at + c.len_utf8());
        }
    }
    offsets.push(text.len());
    spans_of_visible(&visible)
        .into_iter()
        .map(|span| SecretSpan {
            range: offsets[span.range.start]..offsets[span.range.end],
            label: span.label,
            kind: span.kind,
        })
        .collect()
}

fn spans_of_visible(text: &str) -> Vec<SecretSpan> {
    let engine = engine();
    let bytes = text.as_bytes();
    let mut enabled: Vec<Vec<bool>> = engine
        .sets
        .iter()
        .map(|set| vec![false; set.rules.len()])
        .collect();
    let mut private_keys = false;
    let found = engine.keywords.find_overlapping_iter(bytes);
    let keyword_rules = found.flat_map(|f| &engine.by_keyword[f.pattern().as_usize()]);
    for rule in keyword_rules.chain(&engine.always) {
        match rule {
            RuleRef::Set(s, i) => enabled[*s][*i] = true,
            RuleRef::PrivateKeys => private_keys = true,
        }
    }
    let mut spans: Vec<SecretSpan> = Vec::new();
    let mut ranges = Vec::new();
    for (set, enabled) in engine.sets.iter().zip(&enabled) {
        for (rule, _) in set.rules.iter().zip(enabled).filter(|(_, on)| **on) {
            ranges.clear();
            set.find(rule, bytes, &mut ranges);
            spans.extend(ranges.drain(..).map(|range| SecretSpan {
                range,
                label: rule.label.as_str(),
                kind: rule.id.as_str(),
            }));
        }
    }
    if private_keys {
        spans.extend(
            private_key_spans(bytes)
                .into_iter()
                .map(|range| SecretSpan {
                    range,
                    label: PRIVATE_KEY_LABEL,
                    kind: PRIVATE_KEY_KIND,
                }),
        );
    }
    merge(text, spans)
}

/// Replaces `spans` (from [`secret_spans`] on this same text) and returns how many it replaced.
pub fn redact_spans(text: &mut String, spans: &[SecretSpan]) -> usize {
    if spans.is_empty() {
        return 0;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.range.start]);
        out.push_str(span.label);
        at = span.range.end;
    }
    out.push_str(&text[at..]);
    *text = out;
    spans.len()
}

/// Replaces credentials in `text` (see the module documentation for which), returning how many
/// it replaced.
pub fn scrub_secrets(text: &mut String) -> usize {
    let spans = secret_spans(text);
    redact_spans(text, &spans)
}

/// Sorts, widens to character boundaries and merges overlapping spans; a merged span keeps
/// the label and kind of its longest part (a key block over the token inside it).
fn merge(text: &str, mut spans: Vec<SecretSpan>) -> Vec<SecretSpan> {
    for span in &mut spans {
        // Byte patterns can start or end inside a multi-byte character: widen, never cut one.
        while !text.is_char_boundary(span.range.start) {
            span.range.start -= 1;
        }
        while !text.is_char_boundary(span.range.end) {
            span.range.end += 1;
        }
    }
    spans.sort_by_key(|s| (s.range.start, std::cmp::Reverse(s.range.end)));
    let mut merged: Vec<(SecretSpan, usize)> = Vec::new();
    for span in spans {
        let len = span.range.len();
        match merged.last_mut() {
            Some((last, longest)) if span.range.start < last.range.end => {
                last.range.end = last.range.end.max(span.range.end);
                // Longest wins; on a tie, a named label over the plain one.
                if len > *longest || (len == *longest && last.label == "[REDACTED]") {
                    *longest = len;
                    last.label = span.label;
                    last.kind = span.kind;
                }
            }
            _ => merged.push((span, len)),
        }
    }
    merged.into_iter().map(|(span, _)| span).collect()
}

/// Private key blocks, whole or cut: BEGIN..END; BEGIN without END to the end of the text;
/// END without BEGIN back over the key body that precedes it.
fn private_key_spans(text: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    let mut floor = 0;
    for caps in KEY_MARKERS.captures_iter(text) {
        let Some(marker) = caps.get(0) else { continue };
        let begin = caps[1].eq_ignore_ascii_case(b"BEGIN");
        match (begin, open) {
            (true, None) => open = Some(marker.start()),
            // A second BEGIN inside a block is part of it.
            (true, Some(_)) => {}
            (false, Some(start)) => {
                spans.push(start..marker.end());
                open = None;
                floor = marker.end();
            }
            (false, None) => {
                spans.push(body_start(text, floor, marker.start())..marker.end());
                floor = marker.end();
            }
        }
    }
    if let Some(start) = open {
        spans.push(start..text.len());
    }
    spans
}

/// Where the key body that ends at `end` starts, looking no further back than `floor`: the
/// tokens (separated by whitespace or escaped line breaks) made of base64 characters, long
/// like body lines; the one right before END may be a short last line, but not a word.
fn body_start(text: &[u8], floor: usize, end: usize) -> usize {
    let mut start = end;
    let mut first = true;
    for token in tokens(&text[floor..end]).into_iter().rev() {
        let bytes = &text[floor + token.start..floor + token.end];
        let base64 = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        let word = bytes[0].is_ascii_alphabetic() && bytes[1..].iter().all(u8::is_ascii_lowercase);
        if !base64 || (word && (bytes.len() < 20 || first)) || (!first && bytes.len() < 16) {
            break;
        }
        start = floor + token.start;
        first = false;
    }
    start
}

/// Tokens of `text` split at ASCII whitespace and at the escapes `\n`, `\r`, `\t`.
fn tokens(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut i = 0;
    while i < text.len() {
        let separator = if text[i].is_ascii_whitespace() {
            1
        } else if text[i] == b'\\' && matches!(text.get(i + 1), Some(b'n' | b'r' | b't')) {
            2
        } else {
            0
        };
        if separator > 0 {
            if let Some(s) = start.take() {
                out.push(s..i);
            }
            i += separator;
        } else {
            start.get_or_insert(i);
            i += 1;
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_BODY: &str = "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7Bx1k2Q8xqfJzVn5e3kP8Wq7r\n\
                            Hc4Lk2Vb9Yd1Fs6Gt0Jp3Nm8Qw4Er7Ty1Ui5Op2As9Df6Gh3Jk0Lz8Xc5Vb2Nm\n\
                            Ab3d==";

    /// One helper for every table: scrub, compare, count, and scrub again (idempotent).
    fn check(cases: &[(&str, &str, usize)]) {
        for (input, expected, count) in cases {
            let mut s = input.to_string();
            let n = scrub_secrets(&mut s);
            assert_eq!(s, *expected, "input: {input:?}");
            assert_eq!(n, *count, "count for {input:?}");
            let mut again = s.clone();
            assert_eq!(scrub_secrets(&mut again), 0, "scrubbing {s:?} again");
        }
    }

    #[test]
    fn the_rule_file_parses_and_every_rule_compiles() {
        let set = RuleSet::parse(RULES).unwrap();
        assert!(set.skipped.is_empty(), "{:?}", set.skipped);
        assert!(set.rules.len() >= 40, "{}", set.rules.len());
        let broken: Vec<&str> = set
            .rules
            .iter()
            .filter(|r| r.regex().is_none())
            .map(|r| r.id.as_str())
            .collect();
        assert!(broken.is_empty(), "rules that do not compile: {broken:?}");
        let mut ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), set.rules.len(), "rule ids are unique");
    }

    #[test]
    fn aws_keys_also_after_an_underscore_and_in_presigned_urls() {
        check(&[
            (
                "using key AKIAIOSFODNN7EXAMPLE for s3",
                "using key [REDACTED AWS KEY] for s3",
                1,
            ),
            ("id_AKIAIOSFODNN7EXAMPLE", "id_[REDACTED AWS KEY]", 1),
            ("keyASIAIOSFODNN7EXAMPLE", "key[REDACTED AWS KEY]", 1),
            (
                "AKIAIOSFODNN7EXAMPLE,AKIAI44QH8DHBEXAMPLE",
                "[REDACTED AWS KEY],[REDACTED AWS KEY]",
                2,
            ),
            (
                "AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "[REDACTED AWS KEY],[REDACTED]",
                2,
            ),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done",
                "aws_secret_access_key=[REDACTED] done",
                1,
            ),
            (
                "GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7 200",
                "GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=[REDACTED]&X-Amz-Signature=[REDACTED] 200",
                3,
            ),
            (
                "https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1700000000&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
                "https://b.s3.amazonaws.com/k?AWSAccessKeyId=[REDACTED AWS KEY]&Expires=1700000000&Signature=[REDACTED]",
                2,
            ),
            (
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
                "Authorization: AWS4-HMAC-SHA256 Credential=[REDACTED], SignedHeaders=host;x-amz-date, Signature=[REDACTED]",
                2,
            ),
        ]);
    }

    #[test]
    fn assignments_in_every_syntax() {
        check(&[
            (
                r#"{"password": "hunter2", "user": "bob"}"#,
                r#"{"password": "[REDACTED]", "user": "bob"}"#,
                1,
            ),
            (
                r#"{"Credentials": {"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SessionToken": "IQoJb3JpZ2luX2VjEJr"}}"#,
                r#"{"Credentials": {"AccessKeyId": "[REDACTED AWS KEY]", "SecretAccessKey": "[REDACTED]", "SessionToken": "[REDACTED]"}}"#,
                3,
            ),
            (
                r#"{"access_token":"ya29-not-google-shaped","token_type":"Bearer"}"#,
                r#"{"access_token":"[REDACTED]","token_type":"Bearer"}"#,
                1,
            ),
            ("{'password': 'p@ss word'}", "{'password': '[REDACTED]'}", 1),
            (
                "password: hunter2\nuser: bob",
                "password: [REDACTED]\nuser: bob",
                1,
            ),
            (
                "password: \"s3cr3t\" retry",
                "password: \"[REDACTED]\" retry",
                1,
            ),
            (
                r#"msg="{\"password\":\"hunter2\"}""#,
                r#"msg="{\"password\":\"[REDACTED]\"}""#,
                1,
            ),
            (
                "DB_PASSWORD=hunter2 MYSQL_ROOT_PASSWORD='x y'",
                "DB_PASSWORD=[REDACTED] MYSQL_ROOT_PASSWORD='[REDACTED]'",
                2,
            ),
            ("api_key=abc&user=1", "api_key=[REDACTED]&user=1", 1),
            ("$db->pass => 'hunter2';", "$db->pass => '[REDACTED]';", 1),
            (
                "Server=db;User Id=sa;Password=hunter2;Pwd=x1",
                "Server=db;User Id=sa;Password=[REDACTED];Pwd=[REDACTED]",
                2,
            ),
            (
                "clientSecret = \"abc\\\"def\"",
                "clientSecret = \"[REDACTED]\"",
                1,
            ),
            (
                "<Password>hunter2</Password>",
                "<Password>[REDACTED]</Password>",
                1,
            ),
            (
                "password: hunter2 was rejected",
                "password: [REDACTED] was rejected",
                1,
            ),
            (
                "PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 2\nAAAAgQCzR0k6lWm5aXcVbM9pQ2sT7uY1iE4o\nR8wZ3xN6vB0cF5jH2kL9mD\nPrivate-MAC: 3f2a",
                "PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 2\n[REDACTED]\nPrivate-MAC: 3f2a",
                1,
            ),
            (
                "mysql --password hunter2 -h db",
                "mysql --password [REDACTED] -h db",
                1,
            ),
            (
                "Cookie: session=abc123; theme=dark",
                "Cookie: [REDACTED]",
                1,
            ),
            (
                "https://acct.blob.core.windows.net/c?sv=2022&sig=abcDEF123%2B%3D&se=2026",
                "https://acct.blob.core.windows.net/c?sv=2022&sig=[REDACTED]&se=2026",
                1,
            ),
        ]);
    }

    #[test]
    fn credentials_in_urls_and_headers() {
        check(&[
            (
                "connect postgres://app:hunter2@db:5432/x",
                "connect postgres://app:[REDACTED]@db:5432/x",
                1,
            ),
            (
                "connect postgres://u:p/a@ss@host/db now",
                "connect postgres://u:[REDACTED]@host/db now",
                1,
            ),
            (
                "redis://:s3cret@cache:6379/0",
                "redis://:[REDACTED]@cache:6379/0",
                1,
            ),
            (
                "https://me@corp.com:pw@host/x",
                "https://me@corp.com:[REDACTED]@host/x",
                1,
            ),
            (
                "app:hunter2@tcp(db:3306)/orders",
                "app:[REDACTED]@tcp(db:3306)/orders",
                1,
            ),
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                "Authorization: Bearer [REDACTED]",
                1,
            ),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                "Authorization: Basic [REDACTED]",
                1,
            ),
            (
                "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked",
                "token [REDACTED github-token] leaked",
                1,
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZw here",
                "jwt [REDACTED jwt] here",
                1,
            ),
        ]);
    }

    #[test]
    fn private_keys_whole_cut_or_pgp() {
        let whole = format!(
            "before -----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY----- after"
        );
        let begin_only = format!("x -----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}");
        let end_only = format!("ERROR dump:\n{KEY_BODY}\n-----END PRIVATE KEY-----\nnext");
        let pgp = format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{KEY_BODY}\n=Xb3f\n-----END PGP PRIVATE KEY BLOCK-----"
        );
        let escaped = format!(
            r#"{{"key": "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n"}}"#,
            KEY_BODY.replace('\n', "\\n")
        );
        check(&[
            (&whole, "before [REDACTED PRIVATE KEY] after", 1),
            (&begin_only, "x [REDACTED PRIVATE KEY]", 1),
            (&end_only, "ERROR dump:\n[REDACTED PRIVATE KEY]\nnext", 1),
            (&pgp, "[REDACTED PRIVATE KEY]", 1),
            (&escaped, r#"{"key": "[REDACTED PRIVATE KEY]\n"}"#, 1),
            (
                "bad PEM: expected -----END RSA PRIVATE KEY-----",
                "bad PEM: expected [REDACTED PRIVATE KEY]",
                1,
            ),
        ]);
    }

    #[test]
    fn key_body_lines_without_their_markers() {
        let line = "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7Bx1k2Q8xqfJzVn5e3kP8Wq7r";
        check(&[(line, "[REDACTED]", 1)]);
    }

    /// Text that looks close to a secret and must stay as it is.
    #[test]
    fn near_misses_stay() {
        let cases: &[&str] = &[
            "GET /health 200 in 3ms",
            "basic authentication required",
            "Basic authentication with passwords is deprecated",
            "Bearer token required",
            "use a Bearer token-based flow",
            "token: expired",
            "password: required",
            "credentials: not found in the environment",
            "Bad credentials",
            "The security token included in the request is expired",
            "AWS rejected the credentials (ExpiredTokenException: The security token included in the request is expired): run `aws sso login`",
            "password=${DB_PASSWORD} token=$TOKEN secret={{ .Values.secret }}",
            "password: null, secret: true, token: ********",
            "max_tokens: 4096",
            "token_type: Bearer",
            "password_hash_algorithm=argon2",
            "ASIAPACIFICSOUTHEAST1 is not a key",
            "AKIA is a prefix",
            "commit 4f9a2c1e9b7d3a5c8e6f0b2d4a6c8e0f2b4d6a8c merged",
            "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "https://registry.npmjs.org:443/@types/node",
            "ssh://git@github.com:22/org/repo.git",
            "mailto:someone@example.com",
            "/Users/JohnSmith/Documents/Projects2024/MyApplication/src/main/resources/config",
            "com/amazonaws/services/s3/AmazonS3Client/putObjectRequest2/Builder/Something",
            "request 4f3c2a1b-9d8e-4f7a-b6c5-d4e3f2a1b0c9 failed",
            "PROJ-123: key: PROJ-123 was not found",
            "the task-scheduler-for-long-running-jobs started",
            "arn:aws:iam::123456789012:role/ReadOnly",
            "Private key files are not accepted here",
            "the pass rate is 97%",
            "invalid token: expected JWT",
            "Invalid token: signature has expired",
            "password: authentication failed for user app",
            "Error: password authentication failed for user \"app\"",
            "The request signature we calculated does not match the signature you provided.",
            "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.",
            "secret_name: prod/db/password",
            "api-key header missing",
            "basic auth realm=\"x\"",
        ];
        for input in cases {
            let mut s = input.to_string();
            assert_eq!(scrub_secrets(&mut s), 0, "{input:?} became {s:?}");
        }
    }

    #[test]
    fn hidden_characters_inside_a_secret_do_not_hide_it() {
        check(&[
            (
                "key AKIA\u{200B}IOSFODNN7\u{2060}EXAMPLE used",
                "key [REDACTED AWS KEY] used",
                1,
            ),
            (
                "password\u{200B}=hunter2 \u{202E}ok",
                "password\u{200B}=[REDACTED] \u{202E}ok",
                1,
            ),
        ]);
    }

    #[test]
    fn multi_byte_text_around_secrets_stays_valid() {
        check(&[(
            "пароль password=héllo✓ ok",
            "пароль password=[REDACTED] ok",
            1,
        )]);
    }

    /// The engine keeps gitleaks' semantics for the parts of the format our file does not use
    /// yet: `secretGroup`, stopwords, `regexTarget = "line"`, `condition = "AND"` with paths.
    #[test]
    fn gitleaks_format_semantics() {
        let set = RuleSet::parse(
            r#"
[[rules]]
id = "grouped"
regex = '''(login|token)=([a-z0-9]{8})'''
secretGroup = 2
keywords = ["login", "token"]
[[rules.allowlists]]
stopwords = ["example"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''^# ''']
[[rules.allowlists]]
condition = "AND"
paths = ['''\.md$''']
regexes = ['''^abcdefgh$''']

[[rules]]
id = "file-only"
path = '''\.p12$'''
"#,
        )
        .unwrap();
        assert_eq!(set.skipped, ["file-only"]);
        let cases: &[(&str, &[&str])] = &[
            ("token=a1b2c3d4", &["a1b2c3d4"]),
            ("login=example1", &[]),
            ("# token=a1b2c3d4", &[]),
            // AND with a path never holds without a file.
            ("token=abcdefgh", &["abcdefgh"]),
        ];
        for (text, expected) in cases {
            let mut found = Vec::new();
            set.find(&set.rules[0], text.as_bytes(), &mut found);
            let found: Vec<&str> = found.into_iter().map(|r| &text[r]).collect();
            assert_eq!(&found, expected, "{text}");
        }
    }

    /// A rule file named in `safety.secret_rules` runs beside the built-in rules, with its own
    /// global allowlist; a file that does not parse, or whose pattern does not compile, is
    /// named in the error; the files of a process are set once.
    #[test]
    fn added_rule_files_run_beside_the_built_in_rules() {
        let dir = tempfile::tempdir().unwrap();
        let acme = dir.path().join("acme.toml");
        std::fs::write(
            &acme,
            r#"
[allowlist]
regexes = ['''^acme_live_0{24}$''']

[[rules]]
id = "acme-api-key"
regex = '''\b(acme_live_[0-9a-z]{24})\b'''
keywords = ["acme_live_"]
"#,
        )
        .unwrap();
        let leaked = "upstream said: key acme_live_4f9k2m8q1z7x3c6v5b0n2p4r rejected";
        assert!(secret_spans(leaked).is_empty(), "not a built-in shape");
        assert_eq!(check_rule_file(&acme).unwrap(), (1, vec![]));
        assert_eq!(add_rule_files(std::slice::from_ref(&acme)).unwrap(), 1);
        let mut text = leaked.to_owned();
        assert_eq!(scrub_secrets(&mut text), 1);
        assert_eq!(text, "upstream said: key [REDACTED acme-api-key] rejected");
        // The file's allowlist holds for its own rule; the built-in rules still run.
        let mut both = "acme_live_000000000000000000000000 AKIAIOSFODNN7EXAMPLF".to_owned();
        scrub_secrets(&mut both);
        assert!(
            both.starts_with("acme_live_000000000000000000000000 "),
            "{both}"
        );
        assert!(!both.contains("AKIAIOSFODNN7EXAMPLF"), "{both}");
        // The same files again: nothing changes; others: refused.
        assert_eq!(add_rule_files(std::slice::from_ref(&acme)).unwrap(), 1);
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "").unwrap();
        let refused = add_rule_files(&[other]).unwrap_err().to_string();
        assert!(refused.contains("acme.toml"), "{refused}");

        let broken = dir.path().join("broken.toml");
        std::fs::write(
            &broken,
            "[[rules]]\nid = \"bad\"\nregex = '''(unclosed'''\n",
        )
        .unwrap();
        let error = check_rule_file(&broken).unwrap_err().to_string();
        assert!(
            error.contains("broken.toml") && error.contains("rule bad"),
            "{error}"
        );
        let missing = check_rule_file(&dir.path().join("missing.toml")).unwrap_err();
        assert!(missing.to_string().contains("missing.toml"), "{missing}");
    }
}
