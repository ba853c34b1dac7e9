//! Credentials in free text (log lines, upstream error bodies, journaled arguments), found by
//! their shape and replaced. Not a judge of what text means.

use std::sync::LazyLock;

use regex::Regex;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
