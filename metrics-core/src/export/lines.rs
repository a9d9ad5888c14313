//! Appending lines to a file with size-based rotation (the file exporter's `otlp_json`), with
//! the file exporter's rules: symbolic links followed, only regular files written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::file::Target;
use crate::MetricsError;

/// When a file is rotated, and how many rotated files are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rotation {
    pub(crate) max_bytes: u64,
    pub(crate) keep_files: u32,
}

/// Appends `line` (one write, `O_APPEND`, then fsync) to the file `path` leads to, first
/// rotating it if the line would take it past `max_bytes` (a file never holds less than one
/// line, however long).
pub(crate) fn append(path: &Path, line: &[u8], rotation: Rotation) -> Result<(), MetricsError> {
    let fail = |operation: &'static str| {
        move |source: io::Error| MetricsError::File {
            path: path.to_owned(),
            operation,
            source,
        }
    };
    let target = Target::of(path).map_err(fail("find the file to append to"))?;
    let dir = match target.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(fail("create the directory"))?;
    let size = target.existing.as_ref().map_or(0, fs::Metadata::len);
    let mut created = target.existing.is_none();
    if size > 0 && size + line.len() as u64 > rotation.max_bytes {
        rotate(&target.path, rotation.keep_files).map_err(fail("rotate the file"))?;
        created = true;
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&target.path)
        .map_err(fail("open the file"))?;
    // What was checked by name is what was opened: a regular file still.
    if !file.metadata().map_err(fail("inspect the file"))?.is_file() {
        return Err(fail("open the file")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        )));
    }
    file.write_all(line)
        .and_then(|()| file.sync_data())
        .map_err(fail("append the line"))?;
    if created {
        // A new directory entry is durable once the directory is.
        File::open(&dir)
            .and_then(|dir| dir.sync_all())
            .map_err(fail("fsync the directory"))?;
    }
    Ok(())
}

/// `path` becomes `path.1`, `path.1` becomes `path.2`, ..., up to `keep` files; the one
/// beyond is removed.
fn rotate(path: &Path, keep: u32) -> io::Result<()> {
    let numbered = |n: u32| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    if keep == 0 {
        return fs::remove_file(path);
    }
    match fs::remove_file(numbered(keep)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    for n in (1..keep).rev() {
        match fs::rename(numbered(n), numbered(n + 1)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    fs::rename(path, numbered(1))
}
