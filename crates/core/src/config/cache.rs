//! A parse cache for contexts files. YAML parsing costs about 40 ms for a file with 5,000
//! contexts; the same model read back from JSON costs about 1 ms. The cache entry is used only
//! while the file's identity, size, mtime and ctime are unchanged (ctime cannot be set from
//! user space, so an edit always shows) and its content hashes the same (a restored backup or a
//! copy with the old times cannot bring back another file's servers and issuers); it is only
//! ever a copy: losing it costs one parse. Every entry and verdict is sealed with a key kept in
//! tokenctl's data directory, so a cache directory others can write (a shared or restored CI
//! cache) cannot hand tokenctl a server, issuer or client the contexts file does not contain.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::model::FileModel;
use crate::fsutil::write_own_file;

/// Bumped whenever [`FileModel`]'s shape changes, so older entries are ignored.
const FORMAT: u32 = 6;

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
    /// SHA-256 of the text the model was read from.
    content: String,
}

impl Fingerprint {
    /// The version of a file whose metadata (taken before the read) is `metadata` and whose
    /// text is `text`.
    pub(super) fn of(metadata: &std::fs::Metadata, text: &str) -> Option<Fingerprint> {
        use base64::Engine;
        use sha2::Digest;
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
            content: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(text.as_bytes())),
        })
    }

    /// The version of the file at `path` now, with its text; `None` when it cannot be read.
    pub(super) fn read(path: &Path) -> Option<(Fingerprint, String)> {
        let metadata = std::fs::metadata(path).ok()?;
        let text = crate::fsutil::read_user_text(path).ok()?;
        Some((Fingerprint::of(&metadata, &text)?, text))
    }
}

/// A cache entry as read back; `M` may be a lighter view of [`FileModel`] (names only, say),
/// since serde skips what `M` does not ask for at little cost.
#[derive(Deserialize)]
struct Entry<M> {
    format: u32,
    build: Build,
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

/// The key entries are sealed with: 32 random bytes in `<data dir>/cache-key`, made on first
/// use. Two processes that make one at once only cost each other a parse.
fn cache_key() -> Option<&'static [u8]> {
    static KEY: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let path = crate::dirs::data_dir().join("cache-key");
        if let Ok(key) = crate::fsutil::read_own_file(&path)
            && key.len() == 64
        {
            return Some(key);
        }
        let key = crate::secret::random_token(48).into_bytes();
        let key = key.get(..64)?.to_vec();
        crate::fsutil::write_own_file(&path, &key).ok()?;
        Some(key)
    })
    .as_deref()
}

/// HMAC-SHA-256 of `bytes` under the key, in base64.
fn seal(bytes: &[u8]) -> Option<String> {
    seal_with(|mac| hmac::Mac::update(mac, bytes))
}

type Seal = hmac::Hmac<sha2::Sha256>;

/// HMAC-SHA-256 under the key of what `feed` adds, in base64.
fn seal_with(feed: impl FnOnce(&mut Seal)) -> Option<String> {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = Seal::new_from_slice(cache_key()?).ok()?;
    feed(&mut mac);
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Feeds what a value hashes to (its `Hash`) into the seal, without formatting it first.
struct Feed<'a>(&'a mut Seal);

impl Hasher for Feed<'_> {
    fn write(&mut self, bytes: &[u8]) {
        hmac::Mac::update(self.0, bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

/// The cached model of `path` if it was made from exactly this version of the file, and
/// sealed with this user's key.
pub(super) fn lookup<M: DeserializeOwned>(path: &Path, fingerprint: &Fingerprint) -> Option<M> {
    let text = match crate::fsutil::read_own_file(&entry_path(path)?) {
        Ok(text) => text,
        Err(err) => {
            if crate::fsutil::PlantedLink::is(&err) {
                tracing::warn!("contexts cache not used: {err}");
            }
            return None;
        }
    };
    let at = text.iter().position(|&b| b == b'\n')?;
    let (said, body) = (&text[..at], &text[at + 1..]);
    if seal(body)?.as_bytes() != said {
        tracing::debug!(
            "contexts cache entry of {} is not sealed with this key",
            path.display()
        );
        return None;
    }
    let entry: Entry<M> = serde_json::from_slice(body).ok()?;
    if entry.build != build_id()? {
        // Another build may read the file differently (a new key, a new rule).
        tracing::debug!(
            "contexts cache entry of {} was made by another build",
            path.display()
        );
        return None;
    }
    (entry.format == FORMAT && entry.path == path && entry.fingerprint == *fingerprint)
        .then_some(entry.model)
}

/// Remembers the model of this version of `path`; a failure only costs a parse next time.
pub(super) fn store(path: &Path, fingerprint: Fingerprint, model: &FileModel) {
    let Some(entry_path) = entry_path(path) else {
        return;
    };
    let Some(build) = build_id() else {
        return;
    };
    let entry = EntryRef {
        format: FORMAT,
        build,
        path,
        fingerprint: &fingerprint,
        model,
    };
    // Cache files are written without a lock; what a killed writer left is found by age.
    if let Some(dir) = entry_path.parent() {
        crate::fsutil::remove_stale_temps(dir, std::time::Duration::from_secs(600));
    }
    match serde_json::to_vec(&entry) {
        Ok(body) => {
            let Some(sealed) = seal(&body) else {
                return;
            };
            let mut bytes = sealed.into_bytes();
            bytes.push(b'\n');
            bytes.extend_from_slice(&body);
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
    build: Build,
    path: &'a Path,
    fingerprint: &'a Fingerprint,
    model: &'a FileModel,
}

/// A build of tokenctl: its binary's size and modification time.
type Build = (u64, u128);

/// This binary, looked up once: the model it reads from a file and the rules it validates
/// with come with it, so an entry or a verdict made by another build does not count.
fn build_id() -> Option<Build> {
    static BUILD: std::sync::OnceLock<Option<Build>> = std::sync::OnceLock::new();
    *BUILD.get_or_init(|| {
        let metadata = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
        let modified = metadata.modified().ok()?;
        let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some((metadata.len(), since.as_nanos()))
    })
}

/// Where the verdict for a set of files lives, and what it must say for this exact version of
/// every file and this build. One verdict per list of paths, overwritten as the files change.
fn verdict(files: &[(&Path, Option<&Fingerprint>)]) -> Option<(PathBuf, String)> {
    let paths: Vec<&Path> = files.iter().map(|(path, _)| *path).collect();
    let place = cache_dir()?.join(format!("valid-{:016x}", digest(&paths)));
    let build = build_id()?;
    let expected = seal_with(|hasher| (FORMAT, build, files).hash(&mut Feed(hasher)))?;
    Some((place, expected))
}

/// Whether this exact set of file versions already passed validation with this build.
pub(super) fn known_valid(files: &[(&Path, Option<&Fingerprint>)]) -> bool {
    verdict(files).is_some_and(|(place, expected)| {
        crate::fsutil::read_own_file(&place).is_ok_and(|said| said == expected.as_bytes())
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
