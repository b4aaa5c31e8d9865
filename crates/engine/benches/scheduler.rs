//! Scheduler benchmarks, printed as medians and p99 (machines here are shared
//! and noisy). `cargo bench -p provisio-engine --bench scheduler`.
//!
//! 1. Work per tick with 10,000 enabled tasks: the agenda's due-time work
//!    over a simulated hour (one tick per second), and a whole
//!    `Scheduler::tick` (settings, change counter, due times) against the
//!    real database. Target: <= 5 ms per tick.
//! 2. 1,000 trivial script runs due at the same second, `workers = 4`: how
//!    fast the queue drains through real python3 runs. Target: >= 50 runs/s.
//!    Scripts are forked by the warm interpreter (see `script_host::warm`);
//!    with `PROVISIO_COLD_START=1` every run pays the interpreter's own start
//!    (site.py and its .pth files), which bounds the rate on small machines.
//!    `BENCH_ONLY=drain` with `perf record` shows the split between python3
//!    and the engine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use provisio_engine::model::{ConnectorInput, RunStatus, TaskInput};
use provisio_engine::scheduler::{Agenda, ManualClock, Scheduler};
use provisio_engine::script_library::ScriptKind;
use provisio_engine::store::ScheduleRow;
use provisio_engine::{jsonc, Engine};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// A spread of realistic schedules: every N minutes, hourly, daily, in several zones.
fn schedule_for(i: usize) -> (String, String) {
    let zones = ["UTC", "Europe/Helsinki", "America/New_York", "Asia/Tokyo"];
    let schedule = match i % 4 {
        0 => format!("{} */5 * * * *", i % 60),
        1 => format!("{} {} * * * *", i % 60, i % 60),
        2 => format!("0 {} {} * * *", i % 60, i % 24),
        _ => format!("{} */15 * * * *", i % 60),
    };
    (schedule, zones[i % zones.len()].to_string())
}

fn agenda_ticks() {
    let rows: Vec<ScheduleRow> = (0..10_000)
        .map(|i| {
            let (schedule, timezone) = schedule_for(i);
            ScheduleRow {
                task_id: format!("t{i}"),
                task: format!("C/t{i}"),
                schedule,
                timezone,
            }
        })
        .collect();
    let start = utc("2026-03-29T00:00:00Z"); // spans a DST change in Europe
    let mut agenda = Agenda::default();
    let t = Instant::now();
    agenda.sync(rows, start);
    let sync = t.elapsed();
    let mut per_tick = Vec::with_capacity(3600);
    let mut fired = 0;
    for s in 1..=3600 {
        let now = start + chrono::Duration::seconds(s);
        let t = Instant::now();
        fired += agenda.due(now).len();
        per_tick.push(t.elapsed());
    }
    println!(
        "scheduler agenda, 10,000 tasks: initial load {}, per tick median {} p99 {} over 3,600 ticks ({fired} runs due)",
        ms(sync),
        ms(percentile(per_tick.clone(), 0.5)),
        ms(percentile(per_tick, 0.99))
    );
}

async fn engine_with_tasks(dir: &std::path::Path, n: usize, schedule: &str) -> Engine {
    let engine = Engine::open(dir).await.unwrap();
    engine
        .set_settings(&[
            ("environment_type".into(), "test".into()),
            ("workers".into(), "4".into()),
        ])
        .await
        .unwrap();
    let script = dir.join("trivial.py");
    std::fs::write(&script, "import common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\nopen(a['expected_output_filename'], 'w').write('[]')\n").unwrap();
    engine
        .add_script(&script, ScriptKind::Scheduled, None)
        .await
        .unwrap();
    let c: ConnectorInput =
        jsonc::from_str(r#"{"name": "Bench", "type": "python_script", "script": "trivial.py"}"#).unwrap();
    engine.create_connector(c).await.unwrap();
    let t: TaskInput = jsonc::from_str(&format!(
        r#"{{"name": "t0", "schedule": "{schedule}", "object_id_attribute": "id", "target_template": "person",
            "target_folder": "persons", "task_id_attribute": "taskid", "mappings": [{{"source": "id", "target": "employee_id"}}]}}"#
    ))
    .unwrap();
    let first = engine.create_task("Bench", t).await.unwrap().id;
    // The other tasks are copies of the first, written in one transaction.
    let mut tx = engine.store().pool().begin().await.unwrap();
    for i in 1..n {
        let (s, zone) = if schedule.is_empty() {
            schedule_for(i)
        } else {
            (schedule.to_string(), "UTC".to_string())
        };
        sqlx::query(
            "INSERT INTO tasks (id, connector_id, name, usage, enabled, definition, created_at, updated_at)
             SELECT ?1, connector_id, ?2, usage, enabled, json_set(definition, '$.schedule', ?3, '$.timezone', ?4), created_at, updated_at
             FROM tasks WHERE id = ?5",
        )
        .bind(format!("bench-task-{i}"))
        .bind(format!("t{i}"))
        .bind(s)
        .bind(zone)
        .bind(&first)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    engine
}

async fn scheduler_ticks() {
    let dir = tempfile::tempdir().unwrap();
    // Schedules that do not fire during the measured ticks: this is the
    // scheduler's fixed work (settings, change counter, agenda) per tick.
    let engine = engine_with_tasks(dir.path(), 10_000, "0 0 0 1 1 *").await;
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T10:00:00Z")));
    let mut s = Scheduler::new(engine, clock.clone());
    let t = Instant::now();
    s.tick().await.unwrap();
    let first = t.elapsed();
    let mut per_tick = Vec::new();
    for _ in 0..500 {
        clock.advance(chrono::Duration::seconds(1));
        let t = Instant::now();
        s.tick().await.unwrap();
        per_tick.push(t.elapsed());
    }
    let p50 = percentile(per_tick.clone(), 0.5);
    let p99 = percentile(per_tick, 0.99);
    println!(
        "scheduler tick, 10,000 enabled tasks in SQLite: first tick (loads all schedules) {}, then median {} p99 {} (target <= 5 ms: {})",
        ms(first),
        ms(p50),
        ms(p99),
        if p99 <= Duration::from_millis(5) { "met" } else { "NOT met" }
    );
}

async fn drain() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let engine = engine_with_tasks(dir.path(), n, "0 0 3 * * *").await;
    let clock = Arc::new(ManualClock::new(utc("2026-05-01T02:59:59Z")));
    let mut s = Scheduler::new(engine.clone(), clock.clone());
    s.tick().await.unwrap();
    clock.set(utc("2026-05-01T03:00:00Z"));
    let t = Instant::now();
    let report = s.tick().await.unwrap();
    assert_eq!(report.queued.len(), n);
    while !(s.running().is_empty() && s.queued() == 0) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        s.tick().await.unwrap();
    }
    let elapsed = t.elapsed();
    let ok: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE status = ?")
        .bind(RunStatus::Succeeded.as_str())
        .fetch_one(engine.store().pool())
        .await
        .unwrap();
    let rate = ok as f64 / elapsed.as_secs_f64();
    println!(
        "queue drain: {n} trivial script runs due at one second, workers = 4: {ok} succeeded in {:.1} s = {rate:.0} runs/s (target >= 50: {})",
        elapsed.as_secs_f64(),
        if rate >= 50.0 { "met" } else { "NOT met" }
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // RUST_LOG=sqlx::query=debug shows every statement with its time.
    let _ = env_logger::try_init();
    agenda_ticks();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(scheduler_ticks());
    rt.block_on(drain());
}
