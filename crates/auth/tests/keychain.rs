//! The keychain against the kernel keyutils store, in a fresh session keyring per test.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth::{
    Error,
    config::{KeychainBackend, KeychainConfig},
    credentials::AtlassianCredential,
    keychain::{Keychain, Tool},
};

fn keychain() -> Keychain {
    testkit::join_fresh_session_keyring();
    Keychain::open(&KeychainConfig {
        backend: KeychainBackend::Keyutils,
        service: format!("ce-keychain-test-{}", testkit::uuid()),
    })
    .unwrap()
}

#[test]
fn one_entry_per_tool_round_trips_and_deletes() {
    let keychain = keychain();
    assert_eq!(keychain.backend(), "keyutils");
    let values = [
        (
            Tool::Github,
            serde_json::json!({"token": "ghp_x", "host": "github.com"}),
        ),
        (
            Tool::Atlassian,
            serde_json::to_value(AtlassianCredential::Basic {
                email: "a@corp.example".into(),
                api_token: "tøken with ünïcode and \"quotes\"".into(),
            })
            .unwrap(),
        ),
        (Tool::Sso, serde_json::json!({"large": "x".repeat(8000)})),
    ];
    for (tool, value) in &values {
        assert_eq!(
            keychain.load::<serde_json::Value>(*tool).unwrap(),
            None,
            "{tool:?}"
        );
        keychain.save(*tool, value).unwrap();
    }
    // Stored separately: each reads back its own.
    for (tool, value) in &values {
        assert_eq!(
            keychain.load::<serde_json::Value>(*tool).unwrap().as_ref(),
            Some(value)
        );
    }
    for (tool, _) in &values {
        assert!(keychain.delete(*tool).unwrap(), "{tool:?}");
        assert!(!keychain.delete(*tool).unwrap(), "{tool:?}: already gone");
        assert_eq!(keychain.load::<serde_json::Value>(*tool).unwrap(), None);
    }
}

#[test]
fn an_unreadable_entry_names_the_login_command() {
    let keychain = keychain();
    keychain.save(Tool::Github, &"not an object").unwrap();
    let err = keychain
        .load::<auth::credentials::GithubEntry>(Tool::Github)
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("claude-enterprise login github"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("not an object"),
        "no stored value in errors"
    );
    keychain.delete(Tool::Github).unwrap();
}

#[test]
fn a_plain_secret_round_trips_is_held_and_deletes() {
    let keychain = keychain();
    let user = "audit-sink/splunk";
    assert_eq!(keychain.load_secret(user).unwrap(), None);
    keychain.save_secret(user, "hec-token-0123456789").unwrap();
    assert_eq!(
        keychain.load_secret(user).unwrap().as_deref(),
        Some("hec-token-0123456789")
    );
    let mut text = "echoed hec-token-0123456789 back".to_owned();
    auth::held::redact_held(&mut text);
    assert_eq!(text, "echoed [REDACTED] back");
    assert!(keychain.delete_secret(user).unwrap());
    assert!(!keychain.delete_secret(user).unwrap());
    assert_eq!(keychain.load_secret(user).unwrap(), None);
}
