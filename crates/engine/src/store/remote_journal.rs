//! The change journal of loads into a remote target (`remote_changes` in
//! the card file). A remote solution cannot roll back: what it confirmed
//! stays even when the run fails afterwards. So each confirmed write is
//! journalled on its own, soon after the answer, not at the run's commit,
//! and an interrupted run's writes can be undone like a finished run's.
//! Remote card ids are the solution's, not the local store's: rows carry
//! their target and template, and never mix with `card_changes`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection};
use serde_json::{Map, Value};
use sqlx::Row;

use super::Store;
use crate::error::{EngineError, Result};

fn db(e: rusqlite::Error) -> EngineError {
    EngineError::CardStore(e)
}

/// One confirmed write to a remote card.
#[derive(Debug, Clone)]
pub struct RemoteChange {
    pub template: String,
    /// The card's key attribute and key (an undo finds the card by them).
    pub key_attribute: String,
    pub key: String,
    pub card_id: i64,
    /// `create`, `update` or `remove`.
    pub kind: &'static str,
    /// The changed fields' values before (none for a creation) and after.
    pub before: Option<Map<String, Value>>,
    pub after: Map<String, Value>,
    /// The source record's fingerprint, when a record was written.
    pub fingerprint: Option<String>,
}

/// The journal of one run's writes into one remote target.
pub struct RemoteJournal {
    conn: Connection,
    run_id: String,
    target: String,
    at_ms: i64,
    /// Confirmed writes not in the file yet (it was busy with another load).
    pending: Vec<RemoteChange>,
}

impl std::fmt::Debug for RemoteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJournal")
            .field("run_id", &self.run_id)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl RemoteJournal {
    pub fn open(cards_file: &Path, run_id: &str, target: &str) -> Result<RemoteJournal> {
        let conn = Connection::open(cards_file).map_err(db)?;
        for (name, value) in super::PRAGMAS {
            conn.pragma_update(None, name, value).map_err(db)?;
        }
        Ok(RemoteJournal {
            conn,
            run_id: run_id.to_string(),
            target: target.to_string(),
            at_ms: chrono::Utc::now().timestamp_millis(),
            pending: Vec::new(),
        })
    }

    pub fn record(&mut self, change: RemoteChange) {
        self.pending.push(change);
    }

    /// Writes the pending rows in one transaction. A local load holds the
    /// card file for minutes: unless `wait`, a busy file keeps them pending
    /// for the next flush instead of holding the remote load up.
    pub fn flush(&mut self, wait: bool) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let timeout = if wait { super::BUSY_TIMEOUT } else { Duration::ZERO };
        self.conn.busy_timeout(timeout).map_err(db)?;
        match self.write_pending() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if !wait && e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(())
            }
            other => other.map_err(db),
        }
    }

    fn write_pending(&mut self) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO remote_changes
                   (run_id, target, template, key_attribute, object_key, card_id, kind, at, before, after, fingerprint)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for c in &self.pending {
                insert.execute(params![
                    self.run_id,
                    self.target,
                    c.template,
                    c.key_attribute,
                    c.key,
                    c.card_id,
                    c.kind,
                    self.at_ms,
                    c.before.as_ref().map(|b| Value::Object(b.clone()).to_string()),
                    Value::Object(c.after.clone()).to_string(),
                    c.fingerprint,
                ])?;
            }
        }
        tx.commit()?;
        self.pending.clear();
        Ok(())
    }
}

/// One remote card a run's journal row changed, as an undo plans it.
#[derive(Debug, Clone)]
pub struct RemoteUndoRow {
    pub target: String,
    pub template: String,
    pub key_attribute: String,
    pub key: String,
    pub card: i64,
    /// `create`, `update` or `remove`.
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// A later run changed the card again.
    pub changed_later: bool,
}

impl Store {
    /// Every remote card run `run_id` changed, in journal order.
    pub async fn remote_undo_rows(&self, run_id: &str) -> Result<Vec<RemoteUndoRow>> {
        let rows = sqlx::query(
            "SELECT c.target, c.template, c.key_attribute, c.object_key, c.card_id, c.kind, c.before, c.after,
                    EXISTS (SELECT 1 FROM cards.remote_changes l
                            WHERE l.target = c.target AND l.card_id = c.card_id AND l.id > c.id) AS later
               FROM cards.remote_changes c WHERE c.run_id = ?1 ORDER BY c.id",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RemoteUndoRow {
                    target: r.try_get("target")?,
                    template: r.try_get("template")?,
                    key_attribute: r.try_get("key_attribute")?,
                    key: r.try_get("object_key")?,
                    card: r.try_get("card_id")?,
                    kind: r.try_get("kind")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                    changed_later: r.try_get::<i64, _>("later")? != 0,
                })
            })
            .collect()
    }
}

impl Store {
    /// What the remote journal holds for card `card_id` of `target`, newest
    /// first, as a history reads it; and the card's key.
    pub async fn remote_card_changes(
        &self,
        target: &str,
        card_id: i64,
    ) -> Result<(Vec<super::CardChangeRow>, Option<String>)> {
        let rows = sqlx::query(
            "SELECT c.run_id, COALESCE(json_extract(r.summary, '$.task'), '') AS task, c.kind, c.at, c.before,
                    c.after, COALESCE(r.kind, 'scheduled') AS run_kind, c.fingerprint, c.object_key
             FROM cards.remote_changes c LEFT JOIN runs r ON r.id = c.run_id
             WHERE c.target = ?1 AND c.card_id = ?2
             ORDER BY c.id DESC",
        )
        .bind(target)
        .bind(card_id)
        .fetch_all(self.pool())
        .await?;
        let key = rows.first().map(|r| r.try_get("object_key")).transpose()?;
        let changes = rows
            .iter()
            .map(super::CardChangeRow::read)
            .collect::<Result<Vec<_>>>()?;
        Ok((changes, key))
    }
}
