//! The file exporter under concurrent readers and failing file systems: a reader sees the
//! previous document or the new one, never a mix or a missing file; a failed export returns an
//! error naming the path and leaves the previous file intact and no temporary file behind.
//!
//! Failures are real, not simulated, and work as root (as CI runs): a path that is a
//! directory, a file where a directory is expected, a read-only mount and a full device (tmpfs
//! in a private mount namespace of a child process), and a file-size limit (RLIMIT_FSIZE in a
//! child process).

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::FileMetricsConfig;
use metrics_core::export::FileExporter;
use metrics_core::{MetricsError, MetricsExporter, MetricsGroup};
use serde::{Deserialize, Serialize};
use support::child;

/// A document whose every value is derived from `seq`, so that a mix of two documents, or a
/// truncated one, cannot pass for a whole one.
#[derive(MetricsGroup, Serialize, Deserialize)]
struct Doc {
    #[metric(counter)]
    seq: u64,
    #[metric(counter)]
    double: u64,
    #[metric(counter, label = "entry")]
    copies: BTreeMap<String, u64>,
}

fn doc(seq: u64, entries: usize) -> Doc {
    Doc {
        seq,
        double: seq * 2,
        copies: (0..entries)
            .map(|i| (format!("entry-{i:05}"), seq))
            .collect(),
    }
}

/// The `seq` of a whole, consistent document of `entries` entries; an error describing
/// anything else.
fn check(bytes: &[u8], entries: usize) -> Result<u64, String> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
        format!("unparsable ({} bytes, starting {head:?}): {e}", bytes.len())
    })?;
    let consistent = doc.double == doc.seq * 2
        && doc.copies.len() == entries
        && doc.copies.values().all(|&v| v == doc.seq);
    if consistent {
        Ok(doc.seq)
    } else {
        Err(format!("a mixed document around seq {}", doc.seq))
    }
}

fn exporter(path: &Path) -> FileExporter {
    FileExporter::new(FileMetricsConfig {
        path: path.to_owned(),
        pretty_print: true,
    })
}

/// The names in `dir` other than `keep`: temporary files that should not be there.
fn strays(dir: &Path, keep: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

/// Asserts that `error` is a file error naming `path`, and returns its message.
fn assert_names_path(error: &MetricsError, path: &Path) -> String {
    let message = error.to_string();
    assert!(
        matches!(error, MetricsError::File { path: p, .. } if p == path),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    message
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn readers_never_see_a_torn_or_missing_file() {
    const ENTRIES: usize = 300; // about 10 KB pretty-printed: several pages
    const MIN_EXPORTS: u64 = 1000;
    const MIN_READS: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let exporter = exporter(&path);
    let runtime = runtime();
    runtime.block_on(exporter.export(&doc(0, ENTRIES))).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (path, stop, reads) = (path.clone(), stop.clone(), reads.clone());
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    let result = fs::read(&path)
                        .map_err(|e| format!("read failed: {e}"))
                        .and_then(|bytes| check(&bytes, ENTRIES));
                    match result {
                        // Exports are serialized and each rename is atomic: never backwards.
                        Ok(seq) if seq < last => bad.push(format!("seq {seq} after {last}")),
                        Ok(seq) => last = seq,
                        Err(error) => bad.push(error),
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                bad
            })
        })
        .collect();

    let started = Instant::now();
    let mut exports = 0;
    while exports < MIN_EXPORTS || reads.load(Ordering::Relaxed) < MIN_READS {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "too slow: {exports} exports and {} reads in 25 s",
            reads.load(Ordering::Relaxed)
        );
        exports += 1;
        runtime
            .block_on(exporter.export(&doc(exports, ENTRIES)))
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let bad: Vec<String> = readers
        .into_iter()
        .flat_map(|reader| reader.join().unwrap())
        .collect();
    let reads = reads.load(Ordering::Relaxed);
    eprintln!(
        "{exports} exports and {reads} reads in {:?}: {} bad",
        started.elapsed(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} bad reads, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert_eq!(check(&fs::read(&path).unwrap(), ENTRIES), Ok(exports));
    assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
}

#[test]
fn a_path_that_is_a_directory_is_an_error_and_the_directory_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("inside"), "keep").unwrap();
    let error = runtime()
        .block_on(exporter(&path).export(&doc(1, 10)))
        .unwrap_err();
    let message = assert_names_path(&error, &path);
    assert!(message.contains("rename"), "{message}");
    assert_eq!(fs::read_to_string(path.join("inside")).unwrap(), "keep");
    assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
}

#[test]
fn a_file_where_a_directory_is_expected_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("state");
    fs::write(&blocker, "keep").unwrap();
    let path = blocker.join("metrics.json");
    let error = runtime()
        .block_on(exporter(&path).export(&doc(1, 10)))
        .unwrap_err();
    let message = assert_names_path(&error, &path);
    assert!(message.contains("create the directory"), "{message}");
    assert_eq!(fs::read_to_string(&blocker).unwrap(), "keep");
    assert_eq!(strays(dir.path(), &["state"]), Vec::<String>::new());
}

/// Exports `doc(1)`, breaks the file system with `break_it`, and checks that a larger export
/// fails naming the path, with the previous file intact and no temporary file; then repairs
/// with `repair` and checks that exporting works again.
fn fails_cleanly_then_recovers(
    dir: &Path,
    break_it: impl FnOnce(),
    repair: impl FnOnce(),
    expected: &str,
) {
    let path = dir.join("metrics.json");
    let exporter = exporter(&path);
    let runtime = runtime();
    runtime.block_on(exporter.export(&doc(1, 10))).unwrap();
    let before = fs::read(&path).unwrap();
    break_it();
    // About 200 KB: more than the tmpfs and the file-size limit hold.
    let error = runtime
        .block_on(exporter.export(&doc(2, 6000)))
        .unwrap_err();
    let message = assert_names_path(&error, &path);
    eprintln!("the export failed as it should: {message}");
    assert!(
        message.contains(expected),
        "expected {expected:?} in: {message}"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "the previous file changed"
    );
    assert_eq!(check(&before, 10), Ok(1));
    assert_eq!(strays(dir, &["metrics.json"]), Vec::<String>::new());
    repair();
    runtime.block_on(exporter.export(&doc(3, 10))).unwrap();
    assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(3));
    assert_eq!(strays(dir, &["metrics.json"]), Vec::<String>::new());
}

fn sh(script: &str, dir: &Path) {
    let status = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "`{script}` failed on {}", dir.display());
}

const DIR_VAR: &str = "METRICS_TEST_DIR";

/// The directory a child run works in.
fn child_dir() -> PathBuf {
    PathBuf::from(std::env::var_os(DIR_VAR).expect("the parent passes the directory"))
}

/// Runs `test` in a child process with a private mount namespace, in which it may mount a
/// tmpfs over a temporary directory (the mount vanishes with the child). Without the
/// privilege for it the test fails, saying why, unless METRICS_TESTS_NO_MOUNT=1 asks to skip.
fn in_mount_namespace(test: &str) {
    if let Err(why) = child::mount_namespace_available() {
        let message = format!(
            "CANNOT ARRANGE {test}: a private mount namespace is needed (root or CAP_SYS_ADMIN; \
             CI runs as root): `unshare --mount` said: {}",
            why.trim()
        );
        if std::env::var("METRICS_TESTS_NO_MOUNT").as_deref() == Ok("1") {
            eprintln!("SKIPPED, as METRICS_TESTS_NO_MOUNT=1 asks: {message}");
            return;
        }
        panic!("{message}; set METRICS_TESTS_NO_MOUNT=1 to skip this case knowingly");
    }
    let dir = tempfile::tempdir().unwrap();
    let output = child::run(
        test,
        &["unshare", "--mount", "--propagation", "private"],
        &[(DIR_VAR, dir.path().as_os_str())],
    );
    assert!(
        output.contains("the export failed as it should"),
        "{output}"
    );
}

#[test]
fn a_read_only_file_system_fails_cleanly() {
    const TEST: &str = "a_read_only_file_system_fails_cleanly";
    if !child::is_child(TEST) {
        return in_mount_namespace(TEST);
    }
    let dir = child_dir();
    sh(r#"mount -t tmpfs -o size=1m tmpfs "$1""#, &dir);
    fails_cleanly_then_recovers(
        &dir,
        || sh(r#"mount -o remount,ro "$1""#, &dir),
        || sh(r#"mount -o remount,rw "$1""#, &dir),
        "Read-only file system",
    );
}

#[test]
fn a_full_device_fails_cleanly() {
    const TEST: &str = "a_full_device_fails_cleanly";
    if !child::is_child(TEST) {
        return in_mount_namespace(TEST);
    }
    let dir = child_dir();
    // 64 KiB: the small documents fit, the large one does not.
    sh(r#"mount -t tmpfs -o size=64k tmpfs "$1""#, &dir);
    fails_cleanly_then_recovers(&dir, || {}, || {}, "No space left on device");
}

#[test]
fn a_file_size_limit_fails_cleanly() {
    const TEST: &str = "a_file_size_limit_fails_cleanly";
    if !child::is_child(TEST) {
        let dir = tempfile::tempdir().unwrap();
        // SIGXFSZ ignored (inherited through exec), so that writing past the limit is the
        // error EFBIG rather than death by signal; 64 blocks is 32 or 64 KiB by shell.
        let output = child::run(
            TEST,
            &["sh", "-c", r#"trap '' XFSZ; ulimit -f 64; exec "$0" "$@""#],
            &[(DIR_VAR, dir.path().as_os_str())],
        );
        assert!(
            output.contains("the export failed as it should"),
            "{output}"
        );
        let path = dir.path().join("metrics.json");
        assert_eq!(check(&fs::read(path).unwrap(), 10), Ok(3));
        assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
        return;
    }
    // The limit stays for the whole child: "repair" is not possible, but the small documents
    // are under it.
    fails_cleanly_then_recovers(&child_dir(), || {}, || {}, "File too large");
}

#[test]
fn an_abandoned_export_still_lands_before_the_next() {
    // A caller that gives up on an export (a composite's deadline, a reporter's shutdown)
    // drops its future while the blocking write goes on: the next export must still land
    // after it, or the file would end with the older snapshot.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let exporter = exporter(&path);
    let runtime = runtime();
    for round in 0..5 {
        let big = doc(2 * round + 1, 20_000); // about 600 KB: a write that takes a while
        let small = doc(2 * round + 2, 10); // written in far less time than the big one
        runtime.block_on(async {
            // Polled once: encodes, takes the lock, starts the write, then is dropped.
            let abandoned = tokio::time::timeout(Duration::ZERO, exporter.export(&big)).await;
            assert!(
                abandoned.is_err(),
                "the first export was expected to be cut off"
            );
            exporter.export(&small).await.unwrap();
        });
        assert_eq!(
            check(&fs::read(&path).unwrap(), 10),
            Ok(2 * round + 2),
            "round {round}: the abandoned export overwrote the newer one"
        );
    }
    // The abandoned writes finish on their own; give them a moment, then look for strays.
    runtime.block_on(exporter.shutdown()).unwrap();
    assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
}

#[test]
fn shutdown_waits_for_the_write_and_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let exporter = exporter(&path);
    let runtime = runtime();
    runtime.block_on(exporter.export(&doc(1, 10))).unwrap();
    runtime.block_on(exporter.shutdown()).unwrap();
    let error = runtime.block_on(exporter.export(&doc(2, 10))).unwrap_err();
    assert!(matches!(error, MetricsError::ShutDown { .. }), "{error}");
    assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(1));
}
