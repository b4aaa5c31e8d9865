-- Clearing a task's data cache is recorded here, in provisio.db, instead of
-- deleting the cache row in the card store: a running load may hold the card
-- store's write lock for minutes, and a UI action must not wait for it. A
-- cache row counts only when the run that wrote it started after the last
-- reset of its task (task_id) or of every task ('*'). See store::cards.
CREATE TABLE cache_resets (
    task_id  TEXT PRIMARY KEY,
    reset_at INTEGER NOT NULL   -- ms since 1970, UTC
);
