//! Content safety for text that comes from an upstream.
//!
//! Titles, bodies, comments and file contents are written by people other than the user and
//! reach the model verbatim: invisible characters, bidirectional controls and Unicode tag
//! characters can hide instructions a human reviewer never sees. They are stripped before the
//! model sees the text, and the count goes to the audit event. Log lines also pass through
//! [`scrub_secrets`], since applications log credentials more often than they should. This
//! module does not judge meaning; it removes what cannot be seen and what must not be shown.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Secret shapes and what replaces them (`$1`, `$2` keep a non-secret prefix).
static SECRETS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    // ASCII classes only (`(?-u)`): secrets are ASCII, and the Unicode tables would add
    // pages to every server binary.
    let rules: &[(&str, &str)] = &[
        (
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
            "[REDACTED PRIVATE KEY]",
        ),
        (
            r"(?-u)\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
            "[REDACTED AWS KEY]",
        ),
        (
            r"(?-u)\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
            "[REDACTED TOKEN]",
        ),
        (r"(?-u)\bxox[abposr]-[A-Za-z0-9-]{10,}", "[REDACTED TOKEN]"),
        (
            r"(?i-u)\b(bearer|basic)[ \t]+[A-Za-z0-9\-._~+/]{8,}=*",
            "$1 [REDACTED]",
        ),
        (
            r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/ \t\r\n:@]+):[^@ \t\r\n/]+@",
            "$1:[REDACTED]@",
        ),
        (
            r#"(?i-u:\b((?:aws_)?secret_access_key|aws_session_token|password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)([ \t]*[=:][ \t]*"?))[^ \t\r\n",;&]+"#,
            "$1$2[REDACTED]",
        ),
    ];
    rules
        .iter()
        .map(|(pattern, replacement)| {
            (
                Regex::new(pattern).expect("secret patterns compile"),
                *replacement,
            )
        })
        .collect()
});

/// Replaces credentials in `text` (AWS keys, tokens, bearer and basic credentials, private key
/// blocks, passwords in URLs and `password=...` assignments), returning how many it replaced.
pub fn scrub_secrets(text: &mut String) -> usize {
    let mut count = 0;
    for (pattern, replacement) in SECRETS.iter() {
        let found = pattern.find_iter(text).count();
        if found > 0 {
            count += found;
            *text = pattern.replace_all(text, *replacement).into_owned();
        }
    }
    count
}

/// Whether `c` is invisible, a bidi control, a tag character or a terminal control.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{0008}' | '\u{000B}' | '\u{000C}' | '\u{000E}'..='\u{001F}' | '\u{007F}'
        | '\u{0080}'..='\u{009F}'      // C1 controls (terminal escapes)
        | '\u{00AD}'                   // soft hyphen
        | '\u{061C}'                   // Arabic letter mark
        | '\u{180E}'                   // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'      // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'      // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'      // word joiner, invisible operators, bidi isolates
        | '\u{FEFF}'                   // zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'      // interlinear annotations
        | '\u{E0000}'..='\u{E007F}'    // tag characters
        | '\u{E0100}'..='\u{E01EF}'    // variation selectors supplement (payload smuggling)
    )
}

/// Removes hidden characters from `text`, returning how many were removed.
pub fn strip_hidden(text: &mut String) -> usize {
    if !text.chars().any(is_hidden) {
        return 0;
    }
    let before = text.chars().count();
    text.retain(|c| !is_hidden(c));
    before - text.chars().count()
}

/// Strips hidden characters from every string (values and keys are left as keys) in a JSON value.
pub fn strip_hidden_json(value: &mut Value) -> usize {
    match value {
        Value::String(s) => strip_hidden(s),
        Value::Array(items) => items.iter_mut().map(strip_hidden_json).sum(),
        Value::Object(map) => map.values_mut().map(strip_hidden_json).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_what_cannot_be_seen_and_keeps_the_rest() {
        let cases: &[(&str, &str, usize)] = &[
            ("plain text\nwith\ttabs", "plain text\nwith\ttabs", 0),
            ("ze\u{200B}ro", "zero", 1),
            ("abc\u{202E}fed\u{202C}", "abcfed", 2),
            ("\u{E0049}\u{E0067}nore", "nore", 2),
            ("esc\u{1B}[31mred", "esc[31mred", 1),
            ("naïve café ✓ 日本語 👍🏽", "naïve café ✓ 日本語 👍🏽", 0),
            ("\u{FEFF}bom", "bom", 1),
            ("iso\u{2066}late\u{2069}", "isolate", 2),
        ];
        for (input, expected, count) in cases {
            let mut s = input.to_string();
            assert_eq!(strip_hidden(&mut s), *count, "{input:?}");
            assert_eq!(s, *expected);
        }
    }

    #[test]
    fn scrubs_secrets_from_log_lines() {
        let cases: &[(&str, &str, usize)] = &[
            ("GET /health 200 in 3ms", "GET /health 200 in 3ms", 0),
            (
                "using key AKIAIOSFODNN7EXAMPLE for s3",
                "using key [REDACTED AWS KEY] for s3",
                1,
            ),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done",
                "aws_secret_access_key=[REDACTED] done",
                1,
            ),
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                "Authorization: Bearer [REDACTED]",
                1,
            ),
            (
                "connect postgres://app:hunter2@db:5432/x",
                "connect postgres://app:[REDACTED]@db:5432/x",
                1,
            ),
            (
                "password: \"s3cr3t\" retry",
                "password: \"[REDACTED]\" retry",
                1,
            ),
            (
                "token ghp_abcdefghijklmnopqrstuvwxyz0123 leaked",
                "token [REDACTED TOKEN] leaked",
                1,
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- after",
                "[REDACTED PRIVATE KEY] after",
                1,
            ),
            ("api_key=abc&user=1", "api_key=[REDACTED]&user=1", 1),
        ];
        for (input, expected, count) in cases {
            let mut s = input.to_string();
            assert_eq!(scrub_secrets(&mut s), *count, "{input}");
            assert_eq!(s, *expected);
        }
    }

    #[test]
    fn walks_json() {
        let mut v = serde_json::json!({"title": "a\u{200B}b", "list": ["\u{E0041}", 3], "n": null});
        assert_eq!(strip_hidden_json(&mut v), 2);
        assert_eq!(v["title"], "ab");
    }
}
