//! The typed view of one contexts file. Keys tokenctl does not know are ignored here; they
//! survive rewrites because edits are applied to the file's YAML tree, not to this view.

use indexmap::IndexMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_yaml_ng::Value;

use crate::provider::Flow;

/// Where secrets at rest are kept.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CredentialStore {
    /// The OS keyring when one works, else a 0600 file (announced).
    #[default]
    Auto,
    Keyring,
    File,
    /// Nothing is stored; every command needs a fresh login.
    None,
}

/// The names `credential-store` takes.
pub const CREDENTIAL_STORES: [&str; 4] = ["auto", "keyring", "file", "none"];

/// One contexts file, as tokenctl reads it.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileModel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// As written: a value that names no store stops only what reads or stores logins
    /// ([`FileModel::credential_store`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_store: Option<Value>,
    pub providers: Vec<ProviderEntry>,
    pub clusters: Vec<ClusterEntry>,
    pub contexts: Vec<ContextEntry>,
    /// Top-level keys tokenctl does not know (a typo is named by [`super::ConfigSet::notices`]).
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// The top-level keys of a contexts file.
pub const FILE_KEYS: [&str; 5] = [
    "current-context",
    "credential-store",
    "providers",
    "clusters",
    "contexts",
];

impl<'de> Deserialize<'de> for FileModel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileVisitor;
        impl<'de> Visitor<'de> for FileVisitor {
            type Value = FileModel;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping with current-context, providers, clusters and contexts")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileModel, A::Error> {
                let mut model = FileModel::default();
                let mut seen: Vec<String> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if seen.contains(&key) {
                        return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                    }
                    seen.push(key.clone());
                    let or_empty = |value: Option<Value>| value.filter(|v| !v.is_null());
                    match key.as_str() {
                        "current-context" => model.current_context = map.next_value()?,
                        "credential-store" => {
                            model.credential_store = or_empty(map.next_value()?);
                        }
                        "providers" => {
                            model.providers = map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        "clusters" => {
                            model.clusters = map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        "contexts" => {
                            model.contexts = map.next_value::<Option<_>>()?.unwrap_or_default();
                        }
                        _ => {
                            model.extra.insert(key, map.next_value()?);
                        }
                    }
                }
                Ok(model)
            }
        }
        deserializer.deserialize_map(FileVisitor)
    }
}

impl FileModel {
    /// The `credential-store` this file sets: `Err` with what was written when it names no
    /// store.
    pub fn credential_store(&self) -> Option<Result<CredentialStore, String>> {
        let value = self.credential_store.as_ref()?;
        let known = value
            .as_str()
            .and_then(|text| serde_yaml_ng::from_value::<CredentialStore>(Value::from(text)).ok());
        Some(known.ok_or_else(|| match value.as_str() {
            Some(text) => text.to_owned(),
            None => crate::provider::describe(value),
        }))
    }

    /// Relative paths the file names (a cluster's `certificate-authority`, a provider's
    /// files such as `client-secret-file`, a `subject-token: file:`) are read from the file's own directory,
    /// as kubectl reads the paths of its kubeconfig.
    pub fn anchor_paths(&mut self, dir: &std::path::Path) {
        let anchored = |path: &str| {
            let relative = std::path::Path::new(path);
            (!path.is_empty() && relative.is_relative())
                .then(|| dir.join(relative).display().to_string())
        };
        for cluster in &mut self.clusters {
            if let Some(path) = cluster.certificate_authority.as_deref().and_then(anchored) {
                cluster.certificate_authority = Some(path);
            }
        }
        for provider in &mut self.providers {
            for field in crate::provider::fields::PATHS {
                if let Some(Value::String(path)) = provider.fields.get_mut(field.name)
                    && let Some(absolute) = anchored(path)
                {
                    *path = absolute;
                }
            }
        }
        for context in &mut self.contexts {
            let file = context
                .subject_token
                .as_deref()
                .and_then(|s| s.strip_prefix("file:"));
            if let Some(path) = file.and_then(anchored) {
                context.subject_token = Some(format!("file:{path}"));
            }
        }
    }
}

/// Google's issuer host: its desktop clients' `client_secret` is documented as not secret.
const GOOGLE_ISSUER_HOST: &str = "accounts.google.com";

/// `providers[]`: an identity provider and this tool's client registration at it.
#[derive(Clone, Debug)]
pub struct ProviderEntry {
    pub name: String,
    pub kind: String,
    /// Every other key; what each means is the dialect's business.
    pub fields: IndexMap<String, Value>,
}

impl ProviderEntry {
    /// The warning an inline `client-secret` earns (anyone who reads the contexts file has
    /// it), unless the provider documents it as not secret: `client-secret-public: true`, or
    /// Google, whose desktop clients must send theirs (developers.google.com/identity/
    /// protocols/oauth2/native-app).
    pub fn inline_secret_warning(&self) -> Option<String> {
        self.fields.get("client-secret")?;
        let public = self.fields.get("client-secret-public") == Some(&Value::Bool(true));
        let google = self
            .fields
            .get("issuer")
            .and_then(Value::as_str)
            .and_then(|issuer| url::Url::parse(issuer).ok())
            .is_some_and(|url| url.host_str() == Some(GOOGLE_ISSUER_HOST));
        (!public && !google).then(|| {
            format!(
                "provider {:?} has its client secret written inline, where anyone who can read the contexts file has it: move it to client-secret-env or client-secret-file (or set client-secret-public: true if the provider documents it as not secret)",
                self.name
            )
        })
    }

    /// An entry whose fields are all text, as a dialect's tests build one.
    pub fn with_text_fields(name: &str, kind: &str, fields: &[(&str, &str)]) -> ProviderEntry {
        ProviderEntry {
            name: name.to_owned(),
            kind: kind.to_owned(),
            fields: fields
                .iter()
                .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
                .collect(),
        }
    }
}

/// `clusters[]`: an API server that accepts the tokens.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterEntry {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// The name the server's certificate is checked for instead of the server URL's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// Keys tokenctl does not know (a typo is named by [`super::ConfigSet::notices`]).
    #[serde(flatten)]
    pub extra: IndexMap<String, Value>,
}

/// `contexts[]`: a provider (or `discover`), a cluster, and defaults for login.
#[derive(Clone, Debug)]
pub struct ContextEntry {
    pub name: String,
    pub provider: Option<String>,
    pub cluster: Option<String>,
    pub flow: Option<Flow>,
    /// A `flow:` that names no flow, as written: it stops this context only (validation says
    /// so) and is written back as it was.
    pub unknown_flow: Option<serde_yaml_ng::Value>,
    pub scopes: Option<Vec<String>>,
    /// `login: NAME`: an identity of this context's own (two accounts on one provider).
    pub login: Option<String>,
    /// `subject-token: file:PATH | env:NAME`: where the exchange flow reads the token it
    /// exchanges, again whenever it renews the login (see [`SubjectSource`]).
    pub subject_token: Option<String>,
    /// `subject-token-type`: the RFC 8693 type of that token (`jwt`, `access_token`, … or a URN).
    pub subject_token_type: Option<String>,
    /// `subject-issuer`: for Keycloak's legacy (V1, preview `token-exchange:v1`) external-to-
    /// internal exchange, the alias of the identity provider that issued the subject token;
    /// standard token exchange (26.2+) refuses it.
    pub subject_issuer: Option<String>,
    /// `client-assertion: SOURCE`: the client-credentials flow authenticates the client with
    /// the token this source holds (a CI job's ID token: Entra ID federated credentials).
    pub client_assertion: Option<String>,
    /// `ci-token-audience`: the audience a `github-actions` source asks the runner for.
    pub ci_token_audience: Option<String>,
    /// `browser`, `listen-address` and `sign-in-timeout` of this context's sign-ins, over
    /// its provider's (as written; checked by validation).
    pub browser: Option<String>,
    pub listen_address: Option<String>,
    pub sign_in_timeout: Option<String>,
    /// `git-hosts`: the hosts `auth git-credential` answers for with this context's token.
    pub git_hosts: Vec<String>,
    /// `git-username`: the user name given to git (default `oauth2`).
    pub git_username: Option<String>,
    /// `registries`: the container registries `docker-credential-tokenctl` answers for.
    pub registries: Vec<String>,
    /// `registry-username`: the user name given to Docker (default `oauth2accesstoken`).
    pub registry_username: Option<String>,
    /// `cluster-token`: the token kubectl, `api`, plugins and `proxy` send to the cluster.
    pub cluster_token: Option<TokenKind>,
    /// `authorize-params`: added to the authorization and device requests; win over the
    /// provider's (an empty value removes one).
    pub authorize_params: IndexMap<String, String>,
    /// Free-form attributes (`workspace: default`), in file order, handed to plugins as
    /// environment. A list rather than a map: a context has a handful, and a file thousands.
    pub attributes: Vec<KeyValue>,
}

/// Which of a login's tokens is handed out: the access token, or the ID token (what
/// Kubernetes' OIDC authenticator validates: its `aud` is the client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    #[default]
    Access,
    Id,
}

impl TokenKind {
    /// The names `cluster-token` takes.
    pub const NAMES: &[&str] = &["access", "id"];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Id => "id",
        }
    }

    pub fn parse(name: &str) -> Option<TokenKind> {
        [TokenKind::Access, TokenKind::Id]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// What `kubeconfig setup` writes for a provider of `kind` that has no `cluster-token` yet:
    /// the ID token, as int128/kubelogin and Kubernetes' OIDC authenticator expect it; for
    /// Entra ID the access token, which AKS and Azure kubelogin use.
    pub fn for_cluster_of(kind: &str) -> TokenKind {
        if kind == "azure" {
            TokenKind::Access
        } else {
            TokenKind::Id
        }
    }
}

/// The environment variables tokenctl itself reads or hands to the programs it runs; no context
/// attribute may become one of them.
pub(super) const OWN_VARIABLES: &[&str] = &[
    "TOKENCTL_CONFIG",
    "TOKENCTL_CONTEXT",
    "TOKENCTL_SERVER",
    "TOKENCTL_TOKEN",
    "TOKENCTL_TOKEN_FILE",
    "TOKENCTL_TOKEN_EXPIRES_AT",
    "TOKENCTL_USERNAME",
    "TOKENCTL_PASSWORD",
    "TOKENCTL_PIE",
];

/// The variable a context attribute reaches plugins as: `TOKENCTL_` and the name upper-cased,
/// `-` as `_`. A name is letters, digits, `_` and `-` (so it cannot smuggle `=` or a second
/// variable into the environment), and never names one of `OWN_VARIABLES`.
pub fn attribute_variable(key: &str) -> Result<String, String> {
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "attribute {key:?}: a name is letters, digits, `_` and `-` (it becomes an environment variable for plugins)"
        ));
    }
    let variable = format!("TOKENCTL_{}", key.to_ascii_uppercase().replace('-', "_"));
    if OWN_VARIABLES.contains(&variable.as_str()) {
        return Err(format!(
            "attribute {key:?} would be {variable}, which tokenctl sets itself; choose another name"
        ));
    }
    Ok(variable)
}

/// The keys of a context entry that tokenctl interprets; everything else is an attribute.
pub const CONTEXT_KEYS: [&str; 20] = [
    "name",
    "provider",
    "cluster",
    "flow",
    "scopes",
    "login",
    "subject-token",
    "subject-token-type",
    "subject-issuer",
    "client-assertion",
    "ci-token-audience",
    "git-hosts",
    "git-username",
    "registries",
    "registry-username",
    "cluster-token",
    "authorize-params",
    "browser",
    "listen-address",
    "sign-in-timeout",
];

/// The context keys set with `config set-context --set KEY=VALUE` rather than a flag of their
/// own (the credential helpers' maps); the list keys take `a,b`.
pub const SET_KEYS: [&str; 8] = [
    "git-hosts",
    "git-username",
    "registries",
    "registry-username",
    "cluster-token",
    "browser",
    "listen-address",
    "sign-in-timeout",
];

/// The context keys that hold a list (one value is a list of one).
pub const LIST_KEYS: [&str; 2] = ["git-hosts", "registries"];

/// Where a `subject-token` is read: a file (a projected service-account token, a CI job's ID
/// token written to disk) or an environment variable. Read again at every renewal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectSource {
    File(std::path::PathBuf),
    Env(String),
    /// The GitHub Actions runner's OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`).
    GithubActions,
}

/// The source name of GitHub Actions' ID token.
pub const GITHUB_ACTIONS: &str = "github-actions";

impl SubjectSource {
    /// `field` names the key in the error (`subject-token`, `client-assertion`).
    pub fn parse_field(text: &str, field: &str) -> Result<SubjectSource, String> {
        SubjectSource::parse(text).map_err(|_| {
            format!(
                "field `{field}`: {text:?} is not `{GITHUB_ACTIONS}`, `file:PATH` or `env:NAME`"
            )
        })
    }

    pub fn parse(text: &str) -> Result<SubjectSource, String> {
        if text.trim() == GITHUB_ACTIONS {
            return Ok(SubjectSource::GithubActions);
        }
        match text.split_once(':') {
            Some(("file", path)) if !path.trim().is_empty() => {
                Ok(SubjectSource::File(path.trim().into()))
            }
            Some(("env", name)) if !name.trim().is_empty() => {
                Ok(SubjectSource::Env(name.trim().to_owned()))
            }
            _ => Err(format!(
                "field `subject-token`: {text:?} is not `{GITHUB_ACTIONS}`, `file:PATH` or `env:NAME`"
            )),
        }
    }
}

impl fmt::Display for SubjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectSource::File(path) => write!(f, "file:{}", path.display()),
            SubjectSource::Env(name) => write!(f, "env:{name}"),
            SubjectSource::GithubActions => f.write_str(GITHUB_ACTIONS),
        }
    }
}

/// The RFC 8693 token type a `subject-token-type` names: a short name or the full URN.
pub fn subject_token_type(text: &str) -> Result<String, String> {
    token_type("field `subject-token-type`", text)
}

/// The RFC 8693 token type (`urn:ietf:params:oauth:token-type:…`) that `text` names, a short
/// name or the full URN; the error starts with `what`.
pub fn token_type(what: &str, text: &str) -> Result<String, String> {
    const SHORT: [&str; 6] = [
        "access_token",
        "refresh_token",
        "id_token",
        "jwt",
        "saml1",
        "saml2",
    ];
    let text = text.trim();
    if SHORT.contains(&text) {
        Ok(format!("urn:ietf:params:oauth:token-type:{text}"))
    } else if text.starts_with("urn:") && !text.contains(char::is_whitespace) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{what}: {text:?} is not one of {} or a URN",
            SHORT.join(", ")
        ))
    }
}

/// The keys of a cluster entry, all interpreted by tokenctl.
pub const CLUSTER_KEYS: [&str; 5] = [
    "server",
    "certificate-authority",
    "certificate-authority-data",
    "insecure-skip-tls-verify",
    "tls-server-name",
];

/// The `provider:` value that asks the cluster which provider to use.
pub const DISCOVER: &str = "discover";

// Provider and context entries keep the keys they do not interpret. serde's `flatten` would
// do that, but it buffers every entry and made a 5,000-context file several times slower to
// load, so these two are read and written by hand: known keys, then the rest in order.

/// A key the entry's type does not interpret, with its value.
pub(super) type KeyValue = (String, Value);

/// Reads a mapping whose `name` is required, whose `known` keys go to `take`, and whose
/// other keys are kept in order. A repeated key is an error, as it is in a derived struct.
fn read_entry<'de, A: MapAccess<'de>>(
    mut map: A,
    known: &[&'static str],
    mut take: impl FnMut(&str, &mut A) -> Result<(), A::Error>,
) -> Result<(String, Vec<KeyValue>), A::Error> {
    let mut name = None;
    let mut seen: Vec<&'static str> = Vec::with_capacity(known.len());
    let mut rest: Vec<KeyValue> = Vec::new();
    while let Some(key) = map.next_key::<String>()? {
        if let Some(&field) = known.iter().chain(["name"].iter()).find(|k| **k == key) {
            if seen.contains(&field) {
                return Err(de::Error::duplicate_field(field));
            }
            seen.push(field);
            if field == "name" {
                name = Some(map.next_value::<String>()?);
            } else {
                take(field, &mut map)?;
            }
        } else {
            if rest.iter().any(|(seen, _)| *seen == key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            rest.push((key, map.next_value::<Value>()?));
        }
    }
    let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
    Ok((name, rest))
}

/// A visitor for one entry type, with what `expecting` says.
struct EntryVisitor<T>(&'static str, std::marker::PhantomData<T>);

impl<'de> Visitor<'de> for EntryVisitor<ProviderEntry> {
    type Value = ProviderEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProviderEntry, A::Error> {
        let mut kind = None;
        let (name, fields) = read_entry(map, &["kind"], |_, map| {
            kind = Some(map.next_value::<String>()?);
            Ok(())
        })?;
        let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
        Ok(ProviderEntry {
            name,
            kind,
            fields: fields.into_iter().collect(),
        })
    }
}

impl<'de> Deserialize<'de> for ProviderEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let expecting = "a provider: name, kind and the kind's fields";
        deserializer.deserialize_map(EntryVisitor::<Self>(expecting, std::marker::PhantomData))
    }
}

impl Serialize for ProviderEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2 + self.fields.len()))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("kind", &self.kind)?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Visitor<'de> for EntryVisitor<ClusterEntry> {
    type Value = ClusterEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ClusterEntry, A::Error> {
        let (mut server, mut certificate_authority, mut certificate_authority_data) =
            (None, None, None);
        let (mut insecure_skip_tls_verify, mut tls_server_name) = (None, None);
        let (name, extra) = read_entry(map, &CLUSTER_KEYS, |key, map| {
            match key {
                "server" => server = map.next_value()?,
                "certificate-authority" => certificate_authority = map.next_value()?,
                "certificate-authority-data" => certificate_authority_data = map.next_value()?,
                "insecure-skip-tls-verify" => insecure_skip_tls_verify = map.next_value()?,
                "tls-server-name" => tls_server_name = map.next_value()?,
                other => return Err(de::Error::unknown_field(other, &CLUSTER_KEYS)),
            }
            Ok(())
        })?;
        Ok(ClusterEntry {
            name,
            server,
            certificate_authority,
            certificate_authority_data,
            insecure_skip_tls_verify,
            tls_server_name,
            extra: extra.into_iter().collect(),
        })
    }
}

impl<'de> Deserialize<'de> for ClusterEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let expecting = "a cluster: name, server, certificate-authority, …";
        deserializer.deserialize_map(EntryVisitor::<Self>(expecting, std::marker::PhantomData))
    }
}

impl<'de> Visitor<'de> for EntryVisitor<ContextEntry> {
    type Value = ContextEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ContextEntry, A::Error> {
        let (mut provider, mut cluster, mut flow, mut scopes, mut login) =
            (None, None, None, None, None);
        let mut unknown_flow = None;
        let (mut subject_token, mut subject_token_type, mut subject_issuer) = (None, None, None);
        let (mut client_assertion, mut ci_token_audience) = (None, None);
        let (mut git_hosts, mut git_username, mut registries, mut registry_username) =
            (Vec::new(), None, Vec::new(), None);
        let mut cluster_token = None;
        let mut authorize_params = IndexMap::new();
        let (mut browser, mut listen_address, mut sign_in_timeout) = (None, None, None);
        let (name, attributes) = read_entry(map, &CONTEXT_KEYS[1..], |key, map| {
            match key {
                "provider" => provider = map.next_value()?,
                "cluster" => cluster = map.next_value()?,
                "flow" => {
                    let value: Value = map.next_value()?;
                    match value.as_str().and_then(Flow::parse) {
                        Some(known) => flow = Some(known),
                        None => unknown_flow = Some(value),
                    }
                }
                "scopes" => scopes = map.next_value()?,
                "login" => login = map.next_value()?,
                "subject-token" => subject_token = map.next_value()?,
                "subject-token-type" => subject_token_type = map.next_value()?,
                "subject-issuer" => subject_issuer = map.next_value()?,
                "client-assertion" => client_assertion = map.next_value()?,
                "ci-token-audience" => ci_token_audience = map.next_value()?,
                "git-hosts" => git_hosts = map.next_value::<OneOrMany>()?.0,
                "git-username" => git_username = map.next_value()?,
                "registries" => registries = map.next_value::<OneOrMany>()?.0,
                "cluster-token" => cluster_token = map.next_value()?,
                "authorize-params" => authorize_params = map.next_value::<Params>()?.0,
                "registry-username" => registry_username = map.next_value()?,
                "browser" => browser = map.next_value()?,
                "listen-address" => listen_address = map.next_value()?,
                "sign-in-timeout" => {
                    // `90` (seconds) or `5m`, as the provider's field takes it.
                    let value: Option<Value> = map.next_value()?;
                    sign_in_timeout = value.as_ref().and_then(crate::provider::param_text);
                }
                other => return Err(de::Error::unknown_field(other, &CONTEXT_KEYS)),
            }
            Ok(())
        })?;
        Ok(ContextEntry {
            name,
            provider,
            cluster,
            flow,
            unknown_flow,
            scopes,
            login,
            subject_token,
            subject_token_type,
            subject_issuer,
            client_assertion,
            ci_token_audience,
            git_hosts,
            git_username,
            registries,
            registry_username,
            cluster_token,
            authorize_params,
            browser,
            listen_address,
            sign_in_timeout,
            attributes,
        })
    }
}

impl<'de> Deserialize<'de> for ContextEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let expecting = "a context: name, provider, cluster, flow, scopes, login, subject-token, … and attributes";
        deserializer.deserialize_map(EntryVisitor::<Self>(expecting, std::marker::PhantomData))
    }
}

impl Serialize for ContextEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        if let Some(provider) = &self.provider {
            map.serialize_entry("provider", provider)?;
        }
        if let Some(cluster) = &self.cluster {
            map.serialize_entry("cluster", cluster)?;
        }
        if let Some(flow) = &self.flow {
            map.serialize_entry("flow", flow)?;
        } else if let Some(written) = &self.unknown_flow {
            map.serialize_entry("flow", written)?;
        }
        if let Some(scopes) = &self.scopes {
            map.serialize_entry("scopes", scopes)?;
        }
        if let Some(login) = &self.login {
            map.serialize_entry("login", login)?;
        }
        if let Some(source) = &self.subject_token {
            map.serialize_entry("subject-token", source)?;
        }
        if let Some(kind) = &self.subject_token_type {
            map.serialize_entry("subject-token-type", kind)?;
        }
        let texts = [
            ("subject-issuer", &self.subject_issuer),
            ("client-assertion", &self.client_assertion),
            ("ci-token-audience", &self.ci_token_audience),
            ("git-username", &self.git_username),
            ("registry-username", &self.registry_username),
            ("browser", &self.browser),
            ("listen-address", &self.listen_address),
            ("sign-in-timeout", &self.sign_in_timeout),
        ];
        for (key, value) in texts {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        if let Some(kind) = self.cluster_token {
            map.serialize_entry("cluster-token", kind.as_str())?;
        }
        if !self.authorize_params.is_empty() {
            map.serialize_entry("authorize-params", &self.authorize_params)?;
        }
        for (key, list) in [
            ("git-hosts", &self.git_hosts),
            ("registries", &self.registries),
        ] {
            if !list.is_empty() {
                map.serialize_entry(key, list)?;
            }
        }
        for (key, value) in &self.attributes {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `authorize-params`: names to scalar values, as they are sent.
struct Params(IndexMap<String, String>);

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = IndexMap::<String, Value>::deserialize(deserializer)?;
        map.into_iter()
            .map(|(key, value)| match crate::provider::param_text(&value) {
                Some(text) => Ok((key, text)),
                None => Err(de::Error::custom(format!(
                    "authorize-params: `{key}` must be a word, a number or true/false"
                ))),
            })
            .collect::<Result<_, _>>()
            .map(Params)
    }
}

/// A list, or one value as a list of one (`git-hosts: git.example.com`).
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(one) => Ok(OneOrMany(vec![one])),
            Value::Sequence(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text),
                    _ => Err(de::Error::custom("expected a list of names")),
                })
                .collect::<Result<_, _>>()
                .map(OneOrMany),
            _ => Err(de::Error::custom("expected a name or a list of names")),
        }
    }
}

/// Treats an explicit `null` (`contexts:` with nothing under it) like an absent key.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Only the names, for TAB completion: read from the parse cache, the rest is skipped.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NamesModel {
    #[serde(default, deserialize_with = "null_as_default")]
    pub providers: Vec<Named>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub clusters: Vec<Named>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub contexts: Vec<Named>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Named {
    pub name: String,
}

#[cfg(test)]
mod tests {
    /// Every reserved context key lands in a field of its own, never in another's (the
    /// review found a catch-all arm that gave any unlisted key to `registry-username`), and
    /// every cluster key likewise.
    #[test]
    fn each_reserved_key_is_read_into_its_own_field() {
        for key in &super::CONTEXT_KEYS[1..] {
            let value = match *key {
                "authorize-params" => "{prompt: login}",
                "git-hosts" | "registries" | "scopes" => "[x]",
                "flow" => "device",
                "cluster-token" => "id",
                _ => "x",
            };
            let context: super::ContextEntry =
                serde_yaml_ng::from_str(&format!("{{name: c, {key}: {value}}}")).unwrap();
            assert_eq!(
                context.registry_username.is_some(),
                *key == "registry-username",
                "{key}"
            );
            assert!(context.attributes.is_empty(), "{key} is no attribute");
        }
        for key in super::CLUSTER_KEYS {
            let value = if key == "insecure-skip-tls-verify" {
                "true"
            } else {
                "x"
            };
            let cluster: super::ClusterEntry =
                serde_yaml_ng::from_str(&format!("{{name: c, {key}: {value}}}")).unwrap();
            assert_eq!(
                cluster.tls_server_name.is_some(),
                key == "tls-server-name",
                "{key}"
            );
            assert!(cluster.extra.is_empty(), "{key}");
        }
    }

    use super::*;

    #[test]
    fn an_inline_secret_is_warned_about_unless_documented_as_public() {
        let entry = |issuer: &str, public: bool| {
            let mut entry = ProviderEntry::with_text_fields(
                "g",
                "oidc",
                &[("issuer", issuer), ("client-secret", "GOCSPX-x")],
            );
            if public {
                entry
                    .fields
                    .insert("client-secret-public".into(), Value::Bool(true));
            }
            entry
        };
        assert!(
            entry("https://sso.example.com", false)
                .inline_secret_warning()
                .is_some()
        );
        assert!(
            entry("https://sso.example.com", true)
                .inline_secret_warning()
                .is_none()
        );
        assert!(
            entry("https://accounts.google.com", false)
                .inline_secret_warning()
                .is_none()
        );
    }
}
