//! Alerts: what needs a person's eye (a failed, interrupted, skipped or
//! stale task, held removals), raised by the engine and listed by the
//! window's Alerts and `provisio alerts`.

use serde::{Deserialize, Serialize};

use super::{InterruptionHelp, RunStatus};

/// Why an alert was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A run or an event invocation failed (or its report or failure card could not be written).
    Failed,
    /// A guard or a source stopped a run before it loaded.
    Interrupted,
    /// A run held its removals over the update limit.
    Held,
    /// Due runs did not happen.
    Skipped,
    /// No run succeeded for longer than the task's `stale_after`.
    Stale,
}

words! { AlertKind {
    Failed => "failed",
    Interrupted => "interrupted",
    Held => "held",
    Skipped => "skipped",
    Stale => "stale",
} }

impl AlertKind {
    /// The kind as stored; a word this version does not know reads as a failure.
    pub fn parse(word: &str) -> AlertKind {
        match word {
            "interrupted" => AlertKind::Interrupted,
            "held" => AlertKind::Held,
            "skipped" => AlertKind::Skipped,
            "stale" => AlertKind::Stale,
            _ => AlertKind::Failed,
        }
    }

    /// The alert a run that ended with `status` raises.
    pub fn of_run(status: RunStatus) -> AlertKind {
        match status {
            RunStatus::Interrupted => AlertKind::Interrupted,
            RunStatus::Skipped => AlertKind::Skipped,
            _ => AlertKind::Failed,
        }
    }
}

/// How urgent an alert is: production alerts are critical, others warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
}

words! { Severity {
    Critical => "critical",
    Warning => "warning",
} }

impl Severity {
    pub fn parse(word: &str) -> Severity {
        if word == "critical" {
            Severity::Critical
        } else {
            Severity::Warning
        }
    }
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Alert {
    pub id: i64,
    pub created_at: String,
    pub task_id: Option<String>,
    pub run_id: Option<String>,
    pub task: String,
    pub status: AlertKind,
    pub message: String,
    pub acknowledged: bool,
    /// `critical` when raised in a `prod` installation, else `warning`.
    pub severity: Severity,
    /// What helps the run (an interrupted run's plan, held removals), filled by the engine.
    pub help: Option<InterruptionHelp>,
}
