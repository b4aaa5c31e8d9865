//! Where loaded data goes. The pipeline talks to a target only through
//! [`LoadTarget`], commit included (cards, the task's cache and the run's
//! final state go in one unit); the local datacard store implements it
//! today ([`local`]), the remote ESM solution will implement the same trait.

pub mod esm;
pub mod local;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::error::Result;
pub use crate::model::card::{
    CacheEntries, CacheWrite, CardRef, CardWrite, CardsByKey, Foreseen, RemovalQuery, Upsert,
};
use crate::model::Run;

type Opener = dyn Fn() -> Result<Box<dyn LoadTarget + Send>> + Send + Sync;

/// Opens a task's target for one load; called on the load's own thread.
#[derive(Clone)]
pub struct OpenTarget {
    name: String,
    open: std::sync::Arc<Opener>,
}

impl OpenTarget {
    pub fn new(
        name: impl Into<String>,
        open: impl Fn() -> Result<Box<dyn LoadTarget + Send>> + Send + Sync + 'static,
    ) -> Self {
        OpenTarget {
            name: name.into(),
            open: std::sync::Arc::new(open),
        }
    }

    /// The local card store in `database` (`store::cards::CARDS_FILE`).
    pub fn local(database: std::path::PathBuf) -> Self {
        OpenTarget::new(crate::model::LOCAL_TARGET, move || {
            Ok(Box::new(local::LocalTarget::open(&database)?) as Box<dyn LoadTarget + Send>)
        })
    }

    pub fn open(&self) -> Result<Box<dyn LoadTarget + Send>> {
        (self.open)()
    }
}

impl std::fmt::Debug for OpenTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenTarget").field("name", &self.name).finish()
    }
}

/// The operations a load needs. Calls between `begin` and `commit` are one
/// unit: `rollback` (or dropping the target) undoes them.
pub trait LoadTarget {
    /// Cards carrying this task's id whose key `fetched` does not know and
    /// that are not already in the removed state: (card, key).
    fn removal_candidates(
        &mut self,
        query: &RemovalQuery,
        fetched: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(CardRef, String)>>;
    fn begin(&mut self) -> Result<()>;
    /// From now on, the changes written are journalled as `run_id`'s
    /// (targets without a journal ignore it).
    fn journal_as(&mut self, _run_id: &str) {}
    /// Values (the connector's secrets) masked wherever this unit's journal rows hold them.
    fn journal_masks(&mut self, _secrets: &[String]) -> Result<()> {
        Ok(())
    }
    /// [`LoadTarget::begin`] once no other load holds the target (loads
    /// take turns), checking `stopped` every second and giving up after `limit`.
    fn begin_in_turn(&mut self, stopped: &AtomicBool, limit: Duration) -> Result<()>;
    /// Writes records in order, appending what happened to each to `out`
    /// (a batch, so that a target can write many with one request).
    fn upsert_all(&mut self, cards: &[CardWrite], out: &mut Vec<Upsert>) -> Result<()>;
    /// What [`LoadTarget::upsert_all`] would do with each record, appended
    /// to `out`, nothing written (no transaction needed): the guard's count
    /// of the records the task's cache does not know.
    fn foresee_all(&mut self, cards: &[CardWrite], out: &mut Vec<Foreseen>) -> Result<()>;
    /// A read-back: writes `card`'s fields onto the existing card whose key
    /// attribute holds its key, never changing which task owns the card
    /// (so the task that loaded it still marks it removed on a full run).
    /// `None`, and nothing written, when there is no such card. A remote
    /// target owns cards by the task id attribute, which a read-back leaves
    /// out, so the upsert serves (a card it had to create is taken back).
    fn update_fields(&mut self, card: &CardWrite) -> Result<Option<CardRef>> {
        let mut out = Vec::with_capacity(1);
        self.upsert_all(std::slice::from_ref(card), &mut out)?;
        match out.first() {
            Some(Upsert::Updated(c) | Upsert::Unchanged(c) | Upsert::TakenOver(c)) => Ok(Some(*c)),
            Some(Upsert::Created(c)) => {
                self.take_back(*c)?;
                Ok(None)
            }
            Some(Upsert::Failed) => Err(crate::error::EngineError::Internal(
                self.take_failures()
                    .into_iter()
                    .next()
                    .map(|f| f.1)
                    .unwrap_or_else(|| "the target refused the card".into()),
            )),
            None => Ok(None),
        }
    }
    /// Sets the status attribute; only on cards still carrying `task_id`.
    fn mark_removed(&mut self, card: CardRef, query: &RemovalQuery) -> Result<bool>;
    /// Creates a card (failure records, reports).
    fn create_card(&mut self, template: &str, folder: &str, data: &serde_json::Value) -> Result<CardRef>;
    /// Attaches the file at `path` to `card`'s `attribute` under `name` (a
    /// run report's archives). A target that keeps no files says so.
    fn attach_file(
        &mut self,
        _template: &str,
        _card: CardRef,
        _attribute: &str,
        _name: &str,
        _path: &std::path::Path,
    ) -> Result<()> {
        Err(crate::error::EngineError::Internal(
            "this target keeps no attachments".into(),
        ))
    }
    /// Undoes a card this unit created (its object id turned up again later).
    fn take_back(&mut self, card: CardRef) -> Result<()>;
    /// Writes `patch`'s fields onto `card` of `template` (a null removes a
    /// field), journalled; whether the card exists. Undo uses it.
    fn patch_card(&mut self, template: &str, card: CardRef, patch: &str) -> Result<bool>;
    /// The values of `fields` of `cards` of `template` (card, key in
    /// `key_attribute`) as the journal keeps them, by card; a card missing
    /// from the answer is gone. An undo of a remote run plans with it, and
    /// writes with [`LoadTarget::patch_card`] only cards read so (the local
    /// store's undo reads the card file directly).
    fn read_cards(
        &mut self,
        _template: &str,
        _key_attribute: &str,
        _cards: &[(CardRef, String)],
        _fields: &[&str],
    ) -> Result<std::collections::HashMap<i64, serde_json::Map<String, serde_json::Value>>> {
        Err(crate::error::EngineError::Internal(
            "this target's cards are read from the card store".into(),
        ))
    }
    /// The cards of `template` whose `key_attribute` holds one of `keys`,
    /// each with its values (at least `fields`) as this target gives them
    /// back, by key; a key with no card is missing. Nothing written, no
    /// transaction: what the plan a person approves compares with.
    fn cards_by_keys(
        &mut self,
        template: &str,
        key_attribute: &str,
        keys: &[&str],
        fields: &[&str],
    ) -> Result<CardsByKey>;
    /// `value` as this target gives it back once written (a remote solution
    /// keeps text): what a preview of a change compares a card's value with.
    fn as_written(&self, value: &serde_json::Value) -> serde_json::Value {
        value.clone()
    }
    /// Saves the task's data cache with the unit, streamed by `write` so the
    /// whole cache is never held twice in memory.
    fn save_cache(&mut self, cache: &CacheWrite, write: &mut CacheEntries) -> Result<()>;
    /// Records the run's final state with the unit, so a commit and the
    /// run's outcome are never told apart after a crash.
    fn record_commit(&mut self, run: &Run) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self);
    /// The cards refused so far ([`Upsert::Failed`]): (object key, reason). Drains them.
    fn take_failures(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Every field the values name, once each, in the order first met.
pub fn fields_of<'a>(
    values: impl IntoIterator<Item = &'a serde_json::Map<String, serde_json::Value>>,
) -> Vec<&'a str> {
    let mut fields: Vec<&str> = Vec::new();
    for field in values.into_iter().flat_map(|v| v.keys()) {
        if !fields.contains(&field.as_str()) {
            fields.push(field);
        }
    }
    fields
}

/// The fields of `to` (values a load writes) that `now` (a card's values
/// as the target gives them back) does not hold, each with its value now
/// and the value written: `written` says how the target gives a value back
/// ([`LoadTarget::as_written`]). What "the same card" means to a foresee and
/// to the plan a person approves.
pub fn differing_fields<'a>(
    to: &'a serde_json::Map<String, serde_json::Value>,
    now: &'a serde_json::Map<String, serde_json::Value>,
    written: &'a dyn Fn(&serde_json::Value) -> serde_json::Value,
) -> impl Iterator<Item = (&'a String, &'a serde_json::Value, &'a serde_json::Value)> + 'a {
    const NULL: &serde_json::Value = &serde_json::Value::Null;
    to.iter().filter_map(move |(field, value)| {
        let was = now.get(field).unwrap_or(NULL);
        (*was != written(value)).then_some((field, was, value))
    })
}
