-- Foundation schema. Migrations are append-only: never edit a released file.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per setting; values are JSON.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE connectors (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    type              TEXT NOT NULL,
    script            TEXT,
    parameters        TEXT NOT NULL,   -- clean JSON, secret values removed
    secret_parameters TEXT NOT NULL,   -- JSON array of JSON pointers kept in the keyring
    target            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    usage        TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    definition   TEXT NOT NULL,        -- the validated task fields as JSON
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (connector_id, name)
);

CREATE TABLE task_references (
    task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    caller     TEXT NOT NULL,
    first_used TEXT,
    last_used  TEXT,
    count      INTEGER NOT NULL DEFAULT 0,
    declared   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, caller)
);

CREATE TABLE targets (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    base_url   TEXT,
    user       TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE templates (
    target     TEXT NOT NULL,
    code       TEXT NOT NULL,
    definition TEXT NOT NULL,
    built_in   INTEGER NOT NULL,
    PRIMARY KEY (target, code)
);

CREATE TABLE folders (
    target    TEXT NOT NULL,
    code      TEXT NOT NULL,
    name      TEXT NOT NULL,
    templates TEXT NOT NULL,          -- JSON array of template codes
    PRIMARY KEY (target, code)
);

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    trigger     TEXT NOT NULL,
    status      TEXT NOT NULL,
    planned_at  TEXT,
    started_at  TEXT,
    finished_at TEXT,
    summary     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_task ON runs (task_id, started_at);
