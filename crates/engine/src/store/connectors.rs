//! Connector rows.

use sqlx::Row;

use super::{unique_violation, Store};
use crate::error::{EngineError, Result};
use crate::model::{Connector, ConnectorSummary, ConnectorType};

/// A connector as stored; `Connector` plus nothing secret.
pub type ConnectorRow = Connector;

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Connector> {
    let type_text: String = row.try_get("type")?;
    Ok(Connector {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        connector_type: ConnectorType::parse(&type_text).ok_or_else(|| {
            EngineError::invalid(
                "type",
                format!("unknown connector type '{type_text}' in the database"),
            )
        })?,
        script: row.try_get("script")?,
        parameters: serde_json::from_str(&row.try_get::<String, _>("parameters")?).unwrap_or_default(),
        secret_parameters: serde_json::from_str(&row.try_get::<String, _>("secret_parameters")?)
            .unwrap_or_default(),
        target: row.try_get("target")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn insert_connector(&self, c: &Connector) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        insert_connector_on(&mut conn, c).await
    }

    pub async fn update_connector(&self, c: &Connector) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        update_connector_on(&mut conn, c).await
    }

    /// A connector by id or, failing that, by name.
    pub async fn find_connector(&self, id_or_name: &str) -> Result<Option<Connector>> {
        let row =
            sqlx::query("SELECT * FROM connectors WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1")
                .bind(id_or_name)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn connector_name_taken(&self, name: &str) -> Result<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM connectors WHERE name = ?")
                .bind(name)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    pub async fn list_connectors(&self) -> Result<Vec<ConnectorSummary>> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.type, c.script, c.target,
                    COALESCE(SUM(t.usage = 'scheduled'), 0) AS scheduled_count,
                    COALESCE(SUM(t.usage = 'event'), 0) AS event_count,
                    COALESCE(SUM(t.usage = 'authentication'), 0) AS authentication_count
             FROM connectors c LEFT JOIN tasks t ON t.connector_id = c.id
             GROUP BY c.id ORDER BY c.name COLLATE NOCASE",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let type_text: String = row.try_get("type")?;
                Ok(ConnectorSummary {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    connector_type: ConnectorType::parse(&type_text).unwrap_or(ConnectorType::PythonScript),
                    script: row.try_get("script")?,
                    target: row.try_get("target")?,
                    scheduled_count: row.try_get::<i64, _>("scheduled_count")? as u32,
                    event_count: row.try_get::<i64, _>("event_count")? as u32,
                    authentication_count: row.try_get::<i64, _>("authentication_count")? as u32,
                    supports_authentication: false,
                    // Computed by the engine from the tasks' runs.
                    status: Default::default(),
                })
            })
            .collect()
    }

    /// Removes a connector; its tasks, references and runs go with it (ON DELETE CASCADE).
    pub async fn delete_connector(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM connectors WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        self.prune_card_store().await
    }
}

/// Inserts a connector row on `conn` (inside the caller's transaction, if any).
pub async fn insert_connector_on(conn: &mut sqlx::SqliteConnection, c: &Connector) -> Result<()> {
    sqlx::query(
            "INSERT INTO connectors (id, name, type, script, parameters, secret_parameters, target, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(c.connector_type.as_str())
        .bind(&c.script)
        .bind(c.parameters.to_string())
        .bind(serde_json::to_string(&c.secret_parameters).unwrap_or_else(|_| "[]".into()))
        .bind(&c.target)
        .bind(&c.created_at)
        .bind(&c.updated_at)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                EngineError::AlreadyExists { kind: "connector", name: c.name.clone() }
            } else {
                e.into()
            }
        })?;
    Ok(())
}

pub async fn update_connector_on(conn: &mut sqlx::SqliteConnection, c: &Connector) -> Result<()> {
    sqlx::query(
        "UPDATE connectors SET script = ?, parameters = ?, secret_parameters = ?, target = ?, updated_at = ?
             WHERE id = ?",
    )
    .bind(&c.script)
    .bind(c.parameters.to_string())
    .bind(serde_json::to_string(&c.secret_parameters).unwrap_or_else(|_| "[]".into()))
    .bind(&c.target)
    .bind(&c.updated_at)
    .bind(&c.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
