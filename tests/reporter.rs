//! The reporter's timing and failure handling, with exporters that record when they are
//! called and can be made slow, failing or hanging.
//!
//! Time is Tokio's paused clock: the exporters' delays and the reporter's ticks are
//! simulated, so the times asserted are exact and a loaded machine cannot make them flake.

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_core::export::{async_trait, CompositeExporter};
use metrics_core::{
    DynMetricsGroup, MetricsConfig, MetricsError, MetricsExporter, MetricsGroup, Reporter,
};
use tokio::time::Instant;

#[derive(MetricsGroup)]
struct Tick {
    #[metric(counter)]
    produced: u64,
}

/// Records each export's start time (relative to `epoch`) and the value it saw.
#[derive(Debug)]
struct Recording {
    name: &'static str,
    epoch: Instant,
    calls: Mutex<Vec<(Duration, String)>>,
    /// How long each of the first `slow_calls` exports takes; the others take no time.
    delay: Duration,
    slow_calls: usize,
    /// The first `failures` exports fail.
    failures: AtomicUsize,
    shutdowns: AtomicUsize,
    /// Exports never finish (the shutdown-deadline case).
    hang: bool,
}

impl Recording {
    fn new(delay: Duration) -> Recording {
        Recording {
            name: "recording",
            epoch: Instant::now(),
            calls: Mutex::new(Vec::new()),
            delay,
            slow_calls: usize::MAX,
            failures: AtomicUsize::new(0),
            shutdowns: AtomicUsize::new(0),
            hang: false,
        }
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
        self.name
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        let mut json = Vec::new();
        group.write_json_to(&mut json, false)?;
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((self.epoch.elapsed(), String::from_utf8(json).unwrap()));
            calls.len()
        };
        if self.hang {
            std::future::pending::<()>().await;
        }
        if call <= self.slow_calls {
            tokio::time::sleep(self.delay).await;
        }
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(MetricsError::ShutDown {
                backend: format!("{} (simulated failure)", self.name),
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

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[tokio::test(start_paused = true)]
async fn ticks_happen_on_a_fixed_grid_without_drift() {
    let recording = Arc::new(Recording::new(ms(20)));
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(ms(1050)).await;
    reporter.shutdown(Duration::from_secs(2)).await.unwrap();
    // 11 ticks (0 ms, 100 ms, ... 1000 ms), each taking 20 ms, and the final export at once.
    let expected: Vec<Duration> = (0..=10).map(|k| INTERVAL * k).chain([ms(1050)]).collect();
    assert_eq!(recording.times(), expected);
    assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_export_skips_ticks_instead_of_piling_them_up() {
    // Three exports of 250 ms, then fast ones: after each slow export the overdue tick runs
    // at once (one, never a burst of the ticks it overran), then the grid resumes.
    let recording = Arc::new(Recording {
        slow_calls: 3,
        ..Recording::new(ms(250))
    });
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(ms(1050)).await;
    reporter.shutdown(Duration::from_secs(2)).await.unwrap();
    let expected = [0, 250, 500, 750, 800, 900, 1000, 1050].map(ms);
    assert_eq!(recording.times(), expected);
}

#[tokio::test(start_paused = true)]
async fn a_failing_export_is_retried_on_the_next_tick() {
    let recording = Arc::new(Recording::new(Duration::ZERO));
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
    tokio::time::sleep(ms(350)).await;
    reporter.shutdown(Duration::from_secs(2)).await.unwrap();
    let outcomes = outcomes.lock().unwrap().clone();
    assert_eq!(
        outcomes,
        [
            (1, false, false),
            (2, false, false),
            (3, true, false),
            (4, true, false),
            (5, true, true)
        ]
    );
    // Each tick made a fresh snapshot.
    let calls = recording.calls.lock().unwrap();
    assert_eq!(calls[2].1, r#"{"produced":3}"#);
}

#[tokio::test(start_paused = true)]
async fn shutdown_makes_the_final_export_within_the_deadline() {
    let recording = Arc::new(Recording::new(ms(50)));
    let reporter =
        Reporter::builder(recording.clone(), Duration::from_secs(3600)).start(counting_source());
    tokio::time::sleep(ms(100)).await;
    let started = Instant::now();
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(started.elapsed(), ms(50), "the final export's 50 ms");
    let calls = recording.calls.lock().unwrap();
    assert_eq!(calls.len(), 2, "the first tick and the final export");
    assert_eq!(calls[1].1, r#"{"produced":2}"#);
    assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_of_a_hanging_exporter_ends_at_the_deadline() {
    let recording = Arc::new(Recording {
        hang: true,
        ..Recording::new(Duration::ZERO)
    });
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(ms(50)).await;
    let started = Instant::now();
    let error = reporter.shutdown(ms(300)).await.unwrap_err();
    assert_eq!(started.elapsed(), ms(300));
    assert!(
        matches!(error, MetricsError::Timeout { ref backend, .. } if backend == "recording"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_live_group_of_atomics_is_read_at_each_tick() {
    #[derive(MetricsGroup)]
    struct Live {
        #[metric(counter)]
        requests: std::sync::atomic::AtomicU64,
    }
    let live = Arc::new(Live {
        requests: AtomicU64::new(0),
    });
    let recording = Arc::new(Recording::new(Duration::ZERO));
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start_live(live.clone());
    tokio::time::sleep(ms(50)).await;
    live.requests.store(7, Ordering::Relaxed);
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    let calls = recording.calls.lock().unwrap();
    assert_eq!(calls.first().unwrap().1, r#"{"requests":0}"#);
    assert_eq!(calls.last().unwrap().1, r#"{"requests":7}"#);
}

#[tokio::test(start_paused = true)]
async fn a_huge_interval_is_one_export_now_and_one_at_shutdown() {
    for interval in [
        Duration::MAX,
        Duration::from_secs(1 << 63),
        Reporter::MAX_INTERVAL,
    ] {
        let recording = Arc::new(Recording::new(Duration::ZERO));
        let reporter = Reporter::builder(recording.clone(), interval).start(counting_source());
        // A year of simulated time: no tick but the first.
        tokio::time::sleep(Duration::from_secs(365 * 86_400)).await;
        reporter.shutdown(Duration::MAX).await.unwrap();
        let calls = recording.calls.lock().unwrap();
        let values: Vec<&str> = calls.iter().map(|(_, json)| json.as_str()).collect();
        assert_eq!(
            values,
            [r#"{"produced":1}"#, r#"{"produced":2}"#],
            "{interval:?}"
        );
        assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_source_stops_the_reporter_with_an_error_naming_the_panic() {
    let recording = Arc::new(Recording::new(Duration::ZERO));
    let mut produced = 0;
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(move || {
        produced += 1;
        assert!(produced < 3, "the source ran out of samples");
        Tick { produced }
    });
    tokio::time::sleep(ms(1000)).await;
    // The exporter was shut down when the source panicked, not left running until now.
    assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
    assert_eq!(recording.times(), [ms(0), ms(100)]);
    let error = reporter.shutdown(Duration::from_secs(1)).await.unwrap_err();
    let MetricsError::Panicked {
        backend,
        culprit,
        message,
    } = &error
    else {
        panic!("expected a panic error, got {error}");
    };
    assert_eq!(
        (backend.as_str(), *culprit, message.as_str()),
        (
            "recording",
            "the snapshot source",
            "the source ran out of samples"
        )
    );
    assert_eq!(recording.shutdowns.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_interval_comes_from_the_configuration() {
    let config = MetricsConfig::from_json(r#"{"export_interval_seconds": 15}"#).unwrap();
    let recording = Arc::new(Recording::new(Duration::ZERO));
    let reporter = Reporter::from_config(recording.clone(), &config)
        .unwrap()
        .start(counting_source());
    tokio::time::sleep(Duration::from_secs(50)).await;
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    let expected = [0, 15, 30, 45, 50].map(Duration::from_secs);
    assert_eq!(recording.times(), expected);

    let zero = MetricsConfig::from_json(r#"{"export_interval_seconds": 0}"#).unwrap();
    let error = Reporter::from_config(recording, &zero)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("invalid metrics configuration: `export_interval_seconds` = 0"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_keeps_failing_logs_a_line_a_minute_not_a_line_a_tick() {
    const NAME: &str = "failing-for-three-minutes";
    let logs = support::logs::capture();
    // 100 ms ticks for 185 s: 1,851 failed exports, then the final export recovers.
    let recording = Arc::new(Recording {
        name: NAME,
        ..Recording::new(Duration::ZERO)
    });
    recording.failures.store(1851, Ordering::SeqCst);
    let reporter = Reporter::builder(recording.clone(), INTERVAL).start(counting_source());
    tokio::time::sleep(ms(185_050)).await;
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        recording.times().len(),
        1851 + 1,
        "the ticks and the final export"
    );

    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|line| line.contains(NAME)).collect();
    let (warn, info) = ("WARN", "INFO");
    let count = |level: &str, words: &str| {
        lines
            .iter()
            .filter(|line| line.contains(level) && line.contains(words))
            .count()
    };
    assert_eq!(count(warn, "metrics export failed;"), 1, "{lines:#?}");
    assert!(
        lines[0].contains("simulated failure"),
        "the first line gives the cause: {}",
        lines[0]
    );
    // At about 60 s, 120 s and 180 s.
    assert_eq!(count(warn, "still failing: "), 3, "{lines:#?}");
    assert_eq!(
        count(info, "metrics export recovered after 1851 failed exports"),
        1,
        "{lines:#?}"
    );
    assert_eq!(lines.len(), 5, "{lines:#?}");
    // Each summary counts the failures since the line before: a minute of 100 ms ticks.
    let summarized: Vec<u64> = lines
        .iter()
        .filter_map(|line| line.split("still failing: ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(summarized, [600, 600, 600], "{lines:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_composites_failing_backend_is_logged_under_its_own_name() {
    const NAME: &str = "composite-member-failing";
    let logs = support::logs::capture();
    let failing = Arc::new(Recording {
        name: NAME,
        ..Recording::new(Duration::ZERO)
    });
    failing.failures.store(3, Ordering::SeqCst);
    let healthy = Arc::new(Recording::new(Duration::ZERO));
    let composite = Arc::new(CompositeExporter::new(vec![
        failing.clone(),
        healthy.clone(),
    ]));
    let reporter = Reporter::builder(composite, INTERVAL).start(counting_source());
    tokio::time::sleep(ms(450)).await;
    reporter.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!((failing.times().len(), healthy.times().len()), (6, 6));
    let text = logs.text();
    let lines: Vec<&str> = text.lines().filter(|line| line.contains(NAME)).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains(&format!("backend=\"{NAME}\"")),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("INFO") && lines[1].contains("recovered after 3 failed exports"),
        "{lines:#?}"
    );
}
