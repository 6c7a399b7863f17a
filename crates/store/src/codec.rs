//! How core's records become portable columns: ids as text, times as Unix microseconds, binary as
//! hex or base64 text, Graph-shaped objects as JSON text.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::store::StoreError;
use time::OffsetDateTime;
use uuid::Uuid;

pub fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub fn from_micros(m: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .map_err(|_| StoreError::Corrupt(format!("time out of range: {m}")))
}

/// A GUID column, as whichever id type the caller reads (tenant id, object id, appId, or a plain GUID).
pub fn uuid<T: From<Uuid>>(s: &str) -> Result<T, StoreError> {
    Uuid::parse_str(s)
        .map(T::from)
        .map_err(|_| StoreError::Corrupt(format!("not a uuid: {s}")))
}

pub fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored document: {e}")))
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn from_b64(s: &str) -> Result<Vec<u8>, StoreError> {
    STANDARD
        .decode(s)
        .map_err(|_| StoreError::Corrupt("bad base64 column".into()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex32(s: &str) -> Result<[u8; 32], StoreError> {
    let bad = || StoreError::Corrupt("bad hash column".into());
    if s.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(i * 2..i * 2 + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip() {
        let t =
            OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap() + time::Duration::microseconds(123);
        assert_eq!(from_micros(micros(t)).unwrap(), t);
        let h = [0xabu8; 32];
        assert_eq!(from_hex32(&hex(&h)).unwrap(), h);
        assert!(from_hex32("zz").is_err());
    }
}
