//! A context's login, for programs: [`Session::load`], then [`Session::access_token`] or
//! [`Session::authorize`]. A thin wrapper over the login use cases (`logins`): the CLI's
//! `auth token` and a program using this library share the stored login, its lock and its
//! rules; within one process every `Session` of a login shares one access token, so many tasks
//! cause one refresh.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let session = tokenctl_core::Session::load(None)?;
//! let http = reqwest::Client::new();
//! let reply = session.authorize(http.get("https://api.example.com/v1/me")).await?.send().await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use crate::clock::SystemClock;
use crate::config::{self, ClusterEntry, ConfigSet};
use crate::flows::LoginError;
use crate::logins::{Freshness, Handout, LoginStore, Logins, ProviderAuthority, StoredLogin, Want};
pub use crate::logins::{LIBRARY_MIN_VALID, SessionError};
use crate::secret::Secret;

/// The in-memory copy of one login, shared by every `Session` of the process that uses it, with
/// its file's modification time when it was read.
type LoginCell = tokio::sync::Mutex<Option<(StoredLogin, Option<std::time::SystemTime>)>>;
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

/// A context's login for a program: fresh access tokens, renewed as the CLI renews them.
pub struct Session {
    logins: Logins<ProviderAuthority>,
    context: String,
    cluster: Option<ClusterEntry>,
    timeout: Duration,
    path: PathBuf,
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
        let set = Arc::new(ConfigSet::load_valid(paths)?);
        let store = LoginStore::default_location(set.credential_store()?);
        let logins = Logins::new(
            set.clone(),
            store,
            Arc::new(SystemClock),
            ProviderAuthority::new(set.clone(), request_timeout),
        )
        .with_request_timeout(request_timeout);
        let wanted = context
            .map(str::to_owned)
            .or_else(|| std::env::var(config::CONTEXT_ENV).ok());
        let found = logins.find(wanted.as_deref())?;
        let path = logins.store().path_of(&found.key);
        let context = found.context.clone();
        let cluster = set
            .context(&context)
            .and_then(|c| c.cluster.as_deref())
            .and_then(|name| set.cluster(name))
            .cloned();
        Ok(Session {
            shared: shared_login(&path),
            logins,
            context,
            cluster,
            timeout: request_timeout,
            path,
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

    /// An HTTP client for the context's cluster, trusting it as kubectl does (its
    /// certificate authority). Add the token with [`Session::authorize`].
    pub fn cluster_client(&self) -> Result<reqwest::Client, SessionError> {
        let builder = self.cluster_client_builder()?.timeout(self.timeout);
        builder
            .build()
            .map_err(|err| self.trust_error(err.to_string()))
    }

    /// [`Session::cluster_client`] before it is built and without its request timeout: for
    /// streams that outlive one (a watch, a proxied port-forward).
    pub fn cluster_client_builder(&self) -> Result<reqwest::ClientBuilder, SessionError> {
        let cluster = self.cluster.as_ref().ok_or_else(|| {
            SessionError::Unusable(format!("context {:?} has no cluster", self.context))
        })?;
        crate::flows::cluster_trust(cluster)
            .apply(reqwest::Client::builder())
            .map_err(|reason| self.trust_error(reason))
    }

    fn trust_error(&self, reason: String) -> SessionError {
        let whose = self
            .cluster
            .as_ref()
            .map(|cluster| crate::flows::cluster_trust(cluster).whose)
            .unwrap_or_default();
        SessionError::Login(LoginError::from(crate::http::HttpError::Trust {
            whose,
            reason,
        }))
    }

    /// An access token valid for at least a minute, renewed first when needed. One renewal
    /// serves every task and every `Session` of this login in the process, and the login's lock
    /// keeps other processes (`tokenctl auth token`, kubectl) from renewing it twice.
    pub async fn access_token(&self) -> Result<Secret, SessionError> {
        self.token(Handout::Access).await
    }

    /// The token the context's `cluster-token` names for its cluster (the access token unless
    /// it says `id`), valid for at least a minute, renewed as [`Session::access_token`] is.
    pub async fn cluster_token(&self) -> Result<Secret, SessionError> {
        self.token(Handout::Cluster).await
    }

    async fn token(&self, handout: Handout) -> Result<Secret, SessionError> {
        let kind = self.logins.find(Some(&self.context))?.token_kind(handout);
        let mut cached = self.shared.lock().await;
        // One stat per call: a logout (the file gone) or another process's login or renewal
        // (the file changed) is seen at once, never served from memory.
        let modified = std::fs::symlink_metadata(&self.path)
            .and_then(|meta| meta.modified())
            .ok();
        if let Some((login, read_at)) = cached.as_ref()
            && modified.is_some()
            && *read_at == modified
            && Freshness::LIBRARY.holds(login, kind, self.logins.now())
            && let Some(token) = login.token(kind)
        {
            return Ok(token.clone());
        }
        match self
            .logins
            .usable(
                Some(&self.context),
                Want::fresh(Freshness::LIBRARY, handout),
            )
            .await
        {
            Ok(usable) => {
                if let Some(warning) = &usable.warning {
                    tracing::warn!("{warning}");
                }
                let token = usable.token().clone();
                let modified = std::fs::symlink_metadata(&self.path)
                    .and_then(|meta| meta.modified())
                    .ok();
                *cached = Some((usable.login, modified));
                Ok(token)
            }
            Err(err) => {
                *cached = None;
                Err(err)
            }
        }
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
