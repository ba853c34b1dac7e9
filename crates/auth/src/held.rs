//! The secrets this process holds, so that none of them leaves it in text.
//!
//! An upstream (or a proxy or gateway in front of it) can echo a request back in its error
//! body, `Authorization` header included; a log line can quote a URL with a token in it. The
//! process knows every credential it has read, from the environment or the keychain, so it
//! removes those exact values (and the forms they travel in: HTTP Basic's base64 of
//! `user:secret`, percent-encoding) from every string before it goes out: tool results, errors,
//! logs and the audit journal. This runs before, and does not replace, the pattern-based
//! scrubbing of secrets the process never held.
//!
//! Not a vault: values are kept in memory only, in the same process that already holds them.

use std::sync::{LazyLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;

/// What replaces a held secret.
pub const REDACTED: &str = "[REDACTED]";

/// Values shorter than this are not matched: they would remove ordinary words.
const MIN_LEN: usize = 8;

/// Variables whose values are credentials wherever they are set.
const SECRET_VARIABLES: &[&str] = &[
    crate::credentials::GITHUB_TOKEN_ENV,
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    crate::credentials::ATLASSIAN_API_TOKEN_ENV,
    crate::credentials::ATLASSIAN_PAT_ENV,
    crate::credentials::ATLASSIAN_OAUTH_TOKEN_ENV,
    "ATLASSIAN_OAUTH_CLIENT_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "SPLUNK_HEC_TOKEN",
    "ELASTICSEARCH_API_KEY",
    "ELASTICSEARCH_PASSWORD",
];

#[derive(Default)]
struct Held {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

static HELD: LazyLock<RwLock<Held>> = LazyLock::new(RwLock::default);

/// Remembers `secret` (and its percent-encoded form) as held by this process.
pub fn hold(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_LEN {
        return;
    }
    let encoded = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    add([secret.to_owned(), encoded]);
}

/// Remembers an HTTP Basic credential: the secret itself and `base64(user:secret)`.
pub fn hold_basic(user: &str, secret: &str) {
    hold(secret);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    // Whoever echoes the header may drop the padding; the unpadded form matches both.
    add([basic.trim_end_matches('=').to_owned()]);
}

/// Remembers every string under a secret-looking key (`token`, `secret`, `password`, `key`)
/// of a stored credential, at any depth.
pub fn hold_json(value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let key = key.to_ascii_lowercase();
                let secret = ["token", "secret", "password", "key"]
                    .iter()
                    .any(|part| key.contains(part));
                match item {
                    serde_json::Value::String(s) if secret => hold(s),
                    _ => hold_json(item),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(hold_json),
        _ => {}
    }
}

/// Remembers the credentials this process can find in its environment: the known credential
/// variables, and the Basic form of `ATLASSIAN_EMAIL` + `ATLASSIAN_API_TOKEN`.
pub fn hold_environment() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    for name in SECRET_VARIABLES {
        if let Some(value) = var(name) {
            hold(&value);
        }
    }
    if let (Some(email), Some(token)) = (
        var(crate::credentials::ATLASSIAN_EMAIL_ENV),
        var(crate::credentials::ATLASSIAN_API_TOKEN_ENV),
    ) {
        hold_basic(&email, &token);
    }
}

fn add(values: impl IntoIterator<Item = String>) {
    let mut held = HELD
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = held.values.len();
    for value in values {
        if value.len() >= MIN_LEN && !held.values.contains(&value) {
            held.values.push(value);
        }
    }
    if held.values.len() != before {
        held.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&held.values)
            .ok();
    }
}

/// Replaces every held secret in `text` with [`REDACTED`], returning how many it replaced.
pub fn redact_held(text: &mut String) -> usize {
    let held = HELD.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(matcher) = &held.matcher else {
        return 0;
    };
    let found = matcher.find_iter(text.as_str()).count();
    if found > 0 {
        let replacements = vec![REDACTED; held.values.len()];
        *text = matcher.replace_all(text, &replacements);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_held_values_in_every_form_they_travel_in() {
        hold("held-token-0123456789");
        hold_basic("ann@example.com", "atlassian-api-token-xyz");
        hold("short");
        let basic = base64::engine::general_purpose::STANDARD
            .encode("ann@example.com:atlassian-api-token-xyz");
        let cases: &[(&str, &str, usize)] = &[
            ("no secret here", "no secret here", 0),
            (
                "echo: Authorization: token held-token-0123456789",
                "echo: Authorization: token [REDACTED]",
                1,
            ),
            ("url?t=held-token-0123456789&x", "url?t=[REDACTED]&x", 1),
            ("a short word", "a short word", 0),
            (
                "api token atlassian-api-token-xyz!",
                "api token [REDACTED]!",
                1,
            ),
        ];
        for (input, expected, count) in cases {
            let mut text = input.to_string();
            assert_eq!(redact_held(&mut text), *count, "{input}");
            assert_eq!(text, *expected);
        }
        let mut header = format!("{{\"headers\":{{\"Authorization\":\"Basic {basic}\"}}}}");
        assert_eq!(redact_held(&mut header), 1);
        assert!(!header.contains(basic.trim_end_matches('=')), "{header}");
    }

    #[test]
    fn holds_what_a_stored_credential_names_as_secret() {
        hold_json(&serde_json::json!({
            "email": "bob@example.com",
            "grant": {"access_token": "stored-access-token-1", "refresh_token": "stored-refresh-2"},
            "site": "https://example.atlassian.net"
        }));
        let mut text =
            "bob@example.com used stored-access-token-1 and stored-refresh-2 on https://example.atlassian.net".to_owned();
        assert_eq!(redact_held(&mut text), 2);
        assert_eq!(
            text,
            "bob@example.com used [REDACTED] and [REDACTED] on https://example.atlassian.net"
        );
    }
}
