//! A context's login, for programs: [`Session::load`], then [`Session::access_token`] or
//! [`Session::authorize`]. The CLI's `auth token` and a program using this library share the
//! stored login, its lock and its refresh rules; within one process every `Session` of a login
//! shares one access token, so many tasks cause one refresh.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let session = tokenctl_core::Session::load(None)?;
//! let http = reqwest::Client::new();
//! let reply = session.authorize(http.get("https://api.example.com/v1/me")).await?.send().await?;
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use crate::config::{self, ClusterEntry, ConfigError, ConfigSet, ContextEntry, ProviderEntry};
use crate::http::HttpClient;
use crate::lifecycle::{self, BoxError, FreshError};
use crate::login::{self, LoginError};
use crate::oauth::{self, Grant, TokenSet};
use crate::secret::Secret;
use crate::store::{FileStore, StoreError, StoredLogin, login_key};

/// A library session refreshes when less than this remains (the CLI uses 5 minutes).
pub const LIBRARY_MIN_VALID: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No usable login, and no way to get one without a person (the CLI exits with code 4).
    #[error("{0}")]
    LoginRequired(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Refresh(FreshError),
    /// The context cannot name a provider.
    #[error("{0}")]
    Unusable(String),
}

impl SessionError {
    pub fn is_login_required(&self) -> bool {
        matches!(self, SessionError::LoginRequired(_))
    }
}

/// The provider and context a command works with.
pub struct Selection<'a> {
    pub context: Option<&'a ContextEntry>,
    pub provider: Provided<'a>,
}

/// Where a provider comes from: the contexts file, or the cluster (`provider: discover`).
#[derive(Clone, Copy)]
pub enum Provided<'a> {
    Configured(&'a ProviderEntry),
    Discover(&'a ClusterEntry),
}

impl<'a> Provided<'a> {
    /// The provider of a stored login, by the name it was stored under.
    pub fn of_login(set: &'a ConfigSet, provider: &str) -> Result<Provided<'a>, String> {
        match (set.provider(provider), provider.strip_prefix("discover:")) {
            (Some(entry), _) => Ok(Provided::Configured(entry)),
            (None, Some(cluster)) => set
                .cluster(cluster)
                .map(Provided::Discover)
                .ok_or_else(|| format!("cluster {cluster:?} is no longer defined")),
            (None, None) => Err(format!("provider {provider:?} is no longer defined")),
        }
    }

    /// The name logins are stored under.
    pub fn name(&self) -> String {
        match self {
            Provided::Configured(entry) => entry.name.clone(),
            Provided::Discover(cluster) => login::discovered_name(&cluster.name),
        }
    }

    /// The provider entry: as configured, or as the cluster describes it (network).
    pub async fn entry(&self, http: &HttpClient) -> Result<Cow<'a, ProviderEntry>, LoginError> {
        match self {
            Provided::Configured(entry) => Ok(Cow::Borrowed(*entry)),
            Provided::Discover(cluster) => {
                Ok(Cow::Owned(login::discover_cluster(http, cluster).await?))
            }
        }
    }

    /// The client ID, when known without asking the cluster.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Provided::Configured(entry) => entry.fields.get("client-id").and_then(|v| v.as_str()),
            Provided::Discover(_) => None,
        }
    }
}

/// The context (`wanted`, else TOKENCTL_CONTEXT, else current-context) and its provider; or,
/// with `provider`, that provider (and the context, when it uses it).
pub fn select<'a>(
    set: &'a ConfigSet,
    wanted: Option<&str>,
    provider: Option<&str>,
) -> Result<Selection<'a>, SessionError> {
    if let Some(name) = provider {
        let entry = set
            .provider(name)
            .ok_or_else(|| set.not_found(config::Section::Providers, name))?;
        let context = set
            .resolve(wanted)
            .ok()
            .map(|r| r.context)
            .filter(|c| c.provider.as_deref() == Some(name));
        return Ok(Selection {
            context,
            provider: Provided::Configured(entry),
        });
    }
    let resolved = set.resolve(wanted)?;
    let provider = match (resolved.provider, resolved.cluster) {
        (Some(entry), _) => Provided::Configured(entry),
        (None, Some(cluster)) => Provided::Discover(cluster),
        (None, None) => {
            return Err(SessionError::Unusable(format!(
                "context {:?} has neither a provider nor a cluster to ask",
                resolved.context.name
            )));
        }
    };
    Ok(Selection {
        context: Some(resolved.context),
        provider,
    })
}

/// A context's stored login and where it is.
pub struct FoundLogin {
    /// The context's name ("" when none applies).
    pub context: String,
    pub login: StoredLogin,
    pub path: PathBuf,
}

/// The stored login a context uses: the one with exactly its scopes, else the newest for the
/// same provider and client.
pub fn find_login(
    set: &ConfigSet,
    store: &FileStore,
    wanted: Option<&str>,
) -> Result<FoundLogin, SessionError> {
    let selection = select(set, wanted, None)?;
    let context = selection.context.map_or("", |c| c.name.as_str()).to_owned();
    let provider = selection.provider.name();
    let login = match (&selection.provider, selection.provider.client_id()) {
        (Provided::Configured(entry), Some(client_id)) => {
            let scopes = login::requested_scopes(entry, selection.context, &[]);
            match store.load(&login_key(&provider, client_id, &scopes))? {
                Some(login) => Some(login),
                None => store.newest_for(&provider, Some(client_id))?,
            }
        }
        _ => store.newest_for(&provider, None)?,
    };
    match login {
        Some(login) => {
            let path = store.path_of(&lifecycle::key_of(&login));
            Ok(FoundLogin {
                context,
                login,
                path,
            })
        }
        None => Err(SessionError::LoginRequired(format!(
            "not logged in to {provider} (context {context:?}): run `tokenctl auth login`"
        ))),
    }
}

/// Asks the login's provider for new tokens with its refresh token. Every dialect gets the
/// scope again (Entra ID requires it); the dialect's wire shapes the request (Run:ai: JSON).
pub async fn refresh_tokens(
    http: &HttpClient,
    set: &ConfigSet,
    login: &StoredLogin,
    refresh_token: Secret,
) -> Result<TokenSet, BoxError> {
    let provided = Provided::of_login(set, &login.provider)?;
    let entry = provided.entry(http).await?;
    let target = login::resolve(http, &entry, None, login.flow, &login.scopes, None).await?;
    let url = target
        .endpoints
        .token
        .clone()
        .ok_or_else(|| format!("provider {:?} has no token endpoint", target.provider))?;
    let grant = Grant::RefreshToken(refresh_token);
    Ok(oauth::request_token(http, target.wire.as_ref(), &target.request(&url, &grant)).await?)
}

/// The login, refreshed at the provider when its access token does not stay valid for
/// `min_valid` (or when forced), under the login's lock; "log in again" said as such.
pub async fn fresh_login(
    http: &HttpClient,
    set: &ConfigSet,
    store: &FileStore,
    context: &str,
    login: StoredLogin,
    min_valid: Duration,
    force: bool,
) -> Result<StoredLogin, SessionError> {
    let result =
        lifecycle::ensure_fresh(store, login, min_valid, force, |login, token| async move {
            refresh_tokens(http, set, &login, token).await
        })
        .await;
    match result {
        Ok(login) => Ok(login),
        Err(FreshError::NoRefreshToken(state)) => Err(SessionError::LoginRequired(format!(
            "the access token for context {context:?} {state} and there is no refresh token: run `tokenctl auth login`"
        ))),
        Err(FreshError::SessionExpired) => Err(SessionError::LoginRequired(format!(
            "session expired: run `tokenctl auth login` (context {context:?})"
        ))),
        Err(err) => Err(SessionError::Refresh(err)),
    }
}

/// The in-memory copy of one login, shared by every `Session` of the process that uses it.
type LoginCell = tokio::sync::Mutex<Option<StoredLogin>>;
type SharedLogin = Arc<LoginCell>;

/// Live shared logins by login file; entries go away with their last `Session`.
static SHARED: LazyLock<Mutex<HashMap<PathBuf, Weak<LoginCell>>>> = LazyLock::new(Default::default);

fn shared_login(path: &PathBuf) -> SharedLogin {
    let mut live = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    live.retain(|_, weak| weak.strong_count() > 0);
    if let Some(shared) = live.get(path).and_then(Weak::upgrade) {
        return shared;
    }
    let shared = SharedLogin::default();
    live.insert(path.clone(), Arc::downgrade(&shared));
    shared
}

/// A context's login for a program: fresh access tokens, refreshed as the CLI does.
pub struct Session {
    set: Arc<ConfigSet>,
    context: String,
    cluster: Option<ClusterEntry>,
    store: FileStore,
    path: PathBuf,
    http: HttpClient,
    shared: SharedLogin,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("context", &self.context)
            .field("login", &self.path)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session of a context (`None`: TOKENCTL_CONTEXT, else current-context) from the
    /// contexts files tokenctl reads (TOKENCTL_CONFIG, else the default), with the logins
    /// `tokenctl auth login` stored.
    pub fn load(context: Option<&str>) -> Result<Session, SessionError> {
        Session::load_from(
            &config::config_paths(None),
            context,
            crate::http::DEFAULT_REQUEST_TIMEOUT,
        )
    }

    /// [`Session::load`] with given contexts files and request timeout.
    pub fn load_from(
        paths: &[PathBuf],
        context: Option<&str>,
        request_timeout: Duration,
    ) -> Result<Session, SessionError> {
        let set = ConfigSet::load_valid(paths)?;
        let store = FileStore::default_location();
        let wanted = context
            .map(str::to_owned)
            .or_else(|| std::env::var(config::CONTEXT_ENV).ok());
        let found = find_login(&set, &store, wanted.as_deref())?;
        let cluster = set
            .context(&found.context)
            .and_then(|c| c.cluster.as_deref())
            .and_then(|name| set.cluster(name))
            .cloned();
        let http = HttpClient::new(request_timeout).map_err(LoginError::from)?;
        let shared = shared_login(&found.path);
        Ok(Session {
            context: found.context,
            cluster,
            store,
            path: found.path,
            http,
            shared,
            set: Arc::new(set),
        })
    }

    /// The context's name.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The context's cluster, when it has one (its server, CA settings).
    pub fn cluster(&self) -> Option<&ClusterEntry> {
        self.cluster.as_ref()
    }

    /// An HTTP client for the context's cluster: it trusts the cluster's certificate authority
    /// (kubeconfig's meaning) besides the system's roots. Add the token with [`Session::authorize`].
    pub fn cluster_client(&self) -> Result<reqwest::Client, SessionError> {
        let cluster = self.cluster.as_ref().ok_or_else(|| {
            SessionError::Unusable(format!("context {:?} has no cluster", self.context))
        })?;
        let builder = reqwest::Client::builder().timeout(self.http.timeout());
        crate::http::trust_cluster(builder, cluster)
            .and_then(|builder| {
                builder
                    .build()
                    .map_err(|err| crate::http::HttpError::Trust {
                        cluster: cluster.name.clone(),
                        reason: err.to_string(),
                    })
            })
            .map_err(|err| SessionError::Login(LoginError::from(err)))
    }

    /// An access token valid for at least a minute, refreshed first when needed. One refresh
    /// serves every task and every `Session` of this login in the process, and the login's lock
    /// keeps other processes (`tokenctl auth token`, kubectl) from refreshing it twice.
    pub async fn access_token(&self) -> Result<Secret, SessionError> {
        let mut cached = self.shared.lock().await;
        if let Some(login) = cached.as_ref()
            && lifecycle::is_fresh(login, LIBRARY_MIN_VALID)
        {
            return Ok(login.access_token.clone());
        }
        // Read the file again: another process may have refreshed or logged out meanwhile.
        let Some(login) = crate::store::load_file(&self.path)? else {
            *cached = None;
            return Err(SessionError::LoginRequired(format!(
                "not logged in (context {:?}): run `tokenctl auth login`",
                self.context
            )));
        };
        let login = fresh_login(
            &self.http,
            &self.set,
            &self.store,
            &self.context,
            login,
            LIBRARY_MIN_VALID,
            false,
        )
        .await;
        let login = match login {
            Ok(login) => login,
            Err(err) => {
                *cached = None;
                return Err(err);
            }
        };
        let token = login.access_token.clone();
        *cached = Some(login);
        Ok(token)
    }

    /// `request` with `Authorization: Bearer` and a fresh access token.
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, SessionError> {
        let token = self.access_token().await?;
        Ok(request.bearer_auth(token.expose()))
    }
}
