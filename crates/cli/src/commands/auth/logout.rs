//! `auth logout [--all]`: revoke where the provider can, then remove the login here.

use crate::GlobalArgs;
use crate::logins::logins;
use crate::output::say;
use crate::runtime::block_on;
use anyhow::Result;
use tokenctl_core::internal::flows::RevokeError;
use tokenctl_core::internal::logins::LoggedOut;

/// `auth logout [--all]`: revoke the refresh token where the provider can, then remove the
/// login here whatever the provider said.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// Every stored login, not only the context's
    #[arg(long)]
    all: bool,
}

pub(crate) fn run(args: LogoutArgs, global: &GlobalArgs) -> Result<()> {
    let all = args.all;
    let logins = logins(global)?;
    let removed = if all {
        block_on(logins.logout_all())??
    } else {
        match block_on(logins.logout(global.context.as_deref()))?? {
            Some(out) => vec![out],
            None => {
                let found = logins.find(global.context.as_deref())?;
                say!(
                    "not logged in to {} (context {:?}); nothing to log out of.",
                    found.identity.provider,
                    found.context
                );
                return Ok(());
            }
        }
    };
    if removed.is_empty() {
        say!("No stored logins; nothing to log out of.");
    }
    for out in removed {
        say_logged_out(&out);
    }
    Ok(())
}

fn say_logged_out(out: &LoggedOut) {
    let provider = &out.provider;
    match &out.revoked {
        Ok(true) => say!("Revoked the refresh token at {provider} and removed the login."),
        Ok(false) => say!("Removed the login to {provider} (it had no refresh token)."),
        Err(err @ RevokeError::NotOffered(_)) => say!(
            "Removed the login to {provider} here; {err}, so its refresh token stays valid until it expires or is revoked in the provider's portal."
        ),
        Err(err) => say!(
            "warning: could not revoke the refresh token at {provider} ({err}); removed the login here anyway."
        ),
    }
    if !out.also.is_empty() {
        say!(
            "Contexts {} used the same login and are logged out too.",
            out.also.join(", ")
        );
    }
    if out.renewable {
        say!(
            "It is not acquired again on its own until `{}` is run.",
            out.login_again
        );
    }
}
