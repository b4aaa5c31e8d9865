//! The guard between planning and loading: a pure decision over the plan's
//! numbers and the task's limits.

use super::PLAN;
use crate::model::hr::{CaseFacts, ReportCase};
use crate::model::{Limits, OnLimit};

/// What a run plans to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub valid: u64,
    /// The rows the source held, when it fetched only some (an HR file on a
    /// partial run); the minimum row count counts these, not the changes.
    pub held: Option<u64>,
    pub creates: u64,
    pub updates: u64,
    pub removals: u64,
}

/// Why the run must not load, or `None` when it may. A user's approval
/// (`approved`) or the task's override lifts the update limit, never the
/// minimum row count.
pub fn refusal(limits: &Limits, planned: &Planned, approved: bool) -> Option<String> {
    refusal_case(limits, planned, approved).map(|(_, why, _)| why)
}

/// Whether the run loads its new and changed cards and holds its removals
/// for approval instead of being refused (`on_limit: hold_excess`): only
/// when the removals are what takes the changes over the update limit; a
/// run whose new and changed cards alone exceed it is refused as before.
pub fn holds_removals(limits: &Limits, planned: &Planned, approved: bool) -> bool {
    let Some(limit) = limits.update_limit else {
        return false;
    };
    limits.on_limit == OnLimit::HoldExcess
        && !limits.override_update_limit
        && !approved
        && planned.removals > 0
        && planned.creates + planned.updates + planned.removals > limit
        && planned.creates + planned.updates <= limit
}

/// [`refusal`] with the limit that refused.
pub fn refusal_case(
    limits: &Limits,
    planned: &Planned,
    approved: bool,
) -> Option<(ReportCase, String, CaseFacts)> {
    if let Some(min) = limits.minimum_row_count {
        let too_few = match planned.held {
            Some(rows) if rows < min => Some((
                format!(
                    "the file holds only {rows} rows, fewer than the minimum row count of {min}; nothing was loaded"
                ),
                CaseFacts::new(
                    "too_few_rows",
                    &[("rows", rows.to_string()), ("minimum", min.to_string())],
                ),
            )),
            None if planned.valid < min => Some((
                format!(
                    "only {} valid records, fewer than the minimum row count of {min}; nothing was loaded",
                    planned.valid
                ),
                CaseFacts::new(
                    "too_few_valid",
                    &[("valid", planned.valid.to_string()), ("minimum", min.to_string())],
                ),
            )),
            _ => None,
        };
        if let Some((why, facts)) = too_few {
            return Some((ReportCase::MinimumRows, why, facts));
        }
    }
    let changes = planned.creates + planned.updates + planned.removals;
    match limits.update_limit {
        Some(limit) if changes > limit && !limits.override_update_limit && !approved => Some((
            ReportCase::UpdateLimit,
            format!(
            "{changes} planned changes ({} new, {} changed, {} removals) exceed the update limit of {limit}; \
             nothing was loaded. Inspect {PLAN} in the run's files; approving the plan applies it once",
            planned.creates, planned.updates, planned.removals,
        ),
            CaseFacts::new(
                "update_limit",
                &[
                    ("changes", changes.to_string()),
                    ("created", planned.creates.to_string()),
                    ("updated", planned.updates.to_string()),
                    ("removed", planned.removals.to_string()),
                    ("limit", limit.to_string()),
                ],
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_row_count_counts_the_rows_a_source_held_not_its_changes() {
        let quiet_day = Planned {
            valid: 0,
            held: Some(50),
            creates: 0,
            updates: 0,
            removals: 0,
        };
        assert_eq!(refusal(&limits(Some(10), None, false), &quiet_day, false), None);
        let short_file = Planned {
            held: Some(5),
            ..quiet_day
        };
        let why = refusal(&limits(Some(10), None, false), &short_file, false).unwrap();
        assert!(why.starts_with("the file holds only 5 rows"), "{why}");
    }

    fn limits(min: Option<u64>, update: Option<u64>, override_limit: bool) -> Limits {
        Limits {
            minimum_row_count: min,
            update_limit: update,
            override_update_limit: override_limit,
            on_limit: OnLimit::Interrupt,
        }
    }

    #[test]
    fn hold_excess_holds_removals_only_when_they_are_what_exceeds_the_limit() {
        let hold = |update: u64| Limits {
            on_limit: OnLimit::HoldExcess,
            ..limits(None, Some(update), false)
        };
        // 3 new + 2 changed fit a limit of 5; the 1 removal takes it over: held.
        assert!(holds_removals(&hold(5), &PLANNED, false));
        // Within the limit: nothing to hold.
        assert!(!holds_removals(&hold(6), &PLANNED, false));
        // New and changed alone exceed it: refused as the manual says.
        assert!(!holds_removals(&hold(4), &PLANNED, false));
        // Approved, or the manual's default: no holding.
        assert!(!holds_removals(&hold(5), &PLANNED, true));
        assert!(!holds_removals(&limits(None, Some(5), false), &PLANNED, false));
    }

    const PLANNED: Planned = Planned {
        valid: 100,
        held: None,
        creates: 3,
        updates: 2,
        removals: 1,
    };

    #[test]
    fn the_update_limit_counts_creates_updates_and_removals() {
        assert_eq!(refusal(&limits(None, Some(6), false), &PLANNED, false), None);
        let why = refusal(&limits(None, Some(5), false), &PLANNED, false).unwrap();
        assert!(
            why.starts_with("6 planned changes (3 new, 2 changed, 1 removals) exceed the update limit of 5"),
            "{why}"
        );
    }

    #[test]
    fn approval_and_override_lift_the_update_limit_but_not_the_minimum_row_count() {
        assert_eq!(refusal(&limits(None, Some(1), false), &PLANNED, true), None);
        assert_eq!(refusal(&limits(None, Some(1), true), &PLANNED, false), None);
        let why = refusal(&limits(Some(101), None, false), &PLANNED, true).unwrap();
        assert!(why.contains("fewer than the minimum row count of 101"), "{why}");
    }
}
