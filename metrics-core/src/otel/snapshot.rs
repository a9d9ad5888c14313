//! One snapshot of a group shared by all of its instruments' callbacks.
//!
//! OpenTelemetry 0.33 has no multi-instrument callback (no `Meter::register_callback`):
//! each observable instrument runs its own callback at every collection. To take one snapshot
//! per collection rather than one per instrument, the callbacks share a [`SharedSnapshot`] and
//! detect a new collection by generation: each instrument remembers the generation it last
//! read; when an instrument finds that it has already read the current snapshot, a new
//! collection has begun and it takes a fresh one. This holds whatever order the SDK runs the
//! callbacks in, and needs nothing from the SDK but "each instrument's callback runs once per
//! collection". With several readers on one provider, each reader's collection takes its own
//! snapshot; two collections interleaving on different threads (readers collecting at the same
//! instant) may take an extra snapshot or report points of two consecutive snapshots.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, PoisonError};

use opentelemetry::KeyValue;

use crate::labels::LabelValue;
use crate::schema::GroupSchema;
use crate::{Number, PointValue, Visitor};

/// Visits a fresh snapshot of the group: the user's source and the group's `visit`.
pub(super) type Visit = Box<dyn FnMut(&mut dyn Visitor) + Send>;

/// The points of one metric: the attribute set (empty, or the map key's) and the value.
pub(super) type Points = Vec<(Vec<KeyValue>, Number)>;

/// The latest snapshot and who has read it, behind one lock.
pub(super) struct SharedSnapshot {
    state: Mutex<State>,
}

struct State {
    visit: Visit,
    schema: &'static GroupSchema,
    /// The attribute keys of each metric, in schema order (empty for a plain metric).
    labels: Vec<&'static [&'static str]>,
    /// The points of each metric, in schema order.
    points: Vec<Points>,
    /// How many snapshots have been taken; 0 before the first.
    generation: u64,
    /// Per instrument (index = metric index), the generation it last read.
    read_at: Vec<u64>,
}

impl SharedSnapshot {
    pub(super) fn new(schema: &'static GroupSchema, visit: Visit) -> Self {
        let labels: Vec<_> = schema.metrics().map(|m| m.descriptor.labels).collect();
        let count = labels.len();
        SharedSnapshot {
            state: Mutex::new(State {
                visit,
                schema,
                labels,
                points: vec![Vec::new(); count],
                generation: 0,
                read_at: vec![0; count],
            }),
        }
    }

    /// Calls `each` with every point of metric `index`, from the snapshot of the current
    /// collection (taken now if this is the collection's first read).
    pub(super) fn read(&self, index: usize, mut each: impl FnMut(Number, &[KeyValue])) {
        // A panicking source is caught below, so the lock is never poisoned by it.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.read_at[index] == state.generation {
            state.refresh();
        }
        let generation = state.generation;
        state.read_at[index] = generation;
        for (attributes, value) in &state.points[index] {
            each(*value, attributes);
        }
    }
}

impl State {
    /// Takes a fresh snapshot. A panicking source yields an empty snapshot (nothing is
    /// observed in this collection) rather than killing the SDK's collection thread.
    fn refresh(&mut self) {
        self.generation += 1;
        for points in &mut self.points {
            points.clear();
        }
        let State {
            visit,
            labels,
            points,
            ..
        } = self;
        let mut collector = Collector {
            labels,
            points,
            cursor: 0,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| visit(&mut collector)));
        if outcome.is_err() {
            for points in &mut self.points {
                points.clear();
            }
            tracing::error!(
                group = self.schema.type_name,
                "the metrics snapshot source panicked; nothing is observed in this collection"
            );
        }
    }
}

/// A visitor that files each point under its metric's index.
struct Collector<'a> {
    labels: &'a [&'static [&'static str]],
    points: &'a mut [Points],
    cursor: usize,
}

impl Visitor for Collector<'_> {
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        let Some(points) = self.points.get_mut(self.cursor) else {
            return;
        };
        // The API's observable instruments take numbers only (see `register::Unbridged`).
        let PointValue::Number(value) = value else {
            return;
        };
        let attributes = self.labels[self.cursor]
            .iter()
            .zip(labels)
            .map(|(&key, label)| match *label {
                LabelValue::Str(text) => KeyValue::new(key, text.to_owned()),
                LabelValue::I64(v) => KeyValue::new(key, v),
                LabelValue::Bool(v) => KeyValue::new(key, v),
            })
            .collect();
        points.push((attributes, value));
    }

    fn overflow_point(&mut self, value: PointValue<'_>) {
        let (Some(points), PointValue::Number(value)) = (self.points.get_mut(self.cursor), value)
        else {
            return;
        };
        points.push((
            vec![KeyValue::new(crate::family::OVERFLOW_ATTRIBUTE, true)],
            value,
        ));
    }

    fn advance(&mut self, metrics: usize) {
        self.cursor += metrics;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::schema::{build, MetricDescriptor, MetricKind, SchemaField, ValueType};

    const fn gauge(name: &'static str) -> SchemaField {
        SchemaField::Metric(MetricDescriptor {
            name,
            kind: MetricKind::Gauge,
            unit: "",
            description: "",
            labels: &[],
            value_type: ValueType::U64,
            buckets: &[],
        })
    }

    static SCHEMA: GroupSchema = build::group("Three", &[gauge("a"), gauge("b"), gauge("c")]);

    /// A snapshot source whose every metric reports the number of the call.
    fn counting() -> (SharedSnapshot, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&calls);
        let visit: Visit = Box::new(move |visitor| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            for _ in 0..3 {
                visitor.point(&[], PointValue::Number(Number::U64(n)));
                visitor.advance(1);
            }
        });
        (SharedSnapshot::new(&SCHEMA, visit), calls)
    }

    fn value(snapshot: &SharedSnapshot, index: usize) -> u64 {
        let mut values = Vec::new();
        snapshot.read(index, |value, _| values.push(value));
        match values.as_slice() {
            [Number::U64(v)] => *v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_snapshot_per_collection_whatever_the_callback_order() {
        let (snapshot, calls) = counting();
        let orders = [[0, 1, 2], [2, 0, 1], [1, 2, 0], [1, 0, 2]];
        for (cycle, order) in orders.iter().enumerate() {
            for &index in order {
                assert_eq!(value(&snapshot, index), cycle as u64 + 1, "cycle {cycle}");
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_panicking_source_observes_nothing_once_and_recovers() {
        let calls = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&calls);
        let visit: Visit = Box::new(move |visitor| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            visitor.point(&[], PointValue::Number(Number::U64(n)));
            assert!(n != 1, "the first snapshot fails half-way");
            visitor.advance(1);
        });
        let snapshot = SharedSnapshot::new(&SCHEMA, visit);
        let mut seen = 0;
        snapshot.read(0, |_, _| seen += 1);
        assert_eq!(seen, 0, "nothing from a snapshot that panicked half-way");
        snapshot.read(0, |_, _| seen += 1);
        assert_eq!(seen, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn every_attribute_of_a_label_set_becomes_a_key_value() {
        let labels: [&'static [&'static str]; 1] = [&["route", "status", "cached"]];
        let mut points = vec![Vec::new()];
        let mut collector = Collector {
            labels: &labels,
            points: &mut points,
            cursor: 0,
        };
        let values = [
            LabelValue::Str("/users"),
            LabelValue::I64(503),
            LabelValue::Bool(true),
        ];
        collector.point(&values, PointValue::Number(Number::U64(7)));
        assert_eq!(
            points[0],
            [(
                vec![
                    KeyValue::new("route", "/users"),
                    KeyValue::new("status", 503),
                    KeyValue::new("cached", true),
                ],
                Number::U64(7)
            )]
        );
    }

    #[test]
    fn an_overflow_point_carries_the_overflow_attribute_alone() {
        let visit: Visit = Box::new(|visitor| {
            visitor.overflow_point(PointValue::Number(Number::U64(7)));
            visitor.advance(3);
        });
        let snapshot = SharedSnapshot::new(&SCHEMA, visit);
        let mut points = Vec::new();
        snapshot.read(0, |value, attributes| {
            points.push((value, attributes.to_vec()))
        });
        assert_eq!(
            points,
            [(
                Number::U64(7),
                vec![KeyValue::new(crate::family::OVERFLOW_ATTRIBUTE, true)]
            )]
        );
    }
}
