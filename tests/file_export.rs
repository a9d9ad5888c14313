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
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::FileMetricsConfig;
use metrics_core::export::FileExporter;
use metrics_core::{MetricsConfig, MetricsError, MetricsExporter, MetricsGroup};
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

/// An exporter with the longest timeout: an fsync can take seconds on a machine busy writing
/// (other builds, the other tests), and only the timeout tests are about timeouts.
fn exporter(path: &Path) -> FileExporter {
    FileExporter::new(FileMetricsConfig {
        timeout_seconds: 3600.0,
        ..FileMetricsConfig::new(path)
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
        // A bound on work, not on time (a loaded machine is slow, not wrong): readers that
        // stopped reading would otherwise keep this loop going forever.
        assert!(
            exports < 100 * MIN_EXPORTS,
            "the readers are stuck: {} reads during {exports} exports",
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
    assert!(
        message.contains("it is a directory, not a regular file"),
        "{message}"
    );
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

/// Runs `test` in a child process with a private mount namespace (see
/// [`child::in_mount_namespace`]).
fn in_mount_namespace(test: &str) {
    if let Some(output) = child::in_mount_namespace(test) {
        assert!(
            output.contains("the export failed as it should"),
            "{output}"
        );
    }
}

#[test]
fn a_read_only_file_system_fails_cleanly() {
    const TEST: &str = "a_read_only_file_system_fails_cleanly";
    if !child::is_child(TEST) {
        return in_mount_namespace(TEST);
    }
    let dir = child::child_dir();
    child::sh(r#"mount -t tmpfs -o size=1m tmpfs "$1""#, &dir);
    fails_cleanly_then_recovers(
        &dir,
        || child::sh(r#"mount -o remount,ro "$1""#, &dir),
        || child::sh(r#"mount -o remount,rw "$1""#, &dir),
        "Read-only file system",
    );
}

#[test]
fn a_full_device_fails_cleanly() {
    const TEST: &str = "a_full_device_fails_cleanly";
    if !child::is_child(TEST) {
        return in_mount_namespace(TEST);
    }
    let dir = child::child_dir();
    // 64 KiB: the small documents fit, the large one does not.
    child::sh(r#"mount -t tmpfs -o size=64k tmpfs "$1""#, &dir);
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
            &[(child::DIR_VAR, dir.path().as_os_str())],
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
    fails_cleanly_then_recovers(&child::child_dir(), || {}, || {}, "File too large");
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
    // An abandoned write is not lost either: it lands, whole, before the shutdown returns.
    runtime.block_on(async {
        let big = doc(99, 20_000);
        let abandoned = tokio::time::timeout(Duration::ZERO, exporter.export(&big)).await;
        assert!(abandoned.is_err(), "the export was expected to be cut off");
        exporter.shutdown().await.unwrap();
    });
    assert_eq!(check(&fs::read(&path).unwrap(), 20_000), Ok(99));
    assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
}

#[test]
fn shutdown_waits_for_the_write_in_flight_and_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let exporter = Arc::new(exporter(&path));
    runtime().block_on(exporter.export(&doc(1, 10))).unwrap();
    let (runtime, release) = runtime_with_a_held_pool();
    runtime.block_on(async {
        let abandoned = tokio::time::timeout(Duration::ZERO, exporter.export(&doc(2, 10))).await;
        assert!(
            abandoned.is_err(),
            "the write was expected to wait for the pool"
        );
        let shutdown = tokio::spawn({
            let exporter = Arc::clone(&exporter);
            async move { exporter.shutdown().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !shutdown.is_finished(),
            "shutdown returned while a write was in flight"
        );
        assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(1));
        release.send(()).unwrap();
        shutdown.await.unwrap().unwrap();
        // Read at once: the shutdown returned after the write, not merely before a later check.
        assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(2));
    });
    let error = runtime.block_on(exporter.export(&doc(3, 10))).unwrap_err();
    assert!(matches!(error, MetricsError::ShutDown { .. }), "{error}");
    assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(2));
    assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
}

/// A runtime whose only blocking thread is held until the returned sender is used (or
/// dropped): file writes handed to it wait, in flight, for as long as a test wants.
fn runtime_with_a_held_pool() -> (tokio::runtime::Runtime, std::sync::mpsc::Sender<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    runtime.spawn_blocking(move || gate.recv());
    (runtime, release)
}

#[test]
fn a_symbolic_link_is_followed_and_its_target_replaced_where_it_is() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::write(real.join("target.json"), "stale").unwrap();
    symlink("real/target.json", dir.path().join("link.json")).unwrap();
    symlink("link.json", dir.path().join("chain.json")).unwrap();
    let runtime = runtime();
    runtime
        .block_on(exporter(&dir.path().join("chain.json")).export(&doc(1, 10)))
        .unwrap();
    assert_eq!(
        check(&fs::read(real.join("target.json")).unwrap(), 10),
        Ok(1)
    );
    for (link, to) in [
        ("link.json", "real/target.json"),
        ("chain.json", "link.json"),
    ] {
        assert_eq!(
            fs::read_link(dir.path().join(link)).unwrap(),
            Path::new(to),
            "{link} is no longer the same link"
        );
    }
    // A link to a file that does not exist yet: the file is created where the link points.
    symlink("real/new.json", dir.path().join("dangling.json")).unwrap();
    runtime
        .block_on(exporter(&dir.path().join("dangling.json")).export(&doc(2, 10)))
        .unwrap();
    assert_eq!(check(&fs::read(real.join("new.json")).unwrap(), 10), Ok(2));
    assert!(fs::symlink_metadata(dir.path().join("dangling.json"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        strays(
            dir.path(),
            &["real", "link.json", "chain.json", "dangling.json"]
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        strays(&real, &["target.json", "new.json"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_device_a_fifo_or_a_socket_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    // The same device nodes as /dev/null and /dev/full, made here (as root) so that the old
    // behaviour, a rename over them, cannot harm the machine's own.
    child::sh(
        r#"mknod "$1/null" c 1 3 && mknod "$1/full" c 1 7 && mkfifo "$1/fifo""#,
        dir.path(),
    );
    let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
    std::os::unix::fs::symlink("null", dir.path().join("stdout")).unwrap();
    let runtime = runtime();
    let cases = [
        ("null", "a character device"),
        ("full", "a character device"),
        ("fifo", "a FIFO (named pipe)"),
        ("socket", "a socket"),
        ("stdout", "a character device"),
    ];
    for (name, kind) in cases {
        let path = dir.path().join(name);
        let before = fs::symlink_metadata(&path).unwrap().file_type();
        let error = runtime
            .block_on(exporter(&path).export(&doc(1, 10)))
            .unwrap_err();
        let message = assert_names_path(&error, &path);
        assert!(
            message.contains(&format!("it is {kind}, not a regular file")),
            "{message}"
        );
        assert_eq!(
            fs::symlink_metadata(&path).unwrap().file_type(),
            before,
            "{name} was replaced"
        );
    }
    let names: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    assert_eq!(strays(dir.path(), &names), Vec::<String>::new());
}

#[test]
fn the_replaced_files_mode_and_owner_are_kept() {
    use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
    const TEST: &str = "the_replaced_files_mode_and_owner_are_kept";
    if !child::is_root() {
        let why = "giving a file to another owner needs root (CI runs as root)";
        return child::skip_or_fail(TEST, why, "METRICS_TESTS_NOT_ROOT");
    }
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    // (mode, uid, gid): restricted to nobody:nogroup; group-writable root:nogroup; setgid.
    for (i, (mode, uid, gid)) in [(0o600, 65534, 65534), (0o664, 0, 65534), (0o2640, 0, 0)]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("metrics-{i}.json"));
        fs::write(&path, "{}").unwrap();
        chown(&path, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let exporter = exporter(&path);
        for seq in 1..=2 {
            runtime.block_on(exporter.export(&doc(seq, 10))).unwrap();
            let metadata = fs::metadata(&path).unwrap();
            assert_eq!(
                (metadata.mode() & 0o7777, metadata.uid(), metadata.gid()),
                (mode, uid, gid),
                "export {seq} changed {}",
                path.display()
            );
            assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(seq));
        }
    }
}

#[test]
fn a_new_file_gets_mode_0666_less_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .map(|octal| u32::from_str_radix(octal.trim(), 8).unwrap())
        .expect("the umask in /proc/self/status");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.json");
    runtime()
        .block_on(exporter(&path).export(&doc(1, 10)))
        .unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o666 & !umask, "umask {umask:o}");
}

#[test]
fn the_longest_file_names_can_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    // 250 and 255 bytes (the limit), and 255 bytes of two-byte characters and one more byte.
    let names = ["a".repeat(250), "b".repeat(255), "é".repeat(127) + "x"];
    for name in &names {
        let path = dir.path().join(name);
        let exporter = exporter(&path);
        for seq in 1..=2 {
            runtime.block_on(exporter.export(&doc(seq, 10))).unwrap();
            assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(seq));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(strays(dir.path(), &names), Vec::<String>::new());
}

#[test]
fn an_export_past_its_own_timeout_says_so_and_its_write_still_lands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let exporter = FileExporter::new(FileMetricsConfig {
        timeout_seconds: 0.2,
        ..FileMetricsConfig::new(&path)
    });
    let (runtime, release) = runtime_with_a_held_pool();
    let error = runtime
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(30), exporter.export(&doc(1, 10))).await
        })
        .expect("the export ignored its timeout")
        .unwrap_err();
    let name = format!("file {}", path.display());
    assert!(
        matches!(&error, MetricsError::Timeout { backend, timeout }
            if *backend == name && *timeout == Duration::from_millis(200)),
        "{error}"
    );
    assert!(!path.exists(), "the write was expected to be held back");
    release.send(()).unwrap();
    // The held-back write goes on; the next export lands after it.
    runtime.block_on(exporter.export(&doc(2, 10))).unwrap();
    assert_eq!(check(&fs::read(&path).unwrap(), 10), Ok(2));
    assert_eq!(strays(dir.path(), &["metrics.json"]), Vec::<String>::new());
}

#[test]
fn the_file_timeout_has_a_default_and_is_checked() {
    let config = MetricsConfig::from_json(r#"{"file": {"path": "m.json"}}"#).unwrap();
    assert_eq!(config.file.as_ref().unwrap().timeout_seconds, 10.0);
    for bad in ["0", "-1", "3601"] {
        let text = format!(r#"{{"file": {{"path": "m.json", "timeout_seconds": {bad}}}}}"#);
        let error = MetricsConfig::from_json(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("invalid metrics configuration: `file.timeout_seconds`"),
            "{error}"
        );
    }
}
