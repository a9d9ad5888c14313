//! Static metric descriptors, built at compile time by `#[derive(MetricsGroup)]`.
//!
//! A group's schema is a tree: a nested group appears as a [`NestedGroup`] pointing at the
//! nested type's own `&'static` schema, so no name is concatenated at compile time. Full,
//! dotted names are produced by walking the tree with [`GroupSchema::metrics`].

use std::fmt;

pub(crate) mod build;
pub(crate) mod cache;

/// How a metric's values are meant to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonic, cumulative total (OTLP: monotonic cumulative Sum).
    Counter,
    /// A current value that can go up and down (OTLP: Gauge). The default kind.
    Gauge,
    /// A cumulative total that can also decrease (OTLP: non-monotonic cumulative Sum).
    UpDownCounter,
    /// A distribution in explicit buckets (OTLP: cumulative Histogram; Prometheus:
    /// `histogram`). The kind of every `Histogram` or `HistogramSnapshot` field.
    Histogram,
    /// A distribution in base-2 exponential buckets (OTLP: cumulative ExponentialHistogram;
    /// Prometheus: `histogram` with `le` buckets at the bucket boundaries). The kind of every
    /// `ExponentialHistogram` or `ExponentialHistogramSnapshot` field.
    ExponentialHistogram,
}

impl MetricKind {
    /// The keyword used in `#[metric(...)]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => metrics_rules::COUNTER,
            MetricKind::Gauge => metrics_rules::GAUGE,
            MetricKind::UpDownCounter => metrics_rules::UP_DOWN_COUNTER,
            MetricKind::Histogram => metrics_rules::HISTOGRAM,
            MetricKind::ExponentialHistogram => metrics_rules::EXPONENTIAL_HISTOGRAM,
        }
    }

    /// The kind a field of `value_type` has when its attributes name none: a histogram for
    /// histogram values, a gauge otherwise.
    pub const fn default_for(value_type: ValueType) -> MetricKind {
        match value_type {
            ValueType::Histogram => MetricKind::Histogram,
            ValueType::ExponentialHistogram => MetricKind::ExponentialHistogram,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => MetricKind::Gauge,
        }
    }

    /// Whether points of `value_type` can be of this kind: histogram kinds take their own
    /// histogram values only, the others numbers only.
    pub const fn accepts(self, value_type: ValueType) -> bool {
        matches!(
            (self, value_type),
            (MetricKind::Histogram, ValueType::Histogram)
                | (
                    MetricKind::ExponentialHistogram,
                    ValueType::ExponentialHistogram
                )
                | (
                    MetricKind::Counter | MetricKind::Gauge | MetricKind::UpDownCounter,
                    ValueType::U64 | ValueType::I64 | ValueType::F64
                )
        )
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The numeric type a metric's points carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Unsigned integers, `bool` (0 or 1) and unsigned atomics.
    U64,
    /// Signed integers and signed atomics.
    I64,
    /// Floats and `Duration` (in seconds).
    F64,
    /// Explicit-bucket histograms (`Histogram`, `HistogramSnapshot`).
    Histogram,
    /// Exponential histograms (`ExponentialHistogram`, `ExponentialHistogramSnapshot`).
    ExponentialHistogram,
}

impl ValueType {
    /// A short lowercase name: `u64`, `i64`, `f64`, `histogram` or `exponential_histogram`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ValueType::U64 => "u64",
            ValueType::I64 => "i64",
            ValueType::F64 => "f64",
            ValueType::Histogram => "histogram",
            ValueType::ExponentialHistogram => "exponential_histogram",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric as declared by one field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDescriptor {
    /// The name within its group (struct prefix and `rename` applied, no parent path).
    pub name: &'static str,
    /// Counter, gauge or up-down counter.
    pub kind: MetricKind,
    /// UCUM unit as OpenTelemetry uses it (`s`, `By`, `1`, ...); empty when none.
    pub unit: &'static str,
    /// The field's doc comment or `description = "..."`; empty when none.
    pub description: &'static str,
    /// For a map field, the attribute keys its entries' points carry, in the order of the
    /// values a [`Visitor`](crate::Visitor) gets; empty for other fields. Checked at compile
    /// time: valid keys (`metrics_rules::check_label_key`), no duplicates, at most
    /// [`metrics_rules::MAX_LABELS`].
    pub labels: &'static [&'static str],
    /// The numeric type of the points.
    pub value_type: ValueType,
    /// An explicit-bucket histogram's bounds (`#[metric(buckets = [...])]`, or
    /// `Histogram::DEFAULT_BOUNDS`); empty for other kinds.
    pub buckets: &'static [f64],
}

/// A field holding another group.
#[derive(Clone, Copy, Debug)]
pub struct NestedGroup {
    /// The path segment the nested metrics are named under; `None` when flattened.
    pub name: Option<&'static str>,
    /// The nested type's schema.
    pub schema: &'static GroupSchema,
}

/// One metric-bearing field of a group, in declaration order.
#[derive(Clone, Copy, Debug)]
pub enum SchemaField {
    /// A field that is one metric.
    Metric(MetricDescriptor),
    /// A field that holds a nested group.
    Group(NestedGroup),
}

/// The schema of one `#[derive(MetricsGroup)]` type.
#[derive(Debug)]
pub struct GroupSchema {
    /// The Rust type name, for messages.
    pub type_name: &'static str,
    /// Metric-bearing fields in declaration order (skipped fields are absent).
    pub fields: &'static [SchemaField],
    /// The number of metrics in the whole tree below this group.
    pub metric_count: usize,
    /// Per field, its metric's Prometheus family name when no group path can change it
    /// (`metrics_rules::prometheus::relocatable_family_name`), else `""`; rendered by the
    /// derive for the compile-time collision check of groups that nest this one.
    pub(crate) prometheus_names: &'static [&'static str],
}

impl GroupSchema {
    /// Every metric of the tree, depth first in declaration order, with its full dotted name.
    ///
    /// This is the order in which [`crate::Visitor`] receives values.
    pub fn metrics(&'static self) -> Metrics {
        Metrics {
            stack: vec![(self.fields.iter(), 0)],
            path: String::new(),
        }
    }
}

/// A metric with its full name, as yielded by [`GroupSchema::metrics`].
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The full dotted name, e.g. `scheduler.running_agents`.
    pub name: String,
    /// The static descriptor.
    pub descriptor: &'static MetricDescriptor,
}

/// Iterator over the metrics of a schema tree; see [`GroupSchema::metrics`].
#[derive(Debug)]
pub struct Metrics {
    /// Per open group: its remaining fields and the length of `path` before it was entered.
    stack: Vec<(std::slice::Iter<'static, SchemaField>, usize)>,
    /// The dotted path of the innermost open group, with a trailing dot when not empty.
    path: String,
}

impl Iterator for Metrics {
    type Item = Metric;

    fn next(&mut self) -> Option<Metric> {
        loop {
            let (fields, _) = self.stack.last_mut()?;
            match fields.next() {
                Some(SchemaField::Metric(descriptor)) => {
                    return Some(Metric {
                        name: format!("{}{}", self.path, descriptor.name),
                        descriptor,
                    })
                }
                Some(SchemaField::Group(group)) => {
                    let outer_len = self.path.len();
                    if let Some(name) = group.name {
                        self.path.push_str(name);
                        self.path.push('.');
                    }
                    self.stack.push((group.schema.fields.iter(), outer_len));
                }
                None => {
                    let (_, outer_len) = self.stack.pop()?;
                    self.path.truncate(outer_len);
                }
            }
        }
    }
}
