//! Label sets: the attributes a map entry's point carries, from its key.
//!
//! A map field's key type gives each entry's attribute *values*; the attribute *keys* are
//! static, in the schema ([`MetricDescriptor::labels`](crate::schema::MetricDescriptor)),
//! named by `#[metric(label = "route")]`, `#[metric(label = ("route", "method"))]` for a
//! tuple, or by the key type itself when it derives [`LabelSet`](macro@crate::LabelSet).
//! Values are built on the stack for each point ([`LabelSet::label_values`]): no allocation.
//!
//! | key type | attributes | JSON (serde_json's) |
//! | --- | --- | --- |
//! | `String`, `&str`, `Box<str>`, `Arc<str>`, `Cow<str>` | one string | object, the key as is |
//! | `i8` ... `i64`, `isize`, `u8`, `u16`, `u32` | one integer (OTLP `intValue`) | object, the key quoted (`"404"`) |
//! | `bool` | one bool (OTLP `boolValue`) | object, `"true"` / `"false"` |
//! | unit-only enum with `#[derive(LabelValue)]` | one string, the variant in snake_case | object, the key as the enum's `Serialize` writes it |
//! | tuple of the above, up to 6 | one per element | only in a [`LabelMap`] |
//! | struct with `#[derive(LabelSet)]` | one per field, keyed by field name | only in a [`LabelMap`] |
//!
//! Integer values are OTLP integer attributes (`intValue`), so that a backend can compare
//! and sort them as numbers; Prometheus, whose label values are strings, writes their
//! decimal digits. `u64`, `usize` and the 128-bit integers are not label values: OTLP's
//! `intValue` is a signed 64-bit integer, and saturating would merge distinct keys.
//!
//! serde_json writes a map's keys as JSON object keys, which cannot be arrays or objects: a
//! `HashMap<(String, String), u64>` fails to serialize. Such keys live in a [`LabelMap`],
//! whose own `Serialize` writes a list of `[key, value]` pairs, which serde_json and
//! [`crate::json`] both follow; a `HashMap` or `BTreeMap` with such a key is a compile
//! error pointing there.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

pub(crate) mod json_key;
mod map;

pub use json_key::JsonKey;
pub use map::LabelMap;

/// One attribute value of a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelValue<'a> {
    /// A string (OTLP `stringValue`).
    Str(&'a str),
    /// A signed integer (OTLP `intValue`; Prometheus writes its digits).
    I64(i64),
    /// A bool (OTLP `boolValue`; Prometheus writes `true` or `false`).
    Bool(bool),
}

/// A type whose value is one attribute value: a string, an integer, a bool, or a unit-only
/// enum deriving [`LabelValue`](macro@crate::LabelValue).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a label value",
    label = "not a label value",
    note = "label values are strings, `bool`, integers up to 64 bits signed or 32 bits unsigned, and unit-only enums with `#[derive(metrics_core::LabelValue)]`"
)]
pub trait ToLabelValue {
    /// The attribute value.
    fn label_value(&self) -> LabelValue<'_>;
}

/// A map key type: the attribute values each entry's point carries.
///
/// Implemented for the [`ToLabelValue`] types (one attribute), tuples of them (one per
/// element) and structs deriving [`LabelSet`](macro@crate::LabelSet) (one per field, which
/// also name the keys).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a metric map key",
    label = "not a label set",
    note = "map keys are strings, `bool`, integers up to 64 bits signed or 32 bits unsigned, unit-only enums with `#[derive(metrics_core::LabelValue)]`, tuples of those (with `label = (\"a\", \"b\")`), and structs with `#[derive(metrics_core::LabelSet)]`"
)]
pub trait LabelSet {
    /// The attribute keys the type names itself (a `#[derive(LabelSet)]` struct's fields),
    /// in the order of its values; empty when the field's `label = ...` names them.
    const KEYS: &'static [&'static str];
    /// How many attribute values one key gives.
    const ARITY: usize;
    /// The values, on the stack: `[LabelValue; ARITY]`.
    type Values<'a>: AsRef<[LabelValue<'a>]>
    where
        Self: 'a;
    /// This key's attribute values, in the order of the keys.
    fn label_values(&self) -> Self::Values<'_>;
}

/// Implements [`ToLabelValue`] and a one-attribute [`LabelSet`] for each type.
macro_rules! single {
    ($($ty:ty => |$v:ident| $value:expr;)*) => {$(
        impl ToLabelValue for $ty {
            #[inline]
            fn label_value(&self) -> LabelValue<'_> {
                let $v = self;
                $value
            }
        }

        impl LabelSet for $ty {
            const KEYS: &'static [&'static str] = &[];
            const ARITY: usize = 1;
            type Values<'a> = [LabelValue<'a>; 1] where Self: 'a;

            #[inline]
            fn label_values(&self) -> [LabelValue<'_>; 1] {
                [self.label_value()]
            }
        }
    )*};
}

single! {
    str => |v| LabelValue::Str(v);
    String => |v| LabelValue::Str(v);
    Box<str> => |v| LabelValue::Str(v);
    Arc<str> => |v| LabelValue::Str(v);
    Rc<str> => |v| LabelValue::Str(v);
    Cow<'_, str> => |v| LabelValue::Str(v);
    bool => |v| LabelValue::Bool(*v);
    i8 => |v| LabelValue::I64(i64::from(*v));
    i16 => |v| LabelValue::I64(i64::from(*v));
    i32 => |v| LabelValue::I64(i64::from(*v));
    i64 => |v| LabelValue::I64(*v);
    isize => |v| LabelValue::I64(*v as i64);
    u8 => |v| LabelValue::I64(i64::from(*v));
    u16 => |v| LabelValue::I64(i64::from(*v));
    u32 => |v| LabelValue::I64(i64::from(*v));
}

impl<T: ?Sized + ToLabelValue> ToLabelValue for &T {
    #[inline]
    fn label_value(&self) -> LabelValue<'_> {
        (**self).label_value()
    }
}

impl<T: ?Sized + LabelSet> LabelSet for &T {
    const KEYS: &'static [&'static str] = T::KEYS;
    const ARITY: usize = T::ARITY;
    type Values<'a>
        = T::Values<'a>
    where
        Self: 'a;

    #[inline]
    fn label_values(&self) -> Self::Values<'_> {
        (**self).label_values()
    }
}

/// Implements [`LabelSet`] for tuples of [`ToLabelValue`] types.
macro_rules! tuple {
    ($($n:literal => ($($t:ident . $i:tt),*);)*) => {$(
        impl<$($t: ToLabelValue),*> LabelSet for ($($t,)*) {
            const KEYS: &'static [&'static str] = &[];
            const ARITY: usize = $n;
            type Values<'a> = [LabelValue<'a>; $n] where Self: 'a;

            #[inline]
            fn label_values(&self) -> [LabelValue<'_>; $n] {
                [$(self.$i.label_value()),*]
            }
        }
    )*};
}

tuple! {
    1 => (A.0);
    2 => (A.0, B.1);
    3 => (A.0, B.1, C.2);
    4 => (A.0, B.1, C.2, D.3);
    5 => (A.0, B.1, C.2, D.3, E.4);
    6 => (A.0, B.1, C.2, D.3, E.4, F.5);
}
