//! A login's one owner, from sign-in to logout. Every entry point — the CLI's commands, its
//! hot path, kubectl's exec credential, `api`, plugins, the library [`crate::Session`] and a
//! host CLI's `auth` group — calls these use cases; none decides on its own which login a
//! context uses, when a token counts as fresh, how a login is renewed or where its secrets go.
//!
//! - [`Logins::find`]: which login a context uses ([`identity`]);
//! - [`Logins::cached`]: the hot path — a fresh stored token, no lock, keyring or network;
//! - [`Logins::usable`]: a token valid for at least what is asked, refreshed or re-acquired
//!   (logins that need no person) under the login's lock, "log in again" said as such;
//! - [`Logins::sign_in`], [`Logins::logout`], [`Logins::status`].
//!
//! What talks to the provider is injected ([`Authority`]; [`ProviderAuthority`] for real), as is
//! the clock, so that these rules are tested without a network or a sleep.
#![doc(hidden)]

mod authority;
pub mod identity;
mod required;
pub mod store;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use authority::ProviderAuthority;
pub use identity::{Identity, Principal, Provided, SelectError, Selection, select};
pub use required::LoginRequired;
use store::{Locked, Room};
pub use store::{LoginStore, Place, Removed, Secrets, StoreError, StoredLogin};

use crate::clock::Clock;
use crate::config::{ConfigError, ConfigSet, TokenKind};
use crate::flows::BrowserOpener;
use crate::flows::{LoginError, LoginUi, Method, RevokeError, requested_scopes};
use crate::jwt;
use crate::oauth::TokenSet;
use crate::provider::Flow;
use crate::secret::Secret;

/// The CLI refreshes when less than this remains (`--min-valid`'s default).
pub const DEFAULT_MIN_VALID: Duration = Duration::from_secs(300);
/// A library session refreshes when less than this remains.
pub const LIBRARY_MIN_VALID: Duration = Duration::from_secs(60);
/// A token counts as valid while its expiry is more than this far ahead: the time a request
/// that carries it takes, and some clock skew. There is no grace after it.
pub const VALID_MARGIN: Duration = Duration::from_secs(30);
/// A refresh of a token still valid (an early one) waits at most this long (or the request
/// timeout, when shorter): the stored token serves meanwhile.
pub const EARLY_REFRESH_TIMEOUT: Duration = Duration::from_secs(5);
/// After an early refresh failed to reach the provider, later ones are skipped this long.
pub const EARLY_REFRESH_BACKOFF: Duration = Duration::from_secs(30);

/// Any error the provider side can end in.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// When an access token counts as fresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    pub min_valid: Duration,
    /// `--min-valid` given: honoured as it is. Otherwise tokens that live shorter than twice
    /// `min_valid` count as fresh for half their lifetime (else every command would refresh a
    /// token the provider only ever issues short).
    pub literal: bool,
}

impl Freshness {
    /// The CLI's rule without `--min-valid`: 5 minutes, or half the lifetime of short tokens.
    pub const CLI: Freshness = Freshness {
        min_valid: DEFAULT_MIN_VALID,
        literal: false,
    };
    /// The library's rule: a minute, or half the lifetime of short tokens.
    pub const LIBRARY: Freshness = Freshness {
        min_valid: LIBRARY_MIN_VALID,
        literal: false,
    };

    /// Whether a token may still be handed out at all ([`VALID_MARGIN`]).
    pub const VALID: Freshness = Freshness {
        min_valid: VALID_MARGIN,
        literal: true,
    };

    /// Valid for at least `min_valid`, exactly (`--min-valid` given).
    pub fn at_least(min_valid: Duration) -> Freshness {
        Freshness {
            min_valid,
            literal: true,
        }
    }

    fn window(&self, obtained_at: i64, expires_at: Option<i64>) -> i64 {
        let asked = i64::try_from(self.min_valid.as_secs()).unwrap_or(i64::MAX);
        match (self.literal, expires_at) {
            (false, Some(at)) => asked.min(at.saturating_sub(obtained_at).max(0) / 2),
            _ => asked,
        }
    }

    /// When the login's access token stops counting as fresh (no stated expiry: never), for a
    /// program that keeps a token fresh for another (`tokenctl exec`).
    pub fn renew_at(&self, login: &StoredLogin) -> Option<i64> {
        login
            .expires_at
            .map(|at| at.saturating_sub(self.window(login.obtained_at, login.expires_at)))
    }

    /// Whether the login's token of `kind` stays valid long enough (no stated expiry: valid;
    /// no ID token: not).
    pub fn holds(&self, login: &StoredLogin, kind: TokenKind, now: i64) -> bool {
        login.lifespan(kind).is_some_and(|(issued, expires_at)| {
            expires_at.is_none_or(|at| at.saturating_sub(self.window(issued, expires_at)) > now)
        })
    }
}

/// Which token a command hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handout {
    /// The access token: `auth token`, `auth env`, `exec`, the git and docker helpers.
    Access,
    /// The ID token: `auth token --id-token`.
    Id,
    /// What the context's `cluster-token` names: kubectl, `api`, plugins, `proxy`.
    Cluster,
}

/// One context and its stored login, for lists ([`Logins::summaries`]).
#[derive(Clone, Debug)]
pub struct ContextLogin {
    pub context: String,
    /// The key of the login it uses, when its entries name one.
    pub login_key: Option<String>,
    /// Every context that uses the same login, itself included, in file order (one list per
    /// login).
    pub shared_with: Arc<[String]>,
    pub login: Option<StoredLogin>,
    /// Who the login speaks for: `Some(None)` when its tokens name nobody.
    pub identity: Option<Option<String>>,
    /// Seconds until the access token expires (negative: expired).
    pub expires_in: Option<i64>,
}

/// A token ready to hand out, with the login it comes from.
#[derive(Clone, Debug)]
pub struct Usable {
    /// The context's name ("" when none applies).
    pub context: String,
    pub login: StoredLogin,
    /// Which of the login's tokens [`Usable::token`] is.
    pub kind: TokenKind,
    /// One line the person should read: why a token due for renewal is handed out as it is
    /// (the provider did not answer), or what a keyring's refusal of the new refresh token cost.
    pub warning: Option<String>,
}

impl Usable {
    /// The token to hand out.
    pub fn token(&self) -> &Secret {
        self.login
            .token(self.kind)
            .unwrap_or(&self.login.access_token)
    }

    /// When [`Usable::token`] expires.
    pub fn expires_at(&self) -> Option<i64> {
        self.login.lifespan(self.kind).and_then(|(_, at)| at)
    }
}

/// What a command wants of a login.
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub freshness: Freshness,
    /// False with `--no-auto-refresh`: the stored token as it is, or an error.
    pub auto_refresh: bool,
    /// Renew even a fresh token (`auth refresh`).
    pub force: bool,
    /// The token handed out, whose freshness counts.
    pub handout: Handout,
}

impl Want {
    pub fn fresh(freshness: Freshness, handout: Handout) -> Want {
        Want {
            freshness,
            auto_refresh: true,
            force: false,
            handout,
        }
    }
}

/// What the provider gave, and who gave it.
#[derive(Clone, Debug)]
pub struct Minted {
    pub tokens: TokenSet,
    pub kind: String,
    pub client_id: String,
    pub issuer: Option<String>,
    pub token_endpoint: Option<Url>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    pub flow: Flow,
}

/// Why an ID token due for renewal is handed out as it is.
const NO_ID_ON_REFRESH: &str =
    "the identity provider returns no ID token on refresh, so this one is not renewed";

/// A `.tokenctl` that does not count (not allowed, changed since, others can write it) never
/// lets a token of `current-context` be handed out in its place: in a directory pinned to dev,
/// a changed file must not make a command act on prod. `--context` or `TOKENCTL_CONTEXT` says
/// which.
fn refuse_ignored_directory(wanted: Option<&str>) -> Result<(), SessionError> {
    if wanted.is_some() {
        return Ok(());
    }
    match crate::config::here::current() {
        crate::config::here::Here::Ignored { path, reason } => {
            let dir = path.parent().unwrap_or(path);
            Err(SessionError::Unusable(format!(
                "{} does not count ({reason}), so no context's token is handed out in its place: run `{}` in {}, or give --context",
                path.display(),
                crate::program::run("config allow"),
                dir.display()
            )))
        }
        _ => Ok(()),
    }
}

/// How a refresh ended.
enum Refreshed {
    Minted(Box<Minted>),
    /// The provider could not be reached in time: the stored token, still valid, serves.
    AsItIs(Box<Usable>),
    Failed(AuthorityError),
}

/// What a step of [`Logins::usable`] ends in: the token to hand out, or what the next step
/// needs.
enum Step<T> {
    Done(Box<Usable>),
    Next(T),
}

/// Whether the login's token may be handed out as it is when it cannot be renewed: it is
/// valid, and the command asked for no more (`--min-valid`, `auth refresh`).
fn may_hand_out_as_it_is(login: &StoredLogin, kind: TokenKind, want: Want, now: i64) -> bool {
    !want.force && !want.freshness.literal && Freshness::VALID.holds(login, kind, now)
}

/// Why the provider side gave no tokens.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// The provider no longer accepts the refresh token (`invalid_grant`), or wants the person
    /// back (`interaction_required`: `why`, the refusal as the provider put it, and Entra ID's
    /// Conditional Access `claims` challenge for the next sign-in).
    #[error("the identity provider no longer accepts the refresh token")]
    Rejected {
        why: Option<String>,
        claims: Option<String>,
    },
    /// The configuration (or the cluster's discovery) names another provider than the one
    /// that minted the login: nothing was sent.
    #[error("the provider changed since the login ({from} → {to})")]
    Changed { from: String, to: String },
    /// A login that needs no person cannot be had: no client secret to ask with.
    #[error("{0}")]
    NoSecret(String),
    /// The ID token a refresh returned failed a check (`reason` names it): the new tokens are
    /// not used; the refresh token the reply rotated to, if any, must be kept.
    #[error("{reason}")]
    Unverified {
        rotated: Option<Secret>,
        reason: String,
    },
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Failed(BoxError),
}

impl AuthorityError {
    /// Whether the provider could not be reached or failed itself (transport, timeout, 5xx),
    /// as opposed to answering no.
    pub fn is_outage(&self) -> bool {
        match self {
            AuthorityError::Login(LoginError::OAuth(err)) => matches!(
                err.as_ref(),
                crate::oauth::OAuthError::Http(_)
                    | crate::oauth::OAuthError::Reply { status: 500.., .. }
                    | crate::oauth::OAuthError::Provider { status: 500.., .. }
            ),
            _ => false,
        }
    }
}

/// After a sign-in that failed or was abandoned, sign-ins that nobody attends (kubectl in a
/// GUI) are not started again for this long: a client that retries opens no more tabs.
pub const SIGN_IN_COOLDOWN: Duration = Duration::from_secs(300);

/// Why a sign-in starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `auth login`: waits for another process's sign-in to the same login, then signs in.
    Asked,
    /// A command found no usable login (kubectl, `api`): one sign-in per login across
    /// processes, and a login that appeared meanwhile serves. Nobody attends it when there is
    /// no terminal (a GUI client): then it is refused for [`SIGN_IN_COOLDOWN`] after a failed
    /// sign-in, and for an issuer a cluster names that this login never signed in to.
    Missing { attended: bool },
}

/// A sign-in by a person or a program: how it proves who it is, and what it shows a person.
pub struct SignIn<'a> {
    pub trigger: Trigger,
    pub flow: Flow,
    pub method: Method,
    /// `--scope`: scopes to ask for instead of the configured ones.
    pub scopes: &'a [String],
    /// A client secret given on stdin (kept to renew the login without a person).
    pub client_secret: Option<Secret>,
    /// A claims challenge to send with the sign-in: [`Logins::sign_in`] sets the one the
    /// provider sent with its last refusal of a refresh (Entra ID's Conditional Access).
    pub claims: Option<String>,
    /// Parameters of this sign-in only (`--prompt`, `--login-hint`, `--acr-values`, …), laid
    /// over `authorize-params`.
    pub params: Vec<(String, String)>,
    pub ui: &'a dyn LoginUi,
    pub opener: &'a dyn BrowserOpener,
}

/// The provider side of the use cases: sign in, refresh, acquire without a person, revoke.
/// Every method sends only to the provider that minted the login it is given.
pub trait Authority: Send + Sync {
    fn sign_in(
        &self,
        selection: &Selection<'_>,
        how: SignIn<'_>,
    ) -> impl Future<Output = Result<Minted, AuthorityError>> + Send;

    fn refresh(
        &self,
        login: &StoredLogin,
        refresh_token: Secret,
    ) -> impl Future<Output = Result<Minted, AuthorityError>> + Send;

    /// A new login that needs no person, by `flow`: client credentials, or an exchange of the
    /// context's subject token.
    fn acquire(
        &self,
        selection: &Selection<'_>,
        flow: Flow,
        client_secret: Option<Secret>,
    ) -> impl Future<Output = Result<Minted, AuthorityError>> + Send;

    fn revoke(
        &self,
        login: &StoredLogin,
        refresh_token: Secret,
    ) -> impl Future<Output = Result<(), RevokeError>> + Send;
}

/// Why no usable login could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// No usable login, and no way to get one without a person (the CLI exits with code 4).
    #[error("{}", why.message(context))]
    LoginRequired {
        /// The context the login is for ("" when none applies).
        context: String,
        /// Why.
        why: LoginRequired,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error("{0}")]
    Refresh(BoxError),
    /// The context cannot be served as asked.
    #[error("{0}")]
    Unusable(String),
}

impl SessionError {
    pub fn is_login_required(&self) -> bool {
        matches!(self, SessionError::LoginRequired { .. })
    }
}

impl From<SelectError> for SessionError {
    fn from(err: SelectError) -> SessionError {
        match err {
            SelectError::Config(err) => SessionError::Config(err),
            SelectError::Unusable(message) => SessionError::Unusable(message),
        }
    }
}

/// The login a context uses: the context, what it asks for, and its key in the store.
#[derive(Clone, Debug)]
pub struct Found<'a> {
    pub selection: Selection<'a>,
    /// The context's name ("" when none applies).
    pub context: String,
    pub identity: Identity,
    pub key: String,
}

impl Found<'_> {
    /// That a person must sign in for this context, and why.
    fn login_required(&self, why: LoginRequired) -> SessionError {
        SessionError::LoginRequired {
            context: self.context.clone(),
            why,
        }
    }

    fn needs_no_person(&self) -> bool {
        self.identity.needs_no_person()
    }

    /// The one rule for which token goes where: the cluster gets what the context's
    /// `cluster-token` names (the access token by default).
    pub fn token_kind(&self, handout: Handout) -> TokenKind {
        match handout {
            Handout::Access => TokenKind::Access,
            Handout::Id => TokenKind::Id,
            Handout::Cluster => self
                .selection
                .context
                .and_then(|c| c.cluster_token)
                .unwrap_or_default(),
        }
    }

    /// The login as handed out for `kind`, or why it holds no ID token worth handing out:
    /// none at all, or a stale one that refreshes do not renew.
    /// `login`'s token of `kind`, unless it is an ID token that is missing or no longer valid.
    fn handed(
        &self,
        login: StoredLogin,
        kind: TokenKind,
        now: i64,
    ) -> Result<Usable, SessionError> {
        if kind == TokenKind::Id {
            let cluster = self
                .selection
                .context
                .is_some_and(|c| c.cluster_token == Some(TokenKind::Id));
            let or_access = if cluster {
                ", or set `cluster-token: access` for it"
            } else {
                ""
            };
            if login.id_token.is_none() {
                return Err(SessionError::Unusable(format!(
                    "the login of context {:?} holds no ID token (its {} sign-in gave none){or_access}",
                    self.context, login.flow,
                )));
            }
            if !Freshness::VALID.holds(&login, kind, now) {
                return Err(self.login_required(LoginRequired::IdTokenExpired {
                    not_refreshed: login.id_token_not_refreshed,
                    access_would_do: cluster,
                }));
            }
        }
        Ok(Usable {
            context: self.context.clone(),
            login,
            kind,
            warning: None,
        })
    }

    /// `login`'s token, valid but due for renewal, handed out as it is because `why`.
    fn handed_as_it_is(
        &self,
        login: StoredLogin,
        kind: TokenKind,
        now: i64,
        why: &str,
    ) -> Result<Usable, SessionError> {
        let left = login
            .lifespan(kind)
            .and_then(|(_, at)| at)
            .map(|at| format!(", valid for {}", crate::clock::human_duration(at - now)))
            .unwrap_or_default();
        let mut usable = self.handed(login, kind, now)?;
        usable.warning = Some(format!(
            "{why}: handing out the stored token of context {:?}{left}",
            self.context
        ));
        Ok(usable)
    }
}

/// A sign-in's screens, and the store it watches: a login stored meanwhile under its key (other
/// than the one `seen`) ends a device poll.
struct WatchingStore<'a, A> {
    ui: &'a dyn LoginUi,
    logins: &'a Logins<A>,
    key: &'a str,
    seen: Option<i64>,
}

impl<A: Send + Sync> LoginUi for WatchingStore<'_, A> {
    fn device_code(&self, authorization: &crate::oauth::DeviceAuthorization) {
        self.ui.device_code(authorization);
    }
    fn waiting(&self, remaining: Duration) {
        self.ui.waiting(remaining);
    }
    fn browser_url(&self, url: &Url) {
        self.ui.browser_url(url);
    }
    fn notice(&self, message: &str) {
        self.ui.notice(message);
    }
    fn pasted_lines(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Secret>> {
        self.ui.pasted_lines()
    }
    fn can_paste(&self) -> bool {
        self.ui.can_paste()
    }
    fn signed_in_elsewhere(&self) -> bool {
        self.ui.signed_in_elsewhere()
            || self
                .logins
                .obtained_at(self.key)
                .is_some_and(|at| Some(at) != self.seen)
    }
}

/// A login that was signed in and stored.
#[derive(Debug)]
pub struct SignedIn {
    pub context: String,
    pub login: StoredLogin,
    pub path: PathBuf,
    /// Where the refresh token rests, when there is one.
    pub refresh_token_in: Option<Place>,
    /// The identity of the login this one replaced, when it was another.
    pub replaced: Option<String>,
    /// Every context that uses this login.
    pub used_by: Vec<String>,
    /// Refresh tokens fall back to files here for the first time (said once, loudly).
    pub first_file_fallback: bool,
    /// What the keyring's refusal of the refresh token cost, when it refused.
    pub warning: Option<String>,
}

/// What a sign-in gave.
#[derive(Debug)]
pub enum SignInOutcome {
    Stored(Box<SignedIn>),
    /// [`Trigger::Missing`]: another process signed in while this one waited.
    Existing(Box<StoredLogin>),
    /// `--no-store` or `credential-store: none`: the tokens, kept nowhere.
    NotStored(Box<TokenSet>),
}

/// One login removed by `auth logout`.
#[derive(Debug)]
pub struct LoggedOut {
    pub provider: String,
    /// Ok(true): revoked at the provider; Ok(false): there was no refresh token to revoke.
    pub revoked: Result<bool, RevokeError>,
    /// Other contexts that used it (logged out too).
    pub also: Vec<String>,
    /// A login that needs no person: not acquired again until `auth login`.
    pub renewable: bool,
    /// The command that brings it back (`tokenctl --context svc auth login`).
    pub login_again: String,
}

/// `auth status`: a context's login and everything about it but its tokens.
#[derive(Debug)]
pub struct Status {
    pub context: String,
    pub login: StoredLogin,
    pub path: PathBuf,
    pub refresh_token_in: Option<Place>,
    /// Every context that uses this login.
    pub used_by: Vec<String>,
}

/// Who a login speaks for (email, upn, name, sub), for messages: what its ID token names, else
/// what its access token names.
pub fn identity_of(id_token: Option<&Secret>, access_token: &Secret) -> Option<String> {
    let named = |token: &Secret| {
        jwt::decode(token.expose())
            .ok()
            .and_then(|t| t.identity().map(str::to_owned))
    };
    id_token.and_then(named).or_else(|| named(access_token))
}

/// The contexts of `used_by` other than `context`: those that share its login.
pub fn others<'a>(used_by: &'a [String], context: &str) -> Vec<&'a str> {
    used_by
        .iter()
        .map(String::as_str)
        .filter(|name| *name != context)
        .collect()
}

/// The use cases over one contexts file set, store, clock and provider side.
pub struct Logins<A> {
    set: Arc<ConfigSet>,
    store: LoginStore,
    clock: Arc<dyn Clock>,
    authority: A,
    early_refresh_timeout: Duration,
}

impl<A> Logins<A> {
    pub fn new(
        set: Arc<ConfigSet>,
        store: LoginStore,
        clock: Arc<dyn Clock>,
        authority: A,
    ) -> Logins<A> {
        Logins {
            set,
            store,
            clock,
            authority,
            early_refresh_timeout: EARLY_REFRESH_TIMEOUT,
        }
    }

    /// An early refresh waits no longer than the requests' own timeout, when it is shorter
    /// than [`EARLY_REFRESH_TIMEOUT`].
    pub fn with_request_timeout(mut self, timeout: Duration) -> Logins<A> {
        self.early_refresh_timeout = EARLY_REFRESH_TIMEOUT.min(timeout);
        self
    }

    pub fn set(&self) -> &ConfigSet {
        &self.set
    }

    pub fn store(&self) -> &LoginStore {
        &self.store
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Which login a context uses (`wanted`, else TOKENCTL_CONTEXT's or current-context).
    pub fn find(&self, wanted: Option<&str>) -> Result<Found<'_>, SessionError> {
        self.found(select(&self.set, wanted, None)?, None)
    }

    /// The login a context would use, as stored: no network, no keyring, no lock (for lists
    /// of contexts). `None` when there is none, or the context cannot be used.
    pub fn peek(&self, context: &str) -> Option<StoredLogin> {
        let found = self.find(Some(context)).ok()?;
        self.stored(&found).ok().flatten()
    }

    /// Every context with its stored login, as lists show them (`get-contexts`, `status
    /// --all`): no network, keyring or lock, and contexts that share a login read it once (a
    /// large file is mostly such).
    pub fn summaries(&self, now: i64) -> Vec<ContextLogin> {
        let keys = identity::login_keys(&self.set);
        // One list per login, shared by its contexts: a file is mostly contexts sharing few.
        let groups: HashMap<&str, Arc<[String]>> = identity::login_groups(&keys)
            .into_iter()
            .map(|(key, names)| (key, names.iter().map(|name| (*name).to_owned()).collect()))
            .collect();
        let key_of: HashMap<&str, &str> = keys
            .iter()
            .map(|(name, key)| (*name, key.as_str()))
            .collect();
        let mut read: HashMap<&str, Option<StoredLogin>> = HashMap::new();
        self.set
            .contexts()
            .into_iter()
            .map(|(_, context)| {
                let name = context.name.as_str();
                let key = key_of.get(name).copied();
                let login =
                    key.and_then(|key| read.entry(key).or_insert_with(|| self.peek(name)).clone());
                let identity = login
                    .as_ref()
                    .map(|login| identity_of(login.id_token.as_ref(), &login.access_token));
                ContextLogin {
                    context: name.to_owned(),
                    login_key: key.map(str::to_owned),
                    shared_with: key
                        .and_then(|key| groups.get(key))
                        .cloned()
                        .unwrap_or_else(|| Arc::from([])),
                    expires_in: login
                        .as_ref()
                        .and_then(|login| login.expires_at)
                        .map(|at| at.saturating_sub(now)),
                    identity,
                    login,
                }
            })
            .collect()
    }

    fn found<'s>(
        &'s self,
        selection: Selection<'s>,
        flow: Option<Flow>,
    ) -> Result<Found<'s>, SessionError> {
        let identity = Identity::of(&selection, flow)?;
        Ok(Found {
            context: selection.context.map_or("", |c| c.name.as_str()).to_owned(),
            key: identity.key(),
            identity,
            selection,
        })
    }

    /// The flow `auth login` uses without `--flow`: the context's, else the dialect's first.
    pub fn sign_in_flow(
        &self,
        wanted: Option<&str>,
        provider: Option<&str>,
    ) -> Result<Flow, SessionError> {
        let selection = select(&self.set, wanted, provider)?;
        Ok(Identity::of(&selection, None)?.flow)
    }

    /// The selected context's `browser` command, else its provider's, as written.
    pub fn sign_in_browser(
        &self,
        wanted: Option<&str>,
        provider: Option<&str>,
    ) -> Result<Option<String>, SessionError> {
        let selection = select(&self.set, wanted, provider)?;
        let browser = match &selection.provider {
            Provided::Configured(entry) => crate::flows::sign_in_setting(
                &entry.as_config(),
                selection.context,
                &crate::provider::fields::BROWSER,
            ),
            // A provider a cluster names has no fields of its own.
            Provided::Discover(_) => selection.context.and_then(|c| c.browser.as_deref()),
        };
        Ok(browser
            .filter(|text| !text.trim().is_empty())
            .map(str::to_owned))
    }

    /// A word about the selected provider's configuration before a sign-in: an inline client
    /// secret ([`ProviderEntry::inline_secret_warning`]).
    pub fn sign_in_warning(
        &self,
        wanted: Option<&str>,
        provider: Option<&str>,
    ) -> Result<Option<String>, SessionError> {
        Ok(match select(&self.set, wanted, provider)?.provider {
            Provided::Configured(entry) => entry.inline_secret_warning(),
            Provided::Discover(_) => None,
        })
    }

    /// The contexts that use the login stored under `key`, in file order.
    pub fn used_by(&self, key: &str) -> Vec<String> {
        identity::login_keys(&self.set)
            .into_iter()
            .filter(|(_, k)| k == key)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The context's stored login, checked against what it asks for now: a login whose
    /// provider changed since it was minted is not handed out.
    pub fn stored(&self, found: &Found<'_>) -> Result<Option<StoredLogin>, SessionError> {
        let Some(login) = self.store.read(&found.key)? else {
            return Ok(None);
        };
        if let Some((from, to)) = found.identity.changed_since(&login) {
            return Err(changed(&found.context, &from, &to));
        }
        Ok(Some(login))
    }

    /// The hot path: the context's stored login when its token is fresh — no lock, keyring or
    /// network. `None` sends the caller the long way ([`Logins::usable`]), which explains.
    pub fn cached(
        &self,
        wanted: Option<&str>,
        freshness: Freshness,
        handout: Handout,
    ) -> Option<Usable> {
        let found = self.find(wanted).ok()?;
        let login = self.stored(&found).ok()??;
        let kind = found.token_kind(handout);
        if !freshness.holds(&login, kind, self.now()) {
            return None;
        }
        found.handed(login, kind, self.now()).ok()
    }

    fn not_logged_in(&self, found: &Found<'_>) -> SessionError {
        found.login_required(LoginRequired::NotLoggedIn {
            provider: found.identity.provider.clone(),
            removed: self.store.removed(&found.key),
        })
    }

    /// When the login stored under `key` was obtained, if one is.
    fn obtained_at(&self, key: &str) -> Option<i64> {
        self.store.read(key).ok().flatten().map(|l| l.obtained_at)
    }

    /// Fails when even a fresh token cannot last as long as asked, once that lifetime is known.
    fn check_meetable(
        &self,
        login: &StoredLogin,
        freshness: Freshness,
    ) -> Result<(), SessionError> {
        let asked = i64::try_from(freshness.min_valid.as_secs()).unwrap_or(i64::MAX);
        match login.lifetime {
            Some(lifetime) if freshness.literal && lifetime < asked => {
                Err(SessionError::Unusable(format!(
                    "--min-valid {} cannot be met: the access tokens of {} live {}",
                    crate::clock::human_duration(asked),
                    login.provider,
                    crate::clock::human_duration(lifetime)
                )))
            }
            _ => Ok(()),
        }
    }
}

/// A stored login from what the provider gave for `identity` at `now`, without secrets: the
/// store places those.
fn new_login(identity: &Identity, minted: &Minted, now: i64) -> StoredLogin {
    let tokens = &minted.tokens;
    let expires_at = tokens.lifetime.map(|l| l.expires_at(now));
    StoredLogin {
        provider: identity.provider.clone(),
        kind: minted.kind.clone(),
        client_id: minted.client_id.clone(),
        scopes: minted.scopes.clone(),
        flow: minted.flow,
        principal: Some(identity.principal),
        login_name: identity.login.clone(),
        issuer: minted.issuer.clone(),
        token_endpoint: minted.token_endpoint.clone(),
        token_type: tokens.token_type.clone(),
        access_token: tokens.access_token.clone(),
        expires_at,
        lifetime: expires_at.map(|at| at.saturating_sub(now)),
        refresh_token: None,
        refresh_token_in: None,
        client_secret: None,
        client_secret_in: None,
        id_token: tokens.id_token.clone(),
        id_token_not_refreshed: false,
        granted_scope: tokens.scope.clone(),
        obtained_at: now,
    }
}

/// "the provider of context X changed since you logged in (A → B): run …".
fn changed(context: &str, from: &str, to: &str) -> SessionError {
    SessionError::LoginRequired {
        context: context.to_owned(),
        why: LoginRequired::ProviderChanged {
            from: from.to_owned(),
            to: to.to_owned(),
        },
    }
}

impl<A: Authority> Logins<A> {
    /// A login whose access token is valid for what `want` asks: the stored one, else
    /// refreshed with the refresh token the issuer that minted it gave, else — for logins that
    /// need no person — acquired again; all under the login's lock, so that many processes
    /// cause one request. Returns the token to hand out (`want.handout`), with its login.
    pub async fn usable(&self, wanted: Option<&str>, want: Want) -> Result<Usable, SessionError> {
        refuse_ignored_directory(wanted)?;
        let found = self.find(wanted)?;
        let kind = found.token_kind(want.handout);
        let seen = self.stored_or_adopted(&found).await?;
        if let Some(usable) = self.serve_without_renewing(&found, seen.as_ref(), (kind, want))? {
            return Ok(usable);
        }
        let (locked, current) = match self
            .lock_and_read_again(&found, seen.as_ref(), (kind, want))
            .await?
        {
            Step::Done(usable) => return Ok(*usable),
            Step::Next(next) => next,
        };
        let current = current.as_ref();
        let (minted, room) = match self
            .refresh_kept(&found, &locked, current, (kind, want))
            .await?
        {
            Step::Done(usable) => return Ok(*usable),
            Step::Next(next) => next,
        };
        let renewed = minted.is_some();
        let minted = match minted {
            Some(minted) => minted,
            None => {
                let secret = match current {
                    Some(login) => locked.client_secret(login)?,
                    None => None,
                };
                let acquired =
                    self.authority
                        .acquire(&found.selection, found.identity.flow, secret);
                match self
                    .renew(&found, current, (kind, want), acquired, false)
                    .await
                {
                    Refreshed::Minted(minted) => *minted,
                    Refreshed::AsItIs(usable) => return Ok(*usable),
                    Refreshed::Failed(err) => return Err(authority_error(&found, err)),
                }
            }
        };
        self.keep(
            &found,
            &locked,
            current,
            (minted, renewed, room),
            (kind, want),
        )
    }

    /// The first step, with no lock: the stored token when it serves as it is (fresh; an ID
    /// token that cannot be renewed; an early refresh that failed moments ago), or why no
    /// renewal may be tried (`--no-auto-refresh`, logged out, a person must sign in).
    fn serve_without_renewing(
        &self,
        found: &Found<'_>,
        seen: Option<&StoredLogin>,
        (kind, want): (TokenKind, Want),
    ) -> Result<Option<Usable>, SessionError> {
        let now = self.now();
        match seen {
            Some(login) => {
                if !want.force && want.freshness.holds(login, kind, now) {
                    return found.handed(login.clone(), kind, now).map(Some);
                }
                // No ID token to renew: a refresh would spend the refresh token for nothing.
                let id_unrenewable = login.id_token.is_none()
                    || (login.id_token_not_refreshed
                        && want.freshness.holds(login, TokenKind::Access, now));
                if kind == TokenKind::Id && !want.force && id_unrenewable {
                    return found
                        .handed_as_it_is(login.clone(), kind, now, NO_ID_ON_REFRESH)
                        .map(Some);
                }
                self.check_meetable(login, want.freshness)?;
                let backoff = i64::try_from(EARLY_REFRESH_BACKOFF.as_secs()).unwrap_or(0);
                if may_hand_out_as_it_is(login, kind, want, now)
                    && let Some(at) = self.store.early_refresh_failed(&found.key)
                    && (0..backoff).contains(&now.saturating_sub(at))
                {
                    return found
                        .handed_as_it_is(
                            login.clone(),
                            kind,
                            now,
                            &format!(
                                "the identity provider did not answer a refresh {} ago",
                                crate::clock::human_duration(now.saturating_sub(at))
                            ),
                        )
                        .map(Some);
                }
                if !want.auto_refresh {
                    return Err(found.login_required(LoginRequired::AutoRefreshOff {
                        expiry: crate::clock::expiry_phrase(login.expires_at, now),
                    }));
                }
            }
            None => {
                let logged_out = self.store.removed(&found.key) == Some(Removed::LoggedOut);
                if !found.needs_no_person() || logged_out || !want.auto_refresh {
                    return Err(self.not_logged_in(found));
                }
            }
        }
        Ok(None)
    }

    /// Takes the login's lock and reads it again: another process may have renewed it, signed
    /// in, or logged out meanwhile.
    async fn lock_and_read_again<'s>(
        &'s self,
        found: &Found<'_>,
        seen: Option<&StoredLogin>,
        (kind, want): (TokenKind, Want),
    ) -> Result<Step<(Locked<'s>, Option<StoredLogin>)>, SessionError> {
        let locked = self
            .store
            .lock(&found.key, "refreshing the same login")
            .await?;
        let current = match locked.load()? {
            Some(login) => match found.identity.changed_since(&login) {
                Some((from, to)) => return Err(changed(&found.context, &from, &to)),
                None => Some(login),
            },
            None => None,
        };
        let now = self.now();
        if let Some(current) = &current
            && seen.map(|s| s.obtained_at) != Some(current.obtained_at)
            && want.freshness.holds(current, kind, now)
        {
            // Another process renewed (or signed in) while this one waited: its token serves.
            return found
                .handed(current.clone(), kind, now)
                .map(|usable| Step::Done(Box::new(usable)));
        }
        if seen.is_some() && current.is_none() && !found.needs_no_person() {
            // Removed while this one waited: logged out, or its refresh token was refused.
            return Err(self.not_logged_in(found));
        }
        if current.is_none() && locked.removed() == Some(Removed::LoggedOut) {
            return Err(self.not_logged_in(found));
        }
        Ok(Step::Next((locked, current)))
    }

    /// Renews with the refresh token kept, room for the result set aside first; handles a
    /// refusal (the login removed, or kept without its refresh token when a refresh is in
    /// doubt) and a reply that fails its checks. `None`: no refresh was possible, and the
    /// login may be acquired anew.
    async fn refresh_kept(
        &self,
        found: &Found<'_>,
        locked: &Locked<'_>,
        current: Option<&StoredLogin>,
        (kind, want): (TokenKind, Want),
    ) -> Result<Step<(Option<Minted>, Option<Room>)>, SessionError> {
        let now = self.now();
        let refresh_token = match current {
            Some(login) => locked.refresh_token(login)?,
            None => None,
        };
        // Room for what the refresh brings, set aside before it spends the refresh token.
        let mut room = match (current, &refresh_token) {
            (Some(login), Some(token)) => Some(locked.reserve(login, token)?),
            _ => None,
        };
        let minted = match (current, refresh_token) {
            (Some(login), Some(token)) => match self
                .renew(
                    found,
                    Some(login),
                    (kind, want),
                    self.authority.refresh(login, token),
                    true,
                )
                .await
            {
                Refreshed::Minted(minted) => Some(*minted),
                Refreshed::AsItIs(usable) => return Ok(Step::Done(usable)),
                Refreshed::Failed(AuthorityError::Rejected { why, .. })
                    if self.store.refresh_in_doubt(&found.key) =>
                {
                    return self
                        .refused_in_doubt(found, locked, login, why, (kind, want))
                        .map(|usable| Step::Done(Box::new(usable)));
                }
                Refreshed::Failed(AuthorityError::Unverified { rotated, reason }) => {
                    return Err(unverified(
                        found,
                        locked,
                        login,
                        rotated,
                        &reason,
                        room.take(),
                    ));
                }
                Refreshed::Failed(AuthorityError::Rejected { why, claims }) => {
                    locked.forget(Some(login), Removed::Expired);
                    self.store.keep_claims(&found.key, claims.as_deref());
                    if !found.needs_no_person() {
                        return Err(authority_error(
                            found,
                            AuthorityError::Rejected { why, claims: None },
                        ));
                    }
                    None
                }
                Refreshed::Failed(err) => return Err(authority_error(found, err)),
            },
            (Some(login), None)
                if !found.needs_no_person() && may_hand_out_as_it_is(login, kind, want, now) =>
            {
                return found.handed_as_it_is(
                    login.clone(),
                    kind,
                    now,
                    &format!(
                        "the login of context {:?} has no refresh token; sign in again before it expires: run `{}`",
                        found.context,
                        crate::program::run_in(&found.context, "auth login")
                    ),
                )
                .map(|usable| Step::Done(Box::new(usable)));
            }
            (Some(login), None) if !found.needs_no_person() => {
                return Err(found.login_required(LoginRequired::NoRefreshToken {
                    expiry: crate::clock::expiry_phrase(login.expires_at, now),
                }));
            }
            _ => None,
        };
        Ok(Step::Next((minted, room)))
    }

    /// A refresh token refused after a refresh timed out once it was sent: that refresh was
    /// carried out, the provider replaced the refresh token then, and refuses the one kept now.
    /// It is never sent again; the access token serves while it is valid.
    fn refused_in_doubt(
        &self,
        found: &Found<'_>,
        locked: &Locked<'_>,
        login: &StoredLogin,
        why: Option<String>,
        (kind, want): (TokenKind, Want),
    ) -> Result<Usable, SessionError> {
        let now = self.now();
        self.store.mark_refresh_in_doubt(&found.key, None);
        let kept = locked.drop_refresh_token(login)?;
        if may_hand_out_as_it_is(&kept, kind, want, now) {
            return found.handed_as_it_is(
                kept,
                kind,
                now,
                &format!(
                    "{}; sign in again before it expires: run `{}`",
                    required::in_doubt(&found.context, why.as_deref()),
                    crate::program::run_in(&found.context, "auth login")
                ),
            );
        }
        Err(found.login_required(LoginRequired::RefusedInDoubt { why }))
    }

    /// Saves what was minted (a refresh keeps what the reply leaves out) into the room set
    /// aside, and hands the token out; a save that fails after a rotation says what is lost.
    fn keep(
        &self,
        found: &Found<'_>,
        locked: &Locked<'_>,
        current: Option<&StoredLogin>,
        (minted, renewed, mut room): (Minted, bool, Option<Room>),
        (kind, want): (TokenKind, Want),
    ) -> Result<Usable, SessionError> {
        let now = self.now();
        let mut next = new_login(&found.identity, &minted, now);
        let secrets = Secrets {
            refresh_token: minted.tokens.refresh_token.clone(),
            client_secret: None,
        };
        let keyring = match current {
            Some(previous) => {
                // A refresh keeps what the reply leaves out (Entra ID, PingFederate send no
                // scope, ID token or new refresh token); kept secrets stay where they rest.
                if renewed {
                    next.scopes.clone_from(&previous.scopes);
                    next.flow = previous.flow;
                    next.issuer = previous.issuer.clone().or(next.issuer);
                    next.token_endpoint = previous.token_endpoint.clone().or(next.token_endpoint);
                    if next.id_token.is_none() {
                        next.id_token.clone_from(&previous.id_token);
                        next.id_token_not_refreshed = previous.id_token.is_some();
                    }
                    if next.granted_scope.is_none() {
                        next.granted_scope.clone_from(&previous.granted_scope);
                    }
                    if secrets.refresh_token.is_none() {
                        next.refresh_token.clone_from(&previous.refresh_token);
                        next.refresh_token_in = previous.refresh_token_in;
                    }
                }
                next.client_secret.clone_from(&previous.client_secret);
                next.client_secret_in = previous.client_secret_in;
                next.obtained_at = now.max(previous.obtained_at.saturating_add(1));
                kept_keyring(previous)
            }
            None => self.store.keyring_for_new()?,
        };
        let rotated = renewed && secrets.refresh_token.is_some();
        let saved = locked.save_in(room.take(), &mut next, secrets, keyring);
        let refusal = saved
            .as_ref()
            .ok()
            .and_then(|saved| keyring_refusal(saved, &found.context));
        if let Err(err) = saved {
            // Where the new refresh token went before the file failed: the keyring (the next
            // command renews from it), or nowhere (the keyring refused it too).
            let in_keyring = keyring.filter(|_| next.refresh_token_in.is_some());
            return Err(match (rotated, in_keyring) {
                (false, _) => err.into(),
                (true, Some(keyring)) => SessionError::Unusable(format!(
                    "{err}; the new refresh token is kept in the {}, so the login is not lost: make room and run the command again",
                    keyring.backend.describe()
                )),
                // The provider spent the old refresh token when it issued this one: a login
                // that could only fail later is taken out now, and the person told why.
                (true, None) => {
                    locked.forget(current, Removed::Expired);
                    SessionError::Unusable(format!(
                        "{err}. The provider replaced the refresh token of context {context:?} and the new one could not be kept, so this login is lost: make room, then run `{}`",
                        crate::program::run_in(&found.context, "auth login"),
                        context = found.context
                    ))
                }
            });
        }
        if let Err(err) = self.check_meetable(&next, want.freshness) {
            return Err(match refusal {
                Some(refusal) => SessionError::Unusable(format!("{err}; and {refusal}")),
                None => err,
            });
        }
        if refusal.is_some() {
            let mut usable = found.handed(next, kind, now)?;
            usable.warning = refusal;
            return Ok(usable);
        }
        if kind == TokenKind::Id
            && next.id_token_not_refreshed
            && !want.freshness.holds(&next, kind, now)
        {
            return found.handed_as_it_is(next, kind, now, NO_ID_ON_REFRESH);
        }
        found.handed(next, kind, now)
    }

    /// Renews `login` by `renewal` (a refresh, or acquiring anew). An early renewal (the token
    /// still valid) waits at most `early_refresh_timeout`, and when it cannot reach the
    /// provider the stored token is handed out as it is; a refresh that times out after it
    /// was sent (`rotates`) is left in doubt.
    async fn renew(
        &self,
        found: &Found<'_>,
        login: Option<&StoredLogin>,
        (kind, want): (TokenKind, Want),
        renewal: impl std::future::Future<Output = Result<Minted, AuthorityError>>,
        rotates: bool,
    ) -> Refreshed {
        let now = self.now();
        let Some(login) = login.filter(|login| may_hand_out_as_it_is(login, kind, want, now))
        else {
            return match renewal.await {
                Ok(minted) => self.refreshed(found, minted),
                Err(err) => Refreshed::Failed(err),
            };
        };
        let why = match tokio::time::timeout(self.early_refresh_timeout, renewal).await {
            Ok(Ok(minted)) => return self.refreshed(found, minted),
            Ok(Err(err)) if err.is_outage() => err.to_string(),
            Ok(Err(err)) => return Refreshed::Failed(err),
            Err(_) => {
                if rotates {
                    // Sent, perhaps: the provider may carry it out and replace the refresh
                    // token the login keeps.
                    self.store.mark_refresh_in_doubt(&found.key, Some(now));
                }
                format!(
                    "the identity provider did not answer a refresh within {}",
                    crate::clock::human_duration(
                        i64::try_from(self.early_refresh_timeout.as_secs()).unwrap_or(0)
                    )
                )
            }
        };
        self.store.record_early_refresh(&found.key, Some(now));
        match found.handed_as_it_is(login.clone(), kind, now, &why) {
            Ok(usable) => Refreshed::AsItIs(Box::new(usable)),
            Err(err) => Refreshed::Failed(AuthorityError::Failed(err.into())),
        }
    }

    fn refreshed(&self, found: &Found<'_>, minted: Minted) -> Refreshed {
        self.store.record_early_refresh(&found.key, None);
        self.store.mark_refresh_in_doubt(&found.key, None);
        Refreshed::Minted(Box::new(minted))
    }

    /// The context's stored login, or one an earlier version stored for it, adopted.
    async fn stored_or_adopted(
        &self,
        found: &Found<'_>,
    ) -> Result<Option<StoredLogin>, SessionError> {
        match self.stored(found)? {
            Some(login) => Ok(Some(login)),
            None => self.adopt(found).await,
        }
    }

    /// Revokes a login's refresh token (the provider side sends it only to the issuer that
    /// minted it), then removes the login whatever the provider said.
    async fn revoke_and_forget(
        &self,
        locked: &store::Locked<'_>,
        login: &StoredLogin,
    ) -> Result<bool, RevokeError> {
        let revoked = match locked.refresh_token(login) {
            Ok(Some(token)) => self.authority.revoke(login, token).await.map(|()| true),
            _ => Ok(false),
        };
        locked.forget(Some(login), Removed::LoggedOut);
        revoked
    }

    /// A login stored before identities, adopted on first use when it is unmistakably this
    /// identity's: same provider, client and kind of principal, no `login:` name or subject
    /// source (both came later), and an issuer the configuration names.
    async fn adopt(&self, found: &Found<'_>) -> Result<Option<StoredLogin>, SessionError> {
        let (Provided::Configured(entry), None, None) = (
            found.selection.provider,
            &found.identity.login,
            &found.identity.subject,
        ) else {
            return Ok(None);
        };
        let requested = requested_scopes(entry, found.selection.context, &[]);
        let legacy = found.identity.legacy_key(&requested);
        let Some(old) = self.store.read(&legacy).ok().flatten() else {
            return Ok(None);
        };
        if old.principal.is_some()
            || old.client_id != found.identity.client_id
            || Principal::of(old.flow) != found.identity.principal
        {
            return Ok(None);
        }
        let old_lock = self.store.lock(&legacy, "adopting the same login").await?;
        let locked = self
            .store
            .lock(&found.key, "adopting the same login")
            .await?;
        let Some(old) = old_lock.load()? else {
            return Ok(None);
        };
        let secrets = Secrets {
            refresh_token: old_lock.refresh_token(&old)?,
            client_secret: None,
        };
        let keyring = old
            .refresh_token_in
            .map(|backend| crate::os_keyring::Keyring { backend });
        let mut adopted = old.clone();
        adopted.principal = Some(found.identity.principal);
        adopted.issuer = found.identity.issuer.clone();
        adopted.token_endpoint = found.identity.token_endpoint.clone();
        locked.save(&mut adopted, secrets, keyring)?;
        old_lock.forget(Some(&old), Removed::Expired);
        tracing::info!(context = %found.context, "adopted a login stored by an earlier version");
        Ok(Some(adopted))
    }

    /// Whether a login can be kept as the settings ask (`credential-store: keyring` needs a
    /// keyring that answers): asked before a person is prompted for anything.
    pub fn ready_to_store(&self, keep: bool) -> Result<(), SessionError> {
        if keep {
            self.store.keyring_for_new()?;
        }
        Ok(())
    }

    /// Signs in (a person, or the application itself) and stores the login for the context
    /// (or `--provider`), unless `keep` is false (`--no-store`).
    pub async fn sign_in(
        &self,
        wanted: Option<&str>,
        provider: Option<&str>,
        how: SignIn<'_>,
        keep: bool,
    ) -> Result<SignInOutcome, SessionError> {
        let keep = keep && self.store.setting() != crate::config::CredentialStore::None;
        let selection = select(&self.set, wanted, provider)?;
        let found = self.found(selection, Some(how.flow))?;
        // Where secrets will go is known before anyone signs in: `credential-store: keyring`
        // without a keyring stops here.
        let keyring = if keep {
            self.store.keyring_for_new()?
        } else {
            None
        };
        let given_secret = how.client_secret.clone();
        let (trigger, flow) = (how.trigger, how.flow);
        let unattended = trigger == Trigger::Missing { attended: false };
        if unattended {
            self.may_sign_in_unattended(&found)?;
        }
        let seen = self.obtained_at(&found.key);
        // One person signs in to a login at a time, across processes.
        let person = flow.opens_a_page();
        let _signing = match keep && person {
            true => Some(
                self.store
                    .sign_in_lock(&found.key, |pid| {
                        how.ui.notice(&format!(
                            "waiting for the sign-in in another tokenctl{}",
                            pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
                        ))
                    })
                    .await?,
            ),
            false => None,
        };
        let stored = self.obtained_at(&found.key);
        if matches!(trigger, Trigger::Missing { .. })
            && let Some(login) = self.signed_in_meanwhile(&found, (seen, stored), unattended)?
        {
            return Ok(SignInOutcome::Existing(Box::new(login)));
        }
        // A device poll stops when a login for the same identity is stored meanwhile (by a
        // sign-in of a flow that takes no sign-in lock, a password at a terminal, say).
        let watching = WatchingStore {
            ui: how.ui,
            logins: self,
            key: &found.key,
            seen: stored,
        };
        let how = SignIn {
            ui: &watching,
            claims: how.claims.or_else(|| self.store.claims(&found.key)),
            ..how
        };
        let minted = match self.authority.sign_in(&found.selection, how).await {
            Ok(minted) => minted,
            Err(AuthorityError::Login(LoginError::SignedInElsewhere)) => {
                if let Some(login) = self.store.read(&found.key)? {
                    return Ok(SignInOutcome::Existing(Box::new(login)));
                }
                return Err(authority_error(
                    &found,
                    AuthorityError::Login(LoginError::SignedInElsewhere),
                ));
            }
            Err(err) => {
                if person && keep {
                    self.store.record_sign_in(&found.key, Some(self.now()));
                }
                return Err(authority_error(&found, err));
            }
        };
        if person && keep {
            self.store.record_sign_in(&found.key, None);
        }
        // The challenge is met, or was not the provider's to make of this sign-in.
        self.store.keep_claims(&found.key, None);
        if !keep {
            return Ok(SignInOutcome::NotStored(Box::new(minted.tokens)));
        }
        self.store_signed_in(&found, minted, given_secret, keyring)
            .await
    }

    /// For a sign-in a command starts when it finds no login: the login another process stored
    /// while this one waited for the sign-in lock, if any; else whether this one may still sign
    /// in unattended (the sign-in waited for may have failed meanwhile).
    fn signed_in_meanwhile(
        &self,
        found: &Found<'_>,
        (seen, stored): (Option<i64>, Option<i64>),
        unattended: bool,
    ) -> Result<Option<StoredLogin>, SessionError> {
        if stored.is_some()
            && stored != seen
            && let Some(login) = self.store.read(&found.key)?
        {
            return Ok(Some(login));
        }
        if unattended {
            self.may_sign_in_unattended(found)?;
        }
        Ok(None)
    }

    /// Stores a sign-in's tokens under the login's lock (its client secret too, when one was
    /// given), and says what it replaced and where its refresh token rests.
    async fn store_signed_in(
        &self,
        found: &Found<'_>,
        minted: Minted,
        given_secret: Option<Secret>,
        keyring: Option<crate::os_keyring::Keyring>,
    ) -> Result<SignInOutcome, SessionError> {
        let locked = self.store.lock(&found.key, "saving the same login").await?;
        let previous = locked.load().ok().flatten();
        let now = self.now();
        let mut login = new_login(&found.identity, &minted, now);
        if let Some(previous) = &previous {
            login.obtained_at = now.max(previous.obtained_at.saturating_add(1));
        }
        let secrets = Secrets {
            refresh_token: minted.tokens.refresh_token.clone(),
            client_secret: given_secret,
        };
        let saved = locked.save(&mut login, secrets, keyring)?;
        drop(locked);
        let warning = keyring_refusal(&saved, &found.context);
        let path = saved.path;
        let who = |login: &StoredLogin| identity_of(login.id_token.as_ref(), &login.access_token);
        let replaced = previous
            .as_ref()
            .and_then(who)
            .filter(|before| who(&login).as_ref() != Some(before));
        let first_file_fallback = login.refresh_token.is_some()
            && keyring.is_none()
            && self.store.setting() == crate::config::CredentialStore::Auto
            && self.store.first_file_fallback();
        Ok(SignInOutcome::Stored(Box::new(SignedIn {
            context: found.context.clone(),
            refresh_token_in: place_of(&login, &path),
            used_by: self.used_by(&found.key),
            replaced,
            first_file_fallback,
            warning,
            path,
            login,
        })))
    }

    /// Whether a sign-in nobody attends may start: not within [`SIGN_IN_COOLDOWN`] of a failed
    /// one, and not to an issuer a cluster names that this login never signed in to (a cluster
    /// could name any page).
    fn may_sign_in_unattended(&self, found: &Found<'_>) -> Result<(), SessionError> {
        if let Some(at) = self.store.failed_sign_in(&found.key) {
            let ago = self.now().saturating_sub(at);
            let cooldown = i64::try_from(SIGN_IN_COOLDOWN.as_secs()).unwrap_or(i64::MAX);
            if (0..cooldown).contains(&ago) {
                let secs = |n: i64| std::time::Duration::from_secs(n.unsigned_abs());
                return Err(found.login_required(LoginRequired::RecentlyFailed {
                    ago: secs(ago),
                    wait: secs(cooldown - ago),
                }));
            }
        }
        if matches!(found.selection.provider, Provided::Discover(_))
            && self.store.read(&found.key)?.is_none()
            && self.store.removed(&found.key).is_none()
        {
            return Err(found.login_required(LoginRequired::NeverSignedInAtCluster));
        }
        Ok(())
    }

    /// `auth logout`: revokes the context's refresh token at the issuer that minted it, where
    /// it can, then removes the login — under its lock, so a refresh running meanwhile cannot
    /// bring it back. A login that needs no person is not acquired again until `auth login`.
    pub async fn logout(&self, wanted: Option<&str>) -> Result<Option<LoggedOut>, SessionError> {
        let found = self.find(wanted)?;
        let locked = self
            .store
            .lock(&found.key, "logging out of the same login")
            .await?;
        let login = locked.load()?;
        let Some(login) = login else {
            if found.needs_no_person() {
                locked.forget(None, Removed::LoggedOut);
            }
            return Ok(None);
        };
        let revoked = self.revoke_and_forget(&locked, &login).await;
        let used_by = self.used_by(&found.key);
        Ok(Some(LoggedOut {
            provider: login.provider,
            revoked,
            also: others(&used_by, &found.context)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            renewable: found.needs_no_person(),
            login_again: crate::program::run_in(&found.context, "auth login"),
        }))
    }

    /// A consumer was refused with the context's access token (git's `erase` after a 401): the
    /// stored token stops counting as fresh, so that the next request refreshes or acquires
    /// one; the refresh token stays. `refused` is the token that was refused: a newer stored
    /// one is left alone.
    pub async fn distrust_access_token(
        &self,
        wanted: Option<&str>,
        refused: Option<&str>,
    ) -> Result<bool, SessionError> {
        let found = self.find(wanted)?;
        let locked = self
            .store
            .lock(&found.key, "marking the access token refused")
            .await?;
        let Some(mut login) = locked.load()? else {
            return Ok(false);
        };
        if refused.is_some_and(|token| token != login.access_token.expose()) {
            return Ok(false);
        }
        login.expires_at = Some(self.now().saturating_sub(1));
        locked.save(&mut login, store::Secrets::default(), None)?;
        Ok(true)
    }

    /// `auth logout --all`: every stored login.
    pub async fn logout_all(&self) -> Result<Vec<LoggedOut>, SessionError> {
        let mut out = Vec::new();
        for (key, _) in self.store.all()? {
            let locked = self
                .store
                .lock(&key, "logging out of the same login")
                .await?;
            let Some(login) = locked.load()? else {
                continue;
            };
            let revoked = self.revoke_and_forget(&locked, &login).await;
            out.push(LoggedOut {
                renewable: login.principal == Some(Principal::Application),
                login_again: crate::program::run_in("NAME", "auth login"),
                provider: login.provider,
                revoked,
                also: Vec::new(),
            });
        }
        Ok(out)
    }

    /// `auth status`: the context's own login, never another identity's.
    pub async fn status(&self, wanted: Option<&str>) -> Result<Status, SessionError> {
        let found = self.find(wanted)?;
        let login = self
            .stored_or_adopted(&found)
            .await?
            .ok_or_else(|| self.not_logged_in(&found))?;
        let path = self.store.path_of(&found.key);
        Ok(Status {
            context: found.context.clone(),
            refresh_token_in: place_of(&login, &path),
            used_by: self.used_by(&found.key),
            login,
            path,
        })
    }
}

fn place_of(login: &StoredLogin, path: &std::path::Path) -> Option<Place> {
    match (&login.refresh_token, login.refresh_token_in) {
        (_, Some(backend)) => Some(Place::Keyring(backend)),
        (Some(_), None) => Some(Place::File(path.to_path_buf())),
        (None, None) => None,
    }
}

/// A refresh whose ID token failed a check: its tokens are not used, but a rotated refresh
/// token is kept (the old one may be spent already); the error says so.
fn unverified(
    found: &Found<'_>,
    locked: &Locked<'_>,
    login: &StoredLogin,
    rotated: Option<Secret>,
    reason: &str,
    room: Option<Room>,
) -> SessionError {
    let failed = format!(
        "the refresh for context {:?} returned an ID token that failed a check: {reason}; its tokens were not used",
        found.context
    );
    let Some(token) = rotated else {
        return SessionError::Unusable(format!("{failed} (the stored tokens are unchanged)"));
    };
    let secrets = Secrets {
        refresh_token: Some(token),
        client_secret: None,
    };
    match locked.save_in(room, &mut login.clone(), secrets, kept_keyring(login)) {
        Err(err) => err.into(),
        Ok(saved) => match keyring_refusal(&saved, &found.context) {
            Some(note) => SessionError::Unusable(format!("{failed}, and {note}")),
            None => SessionError::Unusable(format!(
                "{failed} (the stored tokens are unchanged; a new refresh token is kept)"
            )),
        },
    }
}

/// What a keyring that refused a new refresh token twice cost (`None` when it took it), for
/// the person: where the token went instead, or that it is lost and when to sign in.
fn keyring_refusal(saved: &store::Saved, context: &str) -> Option<String> {
    let (err, kept) = match &saved.refresh_token {
        store::Kept::AsAsked => return None,
        store::Kept::InFile(err) => (
            err,
            format!(
                "it is kept in {} (mode 0600) instead, until the next sign-in",
                saved.path.display()
            ),
        ),
        store::Kept::Lost(err) => (
            err,
            format!(
                "`credential-store: keyring` keeps it out of files, so it is lost; sign in again before the access token expires: run `{}`",
                crate::program::run_in(context, "auth login")
            ),
        ),
    };
    Some(format!(
        "the {} refused the new refresh token of context {context:?} twice ({}): {kept}",
        err.0.describe(),
        err.1
    ))
}

/// Where a login's new secrets go: the keyring its secrets rest in, if any.
fn kept_keyring(login: &StoredLogin) -> Option<crate::os_keyring::Keyring> {
    login
        .refresh_token_in
        .or(login.client_secret_in)
        .map(|backend| crate::os_keyring::Keyring { backend })
}

fn authority_error(found: &Found<'_>, err: AuthorityError) -> SessionError {
    match err {
        AuthorityError::Changed { from, to } => changed(&found.context, &from, &to),
        AuthorityError::Rejected { why, .. } => {
            found.login_required(LoginRequired::Refused { why })
        }
        // The missing secret first: `auth login` alone would fail the same way.
        AuthorityError::NoSecret(reason) => found.login_required(LoginRequired::NoClientSecret {
            provider: found.identity.provider.clone(),
            reason,
        }),
        AuthorityError::Unverified { reason, .. } => SessionError::Unusable(reason),
        AuthorityError::Login(err) if err.is_not_found() => {
            let provider = &found.identity.provider;
            SessionError::Unusable(match provider.strip_prefix("discover:") {
                Some(cluster) => format!(
                    "{err}; nothing answers at that address: the identity provider cluster {cluster:?} names (its /apis/auth/discovery) is not there; ask the cluster's operators"
                ),
                None => format!(
                    "{err}; nothing answers at that address, so provider {provider:?} names the wrong server, realm, tenant or issuer: correct it with `{program} config set-provider {provider} --FIELD VALUE` (`{program} config set-provider --help` lists the fields)",
                    program = crate::program::name()
                ),
            })
        }
        AuthorityError::Login(err) => SessionError::Login(err),
        AuthorityError::Failed(err) => SessionError::Refresh(err),
    }
}

#[cfg(test)]
mod tests;
