//! `docker-credential-tokenctl`: Docker's credential helper protocol, for the registries a
//! context maps.

use crate::GlobalArgs;
use crate::logins::usable_login;
use crate::output;
use anyhow::{Result, anyhow, bail};
use std::ffi::OsString;
use std::io::BufRead;
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::config::hosts::HostMap;
use tokenctl_core::internal::logins::{Freshness, Handout};

/// The name Docker runs a credential helper by: `credsStore: tokenctl` in
/// ~/.docker/config.json runs `docker-credential-tokenctl`.
pub const DOCKER_HELPER: &str = "docker-credential-tokenctl";

/// Docker's "not found" answer, which it takes for "no credentials here".
const DOCKER_NOT_FOUND: &str = "credentials not found in native keychain";

/// `docker-credential-tokenctl get|list|store|erase|version`: Docker's credential-helper
/// protocol for the registries mapped by a context's `registries`.
pub fn docker_credential(args: &[OsString]) -> u8 {
    let global = GlobalArgs::defaults();
    let operation = args.get(1).and_then(|arg| arg.to_str()).unwrap_or("");
    let result = match operation {
        "get" => docker_get(&global),
        "list" => docker_list(&global),
        // Docker hands over what `docker login` was given; the tokens are tokenctl's.
        "store" | "erase" => std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
            .map(drop)
            .map_err(Into::into),
        "version" => output::data_line(format_args!(
            "{DOCKER_HELPER} (tokenctl {})",
            env!("CARGO_PKG_VERSION")
        ))
        .map_err(Into::into),
        _ => Err(anyhow!(
            "usage: {DOCKER_HELPER} get|list|store|erase|version (Docker runs it for `credsStore: tokenctl` or `credHelpers`)"
        )),
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            // Docker reads the helper's stdout for the reason.
            let _ = output::data_line(format_args!("{err:#}"));
            1
        }
    }
}

fn docker_get(global: &GlobalArgs) -> Result<()> {
    let mut server = String::new();
    std::io::stdin().lock().read_line(&mut server)?;
    let server = server.trim();
    // As for git: an explicit plain-http registry gets no token, unless it is this machine.
    if let Some(host) = server
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &server[7..])
        && !super::loopback(host.split('/').next().unwrap_or_default())
    {
        bail!("{DOCKER_NOT_FOUND}");
    }
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let Some(context) = set.context_for_host(HostMap::Registry, server)? else {
        bail!("{DOCKER_NOT_FOUND}");
    };
    let username = HostMap::Registry.username(context).to_owned();
    let global = GlobalArgs {
        context: Some(context.name.clone()),
        ..global.clone()
    };
    let login = usable_login(&global, Freshness::CLI, Handout::Access)?.login;
    let reply = serde_json::json!({
        "ServerURL": server,
        "Username": username,
        "Secret": login.access_token.expose(),
    });
    output::data_line(reply)?;
    Ok(())
}

/// Whether `host` (`name[:port]`) is this machine: a token never goes over plain http to
/// another (core's rule for URLs).
fn docker_list(global: &GlobalArgs) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let listed: serde_json::Map<String, serde_json::Value> = set
        .mapped_hosts(HostMap::Registry)
        .into_iter()
        .map(|(host, context)| {
            (
                host.to_owned(),
                HostMap::Registry.username(context).to_owned().into(),
            )
        })
        .collect();
    output::data_line(serde_json::Value::Object(listed))?;
    Ok(())
}
