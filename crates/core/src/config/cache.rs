//! A parse cache for contexts files. YAML parsing costs about 40 ms for a file with 5,000
//! contexts; the same model read back from JSON costs about 1 ms. The cache entry is used only
//! while the file's identity, size, mtime and ctime are unchanged (ctime cannot be set from
//! user space, so an edit always shows), and it is only ever a copy: losing it costs one parse.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::model::FileModel;
use crate::fsutil::write_own_file;

/// Bumped whenever [`FileModel`]'s shape changes, so older entries are ignored.
const FORMAT: u32 = 3;

/// What identifies one version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) struct Fingerprint {
    len: u64,
    modified_ns: i128,
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    changed_ns: i128,
}

impl Fingerprint {
    pub(super) fn of(metadata: &std::fs::Metadata) -> Option<Fingerprint> {
        let modified = metadata.modified().ok()?;
        let modified_ns = match modified.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Some(Fingerprint {
            len: metadata.len(),
            modified_ns,
            #[cfg(unix)]
            dev: metadata.dev(),
            #[cfg(unix)]
            ino: metadata.ino(),
            #[cfg(unix)]
            changed_ns: i128::from(metadata.ctime()) * 1_000_000_000
                + i128::from(metadata.ctime_nsec()),
        })
    }
}

/// A cache entry as read back; `M` may be a lighter view of [`FileModel`] (names only, say),
/// since serde skips what `M` does not ask for at little cost.
#[derive(Deserialize)]
struct Entry<M> {
    format: u32,
    path: PathBuf,
    fingerprint: Fingerprint,
    model: M,
}

/// `$XDG_CACHE_HOME/tokenctl/contexts/`, else `~/.cache/tokenctl/contexts/`.
fn cache_dir() -> Option<PathBuf> {
    Some(crate::dirs::cache_dir()?.join("contexts"))
}

fn digest(value: impl Hash) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

fn entry_path(path: &Path) -> Option<PathBuf> {
    Some(cache_dir()?.join(format!("{:016x}.json", digest(path))))
}

/// The cached model of `path` if it was made from exactly this version of the file.
pub(super) fn lookup<M: DeserializeOwned>(path: &Path, fingerprint: &Fingerprint) -> Option<M> {
    let text = std::fs::read(entry_path(path)?).ok()?;
    let entry: Entry<M> = serde_json::from_slice(&text).ok()?;
    (entry.format == FORMAT && entry.path == path && entry.fingerprint == *fingerprint)
        .then_some(entry.model)
}

/// Remembers the model of this version of `path`; a failure only costs a parse next time.
pub(super) fn store(path: &Path, fingerprint: Fingerprint, model: &FileModel) {
    let Some(entry_path) = entry_path(path) else {
        return;
    };
    let entry = EntryRef {
        format: FORMAT,
        path,
        fingerprint: &fingerprint,
        model,
    };
    // Cache files are written without a lock; what a killed writer left is found by age.
    if let Some(dir) = entry_path.parent() {
        crate::fsutil::remove_stale_temps(dir, std::time::Duration::from_secs(600));
    }
    match serde_json::to_vec(&entry) {
        Ok(bytes) => {
            if let Err(err) = write_own_file(&entry_path, &bytes) {
                tracing::debug!(
                    "contexts cache not written ({}): {err}",
                    entry_path.display()
                );
            }
        }
        Err(err) => tracing::debug!("contexts cache not written: {err}"),
    }
}

/// [`Entry`] by reference, to write without cloning the model.
#[derive(Serialize)]
struct EntryRef<'a> {
    format: u32,
    path: &'a Path,
    fingerprint: &'a Fingerprint,
    model: &'a FileModel,
}

/// This binary: validation rules come with it (each dialect's fields), so a verdict made by
/// another build does not count.
fn build_id() -> Option<(u64, i128)> {
    let metadata = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
    let fingerprint = Fingerprint::of(&metadata)?;
    Some((fingerprint.len, fingerprint.modified_ns))
}

/// Where the verdict for a set of files lives, and what it must say for this exact version of
/// every file and this build. One verdict per list of paths, overwritten as the files change.
fn verdict(files: &[(&Path, Option<&Fingerprint>)]) -> Option<(PathBuf, String)> {
    let paths: Vec<&Path> = files.iter().map(|(path, _)| *path).collect();
    let place = cache_dir()?.join(format!("valid-{:016x}", digest(&paths)));
    let expected = format!("{:016x}", digest((FORMAT, build_id()?, files)));
    Some((place, expected))
}

/// Whether this exact set of file versions already passed validation with this build.
pub(super) fn known_valid(files: &[(&Path, Option<&Fingerprint>)]) -> bool {
    verdict(files).is_some_and(|(place, expected)| {
        std::fs::read_to_string(place).is_ok_and(|said| said == expected)
    })
}

/// Records that this exact set of file versions passed validation.
pub(super) fn remember_valid(files: &[(&Path, Option<&Fingerprint>)]) {
    if let Some((place, expected)) = verdict(files)
        && let Err(err) = write_own_file(&place, expected.as_bytes())
    {
        tracing::debug!("validation verdict not cached: {err}");
    }
}
