//! Custom script rows (the files live in the data directory).

use super::{unique_violation, Store};
use crate::error::{EngineError, Result};

impl Store {
    pub async fn custom_scripts(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT name, kind FROM scripts ORDER BY name")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn delete_custom_script(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM scripts WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn insert_custom_script(&self, name: &str, kind: &str) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        insert_custom_script_on(&mut conn, name, kind).await
    }
}

/// Records a custom script on `conn` (inside the caller's transaction, if any).
pub async fn insert_custom_script_on(
    conn: &mut sqlx::SqliteConnection,
    name: &str,
    kind: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO scripts (name, kind, added_at) VALUES (?, ?, ?)")
        .bind(name)
        .bind(kind)
        .bind(crate::clock::now())
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                EngineError::AlreadyExists {
                    kind: "script",
                    name: name.to_string(),
                }
            } else {
                e.into()
            }
        })?;
    Ok(())
}
