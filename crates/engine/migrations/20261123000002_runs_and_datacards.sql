-- Runs, the local datacard store, task caches and the script library.

ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'scheduled';   -- scheduled | event
ALTER TABLE runs ADD COLUMN stage TEXT;                               -- where a running run is
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;                        -- process executing it
ALTER TABLE runs ADD COLUMN stop_requested INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_by_status ON runs (status);
-- A task never runs twice at once, whichever process starts it.
CREATE UNIQUE INDEX one_running_run_per_task ON runs (task_id) WHERE status = 'running' AND kind = 'scheduled';

-- Cards of the local target. `key_attribute`/`object_key` hold the attribute
-- and value a task matched the card by; `task_id` the id last written to the
-- task's task-id attribute. Attribute values are a JSON object in `data`.
CREATE TABLE datacards (
    id            INTEGER PRIMARY KEY,
    template      TEXT NOT NULL,
    folder        TEXT NOT NULL,
    key_attribute TEXT,
    object_key    TEXT,
    task_id       TEXT,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX datacards_by_key ON datacards (template, key_attribute, object_key);
CREATE INDEX datacards_by_task ON datacards (template, task_id, object_key);

-- Per task: object id -> hash of the values last written (binary, see pipeline::cache).
-- Written in the same transaction as the load it describes.
CREATE TABLE task_cache (
    task_id                 TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    mappings_hash           TEXT NOT NULL,
    entries                 BLOB NOT NULL,
    last_successful_extract TEXT,
    updated_at              TEXT NOT NULL
);

CREATE TABLE scripts (
    name     TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,                -- scheduled | event | both
    added_at TEXT NOT NULL
);
