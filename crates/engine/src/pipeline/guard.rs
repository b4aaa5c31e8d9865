//! The guard between planning and loading: a pure decision over the plan's
//! numbers and the task's limits.

use crate::model::hr::{CaseFacts, ReportCase};
use crate::model::{Count, Limits, OnLimit};

/// How an update-limit trip's words end: what to do next, where its alert
/// or its summary is read. The review of the plan is that next step, and
/// leaves it out (`Engine::planned_changes`).
pub const APPROVE_HINT: &str = "; review the planned changes, and approve them to apply them once";

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

/// What a run over its update limit holds for a person's approval instead
/// of being refused (`on_limit: hold_excess`), the rest loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excess {
    /// The removals take the run over the limit: they wait; new and changed cards load.
    Removals,
    /// The changed cards take it over: they wait with the removals; new cards load.
    /// All of them, not the part past the limit: which records came first in
    /// a file is no reason to load a mass change halfway.
    ChangesAndRemovals,
}

/// What the run holds (see [`Excess`]), or `None`: within the limit, the
/// manual's behaviour (`interrupt`), approved, or new cards alone over the
/// limit (then there is nothing suspicious to set apart: it is refused).
pub fn excess(limits: &Limits, planned: &Planned, approved: bool) -> Option<Excess> {
    let limit = limits.update_limit?;
    let Planned { creates, updates, .. } = *planned;
    if limits.on_limit != OnLimit::HoldExcess || !over_update_limit(limits, planned, approved) {
        None
    } else if creates + updates <= limit {
        Some(Excess::Removals)
    } else if creates <= limit {
        Some(Excess::ChangesAndRemovals)
    } else {
        None
    }
}

/// Whether the plan's changes exceed the update limit, neither the task's
/// override nor an approval lifting it.
pub fn over_update_limit(limits: &Limits, planned: &Planned, approved: bool) -> bool {
    let changes = planned.creates + planned.updates + planned.removals;
    limits.update_limit.is_some_and(|limit| changes > limit) && !limits.override_update_limit && !approved
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
                    "the file holds only {} rows, fewer than the minimum row count of {}; nothing was loaded",
                    Count(rows),
                    Count(min)
                ),
                CaseFacts::new(
                    "too_few_rows",
                    &[("rows", rows.to_string()), ("minimum", min.to_string())],
                ),
            )),
            None if planned.valid < min => Some((
                format!(
                    "only {}, fewer than the minimum row count of {}; nothing was loaded",
                    crate::run_folder::counted(planned.valid, "valid record"),
                    Count(min)
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
        Some(limit) if over_update_limit(limits, planned, approved) => Some((
            ReportCase::UpdateLimit,
            format!(
                "{} ({} new, {} changed, {}) exceed the update limit of {}; nothing was loaded{APPROVE_HINT}",
                crate::run_folder::counted(changes, "planned change"),
                Count(planned.creates),
                Count(planned.updates),
                crate::run_folder::counted(planned.removals, "removal"),
                Count(limit),
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
    fn hold_excess_holds_the_kind_of_change_that_takes_the_run_over_the_limit() {
        let hold = |update: u64| Limits {
            on_limit: OnLimit::HoldExcess,
            ..limits(None, Some(update), false)
        };
        // 3 new + 2 changed fit a limit of 5; the 1 removal takes it over: held.
        assert_eq!(excess(&hold(5), &PLANNED, false), Some(Excess::Removals));
        // Within the limit: nothing to hold.
        assert_eq!(excess(&hold(6), &PLANNED, false), None);
        // The changed cards take it over: they wait with the removal, the 3 new load.
        assert_eq!(
            excess(&hold(4), &PLANNED, false),
            Some(Excess::ChangesAndRemovals)
        );
        assert_eq!(
            excess(&hold(3), &PLANNED, false),
            Some(Excess::ChangesAndRemovals)
        );
        // New cards alone exceed it: refused as the manual says.
        assert_eq!(excess(&hold(2), &PLANNED, false), None);
        assert!(refusal(&hold(2), &PLANNED, false).is_some());
        // Approved, overridden, or the manual's default: no holding.
        assert_eq!(excess(&hold(5), &PLANNED, true), None);
        let overridden = Limits {
            override_update_limit: true,
            ..hold(5)
        };
        assert_eq!(excess(&overridden, &PLANNED, false), None);
        assert_eq!(excess(&limits(None, Some(5), false), &PLANNED, false), None);
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
            why.starts_with("6 planned changes (3 new, 2 changed, 1 removal) exceed the update limit of 5"),
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
