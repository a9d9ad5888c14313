//! Observable instruments for every metric of a group, on any OpenTelemetry `Meter`.

use std::sync::{Arc, Weak};

use opentelemetry::metrics::Meter;

use super::snapshot::{SharedSnapshot, Visit};
use crate::schema::{GroupSchema, Metric, MetricKind, ValueType};
use crate::{MetricsGroup, Number};

/// A group's instruments on a `Meter`; dropping it stops their reporting.
///
/// OpenTelemetry 0.33 cannot unregister an instrument, so after the drop the instruments stay
/// known to the provider but their callbacks observe nothing: the metrics are absent from
/// every later export, and the source (with whatever it captured) is dropped at once.
#[must_use = "dropping the Registration stops the reporting"]
pub struct Registration {
    /// The only strong reference: the callbacks hold weak ones.
    _snapshot: Arc<SharedSnapshot>,
    unbridged: Vec<Unbridged>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("unbridged", &self.unbridged)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// The metrics of the group that have no instrument, each with the reason: the
    /// histograms; see [`Unbridged`].
    pub fn unbridged(&self) -> &[Unbridged] {
        &self.unbridged
    }
}

/// A metric that [`register`] could not bridge, and why; it is not reported through the
/// `Meter`, so export it another way (our own exporter, say).
///
/// The OpenTelemetry API only has *observable* counters, up-down counters and gauges: a
/// metric kind whose value cannot be read at collection time into one of those (a histogram,
/// whose distribution the SDK would have to aggregate from individual recordings) lands here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unbridged {
    /// The metric's full dotted name.
    pub name: String,
    /// Why it has no instrument.
    pub reason: &'static str,
}

/// Registers an observable instrument on `meter` for every metric of `G`, reporting the
/// snapshots `source` makes; one snapshot per collection serves all of the instruments.
///
/// Instruments by kind and value type (the API has no `u64` up-down counter and no `i64`
/// counter):
///
/// | metric | instrument | conversion |
/// |---|---|---|
/// | counter, `u64` | `u64_observable_counter` | saturates at `i64::MAX`, OTLP's integer range |
/// | counter, `i64` or `f64` | `f64_observable_counter` | exact up to 2^53 |
/// | up-down counter, `u64` or `i64` | `i64_observable_up_down_counter` | `u64` saturates at `i64::MAX` |
/// | up-down counter, `f64` | `f64_observable_up_down_counter` | none |
/// | gauge, `u64` / `i64` / `f64` | `u64_` / `i64_` / `f64_observable_gauge` | `u64` saturates at `i64::MAX` |
///
/// Each instrument carries the metric's full dotted name, unit and description; the entries
/// of a map metric are points with the metric's label as attribute key. A source that panics
/// is caught: nothing is observed in that collection (the SDK's collection thread would
/// otherwise die), and the next collection calls it again.
///
/// ```
/// use metrics_core::MetricsGroup;
/// use opentelemetry::metrics::MeterProvider;
///
/// #[derive(MetricsGroup)]
/// struct Queue {
///     /// Jobs waiting.
///     waiting: u64,
/// }
///
/// let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
/// let registration = metrics_core::otel::register(&provider.meter("queue"), || Queue { waiting: 3 });
/// assert!(registration.unbridged().is_empty());
/// ```
pub fn register<G, F>(meter: &Meter, mut source: F) -> Registration
where
    G: MetricsGroup + 'static,
    F: FnMut() -> G + Send + 'static,
{
    register_visit(meter, G::SCHEMA, Box::new(move |v| source().visit(v)))
}

/// Like [`register`], for a live group shared with the code that updates it (a struct of
/// atomics, say): each collection reads it as it is.
pub fn register_live<G>(meter: &Meter, group: Arc<G>) -> Registration
where
    G: MetricsGroup + Send + Sync + 'static,
{
    register_visit(meter, G::SCHEMA, Box::new(move |v| group.visit(v)))
}

fn register_visit(meter: &Meter, schema: &'static GroupSchema, visit: Visit) -> Registration {
    let snapshot = Arc::new(SharedSnapshot::new(schema, visit));
    let mut unbridged = Vec::new();
    for (index, metric) in schema.metrics().enumerate() {
        let weak = Arc::downgrade(&snapshot);
        if let Err(reason) = instrument(
            meter,
            &metric,
            Points {
                snapshot: weak,
                index,
            },
        ) {
            unbridged.push(Unbridged {
                name: metric.name,
                reason,
            });
        }
    }
    Registration {
        _snapshot: snapshot,
        unbridged,
    }
}

/// One metric's view of the shared snapshot, moved into its instrument's callback.
struct Points {
    snapshot: Weak<SharedSnapshot>,
    index: usize,
}

impl Points {
    /// Calls `observe` with each point of the metric; nothing once the registration is gone.
    fn each<T>(
        &self,
        convert: fn(Number) -> T,
        mut observe: impl FnMut(T, &[opentelemetry::KeyValue]),
    ) {
        if let Some(snapshot) = self.snapshot.upgrade() {
            snapshot.read(self.index, |value, attributes| {
                observe(convert(value), attributes)
            });
        }
    }
}

/// Builds the observable instrument for `metric`, or says why there is none.
fn instrument(meter: &Meter, metric: &Metric, points: Points) -> Result<(), &'static str> {
    let descriptor = metric.descriptor;
    macro_rules! observable {
        ($builder:ident, $convert:expr) => {{
            // The handle can be dropped: the callback stays registered with the provider.
            let _handle = meter
                .$builder(metric.name.clone())
                .with_unit(descriptor.unit)
                .with_description(descriptor.description)
                .with_callback(move |observer| {
                    points.each($convert, |value, attributes| {
                        observer.observe(value, attributes)
                    })
                })
                .build();
            Ok(())
        }};
    }
    // A kind without an observable instrument (a histogram) returns `Err` with its reason.
    match (descriptor.kind, descriptor.value_type) {
        (MetricKind::Counter, ValueType::U64) => observable!(u64_observable_counter, to_u64),
        (MetricKind::Counter, ValueType::I64 | ValueType::F64) => {
            observable!(f64_observable_counter, Number::as_f64)
        }
        (MetricKind::UpDownCounter, ValueType::U64 | ValueType::I64) => {
            observable!(i64_observable_up_down_counter, Number::as_i64_saturating)
        }
        (MetricKind::UpDownCounter, ValueType::F64) => {
            observable!(f64_observable_up_down_counter, Number::as_f64)
        }
        (MetricKind::Gauge, ValueType::U64) => observable!(u64_observable_gauge, to_u64),
        (MetricKind::Gauge, ValueType::I64) => {
            observable!(i64_observable_gauge, Number::as_i64_saturating)
        }
        (MetricKind::Gauge, ValueType::F64) => observable!(f64_observable_gauge, Number::as_f64),
        (MetricKind::Histogram | MetricKind::ExponentialHistogram, _) => Err(
            "a histogram: the OpenTelemetry API has no observable histogram (its SDK aggregates \
             recordings itself); export it with metrics_core's OTLP exporter",
        ),
        // Only a hand-written schema can pair a number kind with histogram values.
        (_, ValueType::Histogram | ValueType::ExponentialHistogram) => {
            Err("histogram values on a number metric")
        }
    }
}

/// OTLP carries integers as signed 64-bit: larger unsigned values saturate at `i64::MAX`
/// (OTLP's `int64` cannot carry them). Negative values become 0.
fn to_u64(value: Number) -> u64 {
    match value {
        Number::U64(v) => v.min(i64::MAX as u64),
        Number::I64(v) => v.max(0) as u64,
        Number::F64(v) => v as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_values_beyond_otlp_range_saturate() {
        assert_eq!(to_u64(Number::U64(u64::MAX)), 9_223_372_036_854_775_807);
        assert_eq!(
            Number::U64(u64::MAX).as_i64_saturating(),
            9_223_372_036_854_775_807
        );
        assert_eq!(to_u64(Number::I64(-5)), 0);
        assert_eq!(Number::U64(7).as_i64_saturating(), 7);
    }
}
