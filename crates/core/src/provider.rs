//! The provider model: what a dialect declares about itself, and the compile-time registry.
//!
//! A provider crate says only what is special about its dialect: its configuration fields,
//! how its endpoints are laid out and which grant flows it supports. Everything else
//! (flows, storage, the CLI) is generic over [`Provider`].

use std::fmt;

use indexmap::IndexMap;
use serde_yaml_ng::Value;
use url::Url;

use crate::base_url::parse_base_url;
use crate::oauth::{OAuthError, OAuthWire, TokenWire};

/// A grant flow that `tokenctl auth login --flow` can run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Flow {
    /// RFC 8628 device authorization.
    Device,
    /// Authorization code with PKCE through a loopback redirect.
    Browser,
    /// Resource owner password credentials.
    Password,
    /// Client credentials (an application's own identity).
    ClientCredentials,
    /// A token obtained elsewhere, used as is.
    Token,
    /// RFC 8693 token exchange (or the dialect's own exchange grant).
    Exchange,
}

impl Flow {
    /// Every flow, in the order the CLI lists them.
    pub const ALL: [Flow; 6] = [
        Flow::Device,
        Flow::Browser,
        Flow::Password,
        Flow::ClientCredentials,
        Flow::Token,
        Flow::Exchange,
    ];

    /// The name used on the command line and in the contexts file.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Device => "device",
            Flow::Browser => "browser",
            Flow::Password => "password",
            Flow::ClientCredentials => "client-credentials",
            Flow::Token => "token",
            Flow::Exchange => "exchange",
        }
    }

    /// Whether the flow logs a person in (and so wants an ID token and a refresh token).
    pub fn signs_in_a_person(self) -> bool {
        matches!(self, Flow::Device | Flow::Browser | Flow::Password)
    }

    /// Whether the person signs in on a page of the provider's (browser, device): a sign-in
    /// that may wait minutes, and that a browser can serve without a terminal.
    pub fn opens_a_page(self) -> bool {
        matches!(self, Flow::Browser | Flow::Device)
    }

    /// Parses a flow name as written on the command line or in the contexts file.
    pub fn parse(name: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|flow| flow.as_str() == name)
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of value a configuration field holds; drives validation and the CLI flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A base URL or host name: `https://…`, a bare host (https assumed), or plain http on
    /// loopback only.
    BaseUrl,
    /// A TCP port, 1 to 65535, or a list of them (tried in order).
    Ports,
    /// The path of a URL: empty, or starting with `/`.
    UrlPath,
    /// A list of strings (YAML sequence; comma-separated on the command line).
    List,
    /// The name of an environment variable.
    EnvVar,
    /// A path to a file.
    Path,
    /// A secret written inline; accepted, redacted in output, and warned about.
    Secret,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// An entry of the OS keyring, `BACKEND:ACCOUNT`, as tokenctl writes it.
    KeyringEntry,
    /// A duration: `90s`, `5m`, `1h30m`, or seconds.
    Duration,
    /// `true` or `false`.
    Bool,
    /// Parameters added to a request: a map of names to values, none of them the protocol's
    /// own (see [`check_authorize_param`]).
    Params,
}

impl FieldKind {
    /// The placeholder of a value of this kind in usage lines (`--org-url URL`).
    pub fn value_name(self) -> &'static str {
        match self {
            FieldKind::Text => "TEXT",
            FieldKind::BaseUrl => "URL",
            FieldKind::Ports => "PORTS",
            FieldKind::UrlPath => "PATH",
            FieldKind::List => "LIST",
            FieldKind::EnvVar => "VAR",
            FieldKind::Path => "PATH",
            FieldKind::Secret => "SECRET",
            FieldKind::Choice(_) => "WORD",
            FieldKind::KeyringEntry => "ENTRY",
            FieldKind::Params => "KEY=VALUE",
            FieldKind::Duration => "DURATION",
            FieldKind::Bool => "BOOL",
        }
    }
}

/// One configuration field of a provider entry in the contexts file.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// The key in the contexts file and the `config set-provider` flag (`--NAME`).
    pub name: &'static str,
    /// One line of help, shown by `--help`, man pages and error messages.
    pub help: &'static str,
    /// Whether an entry of this kind is invalid without it.
    pub required: bool,
    /// What the value must look like.
    pub kind: FieldKind,
}

impl FieldSpec {
    /// A required field.
    pub const fn required(name: &'static str, kind: FieldKind, help: &'static str) -> Self {
        FieldSpec {
            name,
            help,
            required: true,
            kind,
        }
    }

    /// An optional field.
    pub const fn optional(name: &'static str, kind: FieldKind, help: &'static str) -> Self {
        FieldSpec {
            name,
            help,
            required: false,
            kind,
        }
    }
}

/// Fields that every OAuth client configuration shares; provider crates list the ones
/// their dialect uses, next to their own.
pub mod fields {
    use super::{FieldKind, FieldSpec};

    /// The `client-id` field (its help says what it holds).
    pub const CLIENT_ID: FieldSpec = FieldSpec::required(
        "client-id",
        FieldKind::Text,
        "OAuth client ID of this tool's app registration",
    );
    /// The `client-id` field (its help says what it holds).
    pub const CLIENT_ID_OPTIONAL: FieldSpec = FieldSpec::optional(
        "client-id",
        FieldKind::Text,
        "OAuth client ID (optional for this dialect)",
    );
    /// The `client-secret-env` field (its help says what it holds).
    pub const CLIENT_SECRET_ENV: FieldSpec = FieldSpec::optional(
        "client-secret-env",
        FieldKind::EnvVar,
        "environment variable that holds the client secret",
    );
    /// The `client-secret-file` field (its help says what it holds).
    pub const CLIENT_SECRET_FILE: FieldSpec = FieldSpec::optional(
        "client-secret-file",
        FieldKind::Path,
        "file that holds the client secret",
    );
    /// The `client-secret` field (its help says what it holds).
    pub const CLIENT_SECRET: FieldSpec = FieldSpec::optional(
        "client-secret",
        FieldKind::Secret,
        "client secret written inline (discouraged: prefer client-secret-env or client-secret-file)",
    );
    /// The `client-secret-public` field (its help says what it holds).
    pub const CLIENT_SECRET_PUBLIC: FieldSpec = FieldSpec::optional(
        "client-secret-public",
        FieldKind::Bool,
        "true: the inline client-secret is one the provider documents as not secret (a Google desktop client's), so it gets no warning",
    );
    /// The `scopes` field (its help says what it holds).
    pub const SCOPES: FieldSpec = FieldSpec::optional(
        "scopes",
        FieldKind::List,
        "scopes requested at login unless the context or --scope says otherwise",
    );
    /// The `client-auth` field (its help says what it holds).
    pub const CLIENT_AUTH: FieldSpec = FieldSpec::optional(
        "client-auth",
        FieldKind::Choice(crate::client_auth::ClientAuth::NAMES),
        "how the client authenticates: basic (secret in HTTP Basic), post (in the form), private-key-jwt (client-key-file) or none; without it, a key file means private-key-jwt, else Basic first and the other way once if refused (remembered)",
    );
    /// The `crate::client_auth::CLIENT_KEY_FILE` field (its help says what it holds).
    pub const CLIENT_KEY_FILE: FieldSpec = FieldSpec::optional(
        crate::client_auth::CLIENT_KEY_FILE,
        FieldKind::Path,
        "PEM private key (RSA or EC P-256, mode 0600) for private_key_jwt client authentication",
    );
    /// The `crate::client_auth::CLIENT_KEY_KEYRING` field (its help says what it holds).
    pub const CLIENT_KEY_KEYRING: FieldSpec = FieldSpec::optional(
        crate::client_auth::CLIENT_KEY_KEYRING,
        FieldKind::KeyringEntry,
        "where `config set-provider NAME --client-key-stdin` keeps the private_key_jwt key in the OS keyring (written by tokenctl)",
    );
    /// The `client-certificate-file` field (its help says what it holds).
    pub const CLIENT_CERTIFICATE_FILE: FieldSpec = FieldSpec::optional(
        "client-certificate-file",
        FieldKind::Path,
        "PEM certificate of client-key-file: its thumbprints go in the assertion (Entra ID)",
    );
    /// The `certificate-authority` field (its help says what it holds).
    pub const CERTIFICATE_AUTHORITY: FieldSpec = FieldSpec::optional(
        "certificate-authority",
        FieldKind::Path,
        "CA bundle (PEM) that signs the provider's certificate, trusted instead of the system roots (a corporate CA)",
    );
    /// The `standard-scopes` field (its help says what it holds).
    pub const STANDARD_SCOPES: FieldSpec = FieldSpec::optional(
        "standard-scopes",
        FieldKind::List,
        "the OpenID scopes tokenctl adds to a person's sign-in (default: those of openid, profile, email, offline_access that discovery's scopes_supported lists)",
    );
    /// The `authorize-params` field (its help says what it holds).
    pub const AUTHORIZE_PARAMS: FieldSpec = FieldSpec::optional(
        "authorize-params",
        FieldKind::Params,
        "parameters added to the authorization and device requests (prompt, login_hint, domain_hint, acr_values, max_age, kc_idp_hint, access_type, resource, …); an empty value removes a default",
    );
    /// The `scope-prefix` field (its help says what it holds).
    pub const SCOPE_PREFIX: FieldSpec = FieldSpec::optional(
        "scope-prefix",
        FieldKind::Text,
        "prepended to scopes with `:` or ending in `.default` that are not URIs (an API's App ID URI, api://nmp/)",
    );
    /// The `redirect-port` field (its help says what it holds).
    pub const REDIRECT_PORT: FieldSpec = FieldSpec::optional(
        "redirect-port",
        FieldKind::Ports,
        "loopback port of the browser login's redirect URI, or ports tried in order (8000,18000); default any free port",
    );
    /// The `sign-in-timeout` field (its help says what it holds).
    pub const SIGN_IN_TIMEOUT: FieldSpec = FieldSpec::optional(
        "sign-in-timeout",
        FieldKind::Duration,
        "how long a browser sign-in waits for the person (default 5m)",
    );
    /// The `redirect-host` field (its help says what it holds).
    pub const REDIRECT_HOST: FieldSpec = FieldSpec::optional(
        "redirect-host",
        FieldKind::Choice(super::REDIRECT_HOSTS),
        "host of the redirect URI, as registered: localhost, 127.0.0.1 or [::1] (default 127.0.0.1; azure localhost)",
    );
    /// The `redirect-path` field (its help says what it holds).
    pub const REDIRECT_PATH: FieldSpec = FieldSpec::optional(
        "redirect-path",
        FieldKind::UrlPath,
        "path of the redirect URI, as registered: /callback, or empty for none (default /callback; azure none)",
    );

    /// The `browser` field (its help says what it holds).
    pub const BROWSER: FieldSpec = FieldSpec::optional(
        "browser",
        FieldKind::Text,
        "browser command for sign-ins, split into words without a shell: firefox -P work, or wslview on WSL (default $BROWSER, else the system's)",
    );

    /// The `listen-address` field (its help says what it holds).
    pub const LISTEN_ADDRESS: FieldSpec = FieldSpec::optional(
        "listen-address",
        FieldKind::Text,
        "IP address the browser sign-in's listener binds (ports come from redirect-port); default the redirect host's loopback",
    );

    /// A public or confidential OAuth client that logs people in.
    pub const OAUTH_CLIENT: &[FieldSpec] = &[
        CLIENT_ID,
        CLIENT_SECRET_ENV,
        CLIENT_SECRET_FILE,
        CLIENT_SECRET,
        CLIENT_SECRET_PUBLIC,
        CLIENT_AUTH,
        CLIENT_KEY_FILE,
        CLIENT_KEY_KEYRING,
        CLIENT_CERTIFICATE_FILE,
        SCOPES,
        STANDARD_SCOPES,
        SCOPE_PREFIX,
        AUTHORIZE_PARAMS,
        REDIRECT_HOST,
        REDIRECT_PORT,
        REDIRECT_PATH,
        SIGN_IN_TIMEOUT,
        BROWSER,
        LISTEN_ADDRESS,
        CERTIFICATE_AUTHORITY,
    ];

    /// The fields that name a file: a relative path in them is read from the contexts file's
    /// directory.
    pub const PATHS: &[FieldSpec] = &[
        CLIENT_SECRET_FILE,
        CLIENT_KEY_FILE,
        CLIENT_CERTIFICATE_FILE,
        CERTIFICATE_AUTHORITY,
    ];

    /// An application credential where the client ID is optional (Run:ai).
    pub const APP_CREDENTIALS: &[FieldSpec] = &[
        CLIENT_ID_OPTIONAL,
        CLIENT_SECRET_ENV,
        CLIENT_SECRET_FILE,
        CLIENT_SECRET,
        CERTIFICATE_AUTHORITY,
    ];
}

/// Where a dialect's endpoints are. `None` where the dialect has no such endpoint or it is
/// only known after discovery.
///
/// A plain struct that dialects build with `..Endpoints::default()`: adding an endpoint is a
/// breaking change, taken knowingly, since OAuth's endpoints are a small and settled set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// The expected `iss` of ID tokens, when known without discovery; else the discovery
    /// document's, learned at sign-in (Entra ID: `{tenantid}` stands for the token's `tid`).
    pub issuer: Option<Url>,
    /// The directory an ID token's `tid` must name (Entra ID, a tenant configured as a GUID).
    pub tenant: Option<String>,
    /// The key set of an app with signing keys of its own, tried once when `jwks` has no key
    /// for an ID token (Entra ID claims mapping: `keys?appid=CLIENT`).
    pub app_jwks: Option<Url>,
    /// `.well-known/openid-configuration` (or equivalent) to fetch the rest from.
    pub discovery: Option<Url>,
    /// The authorization endpoint (browser sign-ins).
    pub authorization: Option<Url>,
    /// The token endpoint.
    pub token: Option<Url>,
    /// An older token endpoint, asked once when `token` answers 404 (a Run:ai server before
    /// `/api/v2/token`); a login records the one that answered and keeps to it.
    pub token_fallback: Option<Url>,
    /// The device authorization endpoint (RFC 8628).
    pub device_authorization: Option<Url>,
    /// The revocation endpoint (RFC 7009), for `auth logout`.
    pub revocation: Option<Url>,
    /// The end-session endpoint (OpenID RP-initiated logout).
    pub end_session: Option<Url>,
    /// The keys ID tokens are signed with.
    pub jwks: Option<Url>,
    /// RFC 9207: the provider puts `iss` in its authorization response (from discovery).
    pub iss_in_authorization_response: bool,
    /// RFC 8414: discovery advertises PKCE S256 (a code is useless without this client's
    /// verifier), so a browser sign-in may take a bare pasted code.
    pub pkce_s256: bool,
    /// The scopes discovery's `scopes_supported` lists, when it does.
    pub scopes_supported: Option<Vec<String>>,
    /// Entra ID's discovery names its cloud (`microsoftonline.com`); no other provider's does.
    pub cloud_instance_name: Option<String>,
}

/// The `aud` of a client's `private_key_jwt` assertion, as each provider takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionAudience {
    /// The token endpoint, which RFC 7523 names and most servers take (Entra ID, Okta).
    TokenEndpoint,
    /// The issuer without a trailing slash (Keycloak takes it, as RFC 7523bis has it).
    Issuer,
    /// The issuer exactly, trailing slash included: Auth0 takes nothing else ("Include the
    /// trailing slash", auth0.com/docs, "Authenticate with Private Key JWT").
    IssuerAsIs,
}

/// A provider entry of the contexts file, as a dialect sees it: its name and its fields.
#[derive(Clone, Copy, Debug)]
pub struct ProviderConfig<'a> {
    /// The entry's name.
    pub name: &'a str,
    /// Its fields, as the contexts file says them.
    pub fields: &'a IndexMap<String, Value>,
}

impl<'a> ProviderConfig<'a> {
    /// A text field, if present and a string.
    pub fn text(&self, field: &str) -> Option<&'a str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// A text field that validation guaranteed; an error names the field otherwise.
    pub fn require(&self, field: &str) -> Result<&'a str, FieldError> {
        self.text(field)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| FieldError::new(field, "is required"))
    }

    /// A base URL field, parsed and checked (https, or plain http on loopback).
    pub fn base_url(&self, field: &str) -> Result<Url, FieldError> {
        parse_base_url(self.require(field)?)
            .map_err(|reason| FieldError::new(field, reason.to_string()))
    }
}

/// A problem with one field of a provider entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field at fault.
    pub field: String,
    /// What is wrong with it, and the fix.
    pub reason: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}` {}", self.field, self.reason)
    }
}

/// A provider dialect. Implementations are unit structs registered with [`register_provider!`](crate::register_provider).
pub trait Provider: Send + Sync + 'static {
    /// The `kind:` value in the contexts file (`keycloak`, `azure`, …).
    fn kind(&self) -> &'static str;

    /// One line that says what the dialect is for.
    fn description(&self) -> &'static str;

    /// The configuration fields special to this dialect (`realm`, `tenant`, `audience`, …).
    fn dialect_fields(&self) -> &'static [FieldSpec];

    /// The fields of this tool's client registration; most dialects take the usual OAuth set.
    fn client_fields(&self) -> &'static [FieldSpec] {
        fields::OAUTH_CLIENT
    }

    /// The grant flows this dialect supports, the default first.
    fn flows(&self) -> &'static [Flow];

    /// Where the endpoints are, from a validated entry.
    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError>;

    /// The fields an issuer URL stands for, when a person pastes one (or its
    /// `/.well-known/openid-configuration`) where the guided setup asks for a field: Keycloak's
    /// `https://sso/realms/R` is `server` and `realm`. `None`: not an issuer of this dialect.
    fn fields_from_issuer(&self, _issuer: &Url) -> Option<Vec<(&'static str, String)>> {
        None
    }

    /// What the guided setup says when it asks for scopes: which scopes this provider's APIs
    /// take, with an example.
    fn scope_advice(&self) -> &'static str {
        "the scopes of the API the tokens are for, as its documentation names them"
    }

    /// Scopes added to every request of a flow that logs a person in, unless already asked
    /// for: ID token, profile and a refresh token.
    fn standard_scopes(&self, flow: Flow) -> &'static [&'static str] {
        if flow.signs_in_a_person() {
            &["openid", "profile", "email", "offline_access"]
        } else {
            &[]
        }
    }

    /// Parameters the dialect adds to authorization, device and token requests (Auth0's
    /// `audience`, say).
    fn extra_params(&self, _config: &ProviderConfig<'_>, _flow: Flow) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Whom a `private_key_jwt` assertion is addressed to (its `aud`).
    fn assertion_audience(&self) -> AssertionAudience {
        AssertionAudience::TokenEndpoint
    }

    /// The audience a CI job's ID token (a `github-actions` source) is asked for when the
    /// context names none; `None`: the provider's issuer.
    fn ci_token_audience(&self) -> Option<&'static str> {
        None
    }

    /// The host of the loopback redirect URI unless `redirect-host` says: RFC 8252 §7.3's
    /// `127.0.0.1`; Entra ID app registrations name `localhost`.
    fn loopback_host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The path of the loopback redirect URI unless `redirect-path` says; MSAL registers
    /// `http://localhost` with none.
    fn redirect_path(&self) -> &'static str {
        "/callback"
    }

    /// Parameters the dialect adds to the authorization request only; `endpoints` as
    /// discovery filled them.
    fn authorize_params(
        &self,
        _config: &ProviderConfig<'_>,
        _endpoints: &Endpoints,
        _scopes: &[String],
    ) -> Vec<(String, String)> {
        Vec::new()
    }

    /// How the token endpoint is spoken; standard OAuth forms unless the dialect has its own.
    fn token_wire(&self, _config: &ProviderConfig<'_>) -> std::sync::Arc<dyn TokenWire> {
        std::sync::Arc::new(OAuthWire)
    }

    /// The `subject_token_type` of every token exchange unless the context names one; `None`:
    /// a token given by hand is an access token, one read from a source (a CI or workload
    /// token) a JWT.
    fn subject_token_type(&self) -> Option<&'static str> {
        None
    }

    /// The way out of a refused token exchange, for refusals the dialect words its own way.
    fn exchange_hint(&self, _error: &OAuthError) -> Option<&'static str> {
        None
    }

    /// Refuses scopes the provider would misread, before any request: the message says why
    /// and how to write them.
    fn check_request(
        &self,
        _config: &ProviderConfig<'_>,
        _flow: Flow,
        _scopes: &[String],
    ) -> Result<(), String> {
        Ok(())
    }

    /// Checks that go beyond each field's kind (combinations, dialect rules). The generic
    /// checks of [`validate_provider`] have already passed when this runs.
    fn validate_extra(&self, _config: &ProviderConfig<'_>) -> Vec<FieldError> {
        Vec::new()
    }
}

impl dyn Provider {
    /// Every field an entry of this kind takes: the dialect's own, then the client's.
    pub fn fields(&self) -> impl Iterator<Item = &'static FieldSpec> + '_ {
        self.dialect_fields().iter().chain(self.client_fields())
    }
}

/// A custom scope (with `:` or ending in `.default`) that does not name its API by a URI:
/// Entra ID reads such a scope as Microsoft Graph's.
pub fn names_no_api(scope: &str) -> bool {
    (scope.contains(':') || scope.ends_with(".default")) && !scope.contains("://")
}

/// One registered dialect; collected at link time by `inventory`.
#[doc(hidden)]
pub struct Registration(pub &'static dyn Provider);

inventory::collect!(Registration);

/// Registers a provider dialect with the compile-time registry:
/// `tokenctl_core::register_provider!(Keycloak);` in the dialect's crate.
#[macro_export]
macro_rules! register_provider {
    ($provider:expr) => {
        $crate::inventory::submit! { $crate::provider::Registration(&$provider) }
    };
}

/// Every registered dialect, sorted by kind so that listings are stable.
pub fn providers() -> Vec<&'static dyn Provider> {
    let mut all: Vec<&'static dyn Provider> = inventory::iter::<Registration>
        .into_iter()
        .map(|registration| registration.0)
        .collect();
    all.sort_by_key(|provider| provider.kind());
    all
}

/// The dialect registered under `kind`.
pub fn provider(kind: &str) -> Option<&'static dyn Provider> {
    inventory::iter::<Registration>
        .into_iter()
        .map(|registration| registration.0)
        .find(|provider| provider.kind() == kind)
}

/// Checks a provider entry against its dialect: required fields, each field's kind, and the
/// dialect's own rules. Fields the dialect does not know are kept and not reported here.
pub fn validate_provider(provider: &dyn Provider, config: &ProviderConfig<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for spec in provider.fields() {
        match config.fields.get(spec.name) {
            None | Some(Value::Null) if spec.required => errors.push(FieldError::new(
                spec.name,
                format!("is required ({})", spec.help),
            )),
            None | Some(Value::Null) => {}
            Some(value) => {
                if let Err(reason) = check_field_value(spec.kind, value) {
                    errors.push(FieldError::new(spec.name, reason));
                }
            }
        }
    }
    if errors.is_empty() {
        errors.extend(provider.validate_extra(config));
    }
    errors
}

/// Checks one value against a field kind; the error says what was expected.
#[allow(
    clippy::too_many_lines,
    reason = "a flat table: one arm per field kind"
)]
pub(crate) fn check_field_value(kind: FieldKind, value: &Value) -> Result<(), String> {
    match kind {
        FieldKind::List => match value {
            Value::Sequence(items) if items.iter().all(Value::is_string) => Ok(()),
            _ => Err("must be a list of strings, e.g. [openid, profile]".into()),
        },
        FieldKind::Ports => {
            let port = |value: &Value| value.as_u64().is_some_and(|p| (1..=65535).contains(&p));
            match value {
                Value::Sequence(ports) if !ports.is_empty() && ports.iter().all(port) => Ok(()),
                one if port(one) => Ok(()),
                _ => Err(format!(
                    "must be a port number from 1 to 65535, or a list of them, not {}",
                    describe(value)
                )),
            }
        }
        FieldKind::UrlPath => match value.as_str() {
            Some(path)
                if path.is_empty()
                    || (path.starts_with('/')
                        && !path.contains(|c: char| c == '?' || c == '#' || c.is_whitespace())) =>
            {
                Ok(())
            }
            _ => Err(format!(
                "must be empty or a path starting with / (like /callback), not {}",
                describe(value)
            )),
        },
        FieldKind::BaseUrl => match value.as_str() {
            Some(text) => parse_base_url(text)
                .map(drop)
                .map_err(|err| err.to_string()),
            None => Err(format!(
                "must be a URL or host name, not {}",
                describe(value)
            )),
        },
        FieldKind::KeyringEntry => match value.as_str() {
            Some(text) => crate::client_auth::check_keyring_place(text),
            None => Err(format!("must be BACKEND:ACCOUNT, not {}", describe(value))),
        },
        FieldKind::Bool => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(format!("must be true or false, not {}", describe(value))),
        },
        FieldKind::Duration => match value.as_str().map(parse_duration) {
            Some(Ok(_)) => Ok(()),
            Some(Err(reason)) => Err(reason),
            None => Err(format!(
                "must be a duration like 90s or 5m, not {}",
                describe(value)
            )),
        },
        FieldKind::Params => match value {
            Value::Mapping(params) => {
                for (key, value) in params {
                    let Some(key) = key.as_str() else {
                        return Err("must map parameter names to values".into());
                    };
                    if param_text(value).is_none() {
                        return Err(format!(
                            "`{key}` must be a word, a number or true/false, not {}",
                            describe(value)
                        ));
                    }
                    check_authorize_param(key)?;
                }
                Ok(())
            }
            _ => Err(format!(
                "must be a map of parameters, e.g. {{prompt: select_account}}, not {}",
                describe(value)
            )),
        },
        FieldKind::Choice(words) => match value.as_str() {
            Some(text) if words.contains(&text) => Ok(()),
            _ => Err(format!(
                "must be one of {}, not {}",
                words.join(", "),
                describe(value)
            )),
        },
        FieldKind::Text | FieldKind::EnvVar | FieldKind::Path | FieldKind::Secret => {
            match value.as_str() {
                Some(text) if text.trim().is_empty() => Err("must not be empty".into()),
                Some(_) => Ok(()),
                None => Err(format!("must be a string, not {}", describe(value))),
            }
        }
    }
}

/// The hosts a loopback redirect URI may name (RFC 8252 §7.3, and `localhost` as Entra ID and
/// int128/kubelogin register it).
pub(crate) const REDIRECT_HOSTS: &[&str] = &["127.0.0.1", "localhost", "[::1]"];

/// The parameters that set the token's audience: sent on token requests too, and part of the
/// login's identity.
pub(crate) const AUDIENCE_PARAMS: [&str; 2] = ["resource", "audience"];

/// The authorization request's own parameters, which `authorize-params` may not set, and what
/// does each one's job.
const PROTOCOL_PARAMS: &[(&str, &str)] = &[
    ("response_type", "tokenctl always asks for a code"),
    ("client_id", "set the provider's client-id"),
    (
        "redirect_uri",
        "set the provider's redirect-host, redirect-port and redirect-path",
    ),
    ("scope", "set `scopes`, or give --scope"),
    ("state", "tokenctl makes a new one for every sign-in"),
    ("nonce", "tokenctl makes a new one for every sign-in"),
    ("code_challenge", "tokenctl always sends PKCE S256"),
    ("code_challenge_method", "tokenctl always sends PKCE S256"),
    (
        "response_mode",
        "tokenctl takes the answer in the redirect's query",
    ),
    ("request", "request objects are not supported"),
    ("request_uri", "request objects are not supported"),
    (
        "claims",
        "tokenctl sends the claims challenge of a refused refresh with the next sign-in",
    ),
];

/// Whether `authorize-params` may set `name`; the error names what does the job instead.
#[doc(hidden)] // for tokenctl's CLI; not part of the dialect API
pub fn check_authorize_param(name: &str) -> Result<(), String> {
    match PROTOCOL_PARAMS.iter().find(|(param, _)| *param == name) {
        Some((_, instead)) => Err(format!(
            "`{name}` is the protocol's own parameter and cannot be set here: {instead}"
        )),
        None => Ok(()),
    }
}

/// The longest duration taken (`--min-valid`, `sign-in-timeout`): beyond it a number is a
/// typo, and instants computed from it could overflow.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(366 * 24 * 3600);

/// `5m`, `30s`, `1h30m`, `90` (seconds): humantime's durations, at most a year.
#[doc(hidden)] // for tokenctl's CLI; not part of the dialect API
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<u64>() {
        Ok(seconds) => std::time::Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text)
            .map_err(|err| format!("{text:?} is not a duration like 30s, 5m or 1h ({err})"))?,
    };
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is longer than a year"));
    }
    Ok(duration)
}

/// `listen-address`: an IP address only; the ports come from `redirect-port`.
#[doc(hidden)] // for tokenctl's CLI; not part of the dialect API
pub fn parse_listen_address(text: &str) -> Result<std::net::IpAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "{text:?} is not an IP address (127.0.0.1, ::1, 0.0.0.0); ports come from redirect-port"
        )
    })
}

/// A request parameter's value as sent: a string, a number or a boolean as written.
pub(crate) fn param_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// How a [`FieldKind::Ports`] value is written: one port as a number, more as a list.
#[doc(hidden)] // for tokenctl's CLI; not part of the dialect API
pub fn ports_value(ports: impl IntoIterator<Item = u64>) -> Value {
    let mut ports: Vec<Value> = ports.into_iter().map(Value::from).collect();
    match ports.len() {
        1 => ports.remove(0),
        _ => Value::Sequence(ports),
    }
}

/// A short description of a YAML value for error messages; never echoes a long string.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.len() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".into(),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}
