//! The OTLP spool against the receiver (tests/otlp_receiver) that is stopped, refuses, or
//! answers slowly: exports made while the collector is away arrive later, in order, with their
//! original timestamps; refusals are not spooled; the limits drop the oldest and say how many;
//! a process killed with SIGKILL leaves nothing torn and the next one sends what it left; a
//! full disk is an error and the exporter goes on; two exporters on one directory never send
//! an entry twice.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use metrics_core::config::{OtlpConfig, OtlpProtocol, SpoolConfig};
use metrics_core::export::{OtlpExporter, MAX_RESEND_ENTRIES};
use metrics_core::{MetricsConfig, MetricsError, MetricsExporter, MetricsGroup};
use serde_json::json;
use support::child;
use support::receiver::{metrics_by_name, Receiver};

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpBinary,
    OtlpProtocol::HttpJson,
];

/// One export, told apart from the others by `seq`; `padding` makes it as large as a test
/// needs.
#[derive(MetricsGroup)]
struct Tick {
    #[metric(counter)]
    seq: u64,
    #[metric(label = "key")]
    padding: BTreeMap<String, u64>,
}

fn tick(seq: u64) -> Tick {
    Tick {
        seq,
        padding: BTreeMap::new(),
    }
}

/// A port nothing listens on (until a receiver is started on it).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn url(protocol: OtlpProtocol, grpc_port: u16, http_port: u16) -> String {
    match protocol {
        OtlpProtocol::Grpc => format!("http://127.0.0.1:{grpc_port}"),
        _ => format!("http://127.0.0.1:{http_port}/v1/metrics"),
    }
}

fn new_exporter(endpoint: String, protocol: OtlpProtocol, spool: SpoolConfig) -> OtlpExporter {
    let otlp = OtlpConfig {
        protocol,
        timeout_seconds: 1.0,
        spool: Some(spool),
        ..OtlpConfig::new(endpoint)
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap()
}

/// `seq` and the point's time of each received request, in arrival order.
fn received_ticks(receiver: &Receiver) -> Vec<(u64, u128)> {
    receiver
        .received()
        .iter()
        // Delivered: no fault, or only a slow answer.
        .filter(|record| record["fault"].is_null() || record["fault"]["mode"] == "delay")
        .map(|record| {
            let point = &metrics_by_name(record)["seq"]["sum"]["data_points"][0];
            let seq = point["as_int"].as_str().unwrap().parse().unwrap();
            let time = point["time_unix_nano"].as_str().unwrap().parse().unwrap();
            (seq, time)
        })
        .collect()
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The names in `dir` that start with `prefix`.
fn files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Exports `seq` until one is sent (not spooled), at most `tries`; returns the next seq.
async fn export_until_sent(exporter: &OtlpExporter, mut seq: u64, tries: usize) -> u64 {
    for _ in 0..tries {
        let result = exporter.export(&tick(seq)).await;
        seq += 1;
        match result {
            Ok(()) => return seq,
            Err(MetricsError::OtlpSpooled { .. }) => {}
            Err(other) => panic!("export {}: {other}", seq - 1),
        }
    }
    panic!(
        "no export was sent in {tries} tries: {:?}",
        exporter.spool_status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_away_for_twenty_exports_gets_them_in_order_with_their_times() {
    for protocol in PROTOCOLS {
        let (grpc_port, http_port) = (free_port(), free_port());
        let dir = tempfile::tempdir().unwrap();
        let exporter = new_exporter(
            url(protocol, grpc_port, http_port),
            protocol,
            SpoolConfig::new(dir.path()),
        );
        let mut windows = Vec::new();
        for seq in 0..20 {
            let before = now_nanos();
            let error = exporter.export(&tick(seq)).await.unwrap_err();
            windows.push((before, now_nanos()));
            assert!(
                matches!(error, MetricsError::OtlpSpooled { dropped: 0, .. }),
                "{protocol}: {error}"
            );
            assert!(error.to_string().contains("spooled"), "{error}");
        }
        assert_eq!(exporter.spool_status().unwrap().entries, 20, "{protocol}");

        let receiver = Receiver::start_on(grpc_port, http_port);
        let next = export_until_sent(&exporter, 20, 5).await;
        let received = received_ticks(&receiver);
        let seqs: Vec<u64> = received.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, (0..next).collect::<Vec<_>>(), "{protocol}");
        for (seq, (before, after)) in windows.iter().enumerate() {
            let time = received[seq].1;
            assert!(
                (*before..=*after).contains(&time),
                "{protocol}: export {seq} carries {time}, not its own time {before}..{after}"
            );
        }
        let status = exporter.spool_status().unwrap();
        // The 20, and the new exports that waited behind them; the last was sent at once.
        assert_eq!((status.entries, status.resent), (0, next - 1), "{protocol}");
        // More than one export's worth: the catching up took more than one export.
        assert!(next > 21 && 20 > MAX_RESEND_ENTRIES, "{protocol}: {next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_partial_successes_are_not_spooled() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        let dir = tempfile::tempdir().unwrap();
        let exporter = new_exporter(
            receiver.url(protocol),
            protocol,
            SpoolConfig::new(dir.path()),
        );
        let faults = [
            json!({"mode": "status", "http_status": 400, "grpc_code": "INVALID_ARGUMENT"}),
            json!({"mode": "partial", "rejected": 2, "message": "bad points"}),
        ];
        for fault in faults {
            receiver.fault(fault.clone());
            let error = exporter.export(&tick(1)).await.unwrap_err();
            assert!(
                matches!(
                    error,
                    MetricsError::Otlp { .. } | MetricsError::OtlpPartialSuccess { .. }
                ),
                "{protocol} {fault}: {error}"
            );
            assert!(!error.to_string().contains("spooled"), "{error}");
            assert_eq!(exporter.spool_status().unwrap().entries, 0, "{protocol}");
            assert_eq!(files(dir.path(), "0").len(), 0, "{protocol}");
        }
        receiver.fault(json!({"mode": "none"}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_drop_the_oldest_and_say_how_many() {
    let logs = support::logs::capture();
    let (grpc_port, http_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let spool = SpoolConfig {
        max_bytes: 4096,
        ..SpoolConfig::new(dir.path())
    };
    let exporter = new_exporter(
        url(OtlpProtocol::Grpc, grpc_port, 0),
        OtlpProtocol::Grpc,
        spool,
    );
    let mut reported = 0;
    for seq in 0..40 {
        match exporter.export(&tick(seq)).await {
            Err(MetricsError::OtlpSpooled { dropped, .. }) => reported += dropped,
            other => panic!("{other:?}"),
        }
        assert!(exporter.spool_status().unwrap().bytes <= 4096);
    }
    let status = exporter.spool_status().unwrap();
    assert!(status.entries < 40 && status.entries > 1, "{status:?}");
    assert_eq!(status.dropped, 40 - status.entries as u64, "{status:?}");
    assert_eq!(reported, status.dropped);
    let text = logs.text();
    let logged: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("dropped the oldest spooled OTLP exports"))
        .collect();
    assert!(
        !logged.is_empty() && logged.iter().all(|l| l.contains("WARN")),
        "{text}"
    );

    // What is left is the newest, sent in order.
    let receiver = Receiver::start_on(grpc_port, http_port);
    let next = export_until_sent(&exporter, 40, 5).await;
    let seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    let first = 40 - status.entries as u64;
    assert_eq!(seqs, (first..next).collect::<Vec<_>>());

    // Age: entries older than max_age_seconds are dropped, counted.
    drop(receiver);
    let aged = tempfile::tempdir().unwrap();
    let spool = SpoolConfig {
        max_age_seconds: 1,
        ..SpoolConfig::new(aged.path())
    };
    let aging = new_exporter(
        url(OtlpProtocol::Grpc, grpc_port, 0),
        OtlpProtocol::Grpc,
        spool,
    );
    for seq in 0..3 {
        aging.export(&tick(seq)).await.unwrap_err();
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    match aging.export(&tick(3)).await {
        Err(MetricsError::OtlpSpooled { dropped: 3, .. }) => {}
        other => panic!("{other:?}"),
    }
    let status = aging.spool_status().unwrap();
    assert_eq!((status.entries, status.dropped), (1, 3), "{status:?}");
}

/// Starts this test binary's `test` as a child process on `dir`, with the collector's gRPC
/// `port`; its output is piped.
fn spawn_child(test: &str, dir: &Path, port: u16) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(child::CHILD_VAR, test)
        .env(child::DIR_VAR, dir)
        .env(PORT_VAR, port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

const KILLED: &str = "a_process_killed_mid_spool_leaves_nothing_torn_and_the_next_sends_the_rest";
const PORT_VAR: &str = "METRICS_TEST_PORT";

#[test]
fn a_process_killed_mid_spool_leaves_nothing_torn_and_the_next_sends_the_rest() {
    if child::is_child(KILLED) {
        // The child: spools as fast as it can until it is killed.
        let port: u16 = std::env::var(PORT_VAR).unwrap().parse().unwrap();
        let otlp = OtlpConfig {
            timeout_seconds: 0.01,
            spool: Some(SpoolConfig::new(child::child_dir())),
            ..OtlpConfig::new(format!("http://127.0.0.1:{port}"))
        };
        let exporter = OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for seq in 0.. {
            let _ = runtime.block_on(exporter.export(&big_tick(seq)));
        }
        return;
    }
    let (grpc_port, http_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut spooling = spawn_child(KILLED, dir.path(), grpc_port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while files(dir.path(), "0").len() < 30 {
        assert!(Instant::now() < deadline, "the child spooled too little");
        std::thread::sleep(Duration::from_millis(5));
    }
    spooling.kill().unwrap(); // SIGKILL
    spooling.wait().unwrap();
    let left = files(dir.path(), "0").len() as u64;
    // Damage a process could leave without this spool's care: a torn temporary file of an
    // exporter that is gone, and an entry cut short.
    std::fs::write(dir.path().join(".tmp-1.2.3-4"), b"metrics-core OTLP sp").unwrap();
    let cut = dir
        .path()
        .join("00000000000000000001-1.2.3-0000000000.otlp");
    std::fs::write(&cut, b"metrics-core OTLP spool 1\ncontent-type: application/x-protobuf\nlength: 99\nfnv1a64: 0\n\nabc").unwrap();

    let receiver = Receiver::start_on(grpc_port, http_port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let next_process = new_exporter(
        receiver.grpc_url(),
        OtlpProtocol::Grpc,
        SpoolConfig::new(dir.path()),
    );
    assert!(files(dir.path(), ".tmp-").is_empty(), "torn files stay");
    // The killed process's owner lock is gone too; the new one's is there.
    assert_eq!(files(dir.path(), ".owner-").len(), 1);
    let next = runtime.block_on(export_until_sent(&next_process, 1_000_000, 20));
    let seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    let mut want: Vec<u64> = (0..left).collect();
    want.extend(1_000_000..next);
    assert_eq!(
        seqs, want,
        "the entries the child left, in order, then the new ones"
    );
    assert!(files(dir.path(), "0").is_empty());
    assert!(files(dir.path(), ".tmp-").is_empty());
    assert_eq!(
        next_process.spool_status().unwrap().dropped,
        1,
        "the cut entry"
    );
}

/// A tick of about 8 KB, so that writing it takes a while (more chances to be killed in it).
fn big_tick(seq: u64) -> Tick {
    Tick {
        seq,
        padding: (0..300).map(|i| (format!("key-{i:04}"), i)).collect(),
    }
}

const FULL: &str = "a_full_disk_is_an_error_and_the_exporter_goes_on";

#[test]
fn a_full_disk_is_an_error_and_the_exporter_goes_on() {
    if !child::is_child(FULL) {
        if let Some(output) = child::in_mount_namespace(FULL) {
            assert!(output.contains("the full disk was an error"), "{output}");
        }
        return;
    }
    let dir = child::child_dir();
    child::sh(r#"mount -t tmpfs -o size=64k tmpfs "$1""#, &dir);
    let spool_dir: PathBuf = dir.join("spool");
    let (grpc_port, http_port) = (free_port(), free_port());
    let exporter = new_exporter(
        url(OtlpProtocol::Grpc, grpc_port, http_port),
        OtlpProtocol::Grpc,
        SpoolConfig::new(&spool_dir),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut spooled = 0;
    let mut seq = 0;
    let full = loop {
        assert!(seq < 100, "64 KiB never filled up");
        match runtime.block_on(exporter.export(&big_tick(seq))) {
            Err(MetricsError::OtlpSpooled { .. }) => spooled += 1,
            Err(error @ MetricsError::OtlpSpool { .. }) => break error,
            other => panic!("{other:?}"),
        }
        seq += 1;
    };
    seq += 1;
    assert!(
        full.to_string().contains("No space left on device"),
        "{full}"
    );
    assert!(
        files(&spool_dir, ".tmp-").is_empty(),
        "a failed write leaves its file"
    );
    assert!(spooled > 2, "{spooled}");
    // The exporter goes on: the collector back, the spool is sent and new exports with it.
    let receiver = Receiver::start_on(grpc_port, http_port);
    let next = runtime.block_on(export_until_sent(&exporter, seq, 20));
    let seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    let mut want: Vec<u64> = (0..spooled).collect();
    want.extend(seq..next);
    assert_eq!(seqs, want);
    println!("the full disk was an error: {full}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_exporters_on_one_directory_never_send_an_entry_twice() {
    let (grpc_port, http_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let endpoint = url(OtlpProtocol::HttpBinary, grpc_port, http_port);
    let one = new_exporter(
        endpoint.clone(),
        OtlpProtocol::HttpBinary,
        SpoolConfig::new(dir.path()),
    );
    let two = new_exporter(
        endpoint,
        OtlpProtocol::HttpBinary,
        SpoolConfig::new(dir.path()),
    );
    for seq in 0..15 {
        one.export(&tick(seq)).await.unwrap_err();
        two.export(&tick(100 + seq)).await.unwrap_err();
    }
    let receiver = Receiver::start_on(grpc_port, http_port);
    // Slow answers, so that the two exporters' resending overlaps.
    receiver.fault(json!({"mode": "delay", "seconds": 0.02, "count": 40}));
    let (a, b) = tokio::join!(
        export_until_sent(&one, 1000, 10),
        export_until_sent(&two, 2000, 10)
    );
    // Whatever is left (an exporter done early), sent now.
    while one.spool_status().unwrap().entries > 0 {
        one.resend_spooled().await.unwrap();
    }
    let mut seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    let mut want: Vec<u64> = (0..15)
        .chain(100..115)
        .chain(1000..a)
        .chain(2000..b)
        .collect();
    seqs.sort_unstable();
    want.sort_unstable();
    assert_eq!(seqs, want, "each export once");
}

const TWO: &str = "two_processes_on_one_directory_never_send_an_entry_twice";

#[test]
fn two_processes_on_one_directory_never_send_an_entry_twice() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if child::is_child(TWO) {
        // The other process: exports until one is sent, resending what it can on the way.
        let port: u16 = std::env::var(PORT_VAR).unwrap().parse().unwrap();
        let exporter = new_exporter(
            url(OtlpProtocol::Grpc, port, 0),
            OtlpProtocol::Grpc,
            SpoolConfig::new(child::child_dir()),
        );
        let next = runtime.block_on(export_until_sent(&exporter, 5000, 40));
        println!("child sent up to {next}");
        return;
    }
    let (grpc_port, http_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let exporter = new_exporter(
        url(OtlpProtocol::Grpc, grpc_port, http_port),
        OtlpProtocol::Grpc,
        SpoolConfig::new(dir.path()),
    );
    for seq in 0..40 {
        runtime.block_on(exporter.export(&tick(seq))).unwrap_err();
    }
    let receiver = Receiver::start_on(grpc_port, http_port);
    // Slow answers, so that the two processes' resending overlaps.
    receiver.fault(json!({"mode": "delay", "seconds": 0.02, "count": 80}));
    let mut other = spawn_child(TWO, dir.path(), grpc_port);
    let next = runtime.block_on(export_until_sent(&exporter, 1000, 40));
    let deadline = Instant::now() + Duration::from_secs(30);
    while other.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the other process did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = other.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let other_next: u64 = text
        .lines()
        // libtest may print its `test ... ` on the same line.
        .find_map(|l| l.split("child sent up to ").nth(1))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    while exporter.spool_status().unwrap().entries > 0 {
        runtime.block_on(exporter.resend_spooled()).unwrap();
    }
    let mut seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    seqs.sort_unstable();
    let mut want: Vec<u64> = (0..40).chain(1000..next).chain(5000..other_next).collect();
    want.sort_unstable();
    assert_eq!(seqs, want, "each export once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_entry_the_collector_refuses_is_dropped_and_the_rest_sent() {
    let (grpc_port, http_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let exporter = new_exporter(
        url(OtlpProtocol::HttpBinary, grpc_port, http_port),
        OtlpProtocol::HttpBinary,
        SpoolConfig::new(dir.path()),
    );
    for seq in 0..3 {
        exporter.export(&tick(seq)).await.unwrap_err();
    }
    let receiver = Receiver::start_on(grpc_port, http_port);
    receiver.fault(
        json!({"mode": "status", "http_status": 400, "grpc_code": "INVALID_ARGUMENT", "count": 1}),
    );
    exporter.export(&tick(3)).await.unwrap();
    let seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    assert_eq!(seqs, [1, 2, 3], "the refused oldest is not sent again");
    let status = exporter.spool_status().unwrap();
    assert_eq!((status.entries, status.dropped, status.resent), (0, 1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_in_another_encoding_wait_for_an_exporter_that_sends_it() {
    let (grpc_port, http_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let json = new_exporter(
        url(OtlpProtocol::HttpJson, grpc_port, http_port),
        OtlpProtocol::HttpJson,
        SpoolConfig::new(dir.path()),
    );
    for seq in 0..2 {
        json.export(&tick(seq)).await.unwrap_err();
    }
    let receiver = Receiver::start_on(grpc_port, http_port);
    let grpc = new_exporter(
        receiver.grpc_url(),
        OtlpProtocol::Grpc,
        SpoolConfig::new(dir.path()),
    );
    // Not a backlog for gRPC: its export goes at once, the JSON entries stay.
    grpc.export(&tick(10)).await.unwrap();
    assert_eq!(grpc.spool_status().unwrap().entries, 2);
    json.export(&tick(11)).await.unwrap();
    let seqs: Vec<u64> = received_ticks(&receiver).iter().map(|t| t.0).collect();
    assert_eq!(seqs, [10, 0, 1, 11]);
    assert_eq!(json.spool_status().unwrap().entries, 0);
}
