//! Follows a group's visit and writes each metric's samples after its prepared header.

use std::io;

use super::prepared::PreparedFamily;
use super::Format;
use crate::labels::LabelValue;
use crate::{Number, PointValue, Visitor};

/// Writes the samples `visit` gives, under the headers of `families`; the first write error
/// ends the output and is returned.
pub(super) fn encode<W: io::Write + ?Sized>(
    families: &[PreparedFamily],
    format: Format,
    visit: impl FnOnce(&mut dyn Visitor),
    out: &mut W,
) -> io::Result<()> {
    let mut encoder = Encoder {
        families,
        format,
        cursor: 0,
        open: false,
        out,
        error: None,
    };
    visit(&mut encoder);
    if let Some(error) = encoder.error {
        return Err(error);
    }
    if format == Format::OpenMetrics {
        encoder.out.write_all(b"# EOF\n")?;
    }
    Ok(())
}

struct Encoder<'a, W: ?Sized> {
    families: &'a [PreparedFamily],
    format: Format,
    /// The family the next point belongs to (see [`Visitor`]).
    cursor: usize,
    /// Whether the family at the cursor has had its header written.
    open: bool,
    out: &'a mut W,
    error: Option<io::Error>,
}

/// The overflow sample's label, `otel.metric.overflow` as a Prometheus label name, up to
/// its value (`true`, the one value in [`OVERFLOW_VALUES`]).
const OVERFLOW_HEADS: [&[u8]; 1] = [b"{otel_metric_overflow=\""];
const OVERFLOW_VALUES: [LabelValue<'static>; 1] = [LabelValue::Bool(true)];

impl<W: io::Write + ?Sized> Encoder<'_, W> {
    /// One sample, labeled by the family's keys or, for an overflow point, by the overflow
    /// label alone.
    fn sample(
        &mut self,
        labels: &[LabelValue<'_>],
        overflow: bool,
        value: PointValue<'_>,
    ) -> io::Result<()> {
        // A visit with more points than its schema has metrics: nothing to name them by.
        let Some(family) = self.families.get(self.cursor) else {
            return Ok(());
        };
        let PointValue::Number(value) = value else {
            return Ok(());
        };
        if !self.open {
            self.open = true;
            self.out.write_all(&family.header[self.format.index()])?;
        }
        if overflow {
            self.out.write_all(&family.name)?;
            write_labels(self.out, &OVERFLOW_HEADS, &OVERFLOW_VALUES)?;
            self.out.write_all(b"\"} ")?;
        } else if labels.is_empty() || family.label_heads.is_empty() {
            self.out.write_all(&family.plain)?;
        } else {
            self.out.write_all(&family.name)?;
            write_labels(self.out, &family.label_heads, labels)?;
            self.out.write_all(b"\"} ")?;
        }
        write_value(self.out, value)?;
        self.out.write_all(b"\n")
    }
}

impl<W: io::Write + ?Sized> Visitor for Encoder<'_, W> {
    #[inline]
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        if self.error.is_none() {
            if let Err(error) = self.sample(labels, false, value) {
                self.error = Some(error);
            }
        }
    }

    fn overflow_point(&mut self, value: PointValue<'_>) {
        if self.error.is_none() {
            if let Err(error) = self.sample(&[], true, value) {
                self.error = Some(error);
            }
        }
    }

    fn advance(&mut self, metrics: usize) {
        self.open = false;
        self.cursor = self.cursor.saturating_add(metrics);
    }
}

/// `{key="value",key2="value2` (the closing `"}` is the caller's): each prepared label head
/// and its value; values without a key in the schema (a hand-written visit) are left out.
fn write_labels<W: io::Write + ?Sized, H: AsRef<[u8]>>(
    out: &mut W,
    heads: &[H],
    labels: &[LabelValue<'_>],
) -> io::Result<()> {
    for (head, label) in heads.iter().zip(labels) {
        out.write_all(head.as_ref())?;
        match *label {
            LabelValue::Str(text) => write_label_value(out, text)?,
            // Label values are strings to Prometheus: an integer's digits, a bool's word.
            LabelValue::I64(v) => write_u64(out, v.unsigned_abs(), v < 0)?,
            LabelValue::Bool(v) => out.write_all(if v { b"true" } else { b"false" })?,
        }
    }
    Ok(())
}

/// A label value with backslashes, double quotes and line feeds escaped; the common value
/// that has none is written in one piece.
fn write_label_value<W: io::Write + ?Sized>(out: &mut W, value: &str) -> io::Result<()> {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            b'\n' => b"\\n",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(escaped)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])
}

/// A value as Prometheus parses it: integers in all their digits, floats in Rust's shortest
/// round-trip form (Go's `ParseFloat` reads it back to the same `f64`), `NaN`, `+Inf`, `-Inf`.
pub(super) fn write_value<W: io::Write + ?Sized>(out: &mut W, value: Number) -> io::Result<()> {
    match value {
        Number::U64(v) => write_u64(out, v, false),
        Number::I64(v) => write_u64(out, v.unsigned_abs(), v < 0),
        Number::F64(v) if v.is_nan() => out.write_all(b"NaN"),
        Number::F64(v) if v == f64::INFINITY => out.write_all(b"+Inf"),
        Number::F64(v) if v == f64::NEG_INFINITY => out.write_all(b"-Inf"),
        Number::F64(v) => write!(out, "{v:?}"),
    }
}

fn write_u64<W: io::Write + ?Sized>(out: &mut W, mut v: u64, negative: bool) -> io::Result<()> {
    let mut buf = [0u8; 21];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    out.write_all(&buf[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_spelled_as_prometheus_reads_them() {
        let cases = [
            (Number::U64(u64::MAX), "18446744073709551615"),
            (Number::U64(0), "0"),
            (Number::I64(i64::MIN), "-9223372036854775808"),
            (Number::I64(-7), "-7"),
            (Number::F64(f64::NAN), "NaN"),
            (Number::F64(f64::INFINITY), "+Inf"),
            (Number::F64(f64::NEG_INFINITY), "-Inf"),
            (Number::F64(0.1), "0.1"),
            (Number::F64(-0.0), "-0.0"),
            (Number::F64(2.5), "2.5"),
            (Number::F64(1e300), "1e300"),
            (Number::F64(1.5e-9), "1.5e-9"),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            write_value(&mut out, value).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{value:?}");
        }
    }

    #[test]
    fn the_overflow_label_is_the_attribute_as_a_label_name() {
        let name = super::super::names::label_name(crate::family::OVERFLOW_ATTRIBUTE);
        assert_eq!(OVERFLOW_HEADS[0], format!("{{{name}=\"").as_bytes());
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Vec::new();
        write_label_value(&mut out, "a\\b\"c\nd").unwrap();
        assert_eq!(out, b"a\\\\b\\\"c\\nd");
    }
}
