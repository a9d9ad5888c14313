//! [`Reporter`]: exports on an interval, and once more at shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use futures_util::future::{select, Either};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant, MissedTickBehavior};

use crate::config::MetricsConfig;
use crate::{DynMetricsGroup, MetricsError, MetricsExporter};

mod failure_log;

use failure_log::FailureLog;

/// One export as seen by the observer given to [`ReporterBuilder::on_export`].
#[derive(Debug)]
pub struct ExportReport<'a> {
    /// 1 for the first export, counting the final one.
    pub number: u64,
    /// How long the export took.
    pub elapsed: Duration,
    /// Whether this is the final export made by [`Reporter::shutdown`].
    pub is_final: bool,
    /// What the exporter returned.
    pub result: &'a Result<(), MetricsError>,
}

type Observer = Box<dyn Fn(&ExportReport<'_>) + Send + Sync>;

/// Drives an exporter on a fixed interval from a snapshot source.
///
/// The first export happens at once, then one per interval on a fixed grid (start + n ×
/// interval), so ticks do not drift (a Tokio [`Interval`](tokio::time::Interval) with
/// [`MissedTickBehavior::Skip`]). An export slower than the interval is not queued behind:
/// the next export starts as soon as it ends (the one overdue tick), and the grid then
/// resumes, skipping the ticks it overran. The interval is at least 1 ms and at most
/// [`Reporter::MAX_INTERVAL`] (about 30 years: for a running service, never again until the
/// shutdown); longer ones, up to `Duration::MAX`, are shortened to it.
///
/// A failed export never stops the reporter: the next tick tries again. Failures are logged
/// with `tracing` per backend (a composite's failed backends each on their own), without
/// flooding: the first failure at WARN with its cause, then at most one WARN line a minute
/// with the count of failures since the last line and the latest cause, and one INFO line
/// when the backend recovers.
///
/// A snapshot source that panics stops the reporter: the panic is logged at ERROR, the
/// exporter is shut down, and [`shutdown`](Reporter::shutdown) returns
/// [`MetricsError::Panicked`] with the panic's message.
///
/// [`shutdown`](Reporter::shutdown) stops the loop, makes one final export and shuts the
/// exporter down, all within a deadline.
///
/// ```no_run
/// # async fn run(exporter: std::sync::Arc<dyn metrics_core::MetricsExporter>) {
/// use metrics_core::{MetricsGroup, Reporter};
/// use std::time::Duration;
///
/// #[derive(MetricsGroup)]
/// struct Stats {
///     #[metric(counter)]
///     ticks: u64,
/// }
///
/// let mut ticks = 0;
/// let reporter = Reporter::builder(exporter, Duration::from_secs(10)).start(move || {
///     ticks += 1;
///     Stats { ticks }
/// });
/// // ... until the service stops:
/// reporter.shutdown(Duration::from_secs(5)).await.unwrap();
/// # }
/// ```
pub struct Reporter {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), MetricsError>>,
    exporter_name: String,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("exporter", &self.exporter_name)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Reporter`]; see [`Reporter::builder`].
pub struct ReporterBuilder {
    exporter: Arc<dyn MetricsExporter>,
    interval: Duration,
    observer: Option<Observer>,
}

impl fmt::Debug for ReporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReporterBuilder")
            .field("exporter", &self.exporter.name())
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// The longest interval; longer ones are shortened to it. Any longer and the next tick's
    /// instant could overflow the platform's clock.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 365 * 86_400);

    /// The shortest interval; shorter ones are lengthened to it.
    pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

    /// A reporter exporting to `exporter` every `interval` (clamped to
    /// [`MIN_INTERVAL`](Self::MIN_INTERVAL)..=[`MAX_INTERVAL`](Self::MAX_INTERVAL)).
    pub fn builder(exporter: Arc<dyn MetricsExporter>, interval: Duration) -> ReporterBuilder {
        ReporterBuilder {
            exporter,
            interval: interval.clamp(Self::MIN_INTERVAL, Self::MAX_INTERVAL),
            observer: None,
        }
    }

    /// A reporter exporting to `exporter` every `config.export_interval_seconds`. The
    /// configuration is validated first (the interval must be 1 to 86,400 seconds).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), metrics_core::MetricsError> {
    /// use metrics_core::{create_exporter, MetricsConfig, MetricsGroup, Reporter};
    ///
    /// #[derive(MetricsGroup)]
    /// struct Stats {
    ///     #[metric(counter)]
    ///     requests: u64,
    /// }
    ///
    /// let config = MetricsConfig::from_json(
    ///     r#"{"export_interval_seconds": 15, "file": {"path": "metrics.json"}}"#,
    /// )?;
    /// let reporter = Reporter::from_config(create_exporter(&config)?, &config)?
    ///     .start(|| Stats { requests: 0 });
    /// # Ok(()) }
    /// ```
    pub fn from_config(
        exporter: Arc<dyn MetricsExporter>,
        config: &MetricsConfig,
    ) -> Result<ReporterBuilder, MetricsError> {
        config.validate()?;
        Ok(Self::builder(exporter, config.export_interval()))
    }

    /// Stops the loop, makes the final export and shuts the exporter down, within `deadline`.
    ///
    /// Returns the final export's error if it failed (the exporter is still shut down), else
    /// the shutdown's; [`MetricsError::Panicked`] if the snapshot source, the exporter or an
    /// observer panicked; [`MetricsError::Timeout`] if the deadline passed first, in which case
    /// the remaining work is cancelled.
    pub async fn shutdown(mut self, deadline: Duration) -> Result<(), MetricsError> {
        if let Some(stop) = self.stop.take() {
            // The loop may have ended already (a panicking source); the join tells.
            let _ = stop.send(());
        }
        match timeout(deadline, &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(match join_error.try_into_panic() {
                Ok(payload) => MetricsError::Panicked {
                    backend: self.exporter_name.clone(),
                    culprit: "the exporter or an export observer",
                    message: panic_message(payload.as_ref()),
                },
                // Only `abort` cancels the task, and only a timeout aborts it.
                Err(join_error) => MetricsError::ShutDown {
                    backend: format!(
                        "{} (the reporting task failed: {join_error})",
                        self.exporter_name
                    ),
                },
            }),
            Err(_) => {
                self.task.abort();
                Err(MetricsError::Timeout {
                    backend: self.exporter_name.clone(),
                    timeout: deadline,
                })
            }
        }
    }
}

impl ReporterBuilder {
    /// Calls `observer` after every export, e.g. to print a line per export.
    pub fn on_export(
        mut self,
        observer: impl Fn(&ExportReport<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Starts reporting snapshots made by `source`; must be called within a Tokio runtime.
    pub fn start<F, S>(self, source: F) -> Reporter
    where
        F: FnMut() -> S + Send + 'static,
        S: DynMetricsGroup + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        let exporter_name = self.exporter.name().to_owned();
        let task = tokio::spawn(self.run(source, stopped));
        Reporter {
            stop: Some(stop),
            task,
            exporter_name,
        }
    }

    /// Starts reporting a shared live group (of atomics, say) as it is at each tick.
    pub fn start_live<G>(self, group: Arc<G>) -> Reporter
    where
        G: DynMetricsGroup + 'static,
    {
        self.start(move || SharedGroup(Arc::clone(&group)))
    }

    async fn run<F, S>(
        self,
        mut source: F,
        mut stopped: oneshot::Receiver<()>,
    ) -> Result<(), MetricsError>
    where
        F: FnMut() -> S + Send + 'static,
        S: DynMetricsGroup + 'static,
    {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut failures = FailureLog::default();
        let mut number = 0;
        loop {
            // Both a stop signal and a dropped `Reporter` end the loop (`select` polls the
            // stop first).
            let tick = std::pin::pin!(ticks.tick());
            if let Either::Left(_) = select(&mut stopped, tick).await {
                break;
            }
            number += 1;
            let snapshot = self.snapshot(&mut source).await?;
            let _ = self.export(&snapshot, number, false, &mut failures).await;
        }
        number += 1;
        let snapshot = self.snapshot(&mut source).await?;
        let last = self.export(&snapshot, number, true, &mut failures).await;
        let shutdown = self.exporter.shutdown().await;
        last.and(shutdown)
    }

    /// Calls the source; if it panics, logs it, shuts the exporter down and returns the panic
    /// as an error, which ends the reporter.
    async fn snapshot<S>(&self, source: &mut impl FnMut() -> S) -> Result<S, MetricsError> {
        let panic = match catch_unwind(AssertUnwindSafe(source)) {
            Ok(snapshot) => return Ok(snapshot),
            Err(payload) => panic_message(payload.as_ref()),
        };
        tracing::error!(
            backend = self.exporter.name(),
            panic = %panic,
            "the metrics snapshot source panicked; the reporter stops and shuts the exporter down"
        );
        let _ = self.exporter.shutdown().await;
        Err(MetricsError::Panicked {
            backend: self.exporter.name().to_owned(),
            culprit: "the snapshot source",
            message: panic,
        })
    }

    async fn export(
        &self,
        group: &dyn DynMetricsGroup,
        number: u64,
        is_final: bool,
        failures: &mut FailureLog,
    ) -> Result<(), MetricsError> {
        let started = Instant::now();
        let result = self.exporter.export(group).await;
        failures.record(self.exporter.name(), &result);
        if let Some(observer) = &self.observer {
            observer(&ExportReport {
                number,
                elapsed: started.elapsed(),
                is_final,
                result: &result,
            });
        }
        result
    }
}

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// A group shared behind an `Arc`, exported as it is when read.
struct SharedGroup<G>(Arc<G>);

impl<G: DynMetricsGroup> DynMetricsGroup for SharedGroup<G> {
    fn schema(&self) -> &'static crate::schema::GroupSchema {
        self.0.schema()
    }

    fn visit_metrics(&self, visitor: &mut dyn crate::Visitor) {
        self.0.visit_metrics(visitor);
    }

    fn write_json_to(&self, out: &mut Vec<u8>, pretty: bool) -> serde_json::Result<()> {
        self.0.write_json_to(out, pretty)
    }
}
