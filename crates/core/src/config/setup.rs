//! The first run: when `auth login` has nothing to log in to, what a guided setup creates. The
//! CLI asks the questions; the rules (when the setup applies, what is asked, how the new
//! entries are named and written) live here.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_yaml_ng::Value;

use super::{ConfigError, ConfigSet, Edit, Section};
use crate::base_url::parse_base_url;
use crate::provider::{self, FieldError, FieldSpec, Flow, Provider, ProviderConfig};

/// Why `auth login` would start a guided setup.
#[derive(Clone, Copy)]
pub enum FirstRun {
    /// No context is defined and none was asked for: ask the kind too.
    NoContexts,
    /// `--provider KIND` names a registered kind that no provider has.
    Kind(&'static dyn Provider),
}

impl FirstRun {
    /// Whether `auth login` with these selections has nothing to log in to that a setup could
    /// create. A context asked for by name is never created.
    pub fn needed(
        set: &ConfigSet,
        wanted: Option<&str>,
        provider_word: Option<&str>,
    ) -> Option<FirstRun> {
        match provider_word {
            Some(word) => match set.provider_named_or_of_kind(word) {
                Err(ConfigError::NoProviderOfKind { .. }) => {
                    provider::provider(word).map(FirstRun::Kind)
                }
                _ => None,
            },
            None if wanted.is_none() => {
                matches!(set.chosen_context(None), Err(ConfigError::NoContexts))
                    .then_some(FirstRun::NoContexts)
            }
            None => None,
        }
    }
}

/// The fields the setup asks for: a kind's required fields, in its order.
pub fn asked_fields(kind: &dyn Provider) -> Vec<&'static FieldSpec> {
    kind.fields().filter(|field| field.required).collect()
}

/// One answer, checked against its field: the value to store, or why it is refused. Lists are
/// given as words separated by commas or spaces.
pub fn field_answer(field: &FieldSpec, answer: &str) -> Result<Value, String> {
    let value = match field.kind {
        provider::FieldKind::List => Value::Sequence(
            answer
                .split([',', ' '])
                .filter(|word| !word.is_empty())
                .map(Value::from)
                .collect(),
        ),
        provider::FieldKind::Ports => provider::ports_value(
            answer
                .split([',', ' '])
                .filter(|word| !word.is_empty())
                .map(str::parse::<u64>)
                .collect::<Result<Vec<u64>, _>>()
                .map_err(|_| format!("must be a port number from 1 to 65535, not {answer:?}"))?,
        ),
        _ => Value::from(without_well_known(answer)),
    };
    provider::check_field_value(field.kind, &value)?;
    Ok(value)
}

/// The suffix of a discovery document's URL, which a pasted issuer may carry.
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// An answer without a pasted `/.well-known/openid-configuration`.
pub fn without_well_known(answer: &str) -> &str {
    answer
        .trim()
        .strip_suffix(WELL_KNOWN)
        .unwrap_or(answer.trim())
}

/// The fields an answer stands for when it is an issuer URL of this kind (Keycloak's
/// `https://sso/realms/R`: server and realm), taken apart; `None` when it is not one.
pub fn taken_apart(kind: &dyn Provider, answer: &str) -> Option<Vec<(&'static str, Value)>> {
    let url = url::Url::parse(without_well_known(answer)).ok()?;
    let fields = kind.fields_from_issuer(&url)?;
    let fields: Vec<(&'static str, Value)> = fields
        .into_iter()
        .filter(|(name, _)| kind.fields().any(|field| field.name == *name))
        .map(|(name, value)| (name, Value::from(value)))
        .collect();
    (!fields.is_empty()).then_some(fields)
}

/// Every problem of the provider's fields as its dialect sees them (rules across fields, say),
/// before anything is written: the setup asks those fields again.
pub fn problems(kind: &dyn Provider, fields: &IndexMap<String, Value>) -> Vec<FieldError> {
    let config = ProviderConfig {
        name: kind.kind(),
        fields,
    };
    provider::validate_provider(kind, &config)
}

/// The cluster's API server URL, checked as `config set-cluster` checks it.
pub fn cluster_answer(answer: &str) -> Result<String, String> {
    parse_base_url(answer)
        .map(|_| answer.to_owned())
        .map_err(|err| err.to_string())
}

/// What the setup will write.
pub struct Setup {
    pub kind: &'static dyn Provider,
    pub fields: IndexMap<String, Value>,
    pub flow: Flow,
    /// The scopes the context asks for (none: the provider's).
    pub scopes: Vec<String>,
    /// The API server's URL, when the person named one.
    pub cluster_server: Option<String>,
}

/// The names the setup gave, once written.
pub struct Created {
    pub provider: String,
    pub cluster: Option<String>,
    pub context: String,
    pub path: PathBuf,
}

impl Setup {
    /// Writes the provider, the cluster (if any) and a context of both. They are named after
    /// the kind (`azure`), else the host, else numbered. The context is made current by
    /// [`Created::make_current`] once a login with it succeeds.
    pub fn write(self, paths: &[PathBuf]) -> Result<Created, ConfigError> {
        let set = ConfigSet::load(paths)?;
        let host = self
            .fields
            .values()
            .find_map(|value| value.as_str().and_then(host_label));
        let provider = free_name(self.kind.kind(), host.as_deref(), |name| {
            set.provider(name).is_some()
        });
        let cluster = self.cluster_server.as_deref().map(|server| {
            let host = host_label(server);
            free_name(host.as_deref().unwrap_or("cluster"), None, |name| {
                set.cluster(name).is_some()
            })
        });
        let context = free_name(&provider, None, |name| set.context(name).is_some());

        let mut fields = self.fields;
        fields.insert("kind".into(), Value::from(self.kind.kind()));
        ConfigSet::apply(
            paths,
            &Edit::set_fields(Section::Providers, &provider, fields),
        )?;
        if let (Some(name), Some(server)) = (&cluster, self.cluster_server) {
            let fields = IndexMap::from([("server".to_owned(), Value::from(server))]);
            ConfigSet::apply(paths, &Edit::set_fields(Section::Clusters, name, fields))?;
        }
        let mut fields = IndexMap::from([
            ("provider".to_owned(), Value::from(provider.as_str())),
            ("flow".to_owned(), Value::from(self.flow.as_str())),
        ]);
        if let Some(name) = &cluster {
            fields.insert("cluster".into(), Value::from(name.as_str()));
        }
        if !self.scopes.is_empty() {
            let scopes = self
                .scopes
                .iter()
                .map(|s| Value::from(s.as_str()))
                .collect();
            fields.insert("scopes".into(), Value::Sequence(scopes));
        }
        let outcome = ConfigSet::apply(
            paths,
            &Edit::set_fields(Section::Contexts, &context, fields),
        )?;
        Ok(Created {
            provider,
            cluster,
            context,
            path: outcome.path,
        })
    }
}

impl Created {
    /// Makes the new context current: after its first login succeeded, so that a setup that
    /// ends in a failed login leaves the current context as it was.
    pub fn make_current(&self, paths: &[PathBuf]) -> Result<(), ConfigError> {
        ConfigSet::apply(paths, &Edit::UseContext(self.context.clone())).map(drop)
    }
}

/// The first label of a URL's host (`sso` of `https://sso.example.com/`), when it is a name.
fn host_label(text: &str) -> Option<String> {
    let url = parse_base_url(text).ok()?;
    match url.host()? {
        url::Host::Domain(domain) => domain.split('.').next().map(str::to_owned),
        _ => None,
    }
}

/// `first` when free, else `second`, else `first-2`, `first-3`, ….
fn free_name(first: &str, second: Option<&str>, taken: impl Fn(&str) -> bool) -> String {
    std::iter::once(first.to_owned())
        .chain(second.map(str::to_owned))
        .chain((2u32..).map(|n| format!("{first}-{n}")))
        .find(|name| !taken(name))
        .unwrap_or_else(|| first.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_kind_then_the_host_then_numbered() {
        assert_eq!(free_name("azure", Some("login"), |_| false), "azure");
        assert_eq!(free_name("azure", Some("login"), |n| n == "azure"), "login");
        assert_eq!(
            free_name("azure", Some("login"), |n| n == "azure" || n == "login"),
            "azure-2"
        );
        assert_eq!(free_name("azure", None, |n| n == "azure"), "azure-2");
        assert_eq!(
            host_label("https://sso.example.com/realms").as_deref(),
            Some("sso")
        );
        assert_eq!(host_label("http://127.0.0.1:8080"), None);
    }

    #[test]
    fn answers_are_checked_against_their_field() {
        let scopes = FieldSpec::optional("scopes", provider::FieldKind::List, "scopes");
        assert_eq!(
            field_answer(&scopes, "a, b c").unwrap(),
            Value::Sequence(vec!["a".into(), "b".into(), "c".into()])
        );
        let url = FieldSpec::required("server", provider::FieldKind::BaseUrl, "server");
        assert!(field_answer(&url, "http://sso.example.com").is_err());
        assert!(field_answer(&url, "https://sso.example.com").is_ok());
        assert_eq!(
            field_answer(
                &url,
                "https://id.example.com/.well-known/openid-configuration"
            )
            .unwrap(),
            Value::from("https://id.example.com")
        );
    }
}
