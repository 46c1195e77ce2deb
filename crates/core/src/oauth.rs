//! The OAuth 2.0 wire: token requests (RFC 6749, 8628, 8693) and their replies, written once for
//! every dialect. Errors say what the provider said and what to do about it; none carries a
//! secret.

/// How a client proves who it is at the token endpoint.
pub use crate::client_auth::ClientAuth;
/// A token endpoint's reply, which a [`TokenWire`] decodes.
pub use crate::http::Reply;
use serde::Deserialize;
use url::Url;

use crate::client_auth::{ClientKey, Learned};
use crate::http::{HttpClient, HttpError};
use crate::jwt;
use crate::secret::Secret;

/// RFC 8628's grant type for polling with a device code.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8693's grant type for a token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693's token type of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8693's token type of a JWT (a CI or service-account token).
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// RFC 8693's parameter for the token type an exchange gives: `authorize-params` may set it,
/// and it goes on the exchange request only.
pub(crate) const REQUESTED_TOKEN_TYPE: &str = "requested_token_type";

/// This tool's registration at the provider.
#[derive(Clone, Debug)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// The client secret, for a confidential client.
    pub secret: Option<Secret>,
    /// How the client authenticates first (a client without a secret or key sends only its
    /// id).
    pub auth: ClientAuth,
    /// Where the way that works is remembered; `None` when the provider entry fixes it
    /// (`client-auth`), and then the other way is never tried.
    pub learned: Option<Learned>,
    /// `private_key_jwt`: the key, and the `aud` of its assertions.
    pub assertion: Option<(ClientKey, String)>,
    /// [`ClientAuth::Federated`]: the assertion, as read from its source for this request.
    pub federated: Option<Secret>,
}

/// How a request authenticates the client: form fields and, for Basic, a user and password.
struct Credentials {
    form: Vec<(&'static str, String)>,
    basic: Option<(String, String)>,
}

impl Client {
    /// A client authenticated as `auth` always.
    pub fn fixed(id: String, secret: Option<Secret>, auth: ClientAuth) -> Client {
        Client {
            id,
            secret,
            auth,
            learned: None,
            assertion: None,
            federated: None,
        }
    }

    /// What authenticates this client by `auth`; a `private_key_jwt` assertion is made anew.
    fn credentials(&self, auth: ClientAuth) -> Result<Credentials, String> {
        let id = self.id.clone();
        let form = match (auth, &self.secret, &self.assertion) {
            (ClientAuth::PrivateKeyJwt, _, Some((key, audience))) => {
                let now = crate::clock::unix_now();
                vec![
                    ("client_id", id),
                    ("client_assertion_type", JWT_BEARER_ASSERTION.to_owned()),
                    ("client_assertion", key.assertion(&self.id, audience, now)?),
                ]
            }
            (ClientAuth::Federated, _, _) => match &self.federated {
                Some(token) => vec![
                    ("client_id", id),
                    ("client_assertion_type", JWT_BEARER_ASSERTION.to_owned()),
                    ("client_assertion", token.expose().to_owned()),
                ],
                None => return Err("no client assertion was read".to_owned()),
            },
            (ClientAuth::Basic, Some(secret), _) => {
                return Ok(Credentials {
                    form: Vec::new(),
                    basic: Some((id, secret.expose().to_owned())),
                });
            }
            (ClientAuth::Post, Some(secret), _) => vec![
                ("client_id", id),
                ("client_secret", secret.expose().to_owned()),
            ],
            _ => vec![("client_id", id)],
        };
        Ok(Credentials { form, basic: None })
    }
}

/// RFC 7523 §2.2: `client_assertion_type` of a JWT client assertion.
pub(crate) const JWT_BEARER_ASSERTION: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// POSTs `form` to `url` as `client`: its way first and, when the provider refuses that way of
/// authenticating (401, or `invalid_client`) and the entry does not fix one, the other way once;
/// the way that worked is remembered. A refusal of anything but the client is never retried:
/// the grant (a code, a rotating refresh token) may have been spent.
pub(crate) async fn post_as_client(
    http: &HttpClient,
    url: &Url,
    client: &Client,
    form: &[(&str, &str)],
) -> Result<Reply, HttpError> {
    let send = |auth: ClientAuth| async move {
        let credentials = client
            .credentials(auth)
            .map_err(|reason| HttpError::Other {
                url: url.clone(),
                reason,
            })?;
        let mut fields: Vec<(&str, &str)> = credentials
            .form
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        fields.extend_from_slice(form);
        let basic = credentials
            .basic
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()));
        let reply = http.post_form(url, &fields, basic).await?;
        let mut secrets = secret_values(&fields);
        secrets.extend(basic.map(|(_, password)| password));
        Ok(redacted(reply, &secrets))
    };
    let reply = send(client.auth).await?;
    let other = client.auth.other().filter(|_| client.secret.is_some());
    let (Some(learned), Some(other)) = (&client.learned, other) else {
        return Ok(reply);
    };
    if !refuses_client(&reply) {
        return Ok(reply);
    }
    let retry = send(other).await?;
    if refuses_client(&retry) {
        // Neither way: the secret itself is wrong. The first answer says so.
        return Ok(reply);
    }
    learned.remember(other);
    Ok(retry)
}

/// The fields whose values are secrets (form and Run:ai JSON names): a provider that echoes one
/// back in its error must not get it printed.
const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "client_assertion",
    "password",
    "refresh_token",
    "device_code",
    "code",
    "code_verifier",
    "subject_token",
    "actor_token",
    "token",
    "clientSecret",
    "appSecret",
    "secret",
    "refreshToken",
    "external_token",
    "externalToken",
];

/// The secret values among `fields`.
fn secret_values<'a>(fields: &[(&str, &'a str)]) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(key, _)| SECRET_FIELDS.contains(key))
        .map(|(_, value)| *value)
        .collect()
}

/// A refusal with every secret of the request it answers replaced by `[REDACTED]`; a success is
/// left alone (it carries the new tokens).
fn redacted(mut reply: Reply, secrets: &[&str]) -> Reply {
    if (200..300).contains(&reply.status) {
        return reply;
    }
    let mut text = String::from_utf8_lossy(&reply.body).into_owned();
    let mut changed = false;
    for secret in secrets.iter().filter(|secret| secret.len() >= 4) {
        if text.contains(secret) {
            text = text.replace(secret, "[REDACTED]");
            changed = true;
        }
    }
    if changed {
        reply.body = text.into_bytes();
    }
    reply
}

/// Whether a reply refuses the client's authentication rather than the request: 401, an
/// `invalid_client` error, or a 403 that is not an OAuth error at all.
fn refuses_client(reply: &Reply) -> bool {
    let error = serde_json::from_slice::<ErrorReply>(&reply.body).ok();
    match reply.status {
        401 => true,
        400 | 403 if error.as_ref().is_some_and(|e| e.error == "invalid_client") => true,
        403 => error.is_none(),
        _ => false,
    }
}

/// What the token request asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Grant {
    /// The client's own token (RFC 6749 §4.4).
    ClientCredentials,
    /// A person's username and password (RFC 6749 §4.3).
    Password {
        /// The username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A new token for a refresh token (RFC 6749 §6).
    RefreshToken(Secret),
    /// The token of a device authorization, polled with its device code (RFC 8628).
    DeviceCode(Secret),
    /// Another token exchanged for one of this provider's (RFC 8693).
    TokenExchange {
        /// The token exchanged.
        subject_token: Secret,
        /// Its type (a `urn:ietf:params:oauth:token-type:*`).
        subject_token_type: String,
        /// Keycloak's legacy (V1) external exchange: the alias of the subject token's issuer.
        subject_issuer: Option<String>,
        /// The token type wanted back (RFC 8693 §2.1); the server's default is an access token.
        requested_token_type: Option<String>,
    },
    /// The code a browser sign-in returned (RFC 6749 §4.1, with PKCE).
    AuthorizationCode {
        /// The authorization code.
        code: Secret,
        /// The redirect URI the authorization request sent, byte for byte.
        redirect_uri: String,
        /// PKCE's verifier; `None` where the sign-in sent no challenge
        /// ([`TokenWire::completes_pkce`]).
        code_verifier: Option<Secret>,
    },
}

impl Grant {
    /// The grant's own form fields (RFC 6749, 8628, 8693).
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            Grant::ClientCredentials => vec![("grant_type", "client_credentials")],
            Grant::Password { username, password } => vec![
                ("grant_type", "password"),
                ("username", username),
                ("password", password.expose()),
            ],
            Grant::RefreshToken(token) => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.expose()),
            ],
            Grant::DeviceCode(code) => vec![
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", code.expose()),
            ],
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                let mut fields = vec![
                    ("grant_type", "authorization_code"),
                    ("code", code.expose()),
                    ("redirect_uri", redirect_uri.as_str()),
                ];
                if let Some(verifier) = code_verifier {
                    fields.push(("code_verifier", verifier.expose()));
                }
                fields
            }
            Grant::TokenExchange {
                subject_token,
                subject_token_type,
                subject_issuer,
                requested_token_type,
            } => {
                let mut fields = vec![
                    ("grant_type", TOKEN_EXCHANGE_GRANT),
                    ("subject_token", subject_token.expose()),
                    ("subject_token_type", subject_token_type.as_str()),
                ];
                if let Some(alias) = subject_issuer {
                    fields.push(("subject_issuer", alias.as_str()));
                }
                if let Some(wanted) = requested_token_type {
                    fields.push((REQUESTED_TOKEN_TYPE, wanted.as_str()));
                }
                fields
            }
        }
    }
}

/// What a successful token request gave.
#[derive(Clone, Debug)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// Its type (`Bearer`).
    pub token_type: String,
    /// How long the access token lives: `expires_in`, else the access token's `exp`.
    pub lifetime: Option<Lifetime>,
    /// The refresh token, when the provider gave one.
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect ID token, when the provider gave one.
    pub id_token: Option<Secret>,
    /// The granted scope, when the provider says.
    pub scope: Option<String>,
    /// The endpoint that answered when it was not the one asked but its older fallback
    /// ([`crate::Endpoints::token_fallback`]): the login records it.
    pub token_endpoint: Option<Url>,
}

/// The longest an access token is believed to live; a provider that says more is read as this.
pub(crate) const MAX_TOKEN_LIFETIME: u64 = 365 * 24 * 3600;

/// How long an access token lives, as the provider said it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// `expires_in`: seconds from when the reply came (at most a year).
    Seconds(u64),
    /// The token's own `exp` claim, seconds since the epoch.
    Until(i64),
}

impl Lifetime {
    /// The expiry instant for a reply received at `now`; never overflows.
    pub fn expires_at(self, now: i64) -> i64 {
        match self {
            Lifetime::Seconds(seconds) => {
                now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX))
            }
            Lifetime::Until(at) => at,
        }
    }
}

/// A count of seconds from a provider (`expires_in`, `interval`): an integer, a float or a
/// numeric string, clamped to `0..=max`; anything else is `None`. Never panics or wraps.
pub(crate) fn seconds_value(field: &str, value: &serde_json::Value, max: u64) -> Option<u64> {
    let number = match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(number) = number.filter(|n| n.is_finite()) else {
        tracing::warn!("{field} is not a number of seconds; ignored");
        return None;
    };
    if number < 0.0 {
        tracing::warn!("{field} is negative ({number}); read as 0");
        return Some(0);
    }
    if number > max as f64 {
        tracing::warn!("{field} is {number} seconds; read as {max}");
        return Some(max);
    }
    // In range: the float-to-integer conversion is exact for whole seconds and truncates the rest.
    Some(number as u64)
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    #[error("the identity provider refused the request: {}{}{}{}", crate::text::one_line(.error, 60), describe(.description), hint(.error, *.status, .details.codes.first().copied()), correlation(.details))]
    /// The provider answered with an OAuth error (RFC 6749 §5.2).
    Provider {
        /// Its `error` code (`invalid_grant`, …).
        error: String,
        /// Its `error_description`.
        description: Option<String>,
        /// The HTTP status.
        status: u16,
        /// What Entra ID adds.
        details: Box<ProviderDetails>,
    },
    #[error("{url} answered HTTP {status} with {what}, not an OAuth reply{}", status_hint(*.status))]
    /// The endpoint's reply is not an OAuth reply (an HTML page, a proxy's error).
    Reply {
        /// The endpoint.
        url: Url,
        /// The HTTP status.
        status: u16,
        /// What the reply was instead.
        what: String,
    },
    #[error(transparent)]
    /// The request did not get a reply.
    Http(#[from] HttpError),
}

/// What Entra ID adds to an OAuth error: its AADSTS codes, a sub-error, the correlation id its
/// support asks for, and a Conditional Access claims challenge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderDetails {
    /// The AADSTS error codes.
    pub codes: Vec<u64>,
    /// The sub-error (`consent_required`, `bad_token`, …).
    pub suberror: Option<String>,
    /// The correlation id support asks for.
    pub correlation_id: Option<String>,
    /// A Conditional Access claims challenge, for the next sign-in.
    pub claims: Option<String>,
}

/// The refusals of a refresh that mean a person must sign in again: the grant is gone
/// (`invalid_grant`), or the provider wants the person back (MFA step-up, consent): MSAL
/// prompts on `interaction_required` (learn.microsoft.com, "MSAL error handling").
pub(crate) const SIGN_IN_AGAIN: [&str; 4] = [
    "invalid_grant",
    "interaction_required",
    "login_required",
    "consent_required",
];

impl OAuthError {
    /// The OAuth `error` code, when the provider sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            OAuthError::Provider { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The provider's error without details (a dialect's own error shapes, say).
    pub fn provider(error: impl Into<String>, description: Option<String>, status: u16) -> Self {
        OAuthError::Provider {
            error: error.into(),
            description,
            status,
            details: Box::default(),
        }
    }

    /// Entra ID's first AADSTS code, when it sent one.
    pub(crate) fn first_code(&self) -> Option<u64> {
        match self {
            OAuthError::Provider { details, .. } => details.codes.first().copied(),
            _ => None,
        }
    }
}

fn correlation(details: &ProviderDetails) -> String {
    details
        .correlation_id
        .as_deref()
        .map(|id| format!(" (correlation id {})", crate::text::one_line(id, 60)))
        .unwrap_or_default()
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(text) if !text.is_empty() => format!(" ({})", crate::text::one_line(text, 200)),
        _ => String::new(),
    }
}

/// The way out, by Entra ID's code first (a code says more than the OAuth error), else by the
/// OAuth error.
fn hint(error: &str, status: u16, code: Option<u64>) -> &'static str {
    match code {
        Some(7000218) => {
            return ": public client flows are off for this app registration: enable \"Allow public client flows\" under Authentication in Entra ID";
        }
        Some(50076 | 50079 | 53003 | 530033) => {
            return ": the tenant requires multi-factor authentication or a compliant device for this sign-in: sign in with --flow browser";
        }
        Some(65001) => {
            return ": the app has no consent for these permissions: ask an administrator to grant consent";
        }
        Some(700082 | 70043) => return ": the sign-in expired; log in again",
        _ => {}
    }
    match error {
        "invalid_client" => ": check client-id and the client secret of the provider entry",
        "invalid_grant" => ": the credentials or the session are not valid; log in again",
        "invalid_scope" => {
            ": the provider does not grant the scopes asked for; check --scope and the provider's scopes"
        }
        "unauthorized_client" => ": this client may not use this flow; check its app registration",
        "unsupported_grant_type" => {
            ": the provider does not offer this flow; pick another with --flow"
        }
        // Auth0 refuses a client's secret, its way of sending it or an unknown audience with a
        // 401 access_denied at the token endpoint (auth0/node-auth0#682), not a person's no.
        "access_denied" if status == 401 => {
            ": the provider refused this client: check the client secret, how it is sent (client-auth: basic or post, as the app's Token Endpoint Authentication Method says) and the audience"
        }
        "access_denied" => ": the sign-in was declined",
        "expired_token" => ": the code expired before the sign-in finished; run the login again",
        _ => "",
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        500..=599 => "; the identity provider has a problem, try again later",
        404 => "; check the provider's server, realm, tenant or domain",
        _ => "",
    }
}

#[derive(Deserialize)]
struct ErrorReply {
    error: String,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
    #[serde(default)]
    suberror: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    claims: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// The lifetime a JWT access token states by its `exp` claim.
pub fn jwt_lifetime(token: &str) -> Option<Lifetime> {
    jwt::decode(token).ok()?.expires_at().map(Lifetime::Until)
}

/// One token request, before a dialect puts it on the wire.
#[derive(Clone, Copy, Debug)]
pub struct TokenRequest<'a> {
    /// The token endpoint.
    pub url: &'a Url,
    /// The client asking.
    pub client: &'a Client,
    /// What it asks for.
    pub grant: &'a Grant,
    /// The scopes asked for (empty: the provider's default).
    pub scopes: &'a [String],
    /// The dialect's extra parameters (Auth0's `audience`, say).
    pub extra: &'a [(String, String)],
    /// Where to ask once more when `url` answers 404 (a server older than the API asked).
    pub fallback: Option<&'a Url>,
}

/// A token request as a dialect's endpoint takes it.
#[derive(Debug)]
#[non_exhaustive]
pub enum WireRequest {
    /// A form, sent with the client's authentication (by `client_secret_basic`, `_post` or a signed assertion).
    Form {
        /// Where it goes.
        url: Url,
        /// The form's fields.
        fields: Vec<(String, String)>,
    },
    /// A form whose fields name the client themselves (Run:ai's v2), sent as it is.
    OwnForm {
        /// Where it goes.
        url: Url,
        /// The form's fields, the client's id and secret among them.
        fields: Vec<(String, String)>,
    },
    /// A JSON body (Run:ai's API), sent with no client authentication of its own.
    Json {
        /// Where it goes.
        url: Url,
        /// The body.
        body: serde_json::Value,
    },
}

impl WireRequest {
    fn url(&self) -> &Url {
        match self {
            WireRequest::Form { url, .. }
            | WireRequest::OwnForm { url, .. }
            | WireRequest::Json { url, .. } => url,
        }
    }
}

/// How a dialect speaks to its token endpoint: [`OAuthWire`] unless the dialect has its own.
pub trait TokenWire: Send + Sync {
    /// Puts a token request on this endpoint's wire.
    fn encode(&self, request: &TokenRequest<'_>) -> Result<WireRequest, OAuthError>;
    /// Reads this endpoint's reply (`url` answered it) into tokens, or its refusal into an [`OAuthError`].
    fn decode(&self, url: &Url, reply: &Reply) -> Result<TokenSet, OAuthError>;

    /// Whether the token request can carry PKCE's verifier: where it cannot, the sign-in page
    /// is sent no challenge, or the code could not be redeemed.
    fn completes_pkce(&self) -> bool {
        true
    }

    /// Whether a refused refresh means a person must sign in again (`invalid_grant`, or a step-up or consent the provider asks for).
    fn refused_refresh(&self, error: &OAuthError) -> bool {
        error
            .code()
            .is_some_and(|code| SIGN_IN_AGAIN.contains(&code))
    }
}

impl std::fmt::Debug for dyn TokenWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenWire")
    }
}

/// RFC 6749: a form with the grant's fields, `scope` when there are scopes, and the dialect's
/// extra parameters, sent as the client (by `client_secret_basic`, `_post` or a signed assertion); a JSON reply.
pub struct OAuthWire;

impl TokenWire for OAuthWire {
    fn encode(&self, request: &TokenRequest<'_>) -> Result<WireRequest, OAuthError> {
        let mut fields: Vec<(String, String)> = request
            .grant
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if !request.scopes.is_empty() {
            fields.push(("scope".into(), request.scopes.join(" ")));
        }
        fields.extend(request.extra.iter().cloned());
        Ok(WireRequest::Form {
            url: request.url.clone(),
            fields,
        })
    }

    fn decode(&self, url: &Url, reply: &Reply) -> Result<TokenSet, OAuthError> {
        parse_token_reply(url, reply)
    }
}

/// Sends a token request in the dialect's wire format and reads the reply.
pub(crate) async fn request_token(
    http: &HttpClient,
    wire: &dyn TokenWire,
    request: &TokenRequest<'_>,
) -> Result<TokenSet, OAuthError> {
    let reply = send_token_request(http, wire, request)
        .await
        .and_then(|tokens| checked_tokens(request.url, tokens));
    if let (
        Err(OAuthError::Provider { status: 404, .. } | OAuthError::Reply { status: 404, .. }),
        Some(older),
    ) = (&reply, request.fallback)
    {
        tracing::debug!("{} answered 404: asking the older {older}", request.url);
        let older_request = TokenRequest {
            url: older,
            fallback: None,
            ..*request
        };
        let mut tokens =
            checked_tokens(older, send_token_request(http, wire, &older_request).await?)?;
        tokens.token_endpoint = Some(older.clone());
        return Ok(tokens);
    }
    reply
}

/// The most a reply's tokens may hold together (Entra ID's with 200 groups are about 10 KiB): a
/// login's file then grows by less than the room set aside before a refresh.
pub(crate) const MAX_TOKENS_BYTES: usize = 60 * 1024;

/// RFC 6750's `token68`: the characters a bearer token may have in an `Authorization` header
/// (and so in a shell, git's credential protocol or a terminal, harmlessly).
pub(crate) fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The tokens of a reply, refused when the access or ID token is not `token68`, or the refresh
/// token has characters outside RFC 6749's VSCHAR (%x20-7E): a hostile provider's newlines or
/// escape sequences never reach a shell, git or a terminal. The token is not shown.
fn checked_tokens(url: &Url, tokens: TokenSet) -> Result<TokenSet, OAuthError> {
    let refuse = |what: &str| OAuthError::Reply {
        url: url.clone(),
        status: 200,
        what: format!("{what} (it is not shown)"),
    };
    let size: usize = [
        Some(&tokens.access_token),
        tokens.id_token.as_ref(),
        tokens.refresh_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|token| token.expose().len())
    .sum();
    if size > MAX_TOKENS_BYTES {
        return Err(refuse(&format!(
            "tokens of {size} bytes together, more than the {MAX_TOKENS_BYTES} a login keeps"
        )));
    }
    if !is_token68(tokens.access_token.expose()) {
        return Err(refuse(
            "an access token with characters a bearer token may not have (RFC 6750 token68)",
        ));
    }
    if tokens
        .id_token
        .as_ref()
        .is_some_and(|id| !is_token68(id.expose()))
    {
        return Err(refuse("an ID token that is not a JWT's characters"));
    }
    if tokens
        .refresh_token
        .as_ref()
        .is_some_and(|rt| !rt.expose().bytes().all(|b| (0x20..=0x7e).contains(&b)))
    {
        return Err(refuse(
            "a refresh token with control or non-ASCII characters (RFC 6749 VSCHAR)",
        ));
    }
    Ok(tokens)
}

async fn send_token_request(
    http: &HttpClient,
    wire: &dyn TokenWire,
    request: &TokenRequest<'_>,
) -> Result<TokenSet, OAuthError> {
    let encoded = wire.encode(request)?;
    let url = encoded.url().clone();
    let reply = match &encoded {
        WireRequest::Form { fields, .. } => {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post_as_client(http, &url, request.client, &pairs).await?
        }
        WireRequest::OwnForm { fields, .. } => {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let reply = http.post_form(&url, &pairs, None).await?;
            redacted(reply, &secret_values(&pairs))
        }
        WireRequest::Json { body, .. } => {
            let reply = http.post_json(&url, body).await?;
            let fields: Vec<(&str, &str)> = body
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(key, value)| Some((key.as_str(), value.as_str()?)))
                .collect();
            redacted(reply, &secret_values(&fields))
        }
    };
    wire.decode(&url, &reply)
}

/// Reads a token endpoint's reply.
pub fn parse_token_reply(url: &Url, reply: &Reply) -> Result<TokenSet, OAuthError> {
    if (200..300).contains(&reply.status) {
        let parsed: TokenReply =
            serde_json::from_slice(&reply.body).map_err(|_| OAuthError::Reply {
                url: url.clone(),
                status: reply.status,
                what: what_it_was(reply),
            })?;
        let lifetime = parsed
            .expires_in
            .as_ref()
            .and_then(|v| seconds_value("expires_in", v, MAX_TOKEN_LIFETIME))
            .map(Lifetime::Seconds)
            .or_else(|| jwt_lifetime(&parsed.access_token));
        return Ok(TokenSet {
            access_token: Secret::new(parsed.access_token),
            token_type: parsed.token_type.unwrap_or_else(|| "Bearer".into()),
            lifetime,
            refresh_token: parsed.refresh_token.map(Secret::new),
            id_token: parsed.id_token.map(Secret::new),
            scope: parsed.scope,
            token_endpoint: None,
        });
    }
    Err(provider_error(url, reply))
}

/// The provider's OAuth error, or a description of the odd reply it sent instead.
pub fn provider_error(url: &Url, reply: &Reply) -> OAuthError {
    match serde_json::from_slice::<ErrorReply>(&reply.body) {
        Ok(error) => OAuthError::Provider {
            error: crate::text::one_line(&error.error, 60),
            description: error.error_description,
            status: reply.status,
            details: Box::new(ProviderDetails {
                codes: error.error_codes,
                suberror: error.suberror,
                correlation_id: error.correlation_id,
                claims: error.claims,
            }),
        },
        Err(_) => OAuthError::Reply {
            url: url.clone(),
            status: reply.status,
            what: what_it_was(reply),
        },
    }
}

/// "an HTML page", "an empty body", "text that is not JSON", … for messages.
fn what_it_was(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body);
    let start = text.trim_start().to_ascii_lowercase();
    if reply.body.is_empty() {
        "an empty body".into()
    } else if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "an HTML page".into()
    } else if reply.is_json() || start.starts_with('{') {
        "JSON that is not a token reply (cut short, or missing access_token)".into()
    } else {
        "text that is not JSON".into()
    }
}

/// RFC 8628 device authorization reply.
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    /// The code polled with.
    pub device_code: Secret,
    /// The code the person enters.
    pub user_code: String,
    /// Azure v1 said `verification_url`.
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    #[serde(default)]
    /// The page with the code filled in, if the provider offers one.
    pub verification_uri_complete: Option<String>,
    /// Seconds the code lives, at most a day.
    #[serde(deserialize_with = "device_expiry")]
    pub expires_in: u64,
    /// Seconds between polls, at most five minutes.
    #[serde(default, deserialize_with = "device_interval")]
    pub interval: Option<u64>,
    #[serde(default)]
    /// The provider's own instructions, if any.
    pub message: Option<String>,
}

/// A device code is read as living at most this long, whatever the provider says.
pub(crate) const MAX_DEVICE_CODE_LIFETIME: u64 = 24 * 3600;
/// Polls are at most this far apart, whatever the provider says.
pub(crate) const MAX_DEVICE_INTERVAL: u64 = 300;

fn device_expiry<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    seconds_value("expires_in", &value, MAX_DEVICE_CODE_LIFETIME)
        .ok_or_else(|| serde::de::Error::custom("expires_in is not a number of seconds"))
}

fn device_interval<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(seconds_value("interval", &value, MAX_DEVICE_INTERVAL))
}

/// Starts a device authorization.
pub(crate) async fn device_authorization(
    http: &HttpClient,
    url: &Url,
    client: &Client,
    scopes: &[String],
    extra: &[(String, String)],
) -> Result<DeviceAuthorization, OAuthError> {
    let scope = scopes.join(" ");
    let mut form = Vec::new();
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    form.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let reply = post_as_client(http, url, client, &form).await?;
    if !(200..300).contains(&reply.status) {
        return Err(provider_error(url, &reply));
    }
    serde_json::from_slice(&reply.body).map_err(|_| OAuthError::Reply {
        url: url.clone(),
        status: reply.status,
        what: what_it_was(&reply),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: Some("application/json".into()),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn only_a_refused_client_is_tried_the_other_way() {
        for (status, body) in [
            (401, ""),
            (401, r#"{"error":"invalid_client"}"#),
            (400, r#"{"error":"invalid_client","error_description":"x"}"#),
            (403, ""),
            (403, "<html>Forbidden</html>"),
        ] {
            assert!(refuses_client(&reply(status, body)), "{status} {body}");
        }
        for (status, body) in [
            (403, r#"{"error":"access_denied"}"#),
            (400, r#"{"error":"invalid_grant"}"#),
            (400, ""),
            (200, r#"{"access_token":"x"}"#),
        ] {
            assert!(!refuses_client(&reply(status, body)), "{status} {body}");
        }
    }

    fn url() -> Url {
        Url::parse("https://idp.example/token").unwrap()
    }

    #[test]
    fn a_token_reply_gives_the_expiry_from_expires_in() {
        let set = parse_token_reply(
            &url(),
            &reply(
                200,
                r#"{"access_token":"at","expires_in":"60","refresh_token":"rt"}"#,
            ),
        )
        .unwrap();
        assert_eq!(set.lifetime, Some(Lifetime::Seconds(60)));
        assert_eq!(set.token_type, "Bearer");
        assert_eq!(set.refresh_token.unwrap().expose(), "rt");
    }

    #[test]
    fn absurd_numbers_of_seconds_are_clamped_never_wrapped() {
        let lifetime = |expires_in: &str| {
            parse_token_reply(
                &url(),
                &reply(
                    200,
                    &format!(r#"{{"access_token":"at","expires_in":{expires_in}}}"#),
                ),
            )
            .unwrap()
            .lifetime
        };
        assert_eq!(lifetime("60.0"), Some(Lifetime::Seconds(60)), "a float");
        assert_eq!(lifetime("\"60.5\""), Some(Lifetime::Seconds(60)));
        assert_eq!(
            lifetime("9223372036854775807"),
            Some(Lifetime::Seconds(MAX_TOKEN_LIFETIME))
        );
        assert_eq!(lifetime("-9223372036854775807"), Some(Lifetime::Seconds(0)));
        assert_eq!(lifetime("\"soon\""), None);
        assert_eq!(
            Lifetime::Seconds(u64::MAX).expires_at(i64::MAX - 1),
            i64::MAX
        );

        let device: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code":"d","user_code":"u","verification_uri":"https://x","expires_in":18446744073709551615,"interval":18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(device.expires_in, MAX_DEVICE_CODE_LIFETIME);
        assert_eq!(device.interval, Some(MAX_DEVICE_INTERVAL));
    }

    #[test]
    fn provider_errors_say_what_to_do_and_odd_replies_what_they_were() {
        let err = parse_token_reply(
            &url(),
            &reply(
                401,
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(err.code(), Some("invalid_client"));
        assert!(err.to_string().contains("check client-id"), "{err}");

        // Entra ID's code says more than the OAuth error, and its correlation id is kept.
        for (code, way_out) in [
            (7000218, "Allow public client flows"),
            (53003, "--flow browser"),
            (65001, "ask an administrator"),
            (70043, "log in again"),
        ] {
            let body = format!(
                r#"{{"error":"invalid_grant","error_description":"AADSTS{code}: x","error_codes":[{code}],"correlation_id":"c-1"}}"#
            );
            let err = parse_token_reply(&url(), &reply(400, &body)).unwrap_err();
            assert_eq!(err.first_code(), Some(code));
            let text = err.to_string();
            assert!(text.contains(way_out), "{code}: {text}");
            assert!(text.ends_with("(correlation id c-1)"), "{text}");
            assert!(!text.contains("credentials or the session"), "{text}");
        }

        let html = Reply {
            status: 502,
            content_type: Some("text/html".into()),
            headers: Vec::new(),
            body: b"<html>bad gateway</html>".to_vec(),
        };
        let err = parse_token_reply(&url(), &html).unwrap_err().to_string();
        assert!(
            err.contains("HTTP 502 with an HTML page") && err.contains("try again later"),
            "{err}"
        );

        let truncated = parse_token_reply(&url(), &reply(200, r#"{"access_tok"#))
            .unwrap_err()
            .to_string();
        assert!(
            truncated.contains("JSON that is not a token reply"),
            "{truncated}"
        );
    }

    #[test]
    fn an_error_description_is_kept_to_one_short_line() {
        let long = format!(
            r#"{{"error":"invalid_grant","error_description":"{}\nsecond line"}}"#,
            "x".repeat(500)
        );
        let err = parse_token_reply(&url(), &reply(400, &long))
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n'));
        assert!(err.len() < 400, "{err}");
    }
}
