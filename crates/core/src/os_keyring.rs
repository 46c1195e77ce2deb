//! The OS keyring, for secrets at rest (refresh tokens): Secret Service (GNOME Keyring,
//! KWallet) over D-Bus, the kernel's keyutils session keyring, macOS Keychain, Windows
//! Credential Manager. Which one works is found by trying it, never assumed: the `keyring`
//! crate would otherwise fall back to a store that keeps nothing.
#![doc(hidden)]

use keyring::Entry;

use crate::secret::Secret;

/// The service name every tokenctl entry is filed under.
const SERVICE: &str = "tokenctl";

/// A keyring backend that answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    SecretService,
    Keyutils,
    Keychain,
    CredentialManager,
}

impl Backend {
    const ALL: [Backend; 4] = [
        Backend::SecretService,
        Backend::Keyutils,
        Backend::Keychain,
        Backend::CredentialManager,
    ];

    /// The backend's name in files (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::Keychain => "keychain",
            Backend::CredentialManager => "credential-manager",
        }
    }

    pub fn parse(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.as_str() == name)
    }

    /// What `auth status` says.
    pub fn describe(self) -> &'static str {
        match self {
            Backend::SecretService => "OS keyring (Secret Service)",
            Backend::Keyutils => "OS keyring (kernel keyutils, session keyring)",
            Backend::Keychain => "OS keyring (macOS Keychain)",
            Backend::CredentialManager => "OS keyring (Windows Credential Manager)",
        }
    }

    /// The most a backend takes in one entry; larger secrets are split across entries.
    fn limit(self) -> usize {
        match self {
            // CRED_MAX_CREDENTIAL_BLOB_SIZE is 2560 bytes, and the crate stores UTF-16.
            Backend::CredentialManager => 1200,
            // keyutils user keys take up to 32767 bytes.
            Backend::Keyutils => 16 * 1024,
            Backend::SecretService | Backend::Keychain => 64 * 1024,
        }
    }

    fn entry(self, account: &str) -> keyring::Result<Entry> {
        match self {
            #[cfg(target_os = "linux")]
            Backend::SecretService => Ok(Entry::new_with_credential(Box::new(
                keyring::secret_service::SsCredential::new_with_target(None, SERVICE, account)?,
            ))),
            #[cfg(target_os = "linux")]
            Backend::Keyutils => Ok(Entry::new_with_credential(Box::new(
                keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, account)?,
            ))),
            _ => Entry::new(SERVICE, account),
        }
    }
}

/// `value` in parts of at most `limit` bytes (at least one character each), cut only between
/// characters, so that any text splits, not only ASCII.
fn split_at_chars(value: &str, limit: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = value;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(rest);
    }
    parts
}

/// Why the keyring could not keep or give a secret. Never contains the secret.
#[derive(Debug, thiserror::Error)]
#[error("{backend}: {reason}", backend = .0.describe(), reason = .1)]
pub struct KeyringError(pub Backend, pub String);

/// A keyring that answered a probe.
#[derive(Clone, Copy, Debug)]
pub struct Keyring {
    pub backend: Backend,
}

impl Keyring {
    /// The first backend of this platform that stores and returns a probe secret.
    pub fn probe() -> Option<Keyring> {
        let candidates: &[Backend] = if cfg!(target_os = "linux") {
            &[Backend::SecretService, Backend::Keyutils]
        } else if cfg!(target_os = "macos") {
            &[Backend::Keychain]
        } else if cfg!(target_os = "windows") {
            &[Backend::CredentialManager]
        } else {
            &[]
        };
        candidates.iter().copied().find_map(|backend| {
            let keyring = Keyring { backend };
            let probe = Secret::new("probe");
            let works = keyring.set("probe", &probe).is_ok()
                && keyring.get("probe").ok().flatten().as_ref() == Some(&probe);
            let _ = keyring.delete("probe");
            if !works {
                tracing::debug!("{} does not answer", backend.describe());
            }
            works.then_some(keyring)
        })
    }

    fn error(&self, err: impl std::fmt::Display) -> KeyringError {
        KeyringError(self.backend, err.to_string())
    }

    /// Stores `secret` under `account`, split into numbered parts where it is larger than the
    /// backend takes (`account`, `account#1`, …; the first part says how many there are). Parts
    /// an earlier, longer secret left are deleted.
    pub fn set(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        self.set_value(account, secret.expose())
    }

    /// [`Keyring::set`], with `room` bytes more stored after the secret: the room the next
    /// secret under `account` overwrites. A keyring with a quota (keyutils counts each user's
    /// bytes) refuses here, before anything is spent, rather than after; the secret reads back
    /// as it is.
    pub fn set_with_room(
        &self,
        account: &str,
        secret: &Secret,
        room: usize,
    ) -> Result<(), KeyringError> {
        let value = secret.expose();
        let header = format!("{ROOM_HEADER}{}:", value.len());
        // Within one entry: a secret split into parts is not rewritten in one step.
        let room = room.min(
            self.backend
                .limit()
                .saturating_sub(header.len() + value.len()),
        );
        let padded = format!("{header}{value}{}", "x".repeat(room));
        self.set_value(account, &padded)
    }

    fn set_value(&self, account: &str, value: &str) -> Result<(), KeyringError> {
        let limit = self.backend.limit();
        let parts = split_at_chars(value, limit);
        let head = if parts.len() == 1 {
            parts[0].to_owned()
        } else {
            format!("tokenctl-parts:{}:{}", parts.len(), parts[0])
        };
        self.backend
            .entry(account)
            .and_then(|e| e.set_password(&head))
            .map_err(|e| self.error(e))?;
        for (index, part) in parts.iter().enumerate().skip(1) {
            self.backend
                .entry(&format!("{account}#{index}"))
                .and_then(|e| e.set_password(part))
                .map_err(|e| self.error(e))?;
        }
        self.delete_parts_from(account, parts.len())
    }

    /// [`Keyring::set`], tried once more after a short pause when the keyring refuses: a
    /// keyring daemon that restarts, or a collection locked for a moment.
    pub fn set_retrying(&self, account: &str, secret: &Secret) -> Result<(), KeyringError> {
        once_more(|| self.set(account, secret), RETRY_PAUSE)
    }

    pub fn get(&self, account: &str) -> Result<Option<Secret>, KeyringError> {
        let read = |name: &str| match self.backend.entry(name).and_then(|e| e.get_password()) {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(self.error(err)),
        };
        let Some(head) = read(account)? else {
            return Ok(None);
        };
        let Some(rest) = head.strip_prefix("tokenctl-parts:") else {
            return self.without_room(head).map(Some);
        };
        let (count, first) = rest
            .split_once(':')
            .ok_or_else(|| self.error("a split secret has a damaged header"))?;
        let count: usize = count
            .parse()
            .map_err(|_| self.error("a split secret has a damaged header"))?;
        let mut value = first.to_owned();
        for index in 1..count {
            let part = read(&format!("{account}#{index}"))?
                .ok_or_else(|| self.error(format!("part {index} of a split secret is missing")))?;
            value.push_str(&part);
        }
        self.without_room(value).map(Some)
    }

    /// The secret stored with room after it ([`Keyring::set_with_room`]), or as stored.
    fn without_room(&self, value: String) -> Result<Secret, KeyringError> {
        let Some(rest) = value.strip_prefix(ROOM_HEADER) else {
            return Ok(Secret::new(value));
        };
        let damaged = || self.error("a secret stored with room has a damaged header");
        let (len, rest) = rest.split_once(':').ok_or_else(damaged)?;
        let len: usize = len.parse().map_err(|_| damaged())?;
        let secret = rest.get(..len).ok_or_else(damaged)?;
        Ok(Secret::new(secret))
    }

    /// Deletes the secret and any parts it was split into.
    pub fn delete(&self, account: &str) -> Result<(), KeyringError> {
        self.delete_parts_from(account, 1)?;
        self.remove(account)
    }

    /// Deletes `account#from`, `account#from+1`, … while they exist.
    fn delete_parts_from(&self, account: &str, from: usize) -> Result<(), KeyringError> {
        for index in from.. {
            let name = format!("{account}#{index}");
            let present = self
                .backend
                .entry(&name)
                .and_then(|e| e.get_password())
                .is_ok();
            if !present {
                break;
            }
            self.remove(&name)?;
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), KeyringError> {
        match self.backend.entry(name).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(self.error(err)),
        }
    }
}

/// What a secret stored with room starts with: `tokenctl-room:<length>:<secret><room>`.
const ROOM_HEADER: &str = "tokenctl-room:";

/// How long a refused keyring write waits before it is tried once more.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(300);

/// `write`, and once more after `pause` when it fails; the second error is the one kept.
fn once_more<E>(
    mut write: impl FnMut() -> Result<(), E>,
    pause: std::time::Duration,
) -> Result<(), E> {
    write().or_else(|_| {
        std::thread::sleep(pause);
        write()
    })
}

#[cfg(test)]
mod tests {
    use super::{Backend, Keyring, once_more, split_at_chars};

    #[test]
    fn a_secret_stored_with_room_reads_back_as_it_was() {
        let keyring = Keyring {
            backend: Backend::Keyutils,
        };
        let read = |stored: &str| {
            keyring
                .without_room(stored.to_owned())
                .map(|s| s.expose().to_owned())
        };
        assert_eq!(read("tokenctl-room:3:abcxxxxxxxx").unwrap(), "abc");
        assert_eq!(read("plain").unwrap(), "plain");
        assert!(read("tokenctl-room:9:abc").is_err(), "shorter than it says");
        assert!(read("tokenctl-room:x:abc").is_err());
    }

    #[test]
    fn a_refused_write_is_tried_once_more() {
        let pause = std::time::Duration::ZERO;
        let mut tries = 0;
        let fails_once = once_more(
            || {
                tries += 1;
                if tries == 1 { Err(tries) } else { Ok(()) }
            },
            pause,
        );
        assert_eq!((fails_once, tries), (Ok(()), 2));
        let mut tries = 0;
        let always = once_more(
            || {
                tries += 1;
                Err(tries)
            },
            pause,
        );
        assert_eq!(always, Err(2), "twice, and the second error is said");
    }

    #[test]
    fn secrets_split_between_characters_whatever_their_bytes() {
        let value = format!("{}é{}", "a".repeat(16 * 1024 - 1), "ü".repeat(9000));
        let parts = split_at_chars(&value, 16 * 1024);
        assert!(parts.len() > 1 && parts.iter().all(|p| p.len() <= 16 * 1024));
        assert_eq!(parts.concat(), value);
        assert_eq!(split_at_chars("ab", 8), ["ab"]);
        assert_eq!(
            split_at_chars("éé", 1),
            ["é", "é"],
            "a limit below one character"
        );
    }
}
