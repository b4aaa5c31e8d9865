use provisio_engine::model::{TargetCheck, TargetInput};
use provisio_engine::{Engine, EngineError};

use crate::args::TargetCommand;
use crate::input::read_json_file;
use crate::output::{table, Printer};

fn checked(printer: &Printer, check: &TargetCheck, verb: &str) {
    printer.emit(check, || {
        format!(
            "target '{}' {verb}: logged in; {} templates, {} folders\n",
            check.name, check.templates, check.folders
        )
    });
}

pub async fn run(engine: &Engine, command: TargetCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        TargetCommand::Add(f) => {
            let input: TargetInput = read_json_file(&f.file)?;
            let check = engine.add_target(input).await?;
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
