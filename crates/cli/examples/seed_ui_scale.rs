//! Seeds a data directory for the desktop app's scale benchmark
//! (`tools/bench-ui.sh`): 10,000 connectors with one scheduled task each,
//! created through the engine as a user's would be, and 100,000 history rows
//! (ten ended runs per task), each a copy of a real run row the engine wrote,
//! inserted in one transaction so that seeding takes seconds.
//!
//! `cargo run --release -p provisio-cli --example seed_ui_scale -- DIR [CONNECTORS] [RUNS_PER_TASK]`

use provisio_engine::model::{ConnectorInput, Mapping, RunStatus, RunTrigger, TaskInput};
use provisio_engine::Engine;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .ok_or("usage: seed_ui_scale DIR [CONNECTORS] [RUNS_PER_TASK]")?;
    let connectors: usize = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let per_task: usize = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let engine = Engine::open(std::path::Path::new(dir)).await?;
    engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await?;
    let started = std::time::Instant::now();
    let mut template_run = None;
    for i in 0..connectors {
        let c = engine
            .create_connector(ConnectorInput {
                name: Some(format!(
                    "Connector {i:05} {}",
                    ["HR", "Payroll", "Directory", "Badges"][i % 4]
                )),
                connector_type: Some("python_script".into()),
                script: Some("sample_users.py".into()),
                parameters: Some(serde_json::json!({ "count": 10, "region": format!("region-{}", i % 17) })),
                ..Default::default()
            })
            .await?;
        let t = engine
            .create_task(
                &c.id,
                TaskInput {
                    name: Some(format!("Nightly {i:05}")),
                    usage: Some(provisio_engine::model::TaskUsage::Scheduled),
                    schedule: Some(format!("0 {} {} * * *", i % 60, i % 24)),
                    timezone: Some("Europe/Helsinki".into()),
                    object_id_attribute: Some("employee_id".into()),
                    target_template: Some("person".into()),
                    target_folder: Some("persons".into()),
                    task_id_attribute: Some("taskid".into()),
                    mappings: Some(vec![Mapping {
                        source: "employee_id".into(),
                        target: "employee_id".into(),
                    }]),
                    ..Default::default()
                },
            )
            .await?;
        if template_run.is_none() {
            let mut run = engine.create_run(&t.id, RunTrigger::Schedule).await?;
            run.status = RunStatus::Succeeded;
            run.stage = None;
            run.finished_at = Some(run.started_at.clone());
            run.counts.fetched = 10;
            run.counts.created = 10;
            engine.store().save_run(&run).await?;
            template_run = Some(run);
        }
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "{} connectors and tasks ({:.1} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    engine.close().await;
    let run = serde_json::to_string(&template_run.ok_or("no connector was created")?)?;
    // History rows: the real run's row, copied per task with its own id, time and status.
    let db = std::path::Path::new(dir).join("provisio.db");
    let conn = rusqlite::Connection::open(db)?;
    conn.execute_batch("BEGIN")?;
    conn.execute(
        "INSERT INTO runs (id, task_id, trigger, status, planned_at, started_at, finished_at, summary, kind, stage, owner_pid)
         SELECT t.id || '-' || n.k, t.id, 'schedule', CASE WHEN n.k % 7 = 0 THEN 'failed' ELSE 'succeeded' END,
                NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d hours', n.k)), strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d hours', n.k)),
                json_set(json_set(json_set(json_set(?1, '$.id', t.id || '-' || n.k), '$.task_id', t.id), '$.status', CASE WHEN n.k % 7 = 0 THEN 'failed' ELSE 'succeeded' END),
                         '$.started_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d hours', n.k))),
                'scheduled', NULL, NULL
         FROM tasks t, (WITH RECURSIVE k(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM k WHERE k < ?2) SELECT k FROM k) n",
        rusqlite::params![run, per_task as i64],
    )?;
    conn.execute_batch("COMMIT")?;
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))?;
    eprintln!(
        "seeded {connectors} connectors and tasks, {rows} history rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
