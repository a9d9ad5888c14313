//! The static parts of a group type's exposition, rendered once per type: each metric's
//! `# HELP`/`# TYPE`/`# UNIT` lines in both formats and its samples' name up to the value.

use super::names::{label_name, metric_names};
use super::Format;
use crate::schema::cache::PerSchema;
use crate::schema::{GroupSchema, MetricDescriptor, MetricKind};

/// One metric family's fragments.
pub(super) struct PreparedFamily {
    /// The metadata lines, by [`Format`] (`Format::index`).
    pub(super) header: [Box<[u8]>; 2],
    /// A sample without labels, up to its value: `name `.
    pub(super) plain: Box<[u8]>,
    /// A labeled sample up to its first label's value, in one piece: `name{key="`.
    pub(super) labeled: Box<[u8]>,
    /// Each label's name up to its value, `key="`, in the order of the point's values; the
    /// first one opens the braces (`{key="`), the others follow a value (`",key="`).
    pub(super) label_heads: Box<[Box<[u8]>]>,
    /// A histogram's series names, `name_bucket`, `name_sum`, `name_count`; empty otherwise.
    pub(super) series: [Box<[u8]>; 3],
}

/// A group type's families in schema order. Their names are unique: the derive does not
/// compile a group where two collide (`super::collisions`).
pub(super) type Prepared = Box<[PreparedFamily]>;

/// The prepared families of `schema`, built at its first encode.
pub(super) fn prepared(schema: &'static GroupSchema) -> &'static Prepared {
    static CACHE: PerSchema<Prepared> = PerSchema::new();
    CACHE.get(schema, prepare)
}

fn prepare(schema: &'static GroupSchema) -> Prepared {
    schema
        .metrics()
        .map(|metric| {
            let descriptor = metric.descriptor;
            let names = metric_names(&metric.name, descriptor.kind, descriptor.unit);
            PreparedFamily::new(&names, descriptor)
        })
        .collect()
}

/// A histogram's series suffixes.
const SERIES: [&str; 3] = ["_bucket", "_sum", "_count"];

fn is_histogram(kind: MetricKind) -> bool {
    matches!(
        kind,
        MetricKind::Histogram | MetricKind::ExponentialHistogram
    )
}

impl PreparedFamily {
    fn new(names: &super::names::MetricNames, descriptor: &MetricDescriptor) -> Self {
        let header = [Format::Text, Format::OpenMetrics].map(|format| {
            // The text format names the family as its samples (`x_total`), OpenMetrics without
            // the counter's suffix.
            let family = match format {
                Format::Text => &names.sample,
                Format::OpenMetrics => &names.family,
            };
            let mut out = Vec::new();
            if !descriptor.description.is_empty() {
                out.extend_from_slice(b"# HELP ");
                out.extend_from_slice(family.as_bytes());
                out.push(b' ');
                escape_help(&mut out, descriptor.description, format);
                out.push(b'\n');
            }
            out.extend_from_slice(b"# TYPE ");
            out.extend_from_slice(family.as_bytes());
            out.extend_from_slice(match descriptor.kind {
                MetricKind::Counter => b" counter\n",
                // A non-monotonic sum is a gauge to Prometheus.
                MetricKind::Gauge | MetricKind::UpDownCounter => b" gauge\n",
                MetricKind::Histogram | MetricKind::ExponentialHistogram => b" histogram\n",
            });
            if let (Format::OpenMetrics, Some(unit)) = (format, &names.unit) {
                out.extend_from_slice(b"# UNIT ");
                out.extend_from_slice(family.as_bytes());
                out.push(b' ');
                out.extend_from_slice(unit.as_bytes());
                out.push(b'\n');
            }
            out.into_boxed_slice()
        });
        let mut plain = names.sample.clone().into_bytes();
        plain.push(b' ');
        let label_heads = descriptor
            .labels
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let open = if i == 0 { "{" } else { "\"," };
                format!("{open}{}=\"", label_name(key))
                    .into_bytes()
                    .into_boxed_slice()
            })
            .collect();
        PreparedFamily {
            header,
            plain: plain.into(),
            labeled: match descriptor.labels.first() {
                Some(key) => format!("{}{{{}=\"", names.sample, label_name(key))
                    .into_bytes()
                    .into(),
                None => Box::default(),
            },
            label_heads,
            series: SERIES.map(|suffix| {
                if is_histogram(descriptor.kind) {
                    format!("{}{suffix}", names.sample).into_bytes().into()
                } else {
                    Box::default()
                }
            }),
        }
    }
}

/// `# HELP` text: backslashes and line feeds escaped, and in OpenMetrics double quotes too.
fn escape_help(out: &mut Vec<u8>, help: &str, format: Format) {
    for &b in help.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if format == Format::OpenMetrics => out.extend_from_slice(b"\\\""),
            b => out.push(b),
        }
    }
}
