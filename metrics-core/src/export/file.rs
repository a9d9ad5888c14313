//! The JSON file exporter: each export atomically replaces the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::MetricsExporter;
use crate::config::FileMetricsConfig;
use crate::{DynMetricsGroup, MetricsError};

/// Writes each snapshot as JSON to one file, atomically: a reader sees the previous
/// document or the new one, never a mix, and a failed export leaves the previous file and no
/// temporary file behind.
///
/// The JSON is encoded on the calling task (it is fast); the file system work (write, fsync,
/// rename, fsync of the directory) runs on Tokio's blocking pool, off the async threads.
/// Exports are serialized, so the file always ends with the latest snapshot, even when a
/// caller gives up on an export (a deadline drops its future): the write it started keeps the
/// lock until it is done, and the next export waits for it.
#[derive(Debug)]
pub struct FileExporter {
    name: String,
    path: PathBuf,
    pretty: bool,
    /// The last document's length, to size the next buffer in one allocation.
    last_len: AtomicU64,
    /// Held by the blocking write itself, so that exports land in order even when an
    /// export's future is dropped while its write goes on.
    write_lock: Arc<Mutex<()>>,
    shut_down: AtomicBool,
}

impl FileExporter {
    /// An exporter for `config.path`. Nothing is touched until the first export.
    pub fn new(config: FileMetricsConfig) -> Self {
        FileExporter {
            name: format!("file {}", config.path.display()),
            path: config.path,
            pretty: config.pretty_print,
            last_len: AtomicU64::new(0),
            write_lock: Arc::new(Mutex::new(())),
            shut_down: AtomicBool::new(false),
        }
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
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
        group.write_json_to(&mut json, self.pretty)?;
        if self.pretty {
            // serde_json's pretty output has no final newline; files conventionally do.
            json.push(b'\n');
        }
        self.last_len.store(json.len() as u64, Ordering::Relaxed);

        let in_order = Arc::clone(&self.write_lock).lock_owned().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let result = replace_atomically(&path, &json);
            drop(in_order);
            result
        })
        .await
        .map_err(|join_error| MetricsError::File {
            path: self.path.clone(),
            operation: "run the blocking write",
            source: io::Error::other(join_error.to_string()),
        })?
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        // Wait for a write in progress; every write is already durable when it returns.
        let _in_order = self.write_lock.lock().await;
        self.shut_down.store(true, Ordering::Release);
        Ok(())
    }
}

/// Distinguishes the temporary files of concurrent writers within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `contents`: temporary file in the same directory, write, fsync,
/// rename over `path`, fsync the directory. On failure the temporary file is removed.
pub(crate) fn replace_atomically(path: &Path, contents: &[u8]) -> Result<(), MetricsError> {
    let fail = |operation: &'static str| {
        move |source: io::Error| MetricsError::File {
            path: path.to_owned(),
            operation,
            source,
        }
    };
    let file_name = path.file_name().ok_or_else(|| {
        fail("name the file")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(fail("create the directory"))?;

    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = dir.join(temp_name);

    let written = write_synced(&temp, contents)
        .map_err(fail("write the temporary file"))
        .and_then(|()| fs::rename(&temp, path).map_err(fail("rename the temporary file over it")));
    if let Err(error) = written {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    // The rename is durable once the directory entry is.
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(fail("fsync the directory"))
}

fn write_synced(temp: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(contents)?;
    file.sync_all()
}
