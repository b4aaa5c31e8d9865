//! Time and ids, at the bottom of the engine: every layer may use them, and
//! they use nothing of the engine. Times are UTC RFC 3339 text with
//! milliseconds (sortable as text); ids are random UUIDs.

/// The current time as the engine writes it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Milliseconds since 1970 (how the card store keeps times) as [`now`] writes times.
pub fn time_of_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Milliseconds since 1970 of a time as [`now`] writes it (0 when unreadable).
pub fn millis_of(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

/// A new random id for a connector, task, run or installation.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_survives_the_trip_through_milliseconds() {
        let t = now();
        assert_eq!(time_of_millis(millis_of(&t)), t);
        assert_eq!(millis_of("not a time"), 0);
    }
}
