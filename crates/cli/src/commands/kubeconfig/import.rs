//! `kubeconfig import`: the plan core makes of kubelogin users, said, applied as one edit, and
//! the kube users pointed at tokenctl.

use super::document::*;
use super::setup::tokenctl_user;
use crate::GlobalArgs;
use crate::output::say;
use anyhow::{Context, Result, anyhow};
use serde_yaml_ng::Mapping;
use std::path::PathBuf;
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::config::import as plan;

/// `kubeconfig import`: the plan core makes, said, then applied as one edit of the contexts
/// file, then the kube users pointed at tokenctl.
pub(super) fn run(
    global: &GlobalArgs,
    kubeconfig: Option<PathBuf>,
    dry_run: bool,
    keep: bool,
) -> Result<()> {
    let path = kubeconfig.unwrap_or_else(default_kubeconfig);
    let document = read_kubeconfig(&path)?;
    let root = document
        .as_mapping()
        .ok_or_else(|| anyhow!("{}: the kubeconfig is not a mapping", path.display()))?;
    let paths = global.config_paths();
    let set = ConfigSet::load_valid(&paths)?;
    let plan = plan::plan(root, &path, &set);
    for skipped in &plan.skipped {
        say!("kube user {:?}{}", skipped.user, skipped.why);
        for option in &skipped.unmapped {
            say!("  not mapped: {}", shown_option(option));
        }
    }
    if plan.planned.is_empty() {
        say!(
            "{}: no user runs int128/kubelogin or Azure kubelogin; nothing to import.",
            path.display()
        );
        return Ok(());
    }
    for planned in &plan.planned {
        say_planned(planned);
    }
    if dry_run {
        say!("Dry run: nothing was changed.");
        return Ok(());
    }
    let outcome = ConfigSet::apply_all(&paths, &plan.edits(&set))?;
    say!(
        "Created {} context(s) in {}.",
        plan.planned.len(),
        outcome.path.display()
    );
    if keep {
        say!("The kubeconfig's users are unchanged (--keep).");
        return Ok(());
    }
    let users: Vec<(String, Mapping)> = plan
        .planned
        .iter()
        .map(|planned| {
            Ok((
                planned.user.clone(),
                tokenctl_user(global, &planned.context, false)?,
            ))
        })
        .collect::<Result<_>>()?;
    edit_kubeconfig(&path, |root| {
        tokenctl_core::internal::fsutil::copy_to_backup(&path, &backup_path(&path))
            .with_context(|| format!("cannot back up {}", path.display()))?;
        for (name, user) in users {
            upsert(root, &path, "users", &name, "user", user)?;
        }
        Ok(Some(()))
    })?;
    say!(
        "The kube users run `tokenctl auth exec-credential` now; the old kubeconfig is in {}.",
        backup_path(&path).display()
    );
    Ok(())
}

/// One line for a user to import, and its options that have no counterpart.
pub(super) fn say_planned(planned: &plan::Planned) {
    let flow = planned
        .imported
        .flow
        .map(|flow| format!(", flow {}", flow.as_str()))
        .unwrap_or_default();
    let cluster = planned
        .cluster
        .as_ref()
        .map(|(name, _)| format!(", cluster {name:?}"))
        .unwrap_or_default();
    say!(
        "kube user {:?} ({}) → provider {:?} ({}), context {:?}{flow}{cluster}, the {} token for kubectl",
        planned.user,
        planned.imported.tool,
        planned.context,
        planned.imported.kind,
        planned.context,
        planned.imported.cluster_token.as_str()
    );
    for option in &planned.imported.unmapped {
        say!("  not mapped: {}", shown_option(option));
    }
}

/// A kubelogin option as shown: neutralised for the terminal, and the value of one that names
/// a password, secret or token replaced by `…` (it would end in scrollback and CI logs).
pub(super) fn shown_option(option: &str) -> String {
    let (name, value) = option.split_once('=').unwrap_or((option, ""));
    let lower = name.to_ascii_lowercase();
    let secret = ["password", "secret", "token"]
        .iter()
        .any(|word| lower.contains(word))
        && !value.is_empty()
        && !lower.contains("cache");
    let shown = if secret {
        format!("{name}=…")
    } else {
        option.to_owned()
    };
    tokenctl_core::internal::text::printable(&shown).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile kubeconfig's options reach the terminal neutralised, and secrets do not reach
    /// it at all (the security review's L4).
    #[test]
    fn unmapped_options_are_neutralised_and_secrets_hidden() {
        assert_eq!(
            shown_option("--password=hunter2-KUBE-PASSWORD"),
            "--password=…"
        );
        assert_eq!(shown_option("--client-secret=s3cret"), "--client-secret=…");
        assert_eq!(
            shown_option("--token-cache-dir=/tmp/kubelogin-cache"),
            "--token-cache-dir=/tmp/kubelogin-cache"
        );
        let forged = shown_option("--x=\u{1b}]0;OWNED\u{7}\u{1b}[2J\rnot mapped: nothing");
        assert!(
            !forged.contains('\u{1b}') && !forged.contains('\r'),
            "{forged:?}"
        );
    }
}
