//! `auth git-credential`: git's credential helper protocol, for the hosts a context maps.

use crate::GlobalArgs;
use crate::logins::usable_login;
use crate::runtime::block_on;
use anyhow::Result;
use clap::ValueEnum;
use std::io::{BufRead, Write};
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::config::hosts::HostMap;
use tokenctl_core::internal::logins::{Freshness, Handout};

/// What git asks a credential helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GitOperation {
    Get,
    Store,
    Erase,
}

/// `key=value` lines up to a blank line or the end, as git's credential protocol sends them.
fn read_git_request(input: impl BufRead) -> Result<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for line in input.lines().take(1000) {
        let line = line?;
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once('=') {
            fields.push((key.to_owned(), value.to_owned()));
        }
    }
    Ok(fields)
}

/// `auth git-credential get|store|erase`: git's credential-helper protocol. `get` answers the
/// hosts mapped by a context's `git-hosts` (an unmapped host gets nothing, and git asks the
/// next helper); `erase` (git's answer to a 401) makes the next `get` renew; `store` does
/// nothing: the token is tokenctl's to keep.
#[derive(Debug, clap::Args)]
pub struct GitCredentialArgs {
    /// What git asks (it sends the request on stdin)
    #[arg(value_enum)]
    operation: GitOperation,
}

pub(crate) fn run(args: GitCredentialArgs, global: &GlobalArgs) -> Result<()> {
    let operation = args.operation;
    let request = read_git_request(std::io::stdin().lock())?;
    let field = |name: &str| {
        request
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if operation == GitOperation::Store {
        return Ok(());
    }
    let (Some(protocol), Some(host)) = (field("protocol"), field("host")) else {
        return Ok(());
    };
    if protocol != "https" && !(protocol == "http" && crate::commands::loopback(host)) {
        return Ok(());
    }
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let Some(context) = set.context_for_host(HostMap::Git, host)? else {
        return Ok(());
    };
    let name = context.name.clone();
    let username = HostMap::Git.username(context).to_owned();
    let global = GlobalArgs {
        context: Some(name.clone()),
        ..global.clone()
    };
    match operation {
        GitOperation::Get => {
            let login = usable_login(&global, Freshness::CLI, Handout::Access)?.login;
            let mut out = std::io::stdout().lock();
            writeln!(out, "username={username}")?;
            writeln!(out, "password={}", login.access_token.expose())?;
            if let Some(at) = login.expires_at {
                writeln!(out, "password_expiry_utc={at}")?;
            }
        }
        GitOperation::Erase => {
            let logins = crate::logins::logins(&global)?;
            block_on(logins.distrust_access_token(Some(&name), field("password")))??;
        }
        GitOperation::Store => {}
    }
    Ok(())
}
