//! The command tree, a file or directory per command, as `tokenctl --help` lists them.

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod completion;
pub(crate) mod config;
pub mod docker_credential;
pub(crate) mod exec;
pub(crate) mod kubeconfig;
pub(crate) mod plugin;
pub(crate) mod proxy;
pub(crate) mod version;

/// Whether a credential helper's `host` (a name, an address, with a port) is this machine:
/// plain http is answered only there, as git's own helpers do.
fn loopback(host: &str) -> bool {
    url::Url::parse(&format!("http://{host}/"))
        .is_ok_and(|url| tokenctl_core::base_url::is_loopback(&url))
}
