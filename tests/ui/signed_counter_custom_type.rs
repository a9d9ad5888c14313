use metrics_core::{json::JsonFormat, schema::ValueType, MetricValue, MetricsGroup, Number};

/// A user's own signed value type.
struct Offset(i64);

impl MetricValue for Offset {
    const VALUE_TYPE: ValueType = ValueType::I64;

    fn metric_value(&self) -> Option<Number> {
        Some(Number::I64(self.0))
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
        F: JsonFormat,
    {
        format.write_i64(writer, self.0)
    }
}

#[derive(MetricsGroup)]
struct Clock {
    #[metric(counter)]
    offset: Offset,
}

fn main() {}
