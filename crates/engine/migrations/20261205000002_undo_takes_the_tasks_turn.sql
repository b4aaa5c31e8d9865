-- An undo (and applying a run's held removals) takes its task's turn like a run of the task: none starts while
-- another is running (a scheduled run finding an undo running is skipped as busy).
DROP INDEX IF EXISTS one_running_run_per_task;
CREATE UNIQUE INDEX one_running_run_per_task ON runs (task_id) WHERE status = 'running' AND kind IN ('scheduled', 'undo', 'held');
