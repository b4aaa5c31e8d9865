use provisio_engine::model::{Task, TaskInput};
use provisio_engine::{Engine, EngineError};

use super::pretty;
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
                                format!("{:?}", t.usage).to_lowercase(),
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
