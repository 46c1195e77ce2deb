//! `config view`: the merged contexts files as one document, secrets redacted.

use std::collections::HashSet;

use serde_yaml_ng::{Mapping, Value};

use super::edit::Section;
use super::{ConfigError, ConfigSet};
use crate::provider::{self, FieldKind};

const REDACTED: &str = "REDACTED";
const OMITTED: &str = "DATA+OMITTED";

impl ConfigSet {
    /// The merged document: each list entry from the first file that defines its name, each
    /// other top-level key from the first file that has it. Unknown keys are shown as they are.
    pub fn view(&self, raw: bool, only_context: Option<&str>) -> Result<Value, ConfigError> {
        let mut merged = Mapping::new();
        let mut seen: HashSet<(Section, String)> = HashSet::new();
        for file in &self.files {
            let Some(text) = file.read_text()? else {
                continue;
            };
            let Ok(Value::Mapping(root)) = serde_yaml_ng::from_str::<Value>(&text) else {
                continue;
            };
            for (key, value) in root {
                let section = [Section::Providers, Section::Clusters, Section::Contexts]
                    .into_iter()
                    .find(|section| key.as_str() == Some(section.key()));
                match (section, value) {
                    (Some(section), Value::Sequence(entries)) => {
                        let slot = merged
                            .entry(key)
                            .or_insert_with(|| Value::Sequence(Vec::new()));
                        if let Value::Sequence(list) = slot {
                            for entry in entries {
                                let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
                                if seen.insert((section, name.to_owned())) {
                                    list.push(entry);
                                }
                            }
                        }
                    }
                    (_, value) => {
                        if !merged.contains_key(&key) {
                            merged.insert(key, value);
                        }
                    }
                }
            }
        }
        if let Some(name) = only_context {
            let resolved = self.resolve(Some(name))?;
            let keep = |section: Section| match section {
                Section::Contexts => Some(resolved.context.name.clone()),
                Section::Providers => resolved.provider.map(|p| p.name.clone()),
                Section::Clusters => resolved.cluster.map(|c| c.name.clone()),
            };
            for section in [Section::Providers, Section::Clusters, Section::Contexts] {
                if let Some(Value::Sequence(list)) = merged.get_mut(section.key()) {
                    let kept = keep(section);
                    list.retain(|entry| {
                        entry.get("name").and_then(Value::as_str) == kept.as_deref()
                    });
                }
            }
            merged.insert("current-context".into(), Value::from(name));
        }
        let mut document = Value::Mapping(merged);
        if !raw {
            redact(&mut document);
        }
        Ok(document)
    }
}

/// Replaces every secret with `REDACTED` and certificate data with `DATA+OMITTED`.
fn redact(document: &mut Value) {
    let secret_fields: HashSet<&str> = provider::providers()
        .iter()
        .flat_map(|dialect| dialect.fields())
        .filter(|field| field.kind == FieldKind::Secret)
        .map(|field| field.name)
        .collect();
    redact_value(document, &secret_fields);
}

fn redact_value(value: &mut Value, secret_fields: &HashSet<&str>) {
    match value {
        Value::Mapping(mapping) => {
            for (key, value) in mapping.iter_mut() {
                let key = key.as_str().unwrap_or("");
                if value.is_string() && key.ends_with("-data") {
                    *value = Value::from(OMITTED);
                } else if !value.is_mapping()
                    && !value.is_sequence()
                    && is_secret_key(key, secret_fields)
                {
                    *value = Value::from(REDACTED);
                } else {
                    redact_value(value, secret_fields);
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                redact_value(item, secret_fields);
            }
        }
        _ => {}
    }
}

/// A key whose value is a secret itself, not a reference to one (`client-secret-env` is not).
fn is_secret_key(key: &str, secret_fields: &HashSet<&str>) -> bool {
    secret_fields.contains(key) || names_a_secret(key)
}

/// A key whose name says its value is a secret (`client-secret`, `password`, `id-token`), not a
/// reference to one: the one rule for what is never shown.
pub(super) fn names_a_secret(key: &str) -> bool {
    // A context's own keys hold no secret: `cluster-token: id`, `subject-token: env:NAME`.
    if super::CONTEXT_KEYS.contains(&key) {
        return false;
    }
    let lower = key.to_ascii_lowercase();
    let is_reference = ["-env", "-file", "-path", "_env", "_file", "_path"]
        .iter()
        .any(|suffix| lower.ends_with(suffix));
    !is_reference
        && [
            "secret",
            "password",
            "token",
            "credential",
            "private-key",
            "private_key",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::names_a_secret;

    #[test]
    fn secrets_are_named_by_their_keys_and_references_and_context_keys_are_not() {
        for secret in ["client-secret", "password", "refresh_token", "private-key"] {
            assert!(names_a_secret(secret), "{secret}");
        }
        for shown in [
            "client-secret-env",
            "client-secret-file",
            "cluster-token",
            "subject-token",
            "ci-token-audience",
            "server",
        ] {
            assert!(!names_a_secret(shown), "{shown}");
        }
    }
}
