//! Where loaded data goes. The pipeline talks to a target only through
//! [`LoadTarget`]; the local datacard store implements it today, the remote
//! ESM solution will implement the same trait.

pub mod local;
pub mod writeback;

use crate::error::Result;

/// A card found for an object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRef {
    pub id: i64,
}

/// What happened when one record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(CardRef),
    Updated(CardRef),
    /// Updated a card that carried another task's id.
    TakenOver(CardRef),
}

/// One record to write.
#[derive(Debug)]
pub struct CardWrite<'a> {
    pub template: &'a str,
    pub folder: &'a str,
    pub key_attribute: &'a str,
    pub key: &'a str,
    /// The card id the task's cache remembers, tried first.
    pub known_card: Option<i64>,
    pub task_id: &'a str,
    /// Card values as a JSON object (compact).
    pub data: &'a str,
}

/// Cards a full run may mark removed.
#[derive(Debug)]
pub struct RemovalQuery<'a> {
    pub template: &'a str,
    pub task_id: &'a str,
    pub status_attribute: &'a str,
    pub removed_value: &'a str,
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
    /// Writes records in order, appending what happened to each to `out`
    /// (a batch, so that a target can write many with one request).
    fn upsert_all(&mut self, cards: &[CardWrite], out: &mut Vec<Upsert>) -> Result<()>;
    /// Sets the status attribute; only on cards still carrying `task_id`.
    fn mark_removed(&mut self, card: CardRef, query: &RemovalQuery) -> Result<bool>;
    /// Creates a card (failure records, reports).
    fn create_card(&mut self, template: &str, folder: &str, data: &serde_json::Value) -> Result<CardRef>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self);
}
