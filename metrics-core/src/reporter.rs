//! [`Reporter`]: exports on an interval, and once more at shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};

use crate::{DynMetricsGroup, MetricsError, MetricsExporter};

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
/// interval), so ticks do not drift. An export slower than the interval is not queued
/// behind: the ticks it overran are skipped. A failed export is logged with `tracing`
/// (naming the backend) and the next tick simply tries again; the reporter never stops on an
/// exporter error. [`shutdown`](Reporter::shutdown) stops the loop, makes one final export
/// and shuts the exporter down, all within a deadline.
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
    /// A reporter exporting to `exporter` every `interval` (at least 1 ms).
    pub fn builder(exporter: Arc<dyn MetricsExporter>, interval: Duration) -> ReporterBuilder {
        ReporterBuilder {
            exporter,
            interval: interval.max(Duration::from_millis(1)),
            observer: None,
        }
    }

    /// Stops the loop, makes the final export and shuts the exporter down, within `deadline`.
    ///
    /// Returns the final export's error if it failed (the exporter is still shut down), else
    /// the shutdown's; [`MetricsError::Timeout`] if the deadline passed first, in which case
    /// the remaining work is cancelled.
    pub async fn shutdown(mut self, deadline: Duration) -> Result<(), MetricsError> {
        if let Some(stop) = self.stop.take() {
            // The loop may have ended already (a panicking source); the join tells.
            let _ = stop.send(());
        }
        match timeout(deadline, &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(MetricsError::ShutDown {
                backend: format!(
                    "{} (the reporting task failed: {join_error})",
                    self.exporter_name
                ),
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
        let mut number = 0;
        let mut next_tick = Instant::now();
        // Both a stop signal and a dropped `Reporter` end the loop.
        while timeout_at(next_tick, &mut stopped).await.is_err() {
            number += 1;
            let _ = self.export(&source(), number, false).await;
            next_tick = skip_missed(next_tick, self.interval, Instant::now());
        }
        number += 1;
        let last = self.export(&source(), number, true).await;
        let shutdown = self.exporter.shutdown().await;
        last.and(shutdown)
    }

    async fn export(
        &self,
        group: &dyn DynMetricsGroup,
        number: u64,
        is_final: bool,
    ) -> Result<(), MetricsError> {
        let started = Instant::now();
        let result = self.exporter.export(group).await;
        if let Err(error) = &result {
            tracing::warn!(backend = self.exporter.name(), %error, "metrics export failed; the next tick retries");
        }
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

/// The first tick of the grid `previous + k × interval` (k ≥ 1) that is after `now`.
fn skip_missed(previous: Instant, interval: Duration, now: Instant) -> Instant {
    let next = previous + interval;
    if next > now {
        return next;
    }
    let behind = now.duration_since(next).as_nanos();
    let skipped = behind / interval.as_nanos() + 1;
    next + interval * u32::try_from(skipped).unwrap_or(u32::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_ticks_are_skipped_on_the_grid() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(skip_missed(start, second, start), start + second);
        assert_eq!(
            skip_missed(start, second, start + Duration::from_millis(999)),
            start + second
        );
        assert_eq!(
            skip_missed(start, second, start + second),
            start + 2 * second
        );
        assert_eq!(
            skip_missed(start, second, start + Duration::from_millis(3500)),
            start + 4 * second
        );
    }
}
