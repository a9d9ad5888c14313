//! Protobuf wire format: the few primitives the OTLP encoder needs.
//!
//! A nested message is length-delimited, and its length comes before it. [`begin`] reserves
//! room for the length and [`end`] writes it once the body is known, moving the body when the
//! guess was wrong: one pass over the values, no sizing pass, and the varints stay minimal.
//! A [`LengthHint`] remembers what a message's length took last time, so that a request of
//! the same shape as the last one moves nothing.

use std::sync::atomic::{AtomicU8, Ordering};

/// The key of a length-delimited field (wire type 2).
pub(super) const fn len_key(field: u8) -> u8 {
    field << 3 | 2
}

/// The key of a 64-bit field (wire type 1: `fixed64`, `sfixed64`, `double`).
pub(super) const fn i64_key(field: u8) -> u8 {
    field << 3 | 1
}

/// The key of a varint field (wire type 0: enums, `bool`).
pub(super) const fn varint_key(field: u8) -> u8 {
    field << 3
}

/// The bytes `value` takes as a varint.
#[inline]
pub(super) const fn varint_len(value: u64) -> usize {
    // Most lengths in a request take one byte: said at once, without the division.
    if value < 0x80 {
        return 1;
    }
    // Seven bits a byte.
    (64 - value.leading_zeros() as usize).div_ceil(7)
}

/// Appends `value` as a varint.
#[inline]
pub(super) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a length-delimited field holding `bytes` (a string or an encoded message).
#[inline]
pub(super) fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(len_key(field));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A nested message being written: where its length goes, and how many bytes were reserved.
#[must_use = "a nested message must be closed with `end`"]
pub(super) struct Nested {
    at: usize,
    reserved: usize,
}

/// Opens the message field `field`, reserving `reserved` bytes (at least 1) for its length:
/// a good guess saves moving the body in [`end`].
#[inline]
pub(super) fn begin(out: &mut Vec<u8>, field: u8, reserved: usize) -> Nested {
    out.push(len_key(field));
    let at = out.len();
    out.resize(at + reserved, 0);
    Nested { at, reserved }
}

/// Closes a message opened by [`begin`]: writes its length as a minimal varint, moving the
/// body if that takes more or fewer bytes than were reserved. Returns the bytes it took.
#[inline]
pub(super) fn end(out: &mut Vec<u8>, nested: Nested) -> usize {
    let Nested { at, reserved } = nested;
    let body = at + reserved;
    let len = out.len() - body;
    let needed = varint_len(len as u64);
    if needed > reserved {
        let old_end = out.len();
        out.resize(old_end + needed - reserved, 0);
        out.copy_within(body..old_end, at + needed);
    } else if needed < reserved {
        out.copy_within(body.., at + needed);
        out.truncate(at + needed + len);
    }
    let mut value = len as u64;
    for byte in &mut out[at..at + needed] {
        *byte = value as u8 & 0x7f | if value >= 0x80 { 0x80 } else { 0 };
        value >>= 7;
    }
    needed
}

/// The bytes one message's length took at the last encode, to reserve at the next.
///
/// Shared by threads encoding the same group type: a stale or raced value only costs a move.
#[derive(Debug)]
pub(super) struct LengthHint(AtomicU8);

impl LengthHint {
    pub(super) const fn new(bytes: u8) -> Self {
        LengthHint(AtomicU8::new(bytes))
    }

    #[inline]
    pub(super) fn get(&self) -> usize {
        usize::from(self.0.load(Ordering::Relaxed)).max(1)
    }

    #[inline]
    pub(super) fn set(&self, bytes: usize) {
        // A varint of a length takes at most 10 bytes.
        self.0.store(bytes as u8, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_len_matches_the_written_varint() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
        }
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]); // the protobuf documentation's example
    }

    /// Every body length around the varint boundaries, with every reservation: the result is
    /// the key, the minimal varint and the body, as written directly.
    #[test]
    fn end_writes_a_minimal_length_whatever_was_reserved() {
        for len in [0, 1, 127, 128, 129, 16_383, 16_384, 20_000] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut expected = vec![9];
            bytes_field(&mut expected, 2, &body);
            for reserved in 1..=4 {
                let mut out = vec![9];
                let nested = begin(&mut out, 2, reserved);
                out.extend_from_slice(&body);
                assert_eq!(end(&mut out, nested), varint_len(len as u64));
                assert_eq!(out, expected, "len {len}, reserved {reserved}");
            }
        }
    }
}
