//! The per-task data cache: object id → (hash of the card values last
//! written, card id). Stored as one binary blob per task in the same
//! transaction as the load it describes, so it never runs ahead of the data.
//!
//! Object ids are kept as their 64-bit xxh3 hash, not as text: a million ids
//! then cost 32 bytes each in the blob and no allocation while streaming.
//! Two ids of one task colliding needs ~2^32 ids; at a million the chance is
//! about 3 in 10^8 per run, and its effect is one record treated as changed
//! or unchanged wrongly until the next cache clear.
//!
//! Blob layout, repeated (little endian): u64 id hash, u64 value hash, u64
//! record hash, i64 card id. The record hash is that of the output element
//! the card was made from, exactly as the source wrote it ([`Entry::record`]):
//! a re-run finds most records byte for byte as they were, and pass one
//! skips reading them (see `RecordIndex`). 0 means not known.
//!
//! A run that changes few entries writes only its changes (the delta)
//! beside the entries stored whole, as long as the changes stay small next
//! to them: rewriting a million entries (32 MB, then the same again at the
//! checkpoint) to change 2 % of them was a fifth of a partial HR run, and
//! the commit of a full script re-run waited for it too. A full run's
//! changes are the ids it wrote, added or dropped; a partial run's are the
//! ids it touched. Entries written whole are sorted by
//! id, and so is the delta; in the delta a card id of [`REMOVED`] marks an id
//! that left the cache. Readers merge the two.

/// One cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The object id's hash ([`key_hash`]).
    pub id: u64,
    /// The hash of the card values last written ([`hash`]).
    pub hash: u64,
    /// The hash of the record they were made from (`RecordShape::record_hash`), 0 when not known.
    pub record: u64,
    pub card: i64,
}

impl Entry {
    pub fn new(id: u64, hash: u64, record: u64, card: i64) -> Self {
        Entry {
            id,
            hash,
            record,
            card,
        }
    }

    /// In a delta: `id` is no longer in the cache.
    pub fn removed(id: u64) -> Self {
        Entry::new(id, 0, 0, REMOVED)
    }
}

/// What the pipeline knows about one object id during a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slot {
    /// From the cache: hash and card of the last write.
    pub cached_hash: u64,
    pub card: i64,
    /// This run: hash of the new values.
    pub new_hash: u64,
    /// This run: hash of the record read (0: not known).
    pub new_record: u64,
    /// How often the id occurred in valid records this run.
    pub occurrences: u32,
    pub cached: bool,
    /// A record with this id was blocked this run.
    pub blocked: bool,
    /// Its card's removal is held for approval: the cache keeps what it knew.
    pub held: bool,
    /// The record read this run is the one the cache knows, byte for byte.
    pub same_record: bool,
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

    /// The entry the cache keeps for `id` after the run, if any, and
    /// whether it is the stored one unchanged. `incremental`: the run read
    /// only part of the data, so an id it did not read is still known.
    fn kept(&self, id: u64, incremental: bool) -> Option<(Entry, bool)> {
        if self.loadable() {
            let unchanged = self.cached && self.new_hash == self.cached_hash && self.same_record;
            Some((
                Entry::new(id, self.new_hash, self.new_record, self.card),
                unchanged,
            ))
        } else if self.cached && (incremental || self.occurrences > 0 || self.blocked || self.held) {
            // Not loaded this time but still known: keep what was written
            // before (the record it was made from is not known here).
            Some((Entry::new(id, self.cached_hash, 0, self.card), true))
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
    touched: Vec<Entry>,
    delta: Option<Vec<Entry>>,
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
        let mut touched: Vec<Entry> = slots
            .touched()
            .filter_map(|(&id, slot)| match slot.kept(id, incremental) {
                Some((entry, _)) => Some(entry),
                // Known before, gone now: a delta says so.
                None if incremental && slot.cached => Some(Entry::removed(id)),
                None => None,
            })
            .collect();
        touched.sort_unstable_by_key(|e| e.id);
        let delta = if incremental {
            slots.delta_base.as_ref().and_then(|base| base.next(&touched))
        } else {
            None
        };
        if delta.is_none() {
            touched.retain(|e| e.card != REMOVED);
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
        let mut write = |entry: Entry| -> std::io::Result<()> {
            encode_entry(&mut chunk, entry);
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
                    while let Some(t) = touched.next_if(|t| t.id < kept.id) {
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
/// its hash changed), so its card is the stored one too; it is a change
/// still when its record was read with other bytes (the record hash to keep).
fn full_run_changes(slots: &Slots) -> Vec<Entry> {
    let mut changes: Vec<Entry> = slots
        .touched()
        .filter_map(|(&id, slot)| match slot.kept(id, false) {
            Some((_, true)) => None,
            Some((entry, false)) => Some(entry),
            None if slot.cached => Some(Entry::removed(id)),
            None => None,
        })
        .collect();
    changes.sort_unstable_by_key(|e| e.id);
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
pub const ENTRY_SIZE: usize = 32;

/// In a delta, the card id of an id that is no longer in the cache.
pub const REMOVED: i64 = i64::MIN;

/// A delta is written while it holds at most one entry per this many stored whole.
const DELTA_SHARE: usize = 8;

/// What a run that may write a delta read: how many entries are stored
/// whole, and the delta stored on top of them.
#[derive(Debug, Default)]
pub struct DeltaBase {
    pub whole: usize,
    pub delta: Vec<Entry>,
}

impl DeltaBase {
    /// The delta to store after a run that touched `changes` (sorted by id;
    /// [`REMOVED`] for ids that left), or `None` when it has grown too big
    /// and the cache is better written whole.
    pub fn next(&self, changes: &[Entry]) -> Option<Vec<Entry>> {
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
    /// Stored entries sorted by id; ids in `touched` are shadowed.
    kept: Vec<Entry>,
    /// Set when the stored cache had entries written whole, sorted: the run may write a delta.
    pub delta_base: Option<DeltaBase>,
    /// The stored record hashes, for pass one (see [`RecordIndex`]).
    records: Option<RecordIndex>,
}

impl Slots {
    /// The slot of an id this run touches, made from the stored cache on first touch.
    pub fn entry(&mut self, id: u64) -> &mut Slot {
        let kept = &self.kept;
        self.touched
            .entry(id, || match kept.binary_search_by_key(&id, |e| e.id) {
                Ok(at) => Slot {
                    cached_hash: kept[at].hash,
                    card: kept[at].card,
                    cached: true,
                    ..Default::default()
                },
                Err(_) => Slot::default(),
            })
    }

    /// Where the slot of an id this run touched is ([`Slots::at_mut`]).
    pub fn position(&self, id: u64) -> Option<usize> {
        self.touched.position(id)
    }

    /// The slot at a [`Slots::position`] (slots are never moved or removed during a run).
    pub fn at_mut(&mut self, position: usize) -> &mut Slot {
        &mut self.touched.slots[position].1
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

    /// Stored entries this run did not touch.
    pub fn untouched(&self) -> impl Iterator<Item = Entry> + '_ {
        self.kept
            .iter()
            .filter(|e| !self.touched.contains_key(e.id))
            .copied()
    }

    /// The stored record hashes by id, handed to pass one's workers (once).
    pub fn take_records(&mut self) -> Option<RecordIndex> {
        self.records.take()
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
    if whole && entries(&row.entries).map(|e| e.id).is_sorted() {
        // Straight into the map, the delta merged in on the way: no second
        // copy of a million entries. Sorted entries can take a delta next.
        let delta: Vec<Entry> = entries(&row.delta).collect();
        let merged = Merged {
            base: entries(&row.entries).peekable(),
            changes: delta.iter().copied().peekable(),
            drop_removed: true,
        };
        let mut records = RecordIndex::collecting(stored_whole + delta.len());
        insert_cached(
            &mut slots,
            merged.inspect(|e| records.push(e)),
            stored_whole + delta.len(),
        );
        slots.records = records.finish();
        if stored_whole > 0 {
            slots.delta_base = Some(DeltaBase {
                whole: stored_whole,
                delta,
            });
        }
        return slots;
    }
    let mut kept: Vec<Entry> = entries(&row.entries).collect();
    let sorted = kept.is_sorted_by_key(|e| e.id);
    // Older versions wrote a full run's cache unsorted; sorted once here.
    if !sorted {
        kept.sort_unstable_by_key(|e| e.id);
    }
    let delta: Vec<Entry> = entries(&row.delta).collect();
    if !delta.is_empty() {
        kept = merge(&kept, &delta, true);
    }
    let mut records = RecordIndex::collecting(kept.len());
    kept.iter().for_each(|e| records.push(e));
    slots.records = records.finish();
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
struct Merged<B: Iterator<Item = Entry>, C: Iterator<Item = Entry>> {
    base: std::iter::Peekable<B>,
    changes: std::iter::Peekable<C>,
    drop_removed: bool,
}

impl<B: Iterator<Item = Entry>, C: Iterator<Item = Entry>> Iterator for Merged<B, C> {
    type Item = Entry;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let next = match (self.base.peek(), self.changes.peek()) {
                (Some(b), Some(c)) if c.id < b.id => self.changes.next(),
                (Some(b), Some(c)) if c.id == b.id => {
                    self.base.next();
                    self.changes.next()
                }
                (Some(_), _) => self.base.next(),
                (None, _) => self.changes.next(),
            }?;
            if !(self.drop_removed && next.card == REMOVED) {
                return Some(next);
            }
        }
    }
}

/// A blob's entries, in stored order.
fn entries(blob: &[u8]) -> impl ExactSizeIterator<Item = Entry> + '_ {
    blob.chunks_exact(ENTRY_SIZE).map(|e| {
        let word = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
        Entry::new(word(0), word(8), word(16), word(24) as i64)
    })
}

/// Each entry as the slot of an id known from the cache (a run that reads
/// all of the data); `about`: how many there are, at most.
fn insert_cached(into: &mut Slots, entries: impl Iterator<Item = Entry>, about: usize) {
    into.touched.reserve(about);
    for e in entries {
        // A blob holds each id once; were one there twice, the later entry wins.
        *into.touched.entry(e.id, Slot::default) = Slot {
            cached_hash: e.hash,
            card: e.card,
            cached: true,
            ..Default::default()
        };
    }
}

/// `base` with `changes` applied, both sorted by id, collected (see [`Merged`]).
fn merge(base: &[Entry], changes: &[Entry], drop_removed: bool) -> Vec<Entry> {
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
pub fn patched(row: &crate::store::CacheRow, changes: &[Entry]) -> (Vec<u8>, bool) {
    let slots = slots_of(Some(row), false);
    let (entries, delta) = match slots.delta_base.as_ref().and_then(|base| base.next(changes)) {
        Some(delta) => (delta, true),
        None => (merge(&slots.kept, changes, true), false),
    };
    let mut out = Vec::with_capacity(entries.len() * ENTRY_SIZE);
    for entry in entries {
        encode_entry(&mut out, entry);
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
pub fn encode_entry(out: &mut Vec<u8>, entry: Entry) {
    out.extend_from_slice(&entry.id.to_le_bytes());
    out.extend_from_slice(&entry.hash.to_le_bytes());
    out.extend_from_slice(&entry.record.to_le_bytes());
    out.extend_from_slice(&entry.card.to_le_bytes());
}

/// Entries per bucket of a [`RecordIndex`], about: few enough that a
/// bucket is a cache line or a few, read at once; enough that the bucket
/// starts of a million entries (0.5 MB) stay in the core's cache instead of
/// costing a second read from memory per record (measured: the two reads
/// were nine tenths of pass one's workers' time on a re-run).
const RECORDS_PER_BUCKET: usize = 8;

/// The record hashes of the stored cache by object id, read-only, for pass
/// one's workers while the run's own slots change: a record that hashes as
/// the stored one is the record the stored card was made from, so it is
/// neither read nor validated again. Ids are hashes already (uniform): the
/// top bits pick a bucket of about [`RECORDS_PER_BUCKET`] entries, side by
/// side, no probing.
#[derive(Debug, Default)]
pub struct RecordIndex {
    /// (id, record hash), sorted by id; unknown record hashes left out.
    entries: Vec<(u64, u64)>,
    /// Where each bucket's entries start (one more than the buckets).
    starts: Vec<u32>,
    shift: u32,
}

impl RecordIndex {
    /// An index to fill with entries in id order (see [`RecordIndex::push`]).
    fn collecting(about: usize) -> Self {
        RecordIndex {
            entries: Vec::with_capacity(about),
            ..Default::default()
        }
    }

    fn push(&mut self, e: &Entry) {
        if e.record != 0 {
            self.entries.push((e.id, e.record));
        }
    }

    /// The index, or `None` when it knows no record (a cache from before
    /// record hashes, or nothing stored).
    fn finish(mut self) -> Option<Self> {
        let n = self.entries.len();
        if n == 0 || n > u32::MAX as usize {
            return None;
        }
        self.entries.shrink_to_fit();
        let bits = (usize::BITS - (n / RECORDS_PER_BUCKET).leading_zeros()).clamp(1, 32);
        self.shift = 64 - bits;
        let buckets = 1usize << bits;
        self.starts = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for bucket in 0..=buckets {
            while at < n && ((self.entries[at].0 >> self.shift) as usize) < bucket {
                at += 1;
            }
            self.starts.push(at as u32);
        }
        Some(self)
    }

    /// The stored record hash of `id`.
    pub fn get(&self, id: u64) -> Option<u64> {
        let bucket = (id >> self.shift) as usize;
        let (from, to) = (self.starts[bucket] as usize, self.starts[bucket + 1] as usize);
        self.entries[from..to].iter().find(|e| e.0 == id).map(|e| e.1)
    }
}

/// A fingerprint of everything that decides what a card looks like: a change
/// of mappings, template or key attributes (or of the cache format) invalidates the cache.
pub fn mappings_hash(task: &crate::model::Task) -> String {
    let basis = serde_json::json!([
        "cache-v3",
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
        encode_entry(&mut blob, Entry::new(key_hash("emp-1"), 42, 5, 7));
        encode_entry(&mut blob, Entry::new(key_hash("ä"), u64::MAX, 0, -1));
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
            encode_entry(&mut blob, e(key_hash(key), i as u64, 10 + i as i64));
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
        let mut rest: Vec<i64> = slots.untouched().map(|e| e.card).collect();
        rest.sort();
        assert_eq!(rest, [10, 12]);
        assert_eq!(slots_of(Some(&row), true).touched().count(), 3);
    }

    /// An entry without a known record.
    fn e(id: u64, hash: u64, card: i64) -> Entry {
        Entry::new(id, hash, 0, card)
    }

    fn blob(entries: &[(u64, u64, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(k, h, c) in entries {
            encode_entry(&mut out, e(k, h, c));
        }
        out
    }

    fn tuples(entries: impl Iterator<Item = Entry>) -> Vec<(u64, u64, i64)> {
        entries.map(|e| (e.id, e.hash, e.card)).collect()
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
            tuples(partial.untouched()),
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
            delta: vec![e(2, 20, 200), Entry::removed(5)],
        };
        // The newer change wins; removal marks stay in a delta.
        let next = base.next(&[e(2, 21, 200), e(7, 70, 700)]).unwrap();
        assert_eq!(
            tuples(next.into_iter()),
            [(2, 21, 200), (5, 0, REMOVED), (7, 70, 700)]
        );
        let many: Vec<Entry> = (100..110).map(|i| e(i, i, i as i64)).collect();
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
        assert_eq!(tuples(slots.untouched()), [(1, 10, 100), (3, 30, 300)]);
    }

    /// A full run over `row`'s cache: every id but `gone` read again, those
    /// in `changed` from other records with another value hash, the rest
    /// from the records stored, and id 1000 new.
    fn full_run(row: &crate::store::CacheRow, gone: u64, changed: &[u64]) -> (bool, Vec<u8>) {
        let mut slots = slots_of(Some(row), true);
        let ids: Vec<u64> = slots.touched().map(|(k, _)| *k).collect();
        for id in ids.into_iter().filter(|&i| i != gone) {
            let slot = slots.entry(id);
            slot.occurrences = 1;
            let change = changed.contains(&id);
            slot.new_hash = slot.cached_hash + u64::from(change);
            slot.same_record = !change;
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
            tuples(entries(&written)),
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
        assert_eq!(tuples(slots_of(Some(&after), false).untouched()), expected);
        // Ten changes on 64 entries: the cache is written whole, the delta folded in.
        let (delta, written) = full_run(&row, 5, &(10..20).collect::<Vec<_>>());
        assert!(!delta);
        let stored = tuples(entries(&written));
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
            tuples(slots_of(Some(&row), false).untouched())
        };
        // One change on 16 entries: a delta, merged with the one stored.
        let (entries, delta) = patched(&row, &[e(4, 41, 400)]);
        assert!(delta);
        let seen = read(entries, delta);
        assert_eq!((seen[2], seen[3], seen.len()), ((3, 31, 300), (4, 41, 400), 16));
        // Many: written whole, with the stored delta folded in.
        let many: Vec<Entry> = (5..=9).map(|i| e(i, i * 11, i as i64 * 100)).collect();
        let (entries, delta) = patched(&row, &many);
        assert!(!delta);
        let seen = read(entries, delta);
        assert_eq!(
            (seen[2], seen[4], seen[15]),
            ((3, 31, 300), (5, 55, 500), (16, 160, 1600))
        );
    }

    #[test]
    fn a_record_read_with_other_bytes_is_a_change_of_its_entry_even_with_the_same_values() {
        let whole: Vec<Entry> = (1..=64)
            .map(|i| Entry::new(i, i * 10, i + 500, i as i64 * 100))
            .collect();
        let mut out = Vec::new();
        whole.iter().for_each(|&entry| encode_entry(&mut out, entry));
        let row = crate::store::CacheRow {
            mappings_hash: "m".into(),
            entries: out,
            // 3 was last written without knowing its record.
            delta: blob(&[(3, 31, 300)]),
            last_successful_extract: None,
        };
        let mut slots = slots_of(Some(&row), true);
        let index = slots.take_records().expect("the stored records are known");
        assert_eq!(
            (index.get(2), index.get(3), index.get(65)),
            (Some(502), None, None)
        );
        for id in 1..=64 {
            let slot = slots.entry(id);
            slot.occurrences = 1;
            slot.new_hash = slot.cached_hash;
            // 4: the same values from other bytes (an attribute the task does not map changed, say).
            (slot.new_record, slot.same_record) = match id {
                4 => (9_999, false),
                3 => (503, false),
                _ => (id + 500, true),
            };
        }
        let next = NextCache::after(&slots, false);
        let mut written = Vec::new();
        next.write_to(&mut written).unwrap();
        assert!(next.is_delta());
        let stored: Vec<Entry> = entries(&written).collect();
        assert_eq!(
            stored,
            [Entry::new(3, 31, 503, 300), Entry::new(4, 40, 9_999, 400)],
            "the records now known are kept; values and cards as they were"
        );
        // A cache from before record hashes offers pass one nothing to skip.
        let old = crate::store::CacheRow {
            entries: blob(&[(1, 10, 100)]),
            delta: Vec::new(),
            ..row.clone()
        };
        assert!(slots_of(Some(&old), true).take_records().is_none());
        assert!(slots_of(Some(&old), false).take_records().is_none());
    }

    #[test]
    fn the_record_index_finds_every_id_of_a_large_cache_and_no_other() {
        let ids: Vec<u64> = (0..5_000u64)
            .map(|i| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes()))
            .collect();
        let mut sorted: Vec<Entry> = ids.iter().map(|&id| Entry::new(id, 1, id ^ 7, 1)).collect();
        sorted.sort_unstable_by_key(|e| e.id);
        let mut index = RecordIndex::collecting(sorted.len());
        sorted.iter().for_each(|e| index.push(e));
        let index = index.finish().unwrap();
        assert!(ids.iter().all(|&id| index.get(id) == Some(id ^ 7)));
        assert!((5_000..6_000u64)
            .map(|i| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes()))
            .all(|id| index.get(id).is_none()));
        assert_eq!((index.get(0), index.get(u64::MAX)), (None, None));
    }
}
