-- An alert's severity follows the environment type when it was raised
-- (prod: critical; test, dev, demo: warning), as the seed describes.
ALTER TABLE alerts ADD COLUMN severity TEXT NOT NULL DEFAULT 'warning';
