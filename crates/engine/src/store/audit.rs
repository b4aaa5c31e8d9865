//! The audit rows: appended, listed newest first.

use sqlx::Row;

use super::Store;
use crate::error::{EngineError, Result};
use crate::model::AuditEntry;

fn word<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

impl Store {
    pub async fn insert_audit(&self, entry: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, os_user, surface, object, name, action, changes) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&entry.at)
        .bind(&entry.os_user)
        .bind(word(entry.surface))
        .bind(word(entry.object))
        .bind(&entry.name)
        .bind(&entry.action)
        .bind(serde_json::to_string(&entry.changes).unwrap_or_else(|_| "[]".into()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Entries at or after `since` (RFC 3339 prefix), newest first, at most `limit`.
    pub async fn audit(&self, since: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, os_user, surface, object, name, action, changes FROM audit
             WHERE at >= ? ORDER BY id DESC LIMIT ?",
        )
        .bind(since.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let stored = |what: &'static str, e: serde_json::Error| EngineError::Stored {
                    what,
                    message: e.to_string(),
                };
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    os_user: r.try_get("os_user")?,
                    surface: serde_json::from_value(serde_json::Value::String(r.try_get("surface")?))
                        .map_err(|e| stored("an audit entry's surface", e))?,
                    object: serde_json::from_value(serde_json::Value::String(r.try_get("object")?))
                        .map_err(|e| stored("an audit entry's object", e))?,
                    name: r.try_get("name")?,
                    action: r.try_get("action")?,
                    changes: serde_json::from_str(&r.try_get::<String, _>("changes")?)
                        .map_err(|e| stored("an audit entry's changes", e))?,
                })
            })
            .collect()
    }
}
