//! Rules in gitleaks' rule-file format (`[[rules]]` with `regex`, `secretGroup`, `entropy`,
//! `keywords` and `[[rules.allowlists]]`; a global `[allowlist]`), run the way gitleaks runs
//! them on a text with no file path: keywords first, then each rule's regex, the secret picked
//! out of what it matched, its entropy and the allowlists checked.
//!
//! Why this format: it is the one a maintained rule set (gitleaks' `config/gitleaks.toml`)
//! ships in, so that file can be added beside ours unmodified. Differences from gitleaks, each
//! on purpose:
//! - Patterns run as byte regexes in ASCII mode (`(?-u)`): Go's RE2 treats `\w`, `\s`, `\d`
//!   and `\b` as ASCII too, and Unicode tables would add pages to every server binary. The
//!   `regex` crate has no look-around either, like RE2, so RE2 patterns compile as they are.
//! - After a finding, the search resumes where the secret ends, not where the match ends: a
//!   pattern's trailing context (`(?:[^A-Z0-9]|$)`) must not swallow the start of the next
//!   secret (`AKIA…,AKIA…`).
//! - `paths` and `commits` criteria never hold (there is no file or commit), exactly as in
//!   `gitleaks stdin`; a rule with a `path` is scoped to files and is skipped.
//! - Regexes compile on first use, per rule: text that holds none of a rule's keywords never
//!   pays for it.

use std::{ops::Range, sync::OnceLock};

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

/// gitleaks' largest patterns need more than `regex`'s default 10 MiB program budget; ASCII
/// mode keeps them far smaller, but the budget is the documented ceiling, not a target.
const REGEX_SIZE_LIMIT: usize = 32 << 20;

/// Compiles a rule-file pattern the way the rule set runs it.
pub(super) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("(?-u){pattern}"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

#[derive(Deserialize)]
struct FileDef {
    #[serde(default)]
    allowlist: Option<AllowlistDef>,
    #[serde(default)]
    allowlists: Vec<AllowlistDef>,
    #[serde(default)]
    rules: Vec<RuleDef>,
}

#[derive(Deserialize)]
struct RuleDef {
    id: String,
    regex: Option<String>,
    path: Option<String>,
    #[serde(rename = "secretGroup", default)]
    secret_group: usize,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    allowlists: Vec<AllowlistDef>,
    /// Our extension: what replaces the secret (default `[REDACTED <id>]`).
    label: Option<String>,
}

#[derive(Deserialize)]
struct AllowlistDef {
    condition: Option<String>,
    #[serde(rename = "regexTarget")]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
}

/// What an allowlist regex is tested against (`regexTarget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Secret,
    Match,
    Line,
}

/// One allowlist: a finding it covers is not a secret.
pub(super) struct Allowlist {
    all: bool,
    target: Target,
    /// `paths` or `commits` given: a criterion that never holds here.
    scoped: bool,
    regexes: Vec<String>,
    compiled: OnceLock<Vec<Regex>>,
    stopwords: Vec<String>,
}

impl Allowlist {
    fn new(def: AllowlistDef) -> Result<Self, String> {
        let target = match def.regex_target.as_deref() {
            None | Some("secret") => Target::Secret,
            Some("match") => Target::Match,
            Some("line") => Target::Line,
            Some(other) => return Err(format!("unknown regexTarget `{other}`")),
        };
        let all = match def.condition.as_deref() {
            None | Some("OR") | Some("or") => false,
            Some("AND") | Some("and") => true,
            Some(other) => return Err(format!("unknown allowlist condition `{other}`")),
        };
        Ok(Self {
            all,
            target,
            scoped: !def.paths.is_empty() || !def.commits.is_empty(),
            regexes: def.regexes,
            compiled: OnceLock::new(),
            stopwords: def
                .stopwords
                .into_iter()
                .map(|w| w.to_ascii_lowercase())
                .collect(),
        })
    }

    fn compiled(&self) -> &[Regex] {
        // An allowlist regex that does not compile allows nothing: more is redacted, never less.
        self.compiled.get_or_init(|| {
            self.regexes
                .iter()
                .filter_map(|r| compile(r).ok())
                .collect()
        })
    }

    /// Whether the finding is allowed, as gitleaks' `checkFindingAllowed` decides it.
    fn allows(&self, secret: &[u8], matched: &[u8], line: &[u8]) -> bool {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => matched,
            Target::Line => line,
        };
        let regex = !self.regexes.is_empty() && self.compiled().iter().any(|r| r.is_match(target));
        let stopword = !self.stopwords.is_empty() && {
            let lower = secret.to_ascii_lowercase();
            self.stopwords
                .iter()
                .any(|w| contains(&lower, w.as_bytes()))
        };
        if self.all {
            let mut checks = Vec::new();
            if self.scoped {
                checks.push(false);
            }
            if !self.regexes.is_empty() {
                checks.push(regex);
            }
            if !self.stopwords.is_empty() {
                checks.push(stopword);
            }
            !checks.is_empty() && checks.iter().all(|c| *c)
        } else {
            regex || stopword
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// One content rule.
pub(super) struct Rule {
    /// The default label's name, and the kind a finding reports ([`super::SecretSpan::kind`]).
    pub(super) id: String,
    pub(super) label: String,
    pub(super) keywords: Vec<String>,
    pattern: String,
    secret_group: usize,
    entropy: Option<f64>,
    allowlists: Vec<Allowlist>,
    regex: OnceLock<Option<Regex>>,
}

/// A rule set: its rules, its global allowlists, and the ids of the rules it skipped (scoped
/// to file paths).
pub(super) struct RuleSet {
    pub(super) rules: Vec<Rule>,
    global: Vec<Allowlist>,
    /// The ids of the rules a file's path scoping left out.
    pub(super) skipped: Vec<String>,
}

impl RuleSet {
    /// Parses a rule file. Errors name the rule and what is wrong with it.
    pub(super) fn parse(toml_text: &str) -> Result<Self, String> {
        let file: FileDef = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        let mut global = Vec::new();
        for def in file.allowlist.into_iter().chain(file.allowlists) {
            global.push(Allowlist::new(def)?);
        }
        let mut rules = Vec::new();
        let mut skipped = Vec::new();
        for def in file.rules {
            let (Some(pattern), None) = (def.regex, &def.path) else {
                skipped.push(def.id);
                continue;
            };
            let allowlists = def
                .allowlists
                .into_iter()
                .map(Allowlist::new)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("rule {}: {e}", def.id))?;
            rules.push(Rule {
                label: def
                    .label
                    .unwrap_or_else(|| format!("[REDACTED {}]", def.id)),
                keywords: def
                    .keywords
                    .into_iter()
                    .map(|k| k.to_ascii_lowercase())
                    .collect(),
                id: def.id,
                pattern,
                secret_group: def.secret_group,
                entropy: def.entropy,
                allowlists,
                regex: OnceLock::new(),
            });
        }
        Ok(Self {
            rules,
            global,
            skipped,
        })
    }

    /// Compiles every rule now; the first that does not compile is the error, by its id.
    pub(super) fn compile_all(&self) -> Result<(), String> {
        for rule in &self.rules {
            compile(&rule.pattern).map_err(|e| format!("rule {}: {e}", rule.id))?;
        }
        Ok(())
    }

    /// Pushes the byte range of every secret `rule` finds in `text`.
    pub(super) fn find(&self, rule: &Rule, text: &[u8], out: &mut Vec<Range<usize>>) {
        let Some(regex) = rule.regex() else {
            return;
        };
        let mut at = 0;
        while at <= text.len() {
            let Some(caps) = regex.captures_at(text, at) else {
                break;
            };
            let Some(whole) = caps.get(0) else { break };
            let secret = if rule.secret_group > 0 {
                caps.get(rule.secret_group)
            } else if caps.len() > 1 {
                // gitleaks: the first capture group that matched something.
                (1..caps.len())
                    .filter_map(|i| caps.get(i))
                    .find(|m| !m.is_empty())
            } else {
                Some(whole)
            };
            // Resume after the secret (or one past the match start): trailing context is
            // not consumed.
            at = match secret {
                Some(s) if !s.is_empty() => s.end(),
                _ => whole.start() + 1,
            };
            let Some(secret) = secret.filter(|s| !s.is_empty()) else {
                continue;
            };
            let value = secret.as_bytes();
            if rule
                .entropy
                .is_some_and(|threshold| shannon_entropy(value) <= threshold)
            {
                continue;
            }
            let line = line_around(text, whole.range());
            let allowed = self
                .global
                .iter()
                .chain(&rule.allowlists)
                .any(|a| a.allows(value, whole.as_bytes(), line));
            if !allowed {
                out.push(secret.range());
            }
        }
    }
}

impl Rule {
    /// The compiled regex; None when the pattern does not compile here (counted by the tests).
    pub(super) fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| compile(&self.pattern).ok())
            .as_ref()
    }
}

/// The line (or lines) holding `range`, for `regexTarget = "line"`.
fn line_around(text: &[u8], range: Range<usize>) -> &[u8] {
    let start = text[..range.start]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let end = text[range.end..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |i| range.end + i);
    &text[start..end]
}

/// Shannon entropy in bits per byte, as gitleaks computes it (per character over the byte
/// length, the same for ASCII).
pub(super) fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for b in data {
        counts[usize::from(*b)] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / len;
            -p * p.log2()
        })
        .sum()
}
