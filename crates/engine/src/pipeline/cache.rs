//! The per-task data cache: object id → (hash of the card values last
//! written, card id). Stored as one binary blob per task in the same
//! transaction as the load it describes, so it never runs ahead of the data.
//!
//! Blob layout, repeated: u32 key length (LE), key bytes, u64 hash (LE), i64 card id (LE).

use std::collections::HashMap;

/// What the pipeline knows about one object id during a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slot {
    /// From the cache: hash and card of the last write (0 = not cached).
    pub cached_hash: u64,
    pub card: i64,
    pub cached: bool,
    /// This run: hash of the new values, how often the id occurred, blocked?
    pub new_hash: u64,
    pub occurrences: u32,
    pub blocked: bool,
}

pub type Slots = HashMap<Box<str>, Slot>;

pub fn decode(blob: &[u8], into: &mut Slots) {
    let mut i = 0;
    while i + 4 <= blob.len() {
        let len = u32::from_le_bytes(blob[i..i + 4].try_into().unwrap_or_default()) as usize;
        i += 4;
        if i + len + 16 > blob.len() {
            break;
        }
        let key = String::from_utf8_lossy(&blob[i..i + len])
            .into_owned()
            .into_boxed_str();
        i += len;
        let hash = u64::from_le_bytes(blob[i..i + 8].try_into().unwrap_or_default());
        let card = i64::from_le_bytes(blob[i + 8..i + 16].try_into().unwrap_or_default());
        i += 16;
        into.insert(
            key,
            Slot {
                cached_hash: hash,
                card,
                cached: true,
                ..Default::default()
            },
        );
    }
}

/// Bytes an entry takes besides its key.
pub const ENTRY_OVERHEAD: usize = 4 + 8 + 8;

/// Appends one entry.
pub fn encode_entry(out: &mut Vec<u8>, key: &str, hash: u64, card: i64) {
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&hash.to_le_bytes());
    out.extend_from_slice(&card.to_le_bytes());
}

/// A fingerprint of everything that decides what a card looks like: a change
/// of mappings, template or key attributes invalidates the cache.
pub fn mappings_hash(task: &crate::model::Task) -> String {
    let basis = serde_json::json!([
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
        encode_entry(&mut blob, "emp-1", 42, 7);
        encode_entry(&mut blob, "ä", u64::MAX, -1);
        let mut slots = Slots::new();
        decode(&blob, &mut slots);
        assert_eq!(slots["emp-1"].cached_hash, 42);
        assert_eq!(slots["ä"].card, -1);
        assert!(slots["ä"].cached);
    }
}
