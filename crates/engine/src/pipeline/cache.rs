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
//!
//! A run that changes few entries writes only its changes (the delta)
//! beside the entries stored whole, as long as the changes stay small next
//! to them: rewriting a million entries (24 MB, then the same again at the
//! checkpoint) to change 2 % of them was a fifth of a partial HR run, and
//! the commit of a full script re-run waited for it too. A full run's
//! changes are the ids it wrote, added or dropped; a partial run's are the
//! ids it touched. Entries written whole are sorted by
//! id, and so is the delta; in the delta a card id of [`REMOVED`] marks an id
//! that left the cache. Readers merge the two.

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
    /// Its card's removal is held for approval: the cache keeps what it knew.
    pub held: bool,
}

impl Slot {
    /// Read exactly once and not blocked: this run writes its card if it changed.
    pub fn loadable(&self) -> bool {
        self.occurrences == 1 && !self.blocked
    }

    /// A card the cache knew, with other values now (an update, when loadable).
    pub fn changed(&self) -> bool {
        self.cached && self.cached_hash != self.new_hash
    }

    /// (value hash, card) the cache keeps for this id after the run, if
    /// any. `incremental`: the run read only part of the data, so an id it
    /// did not read is still known.
    fn kept(&self, incremental: bool) -> Option<(u64, i64)> {
        if self.loadable() {
            Some((self.new_hash, self.card))
        } else if self.cached && (incremental || self.occurrences > 0 || self.blocked || self.held) {
            // Not loaded this time but still known: keep what was written before.
            Some((self.cached_hash, self.card))
        } else {
            None
        }
    }
}

/// What a run stores as its task's cache when its load commits: all the
/// entries, sorted by id (so that a later partial run reads them without
/// sorting and may store only its changes on top of them), or — a run that
/// read part of the data over entries stored whole — only its changes.
#[derive(Debug)]
pub struct NextCache<'s> {
    /// The entries of the ids this run touched, sorted.
    touched: Vec<(u64, u64, i64)>,
    delta: Option<Vec<(u64, u64, i64)>>,
    /// The stored entries this run did not read, kept (a run that read part of the data).
    untouched: Option<&'s Slots>,
    /// Bytes of entries [`NextCache::write_to`] writes.
    pub size: usize,
}

impl<'s> NextCache<'s> {
    /// The cache after a run that knows `slots`; `incremental`: it read part of the data.
    pub fn after(slots: &'s Slots, incremental: bool) -> Self {
        if let Some(delta) = slots
            .delta_base
            .as_ref()
            .filter(|_| !incremental)
            .and_then(|base| base.next(&full_run_changes(slots)))
        {
            return NextCache {
                touched: Vec::new(),
                size: delta.len() * ENTRY_SIZE,
                delta: Some(delta),
                untouched: None,
            };
        }
        let mut touched: Vec<(u64, u64, i64)> = slots
            .touched()
            .filter_map(|(key, slot)| match slot.kept(incremental) {
                Some((hash, card)) => Some((*key, hash, card)),
                // Known before, gone now: a delta says so.
                None if incremental && slot.cached => Some((*key, 0, REMOVED)),
                None => None,
            })
            .collect();
        touched.sort_unstable_by_key(|e| e.0);
        let delta = if incremental {
            slots.delta_base.as_ref().and_then(|base| base.next(&touched))
        } else {
            None
        };
        if delta.is_none() {
            touched.retain(|e| e.2 != REMOVED);
        }
        let untouched = (incremental && delta.is_none()).then_some(slots);
        let size = match (&delta, untouched) {
            (Some(d), _) => d.len() * ENTRY_SIZE,
            (None, Some(slots)) => (touched.len() + slots.untouched().count()) * ENTRY_SIZE,
            (None, None) => touched.len() * ENTRY_SIZE,
        };
        NextCache {
            touched,
            delta,
            untouched,
            size,
        }
    }

    /// The entries are changes to the ones stored whole, not all of them.
    pub fn is_delta(&self) -> bool {
        self.delta.is_some()
    }

    /// Streams the entries, 64 KB at a time.
    pub fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut chunk = Vec::with_capacity(1 << 16);
        let mut write = |(key, hash, card): (u64, u64, i64)| -> std::io::Result<()> {
            encode_entry(&mut chunk, key, hash, card);
            if chunk.len() >= 1 << 16 {
                w.write_all(&chunk)?;
                chunk.clear();
            }
            Ok(())
        };
        match (&self.delta, self.untouched) {
            (Some(changes), _) => {
                for &e in changes {
                    write(e)?;
                }
            }
            (None, Some(slots)) => {
                // Merged in id order with the (sorted) entries this run did not touch.
                let mut touched = self.touched.iter().copied().peekable();
                for kept in slots.untouched() {
                    while let Some(t) = touched.next_if(|t| t.0 < kept.0) {
                        write(t)?;
                    }
                    write(kept)?;
                }
                for t in touched {
                    write(t)?;
                }
            }
            (None, None) => {
                for &e in &self.touched {
                    write(e)?;
                }
            }
        }
        w.write_all(&chunk)
    }
}

/// What a full run changes in the cache (it touched every stored id):
/// the entries of ids it wrote or saw for the first time, and a removal mark
/// for the stored ids it keeps no more; sorted by id. An entry whose value
/// hash is the one stored was not written (pass one writes a card only when
/// its hash changed), so its card is the stored one too.
fn full_run_changes(slots: &Slots) -> Vec<(u64, u64, i64)> {
    let mut changes: Vec<(u64, u64, i64)> = slots
        .touched()
        .filter_map(|(&key, slot)| match slot.kept(false) {
            Some((hash, _)) if slot.cached && hash == slot.cached_hash => None,
            Some((hash, card)) => Some((key, hash, card)),
            None if slot.cached => Some((key, 0, REMOVED)),
            None => None,
        })
        .collect();
    changes.sort_unstable_by_key(|e| e.0);
    changes
}

/// Object id → slot: the slots in the order their ids were first touched,
/// and a hash table of their positions. Its buckets hold 4 bytes, not the
/// 40 of a map of the slots themselves; a million ids need 2^21 buckets,
/// so the two take ~50 MB where such a map took ~86 MB (the largest part of
/// a million-record run's memory).
#[derive(Debug, Default)]
struct SlotMap {
    /// Positions in `slots`, hashed by id (ids are already hashes: used as they are).
    index: hashbrown::HashTable<u32>,
    slots: Vec<(u64, Slot)>,
}

impl SlotMap {
    fn position(&self, id: u64) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(id, |&at| slots[at as usize].0 == id)
            .map(|&at| at as usize)
    }

    fn get(&self, id: u64) -> Option<&Slot> {
        self.position(id).map(|at| &self.slots[at].1)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Slot> {
        let at = self.position(id)?;
        Some(&mut self.slots[at].1)
    }

    fn contains_key(&self, id: u64) -> bool {
        self.position(id).is_some()
    }

    /// The slot of `id`, made by `new` if the id has none.
    fn entry(&mut self, id: u64, new: impl FnOnce() -> Slot) -> &mut Slot {
        let at = match self.position(id) {
            Some(at) => at,
            None => {
                let at = self.slots.len();
                self.slots.push((id, new()));
                let slots = &self.slots;
                // A run of 2^32 ids would need ~170 GB of slots first.
                self.index
                    .insert_unique(id, at as u32, |&other| slots[other as usize].0);
                at
            }
        };
        &mut self.slots[at].1
    }

    fn iter(&self) -> impl Iterator<Item = (&u64, &Slot)> {
        self.slots.iter().map(|(id, slot)| (id, slot))
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn reserve(&mut self, additional: usize) {
        // Exact: the count is an estimate already, and a doubled vector would be unused.
        self.slots.reserve_exact(additional);
        let slots = &self.slots;
        self.index.reserve(additional, |&other| slots[other as usize].0);
    }
}

/// Bytes one entry takes in the blob.
pub const ENTRY_SIZE: usize = 24;

/// In a delta, the card id of an id that is no longer in the cache.
pub const REMOVED: i64 = i64::MIN;

/// A delta is written while it holds at most one entry per this many stored whole.
const DELTA_SHARE: usize = 8;

/// What a run that may write a delta read: how many entries are stored
/// whole, and the delta stored on top of them.
#[derive(Debug, Default)]
pub struct DeltaBase {
    pub whole: usize,
    pub delta: Vec<(u64, u64, i64)>,
}

impl DeltaBase {
    /// The delta to store after a run that touched `changes` (sorted by id;
    /// [`REMOVED`] for ids that left), or `None` when it has grown too big
    /// and the cache is better written whole.
    pub fn next(&self, changes: &[(u64, u64, i64)]) -> Option<Vec<(u64, u64, i64)>> {
        if (self.delta.len() + changes.len()) * DELTA_SHARE > self.whole {
            return None;
        }
        Some(merge(&self.delta, changes, false))
    }
}

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
    /// Set when the stored cache had entries written whole, sorted: the run may write a delta.
    pub delta_base: Option<DeltaBase>,
}

impl Slots {
    /// The slot of an id this run touches, made from the stored cache on first touch.
    pub fn entry(&mut self, id: u64) -> &mut Slot {
        let kept = &self.kept;
        self.touched
            .entry(id, || match kept.binary_search_by_key(&id, |e| e.0) {
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
        self.touched.get(*id)
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut Slot> {
        self.touched.get_mut(*id)
    }

    /// Every id this run touched (and, for a full run, every stored one).
    pub fn touched(&self) -> impl Iterator<Item = (&u64, &Slot)> {
        self.touched.iter()
    }

    /// Stored entries this run did not touch: (id, value hash, card).
    pub fn untouched(&self) -> impl Iterator<Item = (u64, u64, i64)> + '_ {
        self.kept
            .iter()
            .filter(|e| !self.touched.contains_key(e.0))
            .copied()
    }

    pub fn len(&self) -> usize {
        self.touched.len()
    }

    pub fn is_empty(&self) -> bool {
        self.touched.len() == 0
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
    let Some(row) = row else {
        return slots;
    };
    let stored_whole = row.entries.len() / ENTRY_SIZE;
    if whole && entries(&row.entries).map(|e| e.0).is_sorted() {
        // Straight into the map, the delta merged in on the way: no second
        // copy of a million entries. Sorted entries can take a delta next.
        let delta: Vec<(u64, u64, i64)> = entries(&row.delta).collect();
        let merged = Merged {
            base: entries(&row.entries).peekable(),
            changes: delta.iter().copied().peekable(),
            drop_removed: true,
        };
        insert_cached(&mut slots, merged, stored_whole + delta.len());
        if stored_whole > 0 {
            slots.delta_base = Some(DeltaBase {
                whole: stored_whole,
                delta,
            });
        }
        return slots;
    }
    let mut kept: Vec<(u64, u64, i64)> = entries(&row.entries).collect();
    let sorted = kept.is_sorted_by_key(|e| e.0);
    // Older versions wrote a full run's cache unsorted; sorted once here.
    if !sorted {
        kept.sort_unstable_by_key(|e| e.0);
    }
    let delta: Vec<(u64, u64, i64)> = entries(&row.delta).collect();
    if !delta.is_empty() {
        kept = merge(&kept, &delta, true);
    }
    if whole {
        let n = kept.len();
        insert_cached(&mut slots, kept.into_iter(), n);
    } else {
        if sorted && !row.entries.is_empty() {
            slots.delta_base = Some(DeltaBase {
                whole: stored_whole,
                delta,
            });
        }
        slots.kept = kept;
    }
    slots
}

/// Entries (sorted) with changes (sorted) applied, one at a time: the
/// change's entry wins. With `drop_removed`, ids a change marks [`REMOVED`]
/// leave (reading); without, the marks stay (a delta on top of another).
struct Merged<B: Iterator<Item = (u64, u64, i64)>, C: Iterator<Item = (u64, u64, i64)>> {
    base: std::iter::Peekable<B>,
    changes: std::iter::Peekable<C>,
    drop_removed: bool,
}

impl<B: Iterator<Item = (u64, u64, i64)>, C: Iterator<Item = (u64, u64, i64)>> Iterator for Merged<B, C> {
    type Item = (u64, u64, i64);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let next = match (self.base.peek(), self.changes.peek()) {
                (Some(b), Some(c)) if c.0 < b.0 => self.changes.next(),
                (Some(b), Some(c)) if c.0 == b.0 => {
                    self.base.next();
                    self.changes.next()
                }
                (Some(_), _) => self.base.next(),
                (None, _) => self.changes.next(),
            }?;
            if !(self.drop_removed && next.2 == REMOVED) {
                return Some(next);
            }
        }
    }
}

/// A blob's entries, in stored order.
fn entries(blob: &[u8]) -> impl ExactSizeIterator<Item = (u64, u64, i64)> + '_ {
    blob.chunks_exact(ENTRY_SIZE).map(|e| {
        let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
        (word(0), word(8), word(16) as i64)
    })
}

/// Each entry as the slot of an id known from the cache (a run that reads
/// all of the data); `about`: how many there are, at most.
fn insert_cached(into: &mut Slots, entries: impl Iterator<Item = (u64, u64, i64)>, about: usize) {
    into.touched.reserve(about);
    for (id, hash, card) in entries {
        // A blob holds each id once; were one there twice, the later entry wins.
        *into.touched.entry(id, Slot::default) = Slot {
            cached_hash: hash,
            card,
            cached: true,
            ..Default::default()
        };
    }
}

/// `base` with `changes` applied, both sorted by id, collected (see [`Merged`]).
fn merge(base: &[(u64, u64, i64)], changes: &[(u64, u64, i64)], drop_removed: bool) -> Vec<(u64, u64, i64)> {
    let mut out = Vec::with_capacity(base.len() + changes.len());
    out.extend(Merged {
        base: base.iter().copied().peekable(),
        changes: changes.iter().copied().peekable(),
        drop_removed,
    });
    out
}

/// The stored cache `row` with `changes` (sorted by id) applied: the bytes
/// to store, and whether they are a delta on top of the entries stored whole.
pub fn patched(row: &crate::store::CacheRow, changes: &[(u64, u64, i64)]) -> (Vec<u8>, bool) {
    let slots = slots_of(Some(row), false);
    let (entries, delta) = match slots.delta_base.as_ref().and_then(|base| base.next(changes)) {
        Some(delta) => (delta, true),
        None => (merge(&slots.kept, changes, true), false),
    };
    let mut out = Vec::with_capacity(entries.len() * ENTRY_SIZE);
    for (key, hash, card) in entries {
        encode_entry(&mut out, key, hash, card);
    }
    (out, delta)
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
    insert_cached(into, entries(blob), blob.len() / ENTRY_SIZE);
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
            delta: Vec::new(),
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

    fn blob(entries: &[(u64, u64, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(k, h, c) in entries {
            encode_entry(&mut out, k, h, c);
        }
        out
    }

    #[test]
    fn readers_see_the_entries_stored_whole_with_the_delta_applied() {
        let row = crate::store::CacheRow {
            mappings_hash: "m".into(),
            entries: blob(&[(1, 10, 100), (3, 30, 300), (5, 50, 500)]),
            // 2 is new, 3 changed, 5 left.
            delta: blob(&[(2, 20, 200), (3, 31, 300), (5, 0, REMOVED)]),
            last_successful_extract: None,
        };
        let mut partial = slots_of(Some(&row), false);
        assert_eq!(
            partial.untouched().collect::<Vec<_>>(),
            [(1, 10, 100), (2, 20, 200), (3, 31, 300)]
        );
        let base = partial.delta_base.take().expect("sorted entries take a delta");
        assert_eq!(base.whole, 3);
        let full = slots_of(Some(&row), true);
        let mut seen: Vec<(u64, u64)> = full.touched().map(|(k, s)| (*k, s.cached_hash)).collect();
        seen.sort();
        assert_eq!(seen, [(1, 10), (2, 20), (3, 31)]);
    }

    #[test]
    fn a_delta_grows_by_merging_and_gives_way_to_a_whole_write_when_too_big() {
        let base = DeltaBase {
            whole: 80,
            delta: vec![(2, 20, 200), (5, 0, REMOVED)],
        };
        // The newer change wins; removal marks stay in a delta.
        let next = base.next(&[(2, 21, 200), (7, 70, 700)]).unwrap();
        assert_eq!(next, [(2, 21, 200), (5, 0, REMOVED), (7, 70, 700)]);
        let many: Vec<(u64, u64, i64)> = (100..110).map(|i| (i, i, i as i64)).collect();
        assert!(
            base.next(&many).is_none(),
            "12 changes on 80 entries: written whole"
        );
        // An unsorted cache (older versions' full runs) is sorted and takes no delta.
        let row = crate::store::CacheRow {
            mappings_hash: "m".into(),
            entries: blob(&[(3, 30, 300), (1, 10, 100)]),
            delta: Vec::new(),
            last_successful_extract: None,
        };
        let slots = slots_of(Some(&row), false);
        assert!(slots.delta_base.is_none());
        assert_eq!(
            slots.untouched().collect::<Vec<_>>(),
            [(1, 10, 100), (3, 30, 300)]
        );
    }

    /// A full run over `row`'s cache: every id but `gone` read again, those
    /// in `changed` with another value hash, and id 1000 new.
    fn full_run(row: &crate::store::CacheRow, gone: u64, changed: &[u64]) -> (bool, Vec<u8>) {
        let mut slots = slots_of(Some(row), true);
        let ids: Vec<u64> = slots.touched().map(|(k, _)| *k).collect();
        for id in ids.into_iter().filter(|&i| i != gone) {
            let slot = slots.entry(id);
            slot.occurrences = 1;
            slot.new_hash = slot.cached_hash + u64::from(changed.contains(&id));
        }
        let new = slots.entry(1000);
        (new.occurrences, new.new_hash, new.card) = (1, 10_000, 100_000);
        let next = NextCache::after(&slots, false);
        let mut written = Vec::new();
        next.write_to(&mut written).unwrap();
        assert_eq!(written.len(), next.size);
        (next.is_delta(), written)
    }

    #[test]
    fn a_full_run_that_changes_few_entries_stores_only_its_changes() {
        let whole: Vec<(u64, u64, i64)> = (1..=64).map(|i| (i, i * 10, i as i64 * 100)).collect();
        let row = crate::store::CacheRow {
            mappings_hash: "m".into(),
            entries: blob(&whole),
            delta: blob(&[(3, 31, 300)]),
            last_successful_extract: None,
        };
        assert_eq!(slots_of(Some(&row), true).delta_base.map(|b| b.whole), Some(64));
        // 2 changed, 5 gone, 1000 new: three changes, merged with the stored delta.
        let (delta, written) = full_run(&row, 5, &[2]);
        assert!(delta);
        assert_eq!(
            entries(&written).collect::<Vec<_>>(),
            [
                (2, 21, 200),
                (3, 31, 300),
                (5, 0, REMOVED),
                (1000, 10_000, 100_000)
            ]
        );
        // Read back, it is the cache the whole write would have stored.
        let mut expected: Vec<(u64, u64, i64)> = whole
            .iter()
            .filter(|e| e.0 != 5)
            .map(|&e| match e.0 {
                2 => (2, 21, 200),
                3 => (3, 31, 300),
                _ => e,
            })
            .collect();
        expected.push((1000, 10_000, 100_000));
        let after = crate::store::CacheRow {
            delta: written,
            ..row.clone()
        };
        let mut seen: Vec<(u64, u64, i64)> = slots_of(Some(&after), true)
            .touched()
            .map(|(k, s)| (*k, s.cached_hash, s.card))
            .collect();
        seen.sort();
        assert_eq!(seen, expected);
        assert_eq!(
            slots_of(Some(&after), false).untouched().collect::<Vec<_>>(),
            expected
        );
        // Ten changes on 64 entries: the cache is written whole, the delta folded in.
        let (delta, written) = full_run(&row, 5, &(10..20).collect::<Vec<_>>());
        assert!(!delta);
        let stored = entries(&written).collect::<Vec<_>>();
        assert_eq!(stored.len(), 64);
        assert_eq!(
            (stored[1], stored[2], stored[9]),
            ((2, 20, 200), (3, 31, 300), (11, 111, 1100))
        );
    }

    #[test]
    fn applied_changes_patch_the_stored_cache_as_a_delta_or_whole() {
        let whole: Vec<(u64, u64, i64)> = (1..=16).map(|i| (i, i * 10, i as i64 * 100)).collect();
        let row = crate::store::CacheRow {
            mappings_hash: "m".into(),
            entries: blob(&whole),
            delta: blob(&[(3, 31, 300)]),
            last_successful_extract: None,
        };
        let read = |entries: Vec<u8>, delta: bool| {
            let row = crate::store::CacheRow {
                entries: if delta {
                    row.entries.clone()
                } else {
                    entries.clone()
                },
                delta: if delta { entries } else { Vec::new() },
                ..row.clone()
            };
            slots_of(Some(&row), false).untouched().collect::<Vec<_>>()
        };
        // One change on 16 entries: a delta, merged with the one stored.
        let (entries, delta) = patched(&row, &[(4, 41, 400)]);
        assert!(delta);
        let seen = read(entries, delta);
        assert_eq!((seen[2], seen[3], seen.len()), ((3, 31, 300), (4, 41, 400), 16));
        // Many: written whole, with the stored delta folded in.
        let many: Vec<(u64, u64, i64)> = (5..=9).map(|i| (i, i * 11, i as i64 * 100)).collect();
        let (entries, delta) = patched(&row, &many);
        assert!(!delta);
        let seen = read(entries, delta);
        assert_eq!(
            (seen[2], seen[4], seen[15]),
            ((3, 31, 300), (5, 55, 500), (16, 160, 1600))
        );
    }
}
