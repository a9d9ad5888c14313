//! The reporter's timing and failure handling, with exporters that record when they are
//! called and can be made slow, failing or hanging.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_core::export::async_trait;
use metrics_core::{DynMetricsGroup, MetricsError, MetricsExporter, MetricsGroup, Reporter};
use tokio::time::Instant;

#[derive(MetricsGroup)]
struct Tick {
    #[metric(counter)]
    produced: u64,
}

/// Records each export's start time (relative to `epoch`) and the value it saw.
#[derive(Debug)]
struct Recording {
    epoch: Instant,
    calls: Mutex<Vec<(Duration, String)>>,
    /// How long each export takes.
    delay: Duration,
    /// The first `failures` exports fail.
    failures: AtomicUsize,
    shutdowns: AtomicUsize,
    /// Exports never finish (the shutdown-deadline case).
    hang: bool,
}

impl Recording {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Recording {
            epoch: Instant::now(),
            calls: Mutex::new(Vec::new()),
            delay,
            failures: AtomicUsize::new(0),
            shutdowns: AtomicUsize::new(0),
            hang: false,
        })
    }

    fn times(&self) -> Vec<Duration> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(at, _)| *at)
            .collect()
    }
}

#[async_trait]
impl MetricsExporter for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        let mut json = Vec::new();
        group.write_json_to(&mut json, false)?;
        self.calls
            .lock()
            .unwrap()
            .push((self.epoch.elapsed(), String::from_utf8(json).unwrap()));
        if self.hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(self.delay).await;
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(MetricsError::ShutDown {
                backend: "recording (simulated failure)".into(),
            });
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn counting_source() -> impl FnMut() -> Tick + Send + 'static {
    let produced = AtomicU64::new(0);
    move || Tick {
        produced: produced.fetch_add(1, Ordering::Relaxed) + 1,
    }
}

const INTERVAL: Duration = Duration::from_millis(100);
/// Scheduling slack allowed on this shared 2-core machine.
const SLACK: Duration = Duration::from_millis(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_happen_on_a_fixed_grid_without_drift() {
    let recording = Recording::new(Duration::from_millis(20));
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(Duration::from_millis(1050)).await;
    reporter.shutdown(Duration::from_secs(2)).await.unwrap();
    let times = recording.times();
    // 11 ticks (0 ms, 100 ms, ... 1000 ms) and the final export.
    assert_eq!(times.len(), 12, "{times:?}");
    let first = times[0];
    for (k, at) in times[..11].iter().enumerate() {
        let due = first + INTERVAL * k as u32;
        assert!(
            at.abs_diff(due) <= SLACK,
            "tick {k} at {at:?}, due {due:?}: {times:?}"
        );
    }
    assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_export_skips_ticks_instead_of_piling_them_up() {
    let recording = Recording::new(Duration::from_millis(250));
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    reporter.shutdown(Duration::from_secs(2)).await.unwrap();
    let times = recording.times();
    // Exports at 0, 300, 600, 900 ms (each on the grid after the previous one ends), then
    // the final one: never two exports back to back to catch up.
    for pair in times.windows(2).take(times.len() - 2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(290), "{times:?}");
        let offset = (pair[1] - times[0]).as_millis() % INTERVAL.as_millis();
        let off_grid = offset.min(INTERVAL.as_millis() - offset);
        assert!(off_grid <= SLACK.as_millis(), "off the grid: {times:?}");
    }
    assert!((4..=6).contains(&times.len()), "{times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_export_is_retried_on_the_next_tick() {
    let recording = Recording::new(Duration::ZERO);
    recording.failures.store(2, Ordering::SeqCst);
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    let reporter = Reporter::builder(recording.clone(), INTERVAL)
        .on_export(move |export| {
            seen.lock()
                .unwrap()
                .push((export.number, export.result.is_ok(), export.is_final))
        })
        .start(counting_source());
    tokio::time::sleep(Duration::from_millis(350)).await;
    reporter.shutdown(Duration::from_secs(2)).await.unwrap();
    let outcomes = outcomes.lock().unwrap().clone();
    assert_eq!(
        outcomes[..4],
        [
            (1, false, false),
            (2, false, false),
            (3, true, false),
            (4, true, false)
        ]
    );
    assert_eq!(
        *outcomes.last().unwrap(),
        (outcomes.len() as u64, true, true)
    );
    // Each tick made a fresh snapshot.
    let calls = recording.calls.lock().unwrap();
    assert_eq!(calls[2].1, r#"{"produced":3}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_makes_the_final_export_within_the_deadline() {
    let recording = Recording::new(Duration::from_millis(50));
    let reporter =
        Reporter::builder(recording.clone(), Duration::from_secs(3600)).start(counting_source());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let calls = recording.calls.lock().unwrap();
    assert_eq!(calls.len(), 2, "the first tick and the final export");
    assert_eq!(calls[1].1, r#"{"produced":2}"#);
    assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_of_a_hanging_exporter_ends_at_the_deadline() {
    let recording = Arc::new(Recording {
        hang: true,
        ..Arc::try_unwrap(Recording::new(Duration::ZERO)).unwrap()
    });
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let error = reporter
        .shutdown(Duration::from_millis(300))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(300) + SLACK,
        "{elapsed:?}"
    );
    assert!(
        matches!(error, MetricsError::Timeout { ref backend, .. } if backend == "recording"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_group_of_atomics_is_read_at_each_tick() {
    #[derive(MetricsGroup)]
    struct Live {
        #[metric(counter)]
        requests: std::sync::atomic::AtomicU64,
    }
    let live = Arc::new(Live {
        requests: AtomicU64::new(0),
    });
    let recording = Recording::new(Duration::ZERO);
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start_live(live.clone());
    tokio::time::sleep(Duration::from_millis(50)).await;
    live.requests.store(7, Ordering::Relaxed);
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    let calls = recording.calls.lock().unwrap();
    assert_eq!(calls.first().unwrap().1, r#"{"requests":0}"#);
    assert_eq!(calls.last().unwrap().1, r#"{"requests":7}"#);
}
