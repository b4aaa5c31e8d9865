//! What the scheduler reads and writes: the enabled schedules, the tasks
//! change counter, last fire times, skipped runs, alerts and retention.

use sqlx::Row;

use super::Store;
use crate::error::Result;

/// The scheduling facts of one enabled scheduled task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    pub task_id: String,
    pub task: String,
    pub schedule: String,
    pub timezone: String,
}

pub use crate::model::Alert;
use crate::model::{AlertKind, Severity};

impl Store {
    /// Bumped by triggers on every task insert, update and delete.
    pub async fn tasks_version(&self) -> Result<i64> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'tasks_version'")
            .fetch_optional(self.pool())
            .await?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    pub async fn enabled_schedules(&self) -> Result<Vec<ScheduleRow>> {
        let rows = sqlx::query(
            "SELECT t.id, c.name || '/' || t.name AS task,
                    json_extract(t.definition, '$.schedule') AS schedule,
                    json_extract(t.definition, '$.timezone') AS timezone
             FROM tasks t JOIN connectors c ON c.id = t.connector_id
             WHERE t.usage IN ('scheduled', 'authentication') AND t.enabled = 1",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .filter_map(|r| {
                Some(Ok(ScheduleRow {
                    task_id: r.try_get("id").ok()?,
                    task: r.try_get("task").ok()?,
                    schedule: r.try_get::<Option<String>, _>("schedule").ok()??,
                    timezone: r
                        .try_get::<Option<String>, _>("timezone")
                        .ok()?
                        .unwrap_or_else(|| "UTC".into()),
                }))
            })
            .collect()
    }

    pub async fn last_fired(&self) -> Result<std::collections::HashMap<String, String>> {
        Ok(
            sqlx::query_as::<_, (String, String)>("SELECT task_id, last_fired_at FROM schedule_state")
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .collect(),
        )
    }

    pub async fn set_last_fired(&self, task_id: &str, at: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO schedule_state (task_id, last_fired_at) VALUES (?, ?)
             ON CONFLICT (task_id) DO UPDATE SET last_fired_at = excluded.last_fired_at",
        )
        .bind(task_id)
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn clear_all_caches(&self) -> Result<()> {
        self.clear_cache("*").await
    }

    /// Whether the task has an alert of this status nobody acknowledged yet.
    pub async fn has_open_alert(&self, task_id: &str, status: AlertKind) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE task_id = ? AND status = ? AND acknowledged = 0",
        )
        .bind(task_id)
        .bind(status.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    pub async fn add_alert(
        &self,
        task_id: Option<&str>,
        run_id: Option<&str>,
        task: &str,
        status: AlertKind,
        message: &str,
    ) -> Result<()> {
        // Production failures are critical; others are warnings (the seed's rule).
        let prod = self.settings().await?.environment_type == Some(crate::model::EnvironmentType::Prod);
        let severity = if prod {
            Severity::Critical
        } else {
            Severity::Warning
        };
        sqlx::query(
            "INSERT INTO alerts (created_at, task_id, run_id, task, status, message, severity)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(crate::clock::now())
        .bind(task_id)
        .bind(run_id)
        .bind(task)
        .bind(status.as_str())
        .bind(message)
        .bind(severity.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks every alert of a run read (what it asked for was done).
    pub async fn acknowledge_alerts_of_run(&self, run_id: &str) -> Result<()> {
        sqlx::query("UPDATE alerts SET acknowledged = 1 WHERE run_id = ?")
            .bind(run_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks an alert read; false when no alert has this id.
    pub async fn acknowledge_alert(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE alerts SET acknowledged = 1 WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn alerts(&self, limit: u32) -> Result<Vec<Alert>> {
        let rows = sqlx::query("SELECT * FROM alerts ORDER BY id DESC LIMIT ?")
            .bind(limit as i64)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Alert {
                    id: r.try_get("id")?,
                    created_at: r.try_get("created_at")?,
                    task_id: r.try_get("task_id")?,
                    run_id: r.try_get("run_id")?,
                    task: r.try_get("task")?,
                    status: AlertKind::parse(r.try_get("status")?),
                    message: r.try_get("message")?,
                    acknowledged: r.try_get::<i64, _>("acknowledged")? != 0,
                    severity: Severity::parse(r.try_get("severity")?),
                    help: None,
                })
            })
            .collect()
    }

    /// Runs to prune: finished runs older than `before` (if given), and per
    /// task all but the newest `keep` (if given). Never a running run.
    pub async fn runs_to_prune(&self, before: Option<&str>, keep: Option<u32>) -> Result<Vec<String>> {
        let mut ids: Vec<String> = Vec::new();
        if let Some(before) = before {
            ids.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM runs WHERE status != 'running' AND started_at < ?",
                )
                .bind(before)
                .fetch_all(self.pool())
                .await?,
            );
        }
        if let Some(keep) = keep {
            ids.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM (
                        SELECT id, status, ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY started_at DESC, rowid DESC) AS n
                        FROM runs) WHERE n > ? AND status != 'running'",
                )
                .bind(keep as i64)
                .fetch_all(self.pool())
                .await?,
            );
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    pub async fn delete_runs(&self, ids: &[String]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM runs WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.prune_card_store().await
    }
}
