//! The Overview's status light of a connector, from its scheduled tasks' latest runs.
//!
//! Only enabled scheduled tasks count: a disabled task is not expected to
//! run, and event tasks have no schedule. A task that has not run yet is not
//! a problem; a failed, interrupted or stopped last run is.

use crate::model::{ConnectorStatus, RunStatus, TaskSummary, TaskUsage};

pub fn connector_status(tasks: &[&TaskSummary]) -> ConnectorStatus {
    status_of(tasks, TaskUsage::Scheduled)
}

/// The top bar's Secure access light: the same rule over every enabled
/// authentication task (`None`: no authentication task, "not configured").
pub fn secure_access_status(tasks: &[&TaskSummary]) -> ConnectorStatus {
    status_of(tasks, TaskUsage::Authentication)
}

fn status_of(tasks: &[&TaskSummary], usage: TaskUsage) -> ConnectorStatus {
    let scheduled: Vec<&&TaskSummary> = tasks.iter().filter(|t| t.usage == usage && t.enabled).collect();
    if scheduled.is_empty() {
        return ConnectorStatus::None;
    }
    let ran: Vec<RunStatus> = scheduled
        .iter()
        .filter_map(|t| t.last_run.as_ref().map(|r| r.status))
        .collect();
    let problems = ran.iter().filter(|s| **s != RunStatus::Succeeded).count();
    match (ran.len(), problems) {
        (0, _) => ConnectorStatus::Waiting,
        (_, 0) => ConnectorStatus::Ok,
        // Every task that ran has a problem (one task alone: its last run failed).
        (n, p) if p == n && n == scheduled.len() => ConnectorStatus::Failed,
        _ => ConnectorStatus::Warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LastRun;

    fn task(usage: TaskUsage, enabled: bool, last: Option<RunStatus>) -> TaskSummary {
        TaskSummary {
            id: "t".into(),
            connector_id: "c".into(),
            connector_name: "C".into(),
            name: "T".into(),
            usage,
            enabled,
            schedule: None,
            timezone: "UTC".into(),
            target_template: "person".into(),
            reference_count: 0,
            next_run: None,
            last_run: last.map(|status| LastRun {
                run_id: "r".into(),
                status,
                extract: None,
                load: None,
                started_at: String::new(),
                fetched: 0,
            }),
        }
    }

    fn status(tasks: &[TaskSummary]) -> ConnectorStatus {
        connector_status(&tasks.iter().collect::<Vec<_>>())
    }

    #[test]
    fn the_lights_follow_the_latest_runs_of_enabled_scheduled_tasks() {
        use RunStatus::*;
        use TaskUsage::*;
        assert_eq!(status(&[]), ConnectorStatus::None);
        assert_eq!(status(&[task(Event, true, Some(Failed))]), ConnectorStatus::None);
        assert_eq!(
            status(&[task(Scheduled, false, Some(Failed))]),
            ConnectorStatus::None
        );
        assert_eq!(status(&[task(Scheduled, true, None)]), ConnectorStatus::Waiting);
        assert_eq!(
            status(&[task(Scheduled, true, Some(Succeeded))]),
            ConnectorStatus::Ok
        );
        assert_eq!(
            status(&[
                task(Scheduled, true, Some(Succeeded)),
                task(Scheduled, true, None)
            ]),
            ConnectorStatus::Ok
        );
        assert_eq!(
            status(&[task(Scheduled, true, Some(Failed))]),
            ConnectorStatus::Failed
        );
        assert_eq!(
            status(&[task(Scheduled, true, Some(Interrupted))]),
            ConnectorStatus::Failed
        );
        assert_eq!(
            status(&[
                task(Scheduled, true, Some(Failed)),
                task(Scheduled, true, Some(Stopped))
            ]),
            ConnectorStatus::Failed
        );
        assert_eq!(
            status(&[
                task(Scheduled, true, Some(Succeeded)),
                task(Scheduled, true, Some(Failed))
            ]),
            ConnectorStatus::Warning
        );
        // One failed, one never ran: not every task is in trouble.
        assert_eq!(
            status(&[task(Scheduled, true, Some(Failed)), task(Scheduled, true, None)]),
            ConnectorStatus::Warning
        );
    }
}
