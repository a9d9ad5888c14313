//! The OTLP transport's hard cases, each against real peers on 127.0.0.1 (the Python receiver
//! or a raw TCP listener): redirects are errors and nothing follows them; exports do not
//! queue behind each other; reserved header names and out-of-range timeouts are refused by
//! every way to build an exporter; a delivered export is `Ok` whatever its body; partial
//! success is a typed error; no file descriptor or memory growth over thousands of failing
//! exports; a gRPC exporter outlives the runtime it first ran in.

mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::{OtlpConfig, OtlpProtocol};
use metrics_core::export::OtlpExporter;
use metrics_core::{MetricsConfig, MetricsError, MetricsExporter};
use serde_json::json;
use support::example_snapshot;
use support::receiver::Receiver;

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpBinary,
    OtlpProtocol::HttpJson,
];

const HTTP: [OtlpProtocol; 2] = [OtlpProtocol::HttpBinary, OtlpProtocol::HttpJson];

fn exporter(endpoint: String, protocol: OtlpProtocol, timeout_seconds: f64) -> OtlpExporter {
    let otlp = OtlpConfig {
        protocol,
        timeout_seconds,
        headers: [("x-api-key".to_owned(), "sk-redirect-secret".to_owned())].into(),
        ..OtlpConfig::new(endpoint)
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap()
}

/// README's promise: the timeout plus at most 5%, and at most 250 ms more.
fn bound(timeout: Duration) -> Duration {
    timeout + (timeout / 20).min(Duration::from_millis(250))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_errors_and_are_not_followed() {
    let receiver = Receiver::start();
    // Where the redirects point: anything connecting here would be a followed redirect.
    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let location = format!(
        "http://127.0.0.1:{}/v1/metrics",
        trap.local_addr().unwrap().port()
    );
    for protocol in HTTP {
        for status in [301, 302, 303, 307, 308] {
            receiver.reset();
            receiver.fault(json!({"mode": "redirect", "http_status": status,
                                  "location": location, "count": 1}));
            let exporter = exporter(receiver.url(protocol), protocol, 2.0);
            let case = format!("{protocol} {status}");
            let error = exporter.export(&example_snapshot()).await.unwrap_err();
            let message = error.to_string();
            eprintln!("{case}: {message}");
            assert!(
                matches!(error, MetricsError::Otlp { .. }),
                "{case}: {error:?}"
            );
            assert!(message.contains(&status.to_string()), "{case}: {message}");
            assert!(message.contains(&location), "{case}: {message}");
            assert!(!message.contains("sk-redirect-secret"), "{case}: {message}");
            assert_eq!(receiver.received().len(), 1, "{case}: re-sent");
            match trap.accept() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                other => panic!("{case}: the redirect was followed: {other:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_and_shutdown_do_not_queue_behind_each_other() {
    let receiver = Receiver::start();
    let timeout = Duration::from_secs(2);
    for protocol in PROTOCOLS {
        receiver.reset();
        receiver.fault(json!({"mode": "blackhole"}));
        let exporter = Arc::new(exporter(receiver.url(protocol), protocol, 2.0));
        let started = Instant::now();
        let exports: Vec<_> = (0..6)
            .map(|_| {
                let exporter = Arc::clone(&exporter);
                tokio::spawn(async move {
                    let result = exporter.export(&example_snapshot()).await;
                    (result, started.elapsed())
                })
            })
            .collect();
        receiver.wait_for(1, Duration::from_secs(2));
        let shutdown_started = Instant::now();
        exporter.shutdown().await.unwrap();
        let shutdown = shutdown_started.elapsed();
        for export in exports {
            let (result, elapsed) = export.await.unwrap();
            eprintln!("{protocol}: export ended after {elapsed:.2?}: {result:?}");
            assert!(result.is_err(), "{protocol}");
            assert!(elapsed <= bound(timeout), "{protocol}: {elapsed:?}");
        }
        eprintln!("{protocol}: shutdown took {shutdown:.2?}");
        assert!(
            shutdown <= bound(timeout),
            "{protocol}: shutdown {shutdown:?}"
        );
        receiver.fault(json!({"mode": "none"}));
    }
}

#[test]
fn every_way_to_build_an_exporter_validates() {
    let reserved = [
        "content-length",
        "Transfer-Encoding",
        "content-encoding",
        "content-type",
        "host",
        "te",
        "connection",
        "grpc-timeout",
        "grpc-encoding",
        ":authority",
        ":path",
    ];
    for name in reserved {
        let otlp = OtlpConfig {
            headers: [(name.to_owned(), "x".to_owned())].into(),
            ..OtlpConfig::new("http://127.0.0.1:4318")
        };
        let error = OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap_err();
        assert!(
            matches!(error, MetricsError::Config { .. }),
            "{name}: {error}"
        );
        assert!(error.to_string().contains(name), "{name}: {error}");
        let config = MetricsConfig {
            otlp: Some(otlp),
            ..MetricsConfig::default()
        };
        assert!(config.validate().is_err(), "{name}");
    }
    for seconds in [
        -1.0,
        0.0,
        f64::NAN,
        f64::INFINITY,
        1e300,
        1e-300,
        0.0005,
        3601.0,
    ] {
        let otlp = OtlpConfig {
            timeout_seconds: seconds,
            ..OtlpConfig::new("http://127.0.0.1:4318")
        };
        let error = OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap_err();
        assert!(
            error.to_string().contains("otlp.timeout_seconds"),
            "{seconds}: {error}"
        );
    }
    // Outside a Tokio runtime, for every protocol: nothing is connected until an export.
    for protocol in PROTOCOLS {
        let otlp = OtlpConfig {
            protocol,
            ..OtlpConfig::new("http://127.0.0.1:4318")
        };
        OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_export_is_ok_whatever_the_body() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        for bytes in [7, 5 << 20] {
            receiver.reset();
            receiver.fault(json!({"mode": "garbage", "bytes": bytes, "count": 1}));
            let exporter = exporter(receiver.url(protocol), protocol, 10.0);
            exporter
                .export(&example_snapshot())
                .await
                .unwrap_or_else(|e| panic!("{protocol} {bytes} bytes: {e}"));
            assert_eq!(receiver.received().len(), 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_success_is_a_typed_error_with_count_and_message() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        receiver.reset();
        receiver.fault(json!({"mode": "partial", "rejected": 3,
                              "message": "3 points too old", "count": 1}));
        let exporter = exporter(receiver.url(protocol), protocol, 2.0);
        let error = exporter.export(&example_snapshot()).await.unwrap_err();
        eprintln!("{protocol}: {error}");
        match &error {
            MetricsError::OtlpPartialSuccess {
                rejected, message, ..
            } => {
                assert_eq!(*rejected, 3, "{protocol}");
                assert_eq!(message, "3 points too old", "{protocol}");
            }
            other => panic!("{protocol}: {other:?}"),
        }
        assert_eq!(receiver.received().len(), 1, "{protocol}: not retried");
        exporter.export(&example_snapshot()).await.unwrap();

        // No point rejected: a warning, and the export is `Ok`.
        receiver.reset();
        receiver.fault(json!({"mode": "partial", "rejected": 0,
                              "message": "attribute names should be lower case", "count": 1}));
        exporter.export(&example_snapshot()).await.unwrap();
        assert_eq!(receiver.received().len(), 1, "{protocol}: not retried");
    }
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `count` exports, 20 at a time, each failing.
async fn fail_many(exporter: &Arc<OtlpExporter>, count: usize) {
    for _ in 0..count / 20 {
        let batch: Vec<_> = (0..20)
            .map(|_| {
                let exporter = Arc::clone(exporter);
                tokio::spawn(async move { exporter.export(&example_snapshot()).await })
            })
            .collect();
        for export in batch {
            assert!(export.await.unwrap().is_err());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_failing_exports_leak_neither_fds_nor_memory() {
    // Refused: a port nothing listens on. Silent: accepts TCP, never reads or answers.
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // In another process, so that the connections it holds are not counted as ours.
    let mut silent = std::process::Command::new("python3")
        .args(["-c", SILENT_PEER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let silent_port: u16 = {
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(silent.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        line.trim().parse().unwrap()
    };
    for protocol in PROTOCOLS {
        for (peer, port) in [("refused", refused), ("silent", silent_port)] {
            let exporter = Arc::new(exporter(format!("http://127.0.0.1:{port}"), protocol, 0.05));
            fail_many(&exporter, 200).await; // warm-up: pools, buffers, the allocator
            let (fds, rss) = (open_fds(), rss_kib());
            fail_many(&exporter, 2_000).await;
            let (fds_after, rss_after) = (open_fds(), rss_kib());
            eprintln!("{protocol} {peer}: fds {fds} -> {fds_after}, RSS {rss} -> {rss_after} KiB");
            assert!(
                fds_after <= fds + 25,
                "{protocol} {peer}: fds {fds} -> {fds_after}"
            );
            assert!(
                rss_after <= rss + 4_096,
                "{protocol} {peer}: RSS {rss} -> {rss_after} KiB"
            );
        }
    }
    silent.kill().unwrap();
    silent.wait().unwrap();
}

/// A peer that accepts TCP connections and never reads, answers or closes them (until its
/// stdin closes with the test); prints its port.
const SILENT_PEER: &str = "
import resource, socket, sys, threading, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(4096)
print(s.getsockname()[1], flush=True)
held = []
def accept():
    while True:
        try:
            held.append(s.accept()[0])
        except OSError:  # out of descriptors: the backlog keeps the rest waiting
            time.sleep(0.1)
threading.Thread(target=accept, daemon=True).start()
sys.stdin.read()
";

#[test]
fn a_grpc_exporter_outlives_the_runtime_it_first_ran_in() {
    let receiver = Receiver::start();
    let exporter = exporter(receiver.grpc_url(), OtlpProtocol::Grpc, 5.0);
    for round in 0..2 {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(exporter.export(&example_snapshot()))
            .unwrap_or_else(|e| panic!("runtime {round}: {e}"));
        drop(runtime);
    }
    assert_eq!(receiver.received().len(), 2);
}

/// Endpoints per the OpenTelemetry specification, the same from every source:
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base (HTTP adds `/v1/metrics`), the `METRICS_` variable
/// and the configuration's `endpoint` are used as given. A URL used as given without the
/// path posts to `/`, which the receiver answers with 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_follow_the_specification() {
    let receiver = Receiver::start();
    let base = format!("http://127.0.0.1:{}", receiver.http_port);
    let full = format!("{base}/v1/metrics");
    let cases: [(&str, &str, Option<&str>, bool); 5] = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &base, None, true),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &full, None, true),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &base, None, false),
        ("config", &full, Some(&full), true),
        ("config", &base, Some(&base), false),
    ];
    for (source, endpoint, config_endpoint, arrives) in cases {
        receiver.reset();
        let mut config = MetricsConfig {
            otlp: config_endpoint.map(|e| OtlpConfig {
                protocol: OtlpProtocol::HttpBinary,
                ..OtlpConfig::new(e)
            }),
            ..MetricsConfig::default()
        };
        config
            .apply_env_from(|name| match name {
                "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("http/protobuf".to_owned()),
                _ if name == source => Some(endpoint.to_owned()),
                _ => None,
            })
            .unwrap();
        let otlp = config.otlp.clone().unwrap();
        let exporter = OtlpExporter::new(&config, &otlp).unwrap();
        let result = exporter.export(&example_snapshot()).await;
        let case = format!("{source} = {endpoint}");
        eprintln!("{case}: {result:?}");
        if arrives {
            result.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(receiver.received().len(), 1, "{case}");
        } else {
            let message = result.unwrap_err().to_string();
            assert!(message.contains("404"), "{case}: {message}");
            assert!(receiver.received().is_empty(), "{case}");
        }
    }
}

/// Each failure names its cause once, with the endpoint, and never a header value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_names_its_cause_once() {
    let receiver = Receiver::start();
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    for protocol in PROTOCOLS {
        // Refused.
        let message = exporter(refused.clone(), protocol, 1.0)
            .export(&example_snapshot())
            .await
            .unwrap_err()
            .to_string();
        eprintln!("{protocol} refused: {message}");
        assert_eq!(
            message.matches("refused").count(),
            1,
            "{protocol}: {message}"
        );
        assert!(message.contains(&refused), "{protocol}: {message}");

        // DNS: `.invalid` never resolves (RFC 6761).
        let unknown = "http://no-such-host.invalid:4318";
        let message = exporter(unknown.to_owned(), protocol, 2.0)
            .export(&example_snapshot())
            .await
            .unwrap_err()
            .to_string();
        eprintln!("{protocol} DNS: {message}");
        assert!(message.contains(unknown), "{protocol}: {message}");
        let lower = message.to_lowercase();
        assert!(
            lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve"),
            "{protocol}: {message}"
        );

        // Timeout.
        receiver.fault(json!({"mode": "blackhole"}));
        let error = exporter(receiver.url(protocol), protocol, 0.5)
            .export(&example_snapshot())
            .await
            .unwrap_err();
        receiver.fault(json!({"mode": "none"}));
        eprintln!("{protocol} timeout: {error}");
        assert!(
            matches!(error, MetricsError::Timeout { .. }),
            "{protocol}: {error}"
        );
        assert!(
            error.to_string().contains(&receiver.url(protocol)),
            "{error}"
        );

        // A status, with the collector's message.
        receiver.fault(json!({"mode": "status", "http_status": 400,
                              "grpc_code": "INVALID_ARGUMENT", "message": "metric name too long",
                              "count": 1}));
        let message = exporter(receiver.url(protocol), protocol, 2.0)
            .export(&example_snapshot())
            .await
            .unwrap_err()
            .to_string();
        eprintln!("{protocol} status: {message}");
        let status = if protocol == OtlpProtocol::Grpc {
            "InvalidArgument"
        } else {
            "400"
        };
        assert!(message.contains(status), "{protocol}: {message}");
        assert_eq!(
            message.matches("metric name too long").count(),
            1,
            "{protocol}: {message}"
        );
        assert!(
            !message.contains("sk-redirect-secret"),
            "{protocol}: {message}"
        );
    }
}
