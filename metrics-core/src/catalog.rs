//! A catalog of every metric a group exports, from its static schema alone: a Markdown table
//! for people and a JSON document for tools, so that an operator can read what a service
//! exports without reading its code.
//!
//! ```
//! use metrics_core::{catalog, MetricsGroup};
//!
//! #[derive(MetricsGroup)]
//! struct Queue {
//!     /// Jobs waiting.
//!     #[metric(unit = "{job}")]
//!     depth: u32,
//! }
//!
//! assert!(catalog::markdown::<Queue>().contains("| `depth` | gauge | `{job}` |  | Jobs waiting. |"));
//! ```

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::schema::{GroupSchema, Metric};
use crate::MetricsGroup;

/// One catalog entry.
#[derive(Debug)]
struct Entry<'a> {
    name: &'a str,
    kind: &'static str,
    unit: &'static str,
    value_type: &'static str,
    labels: Vec<&'static str>,
    buckets: &'static [f64],
    description: &'static str,
}

impl<'a> From<&'a Metric> for Entry<'a> {
    fn from(metric: &'a Metric) -> Self {
        let descriptor = metric.descriptor;
        Entry {
            name: &metric.name,
            kind: descriptor.kind.as_str(),
            unit: descriptor.unit,
            value_type: descriptor.value_type.as_str(),
            labels: descriptor.labels.to_vec(),
            buckets: descriptor.buckets,
            description: descriptor.description,
        }
    }
}

/// Written by hand: the light core compiles no serde derive.
impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let histogram = !self.buckets.is_empty();
        let mut entry = serializer.serialize_struct("Entry", 6 + usize::from(histogram))?;
        entry.serialize_field("name", self.name)?;
        entry.serialize_field("kind", self.kind)?;
        entry.serialize_field("unit", self.unit)?;
        entry.serialize_field("value_type", self.value_type)?;
        entry.serialize_field("labels", &self.labels)?;
        // Only explicit-bucket histograms have bounds.
        if histogram {
            entry.serialize_field("buckets", self.buckets)?;
        }
        entry.serialize_field("description", self.description)?;
        entry.end()
    }
}

/// A Markdown table of `G`'s metrics: name, kind (with an explicit histogram's bucket
/// bounds), unit, label keys, description.
pub fn markdown<G: MetricsGroup + ?Sized>() -> String {
    markdown_of(G::SCHEMA)
}

/// [`markdown`] for a schema.
pub fn markdown_of(schema: &'static GroupSchema) -> String {
    let mut out = String::from(
        "| name | kind | unit | labels | description |\n| --- | --- | --- | --- | --- |\n",
    );
    for metric in schema.metrics() {
        let entry = Entry::from(&metric);
        let code = |text: &str| {
            if text.is_empty() {
                String::new()
            } else {
                format!("`{text}`")
            }
        };
        let labels: Vec<String> = entry.labels.iter().map(|label| code(label)).collect();
        let kind = if entry.buckets.is_empty() {
            entry.kind.to_owned()
        } else {
            let bounds: Vec<String> = entry.buckets.iter().map(|b| format!("{b:?}")).collect();
            format!("{} `[{}]`", entry.kind, bounds.join(", "))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            code(entry.name),
            kind,
            code(entry.unit),
            labels.join(", "),
            entry.description.replace('|', "\\|"),
        ));
    }
    out
}

/// A pretty JSON array of `G`'s metrics, each with `name`, `kind`, `unit`, `value_type`,
/// `labels`, `description`, and for an explicit-bucket histogram `buckets` (its bounds).
pub fn json<G: MetricsGroup + ?Sized>() -> String {
    json_of(G::SCHEMA)
}

/// [`json`] for a schema.
pub fn json_of(schema: &'static GroupSchema) -> String {
    let metrics: Vec<Metric> = schema.metrics().collect();
    let entries: Vec<Entry> = metrics.iter().map(Entry::from).collect();
    // Serializing plain strings and vectors cannot fail.
    serde_json::to_string_pretty(&entries).unwrap_or_default()
}
