//! The kubeconfig as a document: where it is, read, locked as client-go locks it, edited
//! entry by entry, backed up, and written.

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};
use tokenctl_core::internal::fsutil::write_user_file;

/// The kubeconfig kubectl reads first.
pub(super) fn default_kubeconfig() -> PathBuf {
    std::env::var_os("KUBECONFIG")
        .and_then(|list| std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()))
        .unwrap_or_else(|| {
            std::env::home_dir()
                .unwrap_or_default()
                .join(".kube")
                .join("config")
        })
}

/// Changes the kubeconfig at `path` under kubectl's lock: `change` edits its root and says
/// what it did, or `None` to leave the file as it was.
pub(super) fn edit_kubeconfig<R>(
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

/// Keeps the entries of `section` whose name passes `keep`.
pub(super) fn retain(root: &mut Mapping, section: &str, keep: impl Fn(&str) -> bool) {
    if let Some(list) = root.get_mut(section).and_then(Value::as_sequence_mut) {
        list.retain(|e| e.get("name").and_then(Value::as_str).is_none_or(&keep));
    }
}

/// `<kubeconfig>.tokenctl-backup`, where `--force` keeps the file it replaces entries of.
pub(super) fn backup_path(kubeconfig: &Path) -> PathBuf {
    with_suffix(kubeconfig, ".tokenctl-backup")
}

/// `path` with `suffix` appended to its file name.
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// client-go's lock on a kubeconfig: `<file>.lock`, created exclusively and removed after. A
/// lock someone else holds is waited on, then refused; it is never removed here.
pub(super) struct KubeconfigLock {
    path: PathBuf,
}

/// How long a kubeconfig lock held by someone else is waited on.
pub(super) const KUBECONFIG_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl KubeconfigLock {
    fn acquire(kubeconfig: &Path) -> Result<KubeconfigLock> {
        let path = with_suffix(kubeconfig, ".lock");
        if let Some(dir) = kubeconfig.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokenctl_core::internal::fsutil::create_private_dir_all(dir)
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
pub(super) fn read_kubeconfig(path: &Path) -> Result<Value> {
    let text = match tokenctl_core::internal::fsutil::read_user_text(path) {
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
    if let Err((line, message)) = tokenctl_core::internal::yaml_bound::check(&text) {
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
pub(super) fn upsert(
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

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
