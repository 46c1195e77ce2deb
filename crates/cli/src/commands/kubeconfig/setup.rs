//! `kubeconfig setup`: the kube user that runs `tokenctl auth exec-credential`, with its cluster
//! and context; entries tokenctl did not write are replaced only with `--force`.

use super::document::*;
use crate::GlobalArgs;
use crate::output::say;
use anyhow::{Context, Result, anyhow, bail};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};
use tokenctl_core::internal::config::import::{context_field, entry, section};
use tokenctl_core::internal::config::{ConfigSet, Edit, Section, TokenKind};
use tokenctl_core::program;

/// The `cluster-token` setup writes to the context, if any: re-running setup never flips a
/// choice already made; the flag does.
fn cluster_token_to_set(
    asked: Option<TokenKind>,
    resolved: &tokenctl_core::internal::config::ResolvedContext<'_>,
) -> Option<TokenKind> {
    match (asked, resolved.context.cluster_token) {
        (Some(asked), had) => (had != Some(asked)).then_some(asked),
        (None, None) => Some(TokenKind::for_cluster_of(
            resolved.provider.map_or("oidc", |p| p.kind.as_str()),
        )),
        (None, Some(_)) => None,
    }
}

pub(super) fn run(
    global: &GlobalArgs,
    kubeconfig: Option<PathBuf>,
    force: bool,
    cluster_token: Option<TokenKind>,
    follow: bool,
) -> Result<()> {
    let paths = global.config_paths();
    let set = ConfigSet::load_valid(&paths)?;
    let resolved = set.resolve(global.context.as_deref())?;
    let context = resolved.context.name.clone();
    let chosen = cluster_token_to_set(cluster_token, &resolved);
    let cluster = resolved.cluster.ok_or_else(|| {
        anyhow!(
            "context {context:?} has no cluster: kubectl needs its server (`{} config set-context {context} --cluster NAME`)",
            program::name()
        )
    })?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| anyhow!("cluster {:?} has no server", cluster.name))?;
    let path = kubeconfig.unwrap_or_else(default_kubeconfig);

    let kube_cluster = kube_cluster(cluster, server);

    let user = tokenctl_user(global, &context, follow)?;

    let user_name = format!("tokenctl-{context}");
    let mut kube_context = Mapping::new();
    kube_context.insert("cluster".into(), cluster.name.clone().into());
    kube_context.insert("user".into(), user_name.clone().into());

    let no_current = edit_kubeconfig(&path, |root| {
        let ours = Ours::find(root, &context);
        let wanted = [
            ("clusters", cluster.name.as_str(), "cluster", &kube_cluster),
            ("users", user_name.as_str(), "user", &user),
            ("contexts", context.as_str(), "context", &kube_context),
        ];
        replace_only_ours(root, &path, &wanted, &ours, force)?;
        for (section, name, field, value) in wanted {
            upsert(root, &path, section, name, field, value.clone())?;
        }
        let no_current = root
            .get("current-context")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if no_current {
            root.insert("current-context".into(), context.clone().into());
        }
        Ok(Some(no_current))
    })?
    .unwrap_or_default();
    if let Some(kind) = chosen {
        let mut fields = indexmap::IndexMap::new();
        fields.insert("cluster-token".to_owned(), Value::from(kind.as_str()));
        ConfigSet::apply(
            &paths,
            &Edit::set_fields(Section::Contexts, &context, fields),
        )?;
    }
    say!(
        "Wrote kube context {context:?} (cluster {:?}, user {user_name:?}) to {}; kubectl gets the {} token (cluster-token).",
        cluster.name,
        path.display(),
        chosen
            .or(resolved.context.cluster_token)
            .unwrap_or_default()
            .as_str()
    );
    if follow {
        say!(
            "The user follows TOKENCTL_CONTEXT, .tokenctl and current-context to any context for this cluster (same server and CA); elsewhere it uses {context:?}."
        );
    } else {
        say!(
            "kubectl always uses context {context:?} through it; `--follow` writes a user that follows TOKENCTL_CONTEXT, .tokenctl and current-context."
        );
    }
    if no_current {
        say!("It is kubectl's current context now.");
    } else {
        say!(
            "Use it with `kubectl --context {context} ...` or `kubectl config use-context {context}`."
        );
    }
    Ok(())
}

/// The kubeconfig cluster of a tokenctl cluster: its server and how it is trusted.
fn kube_cluster(
    cluster: &tokenctl_core::internal::config::ClusterEntry,
    server: String,
) -> Mapping {
    let mut kube_cluster = Mapping::new();
    kube_cluster.insert("server".into(), server.into());
    if let Some(ca) = &cluster.certificate_authority {
        // kubectl reads a relative path from the kubeconfig's directory; this one is absolute.
        let ca = tokenctl_core::internal::fsutil::absolute_text(ca.clone());
        kube_cluster.insert("certificate-authority".into(), ca.into());
    }
    if let Some(data) = &cluster.certificate_authority_data {
        kube_cluster.insert("certificate-authority-data".into(), data.clone().into());
    }
    if let Some(name) = &cluster.tls_server_name {
        kube_cluster.insert("tls-server-name".into(), name.clone().into());
    }
    if cluster.insecure_skip_tls_verify == Some(true) {
        kube_cluster.insert("insecure-skip-tls-verify".into(), true.into());
    }
    kube_cluster
}

/// Refuses to replace a cluster, user or context of the same name that tokenctl did not write,
/// unless `force` (then the kubeconfig is backed up first).
fn replace_only_ours(
    root: &Mapping,
    path: &Path,
    wanted: &[(&str, &str, &str, &Mapping); 3],
    ours: &Ours,
    force: bool,
) -> Result<()> {
    let foreign: Vec<String> = wanted
        .iter()
        .filter_map(|(section, name, field, value)| {
            let existing = entry(root, section, name)?.get(*field)?;
            let replaced = existing != &Value::Mapping((*value).clone());
            (replaced && !ours.wrote(section, name))
                .then(|| format!("{} {name:?}", section.trim_end_matches('s')))
        })
        .collect();
    if !foreign.is_empty() {
        if !force {
            bail!(
                "{} already has {} that tokenctl did not write; nothing was changed. `--force` replaces them (after a copy to {})",
                path.display(),
                foreign.join(" and "),
                backup_path(path).display()
            );
        }
        tokenctl_core::internal::fsutil::copy_to_backup(path, &backup_path(path))
            .with_context(|| format!("cannot back up {}", path.display()))?;
        say!(
            "Replacing {}; the old kubeconfig is in {}.",
            foreign.join(" and "),
            backup_path(path).display()
        );
    }
    Ok(())
}

/// The kubeconfig user that runs `tokenctl auth exec-credential` for `context` (`--follow`:
/// for the context followed there, when it is for the cluster kubectl calls).
pub(super) fn tokenctl_user(global: &GlobalArgs, context: &str, follow: bool) -> Result<Mapping> {
    let mut exec = Mapping::new();
    exec.insert(
        "apiVersion".into(),
        crate::commands::auth::exec_credential::API_VERSIONS[1].into(),
    );
    let command = own_command();
    exec.insert("command".into(), command.clone().into());
    exec.insert(
        "args".into(),
        Value::Sequence(exec_args(context, follow).map(Value::from).collect()),
    );
    // A contexts file other than the default travels with the user entry.
    if global.config.is_some()
        || std::env::var_os(tokenctl_core::internal::config::CONFIG_ENV).is_some()
    {
        let paths = std::env::join_paths(global.config_paths())
            .context("the contexts file paths cannot be joined")?;
        let mut variable = Mapping::new();
        variable.insert(
            "name".into(),
            tokenctl_core::internal::config::CONFIG_ENV.into(),
        );
        variable.insert("value".into(), paths.to_string_lossy().into_owned().into());
        exec.insert(
            "env".into(),
            Value::Sequence(vec![Value::Mapping(variable)]),
        );
    }
    exec.insert("interactiveMode".into(), "IfAvailable".into());
    // What `--follow` compares the followed context's cluster with.
    exec.insert("provideClusterInfo".into(), follow.into());
    // kubectl prints this when it cannot run the command: where it looked, how to install or
    // point the kubeconfig at it again, then a login.
    exec.insert(
        "installHint".into(),
        format!(
            "tokenctl provides this user's tokens, and is not at {command}. If it is installed elsewhere, run `{}` again so that the kubeconfig names where; else install it from its sources with `cargo install --path crates/tokenctl`. Then run `{}`",
            tokenctl_core::program::run_in(context, "kubeconfig setup"),
            tokenctl_core::program::run_in(context, "auth login"),
        )
        .into(),
    );
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));
    Ok(user)
}

/// How kubectl should start tokenctl: by an absolute path, since a GUI (Lens, an IDE) runs
/// kubectl without the shell's PATH. The path PATH finds for this very binary, as found (a
/// package manager's link, which survives upgrades: krew's is `kubectl-tokenctl`), else this
/// binary's own.
pub(super) fn own_command() -> String {
    let Ok(me) = std::env::current_exe() else {
        return "tokenctl".into();
    };
    let on_path = std::env::var_os("PATH").and_then(|path| {
        let dirs: Vec<_> = std::env::split_paths(&path)
            .filter(|dir| dir.is_absolute())
            .collect();
        ["tokenctl", "kubectl-tokenctl"].iter().find_map(|name| {
            dirs.iter()
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file() && same_file(candidate, &me))
        })
    });
    match on_path {
        Some(found) => found.display().to_string(),
        None => me.display().to_string(),
    }
}

/// The arguments of the kube user `kubeconfig setup` writes for `context`.
pub(super) fn exec_args(context: &str, follow: bool) -> impl Iterator<Item = &str> {
    ["auth", "exec-credential"]
        .into_iter()
        .chain(follow.then_some("--follow"))
        .chain(["--context", context])
}

/// What `kubeconfig setup` wrote for a context, recognised by content: the user whose exec
/// command is tokenctl's for this context, the context that uses that user, and the cluster
/// that context points at.
#[derive(Debug, Default)]
pub(super) struct Ours {
    pub(super) user: Option<String>,
    pub(super) context: Option<String>,
    pub(super) cluster: Option<String>,
}

impl Ours {
    pub(super) fn find(root: &Mapping, context: &str) -> Ours {
        let is_ours = |entry: &&Value| {
            let Some(exec) = entry.get("user").and_then(|u| u.get("exec")) else {
                return false;
            };
            let command = exec
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let args: Vec<&str> = exec
                .get("args")
                .and_then(Value::as_sequence)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            Path::new(command)
                .file_name()
                .is_some_and(|n| n == "tokenctl")
                && [false, true]
                    .into_iter()
                    .any(|follow| exec_args(context, follow).eq(args.iter().copied()))
        };
        let user = section(root, "users")
            .iter()
            .find(is_ours)
            .and_then(|e| e.get("name").and_then(Value::as_str))
            .map(str::to_owned);
        let kube_context = user.as_deref().and_then(|user| {
            section(root, "contexts")
                .iter()
                .find(|entry| context_field(entry, "user") == Some(user))
        });
        Ours {
            context: kube_context
                .and_then(|e| e.get("name").and_then(Value::as_str))
                .map(str::to_owned),
            cluster: kube_context
                .and_then(|e| context_field(e, "cluster"))
                .map(str::to_owned),
            user,
        }
    }

    fn wrote(&self, section: &str, name: &str) -> bool {
        let mine = match section {
            "users" => &self.user,
            "contexts" => &self.context,
            _ => &self.cluster,
        };
        mine.as_deref() == Some(name)
    }
}
