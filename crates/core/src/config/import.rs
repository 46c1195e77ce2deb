//! `kubeconfig import` as a plan: which kubeconfig users run a kubelogin, what each becomes in
//! tokenctl (a provider and a context named after the kube context, and its cluster), which are
//! left out and why; then the edits that create them, applied as one ([`ConfigSet::apply_all`]).

use std::path::Path;

use indexmap::IndexMap;
use serde_yaml_ng::{Mapping, Value};

use super::kubelogin::{self, Imported};
use super::{ConfigSet, Edit, Section};

/// The entries of a kubeconfig section (empty when missing or not a list).
pub fn section<'a>(root: &'a Mapping, name: &str) -> &'a [Value] {
    root.get(name)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// The entry of `section` called `name`.
pub fn entry<'a>(root: &'a Mapping, section_name: &str, name: &str) -> Option<&'a Value> {
    section(root, section_name)
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// A field of a kubeconfig context entry (`context: {cluster, user, namespace}`).
pub fn context_field<'a>(entry: &'a Value, field: &str) -> Option<&'a str> {
    entry.get("context")?.get(field)?.as_str()
}

/// What importing a kubeconfig would do.
#[derive(Debug, Default)]
pub struct ImportPlan {
    pub planned: Vec<Planned>,
    pub skipped: Vec<Skipped>,
}

/// One kube user to import, and what it becomes.
#[derive(Debug)]
pub struct Planned {
    pub user: String,
    pub imported: Imported,
    /// The name of the new provider and context: the kube context's (else the user's).
    pub context: String,
    /// The kube context's cluster, as a tokenctl cluster.
    pub cluster: Option<(String, IndexMap<String, Value>)>,
}

/// A kubelogin user left out, and why (one line for a person).
#[derive(Debug)]
pub struct Skipped {
    pub user: String,
    /// What follows `kube user "NAME"` in the line that says so.
    pub why: String,
    /// Its options without a tokenctl counterpart, as written.
    pub unmapped: Vec<String>,
}

/// The plan for the kubeconfig `root` read from `path`, beside the contexts files `set`; each
/// user's provider is checked by its dialect.
pub fn plan(root: &Mapping, path: &Path, set: &ConfigSet) -> ImportPlan {
    plan_checked(root, path, set, problems_of)
}

/// [`plan`], with the check of a translated provider given (the unit tests link no dialect).
fn plan_checked(
    root: &Mapping,
    path: &Path,
    set: &ConfigSet,
    problems_of: impl Fn(&str, &Imported) -> Vec<String>,
) -> ImportPlan {
    let mut plan = ImportPlan::default();
    for user in section(root, "users") {
        let Some(name) = user.get("name").and_then(Value::as_str) else {
            continue;
        };
        let Some(imported) = user
            .get("user")
            .and_then(|u| u.get("exec"))
            .and_then(kubelogin_of)
        else {
            continue;
        };
        let skip = |why: String, unmapped: Vec<String>| Skipped {
            user: name.to_owned(),
            why,
            unmapped,
        };
        let problems = problems_of(name, &imported);
        if !problems.is_empty() {
            let why = format!(
                " ({}): not imported: {}",
                imported.tool,
                problems.join("; ")
            );
            plan.skipped.push(skip(why, imported.unmapped));
            continue;
        }
        let kube_context = section(root, "contexts")
            .iter()
            .find(|entry| context_field(entry, "user") == Some(name));
        let context = kube_context
            .and_then(|entry| entry.get("name")?.as_str())
            .unwrap_or(name)
            .to_owned();
        let taken = [
            (set.context(&context).is_some(), "context"),
            (set.provider(&context).is_some(), "provider"),
        ];
        if let Some((_, what)) = taken.iter().find(|(taken, _)| *taken) {
            let why = format!(": tokenctl already has a {what} {context:?}; not imported");
            plan.skipped.push(skip(why, Vec::new()));
            continue;
        }
        let cluster = kube_context
            .and_then(|entry| context_field(entry, "cluster"))
            .and_then(|cluster| {
                let fields = entry(root, "clusters", cluster)?
                    .get("cluster")?
                    .as_mapping()?;
                Some((cluster.to_owned(), tokenctl_cluster(fields, path)))
            });
        plan.planned.push(Planned {
            user: name.to_owned(),
            imported,
            context,
            cluster,
        });
    }
    plan
}

/// The kubelogin an exec entry runs, translated.
fn kubelogin_of(exec: &Value) -> Option<Imported> {
    let command = exec
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let args: Vec<String> = exec
        .get("args")
        .and_then(Value::as_sequence)
        .map(|args| {
            args.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    kubelogin::from_exec(command, &args)
}

/// What the provider's dialect says of the translated fields.
fn problems_of(name: &str, imported: &Imported) -> Vec<String> {
    crate::provider::provider(imported.kind)
        .map(|dialect| {
            let config = crate::provider::ProviderConfig {
                name,
                fields: &imported.fields,
            };
            crate::provider::validate_provider(dialect, &config)
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl ImportPlan {
    /// The edits that create what is planned: a provider, a cluster the contexts files do not
    /// have yet, and a context of both, for each user.
    pub fn edits(&self, set: &ConfigSet) -> Vec<Edit> {
        let mut edits = Vec::new();
        for planned in &self.planned {
            let mut fields = planned.imported.fields.clone();
            fields.insert("kind".into(), Value::from(planned.imported.kind));
            edits.push(Edit::set_fields(
                Section::Providers,
                &planned.context,
                fields,
            ));
            let mut context = IndexMap::new();
            context.insert("provider".to_owned(), Value::from(planned.context.as_str()));
            if let Some(flow) = planned.imported.flow {
                context.insert("flow".to_owned(), Value::from(flow.as_str()));
            }
            context.insert(
                "cluster-token".to_owned(),
                Value::from(planned.imported.cluster_token.as_str()),
            );
            if let Some((name, fields)) = &planned.cluster {
                let created = edits.iter().any(|edit| {
                    matches!(edit, Edit::SetEntry { section: Section::Clusters, name: made, .. } if made == name)
                });
                if set.cluster(name).is_none() && !created {
                    edits.push(Edit::set_fields(Section::Clusters, name, fields.clone()));
                }
                context.insert("cluster".to_owned(), Value::from(name.as_str()));
            }
            edits.push(Edit::set_fields(
                Section::Contexts,
                &planned.context,
                context,
            ));
        }
        edits
    }
}

/// A kubeconfig cluster as a tokenctl cluster: the fields both know, a relative CA path read
/// from the kubeconfig's directory as kubectl reads it.
fn tokenctl_cluster(kube: &Mapping, kubeconfig: &Path) -> IndexMap<String, Value> {
    let mut cluster = IndexMap::new();
    for key in super::CLUSTER_KEYS {
        let Some(value) = kube.get(key) else {
            continue;
        };
        let value = match (key, value.as_str()) {
            ("certificate-authority", Some(file)) if Path::new(file).is_relative() => {
                let dir = kubeconfig.parent().unwrap_or(Path::new("."));
                Value::from(crate::fsutil::absolute_text(
                    dir.join(file).display().to_string(),
                ))
            }
            _ => value.clone(),
        };
        cluster.insert(key.to_owned(), value);
    }
    cluster
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(text: &str) -> Mapping {
        serde_yaml_ng::from_str(text).unwrap()
    }

    /// The oidc dialect's rule for these tests: a client id is required.
    fn plan(root: &Mapping, path: &Path, set: &ConfigSet) -> ImportPlan {
        plan_checked(root, path, set, |_, imported| {
            if imported.fields.contains_key("client-id") {
                Vec::new()
            } else {
                vec!["field `client-id` is required".to_owned()]
            }
        })
    }

    const KUBECONFIG: &str = "
clusters:
- name: c
  cluster: {server: 'https://api.example.com', certificate-authority: ca.pem, proxy-url: 'http://p'}
users:
- name: oidc
  user:
    exec:
      command: kubectl
      args: [oidc-login, get-token, '--oidc-issuer-url=https://sso.example.com/realms/r', --oidc-client-id=cli, --token-cache-dir=/x]
- name: broken
  user:
    exec: {command: kubectl, args: [oidc-login, get-token]}
- name: plain
  user: {token: abc}
contexts:
- name: dev
  context: {cluster: c, user: oidc}
";

    /// Each kubelogin user becomes a provider and a context named after its kube context,
    /// with its cluster (a relative CA read beside the kubeconfig, fields tokenctl does not
    /// know left out); a user whose options make no provider is left out with the reason, and
    /// a user that runs no kubelogin is not mentioned.
    #[test]
    fn a_kubeconfig_becomes_a_plan_of_providers_contexts_and_clusters() {
        let set = ConfigSet::of(Vec::new());
        let plan = plan(
            &kubeconfig(KUBECONFIG),
            Path::new("/home/me/.kube/config"),
            &set,
        );
        assert_eq!(plan.planned.len(), 1);
        let planned = &plan.planned[0];
        assert_eq!(
            (planned.user.as_str(), planned.context.as_str()),
            ("oidc", "dev")
        );
        assert_eq!(
            planned.imported.unmapped.len(),
            1,
            "{:?}",
            planned.imported.unmapped
        );
        let (name, cluster) = planned.cluster.as_ref().unwrap();
        assert_eq!(name, "c");
        assert_eq!(
            cluster.get("certificate-authority"),
            Some(&Value::from("/home/me/.kube/ca.pem"))
        );
        assert!(!cluster.contains_key("proxy-url"));
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].user, "broken");
        assert!(
            plan.skipped[0].why.contains("not imported"),
            "{:?}",
            plan.skipped
        );

        let edits = plan.edits(&set);
        let made: Vec<(Section, &str)> = edits
            .iter()
            .map(|edit| match edit {
                Edit::SetEntry { section, name, .. } => (*section, name.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            made,
            [
                (Section::Providers, "dev"),
                (Section::Clusters, "c"),
                (Section::Contexts, "dev")
            ]
        );
    }

    /// A name tokenctl already has is never overwritten: that user is left out.
    #[test]
    fn a_name_tokenctl_has_is_left_alone() {
        let path = Path::new("/c.yaml");
        let file = super::super::ConfigFile {
            path: path.to_path_buf(),
            exists: true,
            model: super::super::parse_typed(path, "contexts:\n  - {name: dev, provider: p}\n")
                .unwrap(),
            fingerprint: None,
            untrusted: None,
        };
        let set = ConfigSet::of(vec![file]);
        let plan = plan(&kubeconfig(KUBECONFIG), Path::new("/k"), &set);
        assert!(plan.planned.is_empty());
        assert!(
            plan.skipped
                .iter()
                .any(|s| s.why == ": tokenctl already has a context \"dev\"; not imported"),
            "{:?}",
            plan.skipped
        );
    }
}
