//! Single sign-on with the enterprise's OpenID provider: discovery, the authorization code
//! flow with PKCE (S256) on a loopback redirect, the device authorization grant, ID token
//! validation (issuer, audience, expiry, nonce, signature against the JWKS), refresh before
//! expiry and revocation (RFC 7009). The protocol work is `openidconnect`'s; this module
//! wires it to a loopback listener, the keychain and the role mapping.

use std::{borrow::Cow, collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use openidconnect::{
    AccessToken, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode,
    ClaimsVerificationError, ClientId, CsrfToken, DeviceAuthorizationUrl, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IntrospectionUrl, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RefreshToken, RevocationUrl, Scope, SignatureVerificationError, StandardErrorResponse,
    StandardTokenResponse, TokenResponse as _,
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
        CoreClientAuthMethod, CoreDeviceAuthorizationResponse, CoreErrorResponseType,
        CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
        CoreTokenIntrospectionResponse, CoreTokenType,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    Error, IdTokenRejection, Result,
    config::{KeychainConfig, SsoConfig},
    http::{HttpClient, request_error, token_error},
    keychain::{Keychain, Tool},
};

/// Every claim of the ID token beyond the standard ones, so that `user_claim` and
/// `roles_claim` can name any of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims(serde_json::Map<String, Value>);
impl AdditionalClaims for ExtraClaims {}

/// Endpoints discovery may announce beyond the core ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExtraMetadata {
    revocation_endpoint: Option<RevocationUrl>,
    device_authorization_endpoint: Option<DeviceAuthorizationUrl>,
    introspection_endpoint: Option<IntrospectionUrl>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
type IdToken = openidconnect::IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
/// The validated claims of an ID token.
pub type IdTokenClaims = openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        ExtraClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
type Client = openidconnect::Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A logged-in SSO session, as kept in the keychain. `Debug` never shows a token.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The issuer that signed the ID token.
    pub issuer: String,
    /// The client the tokens were issued to.
    pub client_id: String,
    /// The user, from `sso.user_claim` (else `sub`).
    pub user: String,
    /// The groups, from `sso.roles_claim`.
    pub groups: Vec<String>,
    /// When the ID token expires.
    pub id_token_expires_at: DateTime<Utc>,
    /// When the access token expires, when the IdP said.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    id_token: String,
    access_token: String,
    refresh_token: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("issuer", &self.issuer)
            .field("user", &self.user)
            .field("groups", &self.groups)
            .field("id_token_expires_at", &self.id_token_expires_at)
            .field("access_token_expires_at", &self.access_token_expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The earlier of the ID token's and the access token's expiry.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.access_token_expires_at
            .map_or(self.id_token_expires_at, |a| {
                a.min(self.id_token_expires_at)
            })
    }

    /// Whether the session expires within `margin` of `now`.
    pub fn needs_refresh(&self, margin: Duration, now: DateTime<Utc>) -> bool {
        let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
        self.expires_at() - margin <= now
    }

    /// Whether a refresh token is held.
    pub fn can_refresh(&self) -> bool {
        self.refresh_token.is_some()
    }

    /// The access token (for token exchanges the caller makes with it).
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The raw ID token (for AWS `AssumeRoleWithWebIdentity`).
    pub fn id_token(&self) -> &str {
        &self.id_token
    }

    /// The refresh token, when one was issued.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// Who this session is, with roles mapped by `config`.
    pub fn identity(&self, config: &SsoConfig) -> Identity {
        Identity {
            user: self.user.clone(),
            roles: config.roles_for(&self.groups),
            groups: self.groups.clone(),
            expires_at: self.expires_at(),
        }
    }
}

/// Who the SSO session says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// From `sso.user_claim` (else `sub`).
    pub user: String,
    /// Mapped from `groups` through `sso.role_map`.
    pub roles: Vec<String>,
    /// From `sso.roles_claim`.
    pub groups: Vec<String>,
    /// When the session must be refreshed by.
    pub expires_at: DateTime<Utc>,
}

/// A browser login started by [`Sso::start_login`]: the URL to open and what the redirect
/// must match.
pub struct PendingLogin {
    /// The authorization URL to open in the browser.
    pub url: url::Url,
    redirect: RedirectUrl,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// What a device login shows the user.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    /// Where to go.
    pub verification_uri: String,
    /// The same with the code filled in, when the IdP offers it.
    pub verification_uri_complete: Option<String>,
    /// The code to type there.
    pub user_code: String,
}

/// The enterprise IdP, discovered.
pub struct Sso {
    config: SsoConfig,
    metadata: Metadata,
    http: HttpClient,
}

impl Sso {
    /// Reads `<issuer>/.well-known/openid-configuration` and the JWKS it names.
    pub async fn discover(config: &SsoConfig) -> Result<Self> {
        let issuer = config.issuer.clone().ok_or(Error::NotConfigured)?;
        let discovery = |message: String| Error::Discovery {
            issuer: issuer.clone(),
            message,
        };
        let issuer_url = IssuerUrl::new(issuer.clone()).map_err(|e| discovery(e.to_string()))?;
        let http = HttpClient::new(config.ca_file.as_deref()).map_err(&discovery)?;
        let metadata = Metadata::discover_async(issuer_url, &http.caller())
            .await
            .map_err(|e| discovery(crate::http::chain(&e)))?;
        Ok(Self {
            config: config.clone(),
            metadata,
            http,
        })
    }

    fn client(&self) -> Client {
        openidconnect::Client::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            None,
        )
    }

    fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.config
            .scopes
            .iter()
            .filter(|s| *s != "openid")
            .map(|s| Scope::new(s.clone()))
    }

    /// The issuer's introspection endpoint (RFC 7662), when discovery names one.
    pub fn introspection_endpoint(&self) -> Option<&str> {
        self.metadata
            .additional_metadata()
            .introspection_endpoint
            .as_ref()
            .map(|u| u.as_str())
    }

    /// Starts a browser login whose redirect goes to `redirect_uri`: a fresh state, nonce
    /// and PKCE (S256) verifier.
    pub fn start_login(&self, redirect_uri: &str) -> Result<PendingLogin> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| Error::Io {
            what: format!("redirect URI {redirect_uri}"),
            source: std::io::Error::other(e.to_string()),
        })?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(self.scopes())
            .set_pkce_challenge(challenge)
            .set_redirect_uri(Cow::Borrowed(&redirect))
            .url();
        Ok(PendingLogin {
            url,
            redirect,
            state,
            nonce,
            verifier,
        })
    }

    /// Completes a browser login with the query of the redirect: checks the state, exchanges
    /// the code (with the PKCE verifier) and validates the ID token (with the nonce).
    pub async fn complete_login(
        &self,
        pending: PendingLogin,
        query: &HashMap<String, String>,
    ) -> Result<Session> {
        let code = crate::loopback::code(query, pending.state.secret())?;
        let client = self.client();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| token_error("the code exchange", e))?
            .set_pkce_verifier(pending.verifier)
            .set_redirect_uri(Cow::Borrowed(&pending.redirect))
            .request_async(&self.http.caller())
            .await
            .map_err(|e| request_error("the code exchange", e))?;
        self.session(&response, Some(&pending.nonce), None)
    }

    /// Logs in through the browser: listens on `127.0.0.1:sso.redirect_port`, calls `announce`
    /// with the URL to open, and completes the login with the first redirect that arrives.
    pub async fn login_with_browser(&self, announce: impl FnOnce(&url::Url)) -> Result<Session> {
        let redirect = crate::loopback::Redirect::bind(self.config.redirect_port).await?;
        let pending = self.start_login(redirect.uri())?;
        announce(&pending.url);
        let query = redirect
            .wait(Duration::from_secs(self.config.login_timeout_secs))
            .await?;
        self.complete_login(pending, &query).await
    }

    /// Logs in with the device authorization grant (RFC 8628): `announce` shows where to go
    /// and the code; polls until the user approves, refuses, or the code expires.
    pub async fn login_with_device(&self, announce: impl FnOnce(&DevicePrompt)) -> Result<Session> {
        let endpoint = self
            .metadata
            .additional_metadata()
            .device_authorization_endpoint
            .clone()
            .ok_or_else(|| Error::Discovery {
                issuer: self.metadata.issuer().to_string(),
                message: "the provider announces no device_authorization_endpoint".into(),
            })?;
        let client = self.client().set_device_authorization_url(endpoint);
        let details: CoreDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(self.scopes())
            .request_async(&self.http.caller())
            .await
            .map_err(|e| request_error("the device authorization request", e))?;
        announce(&DevicePrompt {
            verification_uri: details.verification_uri().to_string(),
            verification_uri_complete: details
                .verification_uri_complete()
                .map(|u| u.secret().clone()),
            user_code: details.user_code().secret().clone(),
        });
        let response = client
            .exchange_device_access_token(&details)
            .map_err(|e| token_error("the device token request", e))?
            .request_async(
                &self.http.caller(),
                tokio::time::sleep,
                Some(Duration::from_secs(self.config.login_timeout_secs)),
            )
            .await
            .map_err(|e| request_error("the device login", e))?;
        // The device grant sends no nonce; the ID token is still checked for everything else.
        self.session(&response, None, None)
    }

    /// Exchanges the refresh token for fresh tokens; the new ID token is validated like the
    /// first (without a nonce, which refreshes do not carry). A refresh token the IdP does
    /// not rotate is kept.
    pub async fn refresh(&self, session: &Session) -> Result<Session> {
        let refresh = session.refresh_token.clone().ok_or_else(|| Error::Token {
            what: "the refresh",
            message: "no refresh token is held (ask for the offline_access scope)".into(),
        })?;
        let client = self.client();
        let token = RefreshToken::new(refresh);
        let response = client
            .exchange_refresh_token(&token)
            .map_err(|e| token_error("the refresh", e))?
            .request_async(&self.http.caller())
            .await
            .map_err(|e| request_error("the refresh", e))?;
        self.session(&response, None, Some(session))
    }

    /// Revokes the refresh token (which ends the grant) and the access token at the IdP
    /// (RFC 7009).
    pub async fn revoke(&self, session: &Session) -> Result<()> {
        let endpoint = self
            .metadata
            .additional_metadata()
            .revocation_endpoint
            .clone()
            .ok_or_else(|| Error::Discovery {
                issuer: self.metadata.issuer().to_string(),
                message: "the provider announces no revocation_endpoint".into(),
            })?;
        let client = self.client().set_revocation_url(endpoint);
        let mut tokens = vec![CoreRevocableToken::AccessToken(AccessToken::new(
            session.access_token.clone(),
        ))];
        if let Some(refresh) = &session.refresh_token {
            tokens.insert(
                0,
                CoreRevocableToken::RefreshToken(RefreshToken::new(refresh.clone())),
            );
        }
        for token in tokens {
            client
                .revoke_token(token)
                .map_err(|e| token_error("the revocation", e))?
                .request_async(&self.http.caller())
                .await
                .map_err(|e| request_error("the revocation", e))?;
        }
        Ok(())
    }

    /// Validates a raw ID token as of `now`: signature against the discovered JWKS, issuer,
    /// audience (this client), expiry, and `nonce` when given.
    pub fn verify_id_token(
        &self,
        raw: &str,
        nonce: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IdTokenClaims, IdTokenRejection> {
        let token: IdToken = raw
            .parse()
            .map_err(|e: serde_json::Error| IdTokenRejection::Invalid(e.to_string()))?;
        self.verify(
            &token,
            nonce.map(|n| Nonce::new(n.to_owned())).as_ref(),
            now,
        )
    }

    fn verify(
        &self,
        token: &IdToken,
        nonce: Option<&Nonce>,
        now: DateTime<Utc>,
    ) -> Result<IdTokenClaims, IdTokenRejection> {
        let client = self.client();
        let verifier = client.id_token_verifier().set_time_fn(move || now);
        let claims = match nonce {
            Some(nonce) => token.claims(&verifier, nonce),
            None => token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
        };
        claims.cloned().map_err(|e| match e {
            ClaimsVerificationError::Expired(_) => IdTokenRejection::Expired,
            ClaimsVerificationError::InvalidAudience(_) => IdTokenRejection::WrongAudience,
            ClaimsVerificationError::InvalidIssuer(_) => IdTokenRejection::WrongIssuer,
            ClaimsVerificationError::InvalidNonce(_) => IdTokenRejection::WrongNonce,
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => IdTokenRejection::UnknownKey,
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::CryptoError(_),
            ) => IdTokenRejection::BadSignature,
            other => IdTokenRejection::Invalid(crate::http::chain(&other)),
        })
    }

    /// A session from a token response. `previous` supplies what a refresh response may omit
    /// (a non-rotated refresh token; an ID token, when the IdP sends none on refresh).
    fn session(
        &self,
        response: &TokenResponse,
        nonce: Option<&Nonce>,
        previous: Option<&Session>,
    ) -> Result<Session> {
        let now = Utc::now();
        let (id_token, claims) = match (response.id_token(), previous) {
            (Some(token), _) => (token.to_string(), self.verify(token, nonce, now)?),
            (None, Some(previous)) => (
                previous.id_token.clone(),
                self.verify_id_token(&previous.id_token, None, now)?,
            ),
            (None, None) => return Err(IdTokenRejection::Missing.into()),
        };
        let extra = &claims.additional_claims().0;
        let user = match self.config.user_claim.as_str() {
            "email" => claims.email().map(|e| e.to_string()),
            "sub" => None,
            other => extra.get(other).and_then(Value::as_str).map(str::to_owned),
        }
        .unwrap_or_else(|| claims.subject().to_string());
        let groups = match extra.get(&self.config.roles_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Ok(Session {
            issuer: claims.issuer().to_string(),
            client_id: self.config.client_id.clone(),
            user,
            groups,
            id_token_expires_at: claims.expiration(),
            access_token_expires_at: response
                .expires_in()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| now + d),
            id_token,
            access_token: response.access_token().secret().clone(),
            refresh_token: response
                .refresh_token()
                .map(|t| t.secret().clone())
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        })
    }
}

/// The SSO identity of the logged-in user, from the session in the keychain: `None` when SSO
/// is not configured or nobody is logged in. A session that expires within
/// `sso.refresh_margin_secs` is refreshed first (at the IdP) and stored back.
pub async fn identity(sso: &SsoConfig, keychain: &KeychainConfig) -> Result<Option<Identity>> {
    if sso.issuer.is_none() {
        return Ok(None);
    }
    let keychain = Keychain::open(keychain)?;
    let Some(session) = keychain.load::<Session>(Tool::Sso)? else {
        return Ok(None);
    };
    let session = fresh_session(sso, &keychain, session).await?;
    Ok(Some(session.identity(sso)))
}

/// `session`, refreshed and stored back when it expires within the configured margin.
pub async fn fresh_session(
    sso: &SsoConfig,
    keychain: &Keychain,
    session: Session,
) -> Result<Session> {
    let margin = Duration::from_secs(sso.refresh_margin_secs);
    if !session.needs_refresh(margin, Utc::now()) {
        return Ok(session);
    }
    let refreshed = Sso::discover(sso).await?.refresh(&session).await?;
    keychain.save(Tool::Sso, &refreshed)?;
    tracing::debug!(user = %refreshed.user, "SSO session refreshed");
    Ok(refreshed)
}
