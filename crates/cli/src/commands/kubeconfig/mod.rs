//! `kubeconfig setup` and `remove`: the kubeconfig user that runs `tokenctl auth
//! exec-credential`, with its cluster and context. Entries tokenctl did not write are never
//! replaced without `--force`; the file is locked as client-go locks it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml_ng::{Mapping, Value};
use tokenctl_core::config::import::{self, context_field, entry, section};
use tokenctl_core::config::{ConfigSet, Edit, Section, TokenKind};
use tokenctl_core::fsutil::write_user_file;

use crate::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum KubeconfigCommand {
    /// Add or update a kubeconfig user that runs `tokenctl auth exec-credential`, with a
    /// cluster and a context for the tokenctl context's cluster; everything else is kept
    Setup {
        /// kubeconfig to edit (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
        /// Replace a cluster or context of the same name that tokenctl did not write (the
        /// kubeconfig is copied to <kubeconfig>.tokenctl-backup first)
        #[arg(long)]
        force: bool,
        /// The token kubectl sends: `id` (what Kubernetes' OIDC authenticator validates) or
        /// `access`; written as the context's `cluster-token`. Without it, a context that has
        /// none gets `id`, or `access` for azure, and an existing choice is kept
        #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(TokenKind::NAMES))]
        cluster_token: Option<String>,
        /// A user that follows TOKENCTL_CONTEXT, .tokenctl and current-context, for contexts
        /// whose cluster is the one kubectl calls (kubectl tells it, provideClusterInfo);
        /// without it, kubectl always uses this context
        #[arg(long)]
        follow: bool,
    },
    /// Turn each kubeconfig user that runs int128/kubelogin (`kubectl oidc-login get-token`)
    /// or Azure kubelogin (`kubelogin get-token`) into a tokenctl provider and context, and
    /// point the user at `tokenctl auth exec-credential` (the kubeconfig is copied to
    /// <kubeconfig>.tokenctl-backup first)
    Import {
        /// kubeconfig to read (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
        /// Say what would be imported and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Create the tokenctl entries but leave the kubeconfig's users as they are
        #[arg(long)]
        keep: bool,
    },
    /// Remove what `kubeconfig setup` wrote for the context: its user, and the context and
    /// cluster that point at it (a cluster other contexts use stays)
    Remove {
        /// kubeconfig to edit (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
    },
}

pub(crate) fn run(command: KubeconfigCommand, global: &GlobalArgs) -> Result<()> {
    match command {
        KubeconfigCommand::Setup {
            kubeconfig,
            force,
            cluster_token,
            follow,
        } => setup(
            global,
            kubeconfig,
            force,
            cluster_token.as_deref().and_then(TokenKind::parse),
            follow,
        ),
        KubeconfigCommand::Remove { kubeconfig } => remove(global, kubeconfig),
        KubeconfigCommand::Import {
            kubeconfig,
            dry_run,
            keep,
        } => import(global, kubeconfig, dry_run, keep),
    }
}

/// The kubeconfig kubectl reads first.
fn default_kubeconfig() -> PathBuf {
    std::env::var_os("KUBECONFIG")
        .and_then(|list| std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()))
        .unwrap_or_else(|| {
            std::env::home_dir()
                .unwrap_or_default()
                .join(".kube")
                .join("config")
        })
}

fn setup(
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
    // Re-running setup never flips a choice already made; the flag does.
    let chosen = match (cluster_token, resolved.context.cluster_token) {
        (Some(asked), had) => (had != Some(asked)).then_some(asked),
        (None, None) => Some(TokenKind::for_cluster_of(
            resolved.provider.map_or("oidc", |p| p.kind.as_str()),
        )),
        (None, Some(_)) => None,
    };
    let cluster = resolved.cluster.ok_or_else(|| {
        anyhow!("context {context:?} has no cluster: kubectl needs its server (`tokenctl config set-context {context} --cluster NAME`)")
    })?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| anyhow!("cluster {:?} has no server", cluster.name))?;
    let path = kubeconfig.unwrap_or_else(default_kubeconfig);

    let mut kube_cluster = Mapping::new();
    kube_cluster.insert("server".into(), server.into());
    if let Some(ca) = &cluster.certificate_authority {
        // kubectl reads a relative path from the kubeconfig's directory; this one is absolute.
        let ca = tokenctl_core::fsutil::absolute_text(ca.clone());
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
                    backup_path(&path).display()
                );
            }
            tokenctl_core::fsutil::copy_to_backup(&path, &backup_path(&path))
                .with_context(|| format!("cannot back up {}", path.display()))?;
            eprintln!(
                "Replacing {}; the old kubeconfig is in {}.",
                foreign.join(" and "),
                backup_path(&path).display()
            );
        }
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
    eprintln!(
        "Wrote kube context {context:?} (cluster {:?}, user {user_name:?}) to {}; kubectl gets the {} token (cluster-token).",
        cluster.name,
        path.display(),
        chosen
            .or(resolved.context.cluster_token)
            .unwrap_or_default()
            .as_str()
    );
    if follow {
        eprintln!(
            "The user follows TOKENCTL_CONTEXT, .tokenctl and current-context to any context for this cluster (same server and CA); elsewhere it uses {context:?}."
        );
    } else {
        eprintln!(
            "kubectl always uses context {context:?} through it; `--follow` writes a user that follows TOKENCTL_CONTEXT, .tokenctl and current-context."
        );
    }
    if no_current {
        eprintln!("It is kubectl's current context now.");
    } else {
        eprintln!(
            "Use it with `kubectl --context {context} ...` or `kubectl config use-context {context}`."
        );
    }
    Ok(())
}

/// The kubeconfig user that runs `tokenctl auth exec-credential` for `context` (`--follow`:
/// for the context followed there, when it is for the cluster kubectl calls).
fn tokenctl_user(global: &GlobalArgs, context: &str, follow: bool) -> Result<Mapping> {
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
    if global.config.is_some() || std::env::var_os(tokenctl_core::config::CONFIG_ENV).is_some() {
        let paths = std::env::join_paths(global.config_paths())
            .context("the contexts file paths cannot be joined")?;
        let mut variable = Mapping::new();
        variable.insert("name".into(), tokenctl_core::config::CONFIG_ENV.into());
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
            "tokenctl provides this user's tokens, and is not at {command}. If it is installed elsewhere, run `{}` again so that the kubeconfig names where; else install it from its sources with `cargo install --path crates/cli`. Then run `{}`",
            tokenctl_core::logins::run_in(context, "kubeconfig setup"),
            tokenctl_core::logins::run_in(context, "auth login"),
        )
        .into(),
    );
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));
    Ok(user)
}

/// How kubectl should start tokenctl: by an absolute path, since a GUI (Lens, an IDE) runs
/// kubectl without the shell's PATH. The path PATH finds for this very binary, as found (a
/// package manager's link, which survives upgrades), else this binary's own.
fn own_command() -> String {
    let Ok(me) = std::env::current_exe() else {
        return "tokenctl".into();
    };
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join("tokenctl"))
            .find(|candidate| candidate.is_file())
    });
    match on_path {
        Some(found) if same_file(&found, &me) => found.display().to_string(),
        _ => me.display().to_string(),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn remove(global: &GlobalArgs, kubeconfig: Option<PathBuf>) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let context = set.resolve(global.context.as_deref())?.context.name.clone();
    let path = kubeconfig.unwrap_or_else(default_kubeconfig);
    let removed = edit_kubeconfig(&path, |root| {
        let ours = Ours::find(root, &context);
        let Some(user) = ours.user.clone() else {
            return Ok(None);
        };
        retain(root, "users", |name| name != user);
        if let Some(kube_context) = &ours.context {
            retain(root, "contexts", |name| name != kube_context);
            if root.get("current-context").and_then(Value::as_str) == Some(kube_context.as_str()) {
                root.remove("current-context");
            }
        }
        if let Some(cluster) = &ours.cluster {
            let still_used = section(root, "contexts")
                .iter()
                .any(|entry| context_field(entry, "cluster") == Some(cluster.as_str()));
            if !still_used {
                retain(root, "clusters", |name| name != cluster);
            }
        }
        Ok(Some((user, ours.context)))
    })?;
    match removed {
        Some((user, kube_context)) => eprintln!(
            "Removed user {user:?}{} from {}.",
            kube_context
                .map(|c| format!(" and kube context {c:?}"))
                .unwrap_or_default(),
            path.display()
        ),
        None => eprintln!(
            "{} has nothing tokenctl wrote for context {context:?}.",
            path.display()
        ),
    }
    Ok(())
}

/// Changes the kubeconfig at `path` under kubectl's lock: `change` edits its root and says
/// what it did, or `None` to leave the file as it was.
fn edit_kubeconfig<R>(
    path: &Path,
    change: impl FnOnce(&mut Mapping) -> Result<Option<R>>,
) -> Result<Option<R>> {
    let _lock = KubeconfigLock::acquire(path)?;
    let mut document = read_kubeconfig(path)?;
    let root = document
        .as_mapping_mut()
        .ok_or_else(|| anyhow!("{}: the kubeconfig is not a mapping", path.display()))?;
    let Some(done) = change(root)? else {
        return Ok(None);
    };
    let text = serde_yaml_ng::to_string(&document)?;
    write_user_file(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(done))
}

/// The arguments of the kube user `kubeconfig setup` writes for `context`.
fn exec_args(context: &str, follow: bool) -> impl Iterator<Item = &str> {
    ["auth", "exec-credential"]
        .into_iter()
        .chain(follow.then_some("--follow"))
        .chain(["--context", context])
}

/// What `kubeconfig setup` wrote for a context, recognised by content: the user whose exec
/// command is tokenctl's for this context, the context that uses that user, and the cluster
/// that context points at.
#[derive(Debug, Default)]
struct Ours {
    user: Option<String>,
    context: Option<String>,
    cluster: Option<String>,
}

impl Ours {
    fn find(root: &Mapping, context: &str) -> Ours {
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

/// Keeps the entries of `section` whose name passes `keep`.
fn retain(root: &mut Mapping, section: &str, keep: impl Fn(&str) -> bool) {
    if let Some(list) = root.get_mut(section).and_then(Value::as_sequence_mut) {
        list.retain(|e| e.get("name").and_then(Value::as_str).is_none_or(&keep));
    }
}

/// A kubelogin option as shown: neutralised for the terminal, and the value of one that names
/// a password, secret or token replaced by `…` (it would end in scrollback and CI logs).
fn shown_option(option: &str) -> String {
    let (name, value) = option.split_once('=').unwrap_or((option, ""));
    let lower = name.to_ascii_lowercase();
    let secret = ["password", "secret", "token"]
        .iter()
        .any(|word| lower.contains(word))
        && !value.is_empty()
        && !lower.contains("cache");
    let shown = if secret {
        format!("{name}=…")
    } else {
        option.to_owned()
    };
    tokenctl_core::text::printable(&shown).into_owned()
}

/// `<kubeconfig>.tokenctl-backup`, where `--force` keeps the file it replaces entries of.
fn backup_path(kubeconfig: &Path) -> PathBuf {
    with_suffix(kubeconfig, ".tokenctl-backup")
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// client-go's lock on a kubeconfig: `<file>.lock`, created exclusively and removed after. A
/// lock someone else holds is waited on, then refused; it is never removed here.
struct KubeconfigLock {
    path: PathBuf,
}

/// How long a kubeconfig lock held by someone else is waited on.
const KUBECONFIG_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl KubeconfigLock {
    fn acquire(kubeconfig: &Path) -> Result<KubeconfigLock> {
        let path = with_suffix(kubeconfig, ".lock");
        if let Some(dir) = kubeconfig.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokenctl_core::fsutil::create_private_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let deadline = std::time::Instant::now() + KUBECONFIG_LOCK_WAIT;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(KubeconfigLock { path }),
                Err(err)
                    if err.kind() == std::io::ErrorKind::AlreadyExists
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                    "{} is locked: {} exists (kubectl or another tool is writing it, or one was killed mid-write); nothing was changed. Remove it once nothing writes the kubeconfig",
                    kubeconfig.display(),
                    path.display()
                ),
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot create {}", path.display()));
                }
            }
        }
    }
}

impl Drop for KubeconfigLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The kubeconfig as a YAML tree (unknown keys survive), or a new one.
fn read_kubeconfig(path: &Path) -> Result<Value> {
    let text = match tokenctl_core::fsutil::read_user_text(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    if text.trim().is_empty() {
        let mut root = Mapping::new();
        root.insert("apiVersion".into(), "v1".into());
        root.insert("kind".into(), "Config".into());
        return Ok(Value::Mapping(root));
    }
    if let Err((line, message)) = tokenctl_core::yaml_bound::check(&text) {
        bail!("{}:{line}: {message}; nothing was changed", path.display());
    }
    serde_yaml_ng::from_str(&text).map_err(|err| {
        let place = err
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        anyhow!(
            "{}{place}: not a kubeconfig ({err}); nothing was changed",
            path.display()
        )
    })
}

/// Sets `section[name == name].field = value`, adding the entry when missing.
fn upsert(
    root: &mut Mapping,
    path: &Path,
    section: &str,
    name: &str,
    field: &str,
    value: Mapping,
) -> Result<()> {
    let list = root
        .entry(section.into())
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if list.is_null() {
        *list = Value::Sequence(Vec::new());
    }
    let Some(list) = list.as_sequence_mut() else {
        bail!("{}: `{section}` is not a list", path.display());
    };
    let existing = list
        .iter_mut()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(name));
    match existing.and_then(Value::as_mapping_mut) {
        Some(entry) => {
            entry.insert(field.into(), Value::Mapping(value));
        }
        None => {
            let mut entry = Mapping::new();
            entry.insert("name".into(), name.into());
            entry.insert(field.into(), Value::Mapping(value));
            list.push(Value::Mapping(entry));
        }
    }
    Ok(())
}

/// `kubeconfig import`: the plan core makes, said, then applied as one edit of the contexts
/// file, then the kube users pointed at tokenctl.
fn import(
    global: &GlobalArgs,
    kubeconfig: Option<PathBuf>,
    dry_run: bool,
    keep: bool,
) -> Result<()> {
    let path = kubeconfig.unwrap_or_else(default_kubeconfig);
    let document = read_kubeconfig(&path)?;
    let root = document
        .as_mapping()
        .ok_or_else(|| anyhow!("{}: the kubeconfig is not a mapping", path.display()))?;
    let paths = global.config_paths();
    let set = ConfigSet::load_valid(&paths)?;
    let plan = import::plan(root, &path, &set);
    for skipped in &plan.skipped {
        eprintln!("kube user {:?} {}", skipped.user, skipped.why);
        for option in &skipped.unmapped {
            eprintln!("  not mapped: {}", shown_option(option));
        }
    }
    if plan.planned.is_empty() {
        eprintln!(
            "{}: no user runs int128/kubelogin or Azure kubelogin; nothing to import.",
            path.display()
        );
        return Ok(());
    }
    for planned in &plan.planned {
        say_planned(planned);
    }
    if dry_run {
        eprintln!("Dry run: nothing was changed.");
        return Ok(());
    }
    let outcome = ConfigSet::apply_all(&paths, &plan.edits(&set))?;
    eprintln!(
        "Created {} context(s) in {}.",
        plan.planned.len(),
        outcome.path.display()
    );
    if keep {
        eprintln!("The kubeconfig's users are unchanged (--keep).");
        return Ok(());
    }
    let users: Vec<(String, Mapping)> = plan
        .planned
        .iter()
        .map(|planned| {
            Ok((
                planned.user.clone(),
                tokenctl_user(global, &planned.context, false)?,
            ))
        })
        .collect::<Result<_>>()?;
    edit_kubeconfig(&path, |root| {
        tokenctl_core::fsutil::copy_to_backup(&path, &backup_path(&path))
            .with_context(|| format!("cannot back up {}", path.display()))?;
        for (name, user) in users {
            upsert(root, &path, "users", &name, "user", user)?;
        }
        Ok(Some(()))
    })?;
    eprintln!(
        "The kube users run `tokenctl auth exec-credential` now; the old kubeconfig is in {}.",
        backup_path(&path).display()
    );
    Ok(())
}

/// One line for a user to import, and its options that have no counterpart.
fn say_planned(planned: &import::Planned) {
    let flow = planned
        .imported
        .flow
        .map(|flow| format!(", flow {}", flow.as_str()))
        .unwrap_or_default();
    let cluster = planned
        .cluster
        .as_ref()
        .map(|(name, _)| format!(", cluster {name:?}"))
        .unwrap_or_default();
    eprintln!(
        "kube user {:?} ({}) → provider {:?} ({}), context {:?}{flow}{cluster}, the {} token for kubectl",
        planned.user,
        planned.imported.tool,
        planned.context,
        planned.imported.kind,
        planned.context,
        planned.imported.cluster_token.as_str()
    );
    for option in &planned.imported.unmapped {
        eprintln!("  not mapped: {}", shown_option(option));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile kubeconfig's options reach the terminal neutralised, and secrets do not reach
    /// it at all (the security review's L4).
    #[test]
    fn unmapped_options_are_neutralised_and_secrets_hidden() {
        assert_eq!(
            shown_option("--password=hunter2-KUBE-PASSWORD"),
            "--password=…"
        );
        assert_eq!(shown_option("--client-secret=s3cret"), "--client-secret=…");
        assert_eq!(
            shown_option("--token-cache-dir=/tmp/kubelogin-cache"),
            "--token-cache-dir=/tmp/kubelogin-cache"
        );
        let forged = shown_option("--x=\u{1b}]0;OWNED\u{7}\u{1b}[2J\rnot mapped: nothing");
        assert!(
            !forged.contains('\u{1b}') && !forged.contains('\r'),
            "{forged:?}"
        );
    }
}
