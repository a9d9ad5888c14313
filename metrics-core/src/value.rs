//! [`MetricValue`]: the types a metric field can hold, and the trait that adds more.

use std::io;
use std::sync::atomic::{self, Ordering};
use std::time::Duration;

use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::ValueType;
use crate::{Number, Visitor};

/// A type that can be the value of one metric field.
///
/// Implemented for every integer type, `f32`, `f64`, `bool` (0 or 1), [`Duration`] (seconds)
/// and the std atomics (read with `Relaxed` ordering, so a live struct of atomics exports
/// directly). `u128` and `i128` saturate to the 64-bit range. Implement it for your own types:
///
/// ```
/// use metrics_core::{json::JsonFormat, schema::ValueType, MetricValue, MetricsGroup, Number};
///
/// /// A temperature that serializes as a plain number.
/// #[derive(serde::Serialize)]
/// struct Celsius(f64);
///
/// impl MetricValue for Celsius {
///     const VALUE_TYPE: ValueType = ValueType::F64;
///
///     fn metric_value(&self) -> Option<Number> {
///         Some(Number::F64(self.0))
///     }
///
///     fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> std::io::Result<()>
///     where
///         W: ?Sized + std::io::Write,
///         F: JsonFormat,
///     {
///         format.serialize(writer, self)
///     }
/// }
///
/// #[derive(MetricsGroup)]
/// struct Room {
///     /// Air temperature.
///     #[metric(unit = "Cel")]
///     temperature: Celsius,
/// }
/// # assert_eq!(metrics_core::json::to_string(&Room { temperature: Celsius(21.5) }).unwrap(),
/// #     r#"{"temperature":21.5}"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a metric value",
    label = "not a metric value",
    note = "metric values are integers, floats, `bool`, `Duration`, std atomics and histograms; implement `metrics_core::MetricValue` for your own types"
)]
pub trait MetricValue {
    /// The numeric type of this value's points.
    const VALUE_TYPE: ValueType;

    /// The current value; `None` records no point.
    fn metric_value(&self) -> Option<Number>;

    /// Hands this value's point, with `labels`, to `visitor`: [`metric_value`] as a number
    /// unless overridden (the histograms hand over their buckets, read onto the stack).
    ///
    /// [`metric_value`]: MetricValue::metric_value
    #[inline]
    fn visit_point(&self, labels: &[LabelValue<'_>], visitor: &mut dyn Visitor) {
        if let Some(value) = self.metric_value() {
            visitor.number_point(labels, value);
        }
    }

    /// Writes the value as serde_json would serialize it.
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;
}

/// Implements `MetricValue` for a primitive integer: the [`Number`] variant and conversion
/// into it, and the serde_json formatter method serde calls for it (serde writes `usize` and
/// `isize` as 64-bit integers).
macro_rules! integer {
    ($($ty:ty => $variant:ident($convert:expr), $write:ident($($cast:tt)*);)*) => {$(
        impl MetricValue for $ty {
            const VALUE_TYPE: ValueType = ValueType::$variant;

            #[inline]
            fn metric_value(&self) -> Option<Number> {
                Some(Number::$variant($convert(*self)))
            }

            #[inline]
            fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
            where
                W: ?Sized + io::Write,
                F: JsonFormat,
            {
                format.$write(writer, *self $($cast)*)
            }
        }
    )*};
}

integer! {
    u8 => U64(u64::from), write_u8();
    u16 => U64(u64::from), write_u16();
    u32 => U64(u64::from), write_u32();
    u64 => U64(u64::from), write_u64();
    usize => U64(|v| v as u64), write_u64(as u64);
    u128 => U64(|v| u64::try_from(v).unwrap_or(u64::MAX)), write_u128();
    i8 => I64(i64::from), write_i8();
    i16 => I64(i64::from), write_i16();
    i32 => I64(i64::from), write_i32();
    i64 => I64(i64::from), write_i64();
    isize => I64(|v| v as i64), write_i64(as i64);
    i128 => I64(|v: i128| v.clamp(i64::MIN.into(), i64::MAX.into()) as i64), write_i128();
}

impl MetricValue for f64 {
    const VALUE_TYPE: ValueType = ValueType::F64;

    #[inline]
    fn metric_value(&self) -> Option<Number> {
        Some(Number::F64(*self))
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        // serde_json writes non-finite floats as `null`.
        if self.is_finite() {
            format.write_f64(writer, *self)
        } else {
            format.write_null(writer)
        }
    }
}

impl MetricValue for f32 {
    const VALUE_TYPE: ValueType = ValueType::F64;

    #[inline]
    fn metric_value(&self) -> Option<Number> {
        Some(Number::F64(f64::from(*self)))
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        // Printed as f32 (shortest round-trip of the f32), as serde_json does.
        if self.is_finite() {
            format.write_f32(writer, *self)
        } else {
            format.write_null(writer)
        }
    }
}

impl MetricValue for bool {
    const VALUE_TYPE: ValueType = ValueType::U64;

    #[inline]
    fn metric_value(&self) -> Option<Number> {
        Some(Number::U64(u64::from(*self)))
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.write_bool(writer, *self)
    }
}

impl MetricValue for Duration {
    const VALUE_TYPE: ValueType = ValueType::F64;

    #[inline]
    fn metric_value(&self) -> Option<Number> {
        Some(Number::F64(self.as_secs_f64()))
    }

    /// `{"secs":..,"nanos":..}`, serde's representation.
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.begin_object(writer)?;
        format.key(writer, true, "\"secs\"")?;
        format.write_u64(writer, self.as_secs())?;
        format.end_object_value(writer)?;
        format.key(writer, false, "\"nanos\"")?;
        format.write_u32(writer, self.subsec_nanos())?;
        format.end_object_value(writer)?;
        format.end_object(writer)
    }
}

/// Implements `MetricValue` for a std atomic by loading it (`Relaxed`, as serde does) and
/// delegating to the plain integer.
macro_rules! atomic {
    ($($atomic:ident => $plain:ty;)*) => {$(
        impl MetricValue for atomic::$atomic {
            const VALUE_TYPE: ValueType = <$plain as MetricValue>::VALUE_TYPE;

            #[inline]
            fn metric_value(&self) -> Option<Number> {
                self.load(Ordering::Relaxed).metric_value()
            }

            #[inline]
            fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
            where
                W: ?Sized + io::Write,
                F: JsonFormat,
            {
                self.load(Ordering::Relaxed).write_json(writer, format)
            }
        }
    )*};
}

atomic! {
    AtomicBool => bool;
    AtomicU8 => u8;
    AtomicU16 => u16;
    AtomicU32 => u32;
    AtomicU64 => u64;
    AtomicUsize => usize;
    AtomicI8 => i8;
    AtomicI16 => i16;
    AtomicI32 => i32;
    AtomicI64 => i64;
    AtomicIsize => isize;
}
