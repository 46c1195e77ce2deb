//! The login use cases of `tokenctl_core::internal::logins` over the contexts files the flags select:
//! what every command that needs a token calls, and the one place a waiting command says so.

use crate::GlobalArgs;
use crate::output::{self, say};
use crate::runtime::block_on;
use anyhow::Result;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use tokenctl_core::internal::clock::SystemClock;
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::logins::{
    Freshness, Handout, LoginStore, Logins, ProviderAuthority, Usable, Want,
};

/// The login use cases over the contexts files these flags select.
pub(crate) fn logins(global: &GlobalArgs) -> Result<Logins<ProviderAuthority>> {
    let set = Arc::new(ConfigSet::load_valid(&global.config_paths())?);
    logins_of(set, global.request_timeout)
}

/// The login use cases over a loaded contexts file set; a `credential-store` that names no
/// store stops here.
pub(crate) fn logins_of(
    set: Arc<ConfigSet>,
    request_timeout: Duration,
) -> Result<Logins<ProviderAuthority>> {
    let setting = set.credential_store()?;
    Ok(logins_with(set, setting, request_timeout))
}

/// [`logins_of`] with the credential store given (listing logins reads them whatever the
/// setting says).
pub(crate) fn logins_with(
    set: Arc<ConfigSet>,
    setting: tokenctl_core::internal::config::CredentialStore,
    request_timeout: Duration,
) -> Logins<ProviderAuthority> {
    let store = LoginStore::default_location(setting);
    Logins::new(
        set.clone(),
        store,
        Arc::new(SystemClock),
        ProviderAuthority::new(set, request_timeout),
    )
    .with_request_timeout(request_timeout)
}

/// What `auth token`, kubectl, `api` and plugins ask for: a token fresh by `freshness`,
/// renewed as the use cases decide (unless --no-auto-refresh).
pub(crate) fn usable_login(
    global: &GlobalArgs,
    freshness: Freshness,
    handout: Handout,
) -> Result<Usable> {
    let logins = logins(global)?;
    let want = Want {
        freshness,
        auto_refresh: !global.no_auto_refresh,
        force: false,
        handout,
    };
    let usable = block_on(waiting_visibly(
        logins.usable(global.context.as_deref(), want),
    ))??;
    if let Some(warning) = &usable.warning {
        output::warn(warning);
    }
    Ok(usable)
}

/// How long a command waits on the identity provider before it says so at a terminal.
const SAY_WAITING_AFTER: Duration = Duration::from_secs(1);

/// `work`, with one line at a terminal when it takes longer than [`SAY_WAITING_AFTER`].
pub(crate) async fn waiting_visibly<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::pin!(work);
    match tokio::time::timeout(SAY_WAITING_AFTER, &mut work).await {
        Ok(done) => done,
        Err(_) => {
            if std::io::stderr().is_terminal() {
                say!("Waiting for the identity provider...");
            }
            work.await
        }
    }
}

/// `--min-valid` given: honoured literally; else the CLI's default rule.
pub(crate) fn freshness(min_valid: Option<Duration>) -> Freshness {
    min_valid.map_or(Freshness::CLI, Freshness::at_least)
}
