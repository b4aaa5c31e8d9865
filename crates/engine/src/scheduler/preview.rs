//! The task editor's schedule preview: the next fire times, computed by the
//! scheduler's own timing code, and the advice of the incumbent's
//! recommended-frequency table when a schedule fires more often than the
//! task's recent record counts warrant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timing::Timing;
use crate::error::Result;
use crate::model::RunType;

/// What the editor shows under the schedule fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SchedulePreview {
    /// The next fire times, in UTC (RFC 3339).
    pub next: Vec<String>,
    /// Set when the schedule is more frequent than recommended for the record count.
    pub warning: Option<String>,
}

/// The shortest interval the seed's table recommends, in minutes, for a task
/// that reads `records` records: full loads need longer, incremental shorter.
pub fn recommended_minutes(records: u64, run_type: RunType) -> u64 {
    let full = run_type != RunType::Incremental;
    let row = [
        (500, 30, 10),
        (2_000, 60, 15),
        (5_000, 240, 15),
        (10_000, 720, 30),
    ]
    .into_iter()
    .find(|(under, _, _)| records < *under);
    match (row, full) {
        (Some((_, f, _)), true) => f,
        (Some((_, _, i)), false) => i,
        // 10,000 and more: once a day at most for full loads.
        (None, true) => 1_440,
        (None, false) => 60,
    }
}

pub fn preview(
    schedule: &str,
    timezone: &str,
    run_type: RunType,
    recent_records: Option<u64>,
    now: DateTime<Utc>,
) -> Result<SchedulePreview> {
    let timing = Timing::new(schedule, timezone)?;
    let mut times = Vec::new();
    let mut at = now;
    while times.len() < 5 {
        match timing.next_after(at) {
            Some(t) => {
                times.push(t);
                at = t;
            }
            None => break,
        }
    }
    let shortest = times.windows(2).map(|w| (w[1] - w[0]).num_minutes()).min();
    let warning = match (shortest, recent_records) {
        (Some(gap), Some(records)) => (gap.max(0) as u64) < recommended_minutes(records, run_type),
        _ => false,
    }
    .then(|| {
        let records = recent_records.unwrap_or(0);
        let want = recommended_minutes(records, run_type);
        format!(
            "This schedule fires every {} but recent runs read {records} records: \
             for a {run_type} load of that size, run it at most every {}.",
            words(shortest.unwrap_or(0).max(0) as u64),
            words(want)
        )
    });
    Ok(SchedulePreview {
        next: times
            .iter()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .collect(),
        warning,
    })
}

fn words(minutes: u64) -> String {
    match minutes {
        0 => "less than a minute".to_string(),
        1 => "minute".to_string(),
        m if m % 1_440 == 0 && m >= 1_440 => plural(m / 1_440, "day"),
        m if m % 60 == 0 => plural(m / 60, "hour"),
        m => plural(m, "minute"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        unit.to_string()
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap()
    }

    #[test]
    fn five_fire_times_follow_the_zone_across_a_daylight_saving_change() {
        let p = preview("0 0 2 * * *", "Europe/Helsinki", RunType::Full, None, now()).unwrap();
        // 02:00 in Helsinki is 00:00 UTC in winter, 23:00 UTC the day before in summer.
        assert_eq!(
            p.next,
            [
                "2026-03-29T00:00:00Z",
                "2026-03-29T23:00:00Z",
                "2026-03-30T23:00:00Z",
                "2026-03-31T23:00:00Z",
                "2026-04-01T23:00:00Z"
            ]
        );
        assert_eq!(p.warning, None);
    }

    #[test]
    fn a_schedule_too_frequent_for_the_record_count_is_warned_about() {
        // Every 10 minutes, full, 3,000 records: the table says every 4 hours.
        let p = preview("0 */10 * * * *", "UTC", RunType::Full, Some(3_000), now()).unwrap();
        let w = p.warning.expect("a warning");
        assert!(
            w.contains("every 10 minutes") && w.contains("every 4 hours"),
            "{w}"
        );
        // Incremental at the same size may run every 15 minutes.
        let p = preview("0 */15 * * * *", "UTC", RunType::Incremental, Some(3_000), now()).unwrap();
        assert_eq!(p.warning, None);
        // Unknown record counts (no run yet) give no advice.
        let p = preview("0 * * * * *", "UTC", RunType::Full, None, now()).unwrap();
        assert_eq!(p.warning, None);
        // A daily full load of 60,000 records is fine.
        let p = preview("0 0 3 * * *", "UTC", RunType::Full, Some(60_000), now()).unwrap();
        assert_eq!(p.warning, None);
    }

    #[test]
    fn a_bad_expression_is_refused_with_what_to_fix() {
        let e = preview("every day", "UTC", RunType::Full, None, now()).unwrap_err();
        assert!(e.to_string().contains("not a valid cron expression"), "{e}");
    }
}
