//! The three time formats Entra and Graph put on the wire.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// `yyyy-MM-dd HH:mm:ssZ`, as in OAuth error bodies (entra-protocol.md §2.10).
pub fn error_timestamp(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    t.format(&fmt).unwrap_or_default()
}

/// RFC 3339 with a `Z`, as Graph writes `createdDateTime`, `startDateTime`, ….
pub fn graph_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    // Graph writes at most seven fractional digits (.NET ticks of 100 ns); some parsers take no more.
    let t = t.replace_nanosecond(t.nanosecond() / 100 * 100).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Parses a Graph date-time (RFC 3339; Graph also accepts a missing offset, read as UTC).
pub fn parse_graph_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let with_z = format!("{s}Z");
    OffsetDateTime::parse(&with_z, &Rfc3339).ok()
}

/// Serde helpers for Graph date-times stored as `OffsetDateTime`.
pub mod graph_datetime_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::graph_datetime(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_graph_datetime(&s).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 date-time"))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::graph_datetime(*t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(s) => super::super::parse_graph_datetime(&s)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 date-time")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_datetimes_have_at_most_seven_fractional_digits() {
        let t = time::macros::datetime!(2026-12-01 19:07:48.269970054 UTC);
        assert_eq!(
            graph_datetime(t),
            "2026-12-01T19:07:48.26997Z",
            "nanoseconds cut to ticks"
        );
        assert_eq!(
            graph_datetime(time::macros::datetime!(2024-01-02 03:04:05 UTC)),
            "2024-01-02T03:04:05Z"
        );
    }
    use time::macros::datetime;

    #[test]
    fn error_timestamp_has_a_space_and_no_fraction() {
        assert_eq!(
            error_timestamp(datetime!(2016-01-09 02:02:12.5 UTC)),
            "2016-01-09 02:02:12Z"
        );
    }

    #[test]
    fn graph_datetime_round_trips_and_accepts_missing_offset() {
        let t = datetime!(2024-05-01 10:00:00 UTC);
        assert_eq!(parse_graph_datetime(&graph_datetime(t)), Some(t));
        assert_eq!(parse_graph_datetime("2024-05-01T10:00:00"), Some(t));
        assert_eq!(parse_graph_datetime("yesterday"), None);
    }
}
