//! The only code that speaks SQL. One SQLite file per data directory, WAL
//! mode with a busy timeout so the desktop app, the CLI and `serve` can share it.

mod connectors;
mod runs;
mod schedule;
mod scripts;
mod settings;
mod tasks;
mod templates;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::{EngineError, Result};

pub use connectors::{insert_connector_on, update_connector_on, ConnectorRow};
pub use runs::{CacheRow, Datacard};
pub use schedule::{Alert, ScheduleRow};
pub use scripts::insert_custom_script_on;
pub use tasks::TaskRow;
pub use tasks::{insert_task_on, update_task_on};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "provisio.db";

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// Bytes a checkpointed WAL file keeps (SQLite truncates it to this after a reset).
pub const WAL_SIZE_LIMIT: u64 = 64 << 20;

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies
    /// every pending migration.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DATABASE_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            // New databases only (a WAL database keeps its page size). Bulk
            // loads and their checkpoints move half as many pages as with
            // 4 KiB, for a little more per scattered small update (measured).
            .page_size(8192)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // A big load leaves a WAL as large as its data; once checkpointed it is cut back.
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(_) | sqlx::Error::Io(_) => EngineError::invalid(
                    "data directory",
                    format!("cannot open the database {}: {e}", path.display()),
                ),
                other => EngineError::Store(other),
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A value of the `meta` table, created with `init` on first use.
    pub async fn meta_or_init(&self, key: &str, init: impl FnOnce() -> String) -> Result<String> {
        if let Some(v) = sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok(v);
        }
        sqlx::query("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(init())
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = ?")
                .bind(key)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// Maps a UNIQUE violation to the error a person understands.
pub(crate) fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
