//! Where logins are kept between commands.
//!
//! A login is a 0600 JSON file under `$XDG_DATA_HOME/tokenctl/logins/` (directory 0700),
//! written atomically: the short-lived access token lives there so that handing it out needs
//! no keyring. The refresh token goes to the OS keyring when one answers
//! ([`crate::os_keyring`]), else into the file, which `tokenctl auth login` says loudly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::os_keyring::Backend;
use crate::provider::Flow;
use crate::secret::Secret;

/// One login: what was asked for, and what the provider gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredLogin {
    pub provider: String,
    pub kind: String,
    pub client_id: String,
    /// The scopes requested, which with provider and client identify the login.
    pub scopes: Vec<String>,
    pub flow: Flow,
    pub token_type: String,
    pub access_token: Secret,
    /// Seconds since the epoch.
    pub expires_at: Option<i64>,
    /// The refresh token, when it is kept in this file (no OS keyring answered, or
    /// `credential-store: file`).
    pub refresh_token: Option<Secret>,
    /// The OS keyring that holds the refresh token instead, under the login's key.
    #[serde(default)]
    pub refresh_token_in: Option<Backend>,
    pub id_token: Option<Secret>,
    /// The scope the provider says it granted.
    pub granted_scope: Option<String>,
    /// Seconds since the epoch.
    pub obtained_at: i64,
}

/// Why the store could not be read or written. Names the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: cannot read the stored login: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the stored login is damaged ({reason}); run `tokenctl auth login` again", path = .path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("{path}: cannot save the login: {source}", path = .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The identity of a login: provider, client and the scopes asked for. Stable across releases
/// (FNV-1a), since it names files.
pub fn login_key(provider: &str, client_id: &str, scopes: &[String]) -> String {
    let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let text = format!("{provider}\n{client_id}\n{}", sorted.join(" "));
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{hash:016x}", sanitize(provider))
}

/// A provider name as a file-name part.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}

/// Logins as files.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// `$XDG_DATA_HOME/tokenctl/logins`, else `~/.local/share/tokenctl/logins`.
    pub fn default_location() -> FileStore {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| std::env::home_dir().map(|home| home.join(".local").join("share")))
            .unwrap_or_else(|| PathBuf::from("."));
        FileStore::at(base.join("tokenctl").join("logins"))
    }

    pub fn at(dir: PathBuf) -> FileStore {
        FileStore { dir }
    }

    /// Where the login files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    pub fn save(&self, key: &str, login: &StoredLogin) -> Result<PathBuf, StoreError> {
        let path = self.path_of(key);
        let text = serde_json::to_vec_pretty(login).map_err(|err| StoreError::Write {
            path: path.clone(),
            source: std::io::Error::other(err),
        })?;
        write_atomic(&path, &text).map_err(|source| StoreError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    pub fn load(&self, key: &str) -> Result<Option<StoredLogin>, StoreError> {
        load_file(&self.path_of(key))
    }

    /// The most recent login for a provider (and client, when given), whatever scopes it asked
    /// for: a login with `--scope` still serves the context's commands.
    pub fn newest_for(
        &self,
        provider: &str,
        client_id: Option<&str>,
    ) -> Result<Option<StoredLogin>, StoreError> {
        let prefix = format!("{}-", sanitize(provider));
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(None);
        };
        let mut newest: Option<StoredLogin> = None;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) || !name.ends_with(".json") {
                continue;
            }
            if let Some(login) = load_file(&entry.path())?
                && login.provider == provider
                && client_id.is_none_or(|id| login.client_id == id)
                && newest
                    .as_ref()
                    .is_none_or(|n| login.obtained_at > n.obtained_at)
            {
                newest = Some(login);
            }
        }
        Ok(newest)
    }
}

impl FileStore {
    /// Every stored login, with its key, in key order.
    pub fn all(&self) -> Result<Vec<(String, StoredLogin)>, StoreError> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut logins = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(key) = name.strip_suffix(".json")
                && let Some(login) = load_file(&entry.path())?
            {
                logins.push((key.to_owned(), login));
            }
        }
        logins.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(logins)
    }
}

pub(crate) fn load_file(path: &Path) -> Result<Option<StoredLogin>, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|err| StoreError::Damaged {
            path: path.to_path_buf(),
            reason: format!("line {} column {}", err.line(), err.column()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_ignores_scope_order_and_is_stable() {
        let a = login_key("corp", "cli", &["b".into(), "a".into()]);
        let b = login_key("corp", "cli", &["a".into(), "b".into(), "a".into()]);
        assert_eq!(a, b);
        assert_ne!(a, login_key("corp", "other", &["a".into(), "b".into()]));
        assert_eq!(
            login_key("my corp/1", "c", &[]),
            "my_corp_1-7202e968e761c21c"
        );
    }

    #[test]
    fn a_damaged_file_names_itself_but_not_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::at(dir.path().to_path_buf());
        std::fs::write(store.path_of("k"), "{\"access_token\": \"secret-value\"").unwrap();
        let err = store.load("k").unwrap_err().to_string();
        assert!(err.contains("k.json") && err.contains("damaged"), "{err}");
        assert!(!err.contains("secret-value"));
        assert!(store.load("absent").unwrap().is_none());
    }
}
