-- The audit of configuration changes (connectors, tasks, scripts, settings,
-- targets, API tokens, templates, imports): when, as which OS user, from
-- which surface, what, and the changes field by field (secrets masked).
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    os_user TEXT NOT NULL,
    surface TEXT NOT NULL,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
