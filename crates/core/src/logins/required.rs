//! Why a person must sign in: one variant per cause, so that a program using
//! [`crate::Session`] can tell an expired login from a changed provider without reading text.

use std::time::Duration;

use super::store::Removed;
use crate::program::run_in;

/// Why no token can be had until a person signs in again (`auth login`); the CLI exits with
/// code 4 for each.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginRequired {
    /// No login is stored for the context; `removed` says what became of the last one.
    NotLoggedIn {
        /// The provider the context signs in at.
        provider: String,
        /// Logged out, or removed when its provider refused it; `None`: never signed in.
        removed: Option<Removed>,
    },
    /// The token is due and the login has no refresh token.
    NoRefreshToken {
        /// When it expires or expired, as a person reads it ("expired 5m ago").
        expiry: String,
    },
    /// The token is due and automatic refresh is off (`--no-auto-refresh`).
    AutoRefreshOff {
        /// When it expires or expired, as a person reads it.
        expiry: String,
    },
    /// The ID token handed to the cluster expired.
    IdTokenExpired {
        /// The provider returns no ID token on refresh, so only a sign-in gives a new one.
        not_refreshed: bool,
        /// The context's cluster takes the ID token, and `cluster-token: access` would do.
        access_would_do: bool,
    },
    /// The context's provider is not the one the login was made with.
    ProviderChanged {
        /// The provider (or issuer) of the stored login.
        from: String,
        /// The one the context names now.
        to: String,
    },
    /// The identity provider refused the refresh token (the session ended).
    Refused {
        /// The provider's reason, if it gave one.
        why: Option<String>,
    },
    /// The refresh token was refused after an earlier refresh timed out once sent: that refresh
    /// went through and replaced it.
    RefusedInDoubt {
        /// The provider's reason, if it gave one.
        why: Option<String>,
    },
    /// The client secret of a login that needs no person is missing.
    NoClientSecret {
        /// The provider whose secret is missing.
        provider: String,
        /// Where it was looked for.
        reason: String,
    },
    /// The last sign-in failed or was abandoned recently, and nobody is at a terminal.
    RecentlyFailed {
        /// How long ago.
        ago: Duration,
        /// How long until one is opened without a terminal again.
        wait: Duration,
    },
    /// The context signs in where its cluster says, which has not been done at a terminal.
    NeverSignedInAtCluster,
    /// A server answered HTTP 401 to the context's token, which had expired meanwhile.
    ExpiredAtServer,
}

impl LoginRequired {
    /// The sentence a person reads for `context`, with the command that fixes it.
    pub fn message(&self, context: &str) -> String {
        let login = run_in(context, "auth login");
        match self {
            LoginRequired::NotLoggedIn { provider, removed } => {
                let how = match removed {
                    Some(Removed::LoggedOut) => " (the last login was logged out)",
                    Some(Removed::Expired) => " (the session expired)",
                    None => "",
                };
                format!("not logged in to {provider} (context {context:?}): run `{login}`{how}")
            }
            LoginRequired::NoRefreshToken { expiry } => format!(
                "the access token for context {context:?} {expiry} and there is no refresh token: run `{login}`"
            ),
            LoginRequired::AutoRefreshOff { expiry } => format!(
                "the access token for context {context:?} {expiry}, and --no-auto-refresh is set: run `{}` or `{login}`",
                run_in(context, "auth refresh"),
            ),
            LoginRequired::IdTokenExpired {
                not_refreshed,
                access_would_do,
            } => format!(
                "the ID token of context {context:?} expired{}: run `{login}`{}",
                if *not_refreshed {
                    ", and its provider returns no ID token on refresh"
                } else {
                    ""
                },
                if *access_would_do {
                    ", or set `cluster-token: access` for it"
                } else {
                    ""
                },
            ),
            LoginRequired::ProviderChanged { from, to } => format!(
                "the provider of context {context:?} changed since you logged in ({from} → {to}): run `{login}`"
            ),
            LoginRequired::Refused { why: None } => format!("session expired: run `{login}`"),
            LoginRequired::Refused { why: Some(why) } => {
                format!("{why}. Sign in again: run `{login}`")
            }
            LoginRequired::RefusedInDoubt { why } => format!(
                "{}: sign in again: run `{login}`",
                in_doubt(context, why.as_deref())
            ),
            LoginRequired::NoClientSecret { provider, reason } => format!(
                "{reason}; or give the secret of {provider} once: run `{}`",
                run_in(context, "auth login --client-secret-stdin")
            ),
            LoginRequired::RecentlyFailed { ago, wait } => format!(
                "the last sign-in for context {context:?} failed or was abandoned {} ago, so {} opens no other without a terminal for {}: run `{login}`",
                crate::clock::human_duration(secs(*ago)),
                crate::program::name(),
                crate::clock::human_duration(secs(*wait)),
            ),
            LoginRequired::ExpiredAtServer => format!(
                "authentication required: run `{login}` (the server answered HTTP 401 to the expired token of context {context:?})"
            ),
            LoginRequired::NeverSignedInAtCluster => format!(
                "context {context:?} signs in where its cluster says, and you have not signed in there yet: run `{login}` at a terminal once"
            ),
        }
    }
}

/// What happened to a refresh token refused after a refresh that timed out once sent.
pub(super) fn in_doubt(context: &str, why: Option<&str>) -> String {
    format!(
        "a refresh of context {context:?} timed out earlier after it was sent, and the identity provider has since refused the refresh token kept{}",
        why.map(|why| format!(" ({why})")).unwrap_or_default()
    )
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
