//! The local datacard store as a load target. The SQL is the store's
//! ([`crate::store::bulk`]); this adapter only offers it through
//! [`LoadTarget`].

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::{CacheEntries, CacheWrite, CardRef, CardWrite, Foreseen, LoadTarget, RemovalQuery, Upsert};
use crate::error::Result;
use crate::model::Run;
use crate::store::bulk::BulkCards;

/// How long a load waits for another task's load to finish before giving up,
/// when its task has no maximum runtime.
pub const TURN_WAIT: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct LocalTarget {
    cards: BulkCards,
}

impl LocalTarget {
    /// Opens the card store's database file (`store::cards::CARDS_FILE`).
    pub fn open(database: &Path) -> Result<Self> {
        Ok(LocalTarget {
            cards: BulkCards::open(database)?,
        })
    }
}

impl LoadTarget for LocalTarget {
    fn removal_candidates(
        &mut self,
        query: &RemovalQuery,
        fetched: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(CardRef, String)>> {
        self.cards.removal_candidates(query, fetched)
    }

    fn begin(&mut self) -> Result<()> {
        self.cards.begin()
    }

    fn journal_as(&mut self, run_id: &str) {
        self.cards.journal_as(run_id)
    }

    fn journal_masks(&mut self, secrets: &[String]) -> Result<()> {
        self.cards.journal_masks(secrets)
    }

    fn begin_in_turn(&mut self, stopped: &AtomicBool, limit: Duration) -> Result<()> {
        self.cards.begin_in_turn(stopped, limit)
    }

    fn upsert_all(&mut self, cards: &[CardWrite], out: &mut Vec<Upsert>) -> Result<()> {
        self.cards.upsert_all(cards, out)
    }

    fn foresee_all(&mut self, cards: &[CardWrite], out: &mut Vec<Foreseen>) -> Result<()> {
        for c in cards {
            out.push(self.cards.foresee(c)?);
        }
        Ok(())
    }

    fn mark_removed(&mut self, card: CardRef, query: &RemovalQuery) -> Result<bool> {
        self.cards.mark_removed(card, query)
    }

    fn cards_by_keys(
        &mut self,
        template: &str,
        key_attribute: &str,
        keys: &[&str],
        _fields: &[&str],
    ) -> Result<super::CardsByKey> {
        self.cards.cards_by_keys(template, key_attribute, keys)
    }

    fn update_fields(&mut self, card: &CardWrite) -> Result<Option<CardRef>> {
        self.cards.update_fields(card)
    }

    fn create_card(&mut self, template: &str, folder: &str, data: &serde_json::Value) -> Result<CardRef> {
        self.cards.create_card(template, folder, data)
    }

    fn patch_card(&mut self, _template: &str, card: CardRef, patch: &str) -> Result<bool> {
        self.cards.patch_card(card.id, patch)
    }

    fn take_back(&mut self, card: CardRef) -> Result<()> {
        self.cards.delete_card(card.id)
    }

    fn save_cache(&mut self, cache: &CacheWrite, write: &mut CacheEntries) -> Result<()> {
        self.cards.save_cache(cache, write)
    }

    fn record_commit(&mut self, run: &Run) -> Result<()> {
        self.cards.record_commit(run)
    }

    fn commit(&mut self) -> Result<()> {
        self.cards.commit()
    }

    fn rollback(&mut self) {
        self.cards.rollback()
    }
}
