//! When a schedule fires: cron expressions (seconds first) evaluated in the
//! task's IANA time zone. Next fire times are computed in local time and
//! converted to UTC one at a time, so a daily 02:00 Europe/Helsinki task
//! fires at 02:00 local on both sides of a daylight-saving change (a fixed
//! UTC offset frozen at creation would drift by an hour).
//!
//! Local times that do not exist (the spring-forward gap) fire at the first
//! instant after the gap; local times that occur twice (fall-back) fire once,
//! at the first occurrence.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone)]
pub struct Timing {
    schedule: cron::Schedule,
    zone: Tz,
}

impl Timing {
    pub fn new(expression: &str, zone: &str) -> Result<Timing> {
        let schedule = cron::Schedule::from_str(expression).map_err(|e| {
            EngineError::invalid(
                "schedule",
                format!(
                    "'{expression}' is not a valid cron expression: {}",
                    crate::rules::cron_refusal(&e)
                ),
            )
        })?;
        let zone = Tz::from_str(zone).map_err(|_| {
            EngineError::invalid("timezone", format!("'{zone}' is not an IANA time zone name"))
        })?;
        Ok(Timing { schedule, zone })
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Walk naive local times (the schedule as written on a wall clock)
        // and map each to an instant in the zone.
        let local_after = after.with_timezone(&self.zone).naive_local();
        // Wall times only grow after `local_after`; within a fall-back
        // overlap each maps to its first occurrence, which is skipped when
        // already past, so starting here misses nothing.
        let start = Utc.from_utc_datetime(&local_after);
        for candidate in self.schedule.after(&start).take(1000) {
            let wall: NaiveDateTime = candidate.naive_utc();
            let instant = match self.zone.from_local_datetime(&wall) {
                LocalResult::Single(t) => t.with_timezone(&Utc),
                // Twice on the wall clock: fire at the first occurrence only.
                LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
                // In the spring-forward gap: the first instant after it.
                LocalResult::None => gap_end(self.zone, wall)?,
            };
            if instant > after {
                return Some(instant);
            }
        }
        None
    }
}

fn gap_end(zone: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut t = wall;
    for _ in 0..(4 * 60) {
        t += chrono::Duration::minutes(1);
        if let LocalResult::Single(x) | LocalResult::Ambiguous(x, _) = zone.from_local_datetime(&t) {
            // Round back to the start of the hour the gap ends in (e.g. 03:00).
            let trimmed = x.with_timezone(&Utc) - chrono::Duration::seconds(x.timestamp() % 60);
            return Some(trimmed);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
        let t = Timing::new(expr, zone).unwrap();
        let mut at = utc(from);
        let mut out = Vec::new();
        for _ in 0..n {
            at = t.next_after(at).unwrap();
            out.push(
                at.with_timezone(&Tz::from_str(zone).unwrap())
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string(),
            );
        }
        out
    }

    #[test]
    fn daily_0200_helsinki_stays_at_0200_local_across_both_changes() {
        // Spring forward: 2026-03-29 03:00 EET → 04:00 EEST.
        assert_eq!(
            fires("0 0 2 * * *", "Europe/Helsinki", "2026-03-27T12:00:00Z", 4),
            [
                "2026-03-28 02:00:00 EET",
                "2026-03-29 02:00:00 EET",
                "2026-03-30 02:00:00 EEST",
                "2026-03-31 02:00:00 EEST"
            ]
        );
        // Fall back: 2026-10-25 04:00 EEST → 03:00 EET.
        assert_eq!(
            fires("0 0 2 * * *", "Europe/Helsinki", "2026-10-23T12:00:00Z", 4),
            [
                "2026-10-24 02:00:00 EEST",
                "2026-10-25 02:00:00 EEST",
                "2026-10-26 02:00:00 EET",
                "2026-10-27 02:00:00 EET"
            ]
        );
    }

    #[test]
    fn new_york_gap_fires_after_the_gap_and_overlap_fires_once() {
        // 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist that day.
        assert_eq!(
            fires("0 30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", 3),
            [
                "2026-03-07 02:30:00 EST",
                "2026-03-08 03:00:00 EDT",
                "2026-03-09 02:30:00 EDT"
            ]
        );
        // 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice, fires once.
        assert_eq!(
            fires("0 30 1 * * *", "America/New_York", "2026-10-30T12:00:00Z", 3),
            [
                "2026-10-31 01:30:00 EDT",
                "2026-11-01 01:30:00 EDT",
                "2026-11-02 01:30:00 EST"
            ]
        );
    }

    #[test]
    fn every_second_and_hourly_work() {
        let t = Timing::new("* * * * * *", "UTC").unwrap();
        assert_eq!(
            t.next_after(utc("2026-01-01T00:00:00Z")),
            Some(utc("2026-01-01T00:00:01Z"))
        );
        let h = Timing::new("@hourly", "Europe/Helsinki").unwrap();
        assert_eq!(
            h.next_after(utc("2026-01-01T00:10:00Z")),
            Some(utc("2026-01-01T01:00:00Z"))
        );
    }
}
