//! What the type-dependent checks must accept: every unit form, unsigned and float counters
//! in every wrapper, and a user's own unsigned value type as a counter.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use metrics_core::{json::JsonFormat, schema::ValueType, MetricValue, MetricsGroup, Number};

struct Ticks(u64);

impl MetricValue for Ticks {
    const VALUE_TYPE: ValueType = ValueType::U64;

    fn metric_value(&self) -> Option<Number> {
        Some(Number::U64(self.0))
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
        F: JsonFormat,
    {
        format.write_u64(writer, self.0)
    }
}

#[derive(MetricsGroup)]
struct Inner {
    #[metric(counter, unit = "By")]
    read: u64,
}

#[derive(MetricsGroup)]
#[metrics(prefix = "disk")]
struct Units {
    #[metric(counter, unit = "ms")]
    a: u64,
    #[metric(counter, unit = "KiBy")]
    b: Option<u32>,
    #[metric(counter, unit = "By/s")]
    c: f64,
    #[metric(counter, unit = "{request}/s")]
    d: AtomicU64,
    #[metric(counter, unit = "s")]
    e: Duration,
    #[metric(counter, unit = "{request}", label = "route")]
    f: HashMap<String, u64>,
    #[metric(up_down_counter, unit = "%", label = "tier")]
    g: BTreeMap<&'static str, i64>,
    #[metric(counter, unit = "1")]
    h: Ticks,
    #[metric(gauge, unit = "Cel")]
    i: i16,
    #[metric(unit = "m.s-2")]
    j: f32,
    #[metric(unit = "KBy")]
    k: usize,
    inner: Inner,
    #[metric(flatten)]
    flat: Inner,
    #[metric(skip)]
    note: String,
}

fn main() {
    let names: Vec<String> = Units::SCHEMA.metrics().map(|m| m.name).collect();
    assert_eq!(names.len(), 13);
    assert_eq!(names[11], "disk.inner.read");
    assert_eq!(names[12], "disk.read");
}
