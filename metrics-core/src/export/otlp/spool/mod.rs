//! The OTLP spool: exports that failed for a retryable reason, one file each, resent oldest
//! first by later exports.
//!
//! Files in the directory:
//! - `<created ns>-<owner>-<n>.otlp`: an entry (see `entry.rs`); names sort oldest first.
//! - `.tmp-<owner>-<n>`: an entry being written; renamed into place once written and fsynced,
//!   so an entry is whole or absent. Those of a process that died are removed.
//! - `.owner-<owner>.lock`: locked by a live exporter for its lifetime, which is how a
//!   temporary file is known to be its, not torn (`.new-<owner>` while it is being claimed).
//! - `.lock`: locked by whoever is resending, so no entry is sent twice, across processes.

mod entry;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fs4::{FileExt, TryLockError};

pub use self::entry::OtlpEncoding;
use crate::config::SpoolConfig;

const EXTENSION: &str = ".otlp";
const TEMP_PREFIX: &str = ".tmp-";
const OWNER_PREFIX: &str = ".owner-";
const OWNER_SUFFIX: &str = ".lock";
const NEW_OWNER_PREFIX: &str = ".new-";
const DRAIN_LOCK: &str = ".lock";

/// Distinguishes exporters of one process in owner names.
static OWNERS: AtomicU64 = AtomicU64::new(0);

/// What a spool holds, and what it has done since its exporter was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolStatus {
    /// Entries waiting to be sent.
    pub entries: usize,
    /// Their size in bytes.
    pub bytes: u64,
    /// Entries dropped by this exporter: over `max_bytes` or `max_age_seconds`, damaged, or
    /// refused by the collector when resent.
    pub dropped: u64,
    /// Entries this exporter resent successfully.
    pub resent: u64,
}

/// One spool directory, as one exporter uses it.
pub(super) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    max_age: Duration,
    owner: String,
    /// Locked while this exporter lives: its temporary files are not torn.
    _owner_lock: File,
    next: AtomicU64,
    dropped: AtomicU64,
    resent: AtomicU64,
}

/// An entry in the directory.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    pub(super) path: PathBuf,
    created: SystemTime,
    pub(super) size: u64,
}

/// A failed step: what was being done, and why it failed.
pub(super) type Failed = (&'static str, io::Error);

impl Spool {
    /// Opens (creating it, mode 0700) the directory of `config`, and removes what processes
    /// that died left half-written.
    pub(super) fn open(config: &SpoolConfig) -> Result<Spool, Failed> {
        let dir = config.dir.clone();
        create_private_dir(&dir).map_err(|e| ("create the spool directory", e))?;
        let (owner, owner_lock) = claim_owner(&dir).map_err(|e| ("lock the owner file", e))?;
        let spool = Spool {
            dir,
            max_bytes: config.max_bytes,
            max_age: Duration::from_secs(config.max_age_seconds),
            owner,
            _owner_lock: owner_lock,
            next: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            resent: AtomicU64::new(0),
        };
        spool.remove_torn();
        Ok(spool)
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one entry atomically (temporary file, fsync, rename, fsync of the directory),
    /// first dropping the oldest entries it needs room for.
    pub(super) fn write(&self, encoding: OtlpEncoding, body: &[u8]) -> Result<(), Failed> {
        let contents = entry::encode(encoding, body);
        let size = contents.len() as u64;
        if size > self.max_bytes {
            return Err((
                "make room",
                io::Error::other(format!(
                    "the export's {size} bytes are more than the spool's max_bytes ({})",
                    self.max_bytes
                )),
            ));
        }
        let mut listed = self.list().map_err(|e| ("list the spool", e))?;
        self.enforce_limits(&mut listed, size);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!("{TEMP_PREFIX}{}-{n}", self.owner));
        let name = format!(
            "{:020}-{}-{n:010}{EXTENSION}",
            nanos(SystemTime::now()),
            self.owner
        );
        let written = crate::export::file::write_synced(&temp, &contents, None).and_then(|()| {
            fs::rename(&temp, self.dir.join(name)).map_err(|e| ("rename the entry into place", e))
        });
        if let Err(error) = written {
            // Best effort: the error that matters is the one being returned.
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        sync_dir(&self.dir).map_err(|e| ("fsync the spool directory", e))
    }

    /// Entries dropped by this exporter so far.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The lock for resending, or `None` while someone else (another process, or another
    /// export of this one) holds it.
    pub(super) fn try_lock(&self) -> Result<Option<Resending<'_>>, Failed> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(DRAIN_LOCK))
            .map_err(|e| ("open the spool's lock", e))?;
        match FileExt::try_lock(&lock) {
            Ok(()) => Ok(Some(Resending {
                spool: self,
                _lock: lock,
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(("lock the spool", e)),
        }
    }

    pub(super) fn status(&self) -> SpoolStatus {
        let listed = self.list().unwrap_or_default();
        SpoolStatus {
            entries: listed.len(),
            bytes: listed.iter().map(|l| l.size).sum(),
            dropped: self.dropped.load(Ordering::Relaxed),
            resent: self.resent.load(Ordering::Relaxed),
        }
    }

    /// The entries, oldest first. Files that are not entries are left alone.
    fn list(&self) -> io::Result<Vec<Listed>> {
        let mut listed = Vec::new();
        for item in fs::read_dir(&self.dir)? {
            let item = item?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(created) = name
                .strip_suffix(EXTENSION)
                .filter(|_| !name.starts_with('.'))
                .and_then(|stem| stem.split('-').next())
                .and_then(|ns| ns.parse::<u64>().ok())
            else {
                continue;
            };
            let Ok(metadata) = item.metadata() else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            listed.push(Listed {
                path: item.path(),
                created: UNIX_EPOCH + Duration::from_nanos(created),
                size: metadata.len(),
            });
        }
        listed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(listed)
    }

    /// Drops the entries older than `max_age_seconds`, then the oldest until `incoming`
    /// more bytes fit in `max_bytes`; counts and logs them. Returns how many.
    fn enforce_limits(&self, listed: &mut Vec<Listed>, incoming: u64) -> u64 {
        let now = SystemTime::now();
        let expired = listed
            .iter()
            .take_while(|l| now.duration_since(l.created).unwrap_or_default() > self.max_age)
            .count();
        let mut total: u64 = listed[expired..].iter().map(|l| l.size).sum();
        let mut over = expired;
        while over < listed.len() && total + incoming > self.max_bytes {
            total -= listed[over].size;
            over += 1;
        }
        let dropped = listed
            .drain(..over)
            .filter(|l| self.remove(&l.path))
            .count() as u64;
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
            tracing::warn!(
                dir = %self.dir.display(),
                dropped,
                expired,
                max_bytes = self.max_bytes,
                max_age_seconds = self.max_age.as_secs(),
                "dropped the oldest spooled OTLP exports: the spool is over its limits"
            );
        }
        dropped
    }

    /// Removes `path`; whether this call removed it (another process may have first).
    fn remove(&self, path: &Path) -> bool {
        match fs::remove_file(path) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a spooled OTLP export");
                false
            }
        }
    }

    /// Removes the temporary files of exporters that are gone (their owner lock is free or
    /// missing): entries a killed process was writing. Best effort.
    fn remove_torn(&self) {
        let Ok(items) = fs::read_dir(&self.dir) else {
            return;
        };
        let names: Vec<String> = items
            .filter_map(|i| i.ok()?.file_name().into_string().ok())
            .collect();
        for name in &names {
            let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
                continue;
            };
            let Some((owner, _)) = rest.rsplit_once('-') else {
                continue;
            };
            if owner != self.owner
                && !owner_alive(&self.dir, owner)
                && self.remove(&self.dir.join(name))
            {
                tracing::info!(file = %name, dir = %self.dir.display(), "removed a spool entry left half-written by a process that stopped");
            }
        }
        for name in &names {
            // An owner lock, or one a process died claiming (see `claim_owner`).
            let lock_file = name.starts_with(NEW_OWNER_PREFIX)
                || (name.starts_with(OWNER_PREFIX) && name.ends_with(OWNER_SUFFIX));
            if lock_file && !locked(&self.dir.join(name)) {
                self.remove(&self.dir.join(name));
            }
        }
    }
}

/// Holds the resend lock; entries are read and removed through it.
pub(super) struct Resending<'a> {
    spool: &'a Spool,
    _lock: File,
}

impl Resending<'_> {
    /// The entries to resend, oldest first, after removing torn files and dropping what is
    /// over the limits.
    pub(super) fn pending(&self) -> Vec<Listed> {
        self.spool.remove_torn();
        let mut listed = match self.spool.list() {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(dir = %self.spool.dir.display(), error = %e, "could not list the OTLP spool");
                Vec::new()
            }
        };
        self.spool.enforce_limits(&mut listed, 0);
        listed
    }

    /// The request of `listed`, or `None` if it is gone or damaged (then removed, counted and
    /// logged).
    pub(super) fn read(&self, listed: &Listed) -> Option<(OtlpEncoding, Vec<u8>)> {
        let file = match fs::read(&listed.path) {
            Ok(file) => file,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %listed.path.display(), error = %e, "could not read a spooled OTLP export");
                }
                return None;
            }
        };
        match entry::decode(file) {
            Ok(request) => Some(request),
            Err(why) => {
                self.drop_entry(listed, why);
                None
            }
        }
    }

    /// Removes an entry that was sent. Already gone is fine: another process dropped it over
    /// the limits while it was being sent.
    pub(super) fn sent(&self, listed: &Listed) -> io::Result<()> {
        match fs::remove_file(&listed.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        self.spool.resent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Removes an entry that can never be sent, counted and logged with `why`.
    pub(super) fn drop_entry(&self, listed: &Listed, why: &str) {
        if self.spool.remove(&listed.path) {
            self.spool.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(path = %listed.path.display(), reason = why, "dropped a spooled OTLP export");
        }
    }
}

fn nanos(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    if !fs::metadata(dir)?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a directory",
        ));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A new owner name and its lock, held from now on. The lock file is locked under a private
/// name, then renamed into place, so no one ever sees it unlocked and takes it for a dead
/// owner's. Another process may still remove it in the instant before it is locked: then a
/// new one is claimed.
fn claim_owner(dir: &Path) -> io::Result<(String, File)> {
    let mut attempt = 0;
    loop {
        let owner = format!(
            "{}.{}.{}",
            std::process::id(),
            OWNERS.fetch_add(1, Ordering::Relaxed),
            // Tells apart owners of one PID in two PID namespaces (containers sharing a volume).
            fastrand::u32(..)
        );
        let private = dir.join(format!("{NEW_OWNER_PREFIX}{owner}"));
        let lock = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&private)?;
        FileExt::lock(&lock)?;
        match fs::rename(
            &private,
            dir.join(format!("{OWNER_PREFIX}{owner}{OWNER_SUFFIX}")),
        ) {
            Ok(()) => return Ok((owner, lock)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 3 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Whether the exporter `owner` still runs: its lock file exists and is locked.
fn owner_alive(dir: &Path, owner: &str) -> bool {
    locked(&dir.join(format!("{OWNER_PREFIX}{owner}{OWNER_SUFFIX}")))
}

/// Whether someone holds the lock on the file `path` (which exists).
fn locked(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().write(true).open(path) else {
        return false;
    };
    match FileExt::try_lock(&file) {
        Ok(()) => {
            let _ = FileExt::unlock(&file);
            false
        }
        Err(_) => true,
    }
}
