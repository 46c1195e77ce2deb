//! Which login a context uses: the one made for exactly what it asks — provider, client, kind
//! of principal, scopes and its `login:` name — checked against the issuer that minted it.
//! There is no fallback to another login.

use std::collections::HashMap;

use url::Url;

pub use super::store::Principal;
use super::store::{StoredLogin, sanitize, stable_hash};
use crate::config::{
    self, ClusterEntry, ConfigError, ConfigSet, ContextEntry, ProviderEntry, ResolvedContext,
};
use crate::flows::{discovered_name, requested_scopes};
use crate::provider::{self, Flow};

/// Where a provider comes from: the contexts file, or the cluster (`provider: discover`).
#[derive(Clone, Copy, Debug)]
pub enum Provided<'a> {
    Configured(&'a ProviderEntry),
    Discover(&'a ClusterEntry),
}

impl<'a> Provided<'a> {
    /// The provider of a stored login, by the name it was stored under.
    pub fn of_login(set: &'a ConfigSet, provider: &str) -> Result<Provided<'a>, String> {
        match (set.provider(provider), provider.strip_prefix("discover:")) {
            (Some(entry), _) => Ok(Provided::Configured(entry)),
            (None, Some(cluster)) => set
                .cluster(cluster)
                .map(Provided::Discover)
                .ok_or_else(|| format!("cluster {cluster:?} is no longer defined")),
            (None, None) => Err(format!("provider {provider:?} is no longer defined")),
        }
    }

    /// The name logins are stored under.
    pub fn name(&self) -> String {
        match self {
            Provided::Configured(entry) => entry.name.clone(),
            Provided::Discover(cluster) => discovered_name(&cluster.name),
        }
    }
}

/// The provider and context a command works with.
#[derive(Clone, Copy, Debug)]
pub struct Selection<'a> {
    pub context: Option<&'a ContextEntry>,
    pub provider: Provided<'a>,
}

/// Why a context cannot name a login.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Unusable(String),
}

/// The context (`wanted`, else TOKENCTL_CONTEXT, else current-context, else the only one) and
/// its provider; or, with `provider` (a provider's name, else a kind that one provider has),
/// that provider (and the context, when it uses it).
pub fn select<'a>(
    set: &'a ConfigSet,
    wanted: Option<&str>,
    provider: Option<&str>,
) -> Result<Selection<'a>, SelectError> {
    if let Some(word) = provider {
        let entry = set.provider_named_or_of_kind(word)?;
        let context = set
            .resolve(wanted)
            .ok()
            .map(|r| r.context)
            .filter(|c| c.provider.as_deref() == Some(entry.name.as_str()));
        return Ok(Selection {
            context,
            provider: Provided::Configured(entry),
        });
    }
    Selection::of(set.resolve(wanted)?)
}

impl<'a> Selection<'a> {
    /// What a resolved context asks: its provider, else discovery from its cluster.
    fn of(resolved: ResolvedContext<'a>) -> Result<Selection<'a>, SelectError> {
        let provider = match (resolved.provider, resolved.cluster) {
            (Some(entry), _) => Provided::Configured(entry),
            (None, Some(cluster)) => Provided::Discover(cluster),
            (None, None) => {
                return Err(SelectError::Unusable(format!(
                    "context {:?} has neither a provider nor a cluster to ask",
                    resolved.context.name
                )));
            }
        };
        Ok(Selection {
            context: Some(resolved.context),
            provider,
        })
    }
}

/// The login key of every context that names one, in file order: one pass, for the lists of
/// contexts sharing a login (`auth status`, `get-contexts`). Contexts that ask alike (most of
/// a large file) share one computed key.
pub fn login_keys(set: &ConfigSet) -> Vec<(&str, String)> {
    let mut made = HashMap::new();
    set.contexts()
        .into_iter()
        .filter_map(|(_, context)| {
            // The cluster matters only where it names the provider.
            let discover = matches!(context.provider.as_deref(), None | Some(config::DISCOVER));
            let asks = (
                &context.provider,
                discover.then_some(&context.cluster),
                context.flow,
                &context.scopes,
                &context.login,
                &context.subject_token,
            );
            let key = made.entry(asks).or_insert_with(|| login_key(set, context));
            Some((context.name.as_str(), key.clone()?))
        })
        .collect()
}

fn login_key(set: &ConfigSet, context: &ContextEntry) -> Option<String> {
    let selection = Selection::of(set.resolve_entry(context).ok()?).ok()?;
    Some(Identity::made(&selection, None, false).ok()?.key())
}

/// What a login is made for. Two contexts that ask for the same identity share one login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The provider's name (`discover:{cluster}` for a discovered one).
    pub provider: String,
    /// The client ID ("" for a discovered provider: the cluster names it).
    pub client_id: String,
    pub principal: Principal,
    /// The effective scopes, sorted and without repeats: the context's or the provider's,
    /// with the scopes the dialect adds.
    pub scopes: Vec<String>,
    /// The context's `login:` name.
    pub login: Option<String>,
    /// What the token is, asked for in `authorize-params`: its audience (`resource`,
    /// `audience`) and, for an exchange, its type (`requested_token_type`).
    pub audience: Vec<(String, String)>,
    /// The issuer the configuration names, when it is known without asking anyone.
    pub issuer: Option<String>,
    /// The token endpoint the configuration names, when known without discovery.
    pub token_endpoint: Option<Url>,
    /// Its older fallback, which a login may have recorded instead.
    pub token_fallback: Option<Url>,
    /// The flow `auth login` uses by default for this identity.
    pub flow: Flow,
    /// Exchange flow: the context's `subject-token` source. The login speaks for whoever that
    /// token names, and is renewed from it without a person.
    pub subject: Option<String>,
}

impl Identity {
    /// The identity a selection asks for; `flow` is the flow of a sign-in (`--flow`), else the
    /// context's, else the dialect's first.
    pub fn of(selection: &Selection<'_>, flow: Option<Flow>) -> Result<Identity, SelectError> {
        Identity::made(selection, flow, true)
    }

    /// `with_endpoints: false` skips the issuer and token endpoint (URL parsing), which the key
    /// does not need: listing thousands of contexts stays fast.
    fn made(
        selection: &Selection<'_>,
        flow: Option<Flow>,
        with_endpoints: bool,
    ) -> Result<Identity, SelectError> {
        let context = selection.context;
        let (entry, kind) = match selection.provider {
            Provided::Configured(entry) => (Some(entry), entry.kind.as_str()),
            Provided::Discover(_) => (None, "oidc"),
        };
        let dialect = provider::provider(kind).ok_or_else(|| {
            SelectError::Unusable(format!(
                "provider {:?} has the unknown kind `{kind}`",
                selection.provider.name()
            ))
        })?;
        let context_flow = context
            .and_then(|c| c.flow)
            .unwrap_or_else(|| dialect.flows().first().copied().unwrap_or(Flow::Device));
        let used = flow.unwrap_or(context_flow);
        let principal = Principal::of(used);
        // The dialect's scopes of the context's own flow, unless the sign-in is for another
        // kind of principal than the context's.
        let scope_flow = if Principal::of(context_flow) == principal {
            context_flow
        } else {
            used
        };
        let mut scopes = match entry {
            Some(entry) => requested_scopes(entry, context, &[]),
            None => context.and_then(|c| c.scopes.clone()).unwrap_or_default(),
        };
        scopes.extend(
            dialect
                .standard_scopes(scope_flow)
                .iter()
                .map(|s| (*s).to_owned()),
        );
        scopes.sort_unstable();
        scopes.dedup();
        let mut params = match entry {
            Some(entry) => crate::flows::authorize_params(entry, context),
            None => context
                .map(|c| c.authorize_params.clone())
                .unwrap_or_default(),
        };
        params.retain(|key, value| {
            (crate::provider::AUDIENCE_PARAMS.contains(&key.as_str())
                || (used == Flow::Exchange && key == crate::oauth::REQUESTED_TOKEN_TYPE))
                && !value.is_empty()
        });
        let endpoints = entry
            .filter(|_| with_endpoints)
            .and_then(|entry| dialect.endpoints(&entry.as_config()).ok());
        Ok(Identity {
            provider: selection.provider.name(),
            client_id: entry
                .and_then(|e| e.as_config().text("client-id"))
                .unwrap_or_default()
                .to_owned(),
            principal,
            scopes,
            login: context.and_then(|c| c.login.clone()),
            audience: params.into_iter().collect(),
            issuer: endpoints
                .as_ref()
                .and_then(|e| e.issuer.as_ref())
                .map(|u| u.to_string()),
            token_fallback: endpoints.as_ref().and_then(|e| e.token_fallback.clone()),
            token_endpoint: endpoints.and_then(|e| e.token),
            flow: used,
            subject: context
                .and_then(|c| c.subject_token.clone())
                .filter(|_| used == Flow::Exchange),
        })
    }

    /// Whether the login is had without a person: client credentials, or an exchange of a
    /// token that can be read again.
    pub fn needs_no_person(&self) -> bool {
        self.principal == Principal::Application || self.subject.is_some()
    }

    /// The login's key in the store: a name for exactly this identity.
    pub fn key(&self) -> String {
        let principal = match self.principal {
            Principal::Person => "person",
            Principal::Application => "application",
        };
        let mut text = format!(
            "v2\n{}\n{}\n{principal}\n{}\n{}",
            self.provider,
            self.client_id,
            self.scopes.join(" "),
            self.login.as_deref().unwrap_or("")
        );
        if let Some(subject) = &self.subject {
            text.push_str("\nsubject ");
            text.push_str(subject);
        }
        for (key, value) in &self.audience {
            text.push_str(&format!("\n{key} {value}"));
        }
        format!("{}-{:016x}", sanitize(&self.provider), stable_hash(&text))
    }

    /// The key a login of this identity had before identities (provider, client and the
    /// scopes asked for), to adopt it on first use.
    pub fn legacy_key(&self, requested: &[String]) -> String {
        let mut sorted: Vec<&str> = requested.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let text = format!(
            "{}\n{}\n{}",
            self.provider,
            self.client_id,
            sorted.join(" ")
        );
        format!("{}-{:016x}", sanitize(&self.provider), stable_hash(&text))
    }

    /// Why `login` is not this identity's any more, when the provider it names changed since
    /// it was minted: the old and the new issuer or token endpoint.
    pub fn changed_since(&self, login: &StoredLogin) -> Option<(String, String)> {
        if let (Some(now), Some(then)) = (&self.issuer, &login.issuer)
            && now != then
        {
            return Some((then.clone(), now.clone()));
        }
        if let (Some(now), Some(then)) = (&self.token_endpoint, &login.token_endpoint)
            && now != then
            && self.token_fallback.as_ref() != Some(then)
        {
            return Some((then.to_string(), now.to_string()));
        }
        if !self.client_id.is_empty() && self.client_id != login.client_id {
            return Some((
                format!("client {}", login.client_id),
                format!("client {}", self.client_id),
            ));
        }
        None
    }
}

/// The contexts of each login key, in file order: who shares a login with whom, in one pass.
pub fn login_groups<'a>(keys: &'a [(&'a str, String)]) -> HashMap<&'a str, Vec<&'a str>> {
    let mut groups: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, key) in keys {
        groups.entry(key.as_str()).or_default().push(name);
    }
    groups
}
