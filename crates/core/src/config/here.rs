//! Per-directory contexts: a `.tokenctl` file (`context: NAME`) in the working directory or a
//! parent picks the context for commands run below it, so that two shells (or agents) in two
//! checkouts use two contexts at once without racing on `current-context`.
//!
//! A cloned repository can carry such a file, so it counts only once the user allowed it, as
//! direnv does: the data dir keeps, per file path, a hash of the content allowed; a changed
//! file must be allowed again. A file owned by someone else or writable by others never counts.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::fsutil;

/// The file's name.
pub const FILE_NAME: &str = ".tokenctl";

/// The largest `.tokenctl` read; it holds one line.
const MAX_BYTES: u64 = 4096;

/// What the directory says about the context to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Here {
    /// No `.tokenctl` between the working directory and `$HOME` (or a filesystem boundary).
    Nothing,
    /// An allowed file names this context.
    Chosen { path: PathBuf, context: String },
    /// The nearest file does not count, and why (one line).
    Ignored { path: PathBuf, reason: String },
}

impl Here {
    /// The context the directory picks, if any.
    pub fn context(&self) -> Option<&str> {
        match self {
            Here::Chosen { context, .. } => Some(context),
            _ => None,
        }
    }

    /// The `.tokenctl` found, counted or not.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Here::Chosen { path, .. } | Here::Ignored { path, .. } => Some(path),
            Here::Nothing => None,
        }
    }
}

/// What the process's working directory says, looked up once.
pub fn current() -> &'static Here {
    static HERE: OnceLock<Here> = OnceLock::new();
    HERE.get_or_init(|| {
        let Ok(start) = std::env::current_dir() else {
            return Here::Nothing;
        };
        match find_from(&start, std::env::home_dir().as_deref()) {
            Some(path) => read(&path, &allow_dir()),
            None => Here::Nothing,
        }
    })
}

/// The context the working directory picks when none is asked for (`wanted`), for
/// [`super::choose`]. A file that does not count is said once per process, as a warning naming
/// it (and current-context applies).
pub fn context_unless(wanted: Option<&str>) -> Option<&'static str> {
    static WARNED: std::sync::Once = std::sync::Once::new();
    if wanted.is_some() {
        return None;
    }
    let here = current();
    if let Here::Ignored { path, reason } = here {
        WARNED.call_once(|| tracing::warn!("{} ignored: it {reason}", path.display()));
    }
    here.context()
}

/// A `.tokenctl` that names a context the contexts files do not define.
pub fn undefined(name: &str, files: super::FileList) -> super::ConfigError {
    let path = current().path().map(Path::display);
    super::ConfigError::Usage(match path {
        Some(path) => format!("{path}: context {name:?} is not defined in {files}"),
        None => format!("context {name:?} is not defined in {files}"),
    })
}

/// The nearest `.tokenctl` from `start` upwards, stopping after `home` and at a filesystem
/// boundary (as git's discovery does): a few `stat`s. Home is known by its device and inode, so
/// a `$HOME` reached through a link (`/home` linked to `/data/home`) still stops the search.
pub fn find_from(start: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let (device, _) = identity_of(start)?;
    let home = home.and_then(identity_of);
    let mut dir = start;
    loop {
        let candidate = dir.join(FILE_NAME);
        if std::fs::symlink_metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        let here = identity_of(dir)?;
        if Some(here) == home {
            return None;
        }
        let parent = dir.parent()?;
        if identity_of(parent)?.0 != device {
            return None;
        }
        dir = parent;
    }
}

/// A directory's device and inode, through links.
#[cfg(unix)]
fn identity_of(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir)
        .ok()
        .map(|meta| (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity_of(dir: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(dir).ok().map(|_| (0, 0))
}

/// Where allowed files are recorded: one small file per allowed path.
pub fn allow_dir() -> PathBuf {
    crate::dirs::data_dir().join("allowed")
}

/// A `.tokenctl` as read: its content (for `config allow` to show) and what it names.
#[derive(Debug)]
pub struct DirFile {
    pub path: PathBuf,
    pub text: String,
    pub context: String,
}

/// Reads and checks a `.tokenctl` (owner, mode, syntax), without asking whether it is allowed.
/// The error is the reason it cannot count, in a few words.
pub fn inspect(path: &Path) -> Result<DirFile, String> {
    // Its type before anything opens it: a FIFO would hang the open, a device could act on
    // it; a link is not the file tokenctl writes.
    let seen = std::fs::symlink_metadata(path).map_err(|err| format!("cannot be read: {err}"))?;
    if !seen.is_file() {
        return Err("is not a regular file".to_owned());
    }
    let file = open_no_wait(path).map_err(|err| format!("cannot be read: {err}"))?;
    let meta = file
        .metadata()
        .map_err(|err| format!("cannot be read: {err}"))?;
    if !meta.is_file() || !same_file(&seen, &meta) {
        return Err("changed while it was read".to_owned());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(format!("is owned by uid {}, not by you", meta.uid()));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "is writable by others (mode {:o}; chmod go-w it)",
                meta.mode() & 0o777
            ));
        }
    }
    if meta.len() > MAX_BYTES {
        return Err(format!("is larger than {MAX_BYTES} bytes"));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(&file, MAX_BYTES), &mut bytes)
        .map_err(|err| format!("cannot be read: {err}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())?;
    let context = parse(&text)?;
    Ok(DirFile {
        path: path.to_path_buf(),
        text,
        context,
    })
}

/// Opens without following a link, without waiting on a FIFO and without taking a terminal.
fn open_no_wait(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY,
    );
    options.open(path)
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// `context: NAME`, and nothing else.
fn parse(text: &str) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        context: String,
    }
    crate::yaml_bound::check(text)
        .map_err(|(line, message)| format!("has an error on line {line}: {message}"))?;
    let doc: Doc = serde_yaml_ng::from_str(text).map_err(|err| match err.location() {
        Some(at) => format!("has an error on line {}: {err}", at.line()),
        None => format!("is not `context: NAME`: {err}"),
    })?;
    let name = doc.context.trim();
    if name.is_empty() {
        return Err("names no context (`context: NAME`)".to_owned());
    }
    Ok(name.to_owned())
}

/// What the directory says, given the nearest file: whether it counts, and for which context.
pub fn read(path: &Path, allowed: &Path) -> Here {
    let ignored = |reason: String| Here::Ignored {
        path: path.to_path_buf(),
        reason,
    };
    let file = match inspect(path) {
        Ok(file) => file,
        Err(reason) => return ignored(reason),
    };
    // The record is one of ours: a link in its place is refused, never followed.
    let record = fsutil::read_own_file(&record_of(allowed, path))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    match record {
        Ok(record) if record.lines().next() == Some(content_hash(&file.text).as_str()) => {
            Here::Chosen {
                path: file.path,
                context: file.context,
            }
        }
        Ok(_) => ignored(format!(
            "changed since it was allowed; read it, then `{} {}`",
            crate::program::run("config allow"),
            path.display()
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => ignored(format!(
            "is not allowed; read it, then `{} {}`",
            crate::program::run("config allow"),
            path.display()
        )),
        Err(err) => ignored(format!(
            "is not allowed: its record cannot be read ({err}); read it, then `{} {}`",
            crate::program::run("config allow"),
            path.display()
        )),
    }
}

/// Records `file` (as read now) as allowed: later reads count it while its content is the same.
pub fn allow(file: &DirFile, allowed: &Path) -> std::io::Result<()> {
    fsutil::create_private_dir_all(allowed)?;
    let record = format!(
        "{}\n{}\n",
        content_hash(&file.text),
        file.path.to_string_lossy()
    );
    fsutil::write_own_file(&record_of(allowed, &file.path), record.as_bytes())
}

/// Writes `dir/.tokenctl` naming `context`, and allows it.
pub fn write_and_allow(dir: &Path, context: &str, allowed: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    // A name is quoted as YAML would (a JSON string is a YAML string).
    let text = format!(
        "context: {}\n",
        serde_json::to_string(context).map_err(std::io::Error::other)?
    );
    // A `.tokenctl` link a cloned repo ships is replaced, never written through.
    fsutil::replace_file(&path, text.as_bytes())?;
    let file = inspect(&path)
        .map_err(|reason| std::io::Error::other(format!("{}: {reason}", path.display())))?;
    allow(&file, allowed)?;
    Ok(path)
}

/// The record for a path: named by the hash of the path, so one path has one record.
fn record_of(allowed: &Path, path: &Path) -> PathBuf {
    allowed.join(hex(&Sha256::digest(path.as_os_str().as_encoded_bytes())))
}

fn content_hash(text: &str) -> String {
    format!("sha256:{}", hex(&Sha256::digest(text.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }

    #[test]
    fn the_nearest_file_upwards_is_found_and_the_search_stops_at_home() {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let deep = home.join("src/repo/sub/dir");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find_from(&deep, Some(&home)), None);
        write(&home.join("src/repo/.tokenctl"), "context: dev\n");
        assert_eq!(
            find_from(&deep, Some(&home)),
            Some(home.join("src/repo/.tokenctl"))
        );
        // Above the home directory nothing counts.
        std::fs::remove_file(home.join("src/repo/.tokenctl")).unwrap();
        write(&root.path().join(".tokenctl"), "context: dev\n");
        assert_eq!(find_from(&deep, Some(&home)), None);
        assert_eq!(find_from(&deep, None), Some(root.path().join(".tokenctl")));
        // A `$HOME` reached through a link stops the search too (the security review's L10).
        #[cfg(unix)]
        {
            let linked = root.path().join("home-link");
            std::os::unix::fs::symlink(&home, &linked).unwrap();
            assert_eq!(find_from(&deep, Some(&linked)), None);
        }
    }

    /// A FIFO (or a link) named `.tokenctl` is refused before anything opens it: nothing hangs
    /// (the security review's L1).
    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_link_is_not_opened() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join(".tokenctl");
        let path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        assert_eq!(inspect(&fifo).unwrap_err(), "is not a regular file");
        std::fs::remove_file(&fifo).unwrap();
        let target = root.path().join("elsewhere");
        write(&target, "context: dev\n");
        std::os::unix::fs::symlink(&target, &fifo).unwrap();
        assert_eq!(inspect(&fifo).unwrap_err(), "is not a regular file");
    }

    #[test]
    fn a_file_counts_once_allowed_and_until_it_changes() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        let path = root.path().join(".tokenctl");
        write(&path, "context: dev\n");
        assert!(
            matches!(read(&path, &allowed), Here::Ignored { reason, .. } if reason.starts_with("is not allowed"))
        );
        allow(&inspect(&path).unwrap(), &allowed).unwrap();
        assert_eq!(
            read(&path, &allowed),
            Here::Chosen {
                path: path.clone(),
                context: "dev".into()
            }
        );
        write(&path, "context: prod\n");
        assert!(
            matches!(read(&path, &allowed), Here::Ignored { reason, .. } if reason.starts_with("changed since"))
        );
    }

    /// An allow record is one of tokenctl's files: a link planted in its place (pointing at a
    /// file that holds the right hash) does not allow anything (the code review's finding).
    #[cfg(unix)]
    #[test]
    fn a_link_in_place_of_an_allow_record_allows_nothing() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        let path = root.path().join(".tokenctl");
        write(&path, "context: dev\n");
        allow(&inspect(&path).unwrap(), &allowed).unwrap();
        let record = record_of(&allowed, &path);
        let elsewhere = root.path().join("record-elsewhere");
        std::fs::rename(&record, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &record).unwrap();
        assert!(
            matches!(read(&path, &allowed), Here::Ignored { reason, .. } if reason.contains("its record cannot be read")),
            "{:?}",
            read(&path, &allowed)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_write_never_counts() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        let path = root.path().join(".tokenctl");
        write(&path, "context: dev\n");
        allow(&inspect(&path).unwrap(), &allowed).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(
            matches!(read(&path, &allowed), Here::Ignored { reason, .. } if reason.contains("writable by others"))
        );
    }

    #[test]
    fn bad_content_is_named_with_its_line() {
        assert_eq!(parse("context: dev\n").unwrap(), "dev");
        assert!(
            parse("context: dev\nextra: 1\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            parse("context: ''\n")
                .unwrap_err()
                .contains("names no context")
        );
        assert!(parse("- a\n").is_err());
    }

    #[test]
    fn a_written_file_is_allowed_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        let path = write_and_allow(root.path(), "team: a", &allowed).unwrap();
        assert_eq!(read(&path, &allowed).context(), Some("team: a"));
    }
}
