//! `kubeconfig remove`: what `setup` wrote for the context.

use super::document::*;
use super::setup::Ours;
use crate::GlobalArgs;
use crate::output::say;
use anyhow::Result;
use serde_yaml_ng::Value;
use std::path::PathBuf;
use tokenctl_core::internal::config::ConfigSet;
use tokenctl_core::internal::config::import::{context_field, section};

pub(super) fn run(global: &GlobalArgs, kubeconfig: Option<PathBuf>) -> Result<()> {
    let set = ConfigSet::load_valid(&global.config_paths())?;
    let context = set.resolve(global.context.as_deref())?.context.name.clone();
    let path = kubeconfig.unwrap_or_else(default_kubeconfig);
    let removed = edit_kubeconfig(&path, |root| {
        let ours = Ours::find(root, &context);
        let Some(user) = ours.user.clone() else {
            return Ok(None);
        };
        retain(root, "users", |name| name != user);
        if let Some(kube_context) = &ours.context {
            retain(root, "contexts", |name| name != kube_context);
            if root.get("current-context").and_then(Value::as_str) == Some(kube_context.as_str()) {
                root.remove("current-context");
            }
        }
        if let Some(cluster) = &ours.cluster {
            let still_used = section(root, "contexts")
                .iter()
                .any(|entry| context_field(entry, "cluster") == Some(cluster.as_str()));
            if !still_used {
                retain(root, "clusters", |name| name != cluster);
            }
        }
        Ok(Some((user, ours.context)))
    })?;
    match removed {
        Some((user, kube_context)) => say!(
            "Removed user {user:?}{} from {}.",
            kube_context
                .map(|c| format!(" and kube context {c:?}"))
                .unwrap_or_default(),
            path.display()
        ),
        None => say!(
            "{} has nothing tokenctl wrote for context {context:?}.",
            path.display()
        ),
    }
    Ok(())
}
