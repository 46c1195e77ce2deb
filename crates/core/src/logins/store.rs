//! Where logins are kept between commands, and the one place that decides where their secrets
//! go.
//!
//! A login is a 0600 JSON file under `$XDG_DATA_HOME/tokenctl/logins/` (directory 0700),
//! written atomically: the short-lived access token lives there so that handing it out needs
//! no keyring and no lock. Secrets at rest (the refresh token, a client secret given on stdin)
//! go to the OS keyring when one answers (`os_keyring`), else into the file. Every
//! change — keyring entries included — is made through [`Locked`], under the login's lock.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{CredentialStore, TokenKind};
use crate::fsutil::{LockGuard, Reservation, write_own_file};
use crate::os_keyring::{Backend, Keyring, KeyringError};
use crate::provider::Flow;
use crate::secret::Secret;

/// How long a process waits for another one that is changing the same login.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a process waits for another one's sign-in to the same login: a person signing in.
pub const SIGN_IN_WAIT: Duration = Duration::from_secs(15 * 60);

/// What happened to a login, recorded beside it (`<key>.<event>`, the time in it).
#[derive(Clone, Copy)]
enum Marker {
    SignInFailed,
    RefreshFailed,
    RefreshInDoubt,
}

/// The room set aside for a login's file before a refresh, beyond its size: the new tokens
/// (`MAX_TOKENS_BYTES`) and their JSON.
pub const TOKEN_ROOM: u64 = 64 * 1024;

/// The room set aside in the OS keyring before a refresh, beyond the refresh token kept there:
/// what a renewed refresh token may grow by (Keycloak's and Entra ID's vary by hundreds of
/// bytes).
pub const KEYRING_ROOM: usize = 4 * 1024;

/// The longest claims challenge kept (Entra ID's are a few hundred bytes).
const MAX_CLAIMS: usize = 8 * 1024;

/// The keyrings tried on this platform, for messages.
pub const TRIED_KEYRINGS: &str = if cfg!(target_os = "linux") {
    "Secret Service, kernel keyutils"
} else if cfg!(target_os = "macos") {
    "Keychain"
} else {
    "Credential Manager"
};

/// Who a login speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    /// A person signed in (device, browser, password; a token given or exchanged for one).
    Person,
    /// The application itself (client credentials): needs no person to renew.
    Application,
}

impl Principal {
    pub fn of(flow: Flow) -> Principal {
        match flow {
            Flow::ClientCredentials => Principal::Application,
            _ => Principal::Person,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Principal::Person => "a person",
            Principal::Application => "the application itself",
        }
    }
}

/// One login: what it was made for, and what the provider gave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredLogin {
    pub provider: String,
    pub kind: String,
    pub client_id: String,
    /// The scopes requested at sign-in.
    pub scopes: Vec<String>,
    pub flow: Flow,
    /// A person or the application itself; `None` in logins stored before identities.
    #[serde(default)]
    pub principal: Option<Principal>,
    /// The context's `login:` name, when it keeps an identity of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_name: Option<String>,
    /// The issuer that minted the login: its refresh token goes nowhere else.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The token endpoint that minted the login.
    #[serde(default)]
    pub token_endpoint: Option<Url>,
    pub token_type: String,
    pub access_token: Secret,
    /// Seconds since the epoch.
    pub expires_at: Option<i64>,
    /// How long the provider's access tokens live, as last issued (seconds).
    #[serde(default)]
    pub lifetime: Option<i64>,
    /// The refresh token, when it is kept in this file (no OS keyring answered, or
    /// `credential-store: file`).
    pub refresh_token: Option<Secret>,
    /// The OS keyring that holds the refresh token instead, under the login's key.
    #[serde(default)]
    pub refresh_token_in: Option<Backend>,
    /// A client secret given on stdin at sign-in, kept to renew the login without a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// The OS keyring that holds that client secret instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_in: Option<Backend>,
    pub id_token: Option<Secret>,
    /// The last refresh returned no ID token: the one kept is older than the access token,
    /// and a refresh does not renew it (so none is spent trying).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub id_token_not_refreshed: bool,
    /// The scope the provider says it granted.
    pub granted_scope: Option<String>,
    /// Seconds since the epoch.
    pub obtained_at: i64,
}

impl StoredLogin {
    /// The scopes asked for that the provider said it did not grant (its reply's `scope`), but
    /// for the ID-token and refresh scopes tokenctl adds, which providers often leave out.
    pub fn scopes_not_granted(&self) -> Vec<&str> {
        const ADDED: [&str; 4] = ["openid", "profile", "email", "offline_access"];
        let Some(granted) = self.granted_scope.as_deref() else {
            return Vec::new();
        };
        let granted: Vec<&str> = granted.split_whitespace().collect();
        // Entra ID answers `X/.default` with every scope of X the app holds, never itself.
        let covered = |scope: &str| match scope.strip_suffix(".default") {
            Some(api) if api.ends_with('/') => granted.iter().any(|g| g.starts_with(api)),
            _ => false,
        };
        self.scopes
            .iter()
            .map(String::as_str)
            .filter(|scope| !ADDED.contains(scope) && !granted.contains(scope) && !covered(scope))
            .collect()
    }

    /// When the token of `kind` was issued and when it expires: the access token's as the
    /// reply said, the ID token's from its `iat` and `exp` (a refresh may leave it older).
    pub fn lifespan(&self, kind: TokenKind) -> Option<(i64, Option<i64>)> {
        match kind {
            TokenKind::Access => Some((self.obtained_at, self.expires_at)),
            TokenKind::Id => {
                let Ok(decoded) = crate::jwt::decode(self.id_token.as_ref()?.expose()) else {
                    return Some((self.obtained_at, None));
                };
                let issued = decoded
                    .claims
                    .get("iat")
                    .and_then(serde_json::Value::as_i64);
                Some((issued.unwrap_or(self.obtained_at), decoded.expires_at()))
            }
        }
    }

    /// The token of `kind`; `None` when the login holds no ID token.
    pub fn token(&self, kind: TokenKind) -> Option<&Secret> {
        match kind {
            TokenKind::Access => Some(&self.access_token),
            TokenKind::Id => self.id_token.as_ref(),
        }
    }

    /// Whether a refresh token is kept, in the file or the keyring.
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token.is_some() || self.refresh_token_in.is_some()
    }
}

/// Secrets that go with a login; the store decides where they rest.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    pub refresh_token: Option<Secret>,
    pub client_secret: Option<Secret>,
}

/// Where a login's refresh token rests, for `auth status` and the sign-in message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Keyring(Backend),
    File(PathBuf),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Keyring(backend) => f.write_str(backend.describe()),
            Place::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// Why the store could not be read or written. Names the file, never its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{path}: cannot read the stored login: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the stored login is damaged ({reason}); run `{program} auth login` again", path = .path.display(), program = crate::program::name())]
    Damaged { path: PathBuf, reason: String },
    #[error("{path}: cannot save the login: {source}", path = .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no room to save the renewed login ({source}): make room; the refresh was not sent, and the login is as it was", path = .path.display())]
    NoRoom {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: no room could be set aside for the renewed refresh token, so the refresh was not sent and the login is as it was; {hint}", hint = keyring_room_hint(.0.0))]
    NoKeyringRoom(KeyringError),
    #[error("{0}")]
    Lock(std::io::Error),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error(
        "credential-store: keyring, but no OS keyring answered (tried {TRIED_KEYRINGS}); nothing was done"
    )]
    NoKeyring,
}

/// What to do when a keyring refuses the room a refresh needs.
fn keyring_room_hint(backend: Backend) -> &'static str {
    match backend {
        Backend::Keyutils => {
            "make room in the kernel keyring (each user may keep the bytes in /proc/sys/kernel/keys/maxbytes; `keyctl show @u` lists them) and run the command again"
        }
        _ => "unlock the keyring (or start it again) and run the command again",
    }
}

/// Why a login was removed, kept beside it so that processes that waited for the lock, and
/// logins that need no person, know what happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Removed {
    /// `auth logout`: not acquired again until `auth login`.
    LoggedOut,
    /// The provider refused the refresh token.
    Expired,
}

/// A file-name-safe hash (FNV-1a, stable across releases since it names files).
pub fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A provider name as a file-name part.
pub fn sanitize(name: &str) -> String {
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

/// The logins directory and the `credential-store` setting.
#[derive(Clone, Debug)]
pub struct LoginStore {
    dir: PathBuf,
    setting: CredentialStore,
}

/// The keyring probe, once per process: it costs a keyring round trip.
static PROBED: OnceLock<Option<Keyring>> = OnceLock::new();

impl LoginStore {
    /// `$XDG_DATA_HOME/tokenctl/logins`, else `~/.local/share/tokenctl/logins`.
    pub fn default_location(setting: CredentialStore) -> LoginStore {
        LoginStore::at(crate::dirs::data_dir().join("logins"), setting)
    }

    pub fn at(dir: PathBuf, setting: CredentialStore) -> LoginStore {
        LoginStore { dir, setting }
    }

    /// Where the login files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn setting(&self) -> CredentialStore {
        self.setting
    }

    pub fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    fn removed_marker(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.removed"))
    }

    /// When the event `marker` names last happened to the login (seconds since the epoch).
    fn marked_at(&self, key: &str, marker: Marker) -> Option<i64> {
        let text = crate::fsutil::read_own_file(&self.marker_file(key, marker)).ok()?;
        String::from_utf8_lossy(&text).trim().parse().ok()
    }

    /// Records the event `marker` names `at` a time, or (`None`) clears it.
    fn mark(&self, key: &str, marker: Marker, at: Option<i64>) {
        let file = self.marker_file(key, marker);
        let _ = match at {
            Some(at) => write_own_file(&file, format!("{at}\n").as_bytes()),
            None => std::fs::remove_file(&file),
        };
    }

    fn marker_file(&self, key: &str, marker: Marker) -> PathBuf {
        let suffix = match marker {
            Marker::SignInFailed => "sign-in-failed",
            Marker::RefreshFailed => "refresh-failed",
            Marker::RefreshInDoubt => "refresh-in-doubt",
        };
        self.dir.join(format!("{key}.{suffix}"))
    }

    /// When an early refresh of the login (its token still valid) last failed to reach the
    /// provider: for a while after, the stored token is handed out without trying again.
    pub fn early_refresh_failed(&self, key: &str) -> Option<i64> {
        self.marked_at(key, Marker::RefreshFailed)
    }

    /// Records that an early refresh failed `at` a time, or (`None`) that one worked.
    pub fn record_early_refresh(&self, key: &str, failed_at: Option<i64>) {
        self.mark(key, Marker::RefreshFailed, failed_at);
    }

    /// Whether a refresh of the login timed out after it was sent: the provider may have
    /// carried it out, and replaced the refresh token the login keeps.
    pub fn refresh_in_doubt(&self, key: &str) -> bool {
        self.marked_at(key, Marker::RefreshInDoubt).is_some()
    }

    /// Records a refresh that timed out after it was sent (`Some(when)`), or clears it.
    pub fn mark_refresh_in_doubt(&self, key: &str, at: Option<i64>) {
        self.mark(key, Marker::RefreshInDoubt, at);
    }

    fn claims_file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.claims"))
    }

    /// The claims challenge the provider sent with its last refusal of a refresh, for the
    /// next sign-in (at most [`MAX_CLAIMS`] bytes of JSON).
    pub fn claims(&self, key: &str) -> Option<String> {
        let bytes = crate::fsutil::read_own_file(&self.claims_file(key)).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        (text.len() <= MAX_CLAIMS
            && serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.is_object()))
        .then_some(text)
    }

    /// Keeps a claims challenge for the next sign-in, or (`None`) drops the one kept.
    pub fn keep_claims(&self, key: &str, claims: Option<&str>) {
        let file = self.claims_file(key);
        let _ = match claims.filter(|c| c.len() <= MAX_CLAIMS) {
            Some(claims) => write_own_file(&file, claims.as_bytes()),
            None => match std::fs::remove_file(&file) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        };
    }

    /// Takes the login's sign-in lock, so that one process at a time signs a person in to it;
    /// `waiting` hears the id of the process that signs in, once, when this one must wait.
    pub async fn sign_in_lock(
        &self,
        key: &str,
        waiting: impl FnOnce(Option<u32>),
    ) -> Result<LockGuard, StoreError> {
        let path = self.dir.join(format!("{key}.sign-in"));
        let guard = match LockGuard::acquire_async(&path, "signing in", Duration::ZERO).await {
            Ok(guard) => guard,
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                waiting(crate::fsutil::lock_holder(&path));
                LockGuard::acquire_async(&path, "signing in to the same login", SIGN_IN_WAIT)
                    .await
                    .map_err(StoreError::Lock)?
            }
            Err(err) => return Err(StoreError::Lock(err)),
        };
        guard.claim();
        Ok(guard)
    }

    /// When the last sign-in to the login failed or was abandoned (seconds since the epoch).
    pub fn failed_sign_in(&self, key: &str) -> Option<i64> {
        self.marked_at(key, Marker::SignInFailed)
    }

    /// Records how a person's sign-in ended: `Some(when)` it failed, `None` it worked.
    pub fn record_sign_in(&self, key: &str, failed_at: Option<i64>) {
        self.mark(key, Marker::SignInFailed, failed_at);
    }

    /// Reads a login without its lock (the hot path): a file written atomically is whole.
    pub fn read(&self, key: &str) -> Result<Option<StoredLogin>, StoreError> {
        load_file(&self.path_of(key))
    }

    /// Why the login under `key` was removed, when it was.
    pub fn removed(&self, key: &str) -> Option<Removed> {
        let marker = crate::fsutil::read_own_file(&self.removed_marker(key)).ok()?;
        match String::from_utf8_lossy(&marker).trim() {
            "logged-out" => Some(Removed::LoggedOut),
            _ => Some(Removed::Expired),
        }
    }

    /// The keyring new secrets go to: `None` for the file. Checked before anyone signs in, so
    /// that `credential-store: keyring` without one stops before a person signs in for nothing.
    pub fn keyring_for_new(&self) -> Result<Option<Keyring>, StoreError> {
        match self.setting {
            CredentialStore::None | CredentialStore::File => Ok(None),
            CredentialStore::Keyring => probe().map(Some).ok_or(StoreError::NoKeyring),
            CredentialStore::Auto => Ok(probe()),
        }
    }

    /// Takes the login's lock (waiting for another process that holds it).
    pub async fn lock(&self, key: &str, what: &str) -> Result<Locked<'_>, StoreError> {
        let guard = LockGuard::acquire_async(&self.path_of(key), what, LOCK_TIMEOUT)
            .await
            .map_err(StoreError::Lock)?;
        Ok(Locked {
            store: self,
            key: key.to_owned(),
            _guard: guard,
        })
    }

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

    /// Whether refresh tokens fall back to files here for the first time: the warning is said
    /// once, loudly, not at every login (a marker file beside the logins).
    pub fn first_file_fallback(&self) -> bool {
        let marker = self.dir.with_file_name("file-fallback-announced");
        if marker.exists() {
            return false;
        }
        let _ = write_own_file(&marker, b"refresh tokens fall back to files\n");
        true
    }
}

fn probe() -> Option<Keyring> {
    *PROBED.get_or_init(Keyring::probe)
}

/// Room set aside for a login's next save ([`Locked::reserve`]).
pub struct Room {
    file: Reservation,
}

/// A saved login, and where its new refresh token went.
#[derive(Debug)]
pub struct Saved {
    pub path: PathBuf,
    pub refresh_token: Kept,
}

/// Where a new refresh token went when the keyring that should keep it refused it twice.
#[derive(Debug)]
pub enum Kept {
    /// Where it was asked to go (or there was none).
    AsAsked,
    /// Into the login's file (0600), until the next sign-in.
    InFile(KeyringError),
    /// Nowhere: `credential-store: keyring` keeps secrets out of files.
    Lost(KeyringError),
}

/// A login under its lock: the only way to change one.
pub struct Locked<'a> {
    store: &'a LoginStore,
    key: String,
    _guard: LockGuard,
}

/// The keyring account of a login's client secret.
fn client_secret_account(key: &str) -> String {
    format!("{key}:client-secret")
}

impl Locked<'_> {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn path(&self) -> PathBuf {
        self.store.path_of(&self.key)
    }

    /// The login as it is now (another process may have changed it while this one waited).
    pub fn load(&self) -> Result<Option<StoredLogin>, StoreError> {
        self.store.read(&self.key)
    }

    pub fn removed(&self) -> Option<Removed> {
        self.store.removed(&self.key)
    }

    /// The login's refresh token, from the file or the keyring.
    pub fn refresh_token(&self, login: &StoredLogin) -> Result<Option<Secret>, StoreError> {
        match (&login.refresh_token, login.refresh_token_in) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(backend)) => Ok(Keyring { backend }.get(&self.key)?),
            (None, None) => Ok(None),
        }
    }

    /// The client secret kept with the login, if one was given at sign-in.
    pub fn client_secret(&self, login: &StoredLogin) -> Result<Option<Secret>, StoreError> {
        match (&login.client_secret, login.client_secret_in) {
            (Some(secret), _) => Ok(Some(secret.clone())),
            (None, Some(backend)) => {
                Ok(Keyring { backend }.get(&client_secret_account(&self.key))?)
            }
            (None, None) => Ok(None),
        }
    }

    /// Sets room aside for the login's next save, before a refresh spends `refresh_token`: its
    /// file's size and [`TOKEN_ROOM`] more, and in the keyring that holds the token,
    /// [`KEYRING_ROOM`] more under the same entry. A full disk or keyring stops here, with
    /// nothing spent.
    pub fn reserve(&self, login: &StoredLogin, refresh_token: &Secret) -> Result<Room, StoreError> {
        let path = self.path();
        let now = std::fs::symlink_metadata(&path).map_or(0, |meta| meta.len());
        let file = crate::fsutil::reserve(&path, now.saturating_add(TOKEN_ROOM))
            .map_err(|source| StoreError::NoRoom { path, source })?;
        if let Some(backend) = login.refresh_token_in {
            Keyring { backend }
                .set_with_room(&self.key, refresh_token, KEYRING_ROOM)
                .map_err(StoreError::NoKeyringRoom)?;
        }
        Ok(Room { file })
    }

    /// Saves a login with its new secrets: into `keyring` when given (keyring entries first, so
    /// a rotated refresh token is never lost), else into the file. A secret not given stays as
    /// `login` says. Clears a removal marker.
    pub fn save(
        &self,
        login: &mut StoredLogin,
        secrets: Secrets,
        keyring: Option<Keyring>,
    ) -> Result<Saved, StoreError> {
        self.save_in(None, login, secrets, keyring)
    }

    /// [`Locked::save`], into the room [`Locked::reserve`] set aside when given. A keyring that
    /// refuses a new refresh token twice does not lose it: it goes into the file instead, but
    /// under `credential-store: keyring`, which keeps secrets out of files ([`Saved::refresh_token`]
    /// says which).
    pub fn save_in(
        &self,
        room: Option<Room>,
        login: &mut StoredLogin,
        secrets: Secrets,
        keyring: Option<Keyring>,
    ) -> Result<Saved, StoreError> {
        let mut kept = Kept::AsAsked;
        if let Some(token) = secrets.refresh_token {
            (login.refresh_token, login.refresh_token_in) = match keyring {
                None => (Some(token), None),
                Some(keyring) => match keyring.set_retrying(&self.key, &token) {
                    Ok(()) => (None, Some(keyring.backend)),
                    Err(err) => {
                        // What it holds (a spent token) must not outlive the login's file.
                        let _ = keyring.delete(&self.key);
                        let in_file = self.store.setting != CredentialStore::Keyring;
                        kept = if in_file {
                            Kept::InFile(err)
                        } else {
                            Kept::Lost(err)
                        };
                        (in_file.then_some(token), None)
                    }
                },
            };
        }
        if let Some(secret) = secrets.client_secret {
            let account = client_secret_account(&self.key);
            (login.client_secret, login.client_secret_in) = place(secret, keyring, &account)?;
        }
        let path = self.path();
        let text = serde_json::to_vec_pretty(login).map_err(|err| StoreError::Write {
            path: path.clone(),
            source: std::io::Error::other(err),
        })?;
        match room {
            Some(room) => room.file.commit(&text),
            None => write_own_file(&path, &text),
        }
        .map_err(|source| StoreError::Write {
            path: path.clone(),
            source,
        })?;
        let _ = std::fs::remove_file(self.store.removed_marker(&self.key));
        Ok(Saved {
            path,
            refresh_token: kept,
        })
    }

    /// Takes the refresh token out of the login, file and keyring, and keeps the rest: a
    /// refresh token the provider refused after a refresh that may have rotated it is never
    /// sent again, and the access token serves until it expires.
    pub fn drop_refresh_token(&self, login: &StoredLogin) -> Result<StoredLogin, StoreError> {
        let mut kept = login.clone();
        if let Some(backend) = kept.refresh_token_in.take() {
            let _ = Keyring { backend }.delete(&self.key);
        }
        kept.refresh_token = None;
        self.save(&mut kept, Secrets::default(), None)?;
        Ok(kept)
    }

    /// Removes the login: its file and keyring entries, with a marker saying why. (The lock
    /// file stays: another process may be waiting on it.)
    pub fn forget(&self, login: Option<&StoredLogin>, why: Removed) {
        let marker = match why {
            Removed::LoggedOut => "logged-out\n",
            Removed::Expired => "expired\n",
        };
        let _ = write_own_file(&self.store.removed_marker(&self.key), marker.as_bytes());
        if why == Removed::LoggedOut {
            self.store.keep_claims(&self.key, None);
        }
        let _ = std::fs::remove_file(self.path());
        if let Some(login) = login {
            if let Some(backend) = login.refresh_token_in {
                let _ = Keyring { backend }.delete(&self.key);
            }
            if let Some(backend) = login.client_secret_in {
                let _ = Keyring { backend }.delete(&client_secret_account(&self.key));
            }
        }
    }
}

/// Puts one secret in the keyring (returning its backend) or leaves it for the file.
fn place(
    secret: Secret,
    keyring: Option<Keyring>,
    account: &str,
) -> Result<(Option<Secret>, Option<Backend>), StoreError> {
    match keyring {
        Some(keyring) => {
            keyring.set(account, &secret)?;
            Ok((None, Some(keyring.backend)))
        }
        None => Ok((Some(secret), None)),
    }
}

pub(crate) fn load_file(path: &Path) -> Result<Option<StoredLogin>, StoreError> {
    let bytes = match crate::fsutil::read_own_file(path) {
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
    fn a_damaged_file_names_itself_but_not_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = LoginStore::at(dir.path().to_path_buf(), CredentialStore::File);
        std::fs::write(store.path_of("k"), "{\"access_token\": \"secret-value\"").unwrap();
        let err = store.read("k").unwrap_err().to_string();
        assert!(err.contains("k.json") && err.contains("damaged"), "{err}");
        assert!(!err.contains("secret-value"));
        assert!(store.read("absent").unwrap().is_none());
    }

    #[test]
    fn a_default_scope_is_granted_by_any_scope_of_its_api() {
        let login: StoredLogin = serde_json::from_value(serde_json::json!({
            "provider": "corp", "kind": "azure", "client_id": "c", "flow": "device",
            "scopes": ["api://nmp/.default", "api://other/read"],
            "token_type": "Bearer", "access_token": "t", "expires_at": null,
            "refresh_token": null, "id_token": null, "obtained_at": 0,
            "granted_scope": "api://nmp/platform:read openid profile",
        }))
        .unwrap();
        assert_eq!(login.scopes_not_granted(), ["api://other/read"]);
    }

    #[test]
    fn the_hash_is_stable() {
        assert_eq!(stable_hash("my corp/1\nc\n"), 0x7202_e968_e761_c21c);
    }
}
