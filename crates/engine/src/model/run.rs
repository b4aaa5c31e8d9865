//! One execution of a task, with what each stage did.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum RunTrigger {
    Schedule,
    Manual,
    Api,
    CatchUp,
}

words! { RunTrigger {
    Schedule => "schedule",
    Manual => "manual",
    Api => "api",
    CatchUp => "catch-up",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// A guard stopped it before loading; nothing was loaded.
    Interrupted,
    /// Stopped by a user; nothing half-loaded was committed.
    Stopped,
    /// Due while the task's previous run was still going; not started.
    Skipped,
}

words! { RunStatus {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Interrupted => "interrupted",
    Stopped => "stopped",
    Skipped => "skipped",
} }

/// A run of a scheduled task, or an event task's invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Scheduled,
    Event,
    /// The reversal of another run's changes (`run undo`).
    Undo,
    /// The removals a run held over its update limit, applied once a person approved them.
    Held,
}

words! { RunKind {
    Scheduled => "scheduled",
    Event => "event",
    Undo => "undo",
    Held => "held",
} }

/// Where a running run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunStage {
    /// Recorded, waiting for its process to take it.
    Queued,
    /// The source is producing records (the script runs).
    Extract,
    /// Records are validated and compared with the cache.
    Validate,
    /// Changes are written into the target (guard and commit included).
    Load,
    /// The HR connector's run report is written to the target, with its attachments.
    Report,
}

words! { RunStage {
    Queued => "queued",
    Extract => "extract",
    Validate => "validate",
    Load => "load",
    Report => "report",
} }

/// What a run read: everything, only what changed since the last
/// successful extract, or (event tasks) one datacard's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    Full,
    Incremental,
    /// An HR run that loads only rows changed since the archived previous file.
    Partial,
    Event,
    /// A skipped run read nothing (`not_run`; older versions wrote `-`).
    #[serde(rename = "not_run", alias = "-")]
    NotRun,
}

words! { RunMode {
    Full => "full",
    Incremental => "incremental",
    Partial => "partial",
    Event => "event",
    NotRun => "not_run",
} }

/// What helps an interrupted scheduled run: one rule for the CLI's hint and
/// the window's alert actions ([`crate::Engine::interruption_help`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionHelp {
    /// The update limit stopped it: review the planned changes, approve them once.
    ApprovePlan,
    /// The minimum row count stopped it: the plan can be reviewed, but
    /// approving cannot lift the minimum; deliver the whole file or lower it.
    ReviewPlan,
    /// Something to correct first (several files, no archive, no file,
    /// parameters); the run's message says what. Approving would only be
    /// interrupted again.
    Fix,
    /// The run loaded and held its removals over the update limit
    /// (`on_limit: hold_excess`): approving applies them once.
    ApplyHeld,
}

/// How an event script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum EventOutcomeKind {
    Completed,
    Exception,
}

words! { EventOutcomeKind {
    Completed => "completed",
    Exception => "exception",
} }

/// What a file in a run's directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum RunFileKind {
    Args,
    Output,
    Error,
    ScriptLog,
    Log,
    Plan,
    Changes,
    Blocked,
    /// Cards the target refused, with reasons.
    Failed,
    /// What a run held over the update limit, waiting for approval.
    Held,
    /// The changed cards a run held, with the values applying writes.
    HeldChanges,
}

words! { RunFileKind {
    Args => "args",
    Output => "output",
    Error => "error",
    ScriptLog => "script-log",
    Log => "log",
    Plan => "plan",
    Changes => "changes",
    Blocked => "blocked",
    Failed => "failed",
    Held => "held",
    HeldChanges => "held-changes",
} }

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    Stopped,
    Skipped,
}

words! { StageStatus {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Interrupted => "interrupted",
    Stopped => "stopped",
    Skipped => "skipped",
} }

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct StageReport {
    pub status: Option<StageStatus>,
    pub started: Option<String>,
    pub completed: Option<String>,
    pub info: Option<String>,
}

/// A count as people read it, digits grouped by thousands ("150,000"): in
/// the run's reports, `run show` and the history, where a million records
/// written as 1000000 must be counted off by eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.to_string();
        let mut text = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                text.push(',');
            }
            text.push(d);
        }
        f.pad(&text)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RunCounts {
    pub fetched: u64,
    pub valid: u64,
    pub blocked: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub failed: u64,
    /// Cards that carried another task's id and now carry this one's.
    pub takeovers: u64,
    /// Removals and changed cards held for approval (`on_limit: hold_excess`), not applied.
    #[serde(default)]
    pub held: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RunFile {
    pub kind: RunFileKind,
    pub path: String,
    pub size: u64,
    /// What the file holds, in words (`run show` and the run detail print them).
    #[serde(default)]
    pub holds: String,
}

impl RunFileKind {
    /// What a file of this kind holds, in words: `log` is the script's
    /// other output, not a second log.
    pub fn holds(self) -> &'static str {
        match self {
            RunFileKind::Args => "what the script was started with (no secret)",
            RunFileKind::Output => "the records the source produced",
            RunFileKind::Error => "the error the script reported",
            RunFileKind::ScriptLog => "the script's log lines",
            RunFileKind::Log => "the script's other output (standard error)",
            RunFileKind::Plan => "what the interrupted run would have done",
            RunFileKind::Changes => "the new and changed cards the run planned",
            RunFileKind::Blocked => "the records validation blocked, with reasons",
            RunFileKind::Failed => "the cards the target refused, with reasons",
            RunFileKind::Held => "what the run held over the update limit",
            RunFileKind::HeldChanges => "the held changed cards, with the values applying writes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Run {
    pub id: String,
    pub task_id: String,
    pub task: String,
    pub kind: RunKind,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// Where a running run is.
    pub stage: Option<RunStage>,
    /// The stage a run that failed, was interrupted or was stopped ended in.
    #[serde(default)]
    pub ended_in: Option<RunStage>,
    pub planned_at: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub run_type: RunMode,
    pub extract: StageReport,
    pub load: StageReport,
    pub counts: RunCounts,
    pub files: Vec<RunFile>,
    /// Event runs: how the script ended.
    pub outcome: Option<EventOutcomeKind>,
    /// Event runs: the exception's message.
    pub message: Option<String>,
    /// Read event runs: the values the script read, by template attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub returned: Option<serde_json::Value>,
}

impl RunStatus {
    /// Whether a run that ended so raises an alert.
    pub fn raises_alert(self) -> bool {
        matches!(self, RunStatus::Failed | RunStatus::Interrupted)
    }

    /// How the stage a run ended in reads when the run ended so.
    fn of_stage(self) -> StageStatus {
        match self {
            RunStatus::Running => StageStatus::Running,
            RunStatus::Succeeded => StageStatus::Succeeded,
            RunStatus::Interrupted => StageStatus::Interrupted,
            RunStatus::Stopped => StageStatus::Stopped,
            RunStatus::Skipped => StageStatus::Skipped,
            RunStatus::Failed => StageStatus::Failed,
        }
    }
}

/// A run's state changes: every place that moves a run along calls one of
/// these, so a run's fields always tell one consistent story (a stage that
/// ran has a start; an ended run has no stage, an end time, and the stage it
/// ended in when it did not succeed).
impl Run {
    /// A run of the task `task_id` (named `connector/task`) that begins now.
    pub fn begin(task_id: &str, task: String, kind: RunKind, trigger: RunTrigger) -> Run {
        Run {
            id: crate::clock::new_id(),
            task_id: task_id.to_string(),
            task,
            kind,
            trigger,
            status: RunStatus::Running,
            stage: None,
            ended_in: None,
            planned_at: None,
            started_at: crate::clock::now(),
            finished_at: None,
            run_type: RunMode::Full,
            extract: StageReport::default(),
            load: StageReport::default(),
            counts: RunCounts::default(),
            files: Vec::new(),
            outcome: None,
            message: None,
            returned: None,
        }
    }

    /// A run that was due at `planned_at` and never started, for `reason`.
    pub fn skipped(task_id: &str, task: String, planned_at: String, reason: &SkipReason) -> Run {
        let reason = reason.describe();
        let mut run = Run::begin(task_id, task, RunKind::Scheduled, RunTrigger::Schedule);
        run.status = RunStatus::Skipped;
        run.planned_at = Some(planned_at);
        run.finished_at = Some(crate::clock::now());
        run.run_type = RunMode::NotRun;
        run.extract = StageReport {
            status: Some(StageStatus::Skipped),
            info: Some(format!("skipped: {reason}")),
            ..Default::default()
        };
        run.load = StageReport {
            status: Some(StageStatus::Skipped),
            ..Default::default()
        };
        run
    }

    /// The run moves into `stage`; extract and load begin their reports.
    pub fn enter(&mut self, stage: RunStage) {
        self.stage = Some(stage);
        let running = || StageReport {
            status: Some(StageStatus::Running),
            started: Some(crate::clock::now()),
            ..Default::default()
        };
        match stage {
            RunStage::Extract => self.extract = running(),
            RunStage::Load => self.load = running(),
            RunStage::Queued | RunStage::Validate | RunStage::Report => {}
        }
    }

    /// The extract stage is over: every record was read and checked.
    pub fn extract_done(&mut self, counts: RunCounts, info: String) {
        self.counts = counts;
        self.extract.status = Some(StageStatus::Succeeded);
        self.extract.completed = Some(crate::clock::now());
        self.extract.info = Some(info);
    }

    /// The load committed: the run succeeded with these counts.
    pub fn succeed(&mut self, counts: RunCounts, load_info: String) {
        let finished = crate::clock::now();
        self.counts = counts;
        self.status = RunStatus::Succeeded;
        self.stage = None;
        self.finished_at = Some(finished.clone());
        self.load.status = Some(StageStatus::Succeeded);
        self.load.completed = Some(finished);
        self.load.info = Some(load_info);
    }

    /// Adds to what the load stage says (a later problem that did not undo it).
    pub fn note_on_load(&mut self, note: &str) {
        let info = self.load.info.take().unwrap_or_default();
        self.load.info = Some(if info.is_empty() {
            note.to_string()
        } else {
            format!("{info}; {note}")
        });
    }

    /// The run ended early in `stage` with `status` (failed, interrupted,
    /// stopped); a stage before the load leaves the load skipped.
    pub fn end_early(&mut self, status: RunStatus, stage: RunStage, info: &str) {
        let finished = crate::clock::now();
        let in_load = stage == RunStage::Load;
        let report = if in_load {
            &mut self.load
        } else {
            &mut self.extract
        };
        report.status = Some(status.of_stage());
        report.completed = Some(finished.clone());
        report.info = Some(info.to_string());
        if !in_load {
            self.load = StageReport {
                status: Some(StageStatus::Skipped),
                info: Some("nothing was loaded".into()),
                ..Default::default()
            };
        }
        self.status = status;
        self.stage = None;
        self.ended_in = Some(stage);
        self.finished_at = Some(finished);
    }

    /// An event invocation ended: its script's outcome and, on failure, the message.
    pub fn end_event(&mut self, status: RunStatus, outcome: EventOutcomeKind, message: Option<String>) {
        let finished = crate::clock::now();
        self.status = status;
        self.stage = None;
        self.finished_at = Some(finished.clone());
        self.outcome = Some(outcome);
        self.ended_in = (status != RunStatus::Succeeded).then_some(RunStage::Extract);
        self.extract.status = Some(status.of_stage());
        self.extract.completed = Some(finished);
        self.extract.info = Some(
            message
                .clone()
                .unwrap_or_else(|| "the event script completed".into()),
        );
        self.message = message;
    }

    /// The process running it died: whatever stage was running failed with `info`.
    pub fn abandoned(&mut self, info: String) {
        let finished = crate::clock::now();
        for report in [&mut self.extract, &mut self.load] {
            if report.status == Some(StageStatus::Running) {
                report.status = Some(StageStatus::Failed);
                report.completed = Some(finished.clone());
                report.info = Some(info.clone());
            }
        }
        if self.extract.status.is_none() {
            self.extract.status = Some(StageStatus::Failed);
            self.extract.info = Some(info.clone());
        }
        self.status = RunStatus::Failed;
        self.stage = None;
        self.finished_at = Some(finished);
        self.message = Some(info);
    }

    /// Its report could not be written: a run that had succeeded fails in
    /// its report stage; one that had failed keeps its own failure.
    pub fn report_failed(&mut self, info: String) {
        if self.status == RunStatus::Succeeded {
            self.status = RunStatus::Failed;
            self.ended_in = Some(RunStage::Report);
        }
        self.message = Some(info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_groups_its_digits_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (20_000, "20,000"),
            (150_000, "150,000"),
            (1_000_000, "1,000,000"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(Count(n).to_string(), text);
        }
        assert_eq!(
            format!("[{:>7}]", Count(1_000)),
            "[  1,000]",
            "a table's width holds"
        );
    }

    #[test]
    fn a_skipped_runs_mode_crosses_as_a_word_and_older_runs_still_read() {
        assert_eq!(serde_json::to_value(RunMode::NotRun).unwrap(), "not_run");
        assert_eq!(
            serde_json::from_value::<RunMode>("-".into()).unwrap(),
            RunMode::NotRun
        );
        assert_eq!(
            serde_json::from_value::<RunMode>("not_run".into()).unwrap(),
            RunMode::NotRun
        );
    }

    fn running() -> Run {
        Run::begin("t1", "hr/people".into(), RunKind::Scheduled, RunTrigger::Manual)
    }

    #[test]
    fn a_run_that_ends_before_the_load_says_the_load_was_skipped() {
        let mut run = running();
        run.enter(RunStage::Extract);
        assert_eq!(run.extract.status, Some(StageStatus::Running));
        run.end_early(RunStatus::Interrupted, RunStage::Extract, "several files");
        assert_eq!(
            (run.status, run.stage, run.ended_in),
            (RunStatus::Interrupted, None, Some(RunStage::Extract))
        );
        assert_eq!(run.extract.status, Some(StageStatus::Interrupted));
        assert_eq!(run.load.status, Some(StageStatus::Skipped));
        assert!(run.finished_at.is_some() && run.extract.completed.is_some());
        assert!(run.status.raises_alert());
    }

    #[test]
    fn a_failed_report_fails_a_succeeded_run_in_its_report_stage_only() {
        let mut run = running();
        run.enter(RunStage::Load);
        run.succeed(RunCounts::default(), "0 created".into());
        assert_eq!(run.load.status, Some(StageStatus::Succeeded));
        run.report_failed("no template".into());
        assert_eq!(
            (run.status, run.ended_in),
            (RunStatus::Failed, Some(RunStage::Report))
        );

        let mut stopped = running();
        stopped.end_early(RunStatus::Stopped, RunStage::Load, "stopped by a user");
        stopped.report_failed("no template".into());
        assert_eq!(
            (stopped.status, stopped.ended_in),
            (RunStatus::Stopped, Some(RunStage::Load))
        );
        assert!(!RunStatus::Stopped.raises_alert() && !RunStatus::Skipped.raises_alert());
    }

    #[test]
    fn an_abandoned_run_fails_the_stage_it_was_in() {
        let mut run = running();
        run.enter(RunStage::Extract);
        run.extract_done(RunCounts::default(), "fetched 0".into());
        run.enter(RunStage::Load);
        run.abandoned("the process ended".into());
        assert_eq!(run.extract.status, Some(StageStatus::Succeeded));
        assert_eq!(run.load.status, Some(StageStatus::Failed));
        assert_eq!((run.status, run.stage), (RunStatus::Failed, None));
    }
}

/// Why a due run did not happen: history says, and an alert follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The task's previous run was still going at the due time.
    PreviousRunBusy,
    /// The task was running in another process (a CLI run) when its turn came.
    RunningElsewhere,
    /// No engine was running: `missed` due times passed, the first at the row's planned time, the last at `last`.
    EngineNotRunning { missed: u32, last: String },
}

impl SkipReason {
    pub fn describe(&self) -> String {
        match self {
            SkipReason::PreviousRunBusy => "the previous run of this task was still going".into(),
            SkipReason::RunningElsewhere => "the task was running in another process (a CLI or window run)".into(),
            SkipReason::EngineNotRunning { missed: 1, .. } => {
                "no engine was running at its time (neither the window nor provisio serve)".into()
            }
            SkipReason::EngineNotRunning { missed, last } => format!(
                "no engine was running (neither the window nor provisio serve): {missed} scheduled times passed, the last at {last}"
            ),
        }
    }
}
