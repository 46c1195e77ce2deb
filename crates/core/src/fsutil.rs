//! File-system primitives every stored file goes through: private directories, atomic
//! 0600 writes, and advisory locks on a separate `.lock` file. Files tokenctl reads by path are
//! read here, each function saying whose file it is (a lint refuses `std::fs::read`,
//! `read_to_string` and `File::open` elsewhere; `config::here` opens `.tokenctl` itself, without
//! following a link or waiting on a FIFO).
#![doc(hidden)]
#![allow(
    clippy::disallowed_methods,
    reason = "the one module that opens files for reading"
)]

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The largest file [`read_user_text`] and [`read_user_bytes`] read.
pub const MAX_USER_FILE_BYTES: u64 = 16 << 20;

/// A file a person names (a CA bundle, a key, a secret file, a request body), at most
/// [`MAX_USER_FILE_BYTES`]: links are followed, as the person means the file they point at.
pub fn read_user_bytes(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > MAX_USER_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB; no file tokenctl reads is that large",
                MAX_USER_FILE_BYTES >> 20
            ),
        ));
    }
    // Read no more than the bound even if the file grows meanwhile.
    read_all(&file, len, MAX_USER_FILE_BYTES)
}

/// A system file read as a stream, line by line as far as the caller needs (the kernel's
/// socket tables, which report no size and can be larger than any bound a whole read takes).
pub fn open_stream(path: &Path) -> io::Result<io::BufReader<File>> {
    File::open(path).map(io::BufReader::new)
}

/// A text file people edit (the contexts file, a kubeconfig): its UTF-8, without the byte-order
/// mark some Windows editors put first, which YAML parsers take for content. kubectl reads such
/// files; a rewrite leaves the mark out.
pub fn read_user_text(path: &Path) -> io::Result<String> {
    let bytes = read_user_bytes(path)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Creates `dir` and its missing parents; directories created here are 0700.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Where a person's file really is: `path` with a whole chain of symbolic links followed
/// (dotfile managers link to links), at most 40 deep as the kernel goes.
pub fn real_path(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::read_link(&current) {
            Ok(target) if target.is_absolute() => current = target,
            Ok(target) => current = current.parent().unwrap_or(Path::new(".")).join(target),
            Err(_) => break,
        }
    }
    current
}

/// Writes a file a person keeps (the contexts file, a kubeconfig) through any chain of
/// symbolic links: the real file is replaced atomically (see [`write_own_file`]) and the links
/// stay links.
pub fn write_user_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomically(&real_path(path), contents)
}

/// Writes a file tokenctl makes in a person's directory (`.tokenctl`, a kubeconfig backup) as
/// a new file renamed into place: a symbolic link planted there (a cloned repo can ship one)
/// is replaced, never written through.
pub fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomically(path, contents)
}

/// Copies a person's file to `backup` beside it (see [`replace_file`]).
pub fn copy_to_backup(source: &Path, backup: &Path) -> io::Result<()> {
    replace_file(backup, read_user_text(source)?.as_bytes())
}

/// Writes one of tokenctl's own files (a login, a marker, a cache entry) atomically: a 0600
/// temporary file in the same directory, fsync, rename over the target, fsync of the
/// directory. Readers see the old file or the new one, never a mix, and a crash leaves one of
/// the two. A symbolic link in its place or as its directory is refused, never written through.
pub fn write_own_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    refuse_links(path)?;
    write_atomically(path, contents)
}

/// Reads one of tokenctl's own files without following a symbolic link, neither in its place
/// (`O_NOFOLLOW`) nor as its directory: a planted link is refused with its path.
pub fn read_own_file(path: &Path) -> io::Result<Vec<u8>> {
    refuse_linked_dirs(path)?;
    let mut options = OpenOptions::new();
    options.read(true);
    no_follow(&mut options);
    let file = options.open(path).map_err(|err| link_error(path, err))?;
    read_all(&file, OWN_FILE_HINT, u64::MAX)
}

/// What tokenctl's own files usually hold at most (a login, a cache entry of a small file).
const OWN_FILE_HINT: u64 = 16 * 1024;

/// All of `file`, at most `limit` bytes, into a buffer sized for `expected` bytes: one read and
/// the one that finds the end, where `File::read_to_end` would also ask for the size and the
/// position first (system calls are much of a hot-path call).
fn read_all(file: &File, expected: u64, limit: u64) -> io::Result<Vec<u8>> {
    let capacity = usize::try_from(expected.min(limit))
        .unwrap_or(0)
        .saturating_add(1);
    let mut bytes = Vec::with_capacity(capacity);
    io::Read::read_to_end(&mut io::Read::take(file, limit), &mut bytes)?;
    Ok(bytes)
}

/// A link in place of one of tokenctl's own files, or of the directories it keeps them in, is
/// refused (see [`refuse_linked_dirs`]).
fn refuse_links(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
        return Err(planted(path));
    }
    refuse_linked_dirs(path)
}

/// The directories tokenctl keeps its files in (`logins/` and the `tokenctl/` above it, say)
/// must be directories, not links to elsewhere; above `tokenctl/` the user's own layout is
/// respected. Each directory is looked at once per process.
fn refuse_linked_dirs(path: &Path) -> io::Result<()> {
    static CHECKED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    for dir in path.ancestors().skip(1).take(2) {
        if dir.as_os_str().is_empty() {
            break;
        }
        let known = CHECKED
            .lock()
            .map(|checked| checked.iter().any(|done| done == dir))
            .unwrap_or(false);
        if !known {
            if fs::symlink_metadata(dir).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(planted(dir));
            }
            if let Ok(mut checked) = CHECKED.lock() {
                checked.push(dir.to_path_buf());
            }
        }
        if dir.file_name().is_some_and(|name| name == "tokenctl") {
            break;
        }
    }
    Ok(())
}

/// A symbolic link where tokenctl keeps a file of its own.
#[derive(Debug, thiserror::Error)]
#[error("{} is a symbolic link; tokenctl does not follow links in its own files and directories (remove it)", .0.display())]
pub struct PlantedLink(PathBuf);

impl PlantedLink {
    /// Whether `err` is one.
    pub fn is(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|inner| inner.is::<PlantedLink>())
    }
}

fn planted(path: &Path) -> io::Error {
    io::Error::other(PlantedLink(path.to_path_buf()))
}

/// `O_NOFOLLOW`: opening a symbolic link fails (`ELOOP`) instead of opening what it points to.
fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW);
}

/// The error of an open with [`no_follow`]: a link says so with its path.
fn link_error(path: &Path, err: io::Error) -> io::Error {
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::ELOOP) {
        return planted(path);
    }
    let _ = path;
    err
}

fn write_atomically(target: &Path, contents: &[u8]) -> io::Result<()> {
    let mut temp = temp_beside(target)?;
    temp.write_all(contents)?;
    persist(temp, target)
}

/// A new 0600 file `.<name>.XXXX.tmp` in `target`'s directory (made 0700 if missing).
fn temp_beside(target: &Path) -> io::Result<tempfile::NamedTempFile> {
    let file_name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file_name}.");
    let dir = directory_of(target);
    create_private_dir_all(&dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    builder.tempfile_in(&dir)
}

/// Syncs `temp`, renames it over `target`, and syncs the directory: a crash leaves the old
/// file or the new one.
fn persist(temp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|err| err.error)?;
    #[cfg(unix)]
    File::open(directory_of(target))?.sync_all()?;
    Ok(())
}

fn directory_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Room set aside for a file before the action whose result it will hold (a refresh that
/// spends the old refresh token): a temporary file of the size asked for, written out and
/// synced beside the target. [`Reservation::commit`] writes into those blocks and renames it
/// over the target, so a full disk shows before the action, not after it. (Copy-on-write file
/// systems may still need new blocks: docs/hardening.md.)
#[derive(Debug)]
pub struct Reservation {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

/// Reserves `size` bytes for a new `target`, one of tokenctl's own files (see
/// [`write_own_file`]).
pub fn reserve(target: &Path, size: u64) -> io::Result<Reservation> {
    refuse_links(target)?;
    let mut temp = temp_beside(target)?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let chunk = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        temp.write_all(&zeros[..chunk])?;
        left -= chunk as u64;
    }
    temp.as_file().sync_all()?;
    Ok(Reservation {
        temp,
        target: target.to_path_buf(),
    })
}

impl Reservation {
    /// Writes `contents` into the reserved room, then renames it over the target (as
    /// [`write_own_file`] does).
    pub fn commit(mut self, contents: &[u8]) -> io::Result<()> {
        use std::io::Seek;
        let file = self.temp.as_file_mut();
        file.seek(io::SeekFrom::Start(0))?;
        file.write_all(contents)?;
        file.set_len(contents.len() as u64)?;
        refuse_links(&self.target)?;
        persist(self.temp, &self.target)
    }
}

/// An exclusive advisory lock held on `<path>.lock`; released on drop.
///
/// The lock lives in its own file because the file it guards is replaced by rename, and a
/// lock on a replaced inode protects nothing.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
}

impl LockGuard {
    /// Locks `<guarded>.lock`, waiting at most `timeout`. `what` says in the error and in
    /// the progress message what the wait is for.
    pub fn acquire(guarded: &Path, what: &str, timeout: Duration) -> io::Result<LockGuard> {
        let mut waiter = LockWaiter::open(guarded, what, timeout)?;
        loop {
            if waiter.try_lock()? {
                return Ok(waiter.into_guard());
            }
            std::thread::sleep(LOCK_POLL);
        }
    }

    /// [`LockGuard::acquire`] for async code: waits without blocking the runtime's thread, so
    /// other tasks run while another process holds the lock.
    pub async fn acquire_async(
        guarded: &Path,
        what: &str,
        timeout: Duration,
    ) -> io::Result<LockGuard> {
        let mut waiter = LockWaiter::open(guarded, what, timeout)?;
        loop {
            if waiter.try_lock()? {
                return Ok(waiter.into_guard());
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }
}

/// How often a waiting process tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(10);

/// One wait for a lock: the open lock file, when the wait began, and whether it was announced.
struct LockWaiter<'a> {
    file: File,
    guarded: PathBuf,
    lock_path: PathBuf,
    what: &'a str,
    timeout: Duration,
    started: Instant,
    announced: bool,
}

impl<'a> LockWaiter<'a> {
    fn open(guarded: &Path, what: &'a str, timeout: Duration) -> io::Result<LockWaiter<'a>> {
        let lock_path = lock_path(guarded);
        if let Some(dir) = lock_path.parent() {
            create_private_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        // Lock files are always tokenctl's own, beside the user's files too.
        no_follow(&mut options);
        let file = options
            .open(&lock_path)
            .map_err(|err| link_error(&lock_path, err))?;
        Ok(LockWaiter {
            file,
            guarded: guarded.to_path_buf(),
            lock_path,
            what,
            timeout,
            started: Instant::now(),
            announced: false,
        })
    }

    /// True once locked; false to try again after a pause; an error past the deadline.
    fn try_lock(&mut self) -> io::Result<bool> {
        match self.file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::Error(err)) => return Err(err),
            Err(TryLockError::WouldBlock) => {}
        }
        let waited = self.started.elapsed();
        if waited >= self.timeout {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "gave up after {}s waiting for another tokenctl process to finish {} (lock {})",
                    self.timeout.as_secs(),
                    self.what,
                    self.lock_path.display()
                ),
            ));
        }
        if !self.announced && waited >= Duration::from_secs(1) {
            tracing::warn!(
                "waiting for another tokenctl process to finish {}",
                self.what
            );
            self.announced = true;
        }
        Ok(false)
    }

    /// The lock is held: every writer of the guarded file takes it, so a temporary file of
    /// an atomic write found now was abandoned by a writer that died (SIGKILL, power loss).
    fn into_guard(self) -> LockGuard {
        remove_abandoned_temps(&self.guarded);
        LockGuard { file: self.file }
    }
}

impl LockGuard {
    /// Writes this process's id into the lock file, for the processes that wait to name it.
    pub fn claim(&self) {
        use std::io::{Seek, Write};
        let mut file = &self.file;
        let _ = file.set_len(0);
        let _ = file.seek(io::SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
    }
}

/// The process id the holder of `guarded`'s lock wrote into it, if any.
pub fn lock_holder(guarded: &Path) -> Option<u32> {
    let text = read_own_file(&lock_path(guarded)).ok()?;
    String::from_utf8_lossy(&text).trim().parse().ok()
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Removes the temporary files a write leaves for `path` when its process dies mid-write.
/// Only for a caller that holds the file's lock.
fn remove_abandoned_temps(path: &Path) {
    let target = real_path(path);
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
            tracing::debug!(file = %file_name, "removing a temporary file a killed writer left");
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes temporary files of [`write_own_file`] in `dir` older than `age`, for files written
/// without a lock (caches): no writer takes that long, so their writer died.
pub fn remove_stale_temps(dir: &Path, age: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|elapsed| elapsed > age);
        if name.starts_with('.') && name.ends_with(".tmp") && stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `config.yaml` → `config.yaml.lock`, beside it.
pub fn lock_path(guarded: &Path) -> PathBuf {
    let mut name = guarded.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A path given on the command line means from the current directory; a file keeps it
/// absolute (a relative one in the contexts file is read from the file's directory, as kubectl
/// reads its kubeconfig's).
pub fn absolute_text(path: String) -> String {
    std::path::absolute(&path).map_or(path, |absolute| absolute.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn atomic_write_creates_private_dirs_and_files() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("a/b/config.yaml");
        write_own_file(&path, b"one").unwrap();
        write_user_file(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&root.path().join("a/b")), 0o700);
        let leftovers: Vec<_> = fs::read_dir(root.path().join("a/b")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn stale_temporary_files_go_and_fresh_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join(".entry.json.Ab12Cd.tmp");
        let fresh = root.path().join(".entry.json.Ef34Gh.tmp");
        fs::write(&old, "half").unwrap();
        fs::write(&fresh, "being written").unwrap();
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        remove_stale_temps(root.path(), Duration::from_secs(600));
        assert!(!old.exists());
        assert!(fresh.exists());
    }

    #[test]
    fn the_lock_holder_removes_temporary_files_of_killed_writers() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("config.yaml");
        let abandoned = root.path().join(".config.yaml.Ab12Cd.tmp");
        let other = root.path().join(".other.yaml.Ab12Cd.tmp");
        fs::write(&abandoned, "half").unwrap();
        fs::write(&other, "not ours").unwrap();
        let _lock = LockGuard::acquire(&path, "testing", Duration::from_secs(1)).unwrap();
        assert!(!abandoned.exists());
        assert!(other.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_user_file_is_written_through_a_chain_of_links_and_an_own_file_never() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("dotfiles/real.yaml");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        let middle = root.path().join("middle.yaml");
        let link = root.path().join("link.yaml");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink("dotfiles/real.yaml", &middle).unwrap();
        std::os::unix::fs::symlink(&middle, &link).unwrap();
        write_user_file(&link, b"new").unwrap();
        let is_link = |p: &Path| fs::symlink_metadata(p).unwrap().file_type().is_symlink();
        assert!(is_link(&link) && is_link(&middle), "both links stay links");
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");

        let err = write_own_file(&link, b"planted").unwrap_err();
        assert!(err.to_string().contains("link.yaml"), "{err}");
        assert_eq!(
            fs::read_to_string(&real).unwrap(),
            "new",
            "not written through"
        );
    }

    #[test]
    fn a_held_lock_times_out_with_a_message_that_says_what_it_waited_for() {
        let root = tempfile::tempdir().unwrap();
        let guarded = root.path().join("config.yaml");
        let _held = LockGuard::acquire(
            &guarded,
            "editing the contexts file",
            Duration::from_secs(1),
        )
        .unwrap();
        let err = LockGuard::acquire(
            &guarded,
            "editing the contexts file",
            Duration::from_millis(50),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            err.to_string().contains("editing the contexts file"),
            "{err}"
        );
    }
}
