//! An ESM solution as a load target, through its REST API ([`client`]).
//!
//! A remote solution cannot roll back, so the unit of a load is split: cards
//! are written to the solution as the load goes (each confirmed by the API),
//! while the task's cache and the run's final state go into the local card
//! file in one transaction at the commit. A run that dies halfway therefore
//! leaves a cache that records only what an earlier, committed run confirmed;
//! the next run finds the cards this one made by their object key (one
//! filtered listing per batch of unknown keys) and updates them instead of
//! creating them again.
//!
//! Every confirmed write is journalled ([`journal`]) with the changed
//! fields' values before, read in the same lookup that finds unknown keys
//! (one listing per [`KEYS_PER_LOOKUP`] cards, all of a batch's cards when
//! journalling), so a run into the solution can be undone through the API.

pub mod client;
mod journal;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{json, Value};

use super::{
    fields_of, CacheEntries, CacheWrite, CardRef, CardWrite, Foreseen, LoadTarget, RemovalQuery, Upsert,
};
use crate::error::Result;
use crate::model::{Run, TargetInfo};
use crate::secrets::Sensitive;
use crate::store::bulk::BulkCards;
use client::{card_data, eql_text, BulkResult, EsmClient};
use journal::{Before, Journal, Written};

/// Unknown keys looked up per listing (the filter goes into the URL).
const KEYS_PER_LOOKUP: usize = 40;

#[derive(Debug)]
pub struct EsmTarget {
    client: EsmClient,
    /// The local card file: the task's cache and the run's commit record.
    local: BulkCards,
    local_open: bool,
    /// Cards this load created, with their template (to take one back).
    created: HashMap<i64, String>,
    failures: Vec<(String, String)>,
    /// The target's name and the card file (its journal rows go there).
    name: String,
    cards_file: std::path::PathBuf,
    journal: Journal,
    /// Status values and keys of the removal candidates listed, by card (the value before of a removal).
    statuses: HashMap<i64, (Value, String)>,
    /// Cards [`LoadTarget::read_cards`] read: key attribute, key, values.
    read: HashMap<i64, (String, String, serde_json::Map<String, Value>)>,
}

impl EsmTarget {
    pub fn open(target: &TargetInfo, password: Sensitive<String>, cards_file: &Path) -> Result<Self> {
        Ok(EsmTarget {
            client: EsmClient::new(target, password)?,
            local: BulkCards::open(cards_file)?,
            local_open: false,
            created: HashMap::new(),
            failures: Vec::new(),
            name: target.name.clone(),
            cards_file: cards_file.to_path_buf(),
            journal: Journal::default(),
            statuses: HashMap::new(),
            read: HashMap::new(),
        })
    }

    /// The local transaction for the cache and the commit record, opened on first need.
    fn local(&mut self) -> Result<&mut BulkCards> {
        if !self.local_open {
            self.local.begin()?;
            self.local_open = true;
        }
        Ok(&mut self.local)
    }

    /// Existing cards of `template` by key: (card, carries another task's
    /// id); and the values of `fields` of every card found, by card.
    fn look_up(&mut self, cards: &[&CardWrite], fields: &[&str]) -> Result<(Found, Before)> {
        let mut found = HashMap::new();
        let mut before = Before::new();
        let Some(first) = cards.first() else {
            return Ok((found, before));
        };
        let key_attribute = first.key_attribute;
        let task_attribute = first.task_id_attribute;
        let mut attributes = vec![key_attribute];
        attributes.extend(task_attribute);
        for field in fields {
            if !attributes.contains(field) {
                attributes.push(field);
            }
        }
        let keys: Vec<&str> = cards.iter().map(|c| c.key).collect();
        let rows = self.find_by_keys(first.template, key_attribute, &keys, &attributes)?;
        for (key, (id, values)) in oldest_per_key(rows, key_attribute) {
            let other_task = task_attribute
                .and_then(|a| values.get(a))
                .and_then(first_text)
                .is_some_and(|t| t != first.task_id);
            found.insert(key, (id, other_task));
            if !fields.is_empty() {
                before.insert(id, values);
            }
        }
        Ok((found, before))
    }

    /// The cards of `template` whose `key_attribute` holds one of `keys`,
    /// with every value of `attributes`: one listing per [`KEYS_PER_LOOKUP`]
    /// keys (the filter goes into the URL).
    fn find_by_keys(
        &mut self,
        template: &str,
        key_attribute: &str,
        keys: &[&str],
        attributes: &[&str],
    ) -> Result<Vec<(i64, serde_json::Map<String, Value>)>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(KEYS_PER_LOOKUP) {
            let filter = chunk
                .iter()
                .map(|k| format!("${key_attribute}$ = {}", eql_text(k)))
                .collect::<Vec<_>>()
                .join(" or ");
            found.extend(self.client.find_values(template, &filter, attributes)?);
        }
        Ok(found)
    }
}

/// Each card's values as the load writes them.
fn values_of(cards: &[CardWrite]) -> Vec<serde_json::Map<String, Value>> {
    cards
        .iter()
        .map(|c| serde_json::from_str(c.data).unwrap_or_default())
        .collect()
}

/// Cards found by key: (card, carries another task's id).
type Found = HashMap<String, (i64, bool)>;

/// Cards found by key, one per key (rows without the key left out): of two
/// cards with one key (made outside this engine) the oldest is the one, for
/// the load and for the plan a person approves alike.
fn oldest_per_key(
    rows: Vec<(i64, serde_json::Map<String, Value>)>,
    key_attribute: &str,
) -> HashMap<String, (i64, serde_json::Map<String, Value>)> {
    let mut out: HashMap<String, (i64, serde_json::Map<String, Value>)> = HashMap::new();
    for (id, values) in rows {
        let Some(key) = values.get(key_attribute).and_then(first_text) else {
            continue;
        };
        if out.get(&key).is_none_or(|(oldest, _)| id < *oldest) {
            out.insert(key, (id, values));
        }
    }
    out
}

/// The first of a value read from the solution (text, or a list of texts).
fn first_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(first_text),
        _ => None,
    }
}

impl LoadTarget for EsmTarget {
    fn removal_candidates(
        &mut self,
        query: &RemovalQuery,
        fetched: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(CardRef, String)>> {
        let Some(task_attribute) = query.task_id_attribute else {
            return Ok(Vec::new());
        };
        let filter = format!("${task_attribute}$ = {}", eql_text(query.task_id));
        let attributes = [query.key_attribute, query.status_attribute];
        let cards = self.client.find(query.template, &filter, &attributes)?;
        Ok(cards
            .into_iter()
            .filter(|c| c.values.get(query.status_attribute).map(String::as_str) != Some(query.removed_value))
            .filter_map(|c| {
                let key = c.values.get(query.key_attribute).cloned().unwrap_or_default();
                if fetched(&key) {
                    return None;
                }
                let status = c.values.get(query.status_attribute).cloned();
                self.statuses
                    .insert(c.id, (status.map_or(Value::Null, Value::String), key.clone()));
                Some((CardRef { id: c.id }, key))
            })
            .collect())
    }

    fn begin(&mut self) -> Result<()> {
        Ok(())
    }

    /// Remote loads do not wait for each other: the solution serialises its own writes.
    fn begin_in_turn(&mut self, _stopped: &AtomicBool, _limit: Duration) -> Result<()> {
        Ok(())
    }

    fn upsert_all(&mut self, cards: &[CardWrite], out: &mut Vec<Upsert>) -> Result<()> {
        let values = values_of(cards);
        // Journalling, every card is looked up for its values before; else only unknown keys.
        let journalling = self.journal.on();
        let lookup: Vec<&CardWrite> = cards
            .iter()
            .filter(|c| journalling || c.known_card.is_none())
            .collect();
        let fields = if journalling {
            fields_of(&values)
        } else {
            Vec::new()
        };
        let (found, mut before) = self.look_up(&lookup, &fields)?;
        // Per card: the card to update and whether it carried another task's id, or none (create).
        let plan: Vec<Option<(i64, bool)>> = cards
            .iter()
            .map(|c| {
                c.known_card
                    .map(|id| (id, false))
                    .or_else(|| found.get(c.key).copied())
            })
            .collect();
        // A cached card the key lookup did not return (its key was changed in
        // the solution) is read by id, so its values before are known too.
        if journalling {
            let template = cards.first().map(|c| c.template).unwrap_or_default();
            for id in plan.iter().flatten().map(|(id, _)| *id) {
                if let std::collections::hash_map::Entry::Vacant(missing) = before.entry(id) {
                    if let Some(values) = self.client.read(template, id, &fields)? {
                        missing.insert(values);
                    }
                }
            }
        }
        let batch = self.client.batch_size;
        for ((chunk, ids), written) in cards
            .chunks(batch)
            .zip(plan.chunks(batch))
            .zip(values.chunks(batch))
        {
            let Some(first) = chunk.first() else { continue };
            let items: Vec<Value> = chunk
                .iter()
                .zip(ids)
                .zip(written)
                .map(|((c, id), data)| {
                    let data = card_data(&Value::Object(data.clone()));
                    match id {
                        Some((id, _)) => json!({"dataCardId": id.to_string(), "data": data}),
                        None => json!({"folderCode": c.folder, "data": data}),
                    }
                })
                .collect();
            let results = self.client.bulk(first.template, &items)?;
            for (((card, id), result), written) in chunk.iter().zip(ids).zip(results).zip(written) {
                let fingerprint = || Some(crate::store::bulk::fingerprint(card.key, card.data));
                let to = |id| Written {
                    template: card.template,
                    key_attribute: card.key_attribute,
                    key: card.key,
                    id,
                };
                out.push(match (result, id) {
                    (BulkResult::Saved(saved), None) => {
                        self.created.insert(saved, card.template.to_string());
                        self.journal
                            .record(to(saved), "create", None, written, fingerprint())?;
                        Upsert::Created(CardRef { id: saved })
                    }
                    (BulkResult::Saved(saved), Some((_, other_task))) => {
                        let was = before.get(&saved).cloned().unwrap_or_default();
                        self.journal
                            .record(to(saved), "update", Some(&was), written, fingerprint())?;
                        if *other_task {
                            Upsert::TakenOver(CardRef { id: saved })
                        } else {
                            Upsert::Updated(CardRef { id: saved })
                        }
                    }
                    (BulkResult::Refused(reason), _) => {
                        tracing::warn!(key = card.key, %reason, "the target refused a card");
                        self.failures.push((card.key.to_string(), reason));
                        Upsert::Failed
                    }
                });
            }
            self.journal.flush(false)?;
        }
        Ok(())
    }

    /// The cards are read by key (one listing per [`KEYS_PER_LOOKUP`]) and
    /// compared field by field as the journal compares them: a card "the
    /// same" is one the journal would find no change on.
    fn foresee_all(&mut self, cards: &[CardWrite], out: &mut Vec<Foreseen>) -> Result<()> {
        let values = values_of(cards);
        let lookup: Vec<&CardWrite> = cards.iter().collect();
        let (found, before) = self.look_up(&lookup, &fields_of(&values))?;
        for (card, written) in cards.iter().zip(&values) {
            out.push(match found.get(card.key) {
                None => Foreseen::New,
                Some((_, true)) => Foreseen::Changes,
                Some((id, false)) => {
                    let holds = |was: &serde_json::Map<String, Value>| {
                        super::differing_fields(written, was, &client::written_value)
                            .next()
                            .is_none()
                    };
                    if before.get(id).is_some_and(holds) {
                        Foreseen::Same
                    } else {
                        Foreseen::Changes
                    }
                }
            });
        }
        Ok(())
    }

    fn mark_removed(&mut self, card: CardRef, query: &RemovalQuery) -> Result<bool> {
        let status = query.status_attribute;
        let listed = self.statuses.remove(&card.id);
        let (was, key) = match listed {
            Some(listed) => listed,
            // A removal held for approval: the card as it is now.
            None if self.journal.on() => {
                let fields = [status, query.key_attribute];
                match self.client.read(query.template, card.id, &fields)? {
                    Some(mut values) => (
                        values.remove(status).unwrap_or(Value::Null),
                        values
                            .get(query.key_attribute)
                            .and_then(first_text)
                            .unwrap_or_default(),
                    ),
                    None => return Ok(false),
                }
            }
            None => (Value::Null, String::new()),
        };
        let data = json!({ status: query.removed_value });
        self.client.patch(query.template, card.id, &data)?;
        let before = serde_json::Map::from_iter([(status.to_string(), was)]);
        let written = data.as_object().cloned().unwrap_or_default();
        let to = Written {
            template: query.template,
            key_attribute: query.key_attribute,
            key: &key,
            id: card.id,
        };
        self.journal.record(to, "remove", Some(&before), &written, None)?;
        self.journal.flush(false)?;
        Ok(true)
    }

    /// Only cards [`LoadTarget::read_cards`] read (an undo reads them all
    /// first): their values then are the values before in the journal.
    fn patch_card(&mut self, template: &str, card: CardRef, patch: &str) -> Result<bool> {
        let Some((key_attribute, key, before)) = self.read.remove(&card.id) else {
            return Ok(false);
        };
        let written: serde_json::Map<String, Value> = serde_json::from_str(patch).unwrap_or_default();
        self.client
            .patch(template, card.id, &Value::Object(written.clone()))?;
        let to = Written {
            template,
            key_attribute: &key_attribute,
            key: &key,
            id: card.id,
        };
        self.journal.record(to, "update", Some(&before), &written, None)?;
        self.journal.flush(false)?;
        Ok(true)
    }

    /// One listing per [`KEYS_PER_LOOKUP`] cards, by key (the published
    /// description's answer for a single card cannot be validated: its
    /// value element matches two schemas of a `oneOf`).
    fn read_cards(
        &mut self,
        template: &str,
        key_attribute: &str,
        cards: &[(CardRef, String)],
        fields: &[&str],
    ) -> Result<HashMap<i64, serde_json::Map<String, Value>>> {
        let mut attributes = vec![key_attribute];
        attributes.extend(fields.iter().filter(|f| **f != key_attribute));
        let wanted: HashMap<i64, &str> = cards.iter().map(|(c, k)| (c.id, k.as_str())).collect();
        let mut out = HashMap::new();
        let mut keys: Vec<&str> = cards.iter().map(|(_, k)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for (id, mut values) in self.find_by_keys(template, key_attribute, &keys, &attributes)? {
            if !wanted.contains_key(&id) {
                continue;
            }
            let key = values.get(key_attribute).and_then(first_text).unwrap_or_default();
            if !fields.contains(&key_attribute) {
                values.remove(key_attribute);
            }
            self.read
                .insert(id, (key_attribute.to_string(), key, values.clone()));
            out.insert(id, values);
        }
        Ok(out)
    }

    fn cards_by_keys(
        &mut self,
        template: &str,
        key_attribute: &str,
        keys: &[&str],
        fields: &[&str],
    ) -> Result<crate::targets::CardsByKey> {
        let mut attributes = vec![key_attribute];
        attributes.extend(fields.iter().filter(|f| **f != key_attribute));
        let rows = self.find_by_keys(template, key_attribute, keys, &attributes)?;
        Ok(oldest_per_key(rows, key_attribute)
            .into_iter()
            .map(|(key, (id, values))| (key, (CardRef { id }, values)))
            .collect())
    }

    /// The solution keeps text: the rule its change journal and
    /// [`LoadTarget::foresee_all`] compare values by.
    fn as_written(&self, value: &Value) -> Value {
        client::written_value(value)
    }

    fn journal_as(&mut self, run_id: &str) {
        self.journal.start(run_id, &self.cards_file, &self.name);
    }

    fn journal_masks(&mut self, secrets: &[String]) -> Result<()> {
        self.journal.mask(secrets);
        Ok(())
    }

    fn create_card(&mut self, template: &str, folder: &str, data: &Value) -> Result<CardRef> {
        let id = self.client.create(template, folder, data)?;
        Ok(CardRef { id })
    }

    fn attach_file(
        &mut self,
        template: &str,
        card: CardRef,
        attribute: &str,
        name: &str,
        path: &std::path::Path,
    ) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| {
            crate::error::EngineError::io(format!("cannot read {} to attach it", path.display()), e)
        })?;
        self.client.upload(template, card.id, attribute, name, bytes)
    }

    fn take_back(&mut self, card: CardRef) -> Result<()> {
        match self.created.remove(&card.id) {
            Some(template) => self.client.delete(&template, card.id),
            None => Ok(()),
        }
    }

    fn save_cache(&mut self, cache: &CacheWrite, write: &mut CacheEntries) -> Result<()> {
        self.local()?.save_cache(cache, write)
    }

    fn record_commit(&mut self, run: &Run) -> Result<()> {
        self.local()?.record_commit(run)
    }

    fn commit(&mut self) -> Result<()> {
        self.journal.flush(true)?;
        self.local()?.commit()?;
        self.local_open = false;
        self.created.clear();
        tracing::debug!(requests = self.client.requests, "remote load committed");
        Ok(())
    }

    /// What the solution confirmed stays (it cannot be undone); the local cache is not written.
    fn rollback(&mut self) {
        self.keep_journal();
        if self.local_open {
            self.local.rollback();
            self.local_open = false;
        }
    }

    fn take_failures(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.failures)
    }
}

impl EsmTarget {
    /// What the solution confirmed is journalled even when the run fails.
    fn keep_journal(&mut self) {
        if let Err(e) = self.journal.flush(true) {
            tracing::error!(target = %self.name, error = %e, "the journal of confirmed remote writes could not be saved");
        }
    }
}

impl Drop for EsmTarget {
    fn drop(&mut self) {
        self.keep_journal();
    }
}

#[cfg(test)]
mod tests {
    use super::oldest_per_key;
    use serde_json::{json, Map, Value};

    fn row(id: i64, values: Value) -> (i64, Map<String, Value>) {
        (id, values.as_object().unwrap().clone())
    }

    #[test]
    fn of_two_cards_with_one_key_the_oldest_is_the_one_and_a_card_without_the_key_is_left_out() {
        let rows = vec![
            row(7, json!({"employee_id": "A", "last_name": "newer"})),
            row(3, json!({"employee_id": ["A"], "last_name": "older"})),
            row(5, json!({"employee_id": "B"})),
            row(9, json!({"last_name": "no key"})),
        ];
        let found = oldest_per_key(rows, "employee_id");
        assert_eq!(found.len(), 2);
        assert_eq!((found["A"].0, &found["A"].1["last_name"]), (3, &json!("older")));
        assert_eq!(found["B"].0, 5);
    }
}
