use provisio_engine::model::Count;
use provisio_engine::model::{RunTrigger, Task, TaskInput};
use provisio_engine::{Engine, EngineError};

use super::pretty;
use super::run::{exit_code, summary_text};
use crate::args::TaskCommand;
use crate::input::read_json_file;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: TaskCommand, printer: &Printer) -> Result<i32, EngineError> {
    let (task, verb): (Task, &str) = match command {
        TaskCommand::List { connector } => {
            let list = engine.list_tasks(connector.as_deref()).await?;
            printer.emit(&list, || {
                table(
                    &[
                        "ID",
                        "CONNECTOR",
                        "NAME",
                        "USAGE",
                        "ENABLED",
                        "SCHEDULE",
                        "TEMPLATE",
                    ],
                    list.iter()
                        .map(|t| {
                            vec![
                                t.id.clone(),
                                t.connector_name.clone(),
                                t.name.clone(),
                                t.usage.to_string(),
                                if t.enabled { "yes" } else { "no" }.into(),
                                t.schedule.clone().unwrap_or_default(),
                                t.target_template.clone(),
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(0);
        }
        TaskCommand::Show { task } => (engine.task(&task).await?, ""),
        TaskCommand::Run { task, wait, approve } => {
            if wait {
                let run = engine.run_task(&task, RunTrigger::Manual, approve).await?;
                printer.emit(&run, || summary_text(&run, engine.interruption_help(&run)));
                return Ok(exit_code(&run));
            }
            // Without --wait the run goes on in a detached process of its own.
            let run = engine.create_run(&task, RunTrigger::Manual).await?;
            let mut child = spawn_detached(engine.data_dir(), &run.id, approve)?;
            wait_for_take_over(engine, &run.id, &mut child).await?;
            printer.emit(&run, || {
                format!(
                    "run {} of {} started; follow it with `provisio run show {}`",
                    run.id, run.task, run.id
                )
            });
            return Ok(0);
        }
        TaskCommand::Stop { task } => {
            let ids = engine.stop_task(&task).await?;
            printer.emit(&serde_json::json!({ "stop_requested": ids }), || {
                format!("stop requested for run {}", ids.join(", "))
            });
            return Ok(0);
        }
        TaskCommand::ClearCache { task } => (engine.clear_cache(&task).await?, "data cache cleared for"),
        TaskCommand::ResetIncremental { task } => (
            engine.reset_incremental(&task).await?,
            "incremental state reset (the next run is full) for",
        ),
        TaskCommand::History { task, limit } => {
            let runs = engine.history(&task, limit).await?;
            printer.emit(&runs, || {
                table(
                    &[
                        "RUN",
                        "STATUS",
                        "TRIGGER",
                        "STARTED",
                        "EXTRACT",
                        "LOAD",
                        "FETCHED",
                        "CREATED",
                        "UPDATED",
                        "UNCHANGED",
                        "REMOVED",
                        "BLOCKED",
                    ],
                    runs.iter()
                        .map(|r| {
                            let st = |s: Option<provisio_engine::model::StageStatus>| {
                                s.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
                            };
                            vec![
                                r.id.clone(),
                                r.status.as_str().into(),
                                r.trigger.as_str().into(),
                                r.started_at.clone(),
                                st(r.extract.status),
                                st(r.load.status),
                                Count(r.counts.fetched).to_string(),
                                Count(r.counts.created).to_string(),
                                Count(r.counts.updated).to_string(),
                                Count(r.counts.unchanged).to_string(),
                                Count(r.counts.removed).to_string(),
                                Count(r.counts.blocked).to_string(),
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(0);
        }
        TaskCommand::Create { connector, file } => {
            let input: TaskInput = read_json_file(&file.file)?;
            (engine.create_task(&connector, input).await?, "created")
        }
        TaskCommand::Update { task, file } => {
            let input: TaskInput = read_json_file(&file.file)?;
            let update = engine.update_task(&task, input).await?;
            for w in &update.warnings {
                printer.warn(w);
            }
            (update.task, "updated")
        }
        TaskCommand::Copy { task, name } => (engine.copy_task(&task, name.as_deref()).await?, "copied to"),
        TaskCommand::Remove { task, force } => (engine.remove_task(&task, force).await?, "removed"),
    };
    printer.emit(&task, || {
        if verb.is_empty() {
            pretty(&task)
        } else {
            format!(
                "task {verb} '{}/{}' ({})",
                task.connector_name, task.name, task.id
            )
        }
    });
    Ok(0)
}

/// Starts `provisio run execute RUN_ID` detached from this terminal.
fn spawn_detached(
    data_dir: &std::path::Path,
    run_id: &str,
    approve: bool,
) -> Result<std::process::Child, EngineError> {
    let exe = std::env::current_exe().map_err(|e| EngineError::io("cannot find the provisio binary", e))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["run", "execute", run_id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if approve {
        command.arg("--approve");
    }
    provisio_engine::script_host::process::detach(&mut command);
    command
        .spawn()
        .map_err(|e| EngineError::io("cannot start the run in the background", e))
}

/// Stays until the background process has claimed the run (this process
/// owns it until then, so the run is never without a live owner).
async fn wait_for_take_over(
    engine: &Engine,
    run_id: &str,
    child: &mut std::process::Child,
) -> Result<(), EngineError> {
    let started = std::time::Instant::now();
    while !engine.run_taken_over(run_id, child.id()).await? {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(EngineError::InUse {
                message: format!(
                    "the background run ended at once ({status}); see `provisio run show {run_id}`"
                ),
            });
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            return Err(EngineError::InUse {
                message: format!(
                    "the background run did not start within 60 s; see `provisio run show {run_id}`"
                ),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}
