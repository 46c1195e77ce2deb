//! Which context answers a credential helper (git's, Docker's) for a host: the one whose
//! `git-hosts` or `registries` names it. One rule for both helpers, so a host never gets the
//! token of a context nobody mapped to it.

use super::{ConfigError, ConfigSet, ContextEntry};

/// The user name git is given with the token, unless `git-username` says otherwise (GitLab,
/// Gitea and Bitbucket take any name beside an OAuth token; `oauth2` is GitLab's).
pub const GIT_USERNAME: &str = "oauth2";

/// The user name Docker is given, unless `registry-username` says otherwise (Google's and
/// Azure's registries take an access token under this name).
pub const REGISTRY_USERNAME: &str = "oauth2accesstoken";

/// A credential helper's map of hosts to contexts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostMap {
    /// `git-hosts` and `git-username`.
    Git,
    /// `registries` and `registry-username`.
    Registry,
}

impl HostMap {
    /// The context key that holds the hosts.
    pub fn key(self) -> &'static str {
        match self {
            HostMap::Git => "git-hosts",
            HostMap::Registry => "registries",
        }
    }

    fn hosts(self, context: &ContextEntry) -> &[String] {
        match self {
            HostMap::Git => &context.git_hosts,
            HostMap::Registry => &context.registries,
        }
    }

    /// The user name handed out with the context's token.
    pub fn username(self, context: &ContextEntry) -> &str {
        match self {
            HostMap::Git => context.git_username.as_deref().unwrap_or(GIT_USERNAME),
            HostMap::Registry => context
                .registry_username
                .as_deref()
                .unwrap_or(REGISTRY_USERNAME),
        }
    }
}

/// A host as compared: without a scheme or trailing slashes, the host part in lower case
/// (Docker sends `https://registry.example.com` or the bare host; git sends `host[:port]`).
pub fn normalize(host: &str) -> String {
    let host = host.trim();
    let bare = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host)
        .trim_end_matches('/');
    match bare.split_once('/') {
        Some((name, path)) => format!("{}/{path}", name.to_ascii_lowercase()),
        None => bare.to_ascii_lowercase(),
    }
}

impl ConfigSet {
    /// The context mapped to `host` in `map`; `None` when no context maps it, an error naming
    /// both when two do.
    pub fn context_for_host(
        &self,
        map: HostMap,
        host: &str,
    ) -> Result<Option<&ContextEntry>, ConfigError> {
        let wanted = normalize(host);
        let mapped: Vec<&ContextEntry> = self
            .contexts()
            .into_iter()
            .map(|(_, context)| context)
            .filter(|context| map.hosts(context).iter().any(|h| normalize(h) == wanted))
            .collect();
        match mapped.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            several => Err(ConfigError::Usage(format!(
                "{host} is in the {} of contexts {}: keep it in one",
                map.key(),
                several
                    .iter()
                    .map(|c| format!("{:?}", c.name))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }

    /// Every host of `map` with the context that maps it, in file order.
    pub fn mapped_hosts(&self, map: HostMap) -> Vec<(&str, &ContextEntry)> {
        self.contexts()
            .into_iter()
            .flat_map(|(_, context)| {
                map.hosts(context)
                    .iter()
                    .map(move |host| (host.as_str(), context))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;

    fn set(yaml: &str) -> ConfigSet {
        let path = std::path::Path::new("/test/config.yaml");
        ConfigSet::of(vec![ConfigFile::parse(path, yaml).unwrap()])
    }

    #[test]
    fn a_host_is_matched_with_or_without_its_scheme_and_in_any_case() {
        let set = set(
            "contexts:\n  - {name: a, registries: 'https://Reg.example.com/'}\n  - {name: b, git-hosts: [git.example.com, 'git.example.com:8443']}\n",
        );
        let found = |map, host| {
            set.context_for_host(map, host)
                .unwrap()
                .map(|c| c.name.clone())
        };
        assert_eq!(
            found(HostMap::Registry, "reg.example.com"),
            Some("a".into())
        );
        assert_eq!(
            found(HostMap::Registry, "https://reg.example.com"),
            Some("a".into())
        );
        assert_eq!(
            found(HostMap::Git, "git.example.com:8443"),
            Some("b".into())
        );
        assert_eq!(found(HostMap::Git, "reg.example.com"), None);
        assert_eq!(found(HostMap::Registry, "git.example.com"), None);
        let b = set.context("b").unwrap();
        assert_eq!(HostMap::Git.username(b), "oauth2");
        assert_eq!(HostMap::Registry.username(b), "oauth2accesstoken");
    }

    #[test]
    fn a_host_two_contexts_map_is_refused_naming_both() {
        let set = set(
            "contexts:\n  - {name: a, git-hosts: git.example.com}\n  - {name: b, git-hosts: [GIT.example.com]}\n",
        );
        let err = set
            .context_for_host(HostMap::Git, "git.example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"a\" and \"b\""), "{err}");
    }
}
