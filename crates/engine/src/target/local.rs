//! The local datacard store: cards in the same SQLite file as everything
//! else. The load runs on its own rusqlite connection with prepared
//! statements (several times faster than one async statement per row) inside
//! one `BEGIN IMMEDIATE` transaction, which also carries the task's cache
//! and the run's final state, so a crash at any point commits all or nothing.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::{CardRef, CardWrite, LoadTarget, RemovalQuery, Upsert};
use crate::error::{EngineError, Result};

/// Page cache of the load connection. SQLite's default (2 MB) makes a big
/// transaction evict and re-read the pages it keeps coming back to (the
/// right edges of the B-trees, the cards a re-run updates).
const LOAD_CACHE_KIB: u32 = 32 * 1024;

/// A WAL this large makes the commit's checkpoint worth syncing in the background.
const BIG_WAL: u64 = 32 << 20;

pub struct LocalTarget {
    conn: Connection,
    database: std::path::PathBuf,
    /// Syncs the WAL while a load writes it (see `writeback`).
    writeback: Option<super::writeback::Writeback>,
    now: String,
    in_tx: bool,
    /// (template, key attribute, has no cards yet) for the pairs checked so
    /// far: a first load into an empty pair needs no lookups (ids within one
    /// run are unique). A load writes one pair, so a list is searched without
    /// allocating a key per card.
    empty: Vec<(String, String, bool)>,
}

impl std::fmt::Debug for LocalTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalTarget").field("in_tx", &self.in_tx).finish()
    }
}

fn db(e: rusqlite::Error) -> EngineError {
    EngineError::invalid("local datacard store", e.to_string())
}

impl LocalTarget {
    pub fn open(database: &Path) -> Result<Self> {
        let conn = Connection::open(database).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(db)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA journal_size_limit = {}; PRAGMA cache_size = -{};",
            crate::store::WAL_SIZE_LIMIT,
            LOAD_CACHE_KIB
        ))
        .map_err(db)?;
        Ok(LocalTarget {
            conn,
            database: database.to_path_buf(),
            writeback: None,
            now: crate::api::now(),
            in_tx: false,
            empty: Default::default(),
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Stores a task's cache inside the current transaction, streamed into
    /// the blob so the whole cache is never held twice in memory.
    pub fn save_cache(
        &mut self,
        task_id: &str,
        mappings_hash: &str,
        size: usize,
        last_extract: Option<&str>,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO task_cache (task_id, mappings_hash, entries, last_successful_extract, updated_at)
                 VALUES (?1, ?2, zeroblob(?3), ?4, ?5)
                 ON CONFLICT (task_id) DO UPDATE SET mappings_hash = excluded.mappings_hash,
                    entries = excluded.entries,
                    last_successful_extract = COALESCE(excluded.last_successful_extract, last_successful_extract),
                    updated_at = excluded.updated_at",
                params![task_id, mappings_hash, size as i64, last_extract, self.now],
            )
            .map_err(db)?;
        let rowid: i64 = self
            .conn
            .query_row(
                "SELECT rowid FROM task_cache WHERE task_id = ?1",
                params![task_id],
                |r| r.get(0),
            )
            .map_err(db)?;
        let mut blob = self
            .conn
            .blob_open(
                rusqlite::DatabaseName::Main,
                "task_cache",
                "entries",
                rowid,
                false,
            )
            .map_err(db)?;
        write(&mut blob).map_err(|e| EngineError::invalid("task cache", e.to_string()))?;
        Ok(())
    }

    /// Removes a card written earlier in the current transaction.
    pub fn delete_card(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM datacards WHERE id = ?1", params![id])
            .map_err(db)?;
        Ok(())
    }

    /// Writes the run's final row inside the current transaction.
    pub fn save_run(&mut self, run: &crate::model::Run) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET status = ?2, stage = NULL, finished_at = ?3, summary = ?4 WHERE id = ?1",
                params![
                    run.id,
                    run.status.as_str(),
                    run.finished_at,
                    serde_json::to_string(run).unwrap_or_default()
                ],
            )
            .map_err(db)?;
        Ok(())
    }
}

impl LoadTarget for LocalTarget {
    fn removal_candidates(
        &mut self,
        q: &RemovalQuery,
        fetched: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(CardRef, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, object_key FROM datacards INDEXED BY datacards_by_task
                 WHERE template = ?1 AND task_id = ?2",
            )
            .map_err(db)?;
        let mut not_fetched = Vec::new();
        let mut rows = stmt.query(params![q.template, q.task_id]).map_err(db)?;
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
            .prepare_cached("SELECT json_extract(data, ?2) FROM datacards WHERE id = ?1")
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

    fn begin(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        self.in_tx = true;
        let wal = format!("{}-wal", self.database.display());
        self.writeback = Some(super::writeback::Writeback::start(wal.into()));
        Ok(())
    }

    fn upsert(&mut self, c: &CardWrite) -> Result<Upsert> {
        // The cached card first, then the card whose key attribute holds the key.
        let mut found: Option<(i64, Option<String>, Option<String>)> = None;
        if let Some(id) = c.known_card {
            let mut s = self
                .conn
                .prepare_cached(
                    "SELECT id, task_id, key_attribute FROM datacards WHERE id = ?1 AND template = ?2 AND object_key = ?3",
                )
                .map_err(db)?;
            found = s
                .query_row(params![id, c.template, c.key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(db)?;
        }
        let known = self
            .empty
            .iter()
            .find(|(t, k, _)| t == c.template && k == c.key_attribute)
            .map(|(_, _, e)| *e);
        let empty = match known {
            Some(e) => e,
            None => {
                let e: bool = self
                    .conn
                    .query_row(
                        "SELECT NOT EXISTS (SELECT 1 FROM datacards INDEXED BY datacards_by_key
                         WHERE template = ?1 AND key_attribute = ?2)",
                        params![c.template, c.key_attribute],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                self.empty
                    .push((c.template.to_string(), c.key_attribute.to_string(), e));
                e
            }
        };
        if found.is_none() && !empty {
            let mut s = self
                .conn
                .prepare_cached(
                    "SELECT id, task_id, key_attribute FROM datacards INDEXED BY datacards_by_key
                     WHERE template = ?1 AND key_attribute = ?2 AND object_key = ?3 LIMIT 1",
                )
                .map_err(db)?;
            found = s
                .query_row(params![c.template, c.key_attribute, c.key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(db)?;
        }
        match found {
            Some((id, previous_task, previous_key_attribute)) => {
                let card = CardRef { id };
                let same_owner = previous_task.as_deref() == Some(c.task_id)
                    && previous_key_attribute.as_deref() == Some(c.key_attribute);
                if same_owner {
                    // Indexed columns are left out when they stay the same: setting
                    // them would rewrite both index entries of every updated card.
                    let mut s = self
                        .conn
                        .prepare_cached(
                            "UPDATE datacards SET data = json_patch(data, ?2), updated_at = ?3 WHERE id = ?1",
                        )
                        .map_err(db)?;
                    s.execute(params![id, c.data, self.now]).map_err(db)?;
                    return Ok(Upsert::Updated(card));
                }
                let mut s = self
                    .conn
                    .prepare_cached(
                        "UPDATE datacards SET data = json_patch(data, ?2), task_id = ?3, key_attribute = ?4,
                            object_key = ?5, updated_at = ?6 WHERE id = ?1",
                    )
                    .map_err(db)?;
                s.execute(params![id, c.data, c.task_id, c.key_attribute, c.key, self.now])
                    .map_err(db)?;
                Ok(match previous_task {
                    Some(p) if p != c.task_id => Upsert::TakenOver(card),
                    _ => Upsert::Updated(card),
                })
            }
            None => {
                let mut s = self
                    .conn
                    .prepare_cached(
                        "INSERT INTO datacards (template, folder, key_attribute, object_key, task_id, data, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                    )
                    .map_err(db)?;
                s.execute(params![
                    c.template,
                    c.folder,
                    c.key_attribute,
                    c.key,
                    c.task_id,
                    c.data,
                    self.now
                ])
                .map_err(db)?;
                Ok(Upsert::Created(CardRef {
                    id: self.conn.last_insert_rowid(),
                }))
            }
        }
    }

    fn mark_removed(&mut self, card: CardRef, q: &RemovalQuery) -> Result<bool> {
        let path = format!("$.\"{}\"", q.status_attribute.replace('"', ""));
        let changed = self
            .conn
            .execute(
                "UPDATE datacards SET data = json_set(data, ?2, ?3), updated_at = ?4 WHERE id = ?1 AND task_id = ?5",
                params![card.id, path, q.removed_value, self.now, q.task_id],
            )
            .map_err(db)?;
        Ok(changed > 0)
    }

    fn create_card(&mut self, template: &str, folder: &str, data: &serde_json::Value) -> Result<CardRef> {
        self.conn
            .execute(
                "INSERT INTO datacards (template, folder, data, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![template, folder, data.to_string(), self.now],
            )
            .map_err(db)?;
        Ok(CardRef {
            id: self.conn.last_insert_rowid(),
        })
    }

    fn commit(&mut self) -> Result<()> {
        // The checkpoint that follows a big commit copies the WAL into the database file.
        let wal = format!("{}-wal", self.database.display());
        let big = std::fs::metadata(&wal).is_ok_and(|m| m.len() > BIG_WAL);
        self.writeback = big.then(|| super::writeback::Writeback::start(self.database.clone()));
        let committed = self.conn.execute_batch("COMMIT").map_err(db);
        self.writeback = None;
        committed?;
        self.in_tx = false;
        Ok(())
    }

    fn rollback(&mut self) {
        self.writeback = None;
        if self.in_tx {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.in_tx = false;
        }
    }
}

impl Drop for LocalTarget {
    fn drop(&mut self) {
        self.rollback();
    }
}
