//! Interrupted runs: what helps them, and the plan a person approves.

use serde_json::{Map, Value};

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::hr::ReportCase;
use crate::model::{FieldChange, InterruptionHelp, Run, RunStatus, Task};
use crate::run_folder::{HeldFile, PlanFile};
use crate::secrets::Masker;
use crate::targets::{differing_fields, fields_of};

/// What helps an interrupted run whose files are in `run_dir`: only a guard
/// trip leaves a plan; approving lifts the update limit, never the minimum.
pub(crate) fn help_of(run_dir: &std::path::Path) -> InterruptionHelp {
    help_by_plan(PlanFile::read(run_dir).as_ref())
}

fn help_by_plan(plan: Option<&PlanFile>) -> InterruptionHelp {
    match plan {
        None => InterruptionHelp::Fix,
        Some(p) if p.limit == ReportCase::MinimumRows.as_str() => InterruptionHelp::ReviewPlan,
        Some(_) => InterruptionHelp::ApprovePlan,
    }
}

/// What an interrupted run would have done, for a person deciding whether to approve it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct PlannedChanges {
    /// Whether approving can help (only an update-limit trip), or only reviewing.
    pub help: InterruptionHelp,
    pub run_id: String,
    pub task_id: String,
    pub task: String,
    /// Why the run stopped before loading.
    pub reason: String,
    /// Counts of the plan, when the run got as far as planning.
    pub new: Option<u64>,
    pub changed: Option<u64>,
    pub removals: Option<u64>,
    /// The first object ids the run would mark removed.
    pub removed_object_ids: Vec<String>,
    /// The first cards to be marked removed, each with its status change and
    /// a few values that say whose card it is, read from the target. Empty
    /// when it could not be read (the object ids still say which).
    pub removed_cards: Vec<PlannedCard>,
    /// The first object ids of the changed cards a run held (`on_limit: hold_excess`).
    pub changed_object_ids: Vec<String>,
    /// The first changed cards, field by field: what applying the held
    /// cards (or approving the interrupted run) writes over what the cards
    /// hold now, read from the target. Empty when it could not be read (the
    /// counts, and a held run's object ids, still say what).
    pub changed_cards: Vec<PlannedCard>,
    /// The first cards an interrupted run would create, each with a few of
    /// the values it would be created with: a file whose ids changed format
    /// plans the same people as new, and their names tell.
    pub new_cards: Vec<PlannedNew>,
    /// Why the cards could not be read from the target, when a list is
    /// left empty for that (the counts and object ids still say what).
    pub cards_unread: Option<String>,
}

/// A card a plan changes, field by field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct PlannedCard {
    pub object_id: String,
    pub card_id: i64,
    /// Each field the plan changes, from its value on the card now to the
    /// value written (the connector's secrets masked). None when the card
    /// holds them all already (a later run or a person wrote them).
    pub changes: Vec<FieldChange>,
    /// Up to three other values the card holds now, names first, then in
    /// the task's mapping order (secrets masked): whose card it is, where
    /// the key alone is a number.
    pub holds: Vec<FieldValue>,
}

/// A card a plan creates: its key and up to three of its values (names
/// first, secrets masked).
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct PlannedNew {
    pub object_id: String,
    pub values: Vec<FieldValue>,
}

/// A field a card holds and its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
pub struct FieldValue {
    pub field: String,
    pub value: Value,
}

/// Values shown beside a planned card's key.
const SHOWN_VALUES: usize = 3;

/// Object ids shown with a plan; the changes file has them all.
const SHOWN_IDS: usize = 200;
/// Changed cards shown field by field (each is read from the target).
const SHOWN_CARDS: usize = 50;
/// Planned change lines an interrupted run's preview reads to find them
/// (new cards and cards that hold their values already are passed over).
const PREVIEW_LINES: usize = 2_000;
/// Planned change lines compared at a time.
const PREVIEW_CHUNK: usize = 200;

impl Engine {
    /// What helps `run` when it is an interrupted scheduled run (the CLI's
    /// hint and the window's alert actions both ask here).
    pub fn interruption_help(&self, run: &Run) -> Option<InterruptionHelp> {
        if run.kind != crate::model::RunKind::Scheduled {
            return None;
        }
        match run.status {
            RunStatus::Interrupted => Some(help_of(&self.run_dir(&run.id))),
            RunStatus::Succeeded if self.held_waiting(&run.id).is_some() => Some(InterruptionHelp::ApplyHeld),
            _ => None,
        }
    }

    /// What helps run `run_id` ([`Engine::interruption_help`]): what the
    /// window's run detail offers, without reading the plan's cards.
    pub async fn run_help(&self, run_id: &str) -> Result<Option<InterruptionHelp>> {
        Ok(self.interruption_help(&self.run(run_id).await?))
    }

    /// What run `run_id` held over its update limit, while no run has applied it.
    pub(crate) fn held_waiting(&self, run_id: &str) -> Option<HeldFile> {
        HeldFile::read(&self.run_dir(run_id))
            .filter(|h| h.applied_by.is_none() && (!h.removals.is_empty() || h.updates > 0))
    }

    /// The plan of an interrupted run that approving can help; refused, with
    /// what to do instead, for one that approving would only interrupt again.
    /// Its counts and object ids only: deciding reads no card from the target
    /// ([`Engine::planned_changes`] shows them field by field).
    pub async fn plan_to_approve(&self, run_id: &str) -> Result<PlannedChanges> {
        let (plan, _) = self.plan_of(run_id).await?;
        match plan.help {
            InterruptionHelp::ApprovePlan | InterruptionHelp::ApplyHeld => Ok(plan),
            InterruptionHelp::ReviewPlan => Err(EngineError::invalid(
                "run",
                format!(
                    "approving cannot help run {run_id}: {}; the minimum row count is never lifted. \
                     Deliver the whole file or lower minimum_row_count",
                    plan.reason
                ),
            )),
            InterruptionHelp::Fix => Err(EngineError::invalid(
                "run",
                format!(
                    "approving cannot help run {run_id}: {}; correct that and run the task again",
                    plan.reason
                ),
            )),
        }
    }

    /// Approves interrupted run `run_id`: records the run that lets its
    /// plan through once (execute it with approval) and marks the
    /// interrupted run's alerts seen, wherever the person approved it from
    /// (its alert, its detail). Refused as [`Engine::plan_to_approve`] refuses.
    pub async fn approve_run(&self, run_id: &str) -> Result<Run> {
        let planned = self.plan_to_approve(run_id).await?;
        if planned.help == InterruptionHelp::ApplyHeld {
            return Err(EngineError::invalid(
                "run",
                format!("run {run_id} loaded and holds changes: apply them (`provisio run apply-held {run_id}`) rather than run it again"),
            ));
        }
        let run = self
            .create_run(&planned.task_id, crate::model::RunTrigger::Manual)
            .await?;
        self.store().acknowledge_alerts_of_run(run_id).await?;
        Ok(run)
    }

    /// The planned changes of an interrupted scheduled run (what approving
    /// it lets through), the first cards field by field as the target holds them now.
    pub async fn planned_changes(&self, run_id: &str) -> Result<PlannedChanges> {
        let (mut plan, to_read) = self.plan_of(run_id).await?;
        let previews = self.previews(to_read).await;
        (
            plan.changed_cards,
            plan.new_cards,
            plan.removed_cards,
            plan.cards_unread,
        ) = (previews.changed, previews.new, previews.removed, previews.unread);
        Ok(plan)
    }

    /// The plan of run `run_id` without its cards, and what they are read from.
    async fn plan_of(&self, run_id: &str) -> Result<(PlannedChanges, ToRead)> {
        let run = self.run(run_id).await?;
        if run.status == RunStatus::Succeeded {
            if let Some(held) = self.held_waiting(run_id) {
                // One read of the held file: the ids shown, and the first of them compared.
                let mut held_lines = crate::pipeline::held::held_cards(&self.run_dir(run_id), SHOWN_IDS);
                let changed_object_ids = held_lines.iter().map(|(key, _)| key.clone()).collect();
                held_lines.truncate(SHOWN_CARDS);
                let to_read = ToRead {
                    run: run.clone(),
                    changed: held_lines,
                    shown: Shown::Every,
                    removed: held
                        .removals
                        .iter()
                        .take(SHOWN_CARDS)
                        .map(|(_, key)| key.clone())
                        .collect(),
                };
                let plan = PlannedChanges {
                    help: InterruptionHelp::ApplyHeld,
                    reason: held.reason,
                    // What is held: new cards never are (they loaded).
                    new: Some(0),
                    changed: Some(held.updates),
                    changed_object_ids,
                    changed_cards: Vec::new(),
                    new_cards: Vec::new(),
                    cards_unread: None,
                    removals: Some(held.removals.len() as u64),
                    removed_cards: Vec::new(),
                    removed_object_ids: held
                        .removals
                        .into_iter()
                        .take(SHOWN_IDS)
                        .map(|(_, key)| key)
                        .collect(),
                    run_id: run.id,
                    task_id: run.task_id,
                    task: run.task,
                };
                return Ok((plan, to_read));
            }
        }
        if run.status != RunStatus::Interrupted || run.kind != crate::model::RunKind::Scheduled {
            return Err(EngineError::invalid(
                "run",
                format!(
                    "run {run_id} of {} is {}, not an interrupted scheduled run; only those wait for approval",
                    run.task, run.status
                ),
            ));
        }
        let plan = PlanFile::read(&self.run_dir(run_id));
        let count = |n: fn(&PlanFile) -> u64| plan.as_ref().map(n);
        let reason = plan
            .as_ref()
            .map(|p| p.reason.clone())
            .or_else(|| run.load.info.clone())
            .or_else(|| run.extract.info.clone())
            .or_else(|| run.message.clone())
            .unwrap_or_else(|| "the run was interrupted".into());
        let to_read = ToRead {
            run: run.clone(),
            // Only a plan over the update limit has new and changed cards to show (an approval may let them through).
            changed: match &plan {
                Some(p)
                    if help_by_plan(Some(p)) == InterruptionHelp::ApprovePlan && p.changed + p.new > 0 =>
                {
                    crate::pipeline::first_changes(&self.run_dir(run_id).join(&p.changes_file), PREVIEW_LINES)
                }
                _ => Vec::new(),
            },
            shown: Shown::ChangedOnly,
            removed: plan
                .as_ref()
                .map(|p| p.removed_object_ids.iter().take(SHOWN_CARDS).cloned().collect())
                .unwrap_or_default(),
        };
        let plan = PlannedChanges {
            help: help_by_plan(plan.as_ref()),
            changed_cards: Vec::new(),
            removed_cards: Vec::new(),
            new_cards: Vec::new(),
            cards_unread: None,
            new: count(|p| p.new),
            changed: count(|p| p.changed),
            removals: count(|p| p.removals),
            removed_object_ids: plan
                .as_ref()
                .map(|p| p.removed_object_ids.iter().take(SHOWN_IDS).cloned().collect())
                .unwrap_or_default(),
            changed_object_ids: Vec::new(),
            run_id: run.id,
            task_id: run.task_id,
            task: run.task,
            reason,
        };
        Ok((plan, to_read))
    }
}

/// What a plan's cards are read from: the first planned lines (object id,
/// card JSON) and the keys of the first cards it would mark removed.
struct ToRead {
    run: Run,
    changed: Vec<(String, String)>,
    shown: Shown,
    removed: Vec<String>,
}

impl Engine {
    /// The plan's changed cards and the cards it would mark removed, each
    /// compared with the card the target holds now, with the target opened
    /// once. A target that cannot be read leaves a list empty and says why
    /// (in the review and the engine log): the counts and ids still show.
    async fn previews(&self, to_read: ToRead) -> Previews {
        if to_read.changed.is_empty() && to_read.removed.is_empty() {
            return Previews::default();
        }
        let run_id = to_read.run.id.clone();
        let previews = self.preview(to_read).await.unwrap_or_else(Previews::unread);
        if let Some(e) = &previews.unread {
            tracing::warn!(run = %run_id, "cannot show the planned changes field by field: {e}");
        }
        previews
    }

    /// [`Engine::previews`], failing when the task, its secrets or its
    /// target cannot be read; a list that cannot be read is left empty
    /// apart from the other.
    async fn preview(&self, to_read: ToRead) -> Result<Previews> {
        let task = self.task(&to_read.run.task_id).await?;
        let connector = self.connector_row(&task.connector_id).await?;
        let masker = Masker::from_json_values(self.stored_secrets(&connector).await?.values());
        let opener = self.target_for(&connector.target).await?;
        tokio::task::spawn_blocking(move || {
            let ToRead {
                changed,
                shown,
                removed,
                ..
            } = to_read;
            let mut target = opener.open()?;
            let compare = Compare::new(&task, &masker);
            let mut previews = Previews::default();
            match compare.cards(target.as_mut(), parsed(changed), shown) {
                Ok(compared) => (previews.changed, previews.new) = (compared.found, compared.new),
                Err(e) => previews.note(e),
            }
            // The removal writes its status: a task that marks no removals plans none.
            if let Some(r) = task.removal.as_ref().filter(|_| !removed.is_empty()) {
                let mark =
                    Map::from_iter([(r.status_attribute.clone(), Value::String(r.removed_value.clone()))]);
                let lines = removed.into_iter().map(|key| (key, mark.clone())).collect();
                match compare.cards(target.as_mut(), lines, Shown::Every) {
                    Ok(compared) => previews.removed = compared.found,
                    Err(e) => previews.note(e),
                }
            }
            Ok(previews)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("reading the planned cards stopped: {e}")))?
    }
}

/// The plan's cards as the target holds them, and why some could not be read.
#[derive(Default)]
struct Previews {
    changed: Vec<PlannedCard>,
    new: Vec<PlannedNew>,
    removed: Vec<PlannedCard>,
    unread: Option<String>,
}

/// Planned lines compared with the target's cards: those it has, and (an
/// interrupted run's plan) the first it would create.
struct Compared {
    found: Vec<PlannedCard>,
    new: Vec<PlannedNew>,
}

impl Previews {
    fn unread(e: EngineError) -> Self {
        let mut previews = Previews::default();
        previews.note(e);
        previews
    }

    /// Keeps the first reason a list could not be read (a second is most often the same).
    fn note(&mut self, e: EngineError) {
        self.unread.get_or_insert_with(|| e.to_string());
    }
}

/// The mapped fields that tell whose card it is, besides its key and the
/// removal's status: names first, each part in mapping order.
fn telling<'a>(
    mapped: impl Iterator<Item = &'a str>,
    key_attribute: &str,
    status: Option<&str>,
) -> Vec<&'a str> {
    let mut fields: Vec<&str> = mapped
        .filter(|f| *f != key_attribute && Some(*f) != status)
        .collect();
    fields.sort_by_key(|f| !names_someone(f));
    fields
}

/// Whether a field most likely says whose card it is (a name, a mail
/// address): shown before the other values, which a task may map first
/// (ids, codes, dates).
fn names_someone(field: &str) -> bool {
    let field = field.to_ascii_lowercase();
    field.contains("name") || field.contains("mail") || field == "cn"
}

/// Planned lines with their card JSON read (a line that is not an object compares as none).
fn parsed(lines: Vec<(String, String)>) -> Vec<(String, Map<String, Value>)> {
    lines
        .into_iter()
        .map(|(key, data)| (key, serde_json::from_str(&data).unwrap_or_default()))
        .collect()
}

/// How a task's planned cards are compared with the target's and shown.
struct Compare<'a> {
    template: &'a str,
    key_attribute: String,
    /// The task's other fields, names first: what tells whose card it is.
    telling: Vec<&'a str>,
    masker: &'a Masker,
}

impl<'a> Compare<'a> {
    fn new(task: &'a Task, masker: &'a Masker) -> Self {
        let key_attribute = key_attribute_of(task);
        let status = task.removal.as_ref().map(|r| r.status_attribute.as_str());
        let telling = telling(
            task.mappings.iter().map(|m| m.target.as_str()),
            &key_attribute,
            status,
        );
        Compare {
            template: &task.target_template,
            key_attribute,
            telling,
            masker,
        }
    }

    /// Each planned line compared with the card whose key it carries, read
    /// from the target by key, up to [`SHOWN_CARDS`]; a line with no card is
    /// a new one (listed apart, up to as many, when only changes are shown:
    /// a held run's new cards loaded already). The lines are compared a part at a time: a mass
    /// change fills the list from the first ones, and a remote target is
    /// asked only for those (one listing per 40 keys).
    fn cards(
        &self,
        target: &mut dyn crate::targets::LoadTarget,
        planned: Vec<(String, Map<String, Value>)>,
        shown: Shown,
    ) -> Result<Compared> {
        let mut cards = Vec::new();
        let mut new = Vec::new();
        for part in planned.chunks(PREVIEW_CHUNK) {
            let mut fields = fields_of(part.iter().map(|(_, to)| to));
            for f in &self.telling {
                if !fields.contains(f) {
                    fields.push(f);
                }
            }
            let keys: Vec<&str> = part.iter().map(|(k, _)| k.as_str()).collect();
            let now = target.cards_by_keys(self.template, &self.key_attribute, &keys, &fields)?;
            let written = |v: &Value| target.as_written(v);
            for (key, to) in part {
                let Some((card, values)) = now.get(key) else {
                    if shown == Shown::ChangedOnly && new.len() < SHOWN_CARDS {
                        new.push(PlannedNew {
                            object_id: key.clone(),
                            values: self.holds(to, &[]),
                        });
                    }
                    continue;
                };
                let changes: Vec<FieldChange> = differing_fields(to, values, &written)
                    .map(|(field, was, value)| FieldChange {
                        field: field.clone(),
                        from: masked(was.clone(), self.masker),
                        to: masked(value.clone(), self.masker),
                    })
                    .collect();
                if shown == Shown::Every || !changes.is_empty() {
                    let holds = self.holds(values, &changes);
                    cards.push(PlannedCard {
                        object_id: key.clone(),
                        card_id: card.id,
                        changes,
                        holds,
                    });
                }
            }
            if cards.len() >= SHOWN_CARDS {
                break;
            }
        }
        cards.truncate(SHOWN_CARDS);
        Ok(Compared { found: cards, new })
    }

    /// Up to [`SHOWN_VALUES`] values of the card beside those `changes` lists, not empty.
    fn holds(&self, values: &Map<String, Value>, changes: &[FieldChange]) -> Vec<FieldValue> {
        self.telling
            .iter()
            .filter(|f| !changes.iter().any(|c| c.field == **f))
            .filter_map(|f| Some((*f, values.get(*f)?)))
            .filter(|(_, v)| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .take(SHOWN_VALUES)
            .map(|(f, v)| FieldValue {
                field: f.to_string(),
                value: masked(v.clone(), self.masker),
            })
            .collect()
    }
}

/// Which compared cards a preview lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// Each (held cards: a card that holds them already says so).
    Every,
    /// Those the plan changes (an interrupted run's spill also has new and same cards).
    ChangedOnly,
}

/// The card attribute the task's object id is mapped to (its cards' key).
pub(crate) fn key_attribute_of(task: &Task) -> String {
    task.mappings
        .iter()
        .find(|m| Some(&m.source) == task.object_id_attribute.as_ref())
        .map(|m| m.target.clone())
        .unwrap_or_default()
}

/// `value` with the connector's secrets masked in its text (and its list's).
fn masked(value: Value, masker: &Masker) -> Value {
    match value {
        Value::String(s) if !masker.is_empty() => Value::String(masker.mask(&s)),
        Value::Array(items) if !masker.is_empty() => {
            Value::Array(items.into_iter().map(|v| masked(v, masker)).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::telling;

    #[test]
    fn a_card_is_told_by_its_names_before_its_codes() {
        let mapped = [
            "employee_id",
            "department_code",
            "start_date",
            "LastName",
            "mail",
            "first_name",
            "accountStatus",
        ];
        assert_eq!(
            telling(mapped.into_iter(), "employee_id", Some("accountStatus")),
            ["LastName", "mail", "first_name", "department_code", "start_date"]
        );
        assert_eq!(telling(["a", "b"].into_iter(), "a", None), ["b"]);
    }
}
