//! `auth exec-credential`: the exec credential plugin kubectl runs (ExecCredential v1 and
//! v1beta1), and the ExecCredential document the hot path prints too.

use crate::output::say;
use std::io::IsTerminal;
use tokenctl_core::program;

use anyhow::{Result, anyhow};
use tokenctl_core::internal::config::{CalledCluster, ConfigSet, CredentialStore};
use tokenctl_core::internal::logins::{Freshness, Handout};

use crate::terminal::SystemBrowser;
use crate::{GlobalArgs, is_login_required, output};
use tokenctl_core::internal::flows::BrowserOpener;

/// The ExecCredential versions kubectl speaks; the first is the default when kubectl sends no
/// KUBERNETES_EXEC_INFO (as kubectl before 1.22 did).
pub const API_VERSIONS: [&str; 2] = [
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1",
];

/// What kubectl says about the call, from `KUBERNETES_EXEC_INFO`.
pub struct ExecInfo {
    pub api_version: &'static str,
    /// Whether a person can answer prompts (kubectl's stdin is a terminal).
    pub interactive: bool,
    /// The cluster kubectl calls, when the kube user has `provideClusterInfo: true`.
    pub cluster: Option<CalledCluster>,
}

impl ExecInfo {
    /// Reads `KUBERNETES_EXEC_INFO`; without it, v1beta1 and interactive when stdin is a
    /// terminal.
    pub fn from_env() -> Result<ExecInfo> {
        match std::env::var("KUBERNETES_EXEC_INFO") {
            Ok(text) if !text.trim().is_empty() => ExecInfo::parse(&text),
            _ => Ok(ExecInfo {
                api_version: API_VERSIONS[0],
                interactive: std::io::stdin().is_terminal(),
                cluster: None,
            }),
        }
    }

    pub fn parse(text: &str) -> Result<ExecInfo> {
        let info: serde_json::Value = serde_json::from_str(text)
            .map_err(|err| anyhow!("KUBERNETES_EXEC_INFO is not JSON: {err}"))?;
        let version = info
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow!("KUBERNETES_EXEC_INFO has no apiVersion"))?;
        let api_version = API_VERSIONS
            .into_iter()
            .find(|known| *known == version)
            .ok_or_else(|| {
                anyhow!(
                    "KUBERNETES_EXEC_INFO asks for apiVersion {version:?}; tokenctl speaks {}",
                    API_VERSIONS.join(" and ")
                )
            })?;
        let interactive = info
            .pointer("/spec/interactive")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        // client-go's `Cluster`: `server`, and `certificate-authority-data` as base64 (the
        // kubeconfig's `certificate-authority` file read into it).
        let cluster = info.pointer("/spec/cluster").and_then(|cluster| {
            let server = cluster.get("server")?.as_str()?.to_owned();
            let ca_data = cluster
                .get("certificate-authority-data")
                .and_then(|data| data.as_str())
                .map(str::to_owned);
            Some(CalledCluster { server, ca_data })
        });
        Ok(ExecInfo {
            api_version,
            interactive,
            cluster,
        })
    }
}

/// `--follow` (a kube user `kubeconfig setup --follow` wrote): the context to serve instead of
/// the pinned one (`--context`), as core decides, and its note on stderr when it could not
/// follow.
pub fn followed(
    set: &ConfigSet,
    pinned: Option<&str>,
    info: &ExecInfo,
) -> Result<(String, Option<String>)> {
    let pinned = pinned.ok_or_else(|| {
        anyhow!("--follow needs --context NAME: the context this kube user was set up for")
    })?;
    let from_env = std::env::var(tokenctl_core::internal::config::CONTEXT_ENV)
        .ok()
        .filter(|name| !name.is_empty());
    let followed = set.followed(pinned, from_env.as_deref(), info.cluster.as_ref());
    Ok((followed.context.to_owned(), followed.note))
}

/// The ExecCredential kubectl reads from stdout.
pub fn render(api_version: &str, token: &str, expires_at: Option<i64>) -> String {
    let mut status = serde_json::json!({ "token": token });
    if let Some(at) = expires_at {
        status["expirationTimestamp"] = output::rfc3339(at).into();
    }
    let credential = serde_json::json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": status,
    });
    credential.to_string()
}

/// `auth exec-credential`: a fresh token for kubectl. Without a usable login it logs in when a
/// person is there (prompts and URLs on stderr), else fails at once with exit code 4.
#[derive(Debug, clap::Args)]
pub struct ExecCredentialArgs {
    /// Serve the context TOKENCTL_CONTEXT, .tokenctl or current-context names, when its
    /// cluster is the one kubectl calls (same server and CA); else the --context one, with
    /// a note (`kubeconfig setup --follow` writes this)
    #[arg(long)]
    follow: bool,
}

pub(crate) fn run(args: ExecCredentialArgs, global: &GlobalArgs) -> Result<()> {
    let follow = args.follow;
    let info = ExecInfo::from_env()?;
    let following;
    let global = if follow {
        let set = ConfigSet::load_valid(&global.config_paths())?;
        let (context, note) = followed(&set, global.context.as_deref(), &info)?;
        if let Some(note) = note {
            say!("note: {note}");
        }
        following = GlobalArgs {
            context: Some(context),
            ..global.clone()
        };
        &following
    } else {
        global
    };
    let usable = match crate::logins::usable_login(global, Freshness::CLI, Handout::Cluster) {
        Ok(usable) => usable,
        Err(err) if is_login_required(&err) => {
            if !info.interactive {
                // A GUI (Lens, Headlamp, an IDE) or `kubectl < file`: a browser can still be
                // shown, where there is one, for the browser and device flows; never in CI.
                let logins = crate::logins::logins(global)?;
                let flow = logins.sign_in_flow(global.context.as_deref(), None)?;
                let browser = SystemBrowser {
                    open: true,
                    command: SystemBrowser::command(
                        logins.sign_in_browser(global.context.as_deref(), None)?,
                    )?,
                };
                let shown = flow.opens_a_page() && browser.available();
                if std::env::var_os("CI").is_some() || !shown {
                    return Err(err.context(
                        "kubectl runs tokenctl without a terminal, so it cannot log in here",
                    ));
                }
            }
            let set = ConfigSet::load_valid(&global.config_paths())?;
            if set.credential_store()? == CredentialStore::None {
                return Err(err.context(format!(
                    "credential-store: none keeps no login for kubectl; log in with `{}` and use another store",
                    program::run("auth login")
                )));
            }
            say!("{err}; logging in now.");
            crate::commands::auth::login::login_when_missing(global, info.interactive)?;
            crate::logins::usable_login(global, Freshness::CLI, Handout::Cluster)?
        }
        Err(err) => return Err(err),
    };
    let credential = render(
        info.api_version,
        usable.token().expose(),
        usable.expires_at(),
    );
    std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        format!("{credential}\n").as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_info_versions() {
        let v1 = ExecInfo::parse(
            r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}"#,
        )
        .unwrap();
        assert_eq!(v1.api_version, "client.authentication.k8s.io/v1");
        assert!(v1.interactive);
        let beta =
            ExecInfo::parse(r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}"#)
                .unwrap();
        assert!(!beta.interactive);
        let err = ExecInfo::parse(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("\"client.authentication.k8s.io/v2\""), "{err}");
        assert!(ExecInfo::parse("{").is_err());
    }

    #[test]
    fn the_credential_has_token_and_expiry() {
        let text = render("client.authentication.k8s.io/v1", "abc", Some(0));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["status"]["token"], "abc");
        assert_eq!(
            value["status"]["expirationTimestamp"],
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(value["kind"], "ExecCredential");
    }
}
