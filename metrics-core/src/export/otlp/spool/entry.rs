//! One spooled export as a file: a short text header (the encoding, the body's length and
//! checksum), a blank line, then the encoded request exactly as it would have been sent. The
//! length and checksum tell a whole entry from one cut short or damaged.

/// The encoding of a spooled request, which decides the transports that can send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpEncoding {
    /// Protobuf: sent over gRPC or HTTP/protobuf.
    Protobuf,
    /// OTLP/JSON: sent over HTTP/JSON.
    Json,
}

impl OtlpEncoding {
    /// The HTTP content type of a request in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            OtlpEncoding::Protobuf => "application/x-protobuf",
            OtlpEncoding::Json => "application/json",
        }
    }

    fn from_content_type(value: &str) -> Option<Self> {
        [OtlpEncoding::Protobuf, OtlpEncoding::Json]
            .into_iter()
            .find(|e| e.content_type() == value)
    }
}

/// The first line of every entry: a version, so a later format is never misread.
const MAGIC: &str = "metrics-core OTLP spool 1";

/// The file's contents for `body`.
pub(super) fn encode(encoding: OtlpEncoding, body: &[u8]) -> Vec<u8> {
    let header = format!(
        "{MAGIC}\ncontent-type: {}\nlength: {}\nfnv1a64: {:016x}\n\n",
        encoding.content_type(),
        body.len(),
        fnv1a64(body)
    );
    let mut file = Vec::with_capacity(header.len() + body.len());
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(body);
    file
}

/// The request a file holds, or why it holds none.
pub(super) fn decode(mut file: Vec<u8>) -> Result<(OtlpEncoding, Vec<u8>), &'static str> {
    let end = file
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("no header")?;
    let header = std::str::from_utf8(&file[..end]).map_err(|_| "a header that is not text")?;
    let mut lines = header.lines();
    if lines.next() != Some(MAGIC) {
        return Err("not a spool entry of this version");
    }
    let (mut encoding, mut length, mut checksum) = (None, None, None);
    for line in lines {
        match line.split_once(": ") {
            Some(("content-type", value)) => encoding = OtlpEncoding::from_content_type(value),
            Some(("length", value)) => length = value.parse::<usize>().ok(),
            Some(("fnv1a64", value)) => checksum = u64::from_str_radix(value, 16).ok(),
            _ => {}
        }
    }
    let encoding = encoding.ok_or("no known content type")?;
    let body = file.split_off(end + 2);
    if Some(body.len()) != length {
        return Err("cut short (its length differs from its header's)");
    }
    if Some(fnv1a64(&body)) != checksum {
        return Err("damaged (its checksum differs from its header's)");
    }
    Ok((encoding, body))
}

/// FNV-1a, 64 bits: enough to notice a damaged file, and a few lines without a dependency.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damaged_or_short_files() {
        let body = b"\x0a\x02\n\nbody with blank lines".to_vec();
        let file = encode(OtlpEncoding::Json, &body);
        assert_eq!(decode(file.clone()), Ok((OtlpEncoding::Json, body)));
        assert!(decode(file[..file.len() - 1].to_vec()).is_err());
        let mut damaged = file.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(decode(damaged).is_err());
        assert!(decode(b"other\n\nx".to_vec()).is_err());
        assert!(decode(Vec::new()).is_err());
    }
}
