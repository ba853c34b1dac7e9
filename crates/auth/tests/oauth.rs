//! The per-tool OAuth logins against the real OAuth server of the SSO tests (`oidc-provider`
//! on loopback, see `tests/peers`): GitHub's device flow on GitHub's paths, and Atlassian's
//! 3LO code flow with a confidential app and rotating refresh tokens. The test plays the
//! browser through the provider's own pages.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth::{
    atlassian::{self, AtlassianGrant},
    config::{AtlassianOAuthConfig, GithubOAuthConfig, KeychainBackend, KeychainConfig},
    credentials::AtlassianCredential,
    keychain::{Keychain, Tool},
};
use testkit::{BrowserEnd, OidcBrowser, RecordingProxy, oidc_provider};

fn github_config(client_id: &str, timeout_secs: u64) -> GithubOAuthConfig {
    GithubOAuthConfig {
        client_id: Some(client_id.to_owned()),
        ca_file: Some(oidc_provider().ca_file.clone()),
        login_timeout_secs: timeout_secs,
        ..GithubOAuthConfig::default()
    }
}

#[tokio::test]
async fn github_device_flow_refusals_are_clear() {
    let peer = oidc_provider();
    let err = auth::github::device_login(&github_config("no-such-app", 60), &peer.issuer, |_| {
        panic!("no code is shown for an unknown app")
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("GitHub device code request failed") && err.contains("invalid_client"),
        "{err}"
    );
    // Nobody enters the code: the login gives up after the configured wait.
    let err =
        auth::github::device_login(&github_config("github-oauth-app", 2), &peer.issuer, |c| {
            assert!(!c.user_code.is_empty())
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("GitHub device login failed"), "{err}");
}

/// The gateway's accessible-resources answer (no peer serves it; Atlassian's documented shape).
fn gateway() -> RecordingProxy {
    let gateway = RecordingProxy::start_routed(&[]);
    gateway.inject(
        "/oauth/token/accessible-resources",
        200,
        &[("content-type", "application/json")],
        r#"[{"id":"cloud-acme","url":"https://acme.atlassian.net","name":"acme","scopes":["read:jira-work"],"avatarUrl":"https://example.test/a.png"}]"#,
        100,
    );
    gateway
}

fn atlassian_config(api_url: &str) -> AtlassianOAuthConfig {
    let peer = oidc_provider();
    AtlassianOAuthConfig {
        client_id: Some("atlassian-3lo-app".to_owned()),
        authorize_url: format!("{}/auth", peer.issuer),
        token_url: format!("{}/login/oauth/access_token", peer.issuer),
        api_url: api_url.to_owned(),
        redirect_port: 0,
        ca_file: Some(peer.ca_file.clone()),
        scopes: vec!["read:jira-work".to_owned(), "offline_access".to_owned()],
        login_timeout_secs: 60,
        ..AtlassianOAuthConfig::default()
    }
}

/// `atlassian::login` with the test as the browser, logging in as `user`.
async fn atlassian_login(
    config: &AtlassianOAuthConfig,
    secret: &str,
    user: &str,
) -> auth::Result<AtlassianGrant> {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let user = user.to_owned();
    let browser = tokio::spawn(async move {
        let url = rx.await.unwrap();
        let redirect_uri = reqwest::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1
            .into_owned();
        match OidcBrowser::new(&user).run(&url, &redirect_uri).await {
            BrowserEnd::Redirect(to) => reqwest::get(&to).await.unwrap().status(),
            BrowserEnd::Page(page) => panic!("no redirect: {page}"),
        }
    });
    let grant = atlassian::login(config, secret, |url| {
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for (key, value) in [
            ("audience", "api.atlassian.com"),
            ("prompt", "consent"),
            ("code_challenge_method", "S256"),
            ("response_type", "code"),
        ] {
            assert!(
                query.iter().any(|(k, v)| k == key && v == value),
                "{key}={value} in {url}"
            );
        }
        tx.send(url.to_string()).unwrap();
    })
    .await;
    assert!(browser.await.unwrap().is_success());
    grant
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_at_the_code_exchange() {
    let gateway = gateway();
    let err = atlassian_login(&atlassian_config(gateway.url()), "not-the-secret", "judy")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Atlassian code exchange failed") && err.contains("invalid_client"),
        "{err}"
    );
    assert!(!err.contains("not-the-secret"), "{err}");
    assert!(
        gateway
            .requests_to("GET", "/oauth/token/accessible-resources")
            .is_empty(),
        "nothing was read with a token that was never issued"
    );
}

#[tokio::test]
async fn rotated_refresh_tokens_are_spent_once_and_the_stored_grant_is_reused() {
    testkit::join_fresh_session_keyring();
    let keychain_config = KeychainConfig {
        backend: KeychainBackend::Keyutils,
        service: format!("ce-test-{}", testkit::uuid()),
    };
    let keychain = Keychain::open(&keychain_config).unwrap();
    let gateway = gateway();
    let mut config = atlassian_config(gateway.url());
    let first = atlassian_login(&config, "atlassian-3lo-secret", "kim")
        .await
        .unwrap();
    assert_eq!(
        first
            .site_for("https://acme.atlassian.net/wiki")
            .unwrap()
            .id,
        "cloud-acme"
    );
    assert!(first.can_refresh());
    let second = atlassian::refresh(&config, &first).await.unwrap();
    assert_ne!(second.access_token(), first.access_token());
    assert_eq!(second.sites, first.sites);
    // A server holding the first grant, due now, finds the second (another server refreshed)
    // in the keychain and uses it instead of spending a dead refresh token.
    keychain
        .save(Tool::Atlassian, &AtlassianCredential::OAuth(second.clone()))
        .unwrap();
    let mut due = first.clone();
    due.expires_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    config.refresh_margin_secs = 60;
    let fresh = atlassian::fresh_grant(&config, &keychain_config, due)
        .await
        .unwrap();
    assert_eq!(fresh, second);

    // Due, with nothing fresher stored: refreshed, and the rotated grant written back.
    config.refresh_margin_secs = 3600;
    let third = atlassian::fresh_grant(&config, &keychain_config, second.clone())
        .await
        .unwrap();
    assert_ne!(third.access_token(), second.access_token());
    match keychain.load(Tool::Atlassian).unwrap() {
        Some(AtlassianCredential::OAuth(stored)) => assert_eq!(stored, third),
        other => panic!("{other:?}"),
    }
    // The first refresh token was spent by the rotation. (Its replay also revokes the
    // whole grant at this provider, as reuse detection should: hence the keychain re-read.)
    let err = atlassian::refresh(&config, &first)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid_grant"), "{err}");

    let debug = format!("{third:?}");
    assert!(!debug.contains(third.access_token()), "{debug}");
}
