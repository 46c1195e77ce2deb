//! `auth refresh`: a new access token now.

use crate::GlobalArgs;
use crate::logins::{logins, waiting_visibly};
use crate::output::say;
use crate::output::{self};
use crate::runtime::block_on;
use anyhow::Result;
use tokenctl_core::internal::clock::{expiry_phrase, unix_now};
use tokenctl_core::internal::logins::{Freshness, Handout, Usable, Want};

/// `auth refresh`: a new access token now, whatever the old one's expiry.
#[derive(Debug, clap::Args)]
pub struct RefreshArgs {}

pub(crate) fn run(_args: RefreshArgs, global: &GlobalArgs) -> Result<()> {
    let logins = logins(global)?;
    output::notices(logins.set());
    let want = Want {
        freshness: Freshness::CLI,
        auto_refresh: true,
        force: true,
        handout: Handout::Access,
    };
    let Usable {
        context,
        login,
        warning,
        ..
    } = block_on(waiting_visibly(
        logins.usable(global.context.as_deref(), want),
    ))??;
    if let Some(warning) = warning {
        output::warn(warning);
    }
    say!(
        "Refreshed the login of context {context:?}; the access token {}.",
        expiry_phrase(login.expires_at, unix_now())
    );
    Ok(())
}
