use provisio_engine::{Engine, EngineError};

use crate::args::TargetCommand;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: TargetCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
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
