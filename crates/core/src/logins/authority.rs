//! The real provider side of the use cases: resolves the provider (configured, or asked of the
//! cluster), runs the flows, and sends a refresh token only to the issuer that minted it.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::identity::{Provided, Selection};
use super::store::StoredLogin;
use super::{Authority, AuthorityError, Minted, SignIn};
use crate::config::{ConfigSet, ProviderEntry};
use crate::flows::BrowserOpener;
use crate::flows::{self, LoginError, LoginUi, Method, RevokeError, Target};
use crate::http::HttpClient;
use crate::oauth::{self, DeviceAuthorization, Grant, OAuthError};
use crate::provider::Flow;
use crate::secret::Secret;

/// Talks to the providers of a contexts file set. The HTTP client is made on first use: the
/// hot path never needs one.
pub struct ProviderAuthority {
    set: Arc<ConfigSet>,
    timeout: Duration,
    http: OnceLock<HttpClient>,
}

impl ProviderAuthority {
    pub fn new(set: Arc<ConfigSet>, timeout: Duration) -> ProviderAuthority {
        ProviderAuthority {
            set,
            timeout,
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&HttpClient, LoginError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = HttpClient::new(self.timeout)?;
        Ok(self.http.get_or_init(|| http))
    }

    /// The client for a provider's requests: its own `certificate-authority` when it has one.
    fn http_for(&self, entry: &ProviderEntry) -> Result<HttpClient, LoginError> {
        let trust = flows::provider_trust(entry);
        if trust.is_default() {
            return Ok(self.http()?.clone());
        }
        Ok(HttpClient::trusting(&trust, self.timeout)?)
    }

    /// The provider entry: as configured, or as the cluster describes it now (network).
    async fn entry<'a>(
        &self,
        provided: Provided<'a>,
    ) -> Result<Cow<'a, ProviderEntry>, LoginError> {
        match provided {
            Provided::Configured(entry) => Ok(Cow::Borrowed(entry)),
            Provided::Discover(cluster) => Ok(Cow::Owned(
                flows::discover_cluster(self.http()?, cluster).await?,
            )),
        }
    }

    /// The login's provider, resolved as it is configured (or discovered) now, and checked to
    /// be the one that minted the login; with the client for its requests.
    async fn target_of(&self, login: &StoredLogin) -> Result<(Target, HttpClient), AuthorityError> {
        let provided = Provided::of_login(&self.set, &login.provider).map_err(|message| {
            LoginError::Config {
                provider: login.provider.clone(),
                message,
            }
        })?;
        let entry = self.entry(provided).await?;
        let http = self.http_for(&entry)?;
        let mut target =
            flows::resolve(&http, &entry, None, login.flow, &login.scopes, &[], None).await?;
        if target.endpoints.issuer.is_none() {
            // The issuer learned at sign-in; asked again only for a login that recorded none.
            target.endpoints.issuer = login.issuer.as_deref().and_then(|i| i.parse().ok());
            flows::learn_issuer(&http, &mut target, login.flow).await?;
        }
        let issuer = target.endpoints.issuer.as_ref().map(|u| u.to_string());
        if let (Some(then), Some(now)) = (&login.issuer, &issuer)
            && then != now
        {
            return Err(AuthorityError::Changed {
                from: then.clone(),
                to: now.clone(),
            });
        }
        if let (Some(then), Some(now)) = (&login.token_endpoint, &target.endpoints.token)
            && then != now
            && Some(then) != target.endpoints.token_fallback.as_ref()
        {
            return Err(AuthorityError::Changed {
                from: then.to_string(),
                to: now.to_string(),
            });
        }
        Ok((target, http))
    }
}

/// What the provider gave, with the target that gave it.
fn minted(target: &Target, flow: Flow, tokens: oauth::TokenSet) -> Minted {
    let token_endpoint = tokens
        .token_endpoint
        .clone()
        .or_else(|| target.endpoints.token.clone());
    Minted {
        tokens,
        kind: target.kind.to_owned(),
        client_id: target.client.id.clone(),
        issuer: target.endpoints.issuer.as_ref().map(|u| u.to_string()),
        token_endpoint,
        scopes: target.requested_scopes.clone(),
        flow,
    }
}

/// No person is there: nothing to show, no browser.
struct Unattended;

impl LoginUi for Unattended {
    fn device_code(&self, _authorization: &DeviceAuthorization) {}
    fn browser_url(&self, _url: &url::Url) {}
    fn notice(&self, message: &str) {
        tracing::info!("{message}");
    }
}

impl BrowserOpener for Unattended {
    fn available(&self) -> bool {
        false
    }
    fn open(&self, _url: &url::Url) -> std::io::Result<()> {
        Err(std::io::Error::other("no browser without a person"))
    }
}

impl Authority for ProviderAuthority {
    async fn sign_in(
        &self,
        selection: &Selection<'_>,
        how: SignIn<'_>,
    ) -> Result<Minted, AuthorityError> {
        let entry = self.entry(selection.provider).await?;
        let http = &self.http_for(&entry)?;
        let mut target = flows::resolve(
            http,
            &entry,
            selection.context,
            how.flow,
            how.scopes,
            &how.params,
            how.client_secret,
        )
        .await?;
        flows::learn_issuer(http, &mut target, how.flow).await?;
        if let Some(claims) = how.claims {
            how.ui
                .notice("asking for what the provider's last refusal of a refresh named (its claims challenge)");
            target.with_claims(&claims);
        }
        let tokens = flows::run(http, &target, how.method, how.ui, how.opener).await?;
        Ok(minted(&target, how.flow, tokens))
    }

    async fn refresh(
        &self,
        login: &StoredLogin,
        refresh_token: Secret,
    ) -> Result<Minted, AuthorityError> {
        let (target, http) = self.target_of(login).await?;
        let url = login
            .token_endpoint
            .clone()
            .or_else(|| target.endpoints.token.clone())
            .ok_or_else(|| LoginError::Config {
                provider: target.provider.clone(),
                message: "no token endpoint".into(),
            })?;
        let grant = Grant::RefreshToken(refresh_token);
        match oauth::request_token(&http, target.wire.as_ref(), &target.request(&url, &grant)).await
        {
            Ok(tokens) => {
                if let Some(id_token) = &tokens.id_token {
                    let checked = flows::verify_refreshed_id_token(
                        &http,
                        &target,
                        id_token,
                        login.id_token.as_ref(),
                    )
                    .await;
                    if let Err(err) = checked {
                        return Err(AuthorityError::Unverified {
                            rotated: tokens.refresh_token,
                            reason: match err {
                                LoginError::IdToken(_, err) => err.to_string(),
                                other => other.to_string(),
                            },
                        });
                    }
                }
                Ok(minted(&target, login.flow, tokens))
            }
            Err(err) if target.wire.refused_refresh(&err) => Err(AuthorityError::Rejected {
                why: (err.code() != Some("invalid_grant")).then(|| err.to_string()),
                claims: match &err {
                    OAuthError::Provider { details, .. } => details.claims.clone(),
                    _ => None,
                },
            }),
            Err(err) => Err(AuthorityError::Login(err.into())),
        }
    }

    async fn acquire(
        &self,
        selection: &Selection<'_>,
        flow: Flow,
        client_secret: Option<Secret>,
    ) -> Result<Minted, AuthorityError> {
        let entry = self.entry(selection.provider).await?;
        let http = &self.http_for(&entry)?;
        let (method, secret) = match flow {
            // The subject token is read from the context's source; the client authenticates
            // as configured (a public client needs no secret).
            Flow::Exchange => (
                Method::Exchange {
                    subject_token: None,
                },
                client_secret,
            ),
            _ => match flows::client_secret(&entry, client_secret) {
                Ok(Some(secret)) => (Method::ClientCredentials, Some(secret)),
                // private_key_jwt: the key file is the credential; federated credentials: the
                // context's client-assertion is.
                Ok(None)
                    if flows::client_key(&entry.as_config()).is_some()
                        || selection
                            .context
                            .is_some_and(|c| c.client_assertion.is_some()) =>
                {
                    (Method::ClientCredentials, None)
                }
                Ok(None) => {
                    return Err(AuthorityError::NoSecret(
                        "no client secret is configured: set client-secret-env or client-secret-file (client-key-file for private_key_jwt, or the context's client-assertion for a CI token)".into(),
                    ));
                }
                Err(err) => return Err(AuthorityError::NoSecret(err.to_string())),
            },
        };
        let target = flows::resolve(
            http,
            &entry,
            selection.context,
            method.flow(),
            &[],
            &[],
            secret,
        )
        .await?;
        tracing::info!(provider = %target.provider, flow = %method.flow(), "acquiring a new token without a person");
        let tokens = flows::run(http, &target, method, &Unattended, &Unattended).await?;
        Ok(minted(&target, flow, tokens))
    }

    async fn revoke(&self, login: &StoredLogin, refresh_token: Secret) -> Result<(), RevokeError> {
        let (target, http) = self.target_of(login).await.map_err(|err| match err {
            AuthorityError::Login(err) => RevokeError::Failed(err),
            other => RevokeError::Failed(LoginError::Config {
                provider: login.provider.clone(),
                message: other.to_string(),
            }),
        })?;
        flows::revoke(&http, &target, &refresh_token).await
    }
}

impl From<OAuthError> for AuthorityError {
    fn from(err: OAuthError) -> AuthorityError {
        AuthorityError::Login(err.into())
    }
}
