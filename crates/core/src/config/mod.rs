//! The contexts file: where it is, how several files merge, how it is checked and edited.
//!
//! Reading goes through a typed view ([`FileModel`]); edits go through the file's YAML tree so
//! that keys tokenctl does not know survive a rewrite.
#![doc(hidden)]

mod cache;
mod edit;
pub mod here;
pub mod hosts;
pub mod import;
pub mod kubelogin;
mod list;
mod model;
pub mod setup;
mod validate;
mod view;
mod yaml_error;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use edit::{Edit, EditOutcome, Section, TOP_LEVEL_KEYS};
pub use list::{ContextList, ContextSummary};
pub use model::{
    CLUSTER_KEYS, CONTEXT_KEYS, CREDENTIAL_STORES, ClusterEntry, ContextEntry, CredentialStore,
    DISCOVER, FILE_KEYS, FileModel, GITHUB_ACTIONS, LIST_KEYS, ProviderEntry, SET_KEYS,
    SubjectSource, TokenKind, attribute_variable, subject_token_type, token_type,
};
pub use validate::{Notice, Problem};

use crate::provider::{self, Provider, ProviderConfig};

/// Environment variable with a `:`-separated list of contexts files (like `KUBECONFIG`).
pub const CONFIG_ENV: &str = "TOKENCTL_CONFIG";

/// Environment variable that picks a context for one command or one shell.
pub const CONTEXT_ENV: &str = "TOKENCTL_CONTEXT";

/// The contexts files to use: `--config` if given, else `TOKENCTL_CONFIG`, else the default
/// `$XDG_CONFIG_HOME/tokenctl/config.yaml`.
pub fn config_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![path.to_path_buf()];
    }
    if let Some(list) = std::env::var_os(CONFIG_ENV).filter(|list| !list.is_empty()) {
        let mut seen = HashSet::new();
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|path| !path.as_os_str().is_empty())
            .filter(|path| seen.insert(path.clone()))
            .collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    vec![default_config_path()]
}

/// `$XDG_CONFIG_HOME/tokenctl/config.yaml`, falling back to `~/.config/tokenctl/config.yaml`.
pub fn default_config_path() -> PathBuf {
    crate::dirs::config_dir().join("config.yaml")
}

/// Why the contexts file could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: cannot read the contexts file: {source}", path = .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}:{line}:{column}: {message}{excerpt}", path = .path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        /// The line quoted with a caret (secrets redacted) and a hint, when the text is at hand.
        excerpt: String,
    },
    #[error("{}", Problem::list(.0))]
    Invalid(Vec<Problem>),
    #[error("{kind} {name:?} is not defined in {files}{hint}", hint = suggestion_hint(.suggestions, .known))]
    NotFound {
        kind: &'static str,
        name: String,
        files: FileList,
        suggestions: Vec<String>,
        known: Vec<String>,
    },
    #[error("{kind} {name:?} already exists in {path}", path = .path.display())]
    AlreadyExists {
        kind: &'static str,
        name: String,
        path: PathBuf,
    },
    #[error(
        "no context is selected: run `{program} auth use-context NAME` or pass --context{}",
        suggestion_hint(&[], .known),
        program = crate::program::name()
    )]
    NoCurrentContext { known: Vec<String> },
    /// A first run: nothing to select from.
    #[error(
        "no context is defined yet: create one with `{program} config set-provider NAME --kind KIND …` and `{program} config set-context NAME --provider NAME --flow FLOW`, or run `{program} auth login` at a terminal to be guided",
        program = crate::program::name()
    )]
    NoContexts,
    #[error(
        "no provider of kind {kind} is defined: add one with `{program} config set-provider NAME --kind {kind} …` (its fields: `{program} config set-provider --help`), or run `{program} auth login --provider {kind}` at a terminal to be guided",
        program = crate::program::name()
    )]
    NoProviderOfKind { kind: String },
    #[error("providers {} are of kind {kind}: pass one of them with --provider", .names.join(", "))]
    SeveralOfKind { kind: String, names: Vec<String> },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: credential-store: {written} is not a store ({stores}), so logins can be neither read nor kept; fix it with `{program} config set credential-store {fix}`", path = .path.display(), stores = CREDENTIAL_STORES.join(", "), program = crate::program::name())]
    UnknownStore {
        path: PathBuf,
        written: String,
        fix: String,
    },
    #[error("{path}: cannot write the contexts file: {source}", path = .path.display())]
    Write { path: PathBuf, source: io::Error },
    /// Others could change the file (and so where tokens and secrets go).
    #[error("{0}")]
    Untrusted(String),
}

/// How the context in use was chosen, for `auth status` and `auth current-context`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Chosen {
    /// `--context` or `TOKENCTL_CONTEXT`.
    Asked,
    /// An allowed `.tokenctl` in the working directory or a parent ([`here`]).
    Directory,
    /// The file's `current-context`.
    CurrentContext,
    /// No `current-context`, and the files define this one context only.
    OnlyContext,
}

/// The one rule for which context a command uses: the one asked for, else the directory's,
/// else `current-context`, else the only context defined. `names` are the defined contexts,
/// for messages.
pub fn choose<'a>(
    wanted: Option<&'a str>,
    directory: Option<&'a str>,
    current: Option<&'a str>,
    names: &[&'a str],
) -> Result<(&'a str, Chosen), ConfigError> {
    match (wanted.or(directory), current, names) {
        (Some(name), _, _) if wanted.is_some() => Ok((name, Chosen::Asked)),
        (Some(name), _, _) => Ok((name, Chosen::Directory)),
        (None, Some(name), _) => Ok((name, Chosen::CurrentContext)),
        (None, None, [only]) => Ok((only, Chosen::OnlyContext)),
        (None, None, []) => Err(ConfigError::NoContexts),
        (None, None, several) => Err(ConfigError::NoCurrentContext {
            known: several.iter().map(|name| (*name).to_owned()).collect(),
        }),
    }
}

/// The files a lookup searched, for messages.
#[derive(Debug, Clone)]
pub struct FileList(pub Vec<PathBuf>);

impl fmt::Display for FileList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, path) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == self.0.len() { " or " } else { ", " })?;
            }
            write!(f, "{}", path.display())?;
        }
        Ok(())
    }
}

fn suggestion_hint(suggestions: &[String], known: &[String]) -> String {
    const SHOWN: usize = 10;
    if !suggestions.is_empty() {
        let quoted: Vec<String> = suggestions.iter().map(|s| format!("{s:?}")).collect();
        return format!("; did you mean {}?", quoted.join(" or "));
    }
    match known.len() {
        0 => "; none is defined yet".into(),
        n if n <= SHOWN => format!("; defined: {}", known.join(", ")),
        n => format!(
            "; defined: {}, … ({n} in all; `{}` lists them)",
            known[..SHOWN].join(", "),
            crate::program::run("auth get-contexts -o name")
        ),
    }
}

/// The names closest to `wanted`, best first: typos, and names that start with it.
pub fn closest_names<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = names
        .into_iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = strsim::levenshtein(&wanted_lower, &lower);
            let close = distance <= (wanted.chars().count() / 3).max(2);
            let prefix = lower.starts_with(&wanted_lower) || wanted_lower.starts_with(&lower);
            (close || prefix).then_some((if close { distance } else { 3 }, name))
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|(_, name)| *name);
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.to_owned())
        .collect()
}

/// One loaded file: where it is and what it says.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// Whether the file exists; a missing file reads as an empty one.
    pub exists: bool,
    pub model: FileModel,
    /// Which version of the file the model was read from.
    fingerprint: Option<cache::Fingerprint>,
    /// Why someone else could change the file, when they could (see [`ConfigSet::load_valid`]).
    untrusted: Option<String>,
}

impl ConfigFile {
    /// Reads and parses one file, through the parse cache; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        // One lstat: the file itself unless it is a link (then what the link points to).
        let lstat = std::fs::symlink_metadata(path);
        let linked = lstat
            .as_ref()
            .is_ok_and(|meta| meta.file_type().is_symlink());
        let followed = lstat.and_then(|meta| {
            if linked {
                std::fs::metadata(path)
            } else {
                Ok(meta)
            }
        });
        let metadata = match followed {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(ConfigFile {
                    path: path.to_path_buf(),
                    exists: false,
                    model: FileModel::default(),
                    fingerprint: None,
                    untrusted: None,
                });
            }
            Err(source) => return Err(read_error(source)),
        };
        // The metadata is taken before the read: a change during the read shows next time.
        let text = crate::fsutil::read_user_text(path).map_err(read_error)?;
        let fingerprint = cache::Fingerprint::of(&metadata, &text);
        let cached = fingerprint
            .as_ref()
            .and_then(|fingerprint| cache::lookup(path, fingerprint));
        let model = match cached {
            Some(model) => model,
            None => {
                let model = parse_model(path, &text)?;
                if let Some(fingerprint) = &fingerprint {
                    cache::store(path, fingerprint.clone(), &model);
                }
                model
            }
        };
        Ok(ConfigFile {
            path: path.to_path_buf(),
            exists: true,
            model,
            fingerprint,
            untrusted: untrusted(path, &metadata, linked),
        })
    }

    /// Parses the text of a contexts file (no cache, no disk): errors name `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        Ok(ConfigFile {
            path: path.to_path_buf(),
            exists: true,
            model: parse_model(path, text)?,
            fingerprint: None,
            untrusted: None,
        })
    }

    /// The file's text now, `None` when it does not exist.
    pub fn read_text(&self) -> Result<Option<String>, ConfigError> {
        match crate::fsutil::read_user_text(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Why others could change the contexts file at `path` (`metadata` with links followed;
/// `linked` when `path` is a link): the file or its directory is writable by group or others,
/// or owned by another user. A directory with the sticky bit (`/tmp`) lets no one else replace
/// the file, so it is fine. As ssh treats its config: whoever can write it can point `server`
/// or `issuer` elsewhere.
#[cfg(unix)]
fn untrusted(path: &Path, metadata: &std::fs::Metadata, linked: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner = |what: &str, place: &Path, meta: &std::fs::Metadata| {
        (meta.uid() != me && meta.uid() != 0).then(|| {
            format!(
                "{what} {} is owned by another user (uid {}): it could point tokens elsewhere; tokenctl uses only a contexts file that you own",
                place.display(),
                meta.uid()
            )
        })
    };
    let writable = |what: &str, place: &Path, meta: &std::fs::Metadata| {
        let sticky = meta.is_dir() && meta.mode() & 0o1000 != 0;
        (meta.mode() & 0o022 != 0 && !sticky).then(|| {
            format!(
                "{what} {} can be written by others, who could point `server` or `issuer` elsewhere: run `chmod go-w {}`",
                place.display(),
                place.display()
            )
        })
    };
    let real = if linked {
        crate::fsutil::real_path(path)
    } else {
        path.to_path_buf()
    };
    let file = owner("the contexts file", &real, metadata)
        .or_else(|| writable("the contexts file", &real, metadata));
    file.or_else(|| {
        let dir = real.parent().filter(|dir| !dir.as_os_str().is_empty())?;
        let dir_meta = std::fs::metadata(dir).ok()?;
        owner("the directory of", dir, &dir_meta)
            .or_else(|| writable("the directory", dir, &dir_meta))
    })
}

#[cfg(not(unix))]
fn untrusted(_path: &Path, _metadata: &std::fs::Metadata, _linked: bool) -> Option<String> {
    None
}

/// A contexts file's model, its relative paths anchored at the file's directory.
fn parse_model(path: &Path, text: &str) -> Result<FileModel, ConfigError> {
    let mut model: FileModel = parse_typed(path, text)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    model.anchor_paths(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
    Ok(model)
}

/// Parses YAML text into `T`; an error names the file, the line and column, and the field.
pub(crate) fn parse_typed<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    text: &str,
) -> Result<T, ConfigError> {
    if is_blank_yaml(text) {
        return Ok(T::default());
    }
    crate::yaml_bound::check(text).map_err(|(line, message)| ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column: 1,
        message,
        excerpt: String::new(),
    })?;
    serde_yaml_ng::from_str(text).map_err(|err| {
        let message = strip_location(&err.to_string()).replace(
            "struct FileModel",
            "a mapping with current-context, providers, clusters and contexts",
        );
        let at = match (duplicate_key_line(text, &message), err.location()) {
            (Some(line), _) => (line, 1),
            (None, Some(location)) => (location.line(), location.column()),
            (None, None) => (1, 1),
        };
        let shown = yaml_error::show(text, &message, at);
        ConfigError::Parse {
            path: path.to_path_buf(),
            line: shown.line,
            column: shown.column,
            message: shown.message,
            excerpt: shown.excerpt,
        }
    })
}

/// serde reports a repeated top-level key without a position; find its second occurrence.
fn duplicate_key_line(text: &str, message: &str) -> Option<usize> {
    let key = message
        .strip_prefix("duplicate field `")?
        .split('`')
        .next()?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .nth(1)
        .map(|(index, _)| index + 1)
}

/// A document of only comments and blank lines, which YAML parsers treat as no document.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---"
    })
}

/// serde_yaml_ng puts " at line L column C" into its messages; we print the location first.
fn strip_location(message: &str) -> String {
    let Some(at) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[at + " at line ".len()..];
    let after_numbers = rest
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix(" column ")
        .map(|tail| tail.trim_start_matches(|c: char| c.is_ascii_digit()));
    match after_numbers {
        Some(tail) => format!("{}{tail}", &message[..at]),
        None => message.to_owned(),
    }
}

/// Where an entry stands, for messages: `/path/config.yaml: contexts[2] "prod"`.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    pub path: &'a Path,
    pub section: Section,
    pub index: usize,
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}[{}]",
            self.path.display(),
            self.section.key(),
            self.index
        )
    }
}

/// All contexts files in merge order. For a name defined in several files the first wins.
#[derive(Debug, Clone)]
pub struct ConfigSet {
    pub files: Vec<ConfigFile>,
    /// Problems of entries, kept by [`ConfigSet::load_valid`] for whichever command uses them.
    pub deferred: Vec<Problem>,
}

/// A context with what it refers to.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedContext<'a> {
    pub context: &'a ContextEntry,
    /// `None` when the context asks the cluster (`provider: discover`).
    pub provider: Option<&'a ProviderEntry>,
    pub cluster: Option<&'a ClusterEntry>,
    /// Whether this is the file's `current-context` (rather than picked by `--context`).
    pub is_current: bool,
}

impl ConfigSet {
    /// A set of parsed files, not yet checked.
    pub fn of(files: Vec<ConfigFile>) -> ConfigSet {
        ConfigSet {
            files,
            deferred: Vec::new(),
        }
    }

    /// Loads every file; parse errors are fatal, semantic problems are left to [`Self::problems`].
    pub fn load(paths: &[PathBuf]) -> Result<ConfigSet, ConfigError> {
        let files = paths
            .iter()
            .map(|path| ConfigFile::load(path))
            .collect::<Result<_, _>>()?;
        Ok(ConfigSet::of(files))
    }

    /// Loads and checks every file. A problem stops only the commands that use its entry, as
    /// kubectl tolerates unrelated broken entries: the set keeps them, and resolving that
    /// context, provider or cluster reports them. A set of file versions that passed once is
    /// not checked again by the same build (see the parse cache).
    pub fn load_valid(paths: &[PathBuf]) -> Result<ConfigSet, ConfigError> {
        let mut set = ConfigSet::load(paths)?;
        if let Some(reason) = set.files.iter().find_map(|file| file.untrusted.clone()) {
            return Err(ConfigError::Untrusted(format!(
                "refusing to log in or hand out tokens: {reason} (`{}` still shows it)",
                crate::program::run("config view")
            )));
        }
        let versions = set.versions();
        if cache::known_valid(&versions) {
            return Ok(set);
        }
        let problems = set.problems();
        if problems.is_empty() {
            cache::remember_valid(&versions);
        }
        set.deferred = problems;
        Ok(set)
    }

    /// The problems of one entry, kept by [`ConfigSet::load_valid`].
    fn problems_of<'s>(
        &'s self,
        section: Section,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Problem> + 's {
        self.deferred
            .iter()
            .filter(move |problem| problem.entry.0 == section && problem.entry.1 == name)
    }

    /// Refuses an entry with problems, naming them all.
    pub fn usable(&self, section: Section, name: &str) -> Result<(), ConfigError> {
        let problems: Vec<Problem> = self.problems_of(section, name).cloned().collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// Each file with the version its model was read from; `None` for a missing file, and for
    /// a file read without a fingerprint (which then never matches a cached verdict).
    fn versions(&self) -> Vec<(&Path, Option<&cache::Fingerprint>)> {
        self.files
            .iter()
            .map(|file| (file.path.as_path(), file.fingerprint.as_ref()))
            .collect()
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|file| file.path.clone()).collect()
    }

    /// The name of the context in use and how it was chosen.
    pub fn chosen_context<'s>(
        &'s self,
        wanted: Option<&'s str>,
    ) -> Result<(&'s str, Chosen), ConfigError> {
        let directory = here::context_unless(wanted);
        let current = self.current_context();
        if let Some(name) = directory
            && self.context(name).is_none()
        {
            return Err(here::undefined(name, FileList(self.paths())));
        }
        if wanted.is_some() || directory.is_some() || current.is_some() {
            // The hot path: no list of names to build.
            return choose(wanted, directory, current, &[]);
        }
        let contexts = self.contexts();
        let names: Vec<&str> = contexts.iter().map(|(_, c)| c.name.as_str()).collect();
        choose(None, None, None, &names)
    }

    /// The provider `--provider WORD` means: the one of that name, else the one of that kind.
    pub fn provider_named_or_of_kind(&self, word: &str) -> Result<&ProviderEntry, ConfigError> {
        if let Some(entry) = self.provider(word) {
            self.usable(Section::Providers, word)?;
            return Ok(entry);
        }
        let of_kind: Vec<&ProviderEntry> = self
            .providers()
            .into_iter()
            .map(|(_, entry)| entry)
            .filter(|entry| entry.kind == word)
            .collect();
        match of_kind.as_slice() {
            [one] => {
                self.usable(Section::Providers, &one.name)?;
                Ok(one)
            }
            [] if provider::provider(word).is_some() => Err(ConfigError::NoProviderOfKind {
                kind: word.to_owned(),
            }),
            [] => Err(self.not_found(Section::Providers, word)),
            several => Err(ConfigError::SeveralOfKind {
                kind: word.to_owned(),
                names: several.iter().map(|entry| entry.name.clone()).collect(),
            }),
        }
    }

    /// The `current-context` of the first file that sets one.
    pub fn current_context(&self) -> Option<&str> {
        self.files
            .iter()
            .find_map(|file| file.model.current_context.as_deref())
    }

    /// The credential store setting of the first file that sets one. A value that names no
    /// store stops only what reads or stores logins: the rest of the file still serves.
    pub fn credential_store(&self) -> Result<CredentialStore, ConfigError> {
        let Some((file, setting)) = self
            .files
            .iter()
            .find_map(|file| Some((file, file.model.credential_store()?)))
        else {
            return Ok(CredentialStore::default());
        };
        setting.map_err(|written| {
            let close = closest_names(&written, CREDENTIAL_STORES)
                .into_iter()
                .next();
            ConfigError::UnknownStore {
                path: file.path.clone(),
                written,
                fix: close.unwrap_or_else(|| "auto".to_owned()),
            }
        })
    }

    /// Merged contexts, first definition of each name, in file order.
    pub fn contexts(&self) -> Vec<(Origin<'_>, &ContextEntry)> {
        self.merged(Section::Contexts, |model| &model.contexts, |c| &c.name)
    }

    pub fn providers(&self) -> Vec<(Origin<'_>, &ProviderEntry)> {
        self.merged(Section::Providers, |model| &model.providers, |p| &p.name)
    }

    pub fn clusters(&self) -> Vec<(Origin<'_>, &ClusterEntry)> {
        self.merged(Section::Clusters, |model| &model.clusters, |c| &c.name)
    }

    fn merged<'s, T>(
        &'s self,
        section: Section,
        entries: impl Fn(&'s FileModel) -> &'s Vec<T>,
        name: impl Fn(&T) -> &String,
    ) -> Vec<(Origin<'s>, &'s T)> {
        // With one file there is nothing to merge; duplicates within a file are problems.
        let single = self.files.len() == 1;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for file in &self.files {
            for (index, entry) in entries(&file.model).iter().enumerate() {
                if single || seen.insert(name(entry).as_str()) {
                    let origin = Origin {
                        path: &file.path,
                        section,
                        index,
                    };
                    out.push((origin, entry));
                }
            }
        }
        out
    }

    pub fn context(&self, name: &str) -> Option<&ContextEntry> {
        self.find(|model| &model.contexts, |c| c.name == name)
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderEntry> {
        self.find(|model| &model.providers, |p| p.name == name)
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterEntry> {
        self.find(|model| &model.clusters, |c| c.name == name)
    }

    fn find<'s, T>(
        &'s self,
        entries: impl Fn(&'s FileModel) -> &'s Vec<T>,
        matches: impl Fn(&T) -> bool,
    ) -> Option<&'s T> {
        self.files
            .iter()
            .find_map(|file| entries(&file.model).iter().find(|entry| matches(entry)))
    }

    /// The error for a name that is not defined, with the closest names.
    pub fn not_found(&self, section: Section, name: &str) -> ConfigError {
        let known: Vec<String> = match section {
            Section::Contexts => self
                .contexts()
                .iter()
                .map(|(_, c)| c.name.clone())
                .collect(),
            Section::Providers => self
                .providers()
                .iter()
                .map(|(_, p)| p.name.clone())
                .collect(),
            Section::Clusters => self
                .clusters()
                .iter()
                .map(|(_, c)| c.name.clone())
                .collect(),
        };
        ConfigError::NotFound {
            kind: section.singular(),
            name: name.to_owned(),
            files: FileList(self.paths()),
            suggestions: closest_names(name, known.iter().map(String::as_str)),
            known,
        }
    }

    /// The context to use: `wanted` (from `--context` or `TOKENCTL_CONTEXT`) or the
    /// current one, with its provider and cluster.
    pub fn resolve(&self, wanted: Option<&str>) -> Result<ResolvedContext<'_>, ConfigError> {
        let (name, _) = self.chosen_context(wanted)?;
        let context = self
            .context(name)
            .ok_or_else(|| self.not_found(Section::Contexts, name))?;
        self.resolve_entry(context)
    }

    /// The provider and cluster a context of this set names, looked up.
    pub fn resolve_entry<'s>(
        &'s self,
        context: &'s ContextEntry,
    ) -> Result<ResolvedContext<'s>, ConfigError> {
        let problems: Vec<Problem> = [
            (Section::Contexts, Some(context.name.as_str())),
            (Section::Providers, context.provider.as_deref()),
            (Section::Clusters, context.cluster.as_deref()),
        ]
        .into_iter()
        .filter_map(|(section, name)| Some((section, name?)))
        .flat_map(|(section, name)| self.problems_of(section, name).cloned())
        .collect();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        let provider = match context.provider.as_deref() {
            None | Some(DISCOVER) => None,
            Some(provider) => Some(
                self.provider(provider)
                    .ok_or_else(|| self.not_found(Section::Providers, provider))?,
            ),
        };
        let cluster = match context.cluster.as_deref() {
            None => None,
            Some(cluster) => Some(
                self.cluster(cluster)
                    .ok_or_else(|| self.not_found(Section::Clusters, cluster))?,
            ),
        };
        Ok(ResolvedContext {
            context,
            provider,
            cluster,
            is_current: self.current_context() == Some(context.name.as_str()),
        })
    }

    /// Every semantic problem of the merged set; empty when the set is usable.
    pub fn problems(&self) -> Vec<Problem> {
        validate::problems(self)
    }

    /// Keys of the files that tokenctl does not know, each named with the closest known key:
    /// warnings for the commands a person reads (never on the hot path).
    pub fn notices(&self) -> Vec<Notice> {
        validate::notices(self)
    }
}

/// The cluster kubectl calls, as `KUBERNETES_EXEC_INFO`'s `spec.cluster` states it (a kube user
/// with `provideClusterInfo: true`).
#[derive(Clone, Debug, Default)]
pub struct CalledCluster {
    pub server: String,
    /// Its `certificate-authority-data`, base64 as kubectl sends it (client-go reads a
    /// `certificate-authority` file into it).
    pub ca_data: Option<String>,
}

/// The context `auth exec-credential --follow` hands out a token for, with the note it prints
/// when it could not follow.
#[derive(Debug)]
pub struct Followed<'s> {
    pub context: &'s str,
    pub note: Option<String>,
}

impl ConfigSet {
    /// The context a kube user that follows (`kubeconfig setup --follow`) serves: the one
    /// `TOKENCTL_CONTEXT` (`from_env`), `.tokenctl` or `current-context` names, when its cluster
    /// is the one kubectl calls (the same server and CA); else `pinned`, the context the user
    /// was set up for, with a note. Never one cluster's token to another cluster.
    pub fn followed<'s>(
        &'s self,
        pinned: &'s str,
        from_env: Option<&'s str>,
        called: Option<&CalledCluster>,
    ) -> Followed<'s> {
        let pin = |why: String| Followed {
            context: pinned,
            note: Some(format!(
                "{why}; using context {pinned:?}, which this kube user was set up for"
            )),
        };
        let (name, chosen) = match self.chosen_context(from_env) {
            Ok(found) => found,
            Err(err) => return pin(format!("no context to follow ({err})")),
        };
        if name == pinned {
            return Followed {
                context: pinned,
                note: None,
            };
        }
        let Some(called) = called else {
            return pin(format!(
                "kubectl did not say which cluster it calls (the kube user needs provideClusterInfo: true), so context {name:?} is not followed"
            ));
        };
        let Some(followed) = self.context(name) else {
            return pin(format!(
                "context {name:?} ({}) is not defined",
                chosen_phrase(chosen)
            ));
        };
        let cluster = followed
            .cluster
            .as_deref()
            .and_then(|cluster| self.cluster(cluster));
        let same = cluster.is_some_and(|cluster| same_cluster(cluster, called));
        if same {
            return Followed {
                context: name,
                note: None,
            };
        }
        let whose = match cluster {
            Some(cluster) => format!(
                "cluster {:?} ({})",
                cluster.name,
                cluster.server.as_deref().unwrap_or("no server")
            ),
            None => "no cluster".to_owned(),
        };
        pin(format!(
            "context {name:?} ({}) is for {whose}, not the cluster kubectl calls ({})",
            chosen_phrase(chosen),
            crate::text::printable(&called.server)
        ))
    }
}

/// How a context was chosen, for a note.
fn chosen_phrase(chosen: Chosen) -> &'static str {
    match chosen {
        Chosen::Asked => "from TOKENCTL_CONTEXT",
        Chosen::Directory => "from a .tokenctl file",
        Chosen::CurrentContext => "from current-context",
        Chosen::OnlyContext => "the only context",
    }
}

/// Whether `cluster` is the one kubectl calls: the same server (but a trailing slash) and the
/// same certificate authority (both none, or the same certificates).
fn same_cluster(cluster: &ClusterEntry, called: &CalledCluster) -> bool {
    use base64::Engine;
    let server = |text: &str| text.trim_end_matches('/').to_owned();
    if cluster.server.as_deref().map(server) != Some(server(&called.server)) {
        return false;
    }
    // A CA of ours that cannot be read is never taken for "no CA".
    let ours = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(data), _) => match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
            Ok(ca) => Some(ca),
            Err(_) => return false,
        },
        (None, Some(path)) => match crate::fsutil::read_user_bytes(Path::new(path)) {
            Ok(ca) => Some(ca),
            Err(_) => return false,
        },
        (None, None) => None,
    };
    let theirs = called.ca_data.as_deref().map(|data| {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .unwrap_or_default()
    });
    let trimmed = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    ours.as_deref().map(trimmed) == theirs.as_deref().map(trimmed)
}

impl ProviderEntry {
    /// The registered dialect of this entry, if its kind is known.
    pub fn dialect(&self) -> Option<&'static dyn Provider> {
        provider::provider(&self.kind)
    }

    /// The entry as its dialect sees it.
    pub fn as_config(&self) -> ProviderConfig<'_> {
        ProviderConfig {
            name: &self.name,
            fields: &self.fields,
        }
    }
}

/// Names only, for TAB completion: no validation, no error (an unreadable file gives none).
pub fn complete_names(paths: &[PathBuf], section: Section) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for path in paths {
        let Some(model) = names_of(path) else {
            continue;
        };
        let entries = match section {
            Section::Contexts => model.contexts,
            Section::Providers => model.providers,
            Section::Clusters => model.clusters,
        };
        for entry in entries {
            if seen.insert(entry.name.clone()) {
                names.push(entry.name);
            }
        }
    }
    names
}

/// The names in one file: from the parse cache when it is fresh, else by a full load (which
/// refreshes the cache for the next TAB).
fn names_of(path: &Path) -> Option<model::NamesModel> {
    if let Some((fingerprint, _)) = cache::Fingerprint::read(path)
        && let Some(names) = cache::lookup::<model::NamesModel>(path, &fingerprint)
    {
        return Some(names);
    }
    let model = ConfigFile::load(path).ok()?.model;
    let named = |name: &String| model::Named { name: name.clone() };
    Some(model::NamesModel {
        providers: model.providers.iter().map(|p| named(&p.name)).collect(),
        clusters: model.clusters.iter().map(|c| named(&c.name)).collect(),
        contexts: model.contexts.iter().map(|c| named(&c.name)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::{CalledCluster, Chosen, ClusterEntry, ConfigError, choose, same_cluster};

    /// `--follow` serves another context only for the cluster kubectl calls: its server (but a
    /// trailing slash) and its certificate authority, compared by content.
    #[test]
    fn a_followed_cluster_is_the_same_server_and_certificate_authority() {
        let ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let data = |text: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(text)
        };
        let cluster = ClusterEntry {
            name: "prod".into(),
            server: Some("https://api.example.com/".into()),
            certificate_authority: None,
            certificate_authority_data: Some(data(ca)),
            insecure_skip_tls_verify: None,
            tls_server_name: None,
            extra: Default::default(),
        };
        let called = |server: &str, ca: Option<&str>| CalledCluster {
            server: server.into(),
            ca_data: ca.map(data),
        };
        assert!(same_cluster(
            &cluster,
            &called("https://api.example.com", Some(ca))
        ));
        assert!(!same_cluster(
            &cluster,
            &called("https://api.example.com", None)
        ));
        assert!(!same_cluster(
            &cluster,
            &called("https://api.example.com", Some("another"))
        ));
        assert!(!same_cluster(
            &cluster,
            &called("https://other.example.com", Some(ca))
        ));
        let no_ca = ClusterEntry {
            certificate_authority_data: None,
            ..cluster
        };
        assert!(same_cluster(
            &no_ca,
            &called("https://api.example.com", None)
        ));
        let unreadable = ClusterEntry {
            certificate_authority: Some("/nonexistent/ca.pem".into()),
            ..no_ca
        };
        assert!(
            !same_cluster(&unreadable, &called("https://api.example.com", None)),
            "a CA that cannot be read is not no CA"
        );
    }

    #[test]
    fn the_context_asked_for_wins_then_the_directory_then_current_context_then_the_only_one() {
        let names = ["dev", "prod"];
        assert_eq!(
            choose(Some("prod"), Some("team"), Some("dev"), &names).unwrap(),
            ("prod", Chosen::Asked)
        );
        assert_eq!(
            choose(None, Some("team"), Some("dev"), &names).unwrap(),
            ("team", Chosen::Directory)
        );
        assert_eq!(
            choose(None, None, Some("dev"), &names).unwrap(),
            ("dev", Chosen::CurrentContext)
        );
        assert_eq!(
            choose(None, None, None, &["dev"]).unwrap(),
            ("dev", Chosen::OnlyContext)
        );
        assert!(matches!(
            choose(None, None, None, &names),
            Err(ConfigError::NoCurrentContext { known }) if known == ["dev", "prod"]
        ));
        assert!(matches!(
            choose(None, None, None, &[]),
            Err(ConfigError::NoContexts)
        ));
    }
}
