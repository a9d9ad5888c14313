//! serde_json's compact and pretty formats, as the derived writers drive them.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

/// The serde_json formatter state the derived writer threads through a document.
///
/// Implemented by the compact and the pretty format only; it is public so that a custom
/// [`MetricValue`](crate::MetricValue) can write itself, usually with
/// [`serialize`](JsonFormat::serialize).
pub trait JsonFormat: Formatter {
    /// Writes an object key given already quoted and escaped, with its separators.
    fn key<W>(&mut self, writer: &mut W, first: bool, quoted_key: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.begin_object_key(writer, first)?;
        writer.write_all(quoted_key.as_bytes())?;
        self.end_object_key(writer)?;
        self.begin_object_value(writer)
    }

    /// Writes everything before a struct member's value, the object's opening brace too when
    /// `first`. `compact` is all of that in the compact format, precomputed by the derive
    /// (`{"key":` or `,"key":`), so that it is one write; other formats use `quoted_key`.
    #[doc(hidden)]
    #[inline]
    fn member<W>(
        &mut self,
        writer: &mut W,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let _ = compact;
        if first {
            self.begin_object(writer)?;
        }
        self.key(writer, first, quoted_key)
    }

    /// Writes everything before a map entry's value: separator, escaped key and colon.
    #[doc(hidden)]
    #[inline]
    fn entry_key<W>(&mut self, writer: &mut W, first: bool, key: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.begin_object_key(writer, first)?;
        write_str(writer, self, key)?;
        self.end_object_key(writer)?;
        self.begin_object_value(writer)
    }

    /// Writes `value` through its `serde::Serialize` impl at the current position.
    fn serialize<W, T>(&mut self, writer: &mut W, value: &T) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        T: ?Sized + Serialize;
}

/// serde_json's compact format.
#[derive(Clone, Copy, Debug, Default)]
pub struct Compact;

impl Formatter for Compact {}

impl JsonFormat for Compact {
    fn key<W>(&mut self, writer: &mut W, first: bool, quoted_key: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        if !first {
            writer.write_all(b",")?;
        }
        writer.write_all(quoted_key.as_bytes())?;
        writer.write_all(b":")
    }

    #[inline(always)]
    fn member<W>(&mut self, writer: &mut W, _: bool, _: &str, compact: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        writer.write_all(compact.as_bytes())
    }

    #[inline]
    fn entry_key<W>(&mut self, writer: &mut W, first: bool, key: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        if needs_escape(key) {
            writer.write_all(if first { b"" } else { b"," })?;
            write_str(writer, self, key)?;
            return writer.write_all(b":");
        }
        // Labels rarely need escaping: three writes instead of five.
        writer.write_all(if first { b"\"" } else { b",\"" })?;
        writer.write_all(key.as_bytes())?;
        writer.write_all(b"\":")
    }

    fn serialize<W, T>(&mut self, writer: &mut W, value: &T) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        T: ?Sized + Serialize,
    {
        let mut serializer = serde_json::Serializer::with_formatter(writer, CompactFormatter);
        value.serialize(&mut serializer).map_err(io::Error::from)
    }
}

/// serde_json's pretty format (two-space indent), with its depth visible so that a value
/// serialized mid-document by serde is indented where it stands.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn newline_indent<W>(&self, writer: &mut W, separator: &[u8]) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        const SPACES: &[u8] = &[b' '; 64];
        writer.write_all(separator)?;
        let mut width = self.depth * 2;
        while width > 0 {
            let run = width.min(SPACES.len());
            writer.write_all(&SPACES[..run])?;
            width -= run;
        }
        Ok(())
    }

    fn open<W>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.depth -= 1;
        if self.has_value {
            self.newline_indent(writer, b"\n")?;
        }
        writer.write_all(bracket)
    }
}

impl Formatter for Pretty {
    fn begin_array<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.open(writer, b"[")
    }

    fn end_array<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.close(writer, b"]")
    }

    fn begin_array_value<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.newline_indent(writer, if first { b"\n" } else { b",\n" })
    }

    fn end_array_value<W>(&mut self, _writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.open(writer, b"{")
    }

    fn end_object<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.close(writer, b"}")
    }

    fn begin_object_key<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.newline_indent(writer, if first { b"\n" } else { b",\n" })
    }

    fn begin_object_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        writer.write_all(b": ")
    }

    fn end_object_value<W>(&mut self, _writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.has_value = true;
        Ok(())
    }
}

impl JsonFormat for Pretty {
    fn serialize<W, T>(&mut self, writer: &mut W, value: &T) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        T: ?Sized + Serialize,
    {
        let here = Pretty {
            depth: self.depth,
            has_value: false,
        };
        let mut serializer = serde_json::Serializer::with_formatter(writer, here);
        value.serialize(&mut serializer).map_err(io::Error::from)
    }
}

/// Writes `value` as a JSON string, escaped exactly as serde_json escapes it.
pub(crate) fn write_str<W, F>(writer: &mut W, format: &mut F, value: &str) -> io::Result<()>
where
    W: ?Sized + io::Write,
    F: ?Sized + Formatter,
{
    use serde_json::ser::CharEscape;

    format.begin_string(writer)?;
    if !needs_escape(value) {
        format.write_string_fragment(writer, value)?;
        return format.end_string(writer);
    }
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = match byte {
            b'"' => CharEscape::Quote,
            b'\\' => CharEscape::ReverseSolidus,
            b'\n' => CharEscape::LineFeed,
            b'\r' => CharEscape::CarriageReturn,
            b'\t' => CharEscape::Tab,
            0x08 => CharEscape::Backspace,
            0x0c => CharEscape::FormFeed,
            0x00..=0x1f => CharEscape::AsciiControl(byte),
            _ => continue,
        };
        if start < i {
            format.write_string_fragment(writer, &value[start..i])?;
        }
        format.write_char_escape(writer, escape)?;
        start = i + 1;
    }
    if start < bytes.len() {
        format.write_string_fragment(writer, &value[start..])?;
    }
    format.end_string(writer)
}

/// Whether serde_json would escape any character of `value`: a control character, `"` or `\`.
///
/// Eight bytes at a time (labels are mostly longer than that), with the word tricks of
/// "Bit Twiddling Hacks": a byte below `n` sets its high bit in `(w - n * ONES) & !w`, and
/// a byte equal to `c` is a zero byte of `w ^ c * ONES`.
#[inline]
pub(crate) fn needs_escape(value: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    fn any_escaped(chunk: [u8; 8]) -> bool {
        let w = u64::from_ne_bytes(chunk);
        let below = |w: u64, n: u8| w.wrapping_sub(u64::from(n) * ONES) & !w & HIGH != 0;
        // `|`, not `||`: the three tests cost less than the branches between them.
        below(w, 0x20)
            | below(w ^ (u64::from(b'"') * ONES), 1)
            | below(w ^ (u64::from(b'\\') * ONES), 1)
    }
    let bytes = value.as_bytes();
    let word = |at: usize| any_escaped(bytes[at..at + 8].try_into().unwrap_or_default());
    match bytes.len() {
        0..8 => bytes
            .iter()
            .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\'),
        // Whole words, the last one overlapping the one before it.
        len => (0..len - 8).step_by(8).any(word) || word(len - 8),
    }
}

#[cfg(test)]
mod tests {
    use super::needs_escape;

    #[test]
    fn needs_escape_finds_every_escaped_byte_at_every_position() {
        for len in 1..=24 {
            for at in 0..len {
                for byte in 0..0x80u8 {
                    let mut text = "a".repeat(len);
                    text.replace_range(at..=at, char::from(byte).encode_utf8(&mut [0; 4]));
                    let escaped = byte < 0x20 || byte == b'"' || byte == b'\\';
                    assert_eq!(needs_escape(&text), escaped, "{text:?}");
                }
            }
        }
        // Multi-byte characters have every byte at 0x80 or above: never escaped.
        for text in [
            "",
            "é",
            "日本語のラベル",
            "\u{7f}~ abcdefgh\u{10ffff}",
            "ÿÿÿÿÿÿÿÿÿ",
        ] {
            assert!(!needs_escape(text), "{text:?}");
        }
    }
}
