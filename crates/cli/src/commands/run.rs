use provisio_engine::api::{FieldValue, PlannedCard};
use provisio_engine::model::Count;
use provisio_engine::model::{FieldChange, InterruptionHelp, Run, RunStatus};
use provisio_engine::{Engine, EngineError};

use crate::args::RunCommand;
use crate::output::Printer;

pub async fn run(engine: &Engine, command: RunCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        RunCommand::Show { run_id, log_lines } => {
            let run = engine.run(&run_id).await?;
            let log = engine.run_log(&run_id).await?;
            let mut value = serde_json::to_value(&run).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("log".into(), log.clone().into());
            }
            printer.emit(&value, || {
                let mut text = summary_text(&run, engine.interruption_help(&run));
                let lines: Vec<&str> = log.lines().collect();
                if !lines.is_empty() {
                    text.push_str("\nlog:\n");
                    for l in &lines[lines.len().saturating_sub(log_lines)..] {
                        text.push_str("  ");
                        text.push_str(l);
                        text.push('\n');
                    }
                }
                text
            });
            Ok(0)
        }
        RunCommand::Plan { run_id } => {
            let plan = engine.planned_changes(&run_id).await?;
            let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "not planned".into());
            printer.emit(&plan, || {
                let mut out = format!(
                    "run {} of {} {}: {}\nnew: {}\nchanged: {}\nmarked removed: {}",
                    plan.run_id,
                    plan.task,
                    match plan.help {
                        InterruptionHelp::ApplyHeld => "loaded the rest and held",
                        _ => "stopped before loading",
                    },
                    plan.reason,
                    count(plan.new),
                    count(plan.changed),
                    count(plan.removals)
                );
                if let Some(why) = &plan.cards_unread {
                    out.push_str(&format!(
                        "\ncards not read from the target ({why}): their keys only"
                    ));
                }
                for c in &plan.new_cards {
                    out.push_str(&format!("\n  new: {}", c.object_id));
                    if !c.values.is_empty() {
                        out.push_str(&format!(" ({})", values_text(&c.values)));
                    }
                }
                // Field by field for the first cards; the ids of the rest.
                for c in &plan.changed_cards {
                    out.push_str(&format!("\n  changed: {}", planned_card_text(c)));
                }
                for id in plan.changed_object_ids.iter().skip(plan.changed_cards.len()) {
                    out.push_str(&format!("\n  changed: {id}"));
                }
                for c in &plan.removed_cards {
                    out.push_str(&format!("\n  removed: {}", planned_card_text(c)));
                }
                for id in plan.removed_object_ids.iter().skip(plan.removed_cards.len()) {
                    out.push_str(&format!("\n  removed: {id}"));
                }
                out.push_str(&format!(
                    "\nhint: {}",
                    help_hint(plan.help, &plan.run_id, &plan.task)
                ));
                out
            });
            Ok(0)
        }
        RunCommand::Undo {
            run_id,
            dry_run,
            force,
            cards,
        } => {
            let plan = engine.undo_run(&run_id, dry_run, force, &cards).await?;
            printer.emit(&plan, || {
                let mut out = format!(
                    "{} of run {} of {}: {} cards",
                    if plan.dry_run { "undo plan" } else { "undone" },
                    plan.run_id,
                    plan.task,
                    plan.steps.len()
                );
                for s in &plan.steps {
                    out.push_str(&format!(
                        "
  {} {}: {}",
                        card_text(s.object_id.as_deref(), s.card_id, &s.holds),
                        s.action,
                        changes_text(&s.changes)
                    ));
                    if let Some(c) = &s.conflict {
                        out.push_str(&format!(
                            " — conflict: {c}{}",
                            if force {
                                " (forced)"
                            } else {
                                "; skipped (--force applies it)"
                            }
                        ));
                    }
                }
                if let Some(id) = &plan.undo_run_id {
                    out.push_str(&format!(
                        "
the undo is run {id} (it can be undone too)"
                    ));
                }
                out
            });
            Ok(0)
        }
        RunCommand::ApplyHeld { run_id } => {
            let run = engine.apply_held(&run_id).await?;
            printer.emit(&run, || summary_text(&run, None));
            Ok(exit_code(&run))
        }
        RunCommand::Execute { run_id, approve } => {
            let run = engine.execute_run(&run_id, approve).await?;
            printer.emit(&run, || summary_text(&run, engine.interruption_help(&run)));
            Ok(exit_code(&run))
        }
    }
}

/// `E-1 (card 12: first_name "Ann", last_name "Smith"): status: "Active" -> "Removed"`.
fn planned_card_text(c: &PlannedCard) -> String {
    let fields = if c.changes.is_empty() {
        "holds these values already".to_string()
    } else {
        changes_text(&c.changes)
    };
    format!("{}: {fields}", card_text(Some(&c.object_id), c.card_id, &c.holds))
}

/// Whose card it is, as a plan and an undo name it: `E-1 (card 12: first_name "Ann")`,
/// or `card 12 (…)` when the card holds no key.
fn card_text(object_id: Option<&str>, card_id: i64, holds: &[FieldValue]) -> String {
    match (object_id, holds.is_empty()) {
        (Some(key), true) => format!("{key} (card {card_id})"),
        (Some(key), false) => format!("{key} (card {card_id}: {})", values_text(holds)),
        (None, true) => format!("card {card_id}"),
        (None, false) => format!("card {card_id} ({})", values_text(holds)),
    }
}

/// The values that say whose card it is: `last_name "Smith", first_name "Ann"` (as JSON).
fn values_text(values: &[FieldValue]) -> String {
    let shown: Vec<String> = values
        .iter()
        .map(|v| format!("{} {}", v.field, v.value))
        .collect();
    shown.join(", ")
}

/// A card's changes as one line: `field: from -> to; …` (values as JSON).
fn changes_text(changes: &[FieldChange]) -> String {
    let fields: Vec<String> = changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
        .collect();
    fields.join("; ")
}

pub fn exit_code(run: &Run) -> i32 {
    if run.status == RunStatus::Succeeded {
        0
    } else {
        2
    }
}

/// What to do about an interrupted run, by the engine's one rule: only an
/// update-limit trip is worth approving.
fn help_hint(help: InterruptionHelp, run_id: &str, task: &str) -> String {
    match help {
        InterruptionHelp::ApprovePlan => crate::output::hint(&provisio_engine::error::Remedy::Approve {
            task: task.to_string(),
        }),
        InterruptionHelp::ReviewPlan => format!(
            "approving cannot lift the minimum row count: deliver the whole file or lower \
             minimum_row_count (the plan: `provisio run plan {run_id}`)"
        ),
        InterruptionHelp::Fix => {
            format!("correct what it says, then run it again with `provisio task run {task}`")
        }
        InterruptionHelp::ApplyHeld => format!(
            "changes were held over the update limit: review them with `provisio run plan {run_id}`, \
             apply them once with `provisio run apply-held {run_id}`"
        ),
    }
}

/// A run as people read it; `help` is what helps it when it was interrupted.
pub fn summary_text(run: &Run, help: Option<InterruptionHelp>) -> String {
    let stage = |name: &str, r: &provisio_engine::model::StageReport| {
        format!(
            "{name}: {}{}\n",
            r.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            r.info.as_deref().map(|i| format!(" — {i}")).unwrap_or_default()
        )
    };
    let c = &run.counts;
    let mut out = format!(
        "run {} of {} ({} {}, {}): {}\nstarted {}{}\n",
        run.id,
        run.task,
        run.kind,
        run.run_type,
        run.trigger.as_str(),
        run.status.as_str(),
        run.started_at,
        run.finished_at
            .as_deref()
            .map(|f| format!(", finished {f}"))
            .unwrap_or_default(),
    );
    if let Some(ended) = run.ended_in {
        out.push_str(&format!("ended in the {ended} stage\n"));
    }
    out.push_str(&stage("extract", &run.extract));
    if run.kind != provisio_engine::model::RunKind::Event {
        out.push_str(&stage("load", &run.load));
        out.push_str(&format!(
            "counts: fetched {}, valid {}, blocked {}, created {}, updated {}, unchanged {}, removed {}, failed {}{}\n",
            Count(c.fetched),
            Count(c.valid),
            Count(c.blocked),
            Count(c.created),
            Count(c.updated),
            Count(c.unchanged),
            Count(c.removed),
            Count(c.failed),
            if c.held > 0 { format!(", held {}", Count(c.held)) } else { String::new() }
        ));
    }
    if let Some(o) = &run.outcome {
        out.push_str(&format!(
            "outcome: {o}{}\n",
            run.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ));
    }
    if let Some(help) = help {
        out.push_str(&format!("hint: {}\n", help_hint(help, &run.id, &run.task)));
    }
    for f in &run.files {
        out.push_str(&format!(
            "file {}: {} ({} bytes): {}\n",
            f.kind, f.path, f.size, f.holds
        ));
    }
    out
}
