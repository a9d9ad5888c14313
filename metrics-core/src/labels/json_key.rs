//! [`JsonKey`]: the map keys serde_json can write as JSON object keys, written as it does.

use std::borrow::Cow;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

use serde::Serialize;

use crate::json::JsonFormat;

/// A map key serde_json writes as a JSON object key: a string, an integer or a bool (quoted),
/// or a unit enum variant (its name as the enum's `Serialize` gives it).
///
/// Tuples and structs are not: serde_json fails on them ("key must be a string"), so a map
/// keyed by them is a [`LabelMap`](crate::LabelMap), whose JSON is a list of pairs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the key of a `HashMap` or `BTreeMap` metric: serde_json cannot write it as a JSON object key",
    label = "not a JSON object key",
    note = "serde_json fails on a map whose keys are tuples or structs (\"key must be a string\"); use `metrics_core::LabelMap<K, V>` for such keys: its JSON is a list of `[key, value]` pairs, the same from serde_json and `metrics_core::json`",
    note = "a `#[derive(LabelValue)]` enum must also implement `serde::Serialize` to key a `HashMap` or `BTreeMap`"
)]
pub trait JsonKey {
    /// Writes the key with its separators (the comma before it unless `first`, the colon
    /// after it), as serde_json writes a map key.
    fn write_key<W, F>(&self, writer: &mut W, format: &mut F, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;
}

macro_rules! string_key {
    ($($ty:ty),*) => {$(
        impl JsonKey for $ty {
            #[inline]
            fn write_key<W, F>(&self, writer: &mut W, format: &mut F, first: bool) -> io::Result<()>
            where
                W: ?Sized + io::Write,
                F: JsonFormat,
            {
                format.entry_key(writer, first, self)
            }
        }
    )*};
}

string_key!(str, &str, String, Box<str>, Arc<str>, Rc<str>, Cow<'_, str>);

/// serde_json quotes integer and bool keys: the formatter's own writer inside a string.
macro_rules! quoted_key {
    ($($ty:ty => $write:ident),*) => {$(
        impl JsonKey for $ty {
            #[inline]
            fn write_key<W, F>(&self, writer: &mut W, format: &mut F, first: bool) -> io::Result<()>
            where
                W: ?Sized + io::Write,
                F: JsonFormat,
            {
                format.begin_object_key(writer, first)?;
                format.begin_string(writer)?;
                format.$write(writer, *self)?;
                format.end_string(writer)?;
                format.end_object_key(writer)?;
                format.begin_object_value(writer)
            }
        }
    )*};
}

quoted_key!(
    bool => write_bool, i8 => write_i8, i16 => write_i16, i32 => write_i32, i64 => write_i64,
    u8 => write_u8, u16 => write_u16, u32 => write_u32
);

impl JsonKey for isize {
    #[inline]
    fn write_key<W, F>(&self, writer: &mut W, format: &mut F, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        // serde writes `isize` as `i64`.
        (*self as i64).write_key(writer, format, first)
    }
}

/// Marks a `#[derive(LabelValue)]` enum, whose JSON key is what its `serde::Serialize`
/// writes (its serde name, not necessarily the label value): only an enum that is also
/// `Serialize` can key a `HashMap` or `BTreeMap` metric.
#[doc(hidden)]
pub trait SerdeKey {}

impl<T: SerdeKey + Serialize> JsonKey for T {
    #[inline]
    fn write_key<W, F>(&self, writer: &mut W, format: &mut F, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        write_key_via_serde(self, writer, format, first)
    }
}

/// Writes `key` through its `Serialize` as serde_json writes a map key whose serialization is
/// a string (a unit enum variant); any other serialization fails with serde_json's message.
fn write_key_via_serde<K, W, F>(
    key: &K,
    writer: &mut W,
    format: &mut F,
    first: bool,
) -> io::Result<()>
where
    K: ?Sized + Serialize,
    W: ?Sized + io::Write,
    F: JsonFormat,
{
    format.begin_object_key(writer, first)?;
    let mut only_strings = OnlyStrings {
        inner: writer,
        started: false,
    };
    key.serialize(&mut serde_json::Serializer::new(&mut only_strings))
        .map_err(io::Error::from)?;
    format.end_object_key(writer)?;
    format.begin_object_value(writer)
}

/// Passes a JSON value through if it is a string; anything else is serde_json's error.
struct OnlyStrings<'a, W: ?Sized> {
    inner: &'a mut W,
    started: bool,
}

impl<W: ?Sized + io::Write> io::Write for OnlyStrings<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.started && !buf.is_empty() {
            if buf[0] != b'"' {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "key must be a string",
                ));
            }
            self.started = true;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
