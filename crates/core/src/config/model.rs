//! The typed view of one contexts file. Keys tokenctl does not know are ignored here; they
//! survive rewrites because edits are applied to the file's YAML tree, not to this view.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};
use serde_yaml_ng::Value;

use crate::provider::Flow;

/// Where secrets at rest are kept.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
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

/// One contexts file, as tokenctl reads it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileModel {
    #[serde(default, deserialize_with = "null_as_default")]
    pub current_context: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub credential_store: Option<CredentialStore>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub providers: Vec<ProviderEntry>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub clusters: Vec<ClusterEntry>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub contexts: Vec<ContextEntry>,
}

/// `providers[]`: an identity provider and this tool's client registration at it.
#[derive(Clone, Debug, Deserialize)]
pub struct ProviderEntry {
    pub name: String,
    pub kind: String,
    /// Every other key; what each means is the dialect's business.
    #[serde(flatten)]
    pub fields: IndexMap<String, Value>,
}

impl ProviderEntry {
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
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterEntry {
    pub name: String,
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub certificate_authority: Option<String>,
    #[serde(default)]
    pub certificate_authority_data: Option<String>,
    #[serde(default)]
    pub insecure_skip_tls_verify: Option<bool>,
}

/// `contexts[]`: a provider (or `discover`), a cluster, and defaults for login.
#[derive(Clone, Debug, Deserialize)]
pub struct ContextEntry {
    pub name: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub flow: Option<Flow>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Free-form attributes (`workspace: default`), handed to plugins as environment.
    #[serde(flatten)]
    pub attributes: IndexMap<String, Value>,
}

/// The keys of a context entry that tokenctl interprets; everything else is an attribute.
pub const CONTEXT_KEYS: [&str; 5] = ["name", "provider", "cluster", "flow", "scopes"];

/// The keys of a cluster entry, all interpreted by tokenctl.
pub const CLUSTER_KEYS: [&str; 4] = [
    "server",
    "certificate-authority",
    "certificate-authority-data",
    "insecure-skip-tls-verify",
];

/// The `provider:` value that asks the cluster which provider to use.
pub const DISCOVER: &str = "discover";

/// Treats an explicit `null` (`contexts:` with nothing under it) like an absent key.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Only the names, for TAB completion: skips everything else without building it.
#[derive(Debug, Default, Deserialize)]
pub struct NamesModel {
    #[serde(default, deserialize_with = "null_as_default")]
    pub providers: Vec<Named>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub clusters: Vec<Named>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub contexts: Vec<Named>,
}

#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: String,
}
