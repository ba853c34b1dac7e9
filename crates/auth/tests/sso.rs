//! SSO against a real OpenID provider (`oidc-provider` on loopback, see `tests/peers`): the
//! test plays the browser through the provider's own login and consent forms.

// A test that cannot set up fails loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, time::Duration};

use auth::{
    Error, IdTokenRejection,
    config::{KeychainBackend, KeychainConfig, SsoConfig},
    keychain::{Keychain, Tool},
    sso::{Session, Sso},
};
use chrono::Utc;
use testkit::{BrowserEnd, OidcBrowser, oidc_provider};

fn config(client_id: &str) -> SsoConfig {
    SsoConfig {
        issuer: Some(oidc_provider().issuer.clone()),
        ca_file: Some(oidc_provider().ca_file.clone()),
        client_id: client_id.to_owned(),
        scopes: ["openid", "email", "groups", "offline_access"]
            .map(str::to_owned)
            .to_vec(),
        role_map: [
            ("engineering", vec!["delivery".to_owned()]),
            ("mcp-admins", vec!["platform".to_owned()]),
        ]
        .into_iter()
        .map(|(g, r)| (g.to_owned(), r))
        .collect(),
        login_timeout_secs: 60,
        ..SsoConfig::default()
    }
}

async fn sso() -> Sso {
    Sso::discover(&config("claude-enterprise")).await.unwrap()
}

fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Plays the browser from `url` until the redirect to our (unbound) loopback URI.
async fn authorize(login: &str, url: &str) -> HashMap<String, String> {
    match OidcBrowser::new(login)
        .run(url, "http://127.0.0.1:9/callback")
        .await
    {
        BrowserEnd::Redirect(to) => query(&to),
        BrowserEnd::Page(page) => panic!("no redirect; the provider showed: {page}"),
    }
}

/// A complete login through `start_login` / `complete_login`.
async fn login(sso: &Sso, login: &str) -> Session {
    let pending = sso.start_login("http://127.0.0.1:9/callback").unwrap();
    let url = pending.url.to_string();
    let redirect = authorize(login, &url).await;
    sso.complete_login(pending, &redirect).await.unwrap()
}

async fn introspect(sso: &Sso, token: &str) -> serde_json::Value {
    let ca = std::fs::read(&oidc_provider().ca_file).unwrap();
    reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .build()
        .unwrap()
        .post(
            sso.introspection_endpoint()
                .expect("introspection is announced"),
        )
        .form(&[("token", token), ("client_id", "claude-enterprise")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn browser_login_on_loopback_gives_the_user_and_mapped_roles() {
    let sso = sso().await;
    let session = sso
        .login_with_browser(|url| {
            assert!(url.as_str().contains("code_challenge_method=S256"), "{url}");
            assert!(
                url.as_str()
                    .contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
                "{url}"
            );
            let redirect_uri = query(url.as_str())["redirect_uri"].clone();
            let url = url.to_string();
            tokio::spawn(async move {
                let callback = match OidcBrowser::new("alice").run(&url, &redirect_uri).await {
                    BrowserEnd::Redirect(to) => to,
                    BrowserEnd::Page(page) => panic!("no redirect: {page}"),
                };
                // The browser lands on our loopback listener.
                let page = reqwest::get(&callback).await.unwrap().text().await.unwrap();
                // (plain HTTP: the loopback redirect listener is ours)
                assert!(page.contains("Login received"), "{page}");
            });
        })
        .await
        .unwrap();
    assert_eq!(session.user, "alice@example.test");
    assert_eq!(session.groups, ["engineering", "mcp-admins"]);
    assert!(session.can_refresh());
    let identity = session.identity(&config("claude-enterprise"));
    assert_eq!(identity.roles, ["delivery", "platform"]);
    assert!(identity.expires_at > Utc::now());
    let debug = format!("{session:?}");
    assert!(
        !debug.contains(session.access_token()),
        "Debug shows a token"
    );
}

#[tokio::test]
async fn wrong_state_and_wrong_nonce_are_refused() {
    let sso = sso().await;

    // The redirect comes back with a state this login did not send.
    let pending = sso.start_login("http://127.0.0.1:9/callback").unwrap();
    let mut redirect = authorize("bob", pending.url.as_str()).await;
    redirect.insert("state".into(), "forged-state".into());
    let err = sso.complete_login(pending, &redirect).await.unwrap_err();
    assert!(matches!(err, Error::StateMismatch), "{err}");

    // The provider issues an ID token for another nonce than this login holds.
    let pending = sso.start_login("http://127.0.0.1:9/callback").unwrap();
    let mut url = pending.url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "injected-nonce".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let redirect = authorize("bob", url.as_str()).await;
    let err = sso.complete_login(pending, &redirect).await.unwrap_err();
    assert!(
        matches!(err, Error::IdToken(IdTokenRejection::WrongNonce)),
        "{err}"
    );
}

#[tokio::test]
async fn id_tokens_are_validated() {
    use base64::Engine as _;
    let sso = sso().await;
    let other = Sso::discover(&config("other-app")).await.unwrap();
    let raw = login(&sso, "carol").await.id_token().to_owned();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = raw.split('.').collect();
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = "no-such-key".into();
    let unknown_kid = format!(
        "{}.{}.{}",
        b64.encode(unknown_kid.to_string()),
        parts[1],
        parts[2]
    );
    let mut signature = b64.decode(parts[2]).unwrap();
    signature[10] ^= 0x01;
    let tampered = format!("{}.{}.{}", parts[0], parts[1], b64.encode(signature));
    let now = Utc::now();
    let later = now + chrono::Duration::hours(2);

    // (case, verifying client, token, as of, expected rejection)
    type Case<'a> = (
        &'a str,
        &'a Sso,
        &'a str,
        chrono::DateTime<Utc>,
        Option<IdTokenRejection>,
    );
    let cases: Vec<Case> = vec![
        ("valid", &sso, &raw, now, None),
        (
            "expired",
            &sso,
            &raw,
            later,
            Some(IdTokenRejection::Expired),
        ),
        (
            "wrong audience",
            &other,
            &raw,
            now,
            Some(IdTokenRejection::WrongAudience),
        ),
        (
            "tampered signature",
            &sso,
            &tampered,
            now,
            Some(IdTokenRejection::BadSignature),
        ),
        (
            "unknown key id",
            &sso,
            &unknown_kid,
            now,
            Some(IdTokenRejection::UnknownKey),
        ),
    ];
    for (name, verifier, token, at, expected) in cases {
        let got = verifier.verify_id_token(token, None, at);
        match expected {
            None => assert_eq!(
                got.unwrap().email().map(|e| e.to_string()).as_deref(),
                Some("carol@example.test"),
                "{name}"
            ),
            Some(rejection) => {
                let err = got.unwrap_err();
                assert_eq!(err, rejection, "{name}");
                assert!(
                    !err.to_string().is_empty(),
                    "{name}: a message for the user"
                );
            }
        }
    }
}

#[tokio::test]
async fn refresh_before_expiry_then_revoke_at_the_idp() {
    let sso = sso().await;
    let session = login(&sso, "dave").await;
    // The provider's access tokens live 600 s: inside a 700 s margin, due; inside 60 s, not.
    assert!(session.needs_refresh(Duration::from_secs(700), Utc::now()));
    assert!(!session.needs_refresh(Duration::from_secs(60), Utc::now()));

    let refreshed = sso.refresh(&session).await.unwrap();
    assert_ne!(refreshed.access_token(), session.access_token());
    assert_eq!(refreshed.user, "dave@example.test");
    assert!(refreshed.expires_at() >= session.expires_at());
    let refresh_token = refreshed.refresh_token().unwrap().to_owned();
    assert_eq!(introspect(&sso, &refresh_token).await["active"], true);

    sso.revoke(&refreshed).await.unwrap();
    assert_eq!(introspect(&sso, &refresh_token).await["active"], false);
    assert_eq!(
        introspect(&sso, refreshed.access_token()).await["active"],
        false
    );
    let err = sso.refresh(&refreshed).await.unwrap_err();
    assert!(err.to_string().contains("invalid_grant"), "{err}");
}

#[tokio::test]
async fn device_authorization_grant() {
    let sso = sso().await;
    let session = sso
        .login_with_device(|prompt| {
            assert!(!prompt.user_code.is_empty());
            let url = prompt
                .verification_uri_complete
                .clone()
                .expect("a complete URI");
            tokio::spawn(async move {
                match OidcBrowser::new("erin")
                    .run(&url, "http://127.0.0.1:9/never")
                    .await
                {
                    BrowserEnd::Page(page) => assert!(page.contains("Sign-in Success"), "{page}"),
                    BrowserEnd::Redirect(to) => panic!("unexpected redirect to {to}"),
                }
            });
        })
        .await
        .unwrap();
    assert_eq!(session.user, "erin@example.test");
    assert_eq!(session.groups, ["engineering", "mcp-admins"]);
}

#[tokio::test]
async fn identity_refreshes_the_stored_session_when_near_expiry() {
    testkit::join_fresh_session_keyring();
    let keychain_config = KeychainConfig {
        backend: KeychainBackend::Keyutils,
        service: format!("ce-test-{}", testkit::uuid()),
    };
    let keychain = Keychain::open(&keychain_config).unwrap();
    let sso = sso().await;
    let session = login(&sso, "frank").await;
    keychain.save(Tool::Sso, &session).unwrap();

    let mut config = config("claude-enterprise");
    config.refresh_margin_secs = 60;
    let identity = auth::sso::identity(&config, &keychain_config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.user, "frank@example.test");
    assert_eq!(identity.roles, ["delivery", "platform"]);
    let stored: Session = keychain.load(Tool::Sso).unwrap().unwrap();
    assert_eq!(stored, session, "not due: nothing refreshed");

    config.refresh_margin_secs = 3600;
    let identity = auth::sso::identity(&config, &keychain_config)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.user, "frank@example.test");
    let stored: Session = keychain.load(Tool::Sso).unwrap().unwrap();
    assert_ne!(
        stored.access_token(),
        session.access_token(),
        "refreshed and stored back"
    );
    assert!(keychain.delete(Tool::Sso).unwrap());
}
