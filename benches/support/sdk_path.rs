//! The SDK path the OTLP exporter used before it had its own encoder, kept as the oracle of
//! tests/otlp_encoding.rs (our bytes equal what it sends) and the baseline of the benchmarks:
//! one opentelemetry_sdk pipeline per group type (a meter provider whose observable
//! instruments are registered once from the group's static schema, synchronous gauges, and
//! a manual reader collected on demand), collected into the `ResourceMetrics` that
//! opentelemetry-otlp would encode and send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use opentelemetry::metrics::{Gauge, Meter, MeterProvider as _};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    Instrument, InstrumentKind, ManualReader, Pipeline as SdkPipeline, SdkMeterProvider, Stream,
    Temporality,
};
use opentelemetry_sdk::Resource;

use metrics_core::schema::{GroupSchema, MetricKind, ValueType};
use metrics_core::{DynMetricsGroup, LabelValue, MetricsConfig, Number, PointValue, Visitor};

/// The SDK's default number of attribute sets per instrument; above it points fold into an
/// overflow point, so labeled metrics get a larger limit when their maps grow.
const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// The points of one snapshot, per metric in schema order, read by the observable instruments'
/// callbacks (a gauge's entry stays empty).
type Points = Arc<Mutex<Vec<Vec<(Attributes, Number)>>>>;

/// A point's attributes: one without a heap allocation of its own (as the oracle kept them
/// before label sets, whose allocation count `tests/allocations.rs` pins), more in a `Vec`.
#[derive(Clone)]
enum Attributes {
    One(Option<KeyValue>),
    Many(Vec<KeyValue>),
}

impl Attributes {
    fn as_slice(&self) -> &[KeyValue] {
        match self {
            Attributes::One(one) => one.as_slice(),
            Attributes::Many(many) => many,
        }
    }
}

/// A group type's meter provider, reader and point buffer.
pub struct Pipeline {
    schema: &'static GroupSchema,
    /// Full names, in schema order, for messages.
    names: &'static [&'static str],
    /// The label key of each labeled metric, in schema order.
    labels: Vec<Vec<Key>>,
    /// The cardinality limit each metric was registered with.
    limits: Vec<usize>,
    /// How each metric's points reach the SDK.
    recorders: Vec<Recorder>,
    /// Each metric's point count in the last load.
    counts: Vec<usize>,
    points: Points,
    reader: SharedReader,
    /// Kept alive: the reader only holds a weak link to it.
    provider: SdkMeterProvider,
    /// The last collect's data. The SDK refills it in place, reusing its vectors (as its
    /// periodic reader does), so an export does not rebuild the whole structure.
    collected: ResourceMetrics,
}

impl Pipeline {
    /// Registers one observable instrument per metric of `schema`.
    fn new(schema: &'static GroupSchema, resource: Resource, limits: Vec<usize>) -> Self {
        let metrics: Vec<_> = schema.metrics().collect();
        let names = static_names(schema);
        let labels = metrics
            .iter()
            .map(|m| {
                m.descriptor
                    .labels
                    .iter()
                    .map(|&key| Key::from_static_str(key))
                    .collect()
            })
            .collect();
        let points: Points = Arc::new(Mutex::new(vec![Vec::new(); metrics.len()]));

        let views: HashMap<&str, usize> = names
            .iter()
            .zip(&limits)
            .filter(|(_, &limit)| limit != DEFAULT_CARDINALITY_LIMIT)
            .map(|(&name, &limit)| (name, limit))
            .collect();
        let reader = SharedReader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .with_resource(resource)
            .with_view(move |instrument: &Instrument| {
                let limit = *views.get(instrument.name())?;
                Stream::builder().with_cardinality_limit(limit).build().ok()
            })
            .build();
        let meter = provider.meter("metrics-core");
        let recorders = metrics
            .iter()
            .enumerate()
            .map(|(index, metric)| {
                let descriptor = metric.descriptor;
                register(
                    &meter,
                    names[index],
                    descriptor.kind,
                    descriptor.value_type,
                    descriptor.unit,
                    descriptor.description,
                    PointsOf {
                        points: Arc::clone(&points),
                        index,
                    },
                )
            })
            .collect();
        Pipeline {
            schema,
            names,
            labels,
            limits,
            recorders,
            counts: vec![0; metrics.len()],
            points,
            reader,
            provider,
            collected: ResourceMetrics::default(),
        }
    }

    /// Limits that fit the last load, for a rebuilt pipeline, or `None` if these fit.
    fn limits_for_load(&self) -> Option<Vec<usize>> {
        let too_small = self
            .counts
            .iter()
            .zip(&self.limits)
            .any(|(need, limit)| need > limit);
        too_small.then(|| {
            self.counts
                .iter()
                .zip(&self.limits)
                .map(|(&need, &limit)| {
                    if need > limit {
                        need.next_power_of_two() * 2
                    } else {
                        limit
                    }
                })
                .collect()
        })
    }

    /// Records `group`'s gauges and fills the buffer with its other points; returns the names
    /// of the metrics that had non-finite values, which OTLP cannot carry and which are left
    /// out. [`limits_for_load`](Self::limits_for_load) then says whether the limits fit.
    fn load(&mut self, group: &dyn DynMetricsGroup) -> Vec<String> {
        let mut points = self.points.lock().unwrap_or_else(PoisonError::into_inner);
        self.counts.fill(0);
        let mut loader = Loader {
            points: &mut points,
            recorders: &self.recorders,
            counts: &mut self.counts,
            labels: &self.labels,
            cursor: 0,
            non_finite: Vec::new(),
        };
        group.visit_metrics(&mut loader);
        loader
            .non_finite
            .iter()
            .map(|&i| self.names[i].to_owned())
            .collect()
    }

    /// Runs the callbacks over the loaded points and empties the buffer.
    fn collect(&mut self) -> Result<&ResourceMetrics, OTelSdkError> {
        let result = self.reader.collect(&mut self.collected);
        for metric in self
            .points
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter_mut()
        {
            metric.clear();
        }
        result.map(|()| &self.collected)
    }

    /// Releases the SDK pipeline.
    fn shutdown(&self) {
        // Errors here only say it was shut down already; there is nothing to flush.
        let _ = self.provider.shutdown_with_timeout(Duration::from_secs(1));
    }

    /// Each metric's registered limit, for a pipeline that starts out with the defaults.
    fn default_limits(schema: &'static GroupSchema) -> Vec<usize> {
        vec![DEFAULT_CARDINALITY_LIMIT; schema.metric_count]
    }
}

/// The full names of `schema`'s metrics, in schema order.
///
/// An instrument keeps its name as a `Cow<'static, str>` and the SDK copies it into every
/// collect's `ResourceMetrics`: free for a borrowed name, an allocation per metric per export
/// for an owned one. So the names are leaked, once per group type: a registry hands a
/// rebuilt pipeline the same names again. Like the static schema they are derived from,
/// they live as long as the program, and there are as many sets as exported group types.
fn static_names(schema: &'static GroupSchema) -> &'static [&'static str] {
    type Registry = Vec<(&'static GroupSchema, &'static [&'static str])>;
    static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&(_, names)) = registry.iter().find(|(s, _)| std::ptr::eq(*s, schema)) {
        return names;
    }
    let names: Vec<&'static str> = schema.metrics().map(|m| &*m.name.leak()).collect();
    let names = names.leak();
    registry.push((schema, names));
    names
}

/// How a metric's points reach the SDK.
///
/// Gauges are synchronous instruments recorded while the group is visited: the reader gives
/// them delta temporality, under which the SDK aggregates them exactly as it does observable
/// gauges (only this export's points are reported, a label that is gone is gone), without an
/// observable instrument's callback and buffer. Counters and up-down counters stay observable:
/// only an observable Sum reports a total as given with a fixed cumulative start time.
enum Recorder {
    U64(Gauge<u64>),
    I64(Gauge<i64>),
    F64(Gauge<f64>),
    /// Read from the points buffer by the instrument's callback.
    Observed,
}

/// Records a group's gauges and puts its other points into the buffer, following the schema
/// with a cursor.
struct Loader<'a> {
    points: &'a mut [Vec<(Attributes, Number)>],
    recorders: &'a [Recorder],
    counts: &'a mut [usize],
    labels: &'a [Vec<Key>],
    cursor: usize,
    non_finite: Vec<usize>,
}

impl Visitor for Loader<'_> {
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        let index = self.cursor;
        // The SDK's observable instruments carry numbers only.
        let PointValue::Number(value) = value else {
            return;
        };
        if let Number::F64(v) = value {
            if !v.is_finite() {
                if self.non_finite.last() != Some(&index) {
                    self.non_finite.push(index);
                }
                return;
            }
        }
        self.counts[index] += 1;
        let key_value = |(key, label): (&Key, &LabelValue<'_>)| match *label {
            LabelValue::Str(text) => KeyValue::new(key.clone(), text.to_owned()),
            LabelValue::I64(v) => KeyValue::new(key.clone(), v),
            LabelValue::Bool(v) => KeyValue::new(key.clone(), v),
        };
        let pairs = self.labels[index].iter().zip(labels);
        let attribute = if pairs.len() <= 1 {
            Attributes::One(pairs.map(key_value).next())
        } else {
            Attributes::Many(pairs.map(key_value).collect())
        };
        let attributes = attribute.as_slice();
        match &self.recorders[index] {
            Recorder::U64(gauge) => gauge.record(to_u64(value), attributes),
            Recorder::I64(gauge) => gauge.record(to_i64(value), attributes),
            Recorder::F64(gauge) => gauge.record(to_f64(value), attributes),
            Recorder::Observed => self.points[index].push((attribute, value)),
        }
    }

    fn advance(&mut self, metrics: usize) {
        self.cursor += metrics;
    }
}

/// A callback's view of one metric's points.
struct PointsOf {
    points: Points,
    index: usize,
}

impl PointsOf {
    /// Calls `observe` for each point, converted with `convert`.
    fn each<T>(&self, convert: fn(Number) -> T, mut observe: impl FnMut(T, &[KeyValue])) {
        let points = self.points.lock().unwrap_or_else(PoisonError::into_inner);
        for (attribute, value) in &points[self.index] {
            observe(convert(*value), attribute.as_slice());
        }
    }
}

/// OTLP carries integers as signed 64-bit: larger unsigned values saturate at `i64::MAX`
/// (the SDK would silently send 0).
fn to_u64(value: Number) -> u64 {
    match value {
        Number::U64(v) => v.min(i64::MAX as u64),
        Number::I64(v) => v.max(0) as u64,
        Number::F64(v) => v as u64,
    }
}

fn to_i64(value: Number) -> i64 {
    match value {
        Number::U64(v) => i64::try_from(v).unwrap_or(i64::MAX),
        Number::I64(v) => v,
        Number::F64(v) => v as i64,
    }
}

fn to_f64(value: Number) -> f64 {
    value.as_f64()
}

/// Registers the instrument matching a metric's kind and value type.
fn register(
    meter: &Meter,
    name: &'static str,
    kind: MetricKind,
    value_type: ValueType,
    unit: &'static str,
    description: &'static str,
    points: PointsOf,
) -> Recorder {
    macro_rules! instrument {
        ($builder:ident, $convert:expr) => {{
            // The handle can be dropped: the callback stays registered with the provider.
            let _handle = meter
                .$builder(name)
                .with_unit(unit)
                .with_description(description)
                .with_callback(move |observer| {
                    points.each($convert, |v, attrs| observer.observe(v, attrs))
                })
                .build();
            Recorder::Observed
        }};
    }
    macro_rules! gauge {
        ($builder:ident, $recorder:ident) => {
            Recorder::$recorder(
                meter
                    .$builder(name)
                    .with_unit(unit)
                    .with_description(description)
                    .build(),
            )
        };
    }
    match (kind, value_type) {
        (MetricKind::Counter, ValueType::U64) => instrument!(u64_observable_counter, to_u64),
        // Signed counters are rejected at compile time; a float counter carries any left.
        (MetricKind::Counter, ValueType::F64 | ValueType::I64) => {
            instrument!(f64_observable_counter, to_f64)
        }
        (MetricKind::UpDownCounter, ValueType::U64 | ValueType::I64) => {
            instrument!(i64_observable_up_down_counter, to_i64)
        }
        (MetricKind::UpDownCounter, ValueType::F64) => {
            instrument!(f64_observable_up_down_counter, to_f64)
        }
        (MetricKind::Gauge, ValueType::U64) => gauge!(u64_gauge, U64),
        (MetricKind::Gauge, ValueType::I64) => gauge!(i64_gauge, I64),
        (MetricKind::Gauge, ValueType::F64) => gauge!(f64_gauge, F64),
        // The SDK cannot send pre-aggregated histograms: no instrument, no points (the
        // encoder's histograms are checked against the protobuf definitions instead).
        (MetricKind::Histogram | MetricKind::ExponentialHistogram, _)
        | (_, ValueType::Histogram | ValueType::ExponentialHistogram) => Recorder::Observed,
    }
}

/// A `ManualReader` the provider can own while the pipeline keeps a handle to collect with.
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<SdkPipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, metrics: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(metrics)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        match kind {
            // What the SDK always uses for observable gauges; see `Recorder`.
            InstrumentKind::Gauge => Temporality::Delta,
            _ => self.0.temporality(kind),
        }
    }
}

/// What `OtlpExporter` did before its own encoder: a pipeline per group type, rebuilt with
/// larger cardinality limits as maps grow.
pub struct SdkPath {
    resource: Resource,
    pipelines: Mutex<Vec<Pipeline>>,
}

impl SdkPath {
    /// With the resource `OtlpExporter::new` builds from `config`.
    pub fn new(config: &MetricsConfig) -> Self {
        let resource = Resource::builder_empty()
            .with_service_name(config.service_name.clone())
            .with_attributes(
                config
                    .service_namespace
                    .clone()
                    .map(|namespace| KeyValue::new("service.namespace", namespace)),
            )
            .with_attributes(
                config
                    .resource_attributes
                    .iter()
                    .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
            )
            .build();
        SdkPath {
            resource,
            pipelines: Mutex::new(Vec::new()),
        }
    }

    /// `group`'s points loaded into its pipeline (built or rebuilt as the old exporter did)
    /// and collected into the `ResourceMetrics` its transport would encode, which `f` sees.
    pub fn collect_without_sending<R>(
        &self,
        group: &dyn DynMetricsGroup,
        f: impl FnOnce(&ResourceMetrics) -> R,
    ) -> Result<R, OTelSdkError> {
        let mut pipelines = self
            .pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let schema = group.schema();
        let index = match pipelines
            .iter()
            .position(|p| std::ptr::eq(p.schema, schema))
        {
            Some(index) => index,
            None => {
                let limits = Pipeline::default_limits(schema);
                pipelines.push(Pipeline::new(schema, self.resource.clone(), limits));
                pipelines.len() - 1
            }
        };
        pipelines[index].load(group);
        if let Some(limits) = pipelines[index].limits_for_load() {
            pipelines[index].shutdown();
            pipelines[index] = Pipeline::new(schema, self.resource.clone(), limits);
            pipelines[index].load(group);
        }
        pipelines[index].collect().map(f)
    }
}
