//! The only code that speaks SQL. Two SQLite files per data directory:
//! `provisio.db` (configuration, runs) and `datacards.db` (the local card
//! store; see [`cards`] for why), in WAL mode with a busy timeout so the
//! desktop app, the CLI and `serve` can share them.

mod audit;
pub mod bulk;
mod card_patch;
mod card_search;
pub mod cards;
mod connectors;
mod import;
pub mod remote_journal;
mod runs;
mod schedule;
mod scripts;
mod settings;
mod tasks;
mod templates;
mod tokens;
mod writeback;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::SqlitePool;

use crate::error::{EngineError, Result};

pub use card_search::CardSearch;
pub use connectors::ConnectorRow;
pub use import::ImportedConnector;
pub use runs::{CacheRow, CardChangeRow, Datacard, UndoRow};
pub use schedule::{Alert, ScheduleRow};
pub use tasks::TaskRow;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "provisio.db";

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    dir: std::path::PathBuf,
}

/// How long a statement of the store waits for another writer.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Page size of new database files, `provisio.db` and the card store alike
/// (a WAL database keeps the size it was made with). A million-card first
/// load takes a fifth less time than with SQLite's 4 KiB: half as many pages
/// to allocate, balance, checksum and write, twice (WAL, then checkpoint).
/// 16 KiB made its run shorter and its checkpoint as much longer (measured,
/// `cargo bench --bench pipeline`, again once re-runs wrote to the overlay).
pub const PAGE_SIZE: u32 = 8192;

/// Bytes a checkpointed WAL file keeps (SQLite truncates it to this after a reset).
pub const WAL_SIZE_LIMIT: u64 = 64 << 20;

/// The PRAGMAs of every connection to the store's files, whichever driver
/// opens it (sqlx here, rusqlite in [`bulk`]); with [`BUSY_TIMEOUT`], which
/// both set through their own call. A big load leaves a WAL as large as its
/// data; `journal_size_limit` cuts it back once checkpointed.
pub const PRAGMAS: [(&str, &str); 4] = [
    ("journal_mode", "WAL"),
    ("synchronous", "NORMAL"),
    ("foreign_keys", "ON"),
    ("journal_size_limit", "67108864"),
];

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies
    /// every pending migration.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DATABASE_FILE);
        let cards_file = data_dir.join(cards::CARDS_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .page_size(PAGE_SIZE)
            .busy_timeout(BUSY_TIMEOUT);
        let options = PRAGMAS
            .iter()
            .fold(options, |o, (name, value)| o.pragma(*name, *value));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(move |conn, _| {
                let cards_file = cards_file.clone();
                Box::pin(async move { cards::attach(conn, &cards_file).await })
            })
            .connect_with(options)
            .await
            .map_err(|e| EngineError::StoreOpen {
                path: path.display().to_string(),
                source: e,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        cards::settle(&mut *pool.acquire().await?).await?;
        Ok(Store {
            pool,
            dir: data_dir.to_path_buf(),
        })
    }

    /// Closes the pool and empties both files' WALs; the store is unusable afterwards.
    pub async fn close(&self) {
        // sqlx 0.8's `Pool::close` can return with a connection still open
        // (launchbadge/sqlx#3217, fixed after 0.8.6): one given back while it
        // ran lands in the idle queue after its last look there, and one still
        // out is not always waited for (measured: after one close, one CLI
        // command in six still had one or two open). An open connection
        // keeps the WAL behind for the next command to replay; so close again
        // until none is left, a few milliseconds at most.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            self.pool.close().await;
            if self.pool.size() == 0 || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        // One more connection empties each WAL and removes it, should a
        // connection have outlived the deadline (or the card file's WAL be
        // the load's); if another process has the database open, it leaves
        // it as it is.
        let files = [self.dir.join(DATABASE_FILE), self.dir.join(cards::CARDS_FILE)];
        let _ = tokio::task::spawn_blocking(move || {
            for database in &files {
                bulk::checkpoint_and_close(database);
            }
        })
        .await;
    }

    /// The configuration database's pool, for the store's own modules and
    /// for tests and benchmarks that read what it wrote; engine code outside
    /// `store/` never uses it (the architecture test checks).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Removes from the card file what removed runs, tasks and connectors
    /// left there (their journal, their data caches): no transaction can span
    /// both files, so this follows each removal (see [`cards::prune`]).
    async fn prune_card_store(&self) -> Result<()> {
        cards::prune(&mut *self.pool.acquire().await?).await;
        Ok(())
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

#[cfg(test)]
mod migration_tests {
    use rusqlite::Connection;

    const BEFORE_COMPACT: [&str; 3] = [
        include_str!("../../migrations/20261123000001_foundation.sql"),
        include_str!("../../migrations/20261123000002_runs_and_datacards.sql"),
        include_str!("../../migrations/20261123000003_scheduler.sql"),
    ];
    const COMPACT: &str = include_str!("../../migrations/20261123000004_compact_datacards.sql");

    #[test]
    fn compacting_the_card_table_keeps_every_card_its_names_and_its_times() {
        let conn = Connection::open_in_memory().unwrap();
        for m in BEFORE_COMPACT {
            conn.execute_batch(m).unwrap();
        }
        conn.execute_batch(
            r#"INSERT INTO datacards (id, template, folder, key_attribute, object_key, task_id, data, created_at, updated_at) VALUES
               (7, 'person', 'persons', 'employee_id', 'E1', 'task-a', '{"employee_id":"E1"}', '2026-11-20T08:00:00.125Z', '2026-11-21T09:30:00.999Z'),
               (9, 'person', 'persons', 'employee_id', 'E2', 'task-b', '{"employee_id":"E2"}', '2026-11-20T08:00:00.000Z', '2026-11-20T08:00:00.000Z'),
               (12, 'provisioning_failure', 'failures', NULL, NULL, NULL, '{"message":"m"}', '2026-11-22T10:00:00.001Z', '2026-11-22T10:00:00.001Z');"#,
        )
        .unwrap();
        conn.execute_batch(COMPACT).unwrap();
        // One line per card: id, names, key, data; then its two times.
        let rows: Vec<(String, i64, i64)> = conn
            .prepare(
                "SELECT printf('%d %s %s %s %s %s %s', d.id, t.name, f.name, ifnull(k.name, '-'),
                        ifnull(d.object_key, '-'), ifnull(tk.name, '-'), d.data), d.created_at, d.updated_at
                 FROM datacards d JOIN card_names t ON t.id = d.template JOIN card_names f ON f.id = d.folder
                 LEFT JOIN card_names k ON k.id = d.key_attribute LEFT JOIN card_names tk ON tk.id = d.task
                 ORDER BY d.id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let cards: Vec<(&str, String, String)> = rows
            .iter()
            .map(|(line, c, u)| {
                (
                    &line[..],
                    crate::clock::time_of_millis(*c),
                    crate::clock::time_of_millis(*u),
                )
            })
            .collect();
        let card = |line, c: &str, u: &str| (line, c.to_string(), u.to_string());
        assert_eq!(
            cards,
            [
                card(
                    r#"7 person persons employee_id E1 task-a {"employee_id":"E1"}"#,
                    "2026-11-20T08:00:00.125Z",
                    "2026-11-21T09:30:00.999Z"
                ),
                card(
                    r#"9 person persons employee_id E2 task-b {"employee_id":"E2"}"#,
                    "2026-11-20T08:00:00.000Z",
                    "2026-11-20T08:00:00.000Z"
                ),
                card(
                    r#"12 provisioning_failure failures - - - {"message":"m"}"#,
                    "2026-11-22T10:00:00.001Z",
                    "2026-11-22T10:00:00.001Z"
                ),
            ]
        );
        // The task's cards are read from the key index alone (no table lookups).
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id, object_key FROM datacards WHERE template = 1 AND task = 2",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("COVERING INDEX datacards_by_key"), "{plan}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_leaves_no_connection_open_and_no_wal_behind() {
        // Queries that end just before the close give their connections back
        // while it runs: the way a command ends.
        for round in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).await.unwrap();
            let one = || sqlx::query("SELECT 1").execute(store.pool());
            let (a, b, c, d) = tokio::join!(one(), one(), one(), one());
            for done in [a, b, c, d] {
                done.unwrap();
            }
            store.close().await;
            assert_eq!(
                store.pool().size(),
                0,
                "round {round}: a connection was left open"
            );
            let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
            assert!(!wal.exists(), "round {round}: the WAL was left behind");
        }
    }

    #[test]
    fn the_pragma_list_keeps_the_wal_size_limit() {
        let limit = PRAGMAS
            .iter()
            .find(|(n, _)| *n == "journal_size_limit")
            .map(|(_, v)| *v);
        assert_eq!(limit, Some(WAL_SIZE_LIMIT.to_string().as_str()));
    }
}
