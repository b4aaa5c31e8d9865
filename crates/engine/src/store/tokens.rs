//! Workflow API tokens: name, SHA-256 hash, the task ids each may call.

use sqlx::Row;

use super::Store;
use crate::error::Result;

/// A stored token row: (name, hash, task ids or none for all, created, last used).
pub type TokenRow = (String, String, Option<Vec<String>>, String, Option<String>);

impl Store {
    pub async fn insert_api_token(
        &self,
        name: &str,
        hash: &str,
        tasks: Option<&[String]>,
        at: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO api_tokens (name, hash, tasks, created_at) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(hash)
            .bind(tasks.map(|t| serde_json::to_string(t).unwrap_or_default()))
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn api_tokens(&self) -> Result<Vec<TokenRow>> {
        let rows =
            sqlx::query("SELECT name, hash, tasks, created_at, last_used FROM api_tokens ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(token_row).collect()
    }

    pub async fn api_token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        let row =
            sqlx::query("SELECT name, hash, tasks, created_at, last_used FROM api_tokens WHERE hash = ?")
                .bind(hash)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(token_row).transpose()
    }

    pub async fn touch_api_token(&self, name: &str, at: &str) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used = ? WHERE name = ?")
            .bind(at)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes a token; false when there was none of that name.
    pub async fn delete_api_token(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn token_row(r: &sqlx::sqlite::SqliteRow) -> Result<TokenRow> {
    let tasks: Option<String> = r.try_get("tasks")?;
    Ok((
        r.try_get("name")?,
        r.try_get("hash")?,
        tasks.map(|t| serde_json::from_str(&t).unwrap_or_default()),
        r.try_get("created_at")?,
        r.try_get("last_used")?,
    ))
}
