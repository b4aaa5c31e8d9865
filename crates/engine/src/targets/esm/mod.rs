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

pub mod client;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{json, Value};

use super::{CacheEntries, CacheWrite, CardRef, CardWrite, LoadTarget, RemovalQuery, Upsert};
use crate::error::Result;
use crate::model::{Run, TargetInfo};
use crate::secrets::Sensitive;
use crate::store::bulk::BulkCards;
use client::{card_data, eql_text, BulkResult, EsmClient};

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
}

impl EsmTarget {
    pub fn open(target: &TargetInfo, password: Sensitive<String>, cards_file: &Path) -> Result<Self> {
        Ok(EsmTarget {
            client: EsmClient::new(target, password)?,
            local: BulkCards::open(cards_file)?,
            local_open: false,
            created: HashMap::new(),
            failures: Vec::new(),
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

    /// Existing cards of `template` by key: (card, carries another task's id).
    fn look_up(&mut self, cards: &[&CardWrite]) -> Result<HashMap<String, (i64, bool)>> {
        let mut found = HashMap::new();
        let Some(first) = cards.first() else {
            return Ok(found);
        };
        let key_attribute = first.key_attribute;
        let task_attribute = first.task_id_attribute;
        let mut attributes = vec![key_attribute];
        attributes.extend(task_attribute);
        for chunk in cards.chunks(KEYS_PER_LOOKUP) {
            let filter = chunk
                .iter()
                .map(|c| format!("${key_attribute}$ = {}", eql_text(c.key)))
                .collect::<Vec<_>>()
                .join(" or ");
            for card in self.client.find(first.template, &filter, &attributes)? {
                let Some(key) = card.values.get(key_attribute) else {
                    continue;
                };
                let other_task = task_attribute
                    .and_then(|a| card.values.get(a))
                    .is_some_and(|t| t != first.task_id);
                // Two cards with one key (made outside this engine): the oldest is the one.
                let entry = found.entry(key.clone()).or_insert((card.id, other_task));
                if card.id < entry.0 {
                    *entry = (card.id, other_task);
                }
            }
        }
        Ok(found)
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
                (!fetched(&key)).then_some((CardRef { id: c.id }, key))
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
        let unknown: Vec<&CardWrite> = cards.iter().filter(|c| c.known_card.is_none()).collect();
        let found = self.look_up(&unknown)?;
        // Per card: the card to update and whether it carried another task's id, or none (create).
        let plan: Vec<Option<(i64, bool)>> = cards
            .iter()
            .map(|c| {
                c.known_card
                    .map(|id| (id, false))
                    .or_else(|| found.get(c.key).copied())
            })
            .collect();
        let batch = self.client.batch_size;
        for (chunk, ids) in cards.chunks(batch).zip(plan.chunks(batch)) {
            let Some(first) = chunk.first() else { continue };
            let items: Vec<Value> = chunk
                .iter()
                .zip(ids)
                .map(|(c, id)| {
                    let data = card_data(&serde_json::from_str(c.data).unwrap_or(Value::Null));
                    match id {
                        Some((id, _)) => json!({"dataCardId": id.to_string(), "data": data}),
                        None => json!({"folderCode": c.folder, "data": data}),
                    }
                })
                .collect();
            let results = self.client.bulk(first.template, &items)?;
            for ((card, id), result) in chunk.iter().zip(ids).zip(results) {
                out.push(match (result, id) {
                    (BulkResult::Saved(saved), None) => {
                        self.created.insert(saved, card.template.to_string());
                        Upsert::Created(CardRef { id: saved })
                    }
                    (BulkResult::Saved(saved), Some((_, true))) => Upsert::TakenOver(CardRef { id: saved }),
                    (BulkResult::Saved(saved), Some((_, false))) => Upsert::Updated(CardRef { id: saved }),
                    (BulkResult::Refused(reason), _) => {
                        tracing::warn!(key = card.key, %reason, "the target refused a card");
                        self.failures.push((card.key.to_string(), reason));
                        Upsert::Failed
                    }
                });
            }
        }
        Ok(())
    }

    fn mark_removed(&mut self, card: CardRef, query: &RemovalQuery) -> Result<bool> {
        let data = json!({ query.status_attribute: query.removed_value });
        self.client.patch(query.template, card.id, &data)?;
        Ok(true)
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
        self.local()?.commit()?;
        self.local_open = false;
        self.created.clear();
        tracing::debug!(requests = self.client.requests, "remote load committed");
        Ok(())
    }

    /// What the solution confirmed stays (it cannot be undone); the local cache is not written.
    fn rollback(&mut self) {
        if self.local_open {
            self.local.rollback();
            self.local_open = false;
        }
    }

    fn take_failures(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.failures)
    }
}
