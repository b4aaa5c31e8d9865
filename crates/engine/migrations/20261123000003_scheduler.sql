-- Scheduler: a change counter for tasks (so the scheduler reloads only when
-- something changed), the last fire time per task (for catch-up), alerts.

INSERT OR IGNORE INTO meta (key, value) VALUES ('tasks_version', '0');
CREATE TRIGGER tasks_version_insert AFTER INSERT ON tasks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tasks_version';
END;
CREATE TRIGGER tasks_version_update AFTER UPDATE ON tasks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tasks_version';
END;
CREATE TRIGGER tasks_version_delete AFTER DELETE ON tasks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'tasks_version';
END;

CREATE TABLE schedule_state (
    task_id       TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    last_fired_at TEXT NOT NULL
);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    created_at   TEXT NOT NULL,
    task_id      TEXT,
    run_id       TEXT,
    task         TEXT NOT NULL,
    status       TEXT NOT NULL,
    message      TEXT NOT NULL,
    acknowledged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_by_time ON alerts (created_at);
