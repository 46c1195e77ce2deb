//! The hot path. `tokenctl auth token` and `auth exec-credential` run hundreds of times a day,
//! from scripts and from kubectl; while the stored access token is valid it is answered here,
//! before the command tree is built or logging is set up: read the contexts file (cached), ask
//! the login use cases for the cached token (the same identity and freshness rules as
//! everywhere), print. Whatever this path does not fully serve (other flags, a token to renew,
//! an error to explain, `RUST_LOG`) goes the ordinary way, so both ways behave the same.

use std::ffi::OsString;
use std::io::Write;
use std::sync::Arc;

use tokenctl_core::internal::config::{self, ConfigSet};
use tokenctl_core::internal::logins::{Freshness, Handout};

use crate::commands::auth::exec_credential::{ExecInfo, render};

/// Answers the command line when it is `auth token` or `auth exec-credential` (with at most
/// `--context NAME`) and the stored token is fresh, with exit status 0; `None` hands it to the
/// full parser.
pub fn try_serve(args: &[OsString]) -> Option<u8> {
    if std::env::var_os("RUST_LOG").is_some() {
        return None;
    }
    let mut words = Vec::with_capacity(args.len());
    let mut context = None;
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        if arg == "--context" {
            context = Some(rest.next()?.to_str()?.to_owned());
        } else if let Some(name) = arg.strip_prefix("--context=") {
            context = Some(name.to_owned());
        } else {
            words.push(arg);
        }
    }
    let (exec_info, handout, follow) = match words.as_slice() {
        ["auth", "token"] => (None, Handout::Access, false),
        ["auth", "exec-credential"] => (Some(ExecInfo::from_env().ok()?), Handout::Cluster, false),
        ["auth", "exec-credential", "--follow"] => {
            (Some(ExecInfo::from_env().ok()?), Handout::Cluster, true)
        }
        _ => return None,
    };
    let pinned = context.clone().filter(|_| follow);
    // `--follow` without the context it was set up for: the full path says what is missing.
    if follow && pinned.is_none() {
        return None;
    }
    let context = context.or_else(|| {
        std::env::var(config::CONTEXT_ENV)
            .ok()
            .filter(|name| !name.is_empty())
    });
    // A `.tokenctl` that does not count is said by the full path, which has logging.
    if (context.is_none() || follow)
        && matches!(config::here::current(), config::here::Here::Ignored { .. })
    {
        return None;
    }
    let set = Arc::new(ConfigSet::load_valid(&config::config_paths(None)).ok()?);
    // `--follow`: the context core picks; a note to print is the full path's.
    let context = match (&exec_info, pinned) {
        (Some(info), Some(pinned)) => {
            let (followed, note) =
                crate::commands::auth::exec_credential::followed(&set, Some(&pinned), info).ok()?;
            if note.is_some() {
                return None;
            }
            Some(followed)
        }
        _ => context,
    };
    let logins =
        crate::logins::logins_of(set, tokenctl_core::internal::http::DEFAULT_REQUEST_TIMEOUT)
            .ok()?;
    let usable = logins.cached(context.as_deref(), Freshness::CLI, handout)?;
    let token = usable.token().expose();
    let mut out = std::io::stdout().lock();
    match exec_info {
        None => writeln!(out, "{token}").ok()?,
        Some(info) => writeln!(
            out,
            "{}",
            render(info.api_version, token, usable.expires_at())
        )
        .ok()?,
    }
    Some(0)
}
