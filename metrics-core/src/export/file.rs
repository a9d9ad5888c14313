//! The file exporter: each export atomically replaces the file with the group's JSON, or
//! appends an OTLP/JSON line (`lines.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::MetricsExporter;
use crate::config::{FileFormat, FileMetricsConfig, MetricsConfig};
use crate::otlp::OtlpContext;
use crate::{DynMetricsGroup, MetricsError};

/// Writes each snapshot as JSON to one file, atomically: a reader sees the previous
/// document or the new one, never a mix, and a failed export leaves the previous file and no
/// temporary file behind.
///
/// What is replaced: the file the path leads to. A symbolic link is followed to its final
/// target, which is replaced in its own directory (the link stays). The replacement keeps the
/// replaced file's mode and, where permitted (as root), its owner and group; a new file gets
/// mode 0o666 less the process's umask (0o644 with the usual umask 022), as `File::create`
/// does. A path that leads to anything but a regular file (a directory, a character or block
/// device such as `/dev/null` or `/dev/stdout`, a FIFO, a socket) is refused with
/// [`MetricsError::File`] and left as it is: this exporter never writes into a device or a
/// pipe, whose readers would see partial documents.
///
/// The JSON is encoded on the calling task (it is fast); the file system work (write, fsync,
/// rename, fsync of the directory) runs on Tokio's blocking pool, off the async threads.
/// Exports are serialized, so the file always ends with the latest snapshot, even when a
/// caller gives up on an export (a deadline drops its future): the write it started keeps the
/// lock until it is done, and the next export waits for it. An export, and a shutdown, that
/// takes longer than `timeout_seconds` returns [`MetricsError::Timeout`] (its write goes on).
///
/// With `format: "otlp_json"` each export appends one line, an OTLP
/// `ExportMetricsServiceRequest` in OTLP/JSON (as the OTLP exporter's HTTP/JSON body, with
/// the export's time), fsynced; before a line that would take the file past `max_bytes` the
/// file is rotated (`<path>.1`, ..., `keep_files` kept). The same rules hold: a symbolic link
/// is followed, anything but a regular file is refused, the file's mode is left as it is.
#[derive(Debug)]
pub struct FileExporter {
    name: String,
    path: PathBuf,
    pretty: bool,
    timeout: Duration,
    format: FileFormat,
    rotation: super::lines::Rotation,
    /// `otlp_json`: the resource and counters' start time.
    context: OtlpContext,
    /// The last document's length, to size the next buffer in one allocation.
    last_len: AtomicU64,
    /// Held by the blocking write itself, so that exports land in order even when an
    /// export's future is dropped while its write goes on.
    write_lock: Arc<Mutex<()>>,
    shut_down: AtomicBool,
}

impl FileExporter {
    /// An exporter for `config.path`. Nothing is touched until the first export. OTLP/JSON
    /// lines carry the default resource; see [`with_resource`](Self::with_resource).
    pub fn new(config: FileMetricsConfig) -> Self {
        FileExporter {
            name: format!("file {}", config.path.display()),
            timeout: config.timeout(),
            format: config.format,
            rotation: super::lines::Rotation {
                max_bytes: config.max_bytes,
                keep_files: config.keep_files,
            },
            context: OtlpContext::new(
                MetricsConfig::default().resource(),
                super::process::start_or_now(),
            ),
            path: config.path,
            pretty: config.pretty_print,
            last_len: AtomicU64::new(0),
            write_lock: Arc::new(Mutex::new(())),
            shut_down: AtomicBool::new(false),
        }
    }

    /// OTLP/JSON lines carry the resource of `config` (`service.name`, `service.namespace`,
    /// `resource_attributes`), as the OTLP exporter's requests do. `create_exporter` sets it.
    pub fn with_resource(mut self, config: &MetricsConfig) -> Self {
        let start = self.context.start_time_unix_nano();
        self.context = OtlpContext::new(config.resource(), super::process::start_or_now());
        self.context.set_start_time_unix_nano(start);
        self
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The deadline of each export and of the shutdown.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn within_timeout(
        &self,
        work: impl std::future::Future<Output = Result<(), MetricsError>>,
    ) -> Result<(), MetricsError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(MetricsError::Timeout {
                    backend: self.name.clone(),
                    timeout: self.timeout,
                })
            })
    }
}

#[async_trait]
impl MetricsExporter for FileExporter {
    fn name(&self) -> &str {
        &self.name
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(MetricsError::ShutDown {
                backend: self.name.clone(),
            });
        }
        let capacity = self.last_len.load(Ordering::Relaxed) as usize + 64;
        let mut json = Vec::with_capacity(capacity);
        match self.format {
            FileFormat::Json => {
                group.write_json_to(&mut json, self.pretty)?;
                if self.pretty {
                    // serde_json's pretty output has no final newline; files conventionally do.
                    json.push(b'\n');
                }
            }
            FileFormat::OtlpJson => {
                let mut context = self.context.clone();
                context.set_time(SystemTime::now());
                crate::otlp::encode_json(group, &context, &mut json);
                json.push(b'\n');
            }
        }
        self.last_len.store(json.len() as u64, Ordering::Relaxed);
        let (format, rotation) = (self.format, self.rotation);

        let write = async {
            let in_order = Arc::clone(&self.write_lock).lock_owned().await;
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || {
                let result = match format {
                    FileFormat::Json => replace_atomically(&path, &json),
                    FileFormat::OtlpJson => super::lines::append(&path, &json, rotation),
                };
                drop(in_order);
                result
            })
            .await
            .map_err(|join_error| MetricsError::File {
                path: self.path.clone(),
                operation: "run the blocking write",
                source: io::Error::other(join_error.to_string()),
            })?
        };
        self.within_timeout(write).await
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        self.shut_down.store(true, Ordering::Release);
        // Wait for a write in progress; every write is already durable when it returns.
        self.within_timeout(async {
            drop(self.write_lock.lock().await);
            Ok(())
        })
        .await
    }
}

/// Distinguishes the temporary files of concurrent writers within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The longest file name (in bytes) the common file systems accept (Linux `NAME_MAX`).
const NAME_MAX: usize = 255;

/// At most this many symbolic links are followed (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Replaces the file `path` leads to with `contents`: temporary file in the target's
/// directory, with the target's mode and owner, write, fsync, rename over the target, fsync the
/// directory. On failure the temporary file is removed.
pub(crate) fn replace_atomically(path: &Path, contents: &[u8]) -> Result<(), MetricsError> {
    let fail = |operation: &'static str| {
        move |source: io::Error| MetricsError::File {
            path: path.to_owned(),
            operation,
            source,
        }
    };
    let target = Target::of(path).map_err(fail("find the file to replace"))?;
    let file_name = target.path.file_name().ok_or_else(|| {
        fail("name the file")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match target.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(fail("create the directory"))?;

    let temp = dir.join(temp_name(file_name));
    let written = write_synced(&temp, contents, target.existing.as_ref())
        .map_err(|(operation, source)| fail(operation)(source))
        .and_then(|()| {
            fs::rename(&temp, &target.path).map_err(fail("rename the temporary file over it"))
        });
    if let Err(error) = written {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    // The rename is durable once the directory entry is.
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(fail("fsync the directory (the new file is in place)"))
}

/// The file an export replaces or appends to: where `path` leads, and its metadata if it
/// exists.
pub(crate) struct Target {
    pub(crate) path: PathBuf,
    pub(crate) existing: Option<fs::Metadata>,
}

impl Target {
    /// Follows symbolic links to the final target, so that the link stays a link and the
    /// file it names is the one replaced. Anything but a regular file (a device, a FIFO, a
    /// socket, a directory) is refused: renaming over it would silently turn, say,
    /// `/dev/null` into a file.
    pub(crate) fn of(path: &Path) -> io::Result<Target> {
        match fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => Ok(Target {
                path: fs::canonicalize(path)?,
                existing: Some(metadata),
            }),
            Ok(metadata) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "it is {}, not a regular file, and is left as it is (only regular files are replaced)",
                    describe(&metadata.file_type())
                ),
            )),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Target {
                path: dangling_link_target(path)?,
                existing: None,
            }),
            // A file where a directory is expected: creating the directory says so.
            Err(error) if error.kind() == io::ErrorKind::NotADirectory => Ok(Target {
                path: path.to_owned(),
                existing: None,
            }),
            Err(error) => Err(error),
        }
    }
}

/// Where a path that does not exist (yet) leads: itself, or the end of the chain of
/// symbolic links that ends in a name that does not exist.
fn dangling_link_target(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                // A relative link is relative to its own directory; `join` keeps an absolute one.
                current = match current.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("more than {MAX_LINKS} symbolic links"),
    ))
}

/// "a character device", "a FIFO", ... for the refusal's message.
fn describe(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// `.NAME.PID.N.tmp`, with NAME cut short (at a character boundary) where the whole would
/// exceed [`NAME_MAX`]: the PID and the counter keep it unique.
fn temp_name(file_name: &std::ffi::OsStr) -> String {
    let suffix = format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let name = file_name.to_string_lossy();
    let mut end = name.len().min(NAME_MAX - 1 - suffix.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}{suffix}", &name[..end])
}

/// Creates `temp` (mode 0o666 less the umask for a new file; for a replacement, the mode and,
/// where permitted, the owner of the file it replaces), writes and fsyncs it. An error comes
/// with the step that failed.
pub(crate) fn write_synced(
    temp: &Path,
    contents: &[u8],
    existing: Option<&fs::Metadata>,
) -> Result<(), (&'static str, io::Error)> {
    let fail = |operation| move |error| (operation, error);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if existing.is_some() {
        // Never more open than the file it replaces, even before its mode is copied.
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options
        .open(temp)
        .map_err(fail("create the temporary file"))?;
    if let Some(existing) = existing {
        keep_mode_and_owner(&file, existing)
            .map_err(fail("give the temporary file the file's mode"))?;
    }
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(fail("write the temporary file"))
}

/// Gives `file` the owner (where permitted: root may, others may change the group to one of
/// theirs) and the mode of `existing`.
#[cfg(unix)]
fn keep_mode_and_owner(file: &File, existing: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
    let created = file.metadata()?;
    // The owner first: changing it clears set-user-ID bits, which the mode then restores.
    if (created.uid(), created.gid()) != (existing.uid(), existing.gid())
        && fchown(file, Some(existing.uid()), Some(existing.gid())).is_err()
    {
        // Not permitted: the group alone may be.
        let _ = fchown(file, None, Some(existing.gid()));
    }
    file.set_permissions(fs::Permissions::from_mode(existing.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_mode_and_owner(file: &File, existing: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(existing.permissions())
}
