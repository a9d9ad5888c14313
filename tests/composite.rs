//! The composite exporter with a backend that fails, hangs, or is an OTLP receiver gone dark:
//! the other backends still export every time, the composite answers within its deadline, and
//! the error names the backend at fault.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::{FileMetricsConfig, OtlpConfig, OtlpProtocol};
use metrics_core::export::{async_trait, CompositeExporter, FileExporter};
use metrics_core::{
    create_exporter, DynMetricsGroup, MetricsConfig, MetricsError, MetricsExporter, MetricsGroup,
};
use serde::Deserialize;
use serde_json::json;
use support::receiver::Receiver;

#[derive(MetricsGroup, Deserialize)]
struct Count {
    #[metric(counter)]
    exports: u64,
}

/// A backend that never finishes, or fails at once.
#[derive(Debug)]
struct Broken {
    name: &'static str,
    hang: bool,
    calls: AtomicUsize,
}

impl Broken {
    fn hanging() -> Arc<Broken> {
        Arc::new(Broken {
            name: "hanging backend",
            hang: true,
            calls: AtomicUsize::new(0),
        })
    }

    fn failing() -> Arc<Broken> {
        Arc::new(Broken {
            name: "failing backend",
            hang: false,
            calls: AtomicUsize::new(0),
        })
    }

    async fn act(&self) -> Result<(), MetricsError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.hang {
            std::future::pending().await
        } else {
            Err(MetricsError::ShutDown {
                backend: self.name.to_owned(),
            })
        }
    }
}

#[async_trait]
impl MetricsExporter for Broken {
    fn name(&self) -> &str {
        self.name
    }

    async fn export(&self, _group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        self.act().await
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        self.act().await
    }
}

/// A backend that takes `delay` (on Tokio's clock), then succeeds.
#[derive(Debug)]
struct Slow {
    name: &'static str,
    delay: Duration,
}

impl Slow {
    fn new(name: &'static str, delay: Duration) -> Arc<Slow> {
        Arc::new(Slow { name, delay })
    }
}

#[async_trait]
impl MetricsExporter for Slow {
    fn name(&self) -> &str {
        self.name
    }

    async fn export(&self, _group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        tokio::time::sleep(self.delay).await;
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        tokio::time::sleep(self.delay).await;
        Ok(())
    }
}

fn file(path: &Path) -> Arc<FileExporter> {
    Arc::new(FileExporter::new(FileMetricsConfig {
        pretty_print: false,
        ..FileMetricsConfig::new(path)
    }))
}

fn written(path: &Path) -> u64 {
    serde_json::from_slice::<Count>(&std::fs::read(path).unwrap())
        .unwrap()
        .exports
}

/// Awaits `future`, failing the test (rather than hanging it) after 5 s.
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), future)
        .await
        .expect("the composite hung")
}

/// The names of the failed backends in a composite's error.
fn failed_backends(error: &MetricsError) -> Vec<String> {
    match error {
        MetricsError::Backends { failures, .. } => {
            failures.iter().map(|(name, _)| name.clone()).collect()
        }
        other => panic!("expected a composite error, got {other}"),
    }
}

// Tokio's paused clock: the deadline is simulated (the file writes are real; the clock does not
// move while they run), so the composite answers at exactly its deadline.
#[tokio::test(start_paused = true)]
async fn a_hanging_backend_neither_blocks_nor_loses_the_others_exports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let hanging = Broken::hanging();
    let timeout = Duration::from_millis(500);
    // The hanging backend first: order must not matter.
    let composite =
        CompositeExporter::new(vec![hanging.clone(), file(&path)]).with_timeout(timeout);
    for exports in 1..=3 {
        let started = tokio::time::Instant::now();
        let error = bounded(composite.export(&Count { exports }))
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), timeout);
        assert_eq!(failed_backends(&error), ["hanging backend"]);
        let message = error.to_string();
        assert!(
            message.contains("1 of 2 metrics backends failed"),
            "{message}"
        );
        assert!(message.contains("did not finish within 500ms"), "{message}");
        assert_eq!(written(&path), exports, "the file backend lost an export");
    }
    assert_eq!(hanging.calls.load(Ordering::Relaxed), 3);

    let started = tokio::time::Instant::now();
    let error = bounded(composite.shutdown()).await.unwrap_err();
    assert_eq!(started.elapsed(), timeout);
    assert_eq!(failed_backends(&error), ["hanging backend"]);
    // The file backend was shut down all the same.
    let after = composite.exporters()[1].export(&Count { exports: 9 }).await;
    assert!(
        matches!(after, Err(MetricsError::ShutDown { .. })),
        "{after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_backend_is_named_and_the_others_still_export() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.json"), dir.path().join("two.json"));
    let composite = CompositeExporter::new(vec![file(&one), Broken::failing(), file(&two)]);
    let error = composite.export(&Count { exports: 7 }).await.unwrap_err();
    assert_eq!(failed_backends(&error), ["failing backend"]);
    assert!(error
        .to_string()
        .starts_with("1 of 3 metrics backends failed: failing backend: "));
    assert_eq!((written(&one), written(&two)), (7, 7));

    let both = CompositeExporter::new(vec![Broken::failing(), Broken::hanging()])
        .with_timeout(Duration::from_millis(100));
    let error = bounded(both.export(&Count { exports: 1 }))
        .await
        .unwrap_err();
    assert_eq!(
        failed_backends(&error),
        ["failing backend", "hanging backend"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_otlp_black_hole_does_not_hold_up_the_file() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpBinary] {
        let config = MetricsConfig {
            otlp: Some(OtlpConfig {
                protocol,
                timeout_seconds: 1.0,
                ..OtlpConfig::new(receiver.url(protocol))
            }),
            file: Some(FileMetricsConfig::new(&path)),
            ..MetricsConfig::default()
        };
        let exporter = create_exporter(&config).unwrap();
        receiver.fault(json!({"mode": "blackhole"}));
        for exports in 1..=2 {
            let started = Instant::now();
            let error = bounded(exporter.export(&Count { exports }))
                .await
                .unwrap_err();
            let elapsed = started.elapsed();
            eprintln!("{protocol} export {exports}: {elapsed:.2?}: {error}");
            // The composite's deadline for OTLP is 1.1 s; real time on a loaded machine may
            // add scheduling delay, but not a second timeout's worth.
            assert!(elapsed <= Duration::from_millis(1900), "took {elapsed:?}");
            let failed = failed_backends(&error);
            assert_eq!(failed.len(), 1, "{error}");
            assert!(
                failed[0].starts_with(&format!("otlp {protocol} ")),
                "{error}"
            );
            assert_eq!(written(&path), exports);
        }
        receiver.fault(json!({"mode": "none"}));
        exporter.export(&Count { exports: 3 }).await.unwrap();
        assert_eq!(written(&path), 3);
        exporter.shutdown().await.unwrap();
    }
}

// Tokio's paused clock: the backends' delays are simulated, so the durations are exact.
#[tokio::test(start_paused = true)]
async fn backends_export_concurrently_not_one_after_another() {
    const T: Duration = Duration::from_secs(1);
    let composite = CompositeExporter::new(vec![Slow::new("one", T), Slow::new("two", T)]);
    let started = tokio::time::Instant::now();
    composite.export(&Count { exports: 1 }).await.unwrap();
    assert_eq!(started.elapsed(), T, "one after another would take 2T");
    let started = tokio::time::Instant::now();
    composite.shutdown().await.unwrap();
    assert_eq!(started.elapsed(), T, "one after another would take 2T");
}

#[tokio::test(start_paused = true)]
async fn each_backend_has_its_own_deadline() {
    let ms = Duration::from_millis;
    let composite = CompositeExporter::with_deadlines(vec![
        (Broken::hanging(), ms(100)),
        (Slow::new("slow backend", ms(200)), ms(250)),
        (Slow::new("slower backend", ms(400)), ms(300)),
    ]);
    assert_eq!(composite.deadlines(), [ms(100), ms(250), ms(300)]);
    let started = tokio::time::Instant::now();
    let error = composite.export(&Count { exports: 1 }).await.unwrap_err();
    assert_eq!(started.elapsed(), ms(300));
    let MetricsError::Backends { failures, total: 3 } = &error else {
        panic!("expected two of three backends to fail: {error}");
    };
    let deadlines: Vec<(&str, Duration)> = failures
        .iter()
        .map(|(name, error)| match error {
            MetricsError::Timeout { timeout, .. } => (name.as_str(), *timeout),
            other => panic!("{name}: expected a timeout, got {other}"),
        })
        .collect();
    assert_eq!(
        deadlines,
        [("hanging backend", ms(100)), ("slower backend", ms(300))]
    );
}

/// About 600 KB of JSON: encoding and writing it takes far longer than a millisecond.
#[derive(MetricsGroup)]
struct Big {
    #[metric(counter, label = "entry")]
    copies: BTreeMap<String, u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_has_its_own_deadline_not_the_otlp_timeout() {
    // A port with nothing listening: the OTLP export fails at once or within its 1 ms.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let config = MetricsConfig {
        otlp: Some(OtlpConfig {
            timeout_seconds: 0.001,
            ..OtlpConfig::new(endpoint)
        }),
        file: Some(FileMetricsConfig {
            pretty_print: false,
            ..FileMetricsConfig::new(&path)
        }),
        ..MetricsConfig::default()
    };
    let exporter = create_exporter(&config).unwrap();
    let big = Big {
        copies: (0..20_000).map(|i| (format!("entry-{i:05}"), i)).collect(),
    };
    let error = bounded(exporter.export(&big)).await.unwrap_err();
    let failed = failed_backends(&error);
    assert!(
        failed.len() == 1 && failed[0].starts_with("otlp grpc "),
        "only the OTLP backend should fail: {error}"
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written["copies"]["entry-19999"], 19_999);
}
