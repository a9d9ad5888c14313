//! Logging of export failures that does not flood the log while a backend stays down: per
//! backend, the first failure at WARN with its cause, then at most one WARN line a minute with
//! the count, and one INFO line when the backend recovers.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::MetricsError;

/// The shortest time between two lines about one failing backend.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// The backends failing at the moment, by name.
#[derive(Debug, Default)]
pub(super) struct FailureLog {
    failing: BTreeMap<String, Streak>,
}

/// One backend's run of failed exports.
#[derive(Debug)]
struct Streak {
    since: Instant,
    failures: u64,
    /// Failures since the last line.
    unreported: u64,
    last_line: Instant,
}

impl FailureLog {
    /// Logs what `result`, an export to `exporter`, changes: a composite's error names each
    /// failed backend, and the backends it does not name succeeded.
    pub(super) fn record(&mut self, exporter: &str, result: &Result<(), MetricsError>) {
        let now = Instant::now();
        let failed: Vec<(&str, &MetricsError)> = match result {
            Ok(()) => Vec::new(),
            Err(MetricsError::Backends { failures, .. }) => failures
                .iter()
                .map(|(backend, error)| (backend.as_str(), error))
                .collect(),
            Err(error) => vec![(exporter, error)],
        };
        self.failing.retain(|backend, streak| {
            let still_failing = failed.iter().any(|(name, _)| name == backend);
            if !still_failing {
                tracing::info!(
                    backend = backend.as_str(),
                    "metrics export recovered after {} failed exports in {:.0?}",
                    streak.failures,
                    now.duration_since(streak.since)
                );
            }
            still_failing
        });
        for (backend, error) in failed {
            let Some(streak) = self.failing.get_mut(backend) else {
                tracing::warn!(
                    backend,
                    %error,
                    "metrics export failed; each tick retries (while it keeps failing, one line a minute)"
                );
                self.failing.insert(
                    backend.to_owned(),
                    Streak {
                        since: now,
                        failures: 1,
                        unreported: 0,
                        last_line: now,
                    },
                );
                continue;
            };
            streak.failures += 1;
            streak.unreported += 1;
            if now.duration_since(streak.last_line) >= SUMMARY_EVERY {
                tracing::warn!(
                    backend,
                    %error,
                    "metrics export still failing: {} more failed exports since the last line, {} in {:.0?}",
                    streak.unreported,
                    streak.failures,
                    now.duration_since(streak.since)
                );
                streak.unreported = 0;
                streak.last_line = now;
            }
        }
    }
}
