//! The load's own connection to the card store (`datacards.db`): rusqlite
//! with prepared statements, several times faster than one async statement
//! per row, inside one `BEGIN IMMEDIATE` transaction that also carries the
//! task's cache and the run's final state, so a crash at any point commits
//! all or nothing. [`crate::targets::local`] offers it to the pipeline as a
//! load target; the SQL stays here, with the rest of the store's.
//!
//! rusqlite and sqlx (the rest of the store) open the same files and must
//! link one `libsqlite3-sys`: SQLite's locks are only coherent within one
//! copy of the library. They are upgraded together; `tools/test.sh` fails
//! when `cargo tree` finds two copies.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{EngineError, Result};
use crate::model::card::{
    CacheEntries, CacheWrite, CardRef, CardWrite, CardsByKey, Foreseen, RemovalQuery, Upsert,
};

/// Page cache of the load connection. SQLite's default (2 MB) makes a big
/// transaction evict and re-read the pages it keeps coming back to (the
/// right edges of the B-trees, the cards a re-run updates).
const LOAD_CACHE_KIB: u32 = 32 * 1024;

/// A WAL this large makes the commit's checkpoint worth syncing in the background.
const BIG_WAL: u64 = 32 << 20;

/// A commit folds the overlay (`card_overlay`, see `store::cards`) into the
/// cards' rows once it holds more than one card in this many: reading a card
/// stays a lookup in a small table, and a fold writes many runs' changes
/// to a page at once (at 2 % changed a day, a million cards fold every few days).
const FOLD_SHARE: i64 = 16;

/// New cards written by one INSERT: a statement per row costs more than
/// the row itself (statement lookup, binding, cursors opened and closed).
const ROWS_PER_INSERT: usize = 64;

/// Room for growth kept at the end of every card's `data`, as trailing
/// whitespace after the JSON object (every JSON reader skips it).
///
/// SQLite has no fill factor: a bulk load packs its pages full, and the
/// first value that grows splits its page and rebalances it with both
/// siblings. A re-run changing every 50th card this way rewrote almost every
/// page of the table (a 630 MB WAL for 20,000 cards); now the fold of the
/// overlay writes them, and without the room it took 2.5 s instead of 0.9 s
/// for those cards (a 561 MB WAL instead of 167 MB). A row whose new values
/// fit in its room keeps its size, and SQLite overwrites a cell of the same
/// size in place: one page per changed card. Overlay rows keep their card's
/// size too, and are overwritten in place by the next change.
fn room_for(len: usize) -> usize {
    (len / 4).max(32)
}

/// `json` followed by spaces up to `size`, or with fresh room when it has outgrown `size`.
fn with_room(json: &str, size: usize, out: &mut String) {
    let size = if json.len() <= size {
        size
    } else {
        json.len() + room_for(json.len())
    };
    const SPACES: &str = "                                                                ";
    out.clear();
    out.reserve(size);
    out.push_str(json);
    while out.len() < size {
        out.push_str(&SPACES[..SPACES.len().min(size - out.len())]);
    }
}

/// A card compared again (after a cache clear, say) most often holds the
/// very text it is patched with (`old` with its room): no field to look at.
fn same_text(old: &str, patch: &str) -> bool {
    old.trim_end_matches(' ') == patch
}

/// What writing `patch` onto card values `old` does: the new text with
/// `old`'s room when the Rust patch wrote it and it differs (`None`: SQLite's
/// `json_patch` writes it), and the fields it changes before and after
/// (`Some(None)`: none; `None`: only SQLite can tell).
type PatchOutcome = (Option<String>, Option<Option<(String, String)>>);

fn patch_outcome(old: &str, patch: &str) -> PatchOutcome {
    match super::card_patch::patch(old, patch) {
        Some(patched) if patched.change.is_none() => (None, Some(None)),
        Some(patched) => {
            let mut data = String::new();
            with_room(&patched.data, old.len(), &mut data);
            (Some(data), Some(patched.change))
        }
        None => (None, changed_fields(old, patch)),
    }
}

/// Whether card values `old` hold every field of `patch` already, as
/// [`BulkCards::write_patch`] finds it (there it then writes nothing).
fn holds_already(old: &str, patch: &str) -> bool {
    same_text(old, patch) || patch_outcome(old, patch).1 == Some(None)
}

/// The fields `patch` changes in `old` (card values as JSON text, with its
/// room): their values before and after as two JSON objects, `Some(None)`
/// when nothing changes, `None` when either is not an object of plain keys.
/// Values compare as text: every card value and patch is written compact by
/// the same serializer (a field written as null where there was none is no change).
pub(super) fn changed_fields(old: &str, patch: &str) -> Option<Option<(String, String)>> {
    use serde_json::value::RawValue;
    let old: std::collections::HashMap<&str, &RawValue> = serde_json::from_str(old.trim_end()).ok()?;
    let new: std::collections::BTreeMap<&str, &RawValue> = serde_json::from_str(patch).ok()?;
    let (mut before, mut after) = (String::from("{"), String::from("{"));
    for (field, now) in new {
        let was = old.get(field).map(|v| v.get());
        if was == Some(now.get()) || (was.is_none() && now.get() == "null") {
            continue;
        }
        if before.len() > 1 {
            before.push(',');
            after.push(',');
        }
        let key = serde_json::to_string(field).ok()?;
        before.push_str(&key);
        before.push(':');
        before.push_str(was.unwrap_or("null"));
        after.push_str(&key);
        after.push(':');
        after.push_str(now.get());
    }
    if before.len() == 1 {
        return Some(None);
    }
    before.push('}');
    after.push('}');
    Some(Some((before, after)))
}

/// A source record's fingerprint: xxh3 of its object id and mapped values, hex.
pub fn fingerprint(key: &str, values: &str) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(key.as_bytes());
    hasher.update(&[0]);
    hasher.update(values.as_bytes());
    format!("{:016x}", hasher.digest())
}

/// A card's values as stored, without the room kept after them.
fn stored_values(data: &str) -> &str {
    data.trim_end_matches(' ')
}

/// SQL `source_fingerprint(object_key, data)`: the [`fingerprint`] of the
/// record a card holds.
fn register_source_fingerprint(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "source_fingerprint",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let key: String = ctx.get(0)?;
            let data: String = ctx.get(1)?;
            Ok(fingerprint(&key, stored_values(&data)))
        },
    )
}

/// SQL `card_data(json, previous_size)`: the new values of a card in the
/// room of its previous ones (see [`room_for`]).
fn register_card_data(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "card_data",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let json = ctx
                .get_raw(0)
                .as_str()
                .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
            let size: i64 = ctx.get(1)?;
            let mut out = String::new();
            with_room(json, usize::try_from(size).unwrap_or(0), &mut out);
            Ok(out)
        },
    )
}

pub struct BulkCards {
    conn: Connection,
    database: std::path::PathBuf,
    /// Syncs the WAL while a load writes it (see `writeback`).
    writeback: Option<super::writeback::Writeback>,
    now: String,
    /// `now` as cards keep it: ms since 1970.
    now_ms: i64,
    in_tx: bool,
    /// (template, key attribute, has no cards yet) for the pairs checked so
    /// far: a first load into an empty pair needs no lookups (ids within one
    /// run are unique). A load writes one pair, so a list is searched without
    /// allocating a key per card.
    empty: Vec<(i64, i64, bool)>,
    /// `card_names` ids looked up so far (a load uses four).
    names: Vec<(String, i64)>,
    /// New cards' values with their room, reused (one per row of an INSERT).
    padded: Vec<String>,
    /// The id the next new card gets; ids are given out here so that one
    /// INSERT of many rows knows the id of each (read at the first insert).
    next_id: Option<i64>,
    /// The run whose changes are journalled (`None`: nothing is).
    journal_run: Option<String>,
    /// Cards created and not journalled yet: (first id, how many), consecutive.
    created: Option<(i64, i64)>,
    /// Secret values masked in this unit's journal rows at commit, and the
    /// last journal row before the unit (its rows come after).
    journal_masks: Vec<String>,
    journal_from: i64,
    /// Changed cards' journal rows not written yet (see [`BulkCards::flush_journal`]).
    pending_journal: Vec<PendingChange>,
    /// Ids of the cards with values in the overlay, read once per
    /// transaction (`None` outside one, or not read yet): a card looked up
    /// is looked for there only when it is one of them (asking the overlay
    /// for each of a million cards compared again cost ~0.3 s).
    overlaid: Option<std::collections::HashSet<i64>>,
}

/// A changed card's journal row, kept until [`BulkCards::flush_journal`]
/// writes it with its neighbours: one statement per table for up to
/// [`ROWS_PER_INSERT`] rows instead of three statements per card (a 2 % re-run
/// journals 20,000 cards).
#[derive(Debug)]
struct PendingChange {
    card: i64,
    before: String,
    after: String,
    /// The fingerprint of the source record written ([`fingerprint`]).
    source: Option<String>,
    /// The fingerprint of the record the card was created from, kept if this is its first change.
    origin: Option<String>,
}

/// `head` followed by `n` copies of `row`, comma-separated: a many-row INSERT.
fn many_rows(head: &str, row: &str, n: usize) -> String {
    let mut sql = String::with_capacity(head.len() + n * (row.len() + 1));
    sql.push_str(head);
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(row);
    }
    sql
}

/// The numbers of a card's names (`card_names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Names {
    template: i64,
    folder: i64,
    key_attribute: i64,
    task: i64,
}

impl std::fmt::Debug for BulkCards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkCards").field("in_tx", &self.in_tx).finish()
    }
}

fn db(e: rusqlite::Error) -> EngineError {
    EngineError::CardStore(e)
}

/// Copies what the WAL holds into the database and closes: the last
/// connection to close removes the WAL (see `Engine::close`). Gives up at
/// once when another connection is busy.
pub fn checkpoint_and_close(database: &Path) {
    // A moment's wait (a connection of this process may still be letting
    // go of its lock), never more: another process's load must not hold
    // this one's exit.
    if let Ok(conn) = open_existing(database, Duration::from_millis(250)) {
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// A connection of its own to a database file that must already be there,
/// waiting up to `busy` for another writer. Read-write without create: it
/// never makes a file that is not there, and (unlike a read-only one) it
/// works on a WAL file whose shared-memory file is not there yet.
pub(super) fn open_existing(database: &Path, busy: Duration) -> rusqlite::Result<Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(database, flags)?;
    conn.busy_timeout(busy)?;
    Ok(conn)
}

impl BulkCards {
    /// Starts the load's transaction once no other load holds the card
    /// store (loads take turns), checking `stopped` every second and giving
    /// up after `limit`.
    pub fn begin_in_turn(&mut self, stopped: &std::sync::atomic::AtomicBool, limit: Duration) -> Result<()> {
        let started = std::time::Instant::now();
        self.conn.busy_timeout(Duration::from_secs(1)).map_err(db)?;
        let begun = loop {
            match self.conn.execute_batch("BEGIN IMMEDIATE") {
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                        break Err(EngineError::Stopped {
                            message: "stopped while waiting for another task's load to finish".into(),
                        });
                    }
                    if started.elapsed() > limit {
                        break Err(EngineError::Busy {
                            message: format!(
                                "another task's load held the card store for more than {} s; try again when it has finished",
                                limit.as_secs()
                            ),
                        });
                    }
                }
                other => break other.map_err(db),
            }
        };
        self.conn.busy_timeout(super::BUSY_TIMEOUT).map_err(db)?;
        begun?;
        self.started_transaction();
        Ok(())
    }

    /// Bookkeeping once `BEGIN IMMEDIATE` succeeded.
    fn started_transaction(&mut self) {
        self.next_id = None;
        self.overlaid = None;
        self.in_tx = true;
        let wal = format!("{}-wal", self.database.display());
        self.writeback = Some(super::writeback::Writeback::start(wal.into()));
    }

    pub fn open(database: &Path) -> Result<Self> {
        let conn = Connection::open(database).map_err(db)?;
        conn.busy_timeout(super::BUSY_TIMEOUT).map_err(db)?;
        for (name, value) in super::PRAGMAS {
            conn.pragma_update(None, name, value).map_err(db)?;
        }
        conn.pragma_update(None, "cache_size", -i64::from(LOAD_CACHE_KIB))
            .map_err(db)?;
        register_card_data(&conn).map_err(db)?;
        register_source_fingerprint(&conn).map_err(db)?;
        Ok(BulkCards {
            conn,
            database: database.to_path_buf(),
            writeback: None,
            now: crate::clock::now(),
            now_ms: chrono::Utc::now().timestamp_millis(),
            in_tx: false,
            empty: Default::default(),
            padded: Vec::new(),
            names: Vec::new(),
            next_id: None,
            journal_run: None,
            created: None,
            journal_masks: Vec::new(),
            journal_from: 0,
            pending_journal: Vec::new(),
            overlaid: None,
        })
    }

    /// One record: the cached card first, then the card whose key attribute holds the key.
    fn upsert_one(&mut self, names: Names, c: &CardWrite) -> Result<Upsert> {
        let Names {
            template,
            key_attribute,
            task,
            ..
        } = names;
        let mut found: Option<FoundCard> = None;
        if let Some(id) = c.known_card {
            let mut s = self
                .conn
                .prepare_cached(
                    "SELECT id, task, key_attribute, data, object_key FROM datacards
                      WHERE id = ?1 AND template = ?2 AND object_key = ?3",
                )
                .map_err(db)?;
            found = s
                .query_row(params![id, template, c.key], found_card)
                .optional()
                .map_err(db)?;
            drop(s);
            found = found.map(|f| self.with_newer_values(f)).transpose()?;
        }
        if found.is_none() && !self.no_cards_yet(template, key_attribute)? {
            found = self.card_by_key(template, key_attribute, c.key)?;
        }
        let Some(found) = found else {
            let mut out = Vec::with_capacity(1);
            self.insert_cards(names, &[c], &mut out)?;
            return Ok(out[0]);
        };
        let (id, previous_task) = (found.id, found.task);
        // Indexed columns are left out when they stay the same: setting
        // them would rewrite the card's index entry.
        let same_owner = previous_task == Some(task) && found.key_attribute == Some(key_attribute);
        let owner = (!same_owner).then_some((task, key_attribute, c.key));
        let written = self.write_patch(
            id,
            &found.data,
            found.object_key.as_deref(),
            c.data,
            Some(c.key),
            owner,
        )?;
        let card = CardRef { id };
        Ok(match previous_task {
            Some(p) if p != task => Upsert::TakenOver(card),
            _ if written => Upsert::Updated(card),
            _ => Upsert::Unchanged(card),
        })
    }

    /// The card of `template` whose `key_attribute` holds `key`, as a load
    /// finds it (the first in the index's order).
    fn card_by_key(&mut self, template: i64, key_attribute: i64, key: &str) -> Result<Option<FoundCard>> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT id, task, key_attribute, data, object_key FROM datacards INDEXED BY datacards_by_key
                 WHERE template = ?1 AND key_attribute = ?2 AND object_key = ?3 LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![template, key_attribute, key], found_card)
                    .optional()
            })
            .map_err(db)?;
        found.map(|f| self.with_newer_values(f)).transpose()
    }

    /// `found` with its values from the overlay, when it has newer ones there.
    fn with_newer_values(&mut self, mut found: FoundCard) -> Result<FoundCard> {
        if self.in_tx && self.overlaid.is_none() {
            let mut s = self
                .conn
                .prepare_cached("SELECT id FROM card_overlay")
                .map_err(db)?;
            let ids = s.query_map([], |r| r.get(0)).map_err(db)?;
            self.overlaid = Some(ids.collect::<rusqlite::Result<_>>().map_err(db)?);
        }
        if self.overlaid.as_ref().is_none_or(|ids| ids.contains(&found.id)) {
            let newer: Option<String> = self
                .conn
                .prepare_cached("SELECT data FROM card_overlay WHERE id = ?1")
                .and_then(|mut s| s.query_row([found.id], |r| r.get(0)).optional())
                .map_err(db)?;
            if let Some(data) = newer {
                found.data = data;
            }
        }
        Ok(found)
    }

    /// Notes whether card `id` has values in the overlay now.
    fn overlaid(&mut self, id: i64, now: bool) {
        if let Some(ids) = &mut self.overlaid {
            if now {
                ids.insert(id);
            } else {
                ids.remove(&id);
            }
        }
    }

    /// What [`BulkCards::upsert_all`] would do with `c`, read without
    /// writing: the card whose key attribute holds its key (the cache's card
    /// is not asked for: the records foreseen are those it did not know).
    pub fn foresee(&mut self, c: &CardWrite) -> Result<Foreseen> {
        let (Some(template), Some(key_attribute)) =
            (self.known_name(c.template)?, self.known_name(c.key_attribute)?)
        else {
            return Ok(Foreseen::New);
        };
        let Some(found) = self.card_by_key(template, key_attribute, c.key)? else {
            return Ok(Foreseen::New);
        };
        let task = self.known_name(c.task_id)?;
        let same_owner = task.is_some() && found.task == task && found.key_attribute == Some(key_attribute);
        Ok(if same_owner && holds_already(&found.data, c.data) {
            Foreseen::Same
        } else {
            Foreseen::Changes
        })
    }

    /// The cards of `template` whose `key_attribute` holds one of `keys`
    /// (the card the load would pick), with their values, by key.
    pub fn cards_by_keys(
        &mut self,
        template: &str,
        key_attribute: &str,
        keys: &[&str],
    ) -> Result<CardsByKey> {
        let mut out = CardsByKey::new();
        let (Some(template), Some(key_attribute)) =
            (self.known_name(template)?, self.known_name(key_attribute)?)
        else {
            return Ok(out);
        };
        for key in keys {
            if let Some(found) = self.card_by_key(template, key_attribute, key)? {
                let values = serde_json::from_str(&found.data).unwrap_or_default();
                out.insert(key.to_string(), (CardRef { id: found.id }, values));
            }
        }
        Ok(out)
    }

    /// The `card_names` id of `name`, if any card ever used it.
    fn known_name(&mut self, name: &str) -> Result<Option<i64>> {
        if let Some((_, id)) = self.names.iter().find(|(n, _)| n == name) {
            return Ok(Some(*id));
        }
        let id: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM card_names WHERE name = ?1")
            .and_then(|mut s| s.query_row(params![name], |r| r.get(0)).optional())
            .map_err(db)?;
        if let Some(id) = id {
            self.names.push((name.to_string(), id));
        }
        Ok(id)
    }

    fn names_of(&mut self, c: &CardWrite) -> Result<Names> {
        Ok(Names {
            template: self.name(c.template)?,
            folder: self.name(c.folder)?,
            key_attribute: self.name(c.key_attribute)?,
            task: self.name(c.task_id)?,
        })
    }

    /// Whether no card of `template` has yet been matched by `key_attribute`
    /// (remembered: within one run ids are unique, so it stays true for the run).
    fn no_cards_yet(&mut self, template: i64, key_attribute: i64) -> Result<bool> {
        if let Some((_, _, e)) = self
            .empty
            .iter()
            .find(|(t, k, _)| *t == template && *k == key_attribute)
        {
            return Ok(*e);
        }
        let e: bool = self
            .conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM datacards INDEXED BY datacards_by_key
                 WHERE template = ?1 AND key_attribute = ?2)",
                params![template, key_attribute],
                |r| r.get(0),
            )
            .map_err(db)?;
        self.empty.push((template, key_attribute, e));
        Ok(e)
    }

    /// The first of `n` consecutive new card ids.
    fn take_ids(&mut self, n: usize) -> Result<i64> {
        // Outside a transaction another writer may insert between two statements.
        let first = match self.next_id.filter(|_| self.in_tx) {
            Some(id) => id,
            None => {
                let max: i64 = self
                    .conn
                    .query_row("SELECT IFNULL(MAX(id), 0) FROM datacards", [], |r| r.get(0))
                    .map_err(db)?;
                max + 1
            }
        };
        self.next_id = Some(first + n as i64);
        Ok(first)
    }

    /// Inserts new cards sharing `names`, `ROWS_PER_INSERT` per statement.
    fn insert_cards(&mut self, names: Names, cards: &[&CardWrite], out: &mut Vec<Upsert>) -> Result<()> {
        static MANY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static ONE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        for chunk in cards.chunks(ROWS_PER_INSERT) {
            if chunk.len() == ROWS_PER_INSERT {
                self.insert_rows(
                    MANY.get_or_init(|| insert_sql(ROWS_PER_INSERT)),
                    names,
                    chunk,
                    out,
                )?;
            } else {
                for card in chunk {
                    self.insert_rows(ONE.get_or_init(|| insert_sql(1)), names, &[card], out)?;
                }
            }
        }
        Ok(())
    }

    /// One INSERT of `insert_sql(rows.len())`.
    fn insert_rows(
        &mut self,
        sql: &str,
        names: Names,
        rows: &[&CardWrite],
        out: &mut Vec<Upsert>,
    ) -> Result<()> {
        while self.padded.len() < rows.len() {
            self.padded.push(String::new());
        }
        let first = self.take_ids(rows.len())?;
        for (c, padded) in rows.iter().zip(self.padded.iter_mut()) {
            with_room(c.data, 0, padded);
        }
        let mut s = self.conn.prepare_cached(sql).map_err(db)?;
        for (i, (c, padded)) in rows.iter().zip(&self.padded).enumerate() {
            let p = 6 + 3 * i;
            s.raw_bind_parameter(p, first + i as i64).map_err(db)?;
            s.raw_bind_parameter(p + 1, c.key).map_err(db)?;
            s.raw_bind_parameter(p + 2, padded.as_str()).map_err(db)?;
        }
        bind_names(&mut s, names, self.now_ms)?;
        s.raw_execute().map_err(db)?;
        drop(s);
        out.extend((0..rows.len()).map(|i| Upsert::Created(CardRef { id: first + i as i64 })));
        self.note_created(first, rows.len() as i64)?;
        Ok(())
    }

    /// The `card_names` id of `name`, added when new.
    fn name(&mut self, name: &str) -> Result<i64> {
        if let Some(id) = self.known_name(name)? {
            return Ok(id);
        }
        self.conn
            .prepare_cached("INSERT INTO card_names (name) VALUES (?1)")
            .and_then(|mut s| s.execute(params![name]))
            .map_err(db)?;
        let id = self.conn.last_insert_rowid();
        self.names.push((name.to_string(), id));
        Ok(id)
    }

    /// Stores a task's cache inside the current transaction, streamed into
    /// the blob so the whole cache is never held twice in memory: all of it,
    /// or (`delta`) the changes to the entries stored whole before.
    pub fn save_cache(&mut self, cache: &CacheWrite, write: &mut CacheEntries) -> Result<()> {
        let CacheWrite {
            task_id,
            mappings_hash,
            size,
            last_extract,
            valid_from_ms,
            delta,
        } = *cache;
        let (table, rowid) = if delta {
            let updated = self
                .conn
                .execute(
                    "UPDATE task_cache SET mappings_hash = ?2,
                        last_successful_extract = COALESCE(?3, last_successful_extract),
                        updated_at = ?4, valid_from = ?5
                     WHERE task_id = ?1",
                    params![task_id, mappings_hash, last_extract, self.now, valid_from_ms],
                )
                .map_err(db)?;
            if updated != 1 {
                return Err(EngineError::Internal(format!(
                    "the data cache of task {task_id} has no entries to change"
                )));
            }
            self.conn
                .execute(
                    // Replaced, not updated: an upsert's update makes the zeroblob in memory.
                    "INSERT OR REPLACE INTO task_cache_delta (task_id, entries) VALUES (?1, zeroblob(?2))",
                    params![task_id, size as i64],
                )
                .map_err(db)?;
            (
                "task_cache_delta",
                "SELECT rowid FROM task_cache_delta WHERE task_id = ?1",
            )
        } else {
            self.conn
                .execute(
                    "INSERT INTO task_cache (task_id, mappings_hash, entries, last_successful_extract, updated_at, valid_from)
                     VALUES (?1, ?2, X'', ?3, ?4, ?5)
                     ON CONFLICT (task_id) DO UPDATE SET mappings_hash = excluded.mappings_hash,
                        entries = X'',
                        last_successful_extract = COALESCE(excluded.last_successful_extract, last_successful_extract),
                        updated_at = excluded.updated_at,
                        valid_from = excluded.valid_from",
                    params![task_id, mappings_hash, last_extract, self.now, valid_from_ms],
                )
                .map_err(db)?;
            // The blob in a table of its own, where it is the last column (see
            // store::cards), and replaced, not updated: an upsert's update makes
            // the zeroblob in memory too (twice 32 MB at a million entries).
            self.conn
                .execute(
                    "INSERT OR REPLACE INTO task_cache_entries (task_id, entries) VALUES (?1, zeroblob(?2))",
                    params![task_id, size as i64],
                )
                .map_err(db)?;
            // Written whole: the changes recorded on top of the old entries are in it.
            self.conn
                .execute(
                    "DELETE FROM task_cache_delta WHERE task_id = ?1",
                    params![task_id],
                )
                .map_err(db)?;
            (
                "task_cache_entries",
                "SELECT rowid FROM task_cache_entries WHERE task_id = ?1",
            )
        };
        let rowid: i64 = self
            .conn
            .query_row(rowid, params![task_id], |r| r.get(0))
            .map_err(db)?;
        let mut blob = self
            .conn
            .blob_open(rusqlite::DatabaseName::Main, table, "entries", rowid, false)
            .map_err(db)?;
        write(&mut blob).map_err(|e| EngineError::io("cannot write the task's data cache", e))?;
        Ok(())
    }

    /// Removes a card written earlier in the current transaction.
    pub fn delete_card(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM datacards WHERE id = ?1", params![id])
            .map_err(db)?;
        self.conn
            .execute("DELETE FROM card_overlay WHERE id = ?1", params![id])
            .map_err(db)?;
        self.overlaid(id, false);
        Ok(())
    }

    /// Records the run's final state inside the current transaction (the
    /// commit record of `store::cards`); earlier records of the task are
    /// settled by now and go.
    pub fn record_commit(&mut self, run: &crate::model::Run) -> Result<()> {
        self.flush_created()?;
        self.conn
            .execute(
                "DELETE FROM load_commits WHERE task_id = ?1",
                params![run.task_id],
            )
            .map_err(db)?;
        self.conn
            .execute(
                "INSERT INTO load_commits (run_id, task_id, summary) VALUES (?1, ?2, ?3)",
                params![
                    run.id,
                    run.task_id,
                    serde_json::to_string(run).unwrap_or_default()
                ],
            )
            .map_err(db)?;
        Ok(())
    }
}

/// A card a record matched: (id, task, key attribute), as both lookups select them.
/// A card found to be written over: who owns it, and what it holds.
struct FoundCard {
    id: i64,
    task: Option<i64>,
    key_attribute: Option<i64>,
    data: String,
    object_key: Option<String>,
}

/// A row of `SELECT id, task, key_attribute, data, object_key`.
fn found_card(r: &rusqlite::Row) -> rusqlite::Result<FoundCard> {
    Ok(FoundCard {
        id: r.get(0)?,
        task: r.get(1)?,
        key_attribute: r.get(2)?,
        data: r.get(3)?,
        object_key: r.get(4)?,
    })
}

/// `INSERT` of `rows` new cards: ?1..?5 the shared names and time, then id, key and values per row.
///
/// `OR FAIL`: a constraint broken by the 40th row leaves the 39 before it in
/// place, where the default (`ABORT`) takes them back out; for that SQLite
/// copies every page a many-row INSERT touches into a statement journal
/// first (measured: 1.3 GB through a temp file for a million new cards,
/// 157,000 page writes). Nothing needs that undo: a failed statement fails
/// the load, and the load's transaction rolls back whole.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT OR FAIL INTO datacards (id, template, folder, key_attribute, object_key, task, created_at, updated_at, data) VALUES ",
    );
    for i in 0..rows {
        let p = 6 + 3 * i;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(?{p}, ?1, ?2, ?3, ?{}, ?4, ?5, ?5, ?{})", p + 1, p + 2));
    }
    sql
}

fn bind_names(s: &mut rusqlite::CachedStatement, names: Names, now_ms: i64) -> Result<()> {
    for (i, v) in [
        names.template,
        names.folder,
        names.key_attribute,
        names.task,
        now_ms,
    ]
    .into_iter()
    .enumerate()
    {
        s.raw_bind_parameter(i + 1, v).map_err(db)?;
    }
    Ok(())
}

/// The load operations [`crate::targets::LoadTarget`] names, for the local store.
impl BulkCards {
    pub fn removal_candidates(
        &mut self,
        q: &RemovalQuery,
        fetched: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(CardRef, String)>> {
        let (Some(template), Some(task)) = (self.known_name(q.template)?, self.known_name(q.task_id)?) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, object_key FROM datacards INDEXED BY datacards_by_key
                 WHERE template = ?1 AND task = ?2",
            )
            .map_err(db)?;
        let mut not_fetched = Vec::new();
        let mut rows = stmt.query(params![template, task]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let key: Option<String> = row.get(1).map_err(db)?;
            let key = key.unwrap_or_default();
            if !fetched(&key) {
                not_fetched.push((
                    CardRef {
                        id: row.get(0).map_err(db)?,
                    },
                    key,
                ));
            }
        }
        drop(rows);
        drop(stmt);
        let path = format!("$.\"{}\"", q.status_attribute.replace('"', ""));
        let mut status = self
            .conn
            .prepare_cached("SELECT json_extract(data, ?2) FROM datacards_now WHERE id = ?1")
            .map_err(db)?;
        let mut out = Vec::new();
        for (card, key) in not_fetched {
            let current: Option<String> = status
                .query_row(params![card.id, path], |r| r.get(0))
                .optional()
                .map_err(db)?
                .flatten();
            if current.as_deref() != Some(q.removed_value) {
                out.push((card, key));
            }
        }
        Ok(out)
    }

    pub fn begin(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        self.started_transaction();
        Ok(())
    }

    /// Writes `c.data`'s fields onto the card of `c.template` whose
    /// `c.key_attribute` holds `c.key`, leaving its owner (the task that
    /// loaded it, which alone may mark it removed) and its key as they are.
    /// `None` when there is no such card; nothing is created.
    pub fn update_fields(&mut self, c: &CardWrite) -> Result<Option<CardRef>> {
        let (Some(template), Some(key_attribute)) =
            (self.known_name(c.template)?, self.known_name(c.key_attribute)?)
        else {
            return Ok(None);
        };
        let found: Option<FoundCard> = self
            .conn
            .prepare_cached(
                "SELECT id, task, key_attribute, data, object_key FROM datacards INDEXED BY datacards_by_key
                 WHERE template = ?1 AND key_attribute = ?2 AND object_key = ?3 ORDER BY id LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![template, key_attribute, c.key], found_card)
                    .optional()
            })
            .map_err(db)?;
        let Some(found) = found else { return Ok(None) };
        let found = self.with_newer_values(found)?;
        self.write_patch(
            found.id,
            &found.data,
            found.object_key.as_deref(),
            c.data,
            Some(c.key),
            None,
        )?;
        Ok(Some(CardRef { id: found.id }))
    }

    pub fn upsert_all(&mut self, cards: &[CardWrite], out: &mut Vec<Upsert>) -> Result<()> {
        // New cards into a template and key attribute without cards need no
        // lookup: they are gathered and inserted many per statement.
        let mut fresh: Vec<&CardWrite> = Vec::new();
        let mut fresh_names = None;
        for c in cards {
            let names = self.names_of(c)?;
            if c.known_card.is_none() && self.no_cards_yet(names.template, names.key_attribute)? {
                if let Some(previous) = fresh_names.filter(|n| *n != names) {
                    self.insert_cards(previous, &std::mem::take(&mut fresh), out)?;
                }
                fresh_names = Some(names);
                fresh.push(c);
                continue;
            }
            if let Some(n) = fresh_names.take() {
                self.insert_cards(n, &std::mem::take(&mut fresh), out)?;
            }
            out.push(self.upsert_one(names, c)?);
        }
        if let Some(n) = fresh_names {
            self.insert_cards(n, &fresh, out)?;
        }
        Ok(())
    }

    pub fn mark_removed(&mut self, card: CardRef, q: &RemovalQuery) -> Result<bool> {
        let Some(task) = self.known_name(q.task_id)? else {
            return Ok(false);
        };
        let path = format!("$.\"{}\"", q.status_attribute.replace('"', ""));
        self.flush_journal()?;
        if let Some(run) = &self.journal_run {
            // Same condition as the change: a card that is not changed is not journalled.
            self.conn
                .prepare_cached(
                    "INSERT INTO card_changes (run_id, card_id, kind, at, before, after)
                     SELECT ?1, id, 'remove', ?2, json_object(?3, json(data -> ?4)), json_object(?3, ?5)
                     FROM datacards_now WHERE id = ?6 AND task = ?7",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        run,
                        self.now_ms,
                        q.status_attribute,
                        path,
                        q.removed_value,
                        card.id,
                        task
                    ])
                })
                .map_err(db)?;
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO card_origins (card_id, fingerprint)
                     SELECT id, source_fingerprint(object_key, data) FROM datacards_now
                      WHERE id = ?1 AND task = ?2 AND object_key IS NOT NULL",
                )
                .and_then(|mut s| s.execute(params![card.id, task]))
                .map_err(db)?;
        }
        let changed = self
            .conn
            .execute(
                "INSERT INTO card_overlay (id, updated_at, data)
                 SELECT id, ?4, card_data(json_set(data, ?2, ?3), octet_length(data))
                   FROM datacards_now WHERE id = ?1 AND task = ?5
                 ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data",
                params![card.id, path, q.removed_value, self.now_ms, task],
            )
            .map_err(db)?;
        if changed > 0 {
            self.overlaid(card.id, true);
        }
        Ok(changed > 0)
    }

    pub fn create_card(&mut self, template: &str, folder: &str, data: &serde_json::Value) -> Result<CardRef> {
        let (template, folder) = (self.name(template)?, self.name(folder)?);
        let id = self.take_ids(1)?;
        self.conn
            .execute(
                "INSERT INTO datacards (id, template, folder, created_at, updated_at, data) VALUES (?5, ?1, ?2, ?3, ?3, ?4)",
                params![template, folder, self.now_ms, data.to_string(), id],
            )
            .map_err(db)?;
        self.note_created(id, 1)?;
        Ok(CardRef { id })
    }

    /// Writes `patch`'s fields onto card `id` (a null removes the field), journalled; whether the card exists.
    pub fn patch_card(&mut self, id: i64, patch: &str) -> Result<bool> {
        let stored: Option<(String, Option<String>)> = self
            .conn
            .prepare_cached("SELECT data, object_key FROM datacards_now WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(db)?;
        let Some((data, object_key)) = stored else {
            return Ok(false);
        };
        self.write_patch(id, &data, object_key.as_deref(), patch, None, None)?;
        Ok(true)
    }

    /// Journals what follows as `run_id`'s changes.
    pub fn journal_as(&mut self, run_id: &str) {
        self.journal_run = Some(run_id.to_string());
    }

    /// Values (a connector's secrets) that never enter the journal: where a
    /// journalled value holds one, it is masked before the unit commits.
    pub fn journal_masks(&mut self, secrets: &[String]) -> Result<()> {
        self.journal_masks = secrets.iter().filter(|s| !s.is_empty()).cloned().collect();
        if !self.journal_masks.is_empty() {
            self.journal_from = self
                .conn
                .query_row("SELECT coalesce(max(id), 0) FROM card_changes", [], |r| r.get(0))
                .map_err(db)?;
        }
        Ok(())
    }

    /// Masks the secrets in the journal rows this unit wrote (values are JSON
    /// text: a long secret wherever it occurs, a short one as a whole value).
    fn mask_journal(&mut self) -> Result<()> {
        self.flush_journal()?;
        if self.journal_run.is_none() {
            return Ok(());
        }
        let mask = serde_json::to_string(crate::secrets::MASK).unwrap_or_default();
        for secret in std::mem::take(&mut self.journal_masks) {
            let quoted = serde_json::to_string(&secret).unwrap_or_default();
            let (needle, with) = if secret.chars().count() >= crate::secrets::TOKEN_ONLY_BELOW {
                (
                    quoted[1..quoted.len() - 1].to_string(),
                    crate::secrets::MASK.to_string(),
                )
            } else {
                (quoted, mask.clone())
            };
            self.conn
                .execute(
                    "UPDATE card_changes SET before = replace(before, ?1, ?2), after = replace(after, ?1, ?2)
                     WHERE id > ?3 AND (instr(before, ?1) > 0 OR instr(after, ?1) > 0)",
                    params![needle, with, self.journal_from],
                )
                .map_err(db)?;
        }
        Ok(())
    }

    /// Created cards join the pending range when their ids follow it.
    fn note_created(&mut self, first: i64, n: i64) -> Result<()> {
        if self.journal_run.is_none() {
            return Ok(());
        }
        match self.created {
            Some((start, count)) if start + count == first => self.created = Some((start, count + n)),
            _ => {
                self.flush_created()?;
                self.created = Some((first, n));
            }
        }
        Ok(())
    }

    fn flush_created(&mut self) -> Result<()> {
        // Rows keep the order of what they journal.
        self.flush_journal()?;
        if let (Some((first, n)), Some(run)) = (self.created.take(), &self.journal_run) {
            self.conn
                .prepare_cached(
                    "INSERT INTO card_changes (run_id, card_id, cards, kind, at) VALUES (?1, ?2, ?3, 'create', ?4)",
                )
                .and_then(|mut s| s.execute(params![run, first, n, self.now_ms]))
                .map_err(db)?;
        }
        Ok(())
    }

    /// Writes `patch`'s fields onto card `id`, whose stored values are `old`
    /// (object key `old_key`): the change journalled, then the card with its
    /// room; `owner`: the task, key attribute and key the card now takes
    /// (only when they change). The usual flat card is patched in Rust
    /// ([`super::card_patch`]); anything else by SQLite's `json_patch`.
    /// False when the patch changed no field and the owner stays: nothing
    /// was written.
    fn write_patch(
        &mut self,
        id: i64,
        old: &str,
        old_key: Option<&str>,
        patch: &str,
        source: Option<&str>,
        owner: Option<(i64, i64, &str)>,
    ) -> Result<bool> {
        if owner.is_none() && same_text(old, patch) {
            return Ok(false);
        }
        let journalled = self.journal_run.is_some();
        let (data, change) = patch_outcome(old, patch);
        // A patch that changes no field leaves the card, its room and its
        // time as they are: nothing to journal, no page to write.
        if change == Some(None) && owner.is_none() {
            return Ok(false);
        }
        if journalled {
            self.journal_change(id, change, patch, source, old, old_key)?;
        }
        // The new values as text, or SQLite's patch of the stored ones.
        let value = data.as_deref().unwrap_or(patch);
        // New values go to the overlay. A card changing owner has its row
        // rewritten anyway (its index entry moves): the values go with it.
        let sql = match (data.is_some(), owner.is_some()) {
            (true, false) => {
                "INSERT INTO card_overlay (id, updated_at, data) VALUES (?1, ?3, ?2)
                 ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data"
            }
            (true, true) => {
                "UPDATE datacards SET data = ?2, updated_at = ?3,
                    task = ?4, key_attribute = ?5, object_key = ?6 WHERE id = ?1"
            }
            (false, false) => {
                "INSERT INTO card_overlay (id, updated_at, data)
                 SELECT id, ?3, card_data(json_patch(data, ?2), octet_length(data)) FROM datacards_now WHERE id = ?1
                 ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data"
            }
            (false, true) => {
                "UPDATE datacards SET
                    data = (SELECT card_data(json_patch(data, ?2), octet_length(data)) FROM datacards_now WHERE id = ?1),
                    updated_at = ?3, task = ?4, key_attribute = ?5, object_key = ?6 WHERE id = ?1"
            }
        };
        let mut s = self.conn.prepare_cached(sql).map_err(db)?;
        match owner {
            None => s.execute(params![id, value, self.now_ms]),
            Some((task, key_attribute, key)) => {
                s.execute(params![id, value, self.now_ms, task, key_attribute, key])
            }
        }
        .map_err(db)?;
        drop(s);
        if owner.is_some() {
            self.conn
                .prepare_cached("DELETE FROM card_overlay WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id]))
                .map_err(db)?;
        }
        self.overlaid(id, owner.is_none());
        Ok(true)
    }

    /// Journals the fields `patch` changes on card `id` (`change`: their
    /// values before and after, `None` when only SQLite can tell), and the
    /// fingerprint of the source record (object id `source`) when a record
    /// is what is written.
    fn journal_change(
        &mut self,
        id: i64,
        change: Option<Option<(String, String)>>,
        patch: &str,
        source: Option<&str>,
        old: &str,
        old_key: Option<&str>,
    ) -> Result<()> {
        if self.journal_run.is_none() {
            return Ok(());
        }
        let journalled = match change {
            Some(None) => 0,
            Some(Some((before, after))) => {
                self.pending_journal.push(PendingChange {
                    card: id,
                    before,
                    after,
                    source: source.map(|key| fingerprint(key, patch)),
                    origin: old_key.map(|key| fingerprint(key, stored_values(old))),
                });
                if self.pending_journal.len() >= ROWS_PER_INSERT {
                    self.flush_journal()?;
                }
                return Ok(());
            }
            // Text the fast path does not read (escaped keys): SQLite's JSON functions decide.
            None => {
                self.flush_journal()?;
                let Some(run) = &self.journal_run else {
                    return Ok(());
                };
                self
                .conn
                .prepare_cached(
                    "INSERT INTO card_changes (run_id, card_id, kind, at, before, after)
                     SELECT ?1, ?4, 'update', ?3, json_group_object(field, json(was)), json_group_object(field, json(now))
                       FROM (SELECT j.key AS field, d.data -> j.fullkey AS was, json_quote(j.value) AS now
                               FROM datacards_now d, json_each(?2) j WHERE d.id = ?4)
                      WHERE was IS NOT now
                     HAVING count(*) > 0",
                )
                .and_then(|mut s| s.execute(params![run, patch, self.now_ms, id]))
                .map_err(db)?
            }
        };
        if journalled == 0 {
            return Ok(());
        }
        if let Some(key) = source {
            // Right after the change's row: `last_insert_rowid()` is its id.
            self.conn
                .prepare_cached(
                    "INSERT INTO card_sources (change_id, fingerprint) VALUES (last_insert_rowid(), ?1)",
                )
                .and_then(|mut s| s.execute(params![fingerprint(key, patch)]))
                .map_err(db)?;
        }
        match old_key {
            Some(old_key) => self.keep_origin(id, old_key, old),
            None => Ok(()),
        }
    }

    /// Keeps the fingerprint of the record card `id` was created from, when
    /// this is its first change: its values before the change are the
    /// created ones (later changes find the origin kept and leave it).
    fn keep_origin(&mut self, id: i64, key: &str, old: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO card_origins (card_id, fingerprint) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![id, fingerprint(key, stored_values(old))]))
            .map_err(db)?;
        Ok(())
    }

    /// Writes the pending journal rows of changed cards: their ids follow the
    /// journal's last (this load holds the store's write lock), so each
    /// card's source and origin rows are written by id, many at once.
    fn flush_journal(&mut self) -> Result<()> {
        if self.pending_journal.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending_journal);
        let Some(run) = &self.journal_run else {
            return Ok(());
        };
        use rusqlite::ToSql;
        let first: i64 = self
            .conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM card_changes", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        let ids: Vec<i64> = (first..).take(rows.len()).collect();
        let mut values: Vec<&dyn ToSql> = Vec::with_capacity(rows.len() * 6);
        for (row, id) in rows.iter().zip(&ids) {
            values.extend([
                id as &dyn ToSql,
                run,
                &row.card,
                &self.now_ms,
                &row.before,
                &row.after,
            ]);
        }
        self.insert_many(
            "INSERT OR FAIL INTO card_changes (id, run_id, card_id, kind, at, before, after) VALUES ",
            "(?, ?, ?, 'update', ?, ?, ?)",
            values,
        )?;
        let sources: Vec<&dyn ToSql> = rows
            .iter()
            .zip(&ids)
            .filter_map(|(row, id)| Some([id as &dyn ToSql, row.source.as_ref()?]))
            .flatten()
            .collect();
        self.insert_many(
            "INSERT OR FAIL INTO card_sources (change_id, fingerprint) VALUES ",
            "(?, ?)",
            sources,
        )?;
        // The first origin kept wins (a card's first change in this load, in order).
        let origins: Vec<&dyn ToSql> = rows
            .iter()
            .filter_map(|row| Some([&row.card as &dyn ToSql, row.origin.as_ref()?]))
            .flatten()
            .collect();
        self.insert_many(
            "INSERT OR IGNORE INTO card_origins (card_id, fingerprint) VALUES ",
            "(?, ?)",
            origins,
        )
    }

    /// One INSERT of `values`, `row`'s placeholders at a time (nothing when
    /// there are none). `OR FAIL` or `OR IGNORE` in `head`, never the
    /// default: see [`insert_sql`] for what `ABORT` costs a many-row INSERT.
    fn insert_many(&self, head: &str, row: &str, values: Vec<&dyn rusqlite::ToSql>) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let per_row = row.matches('?').count();
        self.conn
            .prepare_cached(&many_rows(head, row, values.len() / per_row))
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
            .map_err(db)?;
        Ok(())
    }

    pub fn commit(&mut self) -> Result<()> {
        self.flush_journal()?;
        self.flush_created()?;
        self.mask_journal()?;
        self.finish()?;
        // After the commit: the run has ended whatever the fold does, and a
        // fold that fails loses nothing (the overlay stays for the next one).
        if let Err(e) = self.fold_when_large() {
            tracing::warn!("the card store's newer values stay apart until the next load: {e}");
        }
        Ok(())
    }

    /// `COMMIT`. The checkpoint that follows a big commit copies the WAL into
    /// the database file: its disk writes are started in the background.
    fn finish(&mut self) -> Result<()> {
        let wal = format!("{}-wal", self.database.display());
        let big = std::fs::metadata(&wal).is_ok_and(|m| m.len() > BIG_WAL);
        self.writeback = big.then(|| super::writeback::Writeback::start(self.database.clone()));
        let committed = self.conn.execute_batch("COMMIT").map_err(db);
        self.writeback = None;
        committed?;
        self.in_tx = false;
        self.overlaid = None;
        Ok(())
    }

    /// Folds the overlay once it holds more than one card in [`FOLD_SHARE`].
    fn fold_when_large(&mut self) -> Result<()> {
        let (overlay, cards): (i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM card_overlay), (SELECT coalesce(max(id), 0) FROM datacards)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        if overlay == 0 || overlay * FOLD_SHARE <= cards {
            return Ok(());
        }
        // Without waiting: another process's load may have the store next;
        // then a later commit folds.
        self.conn.busy_timeout(Duration::ZERO).map_err(db)?;
        let begun = self.conn.execute_batch("BEGIN IMMEDIATE");
        self.conn.busy_timeout(super::BUSY_TIMEOUT).map_err(db)?;
        match begun {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                Ok(())
            }
            begun => {
                begun.map_err(db)?;
                self.started_transaction();
                self.fold_begun().map(drop)
            }
        }
    }

    /// Writes the overlay's values into their cards' rows and empties it, in
    /// a transaction of its own (all or nothing); how many cards it wrote.
    pub fn fold_overlay(&mut self) -> Result<usize> {
        self.begin()?;
        self.fold_begun()
    }

    fn fold_begun(&mut self) -> Result<usize> {
        let folded = self
            .conn
            .execute(
                // By id: the cards' pages are visited in order, each written once.
                "UPDATE datacards SET (updated_at, data) =
                    (SELECT o.updated_at, o.data FROM card_overlay o WHERE o.id = datacards.id)
                 WHERE id IN (SELECT id FROM card_overlay)",
                [],
            )
            .and_then(|n| self.conn.execute("DELETE FROM card_overlay", []).map(|_| n));
        match folded.map_err(db).and_then(|n| self.finish().map(|()| n)) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    pub fn rollback(&mut self) {
        self.writeback = None;
        // Names added and cards counted in the transaction are gone with it.
        self.names.clear();
        self.empty.clear();
        self.next_id = None;
        self.overlaid = None;
        self.created = None;
        self.pending_journal.clear();
        if self.in_tx {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.in_tx = false;
        }
    }
}

impl Drop for BulkCards {
    fn drop(&mut self) {
        self.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::with_room;

    /// A person card task-1 loads: key `key`, values `data`.
    fn person<'a>(key: &'a str, data: &'a str) -> crate::model::card::CardWrite<'a> {
        crate::model::card::CardWrite {
            template: "person",
            folder: "people",
            key_attribute: "id",
            key,
            known_card: None,
            task_id: "task-1",
            task_id_attribute: None,
            data,
        }
    }

    /// An empty card store in `dir`, and the load's connection to it.
    fn empty_store(dir: &std::path::Path) -> super::BulkCards {
        let file = dir.join(super::super::cards::CARDS_FILE);
        let setup = rusqlite::Connection::open_in_memory().unwrap();
        setup
            .execute("ATTACH DATABASE ?1 AS cards", [file.to_str().unwrap()])
            .unwrap();
        setup.execute_batch(super::super::cards::SCHEMA).unwrap();
        drop(setup);
        super::BulkCards::open(&file).unwrap()
    }

    #[test]
    fn a_many_row_insert_broken_by_one_row_fails_the_load_and_the_rollback_leaves_none_of_its_rows() {
        use crate::model::card::CardWrite;
        let dir = tempfile::tempdir().unwrap();
        let mut cards = empty_store(dir.path());
        let keys: Vec<String> = (0..128).map(|i| format!("emp-{i:03}")).collect();
        let writes: Vec<CardWrite> = keys.iter().map(|key| person(key, r#"{"name":"x"}"#)).collect();
        let stopped = std::sync::atomic::AtomicBool::new(false);
        cards
            .begin_in_turn(&stopped, std::time::Duration::from_secs(5))
            .unwrap();
        let mut out = Vec::new();
        cards.upsert_all(&writes[..64], &mut out).unwrap();
        assert_eq!(out.len(), 64, "the first 64 cards, one INSERT");
        // A card in the way of the 36th id the next INSERT gives out.
        cards
            .conn
            .execute(
                "INSERT INTO datacards (id, template, folder, created_at, updated_at, data) VALUES (100, 1, 1, 0, 0, '{}')",
                [],
            )
            .unwrap();
        let err = cards.upsert_all(&writes[64..], &mut out).unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        cards.rollback();
        let count: i64 = cards
            .conn
            .query_row("SELECT count(*) FROM datacards", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            count, 0,
            "nothing of the failed load stays, not even the rows before the broken one"
        );
    }

    /// Cards in the overlay, read on a connection of their own.
    fn overlaid(dir: &std::path::Path) -> i64 {
        let conn = rusqlite::Connection::open(dir.join(super::super::cards::CARDS_FILE)).unwrap();
        conn.query_row("SELECT count(*) FROM card_overlay", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_fold_that_finds_another_writer_is_left_to_a_later_commit_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let mut cards = empty_store(dir.path());
        let keys: Vec<String> = (0..32).map(|i| format!("emp-{i:03}")).collect();
        let mut out = Vec::new();
        cards.begin().unwrap();
        let first: Vec<_> = keys.iter().map(|k| person(k, r#"{"name":"x"}"#)).collect();
        cards.upsert_all(&first, &mut out).unwrap();
        cards.commit().unwrap();
        // Two cards of 32 changed (by the next run, with a connection of its
        // own): not more than one in 16, they wait in the overlay.
        let file = dir.path().join(super::super::cards::CARDS_FILE);
        let mut cards = super::BulkCards::open(&file).unwrap();
        cards.begin().unwrap();
        let changes: Vec<_> = keys[..2].iter().map(|k| person(k, r#"{"name":"y"}"#)).collect();
        cards.upsert_all(&changes, &mut out).unwrap();
        cards.commit().unwrap();
        assert_eq!(overlaid(dir.path()), 2);
        // Another writer adds a third and holds the store.
        let other = rusqlite::Connection::open(&file).unwrap();
        other
            .execute_batch(
                r#"INSERT INTO card_overlay (id, updated_at, data) VALUES (3, 0, '{"name":"y"}');
                   BEGIN IMMEDIATE;"#,
            )
            .unwrap();
        let started = std::time::Instant::now();
        cards.fold_when_large().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "it did not wait"
        );
        assert_eq!(
            overlaid(dir.path()),
            3,
            "not folded while another writer holds the store"
        );
        other.execute_batch("COMMIT").unwrap();
        cards.fold_when_large().unwrap();
        assert_eq!(overlaid(dir.path()), 0, "folded once it could");
        let names: Vec<String> = cards
            .conn
            .prepare("SELECT data ->> 'name' FROM datacards ORDER BY id LIMIT 4")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            names,
            ["y", "y", "y", "x"],
            "the newer values are in the cards' rows"
        );
    }

    #[test]
    fn only_the_fields_a_patch_changes_are_journalled_before_and_after() {
        let old = r#"{"a":"1","b":["x","y"],"c":2}    "#;
        let (before, after) = super::changed_fields(old, r#"{"a":"1","b":["x"],"c":3,"d":"new","e":null}"#)
            .unwrap()
            .unwrap();
        assert_eq!(before, r#"{"b":["x","y"],"c":2,"d":null}"#);
        assert_eq!(after, r#"{"b":["x"],"c":3,"d":"new"}"#);
        assert_eq!(
            super::changed_fields(old, r#"{"a":"1"}"#),
            Some(None),
            "nothing changed"
        );
        assert_eq!(
            super::changed_fields(old, r#"{"a\"b":"1"}"#),
            None,
            "an escaped key: the SQL path decides"
        );
    }

    #[test]
    fn values_keep_their_row_size_while_they_fit_and_get_fresh_room_when_they_do_not() {
        let mut out = String::new();
        with_room(r#"{"a":"1"}"#, 0, &mut out);
        assert_eq!(out.len(), 9 + 32, "a small card gets 32 bytes of room");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out).unwrap(),
            serde_json::json!({"a": "1"})
        );
        let size = out.len();
        with_room(r#"{"a":"longer value"}"#, size, &mut out);
        assert_eq!(out.len(), size, "grown within its room: same size");
        with_room(r#"{"a":""}"#, size, &mut out);
        assert_eq!(out.len(), size, "shrunk: same size");
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(400));
        with_room(&big, size, &mut out);
        assert_eq!(out.len(), big.len() + big.len() / 4, "outgrown: a quarter more");
        assert!(out.starts_with(&big) && out[big.len()..].bytes().all(|b| b == b' '));
    }
}
