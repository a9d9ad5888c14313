//! How each kind of field contributes to a group: its schema shape, its points and its JSON.
//!
//! Generated code reaches these through `__private`; users extend the set of field types
//! with [`MetricValue`], never by implementing [`Field`].

use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io;

use crate::json::JsonFormat;
use crate::schema::{GroupSchema, ValueType};
use crate::{MetricValue, Visitor};

/// What a field type is, as far as the schema is concerned.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// One metric with one point: a plain or optional value.
    Value(ValueType),
    /// One metric with a point per entry, labeled with its key: a map.
    Map(ValueType),
    /// A nested group.
    Group(&'static GroupSchema),
}

/// What the derive's `const` checks ask of a field's shape, to reject attributes its type
/// cannot take with a message naming the field.
impl Shape {
    /// How many metrics a field of this shape stands for.
    pub const fn metric_count(self) -> usize {
        match self {
            Shape::Value(_) | Shape::Map(_) => 1,
            Shape::Group(schema) => schema.metric_count,
        }
    }

    /// A nested group: it takes no kind, unit or description of its own.
    pub const fn is_group(self) -> bool {
        matches!(self, Shape::Group(_))
    }

    /// A map: the only shape that takes (and needs) a `label`.
    pub const fn is_map(self) -> bool {
        matches!(self, Shape::Map(_))
    }

    /// Signed points, which a `counter` cannot hold.
    pub const fn is_signed(self) -> bool {
        matches!(
            self,
            Shape::Value(ValueType::I64) | Shape::Map(ValueType::I64)
        )
    }
}

/// A type that can be a field of a `#[derive(MetricsGroup)]` struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a metric field",
    label = "unsupported metric field type",
    note = "metric fields are integers, floats, `bool`, `Duration`, std atomics, `Option<T>`, `HashMap`/`BTreeMap` from a string key to a value (with `label = \"...\"`), and `#[derive(MetricsGroup)]` types",
    note = "implement `metrics_core::MetricValue` for your own value types, or mark the field `#[metric(skip)]`"
)]
pub trait Field {
    /// The field's place in the schema.
    const SHAPE: Shape;

    /// Hands the field's points to the visitor, then advances past its metrics.
    fn visit(&self, visitor: &mut dyn Visitor);

    /// [`visit`](Field::visit), never inlined: what a large struct's derived `visit` calls
    /// (see [`write_member`](Field::write_member)).
    #[doc(hidden)]
    #[inline(never)]
    fn visit_member(&self, visitor: &mut dyn Visitor) {
        self.visit(visitor);
    }

    /// Writes the field's JSON value.
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;

    /// Writes the field as a member of its struct's object: separator and key (see
    /// [`JsonFormat::member`]), value. Never inlined: a large struct's derived `write_json`
    /// is one call of this per member, an instance per field type, where a small struct's
    /// inlines each member's code.
    #[doc(hidden)]
    #[inline(never)]
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.member(writer, first, quoted_key, compact)?;
        self.write_json(writer, format)?;
        format.end_object_value(writer)
    }
}

impl<T: MetricValue> Field for T {
    const SHAPE: Shape = Shape::Value(T::VALUE_TYPE);

    #[inline]
    fn visit(&self, visitor: &mut dyn Visitor) {
        if let Some(value) = self.metric_value() {
            visitor.point(None, value);
        }
        visitor.advance(1);
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        MetricValue::write_json(self, writer, format)
    }
}

/// `None` records no point (and, for a group, none of its metrics) and is `null` in JSON.
impl<T: Field> Field for Option<T> {
    const SHAPE: Shape = T::SHAPE;

    #[inline]
    fn visit(&self, visitor: &mut dyn Visitor) {
        match self {
            Some(inner) => inner.visit(visitor),
            None => visitor.advance(T::SHAPE.metric_count()),
        }
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        match self {
            Some(inner) => inner.write_json(writer, format),
            None => format.write_null(writer),
        }
    }
}

/// One point per entry, labeled with the key; JSON entries in sorted key order.
impl<K, V, S> Field for HashMap<K, V, S>
where
    K: Borrow<str>,
    V: MetricValue,
{
    const SHAPE: Shape = Shape::Map(V::VALUE_TYPE);

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        with_sorted(self.iter().map(|(k, v)| (k.borrow(), v)), |entries| {
            write_entries(entries.iter().map(|&(_, k, v)| (k, v)), writer, format)
        })
    }
}

/// One point per entry, labeled with the key; JSON entries in the map's order.
impl<K, V> Field for BTreeMap<K, V>
where
    K: Borrow<str>,
    V: MetricValue,
{
    const SHAPE: Shape = Shape::Map(V::VALUE_TYPE);

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        write_entries(self.iter().map(|(k, v)| (k.borrow(), v)), writer, format)
    }
}

fn visit_entries<'a, K, V>(entries: impl Iterator<Item = (&'a K, &'a V)>, visitor: &mut dyn Visitor)
where
    K: Borrow<str> + 'a,
    V: MetricValue + 'a,
{
    for (key, value) in entries {
        if let Some(value) = value.metric_value() {
            visitor.point(Some(key.borrow()), value);
        }
    }
    visitor.advance(1);
}

/// A map entry being sorted: its key's rank (see [`rank`]), key and value.
type Ranked<'a, V> = (u64, &'a str, &'a V);

thread_local! {
    /// The allocations `with_sorted` sorts in (the entries, and the radix sort's second
    /// buffer), kept between calls so that exporting a group with `HashMap` fields again
    /// allocates nothing. They grow to the largest map written on the thread (four words per
    /// entry each) and live as long as the thread.
    static SCRATCH: Cell<Scratch> = const { Cell::new((Vec::new(), Vec::new())) };
}

type Scratch = (Vec<Ranked<'static, ()>>, Vec<Ranked<'static, ()>>);

/// Calls `f` with `entries` sorted by key, in this thread's scratch buffers.
fn with_sorted<'a, V: 'a, R>(
    entries: impl Iterator<Item = (&'a str, &'a V)>,
    f: impl FnOnce(&[Ranked<'a, V>]) -> R,
) -> R {
    // Taken rather than borrowed: a nested call (or one during thread teardown) just works
    // in buffers of its own.
    let (sorted, spare) = SCRATCH.try_with(Cell::take).unwrap_or_default();
    let (mut sorted, mut spare): (Vec<Ranked<'a, V>>, _) = (recycle(sorted), recycle(spare));
    sorted.extend(entries.map(|(key, value)| (0, key, value)));
    // Labels often share a prefix (`worker-0001`, `worker-0002`): rank by the bytes after it.
    let shared = common_prefix(sorted.iter().map(|&(_, key, _)| key.as_bytes()));
    for (rank_of, key, _) in &mut sorted {
        *rank_of = rank(&key.as_bytes()[shared..]);
    }
    if sorted.len() <= RADIX_THRESHOLD {
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    } else {
        radix_sort(&mut sorted, &mut spare);
    }
    let result = f(&sorted);
    let _ = SCRATCH.try_with(|scratch| scratch.set((recycle(sorted), recycle(spare))));
    result
}

/// Below this many entries a comparison sort is cheaper than a radix sort's passes.
const RADIX_THRESHOLD: usize = 64;

/// Sorts by rank, then key, in time linear in the number of entries, so that the cost per
/// point of a map's JSON stays flat as it grows (a comparison sort's grows with log n):
/// a least-significant-byte-first radix sort on the ranks, skipping the bytes all ranks
/// share, then a comparison sort of each run of equal ranks (keys alike in the eight bytes
/// after their common prefix: rare).
fn radix_sort<'a, V>(entries: &mut Vec<Ranked<'a, V>>, spare: &mut Vec<Ranked<'a, V>>) {
    let len = entries.len();
    let mut counts = [[0usize; 256]; 8];
    for &(rank, _, _) in entries.iter() {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[usize::from((rank >> (8 * byte)) as u8)] += 1;
        }
    }
    spare.clear();
    spare.resize(len, entries[0]);
    for (byte, count) in counts.iter().enumerate() {
        if count.contains(&len) {
            continue; // every rank has the same byte here
        }
        let mut next = [0; 256];
        let mut total = 0;
        for (next, &count) in next.iter_mut().zip(count) {
            *next = total;
            total += count;
        }
        for &entry in entries.iter() {
            let slot = &mut next[usize::from((entry.0 >> (8 * byte)) as u8)];
            spare[*slot] = entry;
            *slot += 1;
        }
        std::mem::swap(entries, spare);
    }
    let mut start = 0;
    while start < len {
        let rank = entries[start].0;
        let run = entries[start..].iter().take_while(|e| e.0 == rank).count();
        if run > 1 {
            entries[start..start + run].sort_unstable_by(|a, b| a.1.cmp(b.1));
        }
        start += run;
    }
}

/// The length of the prefix all `keys` share.
fn common_prefix<'a>(mut keys: impl Iterator<Item = &'a [u8]>) -> usize {
    let Some(first) = keys.next() else {
        return 0;
    };
    let mut shared = first;
    for key in keys {
        if !key.starts_with(shared) {
            let len = shared.iter().zip(key).take_while(|(a, b)| a == b).count();
            shared = &shared[..len];
        }
    }
    shared.len()
}

/// The first eight bytes of `bytes`, zero-padded, as a big-endian number: keys of different
/// ranks are in the order of their ranks, and only keys of equal rank need comparing as
/// strings. Comparing two integers is several times cheaper than comparing two strings.
fn rank(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(word) => u64::from_be_bytes(*word),
        None => bytes
            .iter()
            .enumerate()
            .fold(0, |rank, (i, &byte)| rank | u64::from(byte) << (56 - 8 * i)),
    }
}

/// Empties `vec` and returns its allocation as a vector of another element type.
///
/// Without unsafe code: collecting a `vec::IntoIter` mapped to an element of the same size
/// and alignment (here references, whatever they point to) reuses the allocation.
/// std does not promise that in-place collection; `tests/allocations.rs` checks it happens.
fn recycle<T, U>(mut vec: Vec<T>) -> Vec<U> {
    vec.clear();
    vec.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Writes a JSON object the way serde_json serializes a map with string keys.
fn write_entries<'a, V, W, F>(
    entries: impl Iterator<Item = (&'a str, &'a V)>,
    writer: &mut W,
    format: &mut F,
) -> io::Result<()>
where
    V: MetricValue + 'a,
    W: ?Sized + io::Write,
    F: JsonFormat,
{
    format.begin_object(writer)?;
    for (i, (key, value)) in entries.enumerate() {
        format.entry_key(writer, i == 0, key)?;
        value.write_json(writer, format)?;
        format.end_object_value(writer)?;
    }
    format.end_object(writer)
}

/// What the type of a `#[metric(skip)]` field needs: skipped fields are not metrics, but they
/// are still written to the JSON, through their `serde::Serialize`.
///
/// Implemented for every `serde::Serialize` type; the derive requires it, so that a field
/// that is not `Serialize` gets a message saying why it must be.
#[diagnostic::on_unimplemented(
    message = "`#[metric(skip)]` field of type `{Self}` must implement `serde::Serialize`: skipped fields are not metrics, but they are still written to the JSON",
    label = "not `serde::Serialize`",
    note = "derive or implement `serde::Serialize` for `{Self}`, or leave the field out of the struct"
)]
pub trait SkippedField {
    /// Writes the field as a member of its struct's object, as serde_json would.
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;
}

// `do_not_recommend` (Rust 1.85; ignored with a warning before) makes rustc report a missing
// `Serialize` as this trait's message, without listing every type that implements it.
#[allow(unknown_or_malformed_diagnostic_attributes)]
#[diagnostic::do_not_recommend]
impl<T: ?Sized + serde::Serialize> SkippedField for T {
    #[inline]
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.member(writer, first, quoted_key, compact)?;
        format.serialize(writer, self)?;
        format.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::with_sorted;

    /// Both sorts (below and above the radix threshold) give `BTreeMap`'s order, whatever
    /// prefixes, lengths and characters the keys have.
    #[test]
    fn sorted_like_a_btree_map() {
        let shapes: [fn(u64) -> String; 6] = [
            |i| format!("worker-{i:06}"),
            |i| format!("k{i}"),
            |i| format!("same-long-prefix-{}-{}", i % 7, i * 7919 % 1000),
            |i| "x".repeat((i % 20) as usize) + &(i / 20).to_string(),
            |i| format!("{}é日{}", i % 3, i.wrapping_mul(2_654_435_761) % 97),
            |i| {
                if i == 0 {
                    String::new()
                } else {
                    format!("{:x}", i * 104_729)
                }
            },
        ];
        for shape in shapes {
            for n in [0, 1, 2, 3, 10, 64, 65, 100, 1000, 5000] {
                let map: BTreeMap<String, u64> = (0..n).map(|i| (shape(i), i)).collect();
                // Out of order on the way in, as a HashMap would be.
                let mut shuffled: Vec<(&str, &u64)> = map.iter().map(|(k, v)| (&**k, v)).collect();
                shuffled.sort_by_key(|&(_, &v)| v.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let got: Vec<&str> = with_sorted(shuffled.into_iter(), |sorted| {
                    sorted.iter().map(|&(_, key, _)| key).collect()
                });
                let want: Vec<&str> = map.keys().map(String::as_str).collect();
                assert_eq!(got, want, "{n} keys like {:?}", shape(1));
            }
        }
    }
}
