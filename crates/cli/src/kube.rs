//! `kubeconfig setup`: the kubeconfig user that runs `tokenctl auth exec-credential`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml_ng::{Mapping, Value};
use tokenctl_core::config::ConfigSet;
use tokenctl_core::fsutil::{LockGuard, write_user_file};

use crate::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum KubeconfigCommand {
    /// Add or update a kubeconfig user that runs `tokenctl auth exec-credential`, with a
    /// cluster and a context for the tokenctl context's cluster; everything else is kept
    Setup {
        /// kubeconfig to edit (default: the first file of KUBECONFIG, else ~/.kube/config)
        #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        kubeconfig: Option<PathBuf>,
    },
}

pub fn run_kubeconfig(command: KubeconfigCommand, global: &GlobalArgs) -> Result<()> {
    match command {
        KubeconfigCommand::Setup { kubeconfig } => setup(global, kubeconfig),
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

fn setup(global: &GlobalArgs, kubeconfig: Option<PathBuf>) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let resolved = set.resolve(global.context.as_deref())?;
    let context = resolved.context.name.clone();
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
        let ca = std::path::absolute(ca).unwrap_or_else(|_| PathBuf::from(ca));
        kube_cluster.insert(
            "certificate-authority".into(),
            ca.display().to_string().into(),
        );
    }
    if let Some(data) = &cluster.certificate_authority_data {
        kube_cluster.insert("certificate-authority-data".into(), data.clone().into());
    }
    if cluster.insecure_skip_tls_verify == Some(true) {
        kube_cluster.insert("insecure-skip-tls-verify".into(), true.into());
    }

    let mut exec = Mapping::new();
    exec.insert(
        "apiVersion".into(),
        crate::exec_credential::API_VERSIONS[1].into(),
    );
    exec.insert("command".into(), own_command().into());
    exec.insert(
        "args".into(),
        Value::Sequence(
            ["auth", "exec-credential", "--context", context.as_str()]
                .map(Value::from)
                .to_vec(),
        ),
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
    exec.insert("provideClusterInfo".into(), false.into());
    // kubectl prints this when it cannot run the command: the README's install, then a login.
    exec.insert(
        "installHint".into(),
        format!(
            "tokenctl provides this user's tokens: install it from its sources with `cargo install --path crates/cli`, then run `tokenctl --context {context} auth login`"
        )
        .into(),
    );
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));

    let user_name = format!("tokenctl-{context}");
    let mut kube_context = Mapping::new();
    kube_context.insert("cluster".into(), cluster.name.clone().into());
    kube_context.insert("user".into(), user_name.clone().into());

    let _lock = LockGuard::acquire(
        &path,
        "editing the kubeconfig",
        std::time::Duration::from_secs(10),
    )?;
    let mut document = read_kubeconfig(&path)?;
    let root = document
        .as_mapping_mut()
        .ok_or_else(|| anyhow!("{}: the kubeconfig is not a mapping", path.display()))?;
    upsert(
        root,
        &path,
        "clusters",
        &cluster.name,
        "cluster",
        kube_cluster,
    )?;
    upsert(root, &path, "users", &user_name, "user", user)?;
    upsert(root, &path, "contexts", &context, "context", kube_context)?;
    let no_current = root
        .get("current-context")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if no_current {
        root.insert("current-context".into(), context.clone().into());
    }
    let text = serde_yaml_ng::to_string(&document)?;
    write_user_file(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "Wrote kube context {context:?} (cluster {:?}, user {user_name:?}) to {}.",
        cluster.name,
        path.display()
    );
    if no_current {
        eprintln!("It is kubectl's current context now.");
    } else {
        eprintln!(
            "Use it with `kubectl --context {context} ...` or `kubectl config use-context {context}`."
        );
    }
    Ok(())
}

/// How kubectl should start tokenctl: by name when PATH finds this very binary, else by its
/// absolute path.
fn own_command() -> String {
    let Ok(me) = std::env::current_exe() else {
        return "tokenctl".into();
    };
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("tokenctl"))
            .find(|candidate| candidate.is_file())
    });
    match on_path {
        Some(found) if same_file(&found, &me) => "tokenctl".into(),
        _ => me.display().to_string(),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
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
