-- "Reset incremental state" (task reset-incremental), kept apart from clearing
-- the data cache: clearing the cache forgets the cards' values, while an
-- incremental task stays incremental after its first run (the seed's rule)
-- until a person resets it here. Same timing rule as cache_resets.
CREATE TABLE incremental_resets (
    task_id  TEXT PRIMARY KEY,
    reset_at INTEGER NOT NULL   -- ms since 1970, UTC
);
