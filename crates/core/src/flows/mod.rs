//! The grant flows: resolving a provider entry into endpoints, client and scopes, then running
//! a flow. The flows are written once here; a dialect contributes only through
//! [`crate::Provider`] (its endpoints, standard scopes and extra parameters).
#![doc(hidden)]

use std::time::Duration;

use serde::Deserialize;
use url::Url;

mod browser;
mod target;

use crate::client_auth::{ClientAuth, ClientKey, KeySource, Learned};
use crate::config::{self, ContextEntry, ProviderEntry, SubjectSource};
use crate::http::HttpClient;
use crate::oauth::{self, Client, Grant, OAuthError, TokenRequest, TokenSet};
use crate::provider::fields::{self, SCOPE_PREFIX};
use crate::provider::{AssertionAudience, Endpoints, Flow, ProviderConfig};
use crate::secret::Secret;
use crate::tls::TlsTrust;
pub use browser::{BrowserOpener, Request as CallbackRequest, parse_callback_request};
pub use target::{
    LoginError, LoginUi, Redirect, Target, verify_id_token, verify_refreshed_id_token,
};

/// Where the client secret comes from, in order: what the caller read (`--client-secret-stdin`),
/// `client-secret-env`, `client-secret-file`, then an inline `client-secret`.
pub fn client_secret(
    entry: &ProviderEntry,
    given: Option<Secret>,
) -> Result<Option<Secret>, LoginError> {
    if given.is_some() {
        return Ok(given);
    }
    let config = entry.as_config();
    let problem = |message: String| LoginError::Config {
        provider: entry.name.clone(),
        message,
    };
    if let Some(var) = config.text("client-secret-env") {
        return match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
            _ => Err(problem(format!(
                "{var} is not set (client-secret-env names it): export it"
            ))),
        };
    }
    if let Some(path) = config.text("client-secret-file") {
        return match crate::fsutil::read_user_text(std::path::Path::new(path)) {
            Ok(text) if !text.trim().is_empty() => Ok(Some(Secret::new(text.trim().to_owned()))),
            Ok(_) => Err(problem(format!("client-secret-file {path} is empty"))),
            Err(err) => Err(problem(format!(
                "cannot read client-secret-file {path}: {err}"
            ))),
        };
    }
    Ok(config.text("client-secret").map(Secret::new))
}

/// The context's `subject-token` (or `client-assertion`) source, when it names one.
fn source_of(field: &str, text: Option<&str>) -> Result<Option<SubjectSource>, String> {
    text.map(|text| SubjectSource::parse_field(text, field))
        .transpose()
}

/// The GitHub Actions runner's variables for its ID token service.
const ACTIONS_URL_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
const ACTIONS_TOKEN_ENV: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// The largest reply of a CI token service read.
const MAX_CI_REPLY: usize = 64 * 1024;

/// The token `source` holds now (read again at every renewal): `field` is the context key
/// that names it, for messages.
async fn read_source(
    http: &HttpClient,
    target: &Target,
    source: &SubjectSource,
    field: &str,
) -> Result<Secret, LoginError> {
    let problem = |message: String| LoginError::Config {
        provider: target.provider.clone(),
        message,
    };
    let text = match source {
        SubjectSource::Env(name) => std::env::var(name).map_err(|_| {
            problem(format!(
                "{field} names {source}, which is not set in this environment"
            ))
        })?,
        SubjectSource::File(path) => crate::fsutil::read_user_text(path).map_err(|err| {
            problem(format!(
                "cannot read {field} file {}: {err}",
                path.display()
            ))
        })?,
        SubjectSource::GithubActions => github_actions_token(http, &target.ci_audience)
            .await
            .map_err(|message| problem(format!("{field} {source}: {message}")))?,
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(problem(format!("{field} {source}: the token is empty")));
    }
    Ok(Secret::new(token.to_owned()))
}

/// A GitHub Actions job's ID token for `audience`, from the runner's token service (the job
/// needs `permissions: id-token: write`, which sets the two variables).
async fn github_actions_token(http: &HttpClient, audience: &str) -> Result<String, String> {
    let (Ok(url), Ok(bearer)) = (
        std::env::var(ACTIONS_URL_ENV),
        std::env::var(ACTIONS_TOKEN_ENV),
    ) else {
        return Err(format!(
            "{ACTIONS_URL_ENV} and {ACTIONS_TOKEN_ENV} are not set: not in a GitHub Actions job, or the job lacks `permissions: id-token: write`"
        ));
    };
    let mut url =
        Url::parse(&url).map_err(|err| format!("{ACTIONS_URL_ENV} is not a URL: {err}"))?;
    url.query_pairs_mut().append_pair("audience", audience);
    // The runner's service is not the provider: the system's roots, not a provider's CA.
    let runner = HttpClient::new(http.timeout()).map_err(|err| err.to_string())?;
    let headers = [("accept".to_owned(), "application/json".to_owned())];
    let reply = runner
        .request(
            "GET",
            &url,
            &headers,
            None,
            Some(&Secret::new(bearer)),
            MAX_CI_REPLY,
        )
        .await
        .map_err(|err| err.to_string())?;
    #[derive(Deserialize)]
    struct IdToken {
        value: String,
    }
    if reply.status != 200 {
        return Err(format!(
            "the runner's token service answered HTTP {}",
            reply.status
        ));
    }
    serde_json::from_slice::<IdToken>(&reply.body)
        .map(|token| token.value)
        .map_err(|_| "the runner's token service sent no `value`".to_owned())
}

/// The dialect of `entry`, when it has the flow asked for.
fn dialect_for(
    entry: &ProviderEntry,
    flow: Flow,
) -> Result<&'static dyn crate::provider::Provider, LoginError> {
    let dialect = entry.dialect().ok_or_else(|| LoginError::Config {
        provider: entry.name.clone(),
        message: format!("unknown provider kind `{}`", entry.kind),
    })?;
    if dialect.flows().contains(&flow) {
        return Ok(dialect);
    }
    Err(LoginError::Unsupported {
        provider: entry.name.clone(),
        kind: dialect.kind(),
        flow,
        supported: dialect
            .flows()
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// `authorize-params: max_age`, in seconds.
fn max_age(overlay: &indexmap::IndexMap<String, String>) -> Result<Option<u64>, String> {
    match overlay.get("max_age").filter(|v| !v.is_empty()) {
        Some(text) => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("authorize-params: max_age is {text:?}, not a number of seconds")),
        None => Ok(None),
    }
}

/// The type of the token an exchange sends: the context's `subject-token-type`, else the
/// dialect's.
fn subject_token_type(
    context: Option<&ContextEntry>,
    dialect: &dyn crate::provider::Provider,
) -> Result<Option<String>, String> {
    match context.and_then(|c| c.subject_token_type.as_deref()) {
        Some(text) => config::subject_token_type(text).map(Some),
        None => Ok(dialect.subject_token_type().map(str::to_owned)),
    }
}

/// A sign-in setting a context may set over its provider's (`browser`, `listen-address`,
/// `sign-in-timeout`): the context's, else the provider's, as written.
pub fn sign_in_setting<'a>(
    config: &ProviderConfig<'a>,
    context: Option<&'a ContextEntry>,
    field: &crate::provider::FieldSpec,
) -> Option<&'a str> {
    let set = context.and_then(|context| match field.name {
        "browser" => context.browser.as_deref(),
        "listen-address" => context.listen_address.as_deref(),
        "sign-in-timeout" => context.sign_in_timeout.as_deref(),
        _ => None,
    });
    set.or_else(|| config.text(field.name))
}

/// How long a sign-in waits: its `sign-in-timeout`, else the default.
fn sign_in_timeout(
    config: &ProviderConfig<'_>,
    context: Option<&ContextEntry>,
) -> std::time::Duration {
    sign_in_setting(config, context, &fields::SIGN_IN_TIMEOUT)
        .and_then(|text| crate::provider::parse_duration(text).ok())
        .unwrap_or(browser::SIGN_IN_TIMEOUT)
}

/// Resolves what a flow needs from a provider entry (and the context using it, if any).
/// `sign_in_params` (`--prompt`, `--login-hint`, …) are laid over `authorize-params` as a
/// context's are laid over its provider's; the protocol's own parameters are refused.
pub async fn resolve(
    http: &HttpClient,
    entry: &ProviderEntry,
    context: Option<&ContextEntry>,
    flow: Flow,
    scope_override: &[String],
    sign_in_params: &[(String, String)],
    secret: Option<Secret>,
) -> Result<Target, LoginError> {
    let dialect = dialect_for(entry, flow)?;
    let config = entry.as_config();
    let problem = |message: String| LoginError::Config {
        provider: entry.name.clone(),
        message,
    };
    let mut endpoints = dialect
        .endpoints(&config)
        .map_err(|err| problem(err.to_string()))?;
    let listed = match (&endpoints.token, endpoints.discovery.clone()) {
        (Some(_), _) => None,
        (None, Some(url)) => discover(http, &url, &mut endpoints).await?,
        (None, None) => Err(problem(
            "the provider has no token endpoint and no discovery document".into(),
        ))?,
    };
    let requested_scopes = with_prefix(
        config.text(SCOPE_PREFIX.name),
        requested_scopes(entry, context, scope_override),
    );
    dialect
        .check_request(&config, flow, &requested_scopes)
        .map_err(&problem)?;
    let mut scopes = requested_scopes.clone();
    for standard in standard_scopes(&config, dialect, flow, &endpoints) {
        if !scopes.contains(&standard) {
            scopes.push(standard);
        }
    }
    let mut overlay = authorize_params(entry, context);
    for (name, value) in sign_in_params {
        crate::provider::check_authorize_param(name).map_err(&problem)?;
        overlay.insert(name.clone(), value.clone());
    }
    let params =
        Params::of(dialect, &config, flow, &endpoints, &scopes, overlay).map_err(&problem)?;
    let ci_audience = ci_audience(context, dialect, &endpoints);
    Ok(Target {
        provider: entry.name.clone(),
        kind: dialect.kind(),
        client: client_of(
            &config,
            client_secret(entry, secret)?,
            &endpoints,
            listed.as_deref(),
            dialect.assertion_audience(),
        )
        .map_err(problem)?,
        authorize_params: params.authorize,
        device_params: params.device,
        extra: params.extra,
        max_age: params.max_age,
        sign_in_timeout: sign_in_timeout(&config, context),
        redirect: redirect(&config, context, dialect, &endpoints).map_err(&problem)?,
        endpoints,
        wire: dialect.token_wire(&config),
        device_flow: dialect.flows().contains(&Flow::Device),
        subject: source_of(
            "subject-token",
            context.and_then(|c| c.subject_token.as_deref()),
        )
        .map_err(problem)?,
        client_assertion: source_of(
            "client-assertion",
            context.and_then(|c| c.client_assertion.as_deref()),
        )
        .map_err(problem)?,
        subject_issuer: context.and_then(|c| c.subject_issuer.clone()),
        ci_audience,
        subject_token_type: subject_token_type(context, dialect).map_err(problem)?,
        requested_token_type: params.requested_token_type,
        scopes,
        requested_scopes,
    })
}

/// The audience a CI token is asked for: the context's `ci-token-audience`, else the dialect's,
/// else the issuer.
fn ci_audience(
    context: Option<&ContextEntry>,
    dialect: &dyn crate::Provider,
    endpoints: &Endpoints,
) -> String {
    context
        .and_then(|c| c.ci_token_audience.clone())
        .or_else(|| dialect.ci_token_audience().map(str::to_owned))
        .or_else(|| endpoints.issuer.as_ref().map(ToString::to_string))
        .unwrap_or_default()
}

/// The parameters of each request, from the dialect's and the entry's `authorize-params`.
struct Params {
    authorize: Vec<(String, String)>,
    device: Vec<(String, String)>,
    /// On every token request, refreshes included.
    extra: Vec<(String, String)>,
    max_age: Option<u64>,
    requested_token_type: Option<String>,
}

impl Params {
    fn of(
        dialect: &dyn crate::Provider,
        config: &ProviderConfig<'_>,
        flow: Flow,
        endpoints: &Endpoints,
        scopes: &[String],
        mut overlay: indexmap::IndexMap<String, String>,
    ) -> Result<Params, String> {
        // Not an authorization parameter: RFC 8693's, sent on the exchange only.
        let requested_token_type = overlay
            .shift_remove(crate::oauth::REQUESTED_TOKEN_TYPE)
            .filter(|text| !text.is_empty())
            .map(|text| config::token_type("authorize-params: requested_token_type", &text))
            .transpose()?;
        let extra = dialect.extra_params(config, flow);
        let authorize = with_overlay(
            extra
                .iter()
                .cloned()
                .chain(dialect.authorize_params(config, endpoints, scopes))
                .collect(),
            &overlay,
        );
        let device = with_overlay(extra.clone(), &overlay);
        // The token's audience (RFC 8707 `resource`, Auth0's `audience`) goes on every token
        // request too, refreshes included.
        let audience: indexmap::IndexMap<String, String> = overlay
            .iter()
            .filter(|(key, _)| crate::provider::AUDIENCE_PARAMS.contains(&key.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Params {
            authorize,
            device,
            extra: with_overlay(extra, &audience),
            max_age: max_age(&overlay)?,
            requested_token_type,
        })
    }
}

/// The entry's `client-auth`, when it fixes one (a validated entry names one of
/// [`ClientAuth::NAMES`]).
fn client_auth(config: &ProviderConfig<'_>) -> Option<ClientAuth> {
    config.text("client-auth").and_then(ClientAuth::parse)
}

/// The key the client authenticates with (`private_key_jwt`): `client-key-file`, else
/// `client-key-keyring`, unless `client-auth` names another way.
pub fn client_key<'a>(config: &ProviderConfig<'a>) -> Option<KeySource<'a>> {
    let source = config
        .text("client-key-file")
        .map(KeySource::File)
        .or_else(|| config.text("client-key-keyring").map(KeySource::Keyring))?;
    matches!(client_auth(config), None | Some(ClientAuth::PrivateKeyJwt)).then_some(source)
}

/// The client as the entry registers it. `client-auth` fixes how it authenticates; a
/// client key means `private_key_jwt`; else the way that worked last at this token
/// endpoint, else the one discovery's `listed` methods prefer.
fn client_of(
    config: &ProviderConfig<'_>,
    secret: Option<Secret>,
    endpoints: &Endpoints,
    listed: Option<&[String]>,
    audience: AssertionAudience,
) -> Result<Client, String> {
    let id = config.text("client-id").unwrap_or_default().to_owned();
    let fixed = client_auth(config);
    if fixed == Some(ClientAuth::PrivateKeyJwt) && client_key(config).is_none() {
        return Err("client-auth: private-key-jwt needs client-key-file (a PEM key) or a key given with `config set-provider --client-key-stdin`".into());
    }
    if let Some(source) = client_key(config) {
        let key = ClientKey::load(source, config.text("client-certificate-file"))?;
        let audience = match (audience, &endpoints.issuer, &endpoints.token) {
            (AssertionAudience::Issuer, Some(issuer), _) => {
                issuer.as_str().trim_end_matches('/').to_owned()
            }
            (AssertionAudience::IssuerAsIs, Some(issuer), _) => issuer.to_string(),
            (_, _, Some(token)) => token.to_string(),
            _ => {
                return Err(
                    "no issuer or token endpoint to address the client assertion to".into(),
                );
            }
        };
        return Ok(Client {
            id,
            secret,
            auth: ClientAuth::PrivateKeyJwt,
            learned: None,
            assertion: Some((key, audience)),
            federated: None,
        });
    }
    if let Some(auth) = fixed {
        return Ok(Client::fixed(id, secret, auth));
    }
    let learned = endpoints
        .token
        .as_ref()
        .and_then(|url| Learned::at(url, &id));
    let auth = learned
        .as_ref()
        .and_then(Learned::recall)
        .unwrap_or_else(|| ClientAuth::preferred(listed));
    Ok(Client {
        id,
        secret,
        auth,
        learned,
        assertion: None,
        federated: None,
    })
}

/// The OpenID scopes a sign-in adds: the provider's `standard-scopes`, else the dialect's that
/// discovery's `scopes_supported` lists (all of them where it lists none): Google refuses
/// `offline_access`, GitLab any scope its application lacks.
fn standard_scopes(
    config: &ProviderConfig<'_>,
    dialect: &dyn crate::Provider,
    flow: Flow,
    endpoints: &Endpoints,
) -> Vec<String> {
    if !flow.signs_in_a_person() {
        return Vec::new();
    }
    if let Some(listed) = config
        .fields
        .get(fields::STANDARD_SCOPES.name)
        .and_then(|v| v.as_sequence())
    {
        return listed
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect();
    }
    dialect
        .standard_scopes(flow)
        .iter()
        .filter(|scope| {
            endpoints
                .scopes_supported
                .as_ref()
                .is_none_or(|supported| supported.iter().any(|s| s == *scope))
        })
        .map(|scope| (*scope).to_owned())
        .collect()
}

/// The provider's `authorize-params`, then the context's over them (the context's win).
pub fn authorize_params(
    entry: &ProviderEntry,
    context: Option<&ContextEntry>,
) -> indexmap::IndexMap<String, String> {
    let mut params: indexmap::IndexMap<String, String> = entry
        .fields
        .get(fields::AUTHORIZE_PARAMS.name)
        .and_then(|v| v.as_mapping())
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| {
                    Some((k.as_str()?.to_owned(), crate::provider::param_text(v)?))
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(context) = context {
        for (key, value) in &context.authorize_params {
            params.insert(key.clone(), value.clone());
        }
    }
    params
}

/// `params` with `overlay` laid over them: an entry replaces the parameter of its name, and an
/// empty value removes it.
fn with_overlay(
    mut params: Vec<(String, String)>,
    overlay: &indexmap::IndexMap<String, String>,
) -> Vec<(String, String)> {
    for (key, value) in overlay {
        params.retain(|(name, _)| name != key);
        if !value.is_empty() {
            params.push((key.clone(), value.clone()));
        }
    }
    params
}

/// Scopes as people give them: separated by commas, spaces or tabs, in one word or several.
pub fn split_scopes(given: &[String]) -> Vec<String> {
    given
        .iter()
        .flat_map(|scope| scope.split([',', ' ', '\t']))
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect()
}

/// --scope, else the context's scopes, else the provider's.
pub fn requested_scopes(
    entry: &ProviderEntry,
    context: Option<&ContextEntry>,
    scope_override: &[String],
) -> Vec<String> {
    if !scope_override.is_empty() {
        return scope_override.to_vec();
    }
    if let Some(scopes) = context.and_then(|c| c.scopes.clone()) {
        return scopes;
    }
    entry
        .fields
        .get("scopes")
        .and_then(|v| v.as_sequence())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// NeMo's rule for `scope-prefix`: it goes before each custom scope (one with `:` or ending in
/// `.default`) that is not already a URI (`api://…/x`, `https://…/.default`). Idempotent, so
/// the scopes a login recorded can be prefixed again.
pub fn with_prefix(prefix: Option<&str>, scopes: Vec<String>) -> Vec<String> {
    let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
        return scopes;
    };
    scopes
        .into_iter()
        .map(|scope| {
            if crate::provider::names_no_api(&scope) {
                format!("{prefix}{scope}")
            } else {
                scope
            }
        })
        .collect()
}

/// Fills the endpoints from the OpenID discovery document, checked by [`crate::discovery::read`]
/// (the issuer exactly as configured, every endpoint https or loopback). Returns the client
/// authentication methods the token endpoint lists.
async fn discover(
    http: &HttpClient,
    url: &Url,
    endpoints: &mut Endpoints,
) -> Result<Option<Vec<String>>, LoginError> {
    let found = discovery_document(http, url, endpoints.issuer.as_ref()).await?;
    endpoints.token = found.token_endpoint;
    endpoints.authorization = endpoints
        .authorization
        .take()
        .or(found.authorization_endpoint);
    endpoints.device_authorization = endpoints
        .device_authorization
        .take()
        .or(found.device_authorization_endpoint);
    endpoints.revocation = endpoints.revocation.take().or(found.revocation_endpoint);
    endpoints.end_session = endpoints.end_session.take().or(found.end_session_endpoint);
    endpoints.jwks = endpoints.jwks.take().or(found.jwks_uri);
    endpoints.iss_in_authorization_response = found.iss_in_authorization_response;
    endpoints.pkce_s256 = found.pkce_s256;
    endpoints.scopes_supported = found.scopes_supported;
    endpoints.cloud_instance_name = found.cloud_instance_name;
    Ok(found.token_endpoint_auth_methods)
}

/// Whether a provider answers before its entry is written (the guided setup): its discovery
/// document (Keycloak's realm, Entra ID's tenant) is fetched and read. Returns the scopes it
/// lists, when it does; a dialect without discovery is taken as it is.
pub async fn check_provider(
    http: &HttpClient,
    kind: &dyn crate::provider::Provider,
    fields: &indexmap::IndexMap<String, serde_yaml_ng::Value>,
) -> Result<Option<Vec<String>>, LoginError> {
    let config = crate::provider::ProviderConfig {
        name: kind.kind(),
        fields,
    };
    let endpoints = kind.endpoints(&config).map_err(|err| LoginError::Config {
        provider: kind.kind().to_owned(),
        message: err.to_string(),
    })?;
    let Some(url) = &endpoints.discovery else {
        return Ok(None);
    };
    // Entra ID's issuer names the tenant's GUID, whatever name was given: not checked here.
    let issuer = endpoints
        .issuer
        .as_ref()
        .filter(|_| endpoints.tenant.is_none());
    let found = discovery_document(http, url, issuer).await?;
    Ok(found.scopes_supported)
}

/// The discovery document at `url`, checked by [`crate::discovery::read`].
async fn discovery_document(
    http: &HttpClient,
    url: &Url,
    expected_issuer: Option<&Url>,
) -> Result<crate::discovery::Discovered, LoginError> {
    let reply = http.get(url).await?;
    let failed = |reason: String| LoginError::Discovery {
        url: Box::new(url.clone()),
        reason,
    };
    if reply.status != 200 {
        return Err(failed(format!(
            "HTTP {}; check the issuer URL",
            reply.status
        )));
    }
    crate::discovery::read(&reply.body, expected_issuer).map_err(failed)
}

/// The issuer ID tokens are checked against, where the dialect knows none without asking
/// (Entra ID, whose `iss` names the tenant's GUID whatever name was configured): its discovery
/// document states it. Read once at sign-in; the login records it. Flows that sign no person
/// in get no ID token and skip it.
pub async fn learn_issuer(
    http: &HttpClient,
    target: &mut Target,
    flow: Flow,
) -> Result<(), LoginError> {
    if target.endpoints.issuer.is_some() || !flow.signs_in_a_person() {
        return Ok(());
    }
    let Some(url) = target.endpoints.discovery.clone() else {
        return Ok(());
    };
    let found = discovery_document(http, &url, None).await?;
    let issuer = Url::parse(&found.issuer)
        .map_err(|err| err.to_string())
        .and_then(|issuer| {
            crate::discovery::check_endpoint("issuer", &issuer)?;
            Ok(issuer)
        })
        .map_err(|reason| LoginError::Discovery {
            url: Box::new(url.clone()),
            reason: format!("its issuer {:?} is unusable: {reason}", found.issuer),
        })?;
    target.endpoints.issuer = Some(issuer);
    Ok(())
}

/// How the person or program proves who they are.
#[derive(Debug)]
pub enum Method {
    ClientCredentials,
    Password {
        username: String,
        password: Secret,
    },
    Device,
    /// A token obtained elsewhere, used as it is (no refresh).
    Token(Secret),
    /// RFC 8693: a token from elsewhere exchanged for one of this provider's: the one given,
    /// else the one the context's `subject-token` source holds now.
    Exchange {
        subject_token: Option<Secret>,
    },
    /// Authorization code with PKCE in a browser; falls back to the device flow where no
    /// browser can be shown and the dialect has one.
    Browser,
}

impl Method {
    pub fn flow(&self) -> Flow {
        match self {
            Method::ClientCredentials => Flow::ClientCredentials,
            Method::Password { .. } => Flow::Password,
            Method::Device => Flow::Device,
            Method::Token(_) => Flow::Token,
            Method::Exchange { .. } => Flow::Exchange,
            Method::Browser => Flow::Browser,
        }
    }
}

/// The RFC 8628 polling interval when the provider does not say.
const DEFAULT_DEVICE_INTERVAL: u64 = 5;

/// Runs a flow against a resolved target.
pub async fn run(
    http: &HttpClient,
    target: &Target,
    method: Method,
    ui: &dyn LoginUi,
    opener: &dyn BrowserOpener,
) -> Result<TokenSet, LoginError> {
    let tokens = match method {
        Method::ClientCredentials => match &target.client_assertion {
            Some(source) => federated(http, target, source).await?,
            None => grant(http, target, Grant::ClientCredentials).await?,
        },
        Method::Password { username, password } => {
            password_grant(http, target, username, password).await?
        }
        Method::Exchange { subject_token } => exchange(http, target, subject_token).await?,
        Method::Token(token) => direct_token(token)?,
        Method::Device => device(http, target, &target.token_url()?, ui).await?,
        Method::Browser if !opener.available() && !ui.can_paste() && target.device_flow => {
            ui.notice("no browser can be opened here: signing in with the device flow instead");
            device(http, target, &target.token_url()?, ui).await?
        }
        // Verifies the ID token itself, with the nonce it sent.
        Method::Browser => return browser::login(http, target, opener, ui).await,
    };
    if let Some(id_token) = &tokens.id_token {
        verify_id_token(http, target, id_token, None).await?;
    }
    Ok(tokens)
}

/// One request to the token endpoint.
async fn grant(http: &HttpClient, target: &Target, grant: Grant) -> Result<TokenSet, LoginError> {
    let url = target.token_url()?;
    let request = target.request(&url, &grant);
    Ok(oauth::request_token(http, target.wire.as_ref(), &request).await?)
}

/// Entra ID federated credentials: the CI token is the client's proof, read anew.
async fn federated(
    http: &HttpClient,
    target: &Target,
    source: &SubjectSource,
) -> Result<TokenSet, LoginError> {
    let mut federated = target.clone();
    federated.client.auth = ClientAuth::Federated;
    federated.client.learned = None;
    federated.client.federated = Some(read_source(http, target, source, "client-assertion").await?);
    let url = target.token_url()?;
    let request = federated.request(&url, &Grant::ClientCredentials);
    Ok(oauth::request_token(http, target.wire.as_ref(), &request).await?)
}

/// The resource owner password grant, its refusal told apart from MFA or consent.
async fn password_grant(
    http: &HttpClient,
    target: &Target,
    username: String,
    password: Secret,
) -> Result<TokenSet, LoginError> {
    let who = username.clone();
    match grant(http, target, Grant::Password { username, password }).await {
        // Entra ID refuses with invalid_grant for MFA, consent or Conditional Access
        // too: only its 50126 is the password; its other codes say what they are.
        Err(LoginError::OAuth(err))
            if err.code() == Some("invalid_grant")
                && err.first_code().is_none_or(|code| code == 50126) =>
        {
            let description = match err.as_ref() {
                OAuthError::Provider { description, .. } => description.clone(),
                _ => None,
            };
            Err(LoginError::PasswordRefused(who, description))
        }
        granted => granted,
    }
}

/// RFC 8693: the token given, else the one the context's source holds, exchanged.
async fn exchange(
    http: &HttpClient,
    target: &Target,
    subject_token: Option<Secret>,
) -> Result<TokenSet, LoginError> {
    // A token given by hand is most often another access token; one read from a
    // source (a service-account or CI token) is a JWT.
    let from_source = subject_token.is_none();
    let (subject_token, default_type) = match (subject_token, &target.subject) {
        (Some(token), _) => (token, oauth::ACCESS_TOKEN_TYPE),
        (None, Some(source)) => (
            read_source(http, target, source, "subject-token").await?,
            oauth::JWT_TOKEN_TYPE,
        ),
        (None, None) => {
            return Err(LoginError::Config {
                provider: target.provider.clone(),
                message: "the exchange flow needs a token to exchange: give it with --subject-token-stdin, or set the context's `subject-token: github-actions|file:PATH|env:NAME`".into(),
            });
        }
    };
    let subject_token_type = target
        .subject_token_type
        .clone()
        .unwrap_or_else(|| default_type.to_owned());
    let exchanged = grant(
        http,
        target,
        Grant::TokenExchange {
            subject_token,
            subject_token_type,
            subject_issuer: target.subject_issuer.clone(),
            requested_token_type: target.requested_token_type.clone(),
        },
    )
    .await;
    if let Err(LoginError::OAuth(err)) = &exchanged
        && let OAuthError::Provider {
            error, description, ..
        } = err.as_ref()
        && let Some(hint) =
            crate::provider::provider(target.kind).and_then(|dialect| dialect.exchange_hint(err))
    {
        return Err(LoginError::Config {
            provider: target.provider.clone(),
            message: format!(
                "the token exchange was refused: {}{}: {hint}",
                crate::text::one_line(error, 60),
                description
                    .as_deref()
                    .map(|d| format!(" ({})", crate::text::one_line(d, 200)))
                    .unwrap_or_default()
            ),
        });
    }
    match (exchanged, &target.subject) {
        // Logging in again would read the same token: say which one was refused. RFC
        // 8693 §2.2.2 says `invalid_request` for a subject token that is not valid;
        // oidc-provider and others say `invalid_grant`.
        (Err(LoginError::OAuth(err)), Some(source)) if from_source => {
            if let OAuthError::Provider {
                error, description, ..
            } = err.as_ref()
                && (error == "invalid_grant" || error == "invalid_request")
            {
                return Err(LoginError::Config {
                    provider: target.provider.clone(),
                    message: format!(
                        "the token that subject-token {source} holds was refused: {error}{}",
                        description
                            .as_deref()
                            .map(|d| format!(" ({})", crate::text::one_line(d, 200)))
                            .unwrap_or_default()
                    ),
                });
            }
            Err(LoginError::OAuth(err))
        }
        (exchanged, _) => exchanged,
    }
}

fn direct_token(token: Secret) -> Result<TokenSet, LoginError> {
    let trimmed = token.expose().trim();
    if trimmed.is_empty() {
        return Err(LoginError::EmptyToken);
    }
    Ok(TokenSet {
        lifetime: oauth::jwt_lifetime(trimmed),
        access_token: Secret::new(trimmed.to_owned()),
        token_type: "Bearer".into(),
        refresh_token: None,
        id_token: None,
        scope: None,
        token_endpoint: None,
    })
}

async fn device(
    http: &HttpClient,
    target: &Target,
    token_url: &Url,
    ui: &dyn LoginUi,
) -> Result<TokenSet, LoginError> {
    let url = target
        .endpoints
        .device_authorization
        .clone()
        .ok_or_else(|| LoginError::Config {
            provider: target.provider.clone(),
            message: "the provider has no device authorization endpoint".into(),
        })?;
    let authorization = oauth::device_authorization(
        http,
        &url,
        &target.client,
        &target.scopes,
        &target.device_params,
    )
    .await?;
    ui.device_code(&authorization);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(authorization.expires_in);
    let mut interval = authorization
        .interval
        .unwrap_or(DEFAULT_DEVICE_INTERVAL)
        .max(1);
    let grant = Grant::DeviceCode(authorization.device_code.clone());
    loop {
        // Wait out the interval a second at a time, so the person sees the time left.
        let next_poll = tokio::time::Instant::now() + Duration::from_secs(interval);
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(LoginError::DeviceExpired);
            }
            if now >= next_poll {
                break;
            }
            if ui.signed_in_elsewhere() {
                return Err(LoginError::SignedInElsewhere);
            }
            ui.waiting(deadline - now);
            tokio::time::sleep((next_poll - now).min(Duration::from_secs(1))).await;
        }
        // The scope was given with the device authorization; the poll carries only the code.
        let request = TokenRequest {
            scopes: &[],
            ..target.request(token_url, &grant)
        };
        match oauth::request_token(http, target.wire.as_ref(), &request).await {
            Ok(tokens) => return Ok(tokens),
            Err(err) => match err.code() {
                Some("authorization_pending") => {}
                Some("slow_down") => {
                    interval = interval.saturating_add(5).min(oauth::MAX_DEVICE_INTERVAL)
                }
                Some("expired_token") => return Err(LoginError::DeviceExpired),
                _ => return Err(err.into()),
            },
        }
    }
}

/// What a cluster's `GET /apis/auth/discovery` says, in NeMo's documented shape: whether it
/// authenticates at all, and which OpenID provider issues its tokens, for which client, with
/// which scopes by default. Unknown fields (later versions add `workload_*`) are ignored.
#[derive(Deserialize)]
struct ClusterDiscovery {
    auth_enabled: bool,
    #[serde(default)]
    oidc: Option<ClusterOidc>,
}

#[derive(Deserialize)]
struct ClusterOidc {
    issuer: String,
    #[serde(default)]
    client_id: Option<String>,
    /// NeMo Helix: the clients the cluster offers, exactly one of them the default.
    #[serde(default)]
    clients: Vec<ClusterClient>,
    /// A space-separated string ("openid profile email offline_access platform:read").
    #[serde(default)]
    default_scopes: Option<ScopeList>,
    /// Prepended to custom scopes (those with `:` or ending in `.default`).
    #[serde(default)]
    scope_prefix: Option<String>,
}

#[derive(Deserialize)]
struct ClusterClient {
    client_id: String,
    #[serde(default)]
    default: bool,
}

/// Scopes as NeMo writes them, a space-separated string, or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Text(String),
    List(Vec<String>),
}

impl ScopeList {
    fn scopes(self) -> Vec<String> {
        match self {
            ScopeList::Text(text) => text.split_whitespace().map(str::to_owned).collect(),
            ScopeList::List(list) => list,
        }
    }
}

impl ClusterOidc {
    /// `client_id`, else the default of Helix's `clients` (the only one, if just one).
    fn client(&self) -> Option<&str> {
        self.client_id.as_deref().or_else(|| {
            let defaults: Vec<&ClusterClient> = self.clients.iter().filter(|c| c.default).collect();
            match (defaults.as_slice(), self.clients.as_slice()) {
                ([one], _) => Some(one.client_id.as_str()),
                ([], [only]) => Some(only.client_id.as_str()),
                _ => None,
            }
        })
    }
}

/// The loopback redirect URI as the entry sets it, else as the dialect registers it; an issuer
/// whose discovery names an Entra ID cloud (NeMo on Entra ID, say) gets MSAL's
/// `http://localhost` with no path, which is what its app registrations list.
fn redirect(
    config: &ProviderConfig<'_>,
    context: Option<&ContextEntry>,
    dialect: &dyn crate::Provider,
    endpoints: &Endpoints,
) -> Result<Redirect, String> {
    let entra = endpoints.cloud_instance_name.is_some();
    let (host, path) = if entra {
        ("localhost", "")
    } else {
        (dialect.loopback_host(), dialect.redirect_path())
    };
    let listen = sign_in_setting(config, context, &fields::LISTEN_ADDRESS)
        .map(|text| {
            crate::provider::parse_listen_address(text)
                .map_err(|err| format!("listen-address {err}"))
        })
        .transpose()?;
    Ok(Redirect {
        host: config
            .text(fields::REDIRECT_HOST.name)
            .unwrap_or(host)
            .to_owned(),
        ports: redirect_ports(config.fields.get(fields::REDIRECT_PORT.name)),
        path: config
            .text(fields::REDIRECT_PATH.name)
            .unwrap_or(path)
            .to_owned(),
        listen,
    })
}

/// `redirect-port`: one port or a list, in order; none: any free port.
fn redirect_ports(value: Option<&serde_yaml_ng::Value>) -> Vec<u16> {
    let port = |value: &serde_yaml_ng::Value| value.as_u64().and_then(|p| u16::try_from(p).ok());
    match value {
        Some(serde_yaml_ng::Value::Sequence(ports)) => ports.iter().filter_map(port).collect(),
        Some(one) => port(one).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The provider name a discovered provider is stored under: `discover:{cluster}`.
pub fn discovered_name(cluster: &str) -> String {
    format!("discover:{cluster}")
}

/// Asks the cluster which provider to use (`provider: discover`); the answer is an `oidc` entry.
pub async fn discover_cluster(
    http: &HttpClient,
    cluster: &crate::config::ClusterEntry,
) -> Result<ProviderEntry, LoginError> {
    let problem = |message: String| LoginError::Config {
        provider: discovered_name(&cluster.name),
        message,
    };
    let server = cluster
        .server
        .as_deref()
        .ok_or_else(|| problem(format!("cluster {:?} has no server", cluster.name)))?;
    let base = crate::base_url::parse_base_url(server)
        .map_err(|reason| problem(format!("server {reason}")))?;
    let url = crate::base_url::join_path(&base, "apis/auth/discovery");
    // The cluster's own server: its certificate authority applies.
    let http = HttpClient::trusting(&cluster_trust(cluster), http.timeout())?;
    let reply = http.get(&url).await?;
    if reply.status != 200 {
        return Err(problem(format!(
            "{url} answered HTTP {}; does this cluster advertise its identity provider?",
            reply.status
        )));
    }
    let found: ClusterDiscovery = serde_json::from_slice(&reply.body)
        .map_err(|err| problem(format!("{url} is not an auth discovery document ({err})")))?;
    let oidc = match found.oidc {
        Some(oidc) if found.auth_enabled => oidc,
        Some(_) | None if !found.auth_enabled => {
            return Err(LoginError::NoLoginNeeded(cluster.name.clone()));
        }
        _ => {
            return Err(problem(format!(
                "{url} says authentication is enabled but names no OpenID provider (`oidc`)"
            )));
        }
    };
    let client = oidc.client().ok_or_else(|| {
        problem(format!(
            "{url} names no client: neither `oidc.client_id` nor exactly one default in `oidc.clients`"
        ))
    })?;
    let mut fields = indexmap::IndexMap::new();
    let text = |value: &str| serde_yaml_ng::Value::from(value);
    fields.insert("issuer".to_owned(), text(&oidc.issuer));
    fields.insert("client-id".to_owned(), text(client));
    if let Some(prefix) = oidc.scope_prefix.as_deref().filter(|p| !p.is_empty()) {
        fields.insert(SCOPE_PREFIX.name.to_owned(), text(prefix));
    }
    let scopes = oidc
        .default_scopes
        .map(ScopeList::scopes)
        .unwrap_or_default();
    if !scopes.is_empty() {
        let scopes = scopes.iter().map(|s| text(s)).collect();
        fields.insert("scopes".to_owned(), serde_yaml_ng::Value::Sequence(scopes));
    }
    let entry = ProviderEntry {
        name: discovered_name(&cluster.name),
        kind: "oidc".to_owned(),
        fields,
    };
    // The discovered entry must pass the same checks as a configured one (https issuer, …).
    if let Some(dialect) = entry.dialect() {
        let errors = crate::provider::validate_provider(dialect, &entry.as_config());
        if let Some(first) = errors.first() {
            return Err(problem(format!(
                "{url} advertises an unusable provider: {first}"
            )));
        }
    }
    Ok(entry)
}

/// How a cluster's server is trusted, as kubectl reads its entry.
pub fn cluster_trust(cluster: &crate::config::ClusterEntry) -> TlsTrust {
    TlsTrust {
        whose: format!("cluster {:?}", cluster.name),
        ca_file: cluster.certificate_authority.clone(),
        ca_data: cluster.certificate_authority_data.clone(),
        server_name: cluster.tls_server_name.clone(),
        insecure_skip_verify: cluster.insecure_skip_tls_verify == Some(true),
    }
}

/// How a provider is trusted: its `certificate-authority`, for an identity provider behind a
/// private CA (every request to it: discovery, keys, token, device and revocation endpoints).
pub fn provider_trust(provider: &ProviderEntry) -> TlsTrust {
    TlsTrust {
        whose: format!("provider {:?}", provider.name),
        ca_file: provider
            .as_config()
            .text(crate::provider::fields::CERTIFICATE_AUTHORITY.name)
            .map(str::to_owned),
        ..TlsTrust::default()
    }
}

/// Why a refresh token could not be revoked at the provider.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The dialect has no revocation endpoint (Entra ID, Run:ai).
    #[error("{0} has no token revocation endpoint")]
    NotOffered(String),
    #[error(transparent)]
    Failed(#[from] LoginError),
}

/// RFC 7009: revokes a refresh token (Keycloak, Auth0, any provider that offers it).
pub async fn revoke(
    http: &HttpClient,
    target: &Target,
    refresh_token: &Secret,
) -> Result<(), RevokeError> {
    let url = target.endpoints.revocation.clone().ok_or_else(|| {
        RevokeError::NotOffered(format!("provider {:?} ({})", target.provider, target.kind))
    })?;
    let form = [
        ("token", refresh_token.expose()),
        ("token_type_hint", "refresh_token"),
    ];
    let reply = oauth::post_as_client(http, &url, &target.client, &form)
        .await
        .map_err(LoginError::from)?;
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(LoginError::from(oauth::provider_error(&url, &reply)).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::check_authorize_param;

    #[test]
    fn nemo_discovery_documents_are_read_as_documented() {
        // NeMo Platform API reference, GET /apis/auth/discovery; fields it adds later ignored.
        let nemo: ClusterDiscovery = serde_json::from_str(
            r#"{"auth_enabled": true, "workload_identity": {}, "oidc": {
                "issuer": "https://login.microsoftonline.com/t/v2.0", "client_id": "cli",
                "default_scopes": "openid profile email offline_access platform:read platform:write",
                "scope_prefix": "api://nmp/", "token_endpoint": "https://x/token"}}"#,
        )
        .unwrap();
        let oidc = nemo.oidc.unwrap();
        assert_eq!(oidc.client(), Some("cli"));
        assert_eq!(oidc.scope_prefix.as_deref(), Some("api://nmp/"));
        assert_eq!(oidc.default_scopes.unwrap().scopes().len(), 6);
        // Helix: a list of clients, one of them the default.
        let helix: ClusterDiscovery = serde_json::from_str(
            r#"{"auth_enabled": true, "oidc": {"issuer": "https://idp", "clients": [
                {"client_id": "web"}, {"client_id": "cli", "default": true}]}}"#,
        )
        .unwrap();
        assert_eq!(helix.oidc.unwrap().client(), Some("cli"));
        let undecided: ClusterDiscovery = serde_json::from_str(
            r#"{"auth_enabled": true, "oidc": {"issuer": "https://idp", "clients": [
                {"client_id": "a"}, {"client_id": "b"}]}}"#,
        )
        .unwrap();
        assert_eq!(undecided.oidc.unwrap().client(), None);
        let open: ClusterDiscovery = serde_json::from_str(r#"{"auth_enabled": false}"#).unwrap();
        assert!(!open.auth_enabled && open.oidc.is_none());
    }

    #[test]
    fn authorize_params_replace_and_remove_defaults_but_never_the_protocols_own() {
        let dialect = vec![
            ("audience".to_owned(), "https://api".to_owned()),
            ("prompt".to_owned(), "consent".to_owned()),
        ];
        let overlay: indexmap::IndexMap<String, String> = [
            ("prompt".to_owned(), String::new()),
            ("audience".to_owned(), "https://other".to_owned()),
            ("login_hint".to_owned(), "alice@example.com".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            with_overlay(dialect, &overlay),
            [
                ("audience".to_owned(), "https://other".to_owned()),
                ("login_hint".to_owned(), "alice@example.com".to_owned()),
            ]
        );
        for (name, names) in [
            ("scope", "scopes"),
            ("redirect_uri", "redirect-port"),
            ("client_id", "client-id"),
            ("code_challenge", "PKCE"),
        ] {
            let err = check_authorize_param(name).unwrap_err();
            assert!(err.contains(names), "{name}: {err}");
        }
        assert!(check_authorize_param("kc_idp_hint").is_ok());
    }

    #[test]
    fn the_scope_prefix_goes_before_custom_scopes_once() {
        let scopes = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let asked = scopes(&[
            "openid",
            "platform:read",
            ".default",
            "api://other/x:y",
            "https://graph.microsoft.com/.default",
        ]);
        let prefixed = with_prefix(Some("api://nmp/"), asked.clone());
        assert_eq!(
            prefixed,
            scopes(&[
                "openid",
                "api://nmp/platform:read",
                "api://nmp/.default",
                "api://other/x:y",
                "https://graph.microsoft.com/.default",
            ])
        );
        assert_eq!(with_prefix(Some("api://nmp/"), prefixed.clone()), prefixed);
        assert_eq!(with_prefix(None, asked.clone()), asked);
    }
}
