//! Semantic checks of the merged contexts files: names, references and each provider's
//! fields as its dialect declares them.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use super::edit::Section;
use super::model::{
    ClusterEntry, ContextEntry, DISCOVER, GITHUB_ACTIONS, ProviderEntry, SubjectSource,
    attribute_variable, subject_token_type,
};
use super::{ConfigSet, Origin, closest_names};
use crate::base_url::parse_base_url;
use crate::provider::{self, validate_provider};

/// One thing wrong with the contexts files, with the file and the entry it is in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: PathBuf,
    /// `contexts[2] "prod"`, or the top-level key.
    pub place: String,
    pub message: String,
    /// The entry it makes unusable: a command that uses another entry is not stopped by it.
    pub entry: (Section, String),
}

impl Problem {
    fn at(origin: &Origin<'_>, name: &str, message: impl Into<String>) -> Problem {
        Problem {
            path: origin.path.to_path_buf(),
            place: format!("{}[{}] {name:?}", origin.section.key(), origin.index),
            message: message.into(),
            entry: (origin.section, name.to_owned()),
        }
    }

    /// All problems for one message: one line for one problem, a list for several.
    pub fn list(problems: &[Problem]) -> String {
        match problems {
            [one] => one.to_string(),
            many => {
                let mut text = format!("the contexts file has {} problems:", many.len());
                for problem in many {
                    text.push_str(&format!("\n  - {problem}"));
                }
                text
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, &self.path, &self.place, &self.message)
    }
}

/// `FILE: PLACE: MESSAGE`, as problems and notices are said.
fn located(
    f: &mut fmt::Formatter<'_>,
    path: &std::path::Path,
    place: &str,
    message: &str,
) -> fmt::Result {
    write!(f, "{}: {place}: {message}", path.display())
}

/// Keys SPEC reserves that this version does not implement: an entry that sets one stops,
/// since ignoring it could give less than was asked for (`dpop: true`: sender-constrained
/// tokens).
const NOT_YET: [&str; 2] = ["dpop", "agent"];

fn not_supported_yet(key: &str) -> String {
    format!(
        "key `{key}` is reserved for a later version of tokenctl and not supported yet: remove it to use this entry"
    )
}

/// A key tokenctl does not know, named with its file and entry: a warning that stops nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub path: PathBuf,
    /// `contexts[2] "prod"`, or `top level`.
    pub place: String,
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        located(f, &self.path, &self.place, &self.message)
    }
}

/// "did you mean `X`?" for the closest of `known`, else the known keys.
fn unknown_key(key: &str, what: &str, known: &[&str]) -> String {
    match closest_names(key, known.iter().copied()).first() {
        Some(close) => format!("unknown key `{key}` ({what}): did you mean `{close}`?"),
        None => format!(
            "unknown key `{key}` ({what}); known keys: {}",
            known.join(", ")
        ),
    }
}

/// Keys of the files that tokenctl does not know, each with the closest known key; a context
/// key within two edits of a reserved one, which would be taken as a plugin attribute. Values
/// are never shown.
pub(super) fn notices(set: &ConfigSet) -> Vec<Notice> {
    let mut notices = Vec::new();
    for file in &set.files {
        for key in file.model.extra.keys() {
            notices.push(Notice {
                path: file.path.clone(),
                place: "top level".to_owned(),
                message: unknown_key(key, "ignored", &super::FILE_KEYS),
            });
        }
    }
    let at = |origin: &Origin<'_>, name: &str, message: String| Notice {
        path: origin.path.to_path_buf(),
        place: format!("{}[{}] {name:?}", origin.section.key(), origin.index),
        message,
    };
    for (origin, entry) in set.providers() {
        let Some(dialect) = entry.dialect() else {
            continue;
        };
        let fields: Vec<&str> = dialect.fields().map(|field| field.name).collect();
        for key in entry.fields.keys() {
            if !fields.contains(&key.as_str()) && !NOT_YET.contains(&key.as_str()) {
                let what = format!("not a field of kind {}; ignored", entry.kind);
                notices.push(at(&origin, &entry.name, unknown_key(key, &what, &fields)));
            }
        }
    }
    for (origin, cluster) in set.clusters() {
        for key in cluster.extra.keys() {
            let message = unknown_key(key, "ignored", &super::CLUSTER_KEYS);
            notices.push(at(&origin, &cluster.name, message));
        }
    }
    // Files repeat their attributes (`workspace:` in every context): each is looked at once.
    let mut seen: HashMap<&str, Option<&str>> = HashMap::new();
    for (origin, context) in set.contexts() {
        for (key, _) in &context.attributes {
            let near = *seen.entry(key).or_insert_with(|| near_reserved(key));
            if let Some(near) = near {
                notices.push(at(
                    &origin,
                    &context.name,
                    format!("key `{key}` is taken as a plugin attribute: did you mean `{near}`?"),
                ));
            }
        }
    }
    notices
}

/// The reserved context key within two edits of `key` (one for short keys), unless `key` is
/// one reserved for later (a problem of its own).
fn near_reserved(key: &str) -> Option<&'static str> {
    let most = (key.chars().count() / 3).clamp(1, 2);
    if NOT_YET.contains(&key) {
        return None;
    }
    super::CONTEXT_KEYS
        .iter()
        .chain(NOT_YET.iter())
        .filter(|reserved| reserved.len().abs_diff(key.len()) <= most)
        .find(|reserved| strsim::levenshtein(key, reserved) <= most)
        .copied()
}

pub(super) fn problems(set: &ConfigSet) -> Vec<Problem> {
    let mut problems = Vec::new();
    duplicate_names(set, &mut problems);
    for (origin, entry) in set.providers() {
        for key in NOT_YET {
            if entry.fields.contains_key(key)
                && entry
                    .dialect()
                    .is_none_or(|dialect| dialect.fields().all(|field| field.name != key))
            {
                problems.push(Problem::at(&origin, &entry.name, not_supported_yet(key)));
            }
        }
        let Some(dialect) = entry.dialect() else {
            let kinds: Vec<&str> = provider::providers().iter().map(|p| p.kind()).collect();
            let hint = match closest_names(&entry.kind, kinds.iter().copied()).first() {
                Some(close) => format!("did you mean `{close}`? "),
                None => String::new(),
            };
            problems.push(Problem::at(
                &origin,
                &entry.name,
                format!(
                    "field `kind`: unknown provider kind `{}`; {hint}known kinds: {}",
                    entry.kind,
                    kinds.join(", ")
                ),
            ));
            continue;
        };
        for error in validate_provider(dialect, &entry.as_config()) {
            problems.push(Problem::at(&origin, &entry.name, error.to_string()));
        }
    }
    let clusters = set.clusters();
    for (origin, cluster) in &clusters {
        for message in cluster_problems(cluster) {
            problems.push(Problem::at(origin, &cluster.name, message));
        }
    }
    let known = Known {
        providers: set
            .providers()
            .into_iter()
            .map(|(_, p)| (p.name.as_str(), p))
            .collect(),
        clusters: clusters
            .iter()
            .map(|(_, c)| (c.name.as_str(), *c))
            .collect(),
    };
    for (origin, context) in set.contexts() {
        for message in context_problems(&known, context) {
            problems.push(Problem::at(&origin, &context.name, message));
        }
    }
    problems
}

fn duplicate_names(set: &ConfigSet, problems: &mut Vec<Problem>) {
    for file in &set.files {
        let sections: [(Section, Vec<&str>); 3] = [
            (
                Section::Providers,
                file.model
                    .providers
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect(),
            ),
            (
                Section::Clusters,
                file.model
                    .clusters
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect(),
            ),
            (
                Section::Contexts,
                file.model
                    .contexts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect(),
            ),
        ];
        for (section, names) in sections {
            let mut first_index: HashMap<&str, usize> = HashMap::new();
            for (index, name) in names.into_iter().enumerate() {
                let origin = Origin {
                    path: &file.path,
                    section,
                    index,
                };
                if name.trim().is_empty() {
                    problems.push(Problem::at(&origin, name, "field `name` must not be empty"));
                } else if let Some(first) = first_index.insert(name, index) {
                    first_index.insert(name, first);
                    problems.push(Problem::at(
                        &origin,
                        name,
                        format!(
                            "duplicate {} name; {}[{first}] already uses it",
                            section.singular(),
                            section.key()
                        ),
                    ));
                }
            }
        }
    }
}

fn cluster_problems(cluster: &ClusterEntry) -> Vec<String> {
    let mut problems = Vec::new();
    match cluster.server.as_deref() {
        None => problems.push("field `server` is required (the API server's URL)".to_owned()),
        Some(server) => {
            if let Err(reason) = parse_base_url(server) {
                problems.push(format!("field `server` {reason}"));
            }
        }
    }
    if cluster.certificate_authority.is_some() && cluster.certificate_authority_data.is_some() {
        problems.push(
            "set only one of `certificate-authority` and `certificate-authority-data`".to_owned(),
        );
    }
    let has_authority =
        cluster.certificate_authority.is_some() || cluster.certificate_authority_data.is_some();
    if has_authority && cluster.insecure_skip_tls_verify == Some(true) {
        // As kubectl: a CA that is not checked against is a setting that lies.
        problems.push(
            "`insecure-skip-tls-verify` cannot be set with a certificate authority: remove one"
                .to_owned(),
        );
    }
    if let Some(data) = &cluster.certificate_authority_data
        && let Err(reason) = crate::tls::certificates_from_data(data)
    {
        problems.push(format!("field `certificate-authority-data` {reason}"));
    }
    if let Some(name) = &cluster.tls_server_name
        && rustls::pki_types::ServerName::try_from(name.as_str()).is_err()
    {
        problems.push(format!(
            "field `tls-server-name` {name:?} is not a host name or IP address"
        ));
    }
    problems
}

/// The merged providers and clusters by name, so each context is checked in constant time.
struct Known<'a> {
    providers: HashMap<&'a str, &'a ProviderEntry>,
    clusters: HashMap<&'a str, &'a ClusterEntry>,
}

impl Known<'_> {
    fn names<'n, T>(map: &HashMap<&'n str, T>) -> Vec<&'n str> {
        let mut names: Vec<&str> = map.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

/// What is wrong with one context, each problem a line that names the field.
fn context_problems(known: &Known<'_>, context: &ContextEntry) -> Vec<String> {
    let mut problems = Vec::new();
    attribute_problems(context, &mut problems);
    flow_problems(context, &mut problems);
    reference_problems(known, context, &mut problems);
    exchange_problems(context, &mut problems);
    host_problems(context, &mut problems);
    sign_in_problems(context, &mut problems);
    problems
}

/// A context's `sign-in-timeout` is a duration and its `listen-address` an IP address, as
/// its provider's are.
fn sign_in_problems(context: &ContextEntry, problems: &mut Vec<String>) {
    if let Some(text) = &context.sign_in_timeout
        && let Err(err) = crate::provider::parse_duration(text)
    {
        problems.push(format!("field `sign-in-timeout`: {err}"));
    }
    if let Some(text) = &context.listen_address
        && let Err(err) = crate::provider::parse_listen_address(text)
    {
        problems.push(format!("field `listen-address`: {err}"));
    }
}

/// Keys this version reserves but does not implement, and attributes that would collide.
fn attribute_problems(context: &ContextEntry, problems: &mut Vec<String>) {
    for (key, _) in &context.attributes {
        if NOT_YET.contains(&key.as_str()) {
            problems.push(not_supported_yet(key));
        }
    }
    let mut variables: HashMap<String, &str> = HashMap::new();
    for (key, _) in &context.attributes {
        match attribute_variable(key) {
            Err(message) => problems.push(message),
            Ok(variable) => {
                if let Some(first) = variables.get(&variable) {
                    problems.push(format!(
                        "attributes {first:?} and {key:?} would both be {variable}; keep one"
                    ));
                } else {
                    variables.insert(variable, key);
                }
            }
        }
    }
}

/// A `flow` that is no flow, with the one it was probably meant to be.
fn flow_problems(context: &ContextEntry, problems: &mut Vec<String>) {
    if let Some(written) = &context.unknown_flow {
        let names: Vec<&str> = crate::provider::Flow::ALL
            .iter()
            .map(|f| f.as_str())
            .collect();
        let text = written.as_str().unwrap_or_default();
        // `client_credentials` for `client-credentials`, `Device` for `device`.
        let near = names
            .iter()
            .find(|name| {
                name.replace('-', "_")
                    .eq_ignore_ascii_case(&text.replace('-', "_"))
            })
            .map(|name| format!("; did you mean `{name}`?"))
            .unwrap_or_default();
        problems.push(format!(
            "field `flow`: {} is not one of {}{near}",
            match written.as_str() {
                Some(text) => format!("{text:?}"),
                None => "a value that is not text".to_owned(),
            },
            names.join(", ")
        ));
    }
}

/// The provider and cluster a context names exist, and fit it.
fn reference_problems(known: &Known<'_>, context: &ContextEntry, problems: &mut Vec<String>) {
    match context.provider.as_deref() {
        None => problems.push(format!(
            "field `provider` is required: a provider name, or `{DISCOVER}` to ask the cluster"
        )),
        Some(DISCOVER) => {
            match context.cluster.as_deref().map(|name| known.clusters.get(name)) {
                None => problems.push(format!(
                    "field `cluster` is required with `provider: {DISCOVER}` (the cluster says which provider to use)"
                )),
                Some(Some(cluster)) if cluster.insecure_skip_tls_verify == Some(true) => {
                    problems.push(format!(
                        "`provider: {DISCOVER}` needs a cluster whose certificate is checked: cluster {:?} has insecure-skip-tls-verify, so anyone in the middle could name the identity provider; name the provider, or give the cluster its certificate-authority",
                        cluster.name
                    ));
                }
                Some(_) => {}
            }
        }
        Some(name) => match known.providers.get(name) {
            None => problems.push(missing_reference(
                "provider",
                name,
                Known::names(&known.providers),
            )),
            Some(entry) => {
                if let (Some(flow), Some(dialect)) = (context.flow, entry.dialect())
                    && !dialect.flows().contains(&flow)
                {
                    let supported: Vec<&str> = dialect.flows().iter().map(|f| f.as_str()).collect();
                    problems.push(format!(
                        "field `flow`: provider {name:?} ({}) does not support the {flow} flow; it supports {}",
                        entry.kind,
                        supported.join(", ")
                    ));
                }
            }
        },
    }
    if let Some(cluster) = context.cluster.as_deref()
        && !known.clusters.contains_key(cluster)
    {
        let names = Known::names(&known.clusters);
        problems.push(missing_reference("cluster", cluster, names));
    }
}

/// The fields of token exchange and client assertions go with their flows.
fn exchange_problems(context: &ContextEntry, problems: &mut Vec<String>) {
    if let Some(source) = context.subject_token.as_deref() {
        if let Err(message) = SubjectSource::parse(source) {
            problems.push(message);
        }
        if context.flow != Some(crate::provider::Flow::Exchange) {
            problems.push(
                "field `subject-token` needs `flow: exchange` (the flow that exchanges it)".into(),
            );
        }
    }
    if let Some(kind) = context.subject_token_type.as_deref()
        && let Err(message) = subject_token_type(kind)
    {
        problems.push(message);
    }
    if context.subject_issuer.is_some() && context.flow != Some(crate::provider::Flow::Exchange) {
        problems.push("field `subject-issuer` needs `flow: exchange`".into());
    }
    let mut from_ci = matches!(
        context.subject_token.as_deref().map(SubjectSource::parse),
        Some(Ok(SubjectSource::GithubActions))
    );
    if let Some(source) = context.client_assertion.as_deref() {
        match SubjectSource::parse_field(source, "client-assertion") {
            Err(message) => problems.push(message),
            Ok(source) => from_ci |= source == SubjectSource::GithubActions,
        }
        if context.flow != Some(crate::provider::Flow::ClientCredentials) {
            problems.push(
                "field `client-assertion` needs `flow: client-credentials` (the flow it authenticates)"
                    .into(),
            );
        }
    }
    if context.ci_token_audience.is_some() && !from_ci {
        problems.push(format!(
            "field `ci-token-audience` is for a `{GITHUB_ACTIONS}` subject-token or client-assertion"
        ));
    }
}

/// Authorization parameters and the hosts mapped to the context.
fn host_problems(context: &ContextEntry, problems: &mut Vec<String>) {
    for key in context.authorize_params.keys() {
        if let Err(message) = crate::provider::check_authorize_param(key) {
            problems.push(format!("field `authorize-params`: {message}"));
        }
    }
    for (key, list) in [
        ("git-hosts", &context.git_hosts),
        ("registries", &context.registries),
    ] {
        for host in list {
            if host.trim().is_empty() || host.contains(char::is_whitespace) {
                problems.push(format!("field `{key}`: {host:?} is not a host name"));
            }
        }
    }
}

fn missing_reference(kind: &str, name: &str, known: Vec<&str>) -> String {
    let mut message = format!("field `{kind}`: {kind} {name:?} is not defined");
    match closest_names(name, known.iter().copied()).first() {
        Some(close) => message.push_str(&format!("; did you mean {close:?}?")),
        None if known.is_empty() => message.push_str(&format!("; no {kind} is defined yet")),
        None => message.push_str(&format!("; defined: {}", known.join(", "))),
    }
    message
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{ConfigFile, ConfigSet, parse_typed};

    fn set(text: &str) -> ConfigSet {
        let path = Path::new("/c.yaml");
        ConfigSet::of(vec![ConfigFile {
            path: path.to_path_buf(),
            exists: true,
            model: parse_typed(path, text).unwrap(),
            fingerprint: None,
            untrusted: None,
        }])
    }

    /// Unknown keys are named with the key meant, a free-form attribute far from every
    /// reserved key is no typo, and a key reserved for later stops its entry (the `fake`
    /// dialect is the one the core tests register).
    #[test]
    fn typos_are_notices_and_reserved_keys_problems() {
        let set = set("
providers:
  - {name: p, kind: fake, server: 'https://idp.test', client-id: app, clientid: x}
contexts:
  - {name: c, provider: p, flw: device, workspace: w}
  - {name: d, provider: p, dpop: true}
contxts: []
");
        let notices: Vec<String> = set.notices().iter().map(|n| n.to_string()).collect();
        assert_eq!(
            notices,
            [
                "/c.yaml: top level: unknown key `contxts` (ignored): did you mean `contexts`?",
                "/c.yaml: providers[0] \"p\": unknown key `clientid` (not a field of kind fake; ignored): did you mean `client-id`?",
                "/c.yaml: contexts[0] \"c\": key `flw` is taken as a plugin attribute: did you mean `flow`?",
            ]
        );
        let problems = set.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].entry.1, "d");
        assert!(
            problems[0]
                .message
                .contains("`dpop` is reserved for a later version")
        );
    }
}
