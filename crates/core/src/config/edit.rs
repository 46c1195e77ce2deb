//! Edits of the contexts file. They are applied to the file's YAML tree, so keys tokenctl
//! does not know are kept, under a lock, and written atomically, and only when they add no
//! problem to the merged set.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde_yaml_ng::{Mapping, Value};

use super::cache::{self, Fingerprint};
use super::model::FileModel;
use super::{ConfigError, ConfigSet, Problem};
use crate::fsutil::{LockGuard, write_user_file};
use crate::provider;

/// A list section of the contexts file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Providers,
    Clusters,
    Contexts,
}

impl Section {
    /// The key in the file.
    pub fn key(self) -> &'static str {
        match self {
            Section::Providers => "providers",
            Section::Clusters => "clusters",
            Section::Contexts => "contexts",
        }
    }

    /// One entry, for messages.
    pub fn singular(self) -> &'static str {
        match self {
            Section::Providers => "provider",
            Section::Clusters => "cluster",
            Section::Contexts => "context",
        }
    }

    fn holds(self, model: &FileModel, name: &str) -> bool {
        match self {
            Section::Providers => model.providers.iter().any(|p| p.name == name),
            Section::Clusters => model.clusters.iter().any(|c| c.name == name),
            Section::Contexts => model.contexts.iter().any(|c| c.name == name),
        }
    }
}

/// One change to the contexts file.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Set `current-context`.
    UseContext(String),
    /// Set (or, with `None`, remove) a top-level key: one of [`TOP_LEVEL_KEYS`].
    SetTopLevel {
        key: String,
        value: Option<String>,
    },
    /// Create the entry or change its fields.
    SetEntry {
        section: Section,
        name: String,
        set: IndexMap<String, Value>,
        unset: Vec<String>,
    },
    DeleteEntry {
        section: Section,
        name: String,
    },
    RenameContext {
        from: String,
        to: String,
    },
}

impl Edit {
    /// Creates the entry `name` of `section`, or sets these fields of it.
    pub fn set_fields(section: Section, name: &str, set: IndexMap<String, Value>) -> Edit {
        Edit::SetEntry {
            section,
            name: name.to_owned(),
            set,
            unset: Vec::new(),
        }
    }
}

/// The top-level keys `config set` and `config unset` change.
pub const TOP_LEVEL_KEYS: [&str; 2] = ["current-context", "credential-store"];

/// What an edit did.
#[derive(Debug)]
pub struct EditOutcome {
    /// The file written.
    pub path: PathBuf,
    /// Whether the edit created the entry (for `SetEntry`).
    pub created: bool,
    /// Things the user should know: problems the edit did not fix, a deleted current context.
    pub warnings: Vec<String>,
}

/// How long an edit waits for another tokenctl process editing the same file.
const EDIT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

impl ConfigSet {
    /// Applies `edit` to the file that holds the entry (else the first file), under that
    /// file's lock, re-reading everything once the lock is held. Nothing is written when the
    /// edit is refused or any file fails to parse.
    pub fn apply(paths: &[PathBuf], edit: &Edit) -> Result<EditOutcome, ConfigError> {
        ConfigSet::apply_all(paths, std::slice::from_ref(edit))
    }

    /// Applies `edits` in order as one change of the file the first one writes to: one lock,
    /// one check, one write; nothing is written when any is refused.
    pub fn apply_all(paths: &[PathBuf], edits: &[Edit]) -> Result<EditOutcome, ConfigError> {
        let Some(first) = edits.first() else {
            return Err(ConfigError::Usage("nothing to change".into()));
        };
        let mut target = ConfigSet::load(paths)?.target_of(first);
        for _ in 0..3 {
            let _lock = LockGuard::acquire(
                &paths[target],
                "editing the contexts file",
                EDIT_LOCK_TIMEOUT,
            )
            .map_err(|source| ConfigError::Write {
                path: paths[target].clone(),
                source,
            })?;
            let set = ConfigSet::load(paths)?;
            let now = set.target_of(first);
            if now == target {
                return set.apply_locked(target, edits);
            }
            target = now;
        }
        Err(ConfigError::Usage(
            "the contexts files kept changing while tokenctl tried to edit them; try again".into(),
        ))
    }

    /// The index of the file an edit writes to.
    fn target_of(&self, edit: &Edit) -> usize {
        let holder = |section: Section, name: &str| {
            self.files
                .iter()
                .position(|file| section.holds(&file.model, name))
        };
        match edit {
            Edit::SetTopLevel { key, .. } if key == "credential-store" => self
                .files
                .iter()
                .position(|file| file.model.credential_store.is_some()),
            Edit::UseContext(_) | Edit::SetTopLevel { .. } => self
                .files
                .iter()
                .position(|file| file.model.current_context.is_some()),
            Edit::SetEntry { section, name, .. } | Edit::DeleteEntry { section, name } => {
                holder(*section, name)
            }
            Edit::RenameContext { from, .. } => holder(Section::Contexts, from),
        }
        .unwrap_or(0)
    }

    fn apply_locked(mut self, target: usize, edits: &[Edit]) -> Result<EditOutcome, ConfigError> {
        for edit in edits {
            self.check_preconditions(edit)?;
        }
        let path = self.files[target].path.clone();
        let text = self.files[target].read_text()?;
        let mut root = match text.as_deref() {
            Some(text) if !text.trim().is_empty() => serde_yaml_ng::from_str::<Value>(text)
                .map_err(|err| ConfigError::Parse {
                    path: path.clone(),
                    line: err.location().map_or(1, |l| l.line()),
                    column: err.location().map_or(1, |l| l.column()),
                    message: err.to_string(),
                    excerpt: String::new(),
                })?,
            _ => Value::Mapping(Mapping::new()),
        };
        if root.is_null() {
            root = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(mapping) = &mut root else {
            return Err(ConfigError::Usage(format!(
                "{}: the top level must be a mapping",
                path.display()
            )));
        };
        let mut outcome = EditOutcome {
            path: path.clone(),
            created: false,
            warnings: Vec::new(),
        };
        for edit in edits {
            apply_to_mapping(mapping, edit, &mut outcome);
        }

        let text = serde_yaml_ng::to_string(&root).map_err(|err| {
            ConfigError::Usage(format!("{}: cannot serialize: {err}", path.display()))
        })?;
        let model = super::parse_typed::<FileModel>(&path, &text)?;
        let before = self.problems();
        self.files[target].model = model;
        let after = self.problems();
        // The same problem of the same entry is not new when an edit above it moved it.
        let same = |a: &Problem, b: &Problem| {
            (&a.path, &a.entry, &a.message) == (&b.path, &b.entry, &b.message)
        };
        let added: Vec<Problem> = after
            .iter()
            .filter(|p| !before.iter().any(|b| same(b, p)))
            .cloned()
            .collect();
        if !added.is_empty() {
            return Err(ConfigError::Invalid(added));
        }
        // Problems the edit did not add stay where they are: each stops only the commands
        // that use its entry, so an edit elsewhere is taken, and they are named.
        if !after.is_empty() {
            outcome.warnings.push(format!(
                "saved, but the contexts files still have problems:\n{}",
                Problem::list(&after)
            ));
        }
        write_user_file(&path, text.as_bytes()).map_err(|source| ConfigError::Write {
            path: path.clone(),
            source,
        })?;
        // The next command reads what was just written: spare it the parse.
        if let Some(fingerprint) = std::fs::metadata(&path)
            .ok()
            .as_ref()
            .and_then(|metadata| Fingerprint::of(metadata, &text))
        {
            cache::store(&path, fingerprint, &self.files[target].model);
        }
        Ok(outcome)
    }

    /// Refuses edits that name something missing, or create what exists.
    fn check_preconditions(&self, edit: &Edit) -> Result<(), ConfigError> {
        match edit {
            Edit::SetTopLevel { key, .. } if !TOP_LEVEL_KEYS.contains(&key.as_str()) => {
                return Err(ConfigError::Usage(format!(
                    "`{key}` is not a top-level key tokenctl sets; those are {}",
                    TOP_LEVEL_KEYS.join(", ")
                )));
            }
            Edit::SetTopLevel {
                key,
                value: Some(name),
            } if key == "current-context" => {
                if self.context(name).is_none() {
                    return Err(self.not_found(Section::Contexts, name));
                }
            }
            Edit::SetTopLevel {
                key,
                value: Some(value),
            } if key == "credential-store" => check_credential_store(value)?,
            Edit::UseContext(name)
            | Edit::DeleteEntry {
                name,
                section: Section::Contexts,
            } => {
                if self.context(name).is_none() {
                    return Err(self.not_found(Section::Contexts, name));
                }
            }
            Edit::DeleteEntry { section, name } => self.check_unused(*section, name)?,
            Edit::RenameContext { from, to } => self.check_rename(from, to)?,
            Edit::SetEntry {
                section: Section::Providers,
                name,
                set,
                ..
            } => self.check_provider_fields(name, set)?,
            Edit::SetEntry { name, .. } => {
                if name.trim().is_empty() {
                    return Err(ConfigError::Usage("a name must not be empty".into()));
                }
            }
            // The file is parsed again after the edit: a value the key cannot take is refused
            // there, with the values it can.
            Edit::SetTopLevel { .. } => {}
        }
        Ok(())
    }

    /// A provider or cluster is deleted only while it exists and no context uses it.
    fn check_unused(&self, section: Section, name: &str) -> Result<(), ConfigError> {
        let exists = match section {
            Section::Providers => self.provider(name).is_some(),
            Section::Clusters => self.cluster(name).is_some(),
            Section::Contexts => self.context(name).is_some(),
        };
        if !exists {
            return Err(self.not_found(section, name));
        }
        let users: Vec<&str> = self
            .contexts()
            .into_iter()
            .map(|(_, context)| context)
            .filter(|context| match section {
                Section::Providers => context.provider.as_deref() == Some(name),
                Section::Clusters => context.cluster.as_deref() == Some(name),
                Section::Contexts => false,
            })
            .map(|context| context.name.as_str())
            .collect();
        if users.is_empty() {
            return Ok(());
        }
        let field = section.singular();
        let (plural, them) = if users.len() == 1 {
            ("", "it")
        } else {
            ("s", "them")
        };
        Err(ConfigError::Usage(format!(
            "{field} {name} is used by context{plural} {}; point {them} at another {field} (`{program} config set-context NAME --{field} OTHER`) or delete {them} first",
            users.join(", "),
            program = crate::program::name(),
        )))
    }

    /// A context is renamed only while it exists and no file holds the new name.
    fn check_rename(&self, from: &str, to: &str) -> Result<(), ConfigError> {
        if self.context(from).is_none() {
            return Err(self.not_found(Section::Contexts, from));
        }
        match self
            .files
            .iter()
            .find(|file| Section::Contexts.holds(&file.model, to))
        {
            Some(file) => Err(ConfigError::AlreadyExists {
                kind: "context",
                name: to.to_owned(),
                path: file.path.clone(),
            }),
            None => Ok(()),
        }
    }

    /// A provider edit may only set fields its dialect declares; a new one needs a kind.
    fn check_provider_fields(
        &self,
        name: &str,
        set: &IndexMap<String, Value>,
    ) -> Result<(), ConfigError> {
        let kinds = || {
            provider::providers()
                .iter()
                .map(|p| p.kind())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = match (set.get("kind").and_then(Value::as_str), self.provider(name)) {
            (Some(kind), _) => kind.to_owned(),
            (None, Some(existing)) => existing.kind.clone(),
            (None, None) => {
                return Err(ConfigError::Usage(format!(
                    "provider {name:?} is new: say its kind with --kind ({})",
                    kinds()
                )));
            }
        };
        let Some(dialect) = provider::provider(&kind) else {
            return Err(ConfigError::Usage(format!(
                "unknown provider kind `{kind}`; known kinds: {}",
                kinds()
            )));
        };
        let fields: Vec<&str> = dialect.fields().map(|f| f.name).collect();
        for key in set.keys().filter(|key| *key != "kind") {
            if !fields.contains(&key.as_str()) {
                return Err(ConfigError::Usage(format!(
                    "`{key}` is not a field of {kind} providers; their fields are: {}",
                    fields.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// `credential-store` takes one of the stores tokenctl has; a near miss is named.
fn check_credential_store(value: &str) -> Result<(), ConfigError> {
    if super::CREDENTIAL_STORES.contains(&value) {
        return Ok(());
    }
    let hint = match super::closest_names(value, super::CREDENTIAL_STORES).first() {
        Some(close) => format!("did you mean `{close}`? "),
        None => String::new(),
    };
    Err(ConfigError::Usage(format!(
        "credential-store: `{value}` is not a store; {hint}the stores are {}",
        super::CREDENTIAL_STORES.join(", ")
    )))
}

fn apply_to_mapping(root: &mut Mapping, edit: &Edit, outcome: &mut EditOutcome) {
    let current_context = Value::from("current-context");
    match edit {
        Edit::UseContext(name) => {
            root.insert(current_context, Value::from(name.as_str()));
        }
        Edit::SetTopLevel { key, value } => match value {
            Some(value) => {
                root.insert(Value::from(key.as_str()), Value::from(value.as_str()));
            }
            None => {
                root.shift_remove(Value::from(key.as_str()));
            }
        },
        Edit::SetEntry {
            section,
            name,
            set,
            unset,
        } => {
            let entries = section_mut(root, *section);
            let index = match find_entry(entries, name) {
                Some(index) => index,
                None => {
                    let mut entry = Mapping::new();
                    entry.insert(Value::from("name"), Value::from(name.as_str()));
                    entries.push(Value::Mapping(entry));
                    outcome.created = true;
                    entries.len() - 1
                }
            };
            if let Value::Mapping(entry) = &mut entries[index] {
                for (key, value) in set {
                    entry.insert(Value::from(key.as_str()), value.clone());
                }
                for key in unset {
                    entry.shift_remove(key.as_str());
                }
                if outcome.created && *section == Section::Providers {
                    order_like_the_dialect(entry);
                }
            }
        }
        Edit::DeleteEntry { section, name } => {
            let entries = section_mut(root, *section);
            entries.retain(|entry| entry_name(entry) != Some(name.as_str()));
            if *section == Section::Contexts
                && root.get(&current_context).and_then(Value::as_str) == Some(name.as_str())
            {
                root.shift_remove(&current_context);
                outcome.warnings.push(format!(
                    "deleted context {name:?}, which was the current context; pick another with `{}`",
                    crate::program::run("auth use-context NAME")
                ));
            }
        }
        Edit::RenameContext { from, to } => {
            let entries = section_mut(root, Section::Contexts);
            if let Some(index) = find_entry(entries, from)
                && let Value::Mapping(entry) = &mut entries[index]
            {
                entry.insert(Value::from("name"), Value::from(to.as_str()));
            }
            if root.get(&current_context).and_then(Value::as_str) == Some(from.as_str()) {
                root.insert(current_context, Value::from(to.as_str()));
            }
        }
    }
}

/// Lays out a new provider entry as its dialect lists its fields: name, kind, then fields.
fn order_like_the_dialect(entry: &mut Mapping) {
    let dialect = entry
        .get("kind")
        .and_then(Value::as_str)
        .and_then(provider::provider);
    let rank = |key: &Value| -> usize {
        match key.as_str() {
            Some("name") => 0,
            Some("kind") => 1,
            Some(key) => dialect
                .and_then(|d| d.fields().position(|f| f.name == key))
                .map_or(usize::MAX, |position| position + 2),
            None => usize::MAX,
        }
    };
    let mut pairs: Vec<(Value, Value)> = std::mem::take(entry).into_iter().collect();
    pairs.sort_by_key(|(key, _)| rank(key));
    *entry = pairs.into_iter().collect();
}

/// The list under `section`, created when absent or null.
fn section_mut(root: &mut Mapping, section: Section) -> &mut Vec<Value> {
    let key = Value::from(section.key());
    if !matches!(root.get(&key), Some(Value::Sequence(_))) {
        root.insert(key.clone(), Value::Sequence(Vec::new()));
    }
    match root.get_mut(&key) {
        Some(Value::Sequence(entries)) => entries,
        _ => unreachable!("inserted above"),
    }
}

fn entry_name(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

fn find_entry(entries: &[Value], name: &str) -> Option<usize> {
    entries
        .iter()
        .position(|entry| entry_name(entry) == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(name: &str, server: &str) -> Edit {
        // `fake`: the dialect the core tests register (logins::tests).
        let fields = IndexMap::from([
            ("kind".to_owned(), Value::from("fake")),
            ("server".to_owned(), Value::from(server)),
            ("client-id".to_owned(), Value::from("app")),
        ]);
        Edit::set_fields(Section::Providers, name, fields)
    }

    fn context(name: &str, provider: &str) -> Edit {
        let fields = IndexMap::from([("provider".to_owned(), Value::from(provider))]);
        Edit::set_fields(Section::Contexts, name, fields)
    }

    /// A batch is one write: every edit lands, in order, keys tokenctl does not know kept;
    /// and when one would add a problem, none does.
    #[test]
    fn a_batch_of_edits_is_one_change_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "team-note: kept\n").unwrap();
        let paths = vec![path.clone()];
        ConfigSet::apply_all(&paths, &[provider("p", "https://a"), context("c", "p")]).unwrap();
        let text = crate::fsutil::read_user_text(&path).unwrap();
        assert!(
            text.contains("team-note: kept")
                && text.contains("name: p")
                && text.contains("name: c"),
            "{text}"
        );

        let refused = ConfigSet::apply_all(&paths, &[context("d", "p"), context("e", "nowhere")]);
        assert!(
            matches!(&refused, Err(ConfigError::Invalid(problems)) if problems.len() == 1),
            "{refused:?}"
        );
        assert_eq!(
            crate::fsutil::read_user_text(&path).unwrap(),
            text,
            "nothing written"
        );
        assert!(ConfigSet::apply_all(&paths, &[]).is_err());
    }

    /// Deleting the current context takes `current-context` out with it, and says so; a
    /// problem of another entry that the deletion only moves up is not taken for a new one.
    #[test]
    fn deleting_the_current_context_unsets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "current-context: c\ncontexts:\n  - {name: c, provider: discover}\n  - {name: other, provider: discover}\n",
        )
        .unwrap();
        let outcome = ConfigSet::apply(
            std::slice::from_ref(&path),
            &Edit::DeleteEntry {
                section: Section::Contexts,
                name: "c".into(),
            },
        )
        .unwrap();
        let text = crate::fsutil::read_user_text(&path).unwrap();
        assert!(!text.contains("current-context"), "{text}");
        assert!(
            outcome.warnings[0].contains("was the current context"),
            "{outcome:?}"
        );
    }
}
