//! Follows a group's visit and writes each metric's samples after its prepared header.

use std::io;

use super::prepared::PreparedFamily;
use super::Format;
use crate::histogram::lower_boundary;
use crate::labels::LabelValue;
use crate::{ExponentialHistogramPoint, HistogramPoint, Number, PointValue, Visitor};

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

impl<'a, W: io::Write + ?Sized> Encoder<'a, W> {
    /// Runs `write` unless an earlier write failed, and keeps its error: the first one ends
    /// the output.
    #[inline]
    fn keep_error(&mut self, write: impl FnOnce(&mut Self) -> io::Result<()>) {
        if self.error.is_none() {
            if let Err(error) = write(self) {
                self.error = Some(error);
            }
        }
    }

    /// The family at the cursor, if its samples are histograms as `histogram` says. A visit
    /// with more points than its schema has metrics (nothing to name them by), or a point that
    /// does not fit its family, comes only from a hand-written visit: it is left out.
    #[inline]
    fn family(&self, histogram: bool) -> Option<&'a PreparedFamily> {
        let family = self.families.get(self.cursor)?;
        (family.series[0].is_empty() != histogram).then_some(family)
    }

    fn sample(&mut self, labels: Labels<'_>, value: PointValue<'_>) -> io::Result<()> {
        let value = match value {
            PointValue::Number(value) => return self.number(labels, value),
            value => value,
        };
        let Some(family) = self.family(true) else {
            return Ok(());
        };
        match value {
            PointValue::Histogram(point) if point.bucket_counts.len() == point.bounds.len() + 1 => {
                self.open_family(family)?;
                self.histogram(family, labels, point)
            }
            PointValue::ExponentialHistogram(point) => {
                self.open_family(family)?;
                self.exponential(family, labels, point)
            }
            _ => Ok(()),
        }
    }

    /// A counter's, gauge's or up-down counter's sample, `name{labels} value`.
    #[inline]
    fn number(&mut self, labels: Labels<'_>, value: Number) -> io::Result<()> {
        let Some(family) = self.family(false) else {
            return Ok(());
        };
        self.open_family(family)?;
        match labels {
            Labels::Keys(labels) => match labels.split_first() {
                Some((first, rest)) if !family.labeled.is_empty() => {
                    // `name{key="` in one piece: the common one-label sample is three writes.
                    self.out.write_all(&family.labeled)?;
                    write_label(self.out, *first)?;
                    for (head, label) in family.label_heads.iter().skip(1).zip(rest) {
                        self.out.write_all(head)?;
                        write_label(self.out, *label)?;
                    }
                    write_value_line(self.out, b"\"} ", value)
                }
                _ => {
                    self.out.write_all(&family.plain)?;
                    write_value_line(self.out, b"", value)
                }
            },
            Labels::Overflow => {
                // `plain` is `name `: the name, then the overflow label in place of the keys.
                let name = family.plain.strip_suffix(b" ").unwrap_or(&family.plain);
                self.out.write_all(name)?;
                write_labels(self.out, family, Labels::Overflow)?;
                write_value_line(self.out, b"\"} ", value)
            }
        }
    }
}

impl<W: io::Write + ?Sized> Encoder<'_, W> {
    /// Writes the family's metadata lines before its first sample.
    fn open_family(&mut self, family: &PreparedFamily) -> io::Result<()> {
        if !self.open {
            self.open = true;
            self.out.write_all(&family.header[self.format.index()])?;
        }
        Ok(())
    }

    /// `name_bucket{..,le=".."}` cumulative counts, then `+Inf`, `name_sum`, `name_count`.
    fn histogram(
        &mut self,
        family: &PreparedFamily,
        labels: Labels<'_>,
        point: &HistogramPoint<'_>,
    ) -> io::Result<()> {
        let mut buckets = Buckets::new(self, family, labels);
        let mut cumulative = 0u64;
        for (bound, count) in point.bounds.iter().zip(point.bucket_counts) {
            cumulative = cumulative.wrapping_add(*count);
            buckets.bucket(*bound, cumulative)?;
        }
        let negative = point.bounds.first().is_some_and(|&b| b < 0.0);
        buckets.finish(
            point.count,
            point.sum,
            negative || point.min.is_some_and(|m| m < 0.0),
        )
    }

    /// An exponential histogram as explicit buckets at its bucket boundaries, in increasing
    /// order: negative buckets (upper bound `-base^index`), the zero bucket (`le` the zero
    /// threshold), positive buckets (upper bound `base^(index + 1)`); each `le` is exact at
    /// a boundary, so `histogram_quantile` interpolates within the same buckets OTLP carries.
    fn exponential(
        &mut self,
        family: &PreparedFamily,
        labels: Labels<'_>,
        point: &ExponentialHistogramPoint<'_>,
    ) -> io::Result<()> {
        let scale = point.scale;
        let mut buckets = Buckets::new(self, family, labels);
        let mut cumulative = 0u64;
        let negative = point.negative;
        for (i, count) in negative.counts.iter().enumerate().rev() {
            cumulative = cumulative.wrapping_add(*count);
            let index = negative.offset.saturating_add(i as i32);
            buckets.bucket(-lower_boundary(index, scale), cumulative)?;
        }
        cumulative = cumulative.wrapping_add(point.zero_count);
        buckets.bucket(point.zero_threshold, cumulative)?;
        let positive = point.positive;
        for (i, count) in positive.counts.iter().enumerate() {
            cumulative = cumulative.wrapping_add(*count);
            let index = positive.offset.saturating_add(i as i32).saturating_add(1);
            buckets.bucket(lower_boundary(index, scale), cumulative)?;
        }
        let has_negative = negative.counts.iter().any(|&c| c != 0);
        buckets.finish(point.count, point.sum, has_negative)
    }
}

/// Writes one histogram point's bucket lines, keeping the `le` values strictly increasing
/// and finite (a boundary that repeats or overflows is left to the next line, its count
/// included there): the exposition stays valid whatever the buckets.
struct Buckets<'e, 'a, W: ?Sized> {
    encoder: &'e mut Encoder<'a, W>,
    family: &'e PreparedFamily,
    labels: Labels<'e>,
    last: f64,
}

impl<'e, 'a, W: io::Write + ?Sized> Buckets<'e, 'a, W> {
    fn new(
        encoder: &'e mut Encoder<'a, W>,
        family: &'e PreparedFamily,
        labels: Labels<'e>,
    ) -> Self {
        Buckets {
            encoder,
            family,
            labels,
            last: f64::NEG_INFINITY,
        }
    }

    fn bucket(&mut self, le: f64, cumulative: u64) -> io::Result<()> {
        if !le.is_finite() || le <= self.last {
            return Ok(());
        }
        self.last = le;
        self.line(&self.family.series[0], Some(le), Number::U64(cumulative))
    }

    /// The `+Inf` bucket, `_sum` (left out in OpenMetrics when values can be negative:
    /// OpenMetrics keeps sums for histograms without negative buckets) and `_count`.
    fn finish(mut self, count: u64, sum: f64, negative: bool) -> io::Result<()> {
        self.line(
            &self.family.series[0],
            Some(f64::INFINITY),
            Number::U64(count),
        )?;
        if !(negative && self.encoder.format == Format::OpenMetrics) {
            self.line(&self.family.series[1], None, Number::F64(sum))?;
        }
        self.line(&self.family.series[2], None, Number::U64(count))
    }

    /// `series{labels,le="le"} value`.
    fn line(&mut self, series: &[u8], le: Option<f64>, value: Number) -> io::Result<()> {
        let out = &mut *self.encoder.out;
        out.write_all(series)?;
        let labeled = self.labels.any(self.family);
        if labeled {
            write_labels(out, self.family, self.labels)?;
        }
        match (le, labeled) {
            (Some(le), labeled) => {
                out.write_all(if labeled { b"\",le=\"" } else { b"{le=\"" })?;
                write_value(out, Number::F64(le))?;
                write_value_line(out, b"\"} ", value)
            }
            (None, true) => write_value_line(out, b"\"} ", value),
            (None, false) => write_value_line(out, b" ", value),
        }
    }
}

impl<W: io::Write + ?Sized> Visitor for Encoder<'_, W> {
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        self.keep_error(|encoder| encoder.sample(Labels::Keys(labels), value));
    }

    #[inline]
    fn number_point(&mut self, labels: &[LabelValue<'_>], value: Number) {
        self.keep_error(|encoder| encoder.number(Labels::Keys(labels), value));
    }

    fn overflow_point(&mut self, value: PointValue<'_>) {
        self.keep_error(|encoder| encoder.sample(Labels::Overflow, value));
    }

    fn advance(&mut self, metrics: usize) {
        self.open = false;
        self.cursor = self.cursor.saturating_add(metrics);
    }
}

/// A sample's labels.
#[derive(Clone, Copy)]
enum Labels<'a> {
    /// Values for the family's label heads, in their order.
    Keys(&'a [LabelValue<'a>]),
    /// A capped family's overflow sample: `otel_metric_overflow="true"` alone.
    Overflow,
}

/// The overflow label, `otel.metric.overflow` as a Prometheus label name, up to its value.
const OVERFLOW_HEAD: &[u8] = b"{otel_metric_overflow=\"";

impl Labels<'_> {
    /// Whether the sample has labels to write.
    fn any(self, family: &PreparedFamily) -> bool {
        match self {
            Labels::Keys(labels) => !labels.is_empty() && !family.label_heads.is_empty(),
            Labels::Overflow => true,
        }
    }
}

/// `{key="value",key2="value2` (the closing `"}` is the caller's): each prepared label head
/// and its value; values without a key in the schema (a hand-written visit) are left out.
fn write_labels<W: io::Write + ?Sized>(
    out: &mut W,
    family: &PreparedFamily,
    labels: Labels<'_>,
) -> io::Result<()> {
    let labels = match labels {
        Labels::Keys(labels) => labels,
        Labels::Overflow => {
            out.write_all(OVERFLOW_HEAD)?;
            return out.write_all(b"true");
        }
    };
    for (head, label) in family.label_heads.iter().zip(labels) {
        out.write_all(head)?;
        write_label(out, *label)?;
    }
    Ok(())
}

/// One label value; label values are strings to Prometheus: an integer's digits, a bool's
/// word.
#[inline]
fn write_label<W: io::Write + ?Sized>(out: &mut W, label: LabelValue<'_>) -> io::Result<()> {
    match label {
        LabelValue::Str(text) => write_label_value(out, text),
        LabelValue::I64(v) => write_u64(out, v.unsigned_abs(), v < 0),
        LabelValue::Bool(v) => out.write_all(if v { b"true" } else { b"false" }),
    }
}

/// A label value with backslashes, double quotes and line feeds escaped; the common value
/// that has none is written in one piece.
fn write_label_value<W: io::Write + ?Sized>(out: &mut W, value: &str) -> io::Result<()> {
    // What Prometheus escapes (`\\`, `"`, line feed) is a subset of what JSON escapes,
    // which `needs_escape` finds eight bytes at a time: most values are written whole.
    if !crate::json::needs_escape(value) {
        return out.write_all(value.as_bytes());
    }
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

/// `before` (what ends the name or the labels: nothing, ` ` or `"} `), the value and the line
/// feed; an integer's in one write, as a sample's writes cost more than its digits.
fn write_value_line<const N: usize, W: io::Write + ?Sized>(
    out: &mut W,
    before: &[u8; N],
    value: Number,
) -> io::Result<()> {
    const { assert!(N <= 3) };
    let (magnitude, negative) = match value {
        Number::U64(v) => (v, false),
        Number::I64(v) => (v.unsigned_abs(), v < 0),
        Number::F64(_) => {
            out.write_all(before)?;
            write_value(out, value)?;
            return out.write_all(b"\n");
        }
    };
    // `before`, a sign, 20 digits and the line feed.
    let mut line = [0u8; 25];
    let end = line.len() - 1;
    line[end] = b'\n';
    let start = write_digits(&mut line[..end], magnitude, negative) - N;
    line[start..start + N].copy_from_slice(before);
    out.write_all(&line[start..])
}

fn write_u64<W: io::Write + ?Sized>(out: &mut W, v: u64, negative: bool) -> io::Result<()> {
    let mut buf = [0u8; 21];
    let start = write_digits(&mut buf, v, negative);
    out.write_all(&buf[start..])
}

/// Writes `v`, after a `-` if `negative`, at the end of `buf` (21 bytes hold any); returns
/// where it starts. Two digits at a time, from a table, as itoa does: half the divisions.
fn write_digits(buf: &mut [u8], mut v: u64, negative: bool) -> usize {
    const PAIRS: [u8; 200] = {
        let mut pairs = [0; 200];
        let mut n = 0;
        while n < 100 {
            pairs[2 * n] = b'0' + (n / 10) as u8;
            pairs[2 * n + 1] = b'0' + (n % 10) as u8;
            n += 1;
        }
        pairs
    };
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    i
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
    fn a_line_ends_with_its_value_in_every_digit_count() {
        let mut values: Vec<Number> = (0..20).map(|exp| Number::U64(10u64.pow(exp))).collect();
        values.extend((1..20).map(|exp| Number::U64(10u64.pow(exp) - 1)));
        values.extend([u64::MAX, 1_234_567].map(Number::U64));
        values.extend([i64::MIN, -1, -42, 7].map(Number::I64));
        values.push(Number::F64(2.5));
        for value in values {
            let mut out = Vec::new();
            write_value_line(&mut out, b"\"} ", value).unwrap();
            let digits = match value {
                Number::U64(v) => v.to_string(),
                Number::I64(v) => v.to_string(),
                Number::F64(v) => format!("{v:?}"),
            };
            assert_eq!(out, format!("\"}} {digits}\n").as_bytes(), "{value:?}");
        }
    }

    #[test]
    fn the_overflow_label_is_the_attribute_as_a_label_name() {
        let name = super::super::names::label_name(crate::family::OVERFLOW_ATTRIBUTE);
        assert_eq!(OVERFLOW_HEAD, format!("{{{name}=\"").as_bytes());
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Vec::new();
        write_label_value(&mut out, "a\\b\"c\nd").unwrap();
        assert_eq!(out, b"a\\\\b\\\"c\\nd");
    }
}
