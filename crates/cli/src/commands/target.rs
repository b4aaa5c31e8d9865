use provisio_engine::model::{TargetCheck, TargetInput};
use provisio_engine::{Engine, EngineError};

use crate::args::TargetCommand;
use crate::input::read_json_file;
use crate::output::{table, Printer};

fn checked(printer: &Printer, check: &TargetCheck, verb: &str) {
    printer.emit(check, || {
        let n = |k: usize, word: &str| format!("{k} {word}{}", if k == 1 { "" } else { "s" });
        format!(
            "target '{}' {verb}: logged in; {}, {}\n",
            check.name,
            n(check.templates, "template"),
            n(check.folders, "folder")
        )
    });
}

pub async fn run(engine: &Engine, command: TargetCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        TargetCommand::Add(add) => {
            let check = match (&add.file, &add.from_connector, &add.name) {
                (Some(file), _, _) => engine.add_target(read_json_file::<TargetInput>(file)?).await?,
                (None, Some(connector), Some(name)) => {
                    engine.add_target_from_connector(connector, name).await?
                }
                _ => {
                    return Err(EngineError::invalid(
                        "target add",
                        "give --file TARGET.json, or --from-connector CONNECTOR with --name NAME",
                    ))
                }
            };
            checked(printer, &check, "added");
        }
        TargetCommand::Test { name } => {
            let check = engine.test_target(&name).await?;
            checked(printer, &check, "works");
        }
        TargetCommand::Remove { name } => {
            let removed = engine.remove_target(&name).await?;
            printer.emit(&removed, || format!("target '{}' removed\n", removed.name));
        }
        TargetCommand::List => {
            let list = engine.targets().await?;
            printer.emit(&list, || {
                table(
                    &["NAME", "KIND", "BASE URL", "USER"],
                    list.iter()
                        .map(|t| {
                            vec![
                                t.name.clone(),
                                t.kind.to_string(),
                                t.base_url.clone().unwrap_or_default(),
                                t.user.clone().unwrap_or_default(),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(0)
}
