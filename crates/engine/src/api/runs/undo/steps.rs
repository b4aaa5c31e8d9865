//! An undo's steps: what reversing each journal row does to its card,
//! planned against the card's values now.

use serde_json::{Map, Value};

use super::super::preview::Whose;
use super::super::task_label;
use crate::model::{FieldChange, Task, UndoStep};

pub(super) fn object(text: Option<&str>) -> Map<String, Value> {
    match text.and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The steps undoing `journal` on the local store, in its order. Each row's
/// card and values are read from JSON text, most of an undo's own time: the
/// rows are planned in parts side by side, one per core (at most four).
pub(super) fn local_steps(
    task: &Task,
    journal: Vec<crate::store::UndoRow>,
    whose: &Whose,
    masker: &crate::secrets::Masker,
    wanted: &(dyn Fn(i64) -> bool + Sync),
) -> Vec<(CardAt, UndoStep)> {
    let plan = |rows: &[crate::store::UndoRow]| -> Vec<(CardAt, UndoStep)> {
        let mut steps = Vec::with_capacity(rows.len());
        for entry in rows.iter().filter(|e| wanted(e.card)) {
            let (before, after) = (object(entry.before.as_deref()), object(entry.after.as_deref()));
            let now: Value = serde_json::from_str(&entry.data).unwrap_or(Value::Null);
            let row = Journalled {
                kind: &entry.kind,
                card: entry.card,
                before: &before,
                after: &after,
                changed_later: entry.changed_later,
            };
            steps.extend(
                undo_step(task, &row, Some(&now), masker)
                    .map(|s| (CardAt::default(), told(s, whose, Some(&now), masker))),
            );
        }
        steps
    };
    // Below this many rows a thread costs more than it saves.
    const ROWS_PER_PART: usize = 2_000;
    let parts = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(journal.len().div_ceil(ROWS_PER_PART))
        .max(1);
    if parts == 1 {
        return plan(&journal);
    }
    let per_part = journal.len().div_ceil(parts);
    std::thread::scope(|scope| {
        let planned: Vec<_> = journal
            .chunks(per_part)
            .map(|rows| scope.spawn(move || plan(rows)))
            .collect();
        planned
            .into_iter()
            .flat_map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The step with the card's key and the values that say whose it is, read
/// from its values now (a card that is gone tells nothing).
pub(super) fn told(
    mut step: UndoStep,
    whose: &Whose,
    now: Option<&Value>,
    masker: &crate::secrets::Masker,
) -> UndoStep {
    if let Some(values) = now.and_then(Value::as_object) {
        step.object_id = whose.key(values);
        step.holds = whose.holds(values, &step.changes, masker);
    }
    step
}

/// A remote card's template, key attribute and key.
#[derive(Debug, Clone, Default)]
pub(super) struct CardAt {
    pub(super) template: String,
    pub(super) key_attribute: String,
    pub(super) key: String,
}

impl CardAt {
    pub(super) fn of(row: &crate::store::remote_journal::RemoteUndoRow) -> CardAt {
        CardAt {
            template: row.template.clone(),
            key_attribute: row.key_attribute.clone(),
            key: row.key.clone(),
        }
    }
}

/// One journal row as an undo reads it.
pub(super) struct Journalled<'a> {
    pub(super) kind: &'a str,
    pub(super) card: i64,
    pub(super) before: &'a Map<String, Value>,
    pub(super) after: &'a Map<String, Value>,
    /// A later run changed the card again.
    pub(super) changed_later: bool,
}

/// What undoing one journal row does to its card (`now`: the card's values
/// now; `None`, a card that is gone). `None` when the card holds what it
/// held before the run already (an undo that was applied, a later run that
/// put the same values back): there is nothing to do.
pub(super) fn undo_step(
    task: &Task,
    row: &Journalled,
    now: Option<&Value>,
    masker: &crate::secrets::Masker,
) -> Option<UndoStep> {
    let now_of = |f: &str| now.and_then(|n| n.get(f));
    let current = |f: &str| now_of(f).cloned().unwrap_or(Value::Null);
    // Whether a value now is what the journal holds (it keeps secrets
    // masked), compared in place: an undo compares every field it journalled.
    let holds = |value: Option<&Value>, journalled: Option<&Value>| {
        let (value, journalled) = (value.unwrap_or(&Value::Null), journalled.unwrap_or(&Value::Null));
        match value {
            Value::String(s) if !masker.is_empty() => journalled.as_str() == Some(masker.mask(s).as_str()),
            _ => value == journalled,
        }
    };
    let id = row.card;
    // A card created and changed since: the changes would be removed with it.
    let again = row
        .changed_later
        .then(|| "a later run changed this card again".to_string());
    if row.kind == "create" {
        return match &task.removal {
            Some(r) if current(&r.status_attribute).as_str() == Some(r.removed_value.as_str()) => None,
            Some(r) => Some(UndoStep {
                card_id: id,
                object_id: None,
                holds: Vec::new(),
                action: "mark removed".into(),
                changes: vec![FieldChange {
                    field: r.status_attribute.clone(),
                    from: current(&r.status_attribute),
                    to: Value::String(r.removed_value.clone()),
                }],
                conflict: again,
            }),
            None => Some(UndoStep {
                card_id: id,
                object_id: None,
                holds: Vec::new(),
                action: "mark removed".into(),
                changes: Vec::new(),
                conflict: Some(format!(
                    "task {} has no removal settings: there is no status to mark the card removed with",
                    task_label(task)
                )),
            }),
        };
    }
    // Fields that hold their value from before already need nothing.
    let mut changes: Vec<FieldChange> = Vec::with_capacity(row.after.len());
    for f in row.after.keys() {
        if now.is_some() && holds(now_of(f), row.before.get(f)) {
            continue;
        }
        changes.push(FieldChange {
            field: f.clone(),
            from: current(f),
            to: row.before.get(f).cloned().unwrap_or(Value::Null),
        });
    }
    if changes.is_empty() {
        return None;
    }
    // Changed since by someone else when a field no longer holds what this run wrote.
    let moved = changes
        .iter()
        .filter(|c| {
            row.after
                .get(&c.field)
                .is_some_and(|v| !holds(Some(&c.from), Some(v)))
        })
        .map(|c| c.field.clone())
        .collect::<Vec<_>>();
    // The journal keeps secrets masked: such a value cannot be written back.
    let masked: Vec<String> = changes
        .iter()
        .filter(|c| c.to.as_str().is_some_and(crate::secrets::holds_mask))
        .map(|c| c.field.clone())
        .collect();
    Some(UndoStep {
        card_id: id,
        object_id: None,
        holds: Vec::new(),
        action: if row.kind == "remove" {
            "restore"
        } else {
            "set back"
        }
        .into(),
        changes,
        conflict: if !masked.is_empty() {
            Some(format!(
                "the value before held a connector secret, which the journal does not keep: {}",
                masked.join(", ")
            ))
        } else if moved.is_empty() {
            // Later rows that left these fields as this run wrote them (an
            // undo undone, a run writing the same values) are no conflict.
            None
        } else {
            Some(format!("changed again since: {}", moved.join(", ")))
        },
    })
}
