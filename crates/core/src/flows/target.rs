//! What every flow works with: the resolved target, what a flow shows a person, why a login
//! failed, and the check of an ID token.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use url::Url;

use crate::config::SubjectSource;
use crate::http::{HttpClient, HttpError};
use crate::idtoken;
use crate::oauth::{Client, DeviceAuthorization, Grant, OAuthError, TokenRequest, TokenWire};
use crate::provider::{Endpoints, Flow};
use crate::secret::Secret;

/// Why a login could not happen. Messages name the field or endpoint, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    #[error("provider {provider:?}: {message}")]
    Config { provider: String, message: String },
    #[error(
        "provider {provider:?} ({kind}) does not support the {flow} flow; it supports {supported}"
    )]
    Unsupported {
        provider: String,
        kind: &'static str,
        flow: Flow,
        supported: String,
    },
    #[error("the {0} flow is not available in this version of tokenctl yet")]
    NotYet(Flow),
    #[error("discovery at {url}: {reason}")]
    Discovery { url: Box<Url>, reason: String },
    #[error(transparent)]
    OAuth(Box<OAuthError>),
    #[error(transparent)]
    Http(Box<HttpError>),
    #[error("the device code expired before the sign-in finished; run the login again")]
    DeviceExpired,
    #[error("the token given is empty")]
    EmptyToken,
    #[error("the identity provider refused {}'s username or password{}", crate::text::printable(.0), .1.as_deref().map(|d| format!(" ({})", crate::text::one_line(d, 200))).unwrap_or_default())]
    PasswordRefused(String, Option<String>),
    #[error("the sign-in did not finish within {0} s; run the login again")]
    SignInTimeout(u64),
    #[error("browser sign-in: {0}")]
    Callback(String),
    #[error("provider {0:?}: {1}; nothing was stored")]
    IdToken(String, idtoken::IdTokenError),
    /// The device flow stopped polling: a login was stored meanwhile by another sign-in.
    #[error("another sign-in stored a login meanwhile; this one stopped")]
    SignedInElsewhere,
    /// A cluster's discovery says `auth_enabled: false`.
    #[error(
        "cluster {0:?} needs no login: its discovery document says auth_enabled: false; call it without a token"
    )]
    NoLoginNeeded(String),
}

impl LoginError {
    /// Nothing answered at the provider's address (HTTP 404): its fields name no realm,
    /// tenant or issuer there.
    pub fn is_not_found(&self) -> bool {
        match self {
            LoginError::OAuth(err) => matches!(
                **err,
                OAuthError::Provider { status: 404, .. } | OAuthError::Reply { status: 404, .. }
            ),
            LoginError::Discovery { reason, .. } => reason.starts_with("HTTP 404"),
            _ => false,
        }
    }
}

impl From<OAuthError> for LoginError {
    fn from(err: OAuthError) -> LoginError {
        LoginError::OAuth(Box::new(err))
    }
}

impl From<HttpError> for LoginError {
    fn from(err: HttpError) -> LoginError {
        LoginError::Http(Box::new(err))
    }
}

/// One provider entry, resolved for a flow: where to send requests, as which client, for what.
#[derive(Debug, Clone)]
pub struct Target {
    pub provider: String,
    pub kind: &'static str,
    pub client: Client,
    pub endpoints: Endpoints,
    /// The scopes asked for: --scope, else the context's, else the provider's, plus the
    /// dialect's standard scopes for flows that sign a person in.
    pub scopes: Vec<String>,
    /// The scopes that identify the login (without the standard ones).
    pub requested_scopes: Vec<String>,
    /// Parameters of every token request (the dialect's, and the token's audience).
    pub extra: Vec<(String, String)>,
    /// Parameters of the device authorization request: the dialect's and `authorize-params`.
    pub device_params: Vec<(String, String)>,
    /// `max_age` asked for: the ID token's `auth_time` must be at most that old.
    pub max_age: Option<u64>,
    /// How the dialect's token endpoint is spoken.
    pub wire: std::sync::Arc<dyn TokenWire>,
    /// Browser flow: how long it waits for the person (`sign-in-timeout`).
    pub sign_in_timeout: Duration,
    /// Browser flow: the loopback redirect URI, and the authorization request's parameters
    /// (the dialect's and `authorize-params`).
    pub redirect: Redirect,
    pub authorize_params: Vec<(String, String)>,
    /// Whether the dialect offers the device flow (the fallback when no browser can open).
    pub device_flow: bool,
    /// Exchange flow: the context's `subject-token` source and `subject-token-type` URN.
    pub subject: Option<SubjectSource>,
    pub subject_token_type: Option<String>,
    /// Keycloak's legacy (V1) external exchange: `subject_issuer`, the alias of the token's
    /// issuer.
    pub subject_issuer: Option<String>,
    /// `authorize-params: {requested_token_type: …}`, sent on the exchange only.
    pub requested_token_type: Option<String>,
    /// Client credentials: the context's `client-assertion` source (federated credentials).
    pub client_assertion: Option<SubjectSource>,
    /// The audience a `github-actions` source asks for: `ci-token-audience`, else the
    /// dialect's, else the issuer.
    pub ci_audience: String,
}

/// The browser flow's loopback redirect URI, `http://{host}:{port}{path}`, sent byte for byte as
/// registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// `127.0.0.1`, `localhost` or `[::1]`.
    pub host: String,
    /// Tried in order; none: any free port.
    pub ports: Vec<u16>,
    /// Empty, or starting with `/`.
    pub path: String,
    /// `listen-address`: where the listener binds instead of the host's loopback; the URI
    /// keeps its host.
    pub listen: Option<std::net::IpAddr>,
}

impl Redirect {
    /// The URI for the port the listener got.
    pub fn uri(&self, port: u16) -> String {
        format!("http://{}:{port}{}", self.host, self.path)
    }

    /// The path the browser requests: `/` for a URI without one.
    pub fn request_path(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            &self.path
        }
    }
}

impl Target {
    /// Sends a claims challenge (OpenID Connect Core 5.5, as Entra ID's Conditional Access
    /// asks for it back) with the authorization and the device authorization request.
    pub fn with_claims(&mut self, claims: &str) {
        for params in [&mut self.authorize_params, &mut self.device_params] {
            params.retain(|(name, _)| name != CLAIMS);
            params.push((CLAIMS.to_owned(), claims.to_owned()));
        }
    }

    /// The token endpoint, which every flow but the browser's first step needs.
    pub fn token_url(&self) -> Result<Url, LoginError> {
        self.endpoints
            .token
            .clone()
            .ok_or_else(|| LoginError::Config {
                provider: self.provider.clone(),
                message: "no token endpoint".into(),
            })
    }

    /// A token request for this target; at the dialect's token endpoint, with its fallback.
    pub fn request<'a>(&'a self, url: &'a Url, grant: &'a Grant) -> TokenRequest<'a> {
        TokenRequest {
            url,
            client: &self.client,
            grant,
            scopes: &self.scopes,
            extra: &self.extra,
            fallback: self
                .endpoints
                .token_fallback
                .as_ref()
                .filter(|_| self.endpoints.token.as_ref() == Some(url)),
        }
    }
}

const CLAIMS: &str = "claims";

/// What a flow shows a person; the CLI writes to the terminal, tests record.
pub trait LoginUi: Send + Sync {
    /// The device flow's URL and code, once, before polling starts.
    fn device_code(&self, authorization: &DeviceAuthorization);
    /// While polling, about every second: the time left before the code expires.
    fn waiting(&self, _remaining: Duration) {}
    /// The browser flow's authorization URL, always shown in case no browser opens.
    fn browser_url(&self, url: &Url);
    /// A word to the person (a fallback taken, say).
    fn notice(&self, message: &str);
    /// Browser flow, asked before [`LoginUi::browser_url`]: lines pasted at the terminal while
    /// the loopback listener waits (the address the browser ended on, or its code), or `None`
    /// where nobody can paste. Dropping the receiver ends the reading.
    fn pasted_lines(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Secret>> {
        None
    }
    /// Whether [`LoginUi::pasted_lines`] would read a person's paste: then a browser sign-in
    /// works where no browser opens (the person uses one elsewhere), and is not swapped for
    /// the device flow, which many tenants block.
    fn can_paste(&self) -> bool {
        false
    }
    /// Asked between polls: true ends the device flow with [`LoginError::SignedInElsewhere`]
    /// (a login for the same identity was stored meanwhile).
    fn signed_in_elsewhere(&self) -> bool {
        false
    }
}

/// Verifies an ID token against the issuer's keys; dialects without a JWKS (Run:ai) are
/// skipped, and say so in the log.
pub async fn verify_id_token(
    http: &HttpClient,
    target: &Target,
    id_token: &Secret,
    nonce: Option<&str>,
) -> Result<(), LoginError> {
    checked_claims(http, target, id_token, nonce, true)
        .await
        .map(drop)
}

/// Verifies the ID token a refresh returned as the first was, and that it names the same
/// subject as `previous`, the login's ID token (OpenID Connect Core 12.2). The error says
/// which check failed.
pub async fn verify_refreshed_id_token(
    http: &HttpClient,
    target: &Target,
    id_token: &Secret,
    previous: Option<&Secret>,
) -> Result<(), LoginError> {
    if let Some(claims) = checked_claims(http, target, id_token, None, false).await? {
        idtoken::same_subject(previous.map(Secret::expose), &claims)
            .map_err(|err| LoginError::IdToken(target.provider.clone(), err))?;
    }
    Ok(())
}

/// The ID token's claims once verified; `None` where the dialect has no JWKS.
async fn checked_claims(
    http: &HttpClient,
    target: &Target,
    id_token: &Secret,
    nonce: Option<&str>,
    sign_in: bool,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, LoginError> {
    let Some(jwks_url) = &target.endpoints.jwks else {
        tracing::debug!(provider = %target.provider, "no JWKS known: the ID token is not verified");
        return Ok(None);
    };
    let expected = idtoken::Expected {
        issuer: target.endpoints.issuer.as_ref().map(Url::as_str),
        tenant: target.endpoints.tenant.as_deref(),
        // OpenID Connect Core 3.1.3.7: auth_time is checked against the max_age of the
        // authentication request, so at sign-in, not after a refresh.
        max_age: target.max_age.filter(|_| sign_in),
        audience: &target.client.id,
        nonce,
    };
    let verified = |jwks: &JwkSet| idtoken::verify(id_token.expose(), jwks, &expected);
    let mut outcome = verified(&key_set(http, target, jwks_url).await?);
    // An app with signing keys of its own: its ID tokens' key is only in its own key set.
    if let (Err(idtoken::IdTokenError::UnknownKey(_)), Some(app_jwks)) =
        (&outcome, &target.endpoints.app_jwks)
    {
        outcome = verified(&key_set(http, target, app_jwks).await?);
    }
    let claims = outcome.map_err(|err| LoginError::IdToken(target.provider.clone(), err))?;
    tracing::debug!(provider = %target.provider, %jwks_url, "ID token verified");
    Ok(Some(claims))
}

/// The key set at `url`.
async fn key_set(http: &HttpClient, target: &Target, url: &Url) -> Result<JwkSet, LoginError> {
    let reply = http.get(url).await?;
    serde_json::from_slice(&reply.body).map_err(|_| LoginError::Config {
        provider: target.provider.clone(),
        message: format!("{url} is not a JWKS (HTTP {})", reply.status),
    })
}
