//! A plan's cards as the target holds them now, for the person reviewing
//! it: the cards it would change (field by field), create and mark removed,
//! read from the target by key, and what tells whose card each is.

use serde_json::{Map, Value};

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::{FieldChange, FieldValue, Task};
use crate::secrets::Masker;
use crate::targets::{differing_fields, fields_of};

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

/// Values shown beside a planned card's key.
const SHOWN_VALUES: usize = 3;
/// Cards shown of each list (each is read from the target).
pub(super) const SHOWN_CARDS: usize = 50;
/// Planned change lines compared at a time.
const PREVIEW_CHUNK: usize = 200;

/// What a plan's cards are read from: the first planned lines (object id,
/// card JSON) and the keys of the first cards it would mark removed.
pub(super) struct ToRead {
    /// The run whose plan it is, and its task.
    pub(super) run_id: String,
    pub(super) task_id: String,
    pub(super) changed: Vec<(String, String)>,
    pub(super) shown: Shown,
    pub(super) removed: Vec<String>,
}

impl Engine {
    /// The plan's changed cards and the cards it would mark removed, each
    /// compared with the card the target holds now, with the target opened
    /// once. A target that cannot be read leaves a list empty and says why
    /// (in the review and the engine log): the counts and ids still show.
    pub(super) async fn previews(&self, to_read: ToRead) -> Previews {
        if to_read.changed.is_empty() && to_read.removed.is_empty() {
            return Previews::default();
        }
        let run_id = to_read.run_id.clone();
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
        let task = self.task(&to_read.task_id).await?;
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
pub(super) struct Previews {
    pub(super) changed: Vec<PlannedCard>,
    pub(super) new: Vec<PlannedNew>,
    pub(super) removed: Vec<PlannedCard>,
    pub(super) unread: Option<String>,
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

/// What tells whose a task's card is: its key attribute, and its other
/// mapped fields, names first (the removal's status aside). The review of
/// a plan and the undo of a run show a card by these.
pub(crate) struct Whose {
    pub(crate) key_attribute: String,
    telling: Vec<String>,
}

impl Whose {
    pub(crate) fn of(task: &Task) -> Whose {
        let key_attribute = key_attribute_of(task);
        if !task.display_fields.is_empty() {
            // The task says which: as it says, the key aside (shown anyway).
            let telling = task
                .display_fields
                .iter()
                .filter(|f| **f != key_attribute)
                .cloned()
                .collect();
            return Whose {
                key_attribute,
                telling,
            };
        }
        let status = task.removal.as_ref().map(|r| r.status_attribute.as_str());
        let telling = telling(
            task.mappings.iter().map(|m| m.target.as_str()),
            &key_attribute,
            status,
        )
        .into_iter()
        .map(str::to_string)
        .collect();
        Whose {
            key_attribute,
            telling,
        }
    }

    /// The fields to read of a card to tell whose it is: its key, then the telling ones.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key_attribute.as_str()).chain(self.telling.iter().map(String::as_str))
    }

    /// The card's key as text, when it holds one.
    pub(crate) fn key(&self, values: &Map<String, Value>) -> Option<String> {
        match values.get(&self.key_attribute)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Null | Value::String(_) => None,
            other => Some(other.to_string()),
        }
    }

    /// Up to [`SHOWN_VALUES`] values of the card beside those `changes` lists, not empty.
    pub(crate) fn holds(
        &self,
        values: &Map<String, Value>,
        changes: &[FieldChange],
        masker: &Masker,
    ) -> Vec<FieldValue> {
        self.telling
            .iter()
            .filter(|f| !changes.iter().any(|c| &c.field == *f))
            .filter_map(|f| Some((f, values.get(f)?)))
            .filter(|(_, v)| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .take(SHOWN_VALUES)
            .map(|(f, v)| FieldValue {
                field: f.clone(),
                value: masker.mask_value(v.clone()),
            })
            .collect()
    }
}

/// How a task's planned cards are compared with the target's and shown.
struct Compare<'a> {
    template: &'a str,
    whose: Whose,
    masker: &'a Masker,
}

impl<'a> Compare<'a> {
    fn new(task: &'a Task, masker: &'a Masker) -> Self {
        Compare {
            template: &task.target_template,
            whose: Whose::of(task),
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
            for f in &self.whose.telling {
                if !fields.contains(&f.as_str()) {
                    fields.push(f);
                }
            }
            let keys: Vec<&str> = part.iter().map(|(k, _)| k.as_str()).collect();
            let now = target.cards_by_keys(self.template, &self.whose.key_attribute, &keys, &fields)?;
            let written = |v: &Value| target.as_written(v);
            for (key, to) in part {
                let Some((card, values)) = now.get(key) else {
                    if matches!(shown, Shown::ChangedOnly { .. }) && new.len() < SHOWN_CARDS {
                        new.push(PlannedNew {
                            object_id: key.clone(),
                            values: self.whose.holds(to, &[], self.masker),
                        });
                    }
                    continue;
                };
                let changes: Vec<FieldChange> = differing_fields(to, values, &written)
                    .map(|(field, was, value)| FieldChange {
                        field: field.clone(),
                        from: self.masker.mask_value(was.clone()),
                        to: self.masker.mask_value(value.clone()),
                    })
                    .collect();
                if shown == Shown::Every || !changes.is_empty() {
                    let holds = self.whose.holds(values, &changes, self.masker);
                    cards.push(PlannedCard {
                        object_id: key.clone(),
                        card_id: card.id,
                        changes,
                        holds,
                    });
                }
            }
            // A remote target is asked for no more than the lists show.
            let every_change =
                matches!(shown, Shown::ChangedOnly { changed } if cards.len() as u64 >= changed);
            if cards.len() >= SHOWN_CARDS || (every_change && new.len() >= SHOWN_CARDS) {
                break;
            }
        }
        cards.truncate(SHOWN_CARDS);
        Ok(Compared { found: cards, new })
    }
}

/// Which compared cards a preview lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shown {
    /// Each (held cards: a card that holds them already says so).
    Every,
    /// Those the plan changes (an interrupted run's spill also has new and
    /// same cards), of the plan's `changed`: once that many are found and
    /// the new cards are listed, the rest is not read.
    ChangedOnly { changed: u64 },
}

/// The card attribute the task's object id is mapped to (its cards' key).
pub(crate) fn key_attribute_of(task: &Task) -> String {
    task.mappings
        .iter()
        .find(|m| Some(&m.source) == task.object_id_attribute.as_ref())
        .map(|m| m.target.clone())
        .unwrap_or_default()
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
