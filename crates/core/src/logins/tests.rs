//! The login rules, hermetic: a fake clock, a temporary store, and a fake provider side that
//! counts what it is asked. No network, node or browser.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::clock::FakeClock;
use crate::config::{ConfigFile, ConfigSet, CredentialStore};
use crate::oauth::Lifetime;
use crate::provider::{Endpoints, FieldError, FieldSpec, Provider, ProviderConfig};

/// A dialect for these tests: `server` is the issuer, `{server}/token` the token endpoint.
struct FakeDialect;

impl Provider for FakeDialect {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn description(&self) -> &'static str {
        "a dialect for the login tests"
    }
    fn dialect_fields(&self) -> &'static [FieldSpec] {
        const FIELDS: &[FieldSpec] = &[FieldSpec::required(
            "server",
            crate::provider::FieldKind::BaseUrl,
            "the issuer",
        )];
        FIELDS
    }
    fn flows(&self) -> &'static [Flow] {
        &[
            Flow::Device,
            Flow::Password,
            Flow::ClientCredentials,
            Flow::Exchange,
        ]
    }
    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        let server = config.base_url("server")?;
        Ok(Endpoints {
            token: Some(crate::base_url::join_path(&server, "token")),
            issuer: Some(server),
            ..Endpoints::default()
        })
    }
}

crate::register_provider!(FakeDialect);

/// The kind a cluster's discovery yields (`provider: discover`), for these tests.
struct FakeOidc;

impl Provider for FakeOidc {
    fn kind(&self) -> &'static str {
        "oidc"
    }
    fn description(&self) -> &'static str {
        "what a cluster's discovery yields, for the login tests"
    }
    fn dialect_fields(&self) -> &'static [FieldSpec] {
        FakeDialect.dialect_fields()
    }
    fn flows(&self) -> &'static [Flow] {
        FakeDialect.flows()
    }
    fn endpoints(&self, config: &ProviderConfig<'_>) -> Result<Endpoints, FieldError> {
        FakeDialect.endpoints(config)
    }
}

crate::register_provider!(FakeOidc);

const CONFIG: &str = "
providers:
  - {name: idp, kind: fake, server: 'https://idp.test', client-id: app, scopes: [read]}
contexts:
  - {name: pw, provider: idp, flow: password}
  - {name: alice, provider: idp, flow: password, scopes: [read, write]}
  - {name: also-pw, provider: idp, flow: device}
  - {name: second, provider: idp, flow: password, login: second}
  - {name: svc, provider: idp, flow: client-credentials}
  - {name: ci, provider: idp, flow: exchange, subject-token: 'file:/run/ci-token'}
  - {name: by-hand, provider: idp, flow: exchange}
  - {name: kube, provider: idp, flow: password, cluster-token: id}
  - {name: gui, provider: idp, flow: device, scopes: [gui]}
  - {name: nmp, provider: discover, cluster: nmp, flow: device}
clusters:
  - {name: nmp, server: 'https://nmp.test'}
current-context: pw
";

/// The provider side: tokens `at-N` (and `rt-N` for people), counted per kind of request.
struct Fake {
    clock: Arc<FakeClock>,
    serial: AtomicU64,
    calls: Mutex<Vec<&'static str>>,
    lifetime: AtomicU64,
    refuse_refresh: AtomicBool,
    /// Whether a refresh is sent and never answered (the provider hangs after taking it).
    refresh_hangs: AtomicBool,
    /// Whether a refresh finds the provider down (503).
    refresh_down: AtomicBool,
    /// The claims challenge a refused refresh carries (Entra ID's Conditional Access).
    refusal_claims: Mutex<Option<String>>,
    /// The claims challenge each sign-in was given, in order.
    sign_in_claims: Mutex<Vec<Option<String>>>,
    /// Whether a person's sign-in fails (times out, is closed or refused).
    refuse_sign_in: AtomicBool,
    /// Whether a device sign-in polls until its code expires (nobody approves it).
    polls: AtomicBool,
    /// Whether a refresh returns an ID token that fails a check (the reply rotated the
    /// refresh token to `rt-unverified`).
    unverified_refresh: AtomicBool,
    /// Whether a refresh rotates the refresh token (Entra ID and PingFederate may not).
    rotate: AtomicBool,
    /// How long a refresh takes: holds the lock while other tasks wait.
    delay: Duration,
    /// How long ID tokens live: 0 for an opaque `id-N`, else a JWT with that `exp`.
    id_lifetime: AtomicU64,
    /// Whether a refresh returns an ID token (Entra ID and Keycloak do; others may not).
    id_on_refresh: AtomicBool,
    who: Mutex<String>,
}

impl Fake {
    fn new(clock: Arc<FakeClock>) -> Fake {
        Fake {
            clock,
            serial: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            lifetime: AtomicU64::new(3600),
            refuse_refresh: AtomicBool::new(false),
            refresh_hangs: AtomicBool::new(false),
            refresh_down: AtomicBool::new(false),
            refusal_claims: Mutex::new(None),
            sign_in_claims: Mutex::new(Vec::new()),
            refuse_sign_in: AtomicBool::new(false),
            polls: AtomicBool::new(false),
            unverified_refresh: AtomicBool::new(false),
            rotate: AtomicBool::new(true),
            delay: Duration::ZERO,
            id_lifetime: AtomicU64::new(0),
            id_on_refresh: AtomicBool::new(false),
            who: Mutex::new("alice".into()),
        }
    }

    fn count(&self, what: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| **c == what)
            .count()
    }

    fn mint(&self, what: &'static str, flow: Flow, person: bool) -> Minted {
        self.calls.lock().unwrap().push(what);
        let n = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let who = self.who.lock().unwrap().clone();
        let id_lifetime = self.id_lifetime.load(Ordering::SeqCst);
        let id_token = match id_lifetime {
            0 => format!("id-{n}"),
            _ => {
                use base64::Engine;
                let part = |json: serde_json::Value| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
                };
                let iat = self.clock.now();
                let exp = iat + i64::try_from(id_lifetime).unwrap();
                let claims = serde_json::json!({"sub": who, "n": n, "iat": iat, "exp": exp});
                format!(
                    "{}.{}.sig",
                    part(serde_json::json!({"alg": "RS256"})),
                    part(claims)
                )
            }
        };
        let gives_id = what != "refresh" || self.id_on_refresh.load(Ordering::SeqCst);
        Minted {
            tokens: TokenSet {
                access_token: Secret::new(format!("at-{n}-{who}")),
                token_type: "Bearer".into(),
                lifetime: Some(Lifetime::Seconds(self.lifetime.load(Ordering::SeqCst))),
                refresh_token: person.then(|| Secret::new(format!("rt-{n}-{who}"))),
                id_token: gives_id.then(|| Secret::new(id_token)),
                scope: (what != "refresh").then(|| "read".to_owned()),
                token_endpoint: None,
            },
            kind: "fake".into(),
            client_id: "app".into(),
            issuer: Some("https://idp.test/".into()),
            token_endpoint: url::Url::parse("https://idp.test/token").ok(),
            scopes: vec!["read".into()],
            flow,
        }
    }
}

impl Authority for Arc<Fake> {
    async fn sign_in(&self, _: &Selection<'_>, how: SignIn<'_>) -> Result<Minted, AuthorityError> {
        tokio::time::sleep(self.delay).await;
        self.sign_in_claims.lock().unwrap().push(how.claims.clone());
        if how.flow == Flow::Device && self.polls.load(Ordering::SeqCst) {
            // A device flow's polling, a second at a time, until the code expires.
            for _ in 0..100 {
                if how.ui.signed_in_elsewhere() {
                    return Err(AuthorityError::Login(LoginError::SignedInElsewhere));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            return Err(AuthorityError::Login(LoginError::DeviceExpired));
        }
        if self.refuse_sign_in.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push("sign_in");
            return Err(AuthorityError::Login(LoginError::SignInTimeout(300)));
        }
        Ok(self.mint("sign_in", how.flow, how.flow != Flow::ClientCredentials))
    }

    async fn refresh(&self, login: &StoredLogin, _token: Secret) -> Result<Minted, AuthorityError> {
        tokio::time::sleep(self.delay).await;
        if self.refresh_hangs.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push("refresh");
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if self.refresh_down.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push("refresh");
            return Err(AuthorityError::Login(LoginError::OAuth(Box::new(
                crate::oauth::OAuthError::Reply {
                    url: "https://idp.example/token".parse().unwrap(),
                    status: 503,
                    what: "an HTML page".into(),
                },
            ))));
        }
        if self.refuse_refresh.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push("refresh");
            return Err(AuthorityError::Rejected {
                why: None,
                claims: self.refusal_claims.lock().unwrap().clone(),
            });
        }
        if self.unverified_refresh.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push("refresh");
            return Err(AuthorityError::Unverified {
                rotated: Some(Secret::new("rt-unverified")),
                reason: "the refreshed ID token names another subject".into(),
            });
        }
        Ok(self.mint("refresh", login.flow, self.rotate.load(Ordering::SeqCst)))
    }

    async fn acquire(
        &self,
        _: &Selection<'_>,
        flow: Flow,
        _secret: Option<Secret>,
    ) -> Result<Minted, AuthorityError> {
        tokio::time::sleep(self.delay).await;
        Ok(self.mint("acquire", flow, false))
    }

    async fn revoke(&self, _: &StoredLogin, _: Secret) -> Result<(), RevokeError> {
        self.calls.lock().unwrap().push("revoke");
        Ok(())
    }
}

struct World {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    store: LoginStore,
    clock: Arc<FakeClock>,
    fake: Arc<Fake>,
}

impl World {
    fn new() -> World {
        World::with_delay(Duration::ZERO)
    }

    fn with_delay(delay: Duration) -> World {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, CONFIG).unwrap();
        let clock = Arc::new(FakeClock::at(1_800_000_000));
        let mut fake = Fake::new(clock.clone());
        fake.delay = delay;
        World {
            store: LoginStore::at(dir.path().join("logins"), CredentialStore::File),
            _dir: dir,
            config,
            clock,
            fake: Arc::new(fake),
        }
    }

    fn logins(&self) -> Logins<Arc<Fake>> {
        let text = crate::fsutil::read_user_text(&self.config).unwrap();
        let set = ConfigSet::of(vec![ConfigFile::parse(&self.config, &text).unwrap()]);
        assert!(set.problems().is_empty(), "{:?}", set.problems());
        Logins::new(
            Arc::new(set),
            self.store.clone(),
            self.clock.clone(),
            self.fake.clone(),
        )
    }
}

struct NoUi;
impl LoginUi for NoUi {
    fn device_code(&self, _: &crate::oauth::DeviceAuthorization) {}
    fn browser_url(&self, _: &url::Url) {}
    fn notice(&self, _: &str) {}
}
impl BrowserOpener for NoUi {
    fn available(&self) -> bool {
        false
    }
    fn open(&self, _: &url::Url) -> std::io::Result<()> {
        Ok(())
    }
}

fn how(flow: Flow) -> SignIn<'static> {
    how_when(Trigger::Asked, flow)
}

fn how_when(trigger: Trigger, flow: Flow) -> SignIn<'static> {
    SignIn {
        trigger,
        flow,
        method: Method::Device,
        scopes: &[],
        client_secret: None,
        claims: None,
        params: Vec::new(),
        ui: &NoUi,
        opener: &NoUi,
    }
}

async fn sign_in(logins: &Logins<Arc<Fake>>, context: &str) -> SignedIn {
    let flow = logins.set().context(context).and_then(|c| c.flow).unwrap();
    match logins
        .sign_in(Some(context), None, how(flow), true)
        .await
        .unwrap()
    {
        SignInOutcome::Stored(signed) => *signed,
        other => panic!("stored, not {other:?}"),
    }
}

async fn token(logins: &Logins<Arc<Fake>>, context: &str) -> Result<String, SessionError> {
    logins
        .usable(Some(context), Want::fresh(Freshness::CLI, Handout::Access))
        .await
        .map(|usable| usable.login.access_token.expose().to_owned())
}

#[tokio::test]
async fn a_context_hands_out_only_a_login_made_for_what_it_asks() {
    let world = World::new();
    let logins = world.logins();
    *world.fake.who.lock().unwrap() = "mallory".into();
    let signed = sign_in(&logins, "pw").await;
    assert_eq!(
        signed.used_by,
        ["pw", "also-pw", "kube"],
        "same asks (whichever token goes to the cluster): one sign-in"
    );

    // Other scopes, a `login:` name, or the application itself: not mallory's login.
    for other in ["alice", "second"] {
        let err = token(&logins, other).await.unwrap_err();
        assert!(err.is_login_required(), "{other}: {err}");
        assert!(err.to_string().contains("not logged in"), "{err}");
        assert!(logins.status(Some(other)).await.is_err());
    }
    assert!(
        token(&logins, "also-pw")
            .await
            .unwrap()
            .ends_with("mallory")
    );

    *world.fake.who.lock().unwrap() = "alice".into();
    sign_in(&logins, "alice").await;
    assert!(token(&logins, "alice").await.unwrap().ends_with("alice"));
    assert!(token(&logins, "pw").await.unwrap().ends_with("mallory"));
    let out = logins.logout(Some("alice")).await.unwrap().unwrap();
    assert!(out.also.is_empty());
    // The machine's own login is never handed to the people's contexts, nor theirs to it.
    assert!(token(&logins, "svc").await.unwrap().ends_with("alice"));
    assert!(
        token(&logins, "alice")
            .await
            .unwrap_err()
            .is_login_required()
    );
    let out = logins.logout(Some("pw")).await.unwrap().unwrap();
    assert_eq!(
        out.also,
        ["also-pw", "kube"],
        "logout names the contexts it logs out"
    );
    assert!(
        token(&logins, "also-pw")
            .await
            .unwrap_err()
            .is_login_required()
    );
}

#[tokio::test]
async fn a_login_that_needs_no_person_is_acquired_renewed_and_stays_logged_out() {
    let world = World::new();
    let logins = world.logins();
    world.fake.lifetime.store(20, Ordering::SeqCst);
    let first = token(&logins, "svc").await.unwrap();
    assert_eq!(world.fake.count("acquire"), 1, "the first time too");
    assert_eq!(
        token(&logins, "svc").await.unwrap(),
        first,
        "fresh: no request"
    );
    assert_eq!(world.fake.count("acquire"), 1);
    world.clock.advance(11);
    let second = token(&logins, "svc").await.unwrap();
    assert_ne!(second, first);
    assert_eq!(
        world.fake.count("acquire"),
        2,
        "renewed at half its 20 s lifetime"
    );

    let out = logins.logout(Some("svc")).await.unwrap().unwrap();
    assert!(out.renewable);
    assert!(!out.revoked.unwrap(), "nothing to revoke");
    let err = token(&logins, "svc").await.unwrap_err();
    assert!(err.to_string().contains("logged out"), "{err}");
    assert_eq!(world.fake.count("acquire"), 2, "a logout stays a logout");

    sign_in(&logins, "svc").await;
    assert!(token(&logins, "svc").await.is_ok());
    assert_eq!(world.fake.count("acquire"), 2);
}

#[tokio::test]
async fn an_exchange_of_a_token_that_can_be_read_again_needs_no_person() {
    let world = World::new();
    let logins = world.logins();
    world.fake.lifetime.store(20, Ordering::SeqCst);
    let first = token(&logins, "ci").await.unwrap();
    assert_eq!(world.fake.count("acquire"), 1, "no `auth login` first");
    assert_eq!(stored(&world, &logins, "ci").unwrap().flow, Flow::Exchange);
    world.clock.advance(11);
    assert_ne!(token(&logins, "ci").await.unwrap(), first);
    assert_eq!(world.fake.count("acquire"), 2, "renewed from its source");

    // The same provider, client and scopes, with the token given by hand: another identity,
    // one that only a person can renew.
    let err = token(&logins, "by-hand").await.unwrap_err();
    assert!(err.is_login_required(), "{err}");
    assert_eq!(world.fake.count("acquire"), 2);
    assert_ne!(
        logins.find(Some("ci")).unwrap().key,
        logins.find(Some("by-hand")).unwrap().key
    );
}

#[tokio::test]
async fn twenty_callers_of_an_expired_service_login_cause_one_request() {
    let world = World::with_delay(Duration::from_millis(200));
    let logins = Arc::new(world.logins());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let logins = logins.clone();
            tokio::spawn(async move { token(&logins, "svc").await.unwrap() })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    assert_eq!(world.fake.count("acquire"), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
}

#[tokio::test]
async fn a_refresh_rotates_and_keeps_what_the_reply_leaves_out() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    world.clock.advance(3600 - 60);
    let Usable { login, .. } = logins
        .usable(Some("pw"), Want::fresh(Freshness::CLI, Handout::Access))
        .await
        .unwrap();
    assert_eq!(world.fake.count("refresh"), 1);
    assert_eq!(
        login.refresh_token.as_ref().unwrap().expose(),
        "rt-2-alice",
        "rotated"
    );
    assert_eq!(
        login.id_token.unwrap().expose(),
        "id-1",
        "no ID token in the reply: kept"
    );
    assert_eq!(
        login.granted_scope.as_deref(),
        Some("read"),
        "no scope: kept"
    );
    assert_eq!(login.expires_at, Some(world.clock.now() + 3600));
}

/// Sign-ins a command starts because no login exists: many processes cause one, the others
/// use the login it stored; after one fails, a sign-in nobody attends is refused for the
/// cooldown (a GUI that retries opens no more tabs), while a person at a terminal may sign in.
#[tokio::test]
async fn a_missing_login_causes_one_sign_in_and_a_failed_one_a_cooldown_unattended() {
    let world = World::with_delay(Duration::from_millis(300));
    let logins = Arc::new(world.logins());
    let missing = |attended| how_when(Trigger::Missing { attended }, Flow::Device);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let logins = logins.clone();
            tokio::spawn(async move {
                matches!(
                    logins
                        .sign_in(Some("gui"), None, missing(false), true)
                        .await,
                    Ok(SignInOutcome::Existing(_))
                )
            })
        })
        .collect();
    let mut existing = 0;
    for task in tasks {
        existing += usize::from(task.await.unwrap());
    }
    assert_eq!(world.fake.count("sign_in"), 1, "one sign-in");
    assert_eq!(existing, 4, "the others use its login");

    logins.logout(Some("gui")).await.unwrap();
    world.fake.refuse_sign_in.store(true, Ordering::SeqCst);
    assert!(
        logins
            .sign_in(Some("gui"), None, missing(false), true)
            .await
            .is_err()
    );
    assert_eq!(world.fake.count("sign_in"), 2);
    world.fake.refuse_sign_in.store(false, Ordering::SeqCst);
    world.clock.advance(60);
    let err = logins
        .sign_in(Some("gui"), None, missing(false), true)
        .await
        .unwrap_err();
    assert!(err.is_login_required(), "{err}");
    assert!(
        err.to_string().contains("failed or was abandoned 1m ago"),
        "{err}"
    );
    assert_eq!(world.fake.count("sign_in"), 2, "nothing opened");
    // A person at a terminal, or `auth login`, signs in all the same; and after the cooldown
    // a GUI may again.
    assert!(
        logins
            .sign_in(Some("gui"), None, missing(true), true)
            .await
            .is_ok()
    );
    logins.logout(Some("gui")).await.unwrap();
    world.fake.refuse_sign_in.store(true, Ordering::SeqCst);
    let _ = logins.sign_in(Some("gui"), None, missing(true), true).await;
    world.fake.refuse_sign_in.store(false, Ordering::SeqCst);
    world.clock.advance(301);
    assert!(
        logins
            .sign_in(Some("gui"), None, missing(false), true)
            .await
            .is_ok()
    );
}

/// A device sign-in nobody approved stops polling once a login for the same identity is stored
/// (a password sign-in at a terminal, which takes no sign-in lock), and uses it.
#[tokio::test]
async fn a_device_poll_stops_when_a_login_is_stored_meanwhile() {
    let world = World::new();
    let logins = Arc::new(world.logins());
    world.fake.polls.store(true, Ordering::SeqCst);
    let polling = {
        let logins = logins.clone();
        tokio::spawn(async move {
            logins
                .sign_in(Some("pw"), None, how(Flow::Device), true)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    sign_in(&logins, "pw").await;
    assert!(matches!(
        polling.await.unwrap(),
        Ok(SignInOutcome::Existing(_))
    ));
}

/// A cluster can name any identity provider: without a terminal, tokenctl opens no sign-in
/// page of an issuer a `provider: discover` context never signed in to.
#[tokio::test]
async fn no_unattended_sign_in_to_an_issuer_a_cluster_names_for_the_first_time() {
    let world = World::new();
    let logins = world.logins();
    let missing = |attended| how_when(Trigger::Missing { attended }, Flow::Device);
    let err = logins
        .sign_in(Some("nmp"), None, missing(false), true)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("have not signed in there yet"),
        "{err}"
    );
    assert_eq!(world.fake.count("sign_in"), 0);
    logins
        .sign_in(Some("nmp"), None, missing(true), true)
        .await
        .unwrap();
    logins.logout(Some("nmp")).await.unwrap();
    assert!(
        logins
            .sign_in(Some("nmp"), None, missing(false), true)
            .await
            .is_ok()
    );
}

/// kubectl gets the ID token where the context says `cluster-token: id`; the ID token has its
/// own freshness, and a stale one is renewed while the shared access token is left alone.
#[tokio::test]
async fn the_cluster_gets_the_id_token_with_its_own_freshness() {
    let world = World::new();
    let logins = world.logins();
    world.fake.id_lifetime.store(600, Ordering::SeqCst);
    world.fake.id_on_refresh.store(true, Ordering::SeqCst);
    sign_in(&logins, "pw").await;
    let want = |handout| Want::fresh(Freshness::CLI, handout);
    let cluster = logins
        .usable(Some("kube"), want(Handout::Cluster))
        .await
        .unwrap();
    assert_eq!(cluster.kind, TokenKind::Id);
    assert_eq!(
        cluster.token().expose(),
        cluster.login.id_token.as_ref().unwrap().expose()
    );
    assert_eq!(cluster.expires_at(), Some(world.clock.now() + 600));
    let access = logins
        .usable(Some("kube"), want(Handout::Access))
        .await
        .unwrap();
    assert_eq!(access.token().expose(), access.login.access_token.expose());
    assert_eq!(
        logins
            .cached(Some("pw"), Freshness::CLI, Handout::Cluster)
            .unwrap()
            .kind,
        TokenKind::Access,
        "the default cluster token"
    );

    // 5 minutes before the ID token expires: stale for the cluster, while the access token
    // (an hour) is not.
    world.clock.advance(301);
    assert!(
        logins
            .cached(Some("kube"), Freshness::CLI, Handout::Cluster)
            .is_none()
    );
    assert!(
        logins
            .cached(Some("pw"), Freshness::CLI, Handout::Access)
            .is_some()
    );
    let renewed = logins
        .usable(Some("kube"), want(Handout::Cluster))
        .await
        .unwrap();
    assert_eq!(world.fake.count("refresh"), 1);
    assert_eq!(renewed.expires_at(), Some(world.clock.now() + 600));
    assert!(
        logins
            .cached(Some("kube"), Freshness::CLI, Handout::Cluster)
            .is_some()
    );
}

/// A provider that returns no ID token on refresh: the ID token serves, with a warning, while
/// it is valid, never after; then the command asks for a sign-in (exit 4) with both ways out,
/// and the refresh token is not spent again on every later call.
#[tokio::test]
async fn no_id_token_on_refresh_asks_for_a_sign_in_once_and_spends_nothing_more() {
    let world = World::new();
    let logins = world.logins();
    world.fake.id_lifetime.store(600, Ordering::SeqCst);
    sign_in(&logins, "pw").await;
    world.clock.advance(301);
    let want = Want::fresh(Freshness::CLI, Handout::Cluster);
    let valid = logins.usable(Some("kube"), want).await.unwrap();
    assert!(
        valid
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("returns no ID token on refresh")),
        "{:?}",
        valid.warning
    );
    assert_eq!(world.fake.count("refresh"), 1);
    // 30 s before it expires, it is no longer handed out.
    world.clock.advance(270);
    let err = logins.usable(Some("kube"), want).await.unwrap_err();
    assert!(err.is_login_required(), "{err}");
    let text = err.to_string();
    assert!(text.contains("returns no ID token on refresh"), "{text}");
    assert!(
        text.contains("auth login") && text.contains("cluster-token: access"),
        "{text}"
    );
    assert_eq!(world.fake.count("refresh"), 1);
    let again = logins.usable(Some("kube"), want).await.unwrap_err();
    assert!(again.is_login_required(), "{again}");
    assert_eq!(
        world.fake.count("refresh"),
        1,
        "no refresh spent for nothing"
    );
    // The access token the refresh brought serves everything else.
    assert!(token(&logins, "pw").await.is_ok());
    assert_eq!(world.fake.count("refresh"), 1);
    // A new sign-in brings an ID token again.
    sign_in(&logins, "kube").await;
    assert!(logins.usable(Some("kube"), want).await.is_ok());
}

#[tokio::test]
async fn a_refreshed_id_token_that_fails_a_check_keeps_only_the_rotated_refresh_token() {
    let world = World::new();
    let logins = world.logins();
    let before = sign_in(&logins, "pw").await;
    world.fake.unverified_refresh.store(true, Ordering::SeqCst);
    world.clock.advance(3600 - 60);
    let err = logins
        .usable(Some("pw"), Want::fresh(Freshness::CLI, Handout::Access))
        .await
        .unwrap_err();
    assert!(!err.is_login_required(), "exit 1, not 4: {err}");
    let message = err.to_string();
    assert!(
        message.contains("names another subject"),
        "names the check: {message}"
    );
    let stored = stored(&world, &logins, "pw").expect("the login stays");
    assert_eq!(
        stored.access_token.expose(),
        before.login.access_token.expose()
    );
    assert_eq!(
        stored.id_token.unwrap().expose(),
        "id-1",
        "the old ID token"
    );
    assert_eq!(
        stored.refresh_token.unwrap().expose(),
        "rt-unverified",
        "the rotated refresh token is kept: the old one may be spent"
    );
    assert_eq!(world.fake.count("refresh"), 1);
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    world.fake.rotate.store(false, Ordering::SeqCst);
    for _ in 0..2 {
        world.clock.advance(3600);
        let Usable { login, .. } = logins
            .usable(Some("pw"), Want::fresh(Freshness::CLI, Handout::Access))
            .await
            .unwrap();
        assert_eq!(login.refresh_token.unwrap().expose(), "rt-1-alice");
    }
    assert_eq!(world.fake.count("refresh"), 2);
}

#[tokio::test]
async fn waiters_behind_a_refused_refresh_cause_one_request_and_all_log_in_again() {
    let world = World::with_delay(Duration::from_millis(200));
    let logins = Arc::new(world.logins());
    sign_in(&logins, "pw").await;
    world.clock.advance(3600);
    world.fake.refuse_refresh.store(true, Ordering::SeqCst);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let logins = logins.clone();
            tokio::spawn(async move { token(&logins, "pw").await.unwrap_err() })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap();
        assert!(err.is_login_required(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("session expired") && text.contains("tokenctl --context pw auth login"),
            "{text}"
        );
    }
    assert_eq!(world.fake.count("refresh"), 1, "one refused request");
}

/// An outage in the refresh window: the stored token, still valid, is handed out with a
/// warning, and for a while no refresh is tried again; after its expiry (less the margin),
/// nothing is handed out.
#[tokio::test(start_paused = true)]
async fn a_provider_that_is_down_leaves_the_valid_token_in_service_until_it_expires() {
    let world = World::new();
    let logins = world.logins();
    let first = token(&logins, "pw").await;
    assert!(first.is_err(), "not signed in yet");
    sign_in(&logins, "pw").await;
    world.clock.advance(3600 - 120);
    world.fake.refresh_down.store(true, Ordering::SeqCst);
    let want = Want::fresh(Freshness::CLI, Handout::Access);
    let stale = logins.usable(Some("pw"), want).await.unwrap();
    let warning = stale.warning.unwrap();
    assert!(
        warning.contains("503") && warning.contains("valid for 2m"),
        "{warning}"
    );
    assert_eq!(world.fake.count("refresh"), 1);
    // Within the backoff no refresh is tried; after it, one is.
    world.clock.advance(20);
    let again = logins.usable(Some("pw"), want).await.unwrap();
    assert!(
        again
            .warning
            .unwrap()
            .contains("did not answer a refresh 20s ago")
    );
    assert_eq!(world.fake.count("refresh"), 1);
    world.clock.advance(11);
    logins.usable(Some("pw"), want).await.unwrap();
    assert_eq!(world.fake.count("refresh"), 2);
    // `--min-valid` and `auth refresh` ask for more than a stored token: they fail.
    let literal = Want::fresh(
        Freshness::at_least(Duration::from_secs(120)),
        Handout::Access,
    );
    assert!(logins.usable(Some("pw"), literal).await.is_err());
    // 30 s before the expiry: no grace.
    world.clock.advance(60);
    assert!(logins.usable(Some("pw"), want).await.is_err());
    // The provider is back: the refresh token renews the login.
    world.fake.refresh_down.store(false, Ordering::SeqCst);
    let renewed = logins.usable(Some("pw"), want).await.unwrap();
    assert!(renewed.warning.is_none());
}

/// A refresh sent in the refresh window and never answered: the stored token serves after
/// the early timeout, and the login is "in doubt". The provider then refuses the refresh token
/// kept (it rotated it): that token is dropped, never sent again, the access token serves
/// until it expires with the reason, and after that a sign-in is asked for with it.
#[tokio::test(start_paused = true)]
async fn a_refresh_that_timed_out_after_it_was_sent_loses_no_login() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    world.clock.advance(3600 - 120);
    world.fake.refresh_hangs.store(true, Ordering::SeqCst);
    let want = Want::fresh(Freshness::CLI, Handout::Access);
    let started = tokio::time::Instant::now();
    let stale = logins.usable(Some("pw"), want).await.unwrap();
    assert_eq!(started.elapsed(), EARLY_REFRESH_TIMEOUT);
    assert!(
        stale
            .warning
            .unwrap()
            .contains("did not answer a refresh within 5s")
    );
    world.fake.refresh_hangs.store(false, Ordering::SeqCst);
    world.fake.refuse_refresh.store(true, Ordering::SeqCst);
    world.clock.advance(31);
    let refused = logins.usable(Some("pw"), want).await.unwrap();
    let warning = refused.warning.unwrap();
    assert!(
        warning.contains("timed out earlier after it was sent")
            && warning.contains("sign in again before it expires"),
        "{warning}"
    );
    assert_eq!(world.fake.count("refresh"), 2);
    // The refused refresh token is never sent again; the access token still serves.
    let kept = logins.usable(Some("pw"), want).await.unwrap();
    assert!(kept.warning.unwrap().contains("has no refresh token"));
    assert_eq!(world.fake.count("refresh"), 2);
    world.clock.advance(60);
    let err = logins.usable(Some("pw"), want).await.unwrap_err();
    assert!(err.is_login_required(), "{err}");
    assert_eq!(world.fake.count("refresh"), 2);
}

/// A refresh refused with a claims challenge (Entra ID's Conditional Access step-up): the
/// next sign-in carries it, once; the one after carries none.
#[tokio::test]
async fn a_claims_challenge_from_a_refused_refresh_goes_with_the_next_sign_in_only() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    world.clock.advance(3600);
    world.fake.refuse_refresh.store(true, Ordering::SeqCst);
    let challenge = r#"{"access_token":{"capolids":{"essential":true,"values":["1"]}}}"#;
    *world.fake.refusal_claims.lock().unwrap() = Some(challenge.into());
    assert!(token(&logins, "pw").await.unwrap_err().is_login_required());
    world.fake.refuse_refresh.store(false, Ordering::SeqCst);
    sign_in(&logins, "pw").await;
    sign_in(&logins, "pw").await;
    assert_eq!(
        *world.fake.sign_in_claims.lock().unwrap(),
        [None, Some(challenge.to_owned()), None]
    );
}

/// Context `pw` signed in, its token expired, and a refresh under way (it holds the lock for
/// the fake's delay).
async fn refresh_in_background(
    world: &World,
) -> (
    Arc<Logins<Arc<Fake>>>,
    tokio::task::JoinHandle<Result<String, SessionError>>,
) {
    let logins = Arc::new(world.logins());
    sign_in(&logins, "pw").await;
    world.clock.advance(3600);
    let refreshing = {
        let logins = logins.clone();
        tokio::spawn(async move { token(&logins, "pw").await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    (logins, refreshing)
}

/// The login stored for a context, read without its lock.
fn stored(world: &World, logins: &Logins<Arc<Fake>>, context: &str) -> Option<StoredLogin> {
    let key = logins.find(Some(context)).unwrap().key;
    world.store.read(&key).unwrap()
}

#[tokio::test]
async fn a_logout_during_a_refresh_stays_logged_out() {
    let world = World::with_delay(Duration::from_millis(300));
    let (logins, refreshing) = refresh_in_background(&world).await;
    logins.logout(Some("pw")).await.unwrap().unwrap();
    assert!(
        refreshing.await.unwrap().is_ok(),
        "the refresh finished first"
    );
    assert!(stored(&world, &logins, "pw").is_none());
    assert!(token(&logins, "pw").await.unwrap_err().is_login_required());
    assert_eq!(
        world.fake.count("revoke"),
        1,
        "the refreshed token was revoked"
    );
}

#[tokio::test]
async fn a_sign_in_during_a_refresh_keeps_its_own_tokens() {
    let world = World::with_delay(Duration::from_millis(300));
    let (logins, refreshing) = refresh_in_background(&world).await;
    *world.fake.who.lock().unwrap() = "bob".into();
    let bob = sign_in(&logins, "pw").await;
    refreshing.await.unwrap().unwrap();
    let stored = stored(&world, &logins, "pw").unwrap();
    assert_eq!(stored.access_token, bob.login.access_token);
    assert!(stored.refresh_token.unwrap().expose().ends_with("bob"));
}

#[tokio::test]
async fn a_login_is_not_handed_out_once_its_provider_changed() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    assert!(
        logins
            .cached(Some("pw"), Freshness::CLI, Handout::Access)
            .is_some()
    );
    std::fs::write(&world.config, CONFIG.replace("idp.test", "other.test")).unwrap();
    let logins = world.logins();
    assert!(
        logins
            .cached(Some("pw"), Freshness::CLI, Handout::Access)
            .is_none(),
        "not on the hot path"
    );
    let err = token(&logins, "pw").await.unwrap_err().to_string();
    assert!(
        err.contains("changed since you logged in (https://idp.test/ → https://other.test/)")
            && err.contains("tokenctl --context pw auth login"),
        "{err}"
    );
    assert_eq!(world.fake.count("refresh"), 0, "nothing was sent");
}

#[tokio::test]
async fn an_explicit_min_valid_is_honoured_literally() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    let want = |min: u64| {
        Want::fresh(
            Freshness::at_least(Duration::from_secs(min)),
            Handout::Access,
        )
    };
    // One hour tokens: two hours cannot be had, and the provider is not asked.
    let err = logins.usable(Some("pw"), want(7200)).await.unwrap_err();
    assert!(!err.is_login_required());
    assert!(err.to_string().contains("live 1h"), "{err}");
    assert_eq!(world.fake.count("refresh"), 0);
    // 40 minutes: refreshed once less than that remains, although the default would wait.
    world.clock.advance(25 * 60);
    logins.usable(Some("pw"), want(40 * 60)).await.unwrap();
    assert_eq!(world.fake.count("refresh"), 1);
    // An absurd one is refused, never an overflow.
    assert!(logins.usable(Some("pw"), want(u64::MAX)).await.is_err());
}

#[test]
fn freshness_never_overflows() {
    let login = |expires_at: Option<i64>, obtained_at: i64| StoredLogin {
        provider: "p".into(),
        kind: "fake".into(),
        client_id: "c".into(),
        scopes: vec![],
        flow: Flow::Device,
        principal: Some(Principal::Person),
        login_name: None,
        issuer: None,
        token_endpoint: None,
        token_type: "Bearer".into(),
        access_token: Secret::new("t"),
        expires_at,
        lifetime: None,
        refresh_token: None,
        refresh_token_in: None,
        client_secret: None,
        client_secret_in: None,
        id_token: None,
        id_token_not_refreshed: false,
        granted_scope: None,
        obtained_at,
    };
    let huge = Freshness::at_least(Duration::MAX);
    assert!(!huge.holds(&login(Some(i64::MAX), 0), TokenKind::Access, 0));
    assert!(!Freshness::CLI.holds(&login(Some(i64::MIN), i64::MAX), TokenKind::Access, 0));
    assert!(Freshness::CLI.holds(&login(Some(i64::MAX), i64::MIN), TokenKind::Access, 0));
    assert!(Freshness::CLI.holds(&login(None, 0), TokenKind::Access, i64::MAX));
    // Default rule: 5 minutes, or half the lifetime of short tokens.
    assert!(Freshness::CLI.holds(&login(Some(1000), 0), TokenKind::Access, 699));
    assert!(!Freshness::CLI.holds(&login(Some(1000), 0), TokenKind::Access, 700));
    assert!(Freshness::CLI.holds(&login(Some(60), 0), TokenKind::Access, 29));
    assert!(!Freshness::CLI.holds(&login(Some(60), 0), TokenKind::Access, 30));
}

#[tokio::test]
async fn a_login_stored_before_identities_is_adopted_with_the_configured_issuer() {
    let world = World::new();
    let logins = world.logins();
    let found = logins.find(Some("pw")).unwrap();
    let legacy = found.identity.legacy_key(&["read".to_owned()]);
    let old = serde_json::json!({
        "provider": "idp", "kind": "fake", "client_id": "app", "scopes": ["read"],
        "flow": "password", "token_type": "Bearer", "access_token": "old-at",
        "expires_at": world.clock.now() + 3600, "refresh_token": "old-rt",
        "id_token": null, "granted_scope": null, "obtained_at": world.clock.now(),
    });
    std::fs::create_dir_all(world.store.dir()).unwrap();
    std::fs::write(world.store.path_of(&legacy), old.to_string()).unwrap();
    assert_eq!(token(&logins, "pw").await.unwrap(), "old-at");
    let adopted = world.store.read(&found.key).unwrap().unwrap();
    assert_eq!(adopted.issuer.as_deref(), Some("https://idp.test/"));
    assert_eq!(adopted.principal, Some(Principal::Person));
    assert!(world.store.read(&legacy).unwrap().is_none());
    // Never across identities: the service context does not adopt a person's login.
    assert!(token(&logins, "second").await.is_err());
}

#[tokio::test]
async fn a_refused_access_token_is_refreshed_at_the_next_request_and_a_newer_one_is_kept() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    let first = token(&logins, "pw").await.unwrap();
    // A consumer holding an older token than the store's changes nothing.
    assert!(
        !logins
            .distrust_access_token(Some("pw"), Some("at-0-old"))
            .await
            .unwrap()
    );
    assert_eq!(token(&logins, "pw").await.unwrap(), first);
    assert_eq!(world.fake.count("refresh"), 0);
    // The token itself refused: the next request refreshes, with the refresh token kept.
    assert!(
        logins
            .distrust_access_token(Some("pw"), Some(&first))
            .await
            .unwrap()
    );
    let second = token(&logins, "pw").await.unwrap();
    assert_ne!(second, first);
    assert_eq!(world.fake.count("refresh"), 1);
}

#[tokio::test]
async fn a_token_kept_fresh_for_another_program_is_renewed_when_it_stops_counting_as_fresh() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    let login = logins
        .cached(Some("pw"), Freshness::CLI, Handout::Access)
        .unwrap()
        .login;
    // An hour's token: renewed five minutes before it expires.
    assert_eq!(
        Freshness::CLI.renew_at(&login),
        login.expires_at.map(|at| at - 300)
    );
}

/// The lists' use case: every context with its stored login; the contexts that share a login
/// are named together and show the same person and expiry; the others show none.
#[tokio::test]
async fn summaries_show_each_context_with_the_login_it_shares() {
    let world = World::new();
    let logins = world.logins();
    sign_in(&logins, "pw").await;
    let now = world.clock.now();
    let summaries = logins.summaries(now);
    assert_eq!(summaries.len(), 10, "every context, in file order");
    let of = |name: &str| summaries.iter().find(|s| s.context == name).unwrap();
    for shared in ["pw", "also-pw", "kube"] {
        let summary = of(shared);
        assert_eq!(*summary.shared_with, ["pw", "also-pw", "kube"], "{shared}");
        // The fake's tokens are opaque: logged in, with no name to show.
        assert_eq!(summary.identity, Some(None), "{shared}");
        assert!(summary.login.is_some(), "{shared}");
        assert!(summary.expires_in.is_some_and(|left| left > 0), "{shared}");
    }
    let alice = of("alice");
    assert!(alice.login.is_none() && alice.identity.is_none() && alice.expires_in.is_none());
    assert_eq!(*alice.shared_with, ["alice"]);
}
