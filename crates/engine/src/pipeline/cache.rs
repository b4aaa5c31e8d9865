//! The per-task data cache: object id → (hash of the card values last
//! written, card id). Stored as one binary blob per task in the same
//! transaction as the load it describes, so it never runs ahead of the data.
//!
//! Object ids are kept as their 64-bit xxh3 hash, not as text: a million ids
//! then cost 24 bytes each in the blob and no allocation while streaming.
//! Two ids of one task colliding needs ~2^32 ids; at a million the chance is
//! about 3 in 10^8 per run, and its effect is one record treated as changed
//! or unchanged wrongly until the next cache clear.
//!
//! Blob layout, repeated (little endian): u64 id hash, u64 value hash, i64 card id.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// What the pipeline knows about one object id during a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slot {
    /// From the cache: hash and card of the last write.
    pub cached_hash: u64,
    pub card: i64,
    /// This run: hash of the new values.
    pub new_hash: u64,
    /// How often the id occurred in valid records this run.
    pub occurrences: u32,
    pub cached: bool,
    /// A record with this id was blocked this run.
    pub blocked: bool,
}

/// Keys are already hashes: use them as they are.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type Slots = HashMap<u64, Slot, BuildHasherDefault<IdHasher>>;

/// Bytes one entry takes in the blob.
pub const ENTRY_SIZE: usize = 24;

/// The hash an object id is known by.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// What a cache row says about the task's object ids (empty without a row).
pub fn slots_of(row: Option<&crate::store::CacheRow>) -> Slots {
    let mut slots = Slots::default();
    if let Some(row) = row {
        decode(&row.entries, &mut slots);
    }
    slots
}

/// The task's stored cache, if it was made with the task's current mappings.
pub async fn current(
    store: &crate::store::Store,
    task: &crate::model::Task,
) -> crate::error::Result<Option<crate::store::CacheRow>> {
    Ok(store
        .cache(&task.id)
        .await?
        .filter(|c| c.mappings_hash == mappings_hash(task)))
}

pub fn decode(blob: &[u8], into: &mut Slots) {
    into.reserve(blob.len() / ENTRY_SIZE);
    for e in blob.chunks_exact(ENTRY_SIZE) {
        let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
        into.insert(
            word(0),
            Slot {
                cached_hash: word(8),
                card: word(16) as i64,
                cached: true,
                ..Default::default()
            },
        );
    }
}

/// Appends one entry.
pub fn encode_entry(out: &mut Vec<u8>, key: u64, hash: u64, card: i64) {
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(&hash.to_le_bytes());
    out.extend_from_slice(&card.to_le_bytes());
}

/// A fingerprint of everything that decides what a card looks like: a change
/// of mappings, template or key attributes (or of the cache format) invalidates the cache.
pub fn mappings_hash(task: &crate::model::Task) -> String {
    let basis = serde_json::json!([
        "cache-v2",
        task.mappings,
        task.target_template,
        task.target_folder,
        task.object_id_attribute,
        task.task_id_attribute,
        task.data_source_type_attribute,
    ]);
    format!(
        "{:016x}",
        xxhash_rust::xxh3::xxh3_64(basis.to_string().as_bytes())
    )
}

pub fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let mut blob = Vec::new();
        encode_entry(&mut blob, key_hash("emp-1"), 42, 7);
        encode_entry(&mut blob, key_hash("ä"), u64::MAX, -1);
        let mut slots = Slots::default();
        decode(&blob, &mut slots);
        assert_eq!(slots[&key_hash("emp-1")].cached_hash, 42);
        assert_eq!(slots[&key_hash("ä")].card, -1);
        assert!(slots[&key_hash("ä")].cached);
    }
}
