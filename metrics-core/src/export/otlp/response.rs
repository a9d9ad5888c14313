//! What a collector sends back, read without a protobuf runtime: the few fields the exporter
//! acts on (`partial_success`, a `google.rpc.Status` message, `RetryInfo`). Anything that does
//! not parse is ignored: the status line or gRPC code already said what matters.

/// `ExportMetricsServiceResponse.partial_success`, when points were rejected.
#[derive(Debug, PartialEq)]
pub(super) struct Rejected {
    pub(super) points: i64,
    pub(super) message: String,
}

/// The fields of one protobuf message, as (field number, value).
fn fields(mut bytes: &[u8]) -> impl Iterator<Item = (u64, Field<'_>)> {
    std::iter::from_fn(move || {
        let key = varint(&mut bytes)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut bytes)?),
            1 => Field::Fixed(take(&mut bytes, 8)?),
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                Field::Bytes(take(&mut bytes, len)?)
            }
            5 => Field::Fixed(take(&mut bytes, 4)?),
            _ => return None,
        };
        Some((key >> 3, field))
    })
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed(#[allow(dead_code)] &'a [u8]),
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn take<'a>(bytes: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    if bytes.len() < len {
        return None;
    }
    let (head, rest) = bytes.split_at(len);
    *bytes = rest;
    Some(head)
}

/// The rejected points of a protobuf `ExportMetricsServiceResponse`, if any.
pub(super) fn rejected_protobuf(body: &[u8]) -> Option<Rejected> {
    let partial = fields(body).find_map(|(number, field)| match (number, field) {
        (1, Field::Bytes(partial)) => Some(partial),
        _ => None,
    })?;
    let mut rejected = Rejected {
        points: 0,
        message: String::new(),
    };
    for (number, field) in fields(partial) {
        match (number, field) {
            (1, Field::Varint(points)) => rejected.points = points as i64,
            (2, Field::Bytes(message)) => {
                rejected.message = String::from_utf8_lossy(message).into_owned();
            }
            _ => {}
        }
    }
    (rejected.points > 0 || !rejected.message.is_empty()).then_some(rejected)
}

#[cfg(feature = "otlp-http")]
/// The rejected points of an OTLP/JSON `ExportMetricsServiceResponse`, if any.
pub(super) fn rejected_json(body: &[u8]) -> Option<Rejected> {
    let response: serde_json::Value = serde_json::from_slice(body).ok()?;
    let partial = response.get("partialSuccess")?;
    let points = match partial.get("rejectedDataPoints") {
        Some(serde_json::Value::String(s)) => s.parse().ok()?,
        Some(value) => value.as_i64()?,
        None => 0,
    };
    let message = partial
        .get("errorMessage")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    (points > 0 || !message.is_empty()).then_some(Rejected { points, message })
}

#[cfg(feature = "otlp-http")]
/// The `message` of a `google.rpc.Status`, protobuf or JSON, the body of an OTLP/HTTP error.
pub(super) fn status_message(body: &[u8], json: bool) -> Option<String> {
    if json {
        let status: serde_json::Value = serde_json::from_slice(body).ok()?;
        return status.get("message")?.as_str().map(str::to_owned);
    }
    fields(body).find_map(|(number, field)| match (number, field) {
        (2, Field::Bytes(message)) => std::str::from_utf8(message).ok().map(str::to_owned),
        _ => None,
    })
}

#[cfg(feature = "otlp-grpc")]
/// The delay of a `google.rpc.RetryInfo` among the details of a `google.rpc.Status`
/// (`grpc-status-details-bin`).
pub(super) fn retry_info(status: &[u8]) -> Option<std::time::Duration> {
    const RETRY_INFO: &[u8] = b"type.googleapis.com/google.rpc.RetryInfo";
    fields(status).find_map(|(number, field)| {
        let (3, Field::Bytes(any)) = (number, field) else {
            return None;
        };
        let mut type_url = None;
        let mut value = None;
        for (number, field) in fields(any) {
            match (number, field) {
                (1, Field::Bytes(bytes)) => type_url = Some(bytes),
                (2, Field::Bytes(bytes)) => value = Some(bytes),
                _ => {}
            }
        }
        if type_url? != RETRY_INFO {
            return None;
        }
        let delay = fields(value?).find_map(|(number, field)| match (number, field) {
            (1, Field::Bytes(delay)) => Some(delay),
            _ => None,
        })?;
        let (mut seconds, mut nanos) = (0u64, 0u64);
        for (number, field) in fields(delay) {
            match (number, field) {
                (1, Field::Varint(v)) => seconds = v,
                (2, Field::Varint(v)) => nanos = v,
                _ => {}
            }
        }
        Some(
            std::time::Duration::from_secs(seconds)
                + std::time::Duration::from_nanos(nanos.min(999_999_999)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "otlp-http")]
    #[test]
    fn reads_partial_success_from_literal_bytes() {
        // partial_success { rejected_data_points: 3, error_message: "bad" }
        let body = [0x0a, 0x07, 0x08, 0x03, 0x12, 0x03, b'b', b'a', b'd'];
        assert_eq!(
            rejected_protobuf(&body),
            Some(Rejected {
                points: 3,
                message: "bad".to_owned()
            })
        );
        assert_eq!(rejected_protobuf(&[]), None);
        assert_eq!(rejected_protobuf(&[0xff, 0xff]), None);
        let json = br#"{"partialSuccess":{"rejectedDataPoints":"2","errorMessage":"x"}}"#;
        assert_eq!(rejected_json(json).map(|r| r.points), Some(2));
        assert_eq!(rejected_json(br#"{"partialSuccess":{}}"#), None);
    }

    #[cfg(feature = "otlp-grpc")]
    #[test]
    fn reads_retry_info_from_literal_bytes() {
        let type_url = b"type.googleapis.com/google.rpc.RetryInfo";
        // RetryInfo { retry_delay: Duration { seconds: 1, nanos: 500 } }
        let delay = [0x0a, 0x05, 0x08, 0x01, 0x10, 0xf4, 0x03];
        let mut any = vec![0x0a, type_url.len() as u8];
        any.extend_from_slice(type_url);
        any.extend_from_slice(&[0x12, delay.len() as u8]);
        any.extend_from_slice(&delay);
        let mut status = vec![0x08, 0x0e, 0x1a, any.len() as u8];
        status.extend_from_slice(&any);
        assert_eq!(
            retry_info(&status),
            Some(std::time::Duration::from_secs(1) + std::time::Duration::from_nanos(500))
        );
    }
}
