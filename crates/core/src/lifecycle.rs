//! Keeping a stored login fresh, safely across processes: check without the lock, lock the
//! login, re-read, refresh only if still needed, save the rotated refresh token before the new
//! access token, write atomically, unlock. The common case (a valid access token) reads one
//! file and touches no lock, keyring or network.

use std::time::Duration;

use crate::fsutil::LockGuard;
use crate::oauth::{OAuthError, TokenSet, now};
use crate::os_keyring::Keyring;
use crate::secret::Secret;
use crate::store::{FileStore, StoreError, StoredLogin, login_key};

/// How long a process waits for another one that is refreshing the same login.
pub const REFRESH_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Why no fresh access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum FreshError {
    /// Nothing to refresh with: a person must log in.
    #[error("the access token {0} and there is no refresh token")]
    NoRefreshToken(String),
    /// The provider no longer accepts the refresh token; local state was removed.
    #[error("session expired: the identity provider no longer accepts the refresh token")]
    SessionExpired,
    #[error(transparent)]
    Refresh(BoxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Lock(std::io::Error),
    #[error(transparent)]
    Keyring(#[from] crate::os_keyring::KeyringError),
}

/// Whether the login's access token stays valid for `min_valid` (no expiry: valid). For
/// tokens that live shorter than twice `min_valid`, half their lifetime is asked instead:
/// otherwise every command would refresh a token the provider will only ever issue short.
pub fn is_fresh(login: &StoredLogin, min_valid: Duration) -> bool {
    login.expires_at.is_none_or(|at| {
        let half_life = (at - login.obtained_at).max(0) / 2;
        let window = (min_valid.as_secs() as i64).min(half_life);
        at - window > now()
    })
}

/// The login's key in the store.
pub fn key_of(login: &StoredLogin) -> String {
    login_key(&login.provider, &login.client_id, &login.scopes)
}

/// Any error a refresh can end in.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A login whose access token is valid for `min_valid`, refreshed with `refresh` (given the
/// login and its refresh token) when needed and when no other process did it meanwhile.
/// `force` refreshes even a fresh token (`tokenctl auth refresh`).
pub async fn ensure_fresh<F, Fut>(
    store: &FileStore,
    login: StoredLogin,
    min_valid: Duration,
    force: bool,
    refresh: F,
) -> Result<StoredLogin, FreshError>
where
    F: FnOnce(StoredLogin, Secret) -> Fut,
    Fut: std::future::Future<Output = Result<TokenSet, BoxError>>,
{
    if !force && is_fresh(&login, min_valid) {
        return Ok(login);
    }
    let key = key_of(&login);
    let path = store.path_of(&key);
    let _lock = LockGuard::acquire_async(&path, "refreshing the same login", REFRESH_LOCK_TIMEOUT)
        .await
        .map_err(FreshError::Lock)?;
    let current = store.load(&key)?.unwrap_or(login.clone());
    // Another process refreshed while this one waited: its token serves, even when the
    // provider's tokens live shorter than `min_valid`.
    if current.obtained_at != login.obtained_at && is_fresh(&current, Duration::ZERO) {
        return Ok(current);
    }
    let keyring = current.refresh_token_in.map(|backend| Keyring { backend });
    let refresh_token = match (&current.refresh_token, keyring) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(keyring)) => keyring.get(&key)?,
        (None, None) => None,
    };
    let Some(refresh_token) = refresh_token else {
        let state = match current.expires_at {
            Some(at) if at > now() => format!("expires in {} s", at - now()),
            Some(_) => "has expired".to_owned(),
            None => "cannot be refreshed".to_owned(),
        };
        return Err(FreshError::NoRefreshToken(state));
    };
    let tokens = match refresh(current.clone(), refresh_token.clone()).await {
        Ok(tokens) => tokens,
        Err(err) => {
            let rejected = err
                .downcast_ref::<OAuthError>()
                .is_some_and(|e| e.code() == Some("invalid_grant"));
            if rejected {
                forget(store, &key, keyring);
                return Err(FreshError::SessionExpired);
            }
            return Err(FreshError::Refresh(err));
        }
    };
    let mut next = current.clone();
    // A rotated refresh token is saved first: losing it would lock the person out.
    if let Some(rotated) = tokens.refresh_token {
        match keyring {
            Some(keyring) => keyring.set(&key, &rotated)?,
            None => next.refresh_token = Some(rotated),
        }
    } else if keyring.is_none() {
        next.refresh_token = Some(refresh_token);
    }
    next.access_token = tokens.access_token;
    next.token_type = tokens.token_type;
    next.expires_at = tokens.expires_at;
    if tokens.id_token.is_some() {
        next.id_token = tokens.id_token;
    }
    if tokens.scope.is_some() {
        next.granted_scope = tokens.scope;
    }
    next.obtained_at = now().max(current.obtained_at + 1);
    store.save(&key, &next)?;
    Ok(next)
}

/// Removes a login's local state: its file and its keyring entry. (The lock file stays: another
/// process may be waiting on it.)
pub fn forget(store: &FileStore, key: &str, keyring: Option<Keyring>) {
    let _ = std::fs::remove_file(store.path_of(key));
    if let Some(keyring) = keyring {
        let _ = keyring.delete(key);
    }
}
