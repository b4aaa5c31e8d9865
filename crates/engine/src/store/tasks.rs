//! Task rows. The validated task is kept as JSON in `definition`; the columns
//! that queries filter on (connector, name, usage, enabled) are real columns.

use sqlx::Row;

use super::{unique_violation, Store};
use crate::error::{EngineError, Result};
use crate::model::{Task, TaskSummary, TaskUsage, WorkflowReference};

pub type TaskRow = Task;

const SELECT_TASK: &str = "SELECT t.id, t.connector_id, c.name AS connector_name, t.name, t.usage,
        t.enabled, t.definition, t.created_at, t.updated_at
     FROM tasks t JOIN connectors c ON c.id = t.connector_id";

fn usage_text(u: TaskUsage) -> &'static str {
    match u {
        TaskUsage::Scheduled => "scheduled",
        TaskUsage::Event => "event",
        TaskUsage::Authentication => "authentication",
    }
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Task> {
    let definition: String = row.try_get("definition")?;
    let mut task: Task = serde_json::from_str(&definition).map_err(|e| EngineError::Stored {
        what: "a task's definition",
        message: e.to_string(),
    })?;
    task.id = row.try_get("id")?;
    task.connector_id = row.try_get("connector_id")?;
    task.connector_name = row.try_get("connector_name")?;
    task.name = row.try_get("name")?;
    task.enabled = row.try_get::<i64, _>("enabled")? != 0;
    task.created_at = row.try_get("created_at")?;
    task.updated_at = row.try_get("updated_at")?;
    Ok(task)
}

impl Store {
    pub async fn insert_task(&self, task: &Task) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        insert_task_on(&mut tx, task).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_task(&self, task: &Task) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        update_task_on(&mut tx, task).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Inserts a task and its declared callers on `conn` (inside the caller's transaction).
pub async fn insert_task_on(conn: &mut sqlx::SqliteConnection, task: &Task) -> Result<()> {
    sqlx::query(
        "INSERT INTO tasks (id, connector_id, name, usage, enabled, definition, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&task.id)
    .bind(&task.connector_id)
    .bind(&task.name)
    .bind(usage_text(task.usage))
    .bind(task.enabled)
    .bind(definition_json(task))
    .bind(&task.created_at)
    .bind(&task.updated_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if unique_violation(&e) {
            EngineError::AlreadyExists {
                kind: "task",
                name: format!("{}/{}", task.connector_name, task.name),
            }
        } else {
            e.into()
        }
    })?;
    for r in task.references.iter().filter(|r| r.declared) {
        sqlx::query("INSERT OR IGNORE INTO task_references (task_id, caller, declared) VALUES (?, ?, 1)")
            .bind(&task.id)
            .bind(&r.caller)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Updates a task and adds its declared callers on `conn` (inside the caller's transaction).
pub async fn update_task_on(conn: &mut sqlx::SqliteConnection, task: &Task) -> Result<()> {
    sqlx::query("UPDATE tasks SET usage = ?, enabled = ?, definition = ?, updated_at = ? WHERE id = ?")
        .bind(usage_text(task.usage))
        .bind(task.enabled)
        .bind(definition_json(task))
        .bind(&task.updated_at)
        .bind(&task.id)
        .execute(&mut *conn)
        .await?;
    for r in task.references.iter().filter(|r| r.declared) {
        sqlx::query(
            "INSERT INTO task_references (task_id, caller, declared) VALUES (?, ?, 1)
             ON CONFLICT (task_id, caller) DO UPDATE SET declared = 1",
        )
        .bind(&task.id)
        .bind(&r.caller)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// A task by id, or by `CONNECTOR/TASK` names.
    pub async fn find_task(&self, reference: &str) -> Result<Option<Task>> {
        let by_id = sqlx::query(&format!("{SELECT_TASK} WHERE t.id = ?"))
            .bind(reference)
            .fetch_optional(self.pool())
            .await?;
        let row = match by_id {
            Some(row) => Some(row),
            None => match reference.rsplit_once('/') {
                Some((connector, task)) => {
                    sqlx::query(&format!(
                        "{SELECT_TASK} WHERE (c.name = ?1 OR c.id = ?1) AND t.name = ?2"
                    ))
                    .bind(connector)
                    .bind(task)
                    .fetch_optional(self.pool())
                    .await?
                }
                None => None,
            },
        };
        match row {
            Some(row) => {
                let mut task = from_row(&row)?;
                task.references = self.task_references(&task.id).await?;
                Ok(Some(task))
            }
            None => Ok(None),
        }
    }

    pub async fn task_name_taken(&self, connector_id: &str, name: &str) -> Result<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tasks WHERE connector_id = ? AND name = ?")
                .bind(connector_id)
                .bind(name)
                .fetch_one(self.pool())
                .await?
                > 0,
        )
    }

    /// Every task of one connector, in name order, with references.
    pub async fn connector_tasks(&self, connector_id: &str) -> Result<Vec<Task>> {
        let rows = sqlx::query(&format!("{SELECT_TASK} WHERE t.connector_id = ? ORDER BY t.name"))
            .bind(connector_id)
            .fetch_all(self.pool())
            .await?;
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut task = from_row(row)?;
            task.references = self.task_references(&task.id).await?;
            tasks.push(task);
        }
        Ok(tasks)
    }

    pub async fn list_tasks(&self, connector_id: Option<&str>) -> Result<Vec<TaskSummary>> {
        let rows = sqlx::query(&format!(
            "{SELECT_TASK} WHERE (?1 IS NULL OR t.connector_id = ?1)
             ORDER BY c.name COLLATE NOCASE, t.name COLLATE NOCASE"
        ))
        .bind(connector_id)
        .fetch_all(self.pool())
        .await?;
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT task_id, COUNT(*) FROM task_references GROUP BY task_id")
                .fetch_all(self.pool())
                .await?;
        let counts: std::collections::HashMap<String, i64> = counts.into_iter().collect();
        let mut last_runs = self.last_runs(connector_id).await?;
        rows.iter()
            .map(|row| {
                let t = from_row(row)?;
                Ok(TaskSummary {
                    reference_count: counts.get(&t.id).copied().unwrap_or(0) as u32,
                    connector_id: t.connector_id,
                    connector_name: t.connector_name,
                    name: t.name,
                    usage: t.usage,
                    enabled: t.enabled,
                    schedule: t.schedule,
                    timezone: t.timezone,
                    target_template: t.target_template,
                    next_run: None,
                    last_run: last_runs.remove(&t.id),
                    id: t.id,
                })
            })
            .collect()
    }

    /// Each task's latest ended run (running and skipped ones aside), by task id.
    async fn last_runs(
        &self,
        connector_id: Option<&str>,
    ) -> Result<std::collections::HashMap<String, crate::model::LastRun>> {
        // One index lookup per task (runs_by_task, newest first), not one per run.
        let rows = sqlx::query(
            "SELECT r.task_id, r.id, r.status, r.started_at,
                    json_extract(r.summary, '$.extract.status') AS extract,
                    json_extract(r.summary, '$.load.status') AS load,
                    COALESCE(json_extract(r.summary, '$.counts.fetched'), 0) AS fetched
             FROM tasks t JOIN runs r
               ON r.id = (SELECT r2.id FROM runs r2 WHERE r2.task_id = t.id
                          AND r2.status NOT IN ('running', 'skipped')
                          ORDER BY r2.started_at DESC LIMIT 1)
             WHERE (?1 IS NULL OR t.connector_id = ?1)",
        )
        .bind(connector_id)
        .fetch_all(self.pool())
        .await?;
        let stage = |text: Option<String>| {
            text.and_then(|t| serde_json::from_value(serde_json::Value::String(t)).ok())
        };
        let mut out = std::collections::HashMap::new();
        for row in &rows {
            let status: String = row.try_get("status")?;
            let Ok(status) = serde_json::from_value(serde_json::Value::String(status)) else {
                continue;
            };
            out.insert(
                row.try_get("task_id")?,
                crate::model::LastRun {
                    run_id: row.try_get("id")?,
                    status,
                    extract: stage(row.try_get("extract")?),
                    load: stage(row.try_get("load")?),
                    started_at: row
                        .try_get::<Option<String>, _>("started_at")?
                        .unwrap_or_default(),
                    fetched: row.try_get::<i64, _>("fetched")?.max(0) as u64,
                },
            );
        }
        Ok(out)
    }

    pub async fn delete_task(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM tasks WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        self.prune_card_store().await
    }

    pub async fn task_references(&self, task_id: &str) -> Result<Vec<WorkflowReference>> {
        let rows = sqlx::query(
            "SELECT caller, first_used, last_used, count, declared FROM task_references
             WHERE task_id = ? ORDER BY caller",
        )
        .bind(task_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WorkflowReference {
                    caller: r.try_get("caller")?,
                    first_used: r.try_get("first_used")?,
                    last_used: r.try_get("last_used")?,
                    count: r.try_get::<i64, _>("count")? as u64,
                    declared: r.try_get::<i64, _>("declared")? != 0,
                })
            })
            .collect()
    }

    /// Records one invocation of an event task by `caller`.
    pub async fn record_reference_use(&self, task_id: &str, caller: &str, now: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO task_references (task_id, caller, first_used, last_used, count, declared)
             VALUES (?1, ?2, ?3, ?3, 1, 0)
             ON CONFLICT (task_id, caller) DO UPDATE SET
                first_used = COALESCE(first_used, excluded.first_used),
                last_used = excluded.last_used, count = count + 1",
        )
        .bind(task_id)
        .bind(caller)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

fn definition_json(task: &Task) -> String {
    let mut stored = task.clone();
    // References live in their own table; keep the definition free of them.
    stored.references.clear();
    stored.next_run = None;
    serde_json::to_string(&stored).unwrap_or_default()
}
