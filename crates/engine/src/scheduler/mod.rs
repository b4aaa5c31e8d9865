//! When runs are due, and executing them within the worker limit.
//!
//! [`Agenda`] is pure bookkeeping of next fire times (no I/O, no clock);
//! [`Scheduler`] drives it with an injected [`Clock`]: each [`Scheduler::tick`]
//! reloads schedules when tasks changed, queues due runs (skipping a task
//! whose previous run is still going, and recording that), clears caches at
//! the configured hours, prunes history, and starts queued runs FIFO while
//! fewer than `workers` run. Tests call `tick` with a manual clock; `serve`
//! and the desktop app call [`Scheduler::run_until`].

pub mod lock;
pub mod preview;
pub mod timing;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};

use std::future::Future;

use crate::error::Result;
use crate::model::{Run, RunTrigger, SkipReason};
use crate::store::{ScheduleRow, Store};
use timing::Timing;

/// What the scheduler needs from the engine, and nothing more: the store
/// (schedules, settings, last fire times) and the run lifecycle. The engine
/// implements it (`api::scheduling`); the scheduler never sees the facade.
pub trait RunHost: Clone + Send + Sync + std::fmt::Debug + 'static {
    fn store(&self) -> &Store;
    /// Deletes runs beyond the retention settings; returns how many.
    fn prune_history(&self, now: DateTime<Utc>) -> impl Future<Output = Result<usize>> + Send;
    /// Records that a due run did not happen, and why (an alert follows).
    fn record_skipped(
        &self,
        task_id: &str,
        planned: DateTime<Utc>,
        reason: &SkipReason,
    ) -> impl Future<Output = Result<Run>> + Send;
    /// Alerts for tasks with no successful run within their `stale_after`.
    fn check_stale(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Records a new run of the task; refused when it runs elsewhere.
    fn create_run(&self, task_id: &str, trigger: RunTrigger) -> impl Future<Output = Result<Run>> + Send;
    fn set_planned(&self, run_id: &str, planned: &str) -> impl Future<Output = Result<()>> + Send;
    /// Executes a recorded run to its end.
    fn execute_run(&self, run_id: &str) -> impl Future<Output = Result<Run>> + Send;
    /// Asks the task's running run to stop.
    fn request_stop(&self, task_id: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// A free worker slot (shared with the workflow API), the slots first
    /// sized to `workers`; `None` when all are in use.
    fn worker_slot(&self, workers: usize) -> Option<crate::workers::WorkerSlot>;
}

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }
}

#[derive(Debug)]
struct Entry {
    schedule: String,
    timezone: String,
    task: String,
    timing: Timing,
    next: Option<DateTime<Utc>>,
}

/// A task whose time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub task_id: String,
    pub task: String,
    pub at: DateTime<Utc>,
}

/// Next fire times of every enabled schedule, in a heap so a tick costs
/// O(due · log n), not O(tasks).
#[derive(Debug, Default)]
pub struct Agenda {
    entries: HashMap<String, Entry>,
    heap: BinaryHeap<Reverse<(DateTime<Utc>, String)>>,
}

impl Agenda {
    /// Brings the agenda in line with the enabled schedules. Unchanged
    /// schedules keep their next time; new or edited ones get one after `now`.
    pub fn sync(&mut self, rows: Vec<ScheduleRow>, now: DateTime<Utc>) {
        let mut seen = HashSet::with_capacity(rows.len());
        for row in rows {
            seen.insert(row.task_id.clone());
            if let Some(e) = self.entries.get_mut(&row.task_id) {
                if e.schedule == row.schedule && e.timezone == row.timezone {
                    e.task = row.task;
                    continue;
                }
            }
            let Ok(timing) = Timing::new(&row.schedule, &row.timezone) else {
                continue;
            };
            let next = timing.next_after(now);
            if let Some(at) = next {
                self.heap.push(Reverse((at, row.task_id.clone())));
            }
            self.entries.insert(
                row.task_id,
                Entry {
                    schedule: row.schedule,
                    timezone: row.timezone,
                    task: row.task,
                    timing,
                    next,
                },
            );
        }
        self.entries.retain(|id, _| seen.contains(id));
        // Drop heap entries of removed tasks now and then, so the heap stays small.
        if self.heap.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.heap
                .retain(|Reverse((at, id))| entries.get(id).is_some_and(|e| e.next == Some(*at)));
        }
    }

    /// Every task due at `now`, each once; their next time moves past `now`
    /// (missed times are not replayed).
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        let mut out = Vec::new();
        while let Some(Reverse((at, _))) = self.heap.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, id))) = self.heap.pop() else {
                break;
            };
            let Some(e) = self.entries.get_mut(&id) else {
                continue;
            };
            if e.next != Some(at) {
                continue; // an older time of an edited schedule
            }
            out.push(Due {
                task_id: id.clone(),
                task: e.task.clone(),
                at,
            });
            e.next = e.timing.next_after(now);
            if let Some(next) = e.next {
                self.heap.push(Reverse((next, id)));
            }
        }
        out
    }

    pub fn next(&self, task_id: &str) -> Option<DateTime<Utc>> {
        self.entries.get(task_id).and_then(|e| e.next)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A run waiting for a worker.
#[derive(Debug, Clone)]
struct Job {
    task_id: String,
    trigger: RunTrigger,
    planned_at: Option<DateTime<Utc>>,
}

/// What one tick did, for tests and logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub queued: Vec<String>,
    pub started: Vec<String>,
    pub skipped: Vec<String>,
    /// Tasks alerted this tick for having no successful run within their `stale_after`.
    pub stale: Vec<String>,
    pub caches_cleared: bool,
    pub pruned: usize,
}

#[derive(Debug)]
pub struct Scheduler<H: RunHost> {
    engine: H,
    clock: Arc<dyn Clock>,
    agenda: Agenda,
    tasks_version: Option<i64>,
    queue: VecDeque<Job>,
    running: HashMap<String, tokio::task::JoinHandle<()>>,
    next_cache_clear: Option<DateTime<Utc>>,
    next_prune: Option<DateTime<Utc>>,
    next_stale_check: Option<DateTime<Utc>>,
}

impl<H: RunHost> Scheduler<H> {
    pub fn new(engine: H, clock: Arc<dyn Clock>) -> Self {
        Scheduler {
            engine,
            clock,
            agenda: Agenda::default(),
            tasks_version: None,
            queue: VecDeque::new(),
            running: HashMap::new(),
            next_cache_clear: None,
            next_prune: None,
            next_stale_check: None,
        }
    }

    pub fn agenda(&self) -> &Agenda {
        &self.agenda
    }

    /// Task ids with a run in progress in this scheduler.
    pub fn running(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// A run outside the schedule (UI "Run now"); it waits its turn in the same queue.
    pub fn enqueue_manual(&mut self, task_id: &str) {
        self.queue.push_back(Job {
            task_id: task_id.into(),
            trigger: RunTrigger::Manual,
            planned_at: None,
        });
    }

    /// When no engine was running at a task's times: history records one
    /// skipped row naming how many times passed (and an alert follows);
    /// with the catch-up setting on, one catch-up run per task is queued.
    /// Returns the tasks queued.
    pub async fn catch_up(&mut self) -> Result<Vec<String>> {
        let catch_up = self.engine.store().settings().await?.catch_up;
        let now = self.clock.now();
        let last = self.engine.store().last_fired().await?;
        let mut queued = Vec::new();
        for row in self.engine.store().enabled_schedules().await? {
            let Some(last_at) = last
                .get(&row.task_id)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            else {
                continue;
            };
            let Ok(timing) = Timing::new(&row.schedule, &row.timezone) else {
                continue;
            };
            let Some(first) = timing
                .next_after(last_at.with_timezone(&Utc))
                .filter(|t| *t < now)
            else {
                continue;
            };
            // How many times passed (counted up to a bound: an every-second task closed for a week).
            let (mut missed, mut last) = (1u32, first);
            while missed < MISSED_COUNT_LIMIT {
                match timing.next_after(last).filter(|t| *t < now) {
                    Some(t) => {
                        missed += 1;
                        last = t;
                    }
                    None => break,
                }
            }
            let reason = SkipReason::EngineNotRunning {
                missed,
                last: stamp(last),
            };
            self.engine.record_skipped(&row.task_id, first, &reason).await?;
            self.engine
                .store()
                .set_last_fired(&row.task_id, &stamp(now))
                .await?;
            if catch_up {
                self.queue.push_back(Job {
                    task_id: row.task_id.clone(),
                    trigger: RunTrigger::CatchUp,
                    planned_at: Some(last),
                });
                queued.push(row.task_id);
            }
        }
        Ok(queued)
    }

    /// One pass of the scheduler at the clock's current time.
    pub async fn tick(&mut self) -> Result<TickReport> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        let settings = self.engine.store().settings().await?;
        self.running.retain(|_, h| !h.is_finished());

        let version = self.engine.store().tasks_version().await?;
        if self.tasks_version != Some(version) {
            self.agenda
                .sync(self.engine.store().enabled_schedules().await?, now);
            self.tasks_version = Some(version);
        }

        // The first tick clears them too: the manual's engine clears every
        // cache when it starts, so a restart is the way to force full loads.
        let next_clear = *self.next_cache_clear.get_or_insert(now);
        if now >= next_clear {
            self.engine.store().clear_all_caches().await?;
            report.caches_cleared = true;
            self.next_cache_clear = Some(next_hour_in(&settings.cache_clear_hours, now));
        }

        let next_stale = *self.next_stale_check.get_or_insert(now);
        if now >= next_stale {
            report.stale = self.engine.check_stale(now).await?;
            self.next_stale_check = Some(now + chrono::Duration::minutes(1));
        }

        let next_prune = *self.next_prune.get_or_insert(now);
        if now >= next_prune {
            report.pruned = self.engine.prune_history(now).await?;
            self.next_prune = Some(now + chrono::Duration::hours(1));
        }

        for due in self.agenda.due(now) {
            self.engine
                .store()
                .set_last_fired(&due.task_id, &stamp(due.at))
                .await?;
            let busy = self.running.contains_key(&due.task_id)
                || self.queue.iter().any(|j| j.task_id == due.task_id);
            if busy {
                self.engine
                    .record_skipped(&due.task_id, due.at, &SkipReason::PreviousRunBusy)
                    .await?;
                report.skipped.push(due.task_id);
            } else {
                self.queue.push_back(Job {
                    task_id: due.task_id.clone(),
                    trigger: RunTrigger::Schedule,
                    planned_at: Some(due.at),
                });
                report.queued.push(due.task_id);
            }
        }

        // No task runs before the environment type is set; due runs wait in the queue.
        if settings.environment_type.is_none() {
            return Ok(report);
        }
        let workers = settings.workers.max(1) as usize;
        let mut waiting = VecDeque::new();
        while self.running.len() < workers {
            let Some(job) = self.queue.pop_front() else { break };
            if self.running.contains_key(&job.task_id) {
                waiting.push_back(job); // its previous run is still going: keep order, try later
                continue;
            }
            // Runs the workflow API started hold slots too.
            let Some(slot) = self.engine.worker_slot(workers) else {
                self.queue.push_front(job);
                break;
            };
            let engine = self.engine.clone();
            let task_id = job.task_id.clone();
            let handle = tokio::spawn(async move {
                let _slot = slot;
                let run = match engine.create_run(&job.task_id, job.trigger).await {
                    Ok(run) => run,
                    Err(_) => {
                        // Running elsewhere (a CLI run) or removed meanwhile: record and move on.
                        let _ = engine
                            .record_skipped(
                                &job.task_id,
                                job.planned_at.unwrap_or_else(Utc::now),
                                &SkipReason::RunningElsewhere,
                            )
                            .await;
                        return;
                    }
                };
                if let Some(p) = job.planned_at {
                    let _ = engine.set_planned(&run.id, &stamp(p)).await;
                }
                let _ = engine.execute_run(&run.id).await;
            });
            self.running.insert(task_id.clone(), handle);
            report.started.push(task_id);
        }
        while let Some(job) = waiting.pop_back() {
            self.queue.push_front(job);
        }
        Ok(report)
    }

    /// Ticks until `shutdown` resolves, then stops gracefully: nothing new
    /// starts; running runs get `grace` to finish, then are stopped.
    pub async fn run_until(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
        grace: Duration,
    ) -> Result<()> {
        tokio::pin!(shutdown);
        self.catch_up().await?;
        loop {
            match self.tick().await {
                Err(e) => {
                    tracing::error!(error = %e, "scheduler tick failed");
                    eprintln!("scheduler: {e}")
                }
                Ok(r) if r != TickReport::default() => tracing::info!(
                    queued = ?r.queued,
                    started = ?r.started,
                    skipped = ?r.skipped,
                    caches_cleared = r.caches_cleared,
                    pruned = r.pruned,
                    "scheduler tick"
                ),
                Ok(_) => {}
            }
            // Wake at the next full second: schedules have one-second resolution.
            let now = self.clock.now();
            let wait = Duration::from_millis(1000 - u64::from(now.timestamp_subsec_millis()).min(999));
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.queue.clear();
        let deadline = tokio::time::Instant::now() + grace;
        while self.running.values().any(|h| !h.is_finished()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for task_id in self.running.keys() {
            let _ = self.engine.request_stop(task_id).await;
        }
        for (_, handle) in self.running.drain() {
            let _ = handle.await;
        }
        Ok(())
    }
}

/// The next time strictly after `now` whose UTC hour is in `hours`.
pub fn next_hour_in(hours: &[u8], now: DateTime<Utc>) -> DateTime<Utc> {
    let hours = if hours.is_empty() { &[0u8][..] } else { hours };
    let top = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    (1..=48)
        .map(|h| top + chrono::Duration::hours(h))
        .find(|t| hours.contains(&(t.hour() as u8)))
        .unwrap_or(top + chrono::Duration::hours(24))
}

/// Missed due times counted at most this far (one skipped row says how many).
const MISSED_COUNT_LIMIT: u32 = 100_000;

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn row(id: &str, schedule: &str) -> ScheduleRow {
        ScheduleRow {
            task_id: id.into(),
            task: format!("C/{id}"),
            schedule: schedule.into(),
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn due_tasks_fire_once_and_missed_times_are_not_replayed() {
        let mut a = Agenda::default();
        a.sync(
            vec![row("a", "0 * * * * *"), row("b", "0 0 * * * *")],
            utc("2026-01-01T00:00:30Z"),
        );
        assert!(a.due(utc("2026-01-01T00:00:59Z")).is_empty());
        let due = a.due(utc("2026-01-01T00:01:00Z"));
        assert_eq!(due.iter().map(|d| d.task_id.as_str()).collect::<Vec<_>>(), ["a"]);
        // Ten minutes pass unnoticed (sleep, suspend): one run, not ten.
        assert_eq!(a.due(utc("2026-01-01T00:11:05Z")).len(), 1);
        assert_eq!(a.next("a"), Some(utc("2026-01-01T00:12:00Z")));
    }

    #[test]
    fn edits_take_effect_and_removed_tasks_stop_firing() {
        let mut a = Agenda::default();
        a.sync(vec![row("a", "0 0 * * * *")], utc("2026-01-01T00:00:30Z"));
        assert_eq!(a.next("a"), Some(utc("2026-01-01T01:00:00Z")));
        a.sync(vec![row("a", "0 5 * * * *")], utc("2026-01-01T00:00:30Z"));
        assert_eq!(a.next("a"), Some(utc("2026-01-01T00:05:00Z")));
        assert!(a
            .due(utc("2026-01-01T01:00:00Z"))
            .iter()
            .all(|d| d.at == utc("2026-01-01T00:05:00Z")));
        a.sync(vec![], utc("2026-01-01T01:00:00Z"));
        assert!(a.due(utc("2026-01-02T00:00:00Z")).is_empty());
    }

    #[test]
    fn cache_clear_hours_are_utc_hours() {
        assert_eq!(
            next_hour_in(&[0], utc("2026-01-01T00:00:00Z")),
            utc("2026-01-02T00:00:00Z")
        );
        assert_eq!(
            next_hour_in(&[6, 12], utc("2026-01-01T07:30:00Z")),
            utc("2026-01-01T12:00:00Z")
        );
        assert_eq!(
            next_hour_in(&[6, 12], utc("2026-01-01T12:00:00Z")),
            utc("2026-01-02T06:00:00Z")
        );
    }
}
