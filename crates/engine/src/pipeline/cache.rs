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

type SlotMap = HashMap<u64, Slot, BuildHasherDefault<IdHasher>>;

/// Bytes one entry takes in the blob.
pub const ENTRY_SIZE: usize = 24;

/// What a run knows about object ids: the ids it touched (read in a record
/// or blocked), with their state, and — for a run that reads only part of
/// the data (partial, incremental) — the rest of the stored cache as a
/// sorted array. That array is a third of the map's size per entry, so a
/// partial run of 20,000 rows against a million-entry cache does not build
/// a million-entry map (measured: ~60 MB less at a million).
#[derive(Debug, Default)]
pub struct Slots {
    touched: SlotMap,
    /// Stored entries (id, value hash, card) sorted by id; ids in `touched` are shadowed.
    kept: Vec<(u64, u64, i64)>,
}

impl Slots {
    /// The slot of an id this run touches, made from the stored cache on first touch.
    pub fn entry(&mut self, id: u64) -> &mut Slot {
        let kept = &self.kept;
        self.touched
            .entry(id)
            .or_insert_with(|| match kept.binary_search_by_key(&id, |e| e.0) {
                Ok(at) => Slot {
                    cached_hash: kept[at].1,
                    card: kept[at].2,
                    cached: true,
                    ..Default::default()
                },
                Err(_) => Slot::default(),
            })
    }

    /// An id this run touched.
    pub fn get(&self, id: &u64) -> Option<&Slot> {
        self.touched.get(id)
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut Slot> {
        self.touched.get_mut(id)
    }

    /// Every id this run touched (and, for a full run, every stored one).
    pub fn touched(&self) -> impl Iterator<Item = (&u64, &Slot)> {
        self.touched.iter()
    }

    /// Stored entries this run did not touch: (id, value hash, card).
    pub fn untouched(&self) -> impl Iterator<Item = (u64, u64, i64)> + '_ {
        self.kept
            .iter()
            .filter(|e| !self.touched.contains_key(&e.0))
            .copied()
    }

    pub fn len(&self) -> usize {
        self.touched.len()
    }

    pub fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    pub fn reserve(&mut self, additional: usize) {
        self.touched.reserve(additional);
    }
}

/// The hash an object id is known by.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// What a cache row says about the task's object ids (empty without a row).
/// A run that reads all of the data (`whole`) touches every stored id; one
/// that reads part of it keeps the stored entries apart ([`Slots`]).
pub fn slots_of(row: Option<&crate::store::CacheRow>, whole: bool) -> Slots {
    let mut slots = Slots::default();
    if let Some(row) = row {
        if whole {
            decode(&row.entries, &mut slots);
        } else {
            slots.kept = row
                .entries
                .chunks_exact(ENTRY_SIZE)
                .map(|e| {
                    let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
                    (word(0), word(8), word(16) as i64)
                })
                .collect();
            // Partial runs write it sorted; a full run's cache is sorted once here.
            if !slots.kept.is_sorted_by_key(|e| e.0) {
                slots.kept.sort_unstable_by_key(|e| e.0);
            }
        }
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
    into.touched.reserve(blob.len() / ENTRY_SIZE);
    for e in blob.chunks_exact(ENTRY_SIZE) {
        let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
        into.touched.insert(
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
        assert_eq!(slots.get(&key_hash("emp-1")).unwrap().cached_hash, 42);
        assert_eq!(slots.get(&key_hash("ä")).unwrap().card, -1);
        assert!(slots.get(&key_hash("ä")).unwrap().cached);
    }

    #[test]
    fn a_partial_run_sees_the_stored_entries_it_touches_and_keeps_the_rest() {
        let mut blob = Vec::new();
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            encode_entry(&mut blob, key_hash(key), i as u64, 10 + i as i64);
        }
        let row = crate::store::CacheRow {
            mappings_hash: "m".into(),
            entries: blob,
            last_successful_extract: None,
        };
        let mut slots = slots_of(Some(&row), false);
        assert!(slots.get(&key_hash("b")).is_none(), "nothing touched yet");
        let b = slots.entry(key_hash("b"));
        assert!(b.cached && b.cached_hash == 1 && b.card == 11);
        assert!(!slots.entry(key_hash("new")).cached);
        let mut rest: Vec<i64> = slots.untouched().map(|e| e.2).collect();
        rest.sort();
        assert_eq!(rest, [10, 12]);
        assert_eq!(slots_of(Some(&row), true).touched().count(), 3);
    }
}
