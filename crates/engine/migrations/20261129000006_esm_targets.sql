-- ESM targets: the API path, an extra CA file and the client's pacing.
-- The password lives in the OS keyring, never here.
ALTER TABLE targets ADD COLUMN api_path TEXT;
ALTER TABLE targets ADD COLUMN ca_file TEXT;
ALTER TABLE targets ADD COLUMN batch_size INTEGER;
ALTER TABLE targets ADD COLUMN requests_per_second REAL;
