//! The card store's own database file, `datacards.db`, beside `provisio.db`.
//!
//! # How a load shares the database
//! A load writes many cards in one transaction, so that a failed, stopped
//! or killed run commits nothing. SQLite lets one writer at a time into a
//! database file, and a load of ten million records holds its transaction
//! for minutes. Kept in the same file as connectors, tasks, settings and
//! run rows, that transaction made every other writer (a UI edit, another
//! task's run row, the scheduler) wait, and fail after the busy timeout.
//!
//! So the cards, their names, the tasks' data caches and the loads' commit
//! records live in `datacards.db`; everything people edit, and the run rows,
//! live in `provisio.db`. Every connection of the store attaches the card
//! file as `cards`, so queries name tables as before. A load opens the card
//! file alone (`targets::local`) and locks nothing in `provisio.db`: UI edits
//! and other runs' rows go in at once during any load. Loads still follow
//! one another, as they did.
//!
//! The run's final state cannot commit in the load's transaction any more
//! (SQLite commits attached WAL databases one file at a time, not as one).
//! The load writes a commit record (`load_commits`: the run's final summary)
//! in its transaction instead; the run row is written right after. An
//! engine that finds a run left `running` by a dead process looks for that
//! record first: present, the load did commit and the run is recorded as it
//! ended; absent, nothing of it was committed.
//!
//! Clearing a task's data cache must not wait for a load either: it is a
//! row in `provisio.db` (`cache_resets`), and a cache row counts only when
//! the run that wrote it started after the task's (and the all-tasks `*`)
//! last reset.

use std::path::Path;

use sqlx::{Connection, SqliteConnection};

use crate::error::Result;

/// File name of the card store inside the data directory.
pub const CARDS_FILE: &str = "datacards.db";

/// The card store's tables (see the migrations for their history; the
/// columns are the same, with no foreign key into `provisio.db`, which
/// SQLite cannot check across files).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cards.card_names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS cards.datacards (
    id            INTEGER PRIMARY KEY,
    template      INTEGER NOT NULL,
    folder        INTEGER NOT NULL,
    key_attribute INTEGER,
    object_key    TEXT,
    task          INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    data          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cards.datacards_by_key ON datacards (template, key_attribute, object_key, task);
-- Cards' newer values, kept apart from their rows until there are many
-- (store::bulk folds them in): a re-run changing every 50th card wrote
-- nearly every page of datacards (one per card, 175 MB of WAL for 20,000 cards
-- of a million, copied again by the checkpoint); here the same changes fill
-- a few hundred pages. A card's values are this row's when it has one.
CREATE TABLE IF NOT EXISTS cards.card_overlay (
    id         INTEGER PRIMARY KEY,  -- the card's
    updated_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);
-- Cards as they are now: their values and time from the overlay when it has
-- newer ones. Whatever reads a card's values reads them here (the load's
-- lookups, which ask the overlay only for the cards it holds, aside);
-- `row_data` is the row's own, for a scan that rules cards out before
-- looking in the overlay (the Data tab's search).
CREATE VIEW IF NOT EXISTS cards.datacards_now AS
    SELECT d.id, d.template, d.folder, d.key_attribute, d.object_key, d.task, d.created_at,
           coalesce(o.updated_at, d.updated_at) AS updated_at, coalesce(o.data, d.data) AS data,
           d.data AS row_data
      FROM datacards d LEFT JOIN card_overlay o ON o.id = d.id;
CREATE TABLE IF NOT EXISTS cards.task_cache (
    task_id                 TEXT PRIMARY KEY,
    mappings_hash           TEXT NOT NULL,
    entries                 BLOB NOT NULL,
    last_successful_extract TEXT,
    updated_at              TEXT NOT NULL,
    valid_from              INTEGER NOT NULL DEFAULT 0  -- ms: start of the run that wrote it
);
-- A task's cache entries written whole (see pipeline::cache). Apart from
-- task_cache, whose entries column older versions filled, so that the blob is
-- the last column of its row: SQLite writes a zeroblob placeholder in the last
-- column without making it in memory, and one in a middle column in full
-- (twice 32 MB at a million entries). Valid with the task_cache row.
CREATE TABLE IF NOT EXISTS cards.task_cache_entries (
    task_id TEXT PRIMARY KEY,
    entries BLOB NOT NULL
);
-- Changes to a task's cache since its entries were written whole (see pipeline::cache);
-- valid with the task_cache row they belong to.
CREATE TABLE IF NOT EXISTS cards.task_cache_delta (
    task_id TEXT PRIMARY KEY,
    entries BLOB NOT NULL
);
-- The change journal: what each run did to each card, in the load's own
-- transaction. A run of created cards is one row (first id, how many);
-- updates and removals one row per card with the changed fields before and after.
CREATE TABLE IF NOT EXISTS cards.card_changes (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL,
    card_id INTEGER NOT NULL,
    cards   INTEGER NOT NULL DEFAULT 1,
    kind    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    before  TEXT,
    after   TEXT
);
CREATE INDEX IF NOT EXISTS cards.card_changes_by_card ON card_changes (card_id);
-- The first card of each range of created cards, to find the oldest creation the journal still holds.
CREATE INDEX IF NOT EXISTS cards.card_changes_created ON card_changes (card_id) WHERE kind = 'create';
-- A run's rows, for its undo and its page of changes: without it both read the
-- whole journal, which grows by every run's changes for as long as it is kept.
CREATE INDEX IF NOT EXISTS cards.card_changes_by_run ON card_changes (run_id);
-- The source record behind a journalled change: the fingerprint (xxh3 of its
-- object id and mapped values, hex) of the record a load or read-back wrote.
CREATE TABLE IF NOT EXISTS cards.card_sources (
    change_id   INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
-- The fingerprint of the record a card was created from, kept when the card
-- first changes (a creation is journalled as a range of ids, without values:
-- until the card changes, the card itself holds the created record).
CREATE TABLE IF NOT EXISTS cards.card_origins (
    card_id     INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
-- The journal of loads into remote targets (store::remote_journal): one row
-- per confirmed write, with the changed fields before and after.
CREATE TABLE IF NOT EXISTS cards.remote_changes (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    target      TEXT NOT NULL,
    template    TEXT NOT NULL,
    key_attribute TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    card_id     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    before      TEXT,
    after       TEXT NOT NULL,
    fingerprint TEXT
);
CREATE INDEX IF NOT EXISTS cards.remote_changes_by_run ON remote_changes (run_id);
CREATE INDEX IF NOT EXISTS cards.remote_changes_by_card ON remote_changes (target, card_id);
CREATE TABLE IF NOT EXISTS cards.load_commits (
    run_id  TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    summary TEXT NOT NULL
);
";

/// Attaches the card file to a connection of the store (every pool connection).
pub async fn attach(conn: &mut SqliteConnection, file: &Path) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("ATTACH DATABASE ? AS cards")
        .bind(file.display().to_string())
        .execute(&mut *conn)
        .await?;
    // Takes effect in a new file only, before its first table (a WAL file keeps its page size).
    sqlx::query(&format!("PRAGMA cards.page_size = {}", super::PAGE_SIZE))
        .execute(&mut *conn)
        .await?;
    // The file's own PRAGMAs (foreign_keys belongs to the connection, set already).
    for (name, value) in super::PRAGMAS.iter().filter(|(n, _)| *n != "foreign_keys") {
        sqlx::query(&format!("PRAGMA cards.{name} = {value}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Removes the caches and commit records of tasks that no longer exist
/// (SQLite cannot cascade a removal across files), the journal of runs that
/// are gone, and the origins of cards whose creation left the journal (card
/// ids only grow, so those are the cards below the oldest creation kept).
/// At every open, and right after runs, tasks or connectors are removed.
/// Best effort and without waiting: while a load holds the card store, it is
/// left for the next time.
pub(super) async fn prune(conn: &mut SqliteConnection) {
    busy_timeout(conn, std::time::Duration::ZERO).await;
    let mut caches = Ok(());
    for statement in FORGOTTEN_TASKS {
        caches = caches.and(sqlx::query(statement).execute(&mut *conn).await.map(drop));
    }
    if let Err(e) = caches.and(prune_journal(conn).await) {
        tracing::debug!("what removed tasks and runs left in the card store stays until the next prune: {e}");
    }
    busy_timeout(conn, super::BUSY_TIMEOUT).await;
}

/// What [`prune`] deletes of tasks that are gone: their data caches and
/// their loads' commit records.
const FORGOTTEN_TASKS: [&str; 4] = [
    "DELETE FROM cards.task_cache WHERE task_id NOT IN (SELECT id FROM main.tasks)",
    "DELETE FROM cards.task_cache_delta WHERE task_id NOT IN (SELECT task_id FROM cards.task_cache)",
    "DELETE FROM cards.task_cache_entries WHERE task_id NOT IN (SELECT task_id FROM cards.task_cache)",
    "DELETE FROM cards.load_commits WHERE task_id NOT IN (SELECT id FROM main.tasks)",
];

/// The runs a journal table (`card_changes`, `remote_changes`) holds rows of
/// and `provisio.db` no longer has (the history's retention removed them).
/// Found one journalled run at a time through the table's index on `run_id`
/// (each step the next run id after the last one: a seek, not a scan). The
/// store opens at every command, and a `NOT IN` over the whole journal read
/// every journalled change there: 0.1 s at 220,000 changes, at every open.
fn gone_runs(table: &str) -> String {
    format!(
        "WITH RECURSIVE journalled(run_id) AS (
             SELECT (SELECT min(run_id) FROM cards.{table})
             UNION ALL
             SELECT (SELECT min(run_id) FROM cards.{table} WHERE run_id > journalled.run_id)
               FROM journalled WHERE journalled.run_id IS NOT NULL)
         SELECT run_id FROM journalled
          WHERE run_id IS NOT NULL AND run_id NOT IN (SELECT id FROM main.runs)"
    )
}

/// What [`prune`] deletes of one gone run, in this order: a change's
/// source goes with the change.
const JOURNAL_OF_RUN: [&str; 3] = [
    "DELETE FROM cards.card_sources WHERE change_id IN (SELECT id FROM cards.card_changes WHERE run_id = ?)",
    "DELETE FROM cards.card_changes WHERE run_id = ?",
    "DELETE FROM cards.remote_changes WHERE run_id = ?",
];

/// The card origins no creation in the journal covers any more (see [`prune`]).
const FORGOTTEN_ORIGINS: &str =
    "DELETE FROM cards.card_origins WHERE card_id < (SELECT coalesce(min(card_id), 1 << 62)
     FROM cards.card_changes INDEXED BY card_changes_created WHERE kind = 'create')";

/// How long the connection's statements wait for another writer.
async fn busy_timeout(conn: &mut SqliteConnection, wait: std::time::Duration) {
    let _ = sqlx::query(&format!("PRAGMA busy_timeout = {}", wait.as_millis()))
        .execute(&mut *conn)
        .await;
}

/// Deletes the journal of runs that are gone, in one transaction.
async fn prune_journal(conn: &mut SqliteConnection) -> std::result::Result<(), sqlx::Error> {
    let mut gone: Vec<String> = sqlx::query_scalar(&gone_runs("card_changes"))
        .fetch_all(&mut *conn)
        .await?;
    gone.extend(
        sqlx::query_scalar::<_, String>(&gone_runs("remote_changes"))
            .fetch_all(&mut *conn)
            .await?,
    );
    gone.sort();
    gone.dedup();
    let mut tx = conn.begin().await?;
    for run in &gone {
        for statement in JOURNAL_OF_RUN {
            sqlx::query(statement).bind(run).execute(&mut *tx).await?;
        }
    }
    sqlx::query(FORGOTTEN_ORIGINS).execute(&mut *tx).await?;
    tx.commit().await
}

/// Creates the card store's tables, and moves them out of `provisio.db` where
/// an older version kept them. The move copies, commits, and only then drops
/// the originals, so an interruption at any point leaves the cards in
/// `provisio.db`, where the next start copies them again.
pub async fn settle(conn: &mut SqliteConnection) -> Result<()> {
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name IN ('datacards', 'card_names', 'task_cache')",
    )
    .fetch_all(&mut *conn)
    .await?;
    if old.is_empty() {
        sqlx::raw_sql(SCHEMA).execute(&mut *conn).await?;
        prune(conn).await;
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS cards.datacards; DROP TABLE IF EXISTS cards.card_names;
         DROP TABLE IF EXISTS cards.task_cache;",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    for table in &old {
        let columns = match table.as_str() {
            "task_cache" => "task_id, mappings_hash, entries, last_successful_extract, updated_at",
            "card_names" => "id, name",
            _ => "id, template, folder, key_attribute, object_key, task, created_at, updated_at, data",
        };
        sqlx::query(&format!(
            "INSERT INTO cards.{table} ({columns}) SELECT {columns} FROM main.{table}"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let mut tx = conn.begin().await?;
    for table in &old {
        sqlx::query(&format!("DROP TABLE main.{table}"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    /// A `provisio.db` with run `kept` and the card file attached, its
    /// journal holding changes of `kept` and of runs that are gone.
    async fn journal_of_kept_and_gone_runs(dir: &std::path::Path) -> SqliteConnection {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("provisio.db"))
            .create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE tasks (id TEXT PRIMARY KEY); CREATE TABLE runs (id TEXT PRIMARY KEY);
             INSERT INTO runs VALUES ('kept');",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        super::attach(&mut conn, &dir.join(super::CARDS_FILE))
            .await
            .unwrap();
        sqlx::raw_sql(super::SCHEMA).execute(&mut conn).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO card_changes (id, run_id, card_id, cards, kind, at) VALUES
                 (1, 'gone', 1, 4, 'create', 0), (2, 'kept', 5, 1, 'create', 0),
                 (3, 'gone', 2, 1, 'update', 0), (4, 'kept', 2, 1, 'update', 0), (5, 'also gone', 3, 1, 'remove', 0);
             INSERT INTO card_sources VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');
             INSERT INTO card_origins VALUES (1, 'a'), (2, 'c'), (3, 'e'), (5, 'b');
             INSERT INTO remote_changes (run_id, target, template, key_attribute, object_key, card_id, kind, at, after)
                 VALUES ('remote gone', 'esm', 'person', 'id', '1', 1, 'update', 0, '{}'),
                        ('kept', 'esm', 'person', 'id', '2', 2, 'update', 0, '{}');",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn
    }

    async fn left(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
        sqlx::query_scalar(sql).fetch_all(conn).await.unwrap()
    }

    #[tokio::test]
    async fn the_journal_of_runs_that_are_gone_is_pruned_and_of_kept_runs_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = journal_of_kept_and_gone_runs(dir.path()).await;
        super::prune(&mut conn).await;
        let changes = left(
            &mut conn,
            "SELECT run_id || ':' || id FROM card_changes ORDER BY id",
        )
        .await;
        assert_eq!(changes, ["kept:2", "kept:4"]);
        let sources = left(
            &mut conn,
            "SELECT fingerprint FROM card_sources ORDER BY change_id",
        )
        .await;
        assert_eq!(sources, ["b", "d"], "a change's source goes with the change");
        let remote = left(&mut conn, "SELECT run_id FROM remote_changes").await;
        assert_eq!(remote, ["kept"]);
        let origins = left(&mut conn, "SELECT fingerprint FROM card_origins").await;
        assert_eq!(
            origins,
            ["b"],
            "cards created before the oldest creation kept lose their origin"
        );
    }

    /// The store opens at every command: pruning must not read the whole
    /// journal there (it did: 0.1 s at 220,000 journalled changes).
    #[tokio::test]
    async fn pruning_the_journal_seeks_the_runs_instead_of_reading_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = journal_of_kept_and_gone_runs(dir.path()).await;
        let mut statements = vec![
            super::gone_runs("card_changes"),
            super::gone_runs("remote_changes"),
        ];
        statements.extend(super::JOURNAL_OF_RUN.iter().map(|s| s.to_string()));
        statements.push(super::FORGOTTEN_ORIGINS.to_string());
        for statement in statements {
            let explain = format!("EXPLAIN QUERY PLAN {statement}");
            let mut query = sqlx::query(&explain);
            if statement.contains('?') {
                query = query.bind("gone");
            }
            let plan: Vec<String> = query
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
                .collect();
            let journal = ["card_changes", "card_sources", "card_origins", "remote_changes"];
            for step in plan
                .iter()
                .filter(|step| journal.iter().any(|t| step.contains(t)))
            {
                assert!(
                    step.starts_with("SEARCH"),
                    "{statement}\nreads a whole table: {plan:?}"
                );
            }
            assert!(!plan.is_empty());
        }
    }

    /// A database as version 0.1 left it: cards in `provisio.db`.
    #[tokio::test]
    async fn cards_move_out_of_the_main_file_whole_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("provisio.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&main)
            .create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE card_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE datacards (id INTEGER PRIMARY KEY, template INTEGER NOT NULL, folder INTEGER NOT NULL,
                key_attribute INTEGER, object_key TEXT, task INTEGER, created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL, data TEXT NOT NULL);
             CREATE TABLE task_cache (task_id TEXT PRIMARY KEY, mappings_hash TEXT NOT NULL, entries BLOB NOT NULL,
                last_successful_extract TEXT, updated_at TEXT NOT NULL);
             INSERT INTO card_names VALUES (1, 'person'), (2, 'persons');
             INSERT INTO datacards VALUES (7, 1, 2, NULL, 'k', NULL, 1, 2, '{\"a\":1}');
             INSERT INTO task_cache VALUES ('t', 'h', x'0102', '2026-01-01', '2026-01-02');",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        super::attach(&mut conn, &dir.path().join(super::CARDS_FILE))
            .await
            .unwrap();
        super::settle(&mut conn).await.unwrap();
        super::settle(&mut conn).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM main.sqlite_master WHERE type = 'table'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "nothing of the card store is left in provisio.db");
        let card: (i64, String, String) = sqlx::query_as(
            "SELECT d.id, t.name, d.data FROM cards.datacards d JOIN cards.card_names t ON t.id = d.template",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(card, (7, "person".to_string(), "{\"a\":1}".to_string()));
        let cache: Vec<u8> = sqlx::query_scalar("SELECT entries FROM cards.task_cache WHERE task_id = 't'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(cache, [1, 2]);
    }
}
