use provisio_engine::{Engine, EngineError};

use crate::args::DatacardsCommand;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: DatacardsCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        DatacardsCommand::List {
            template,
            folder,
            limit,
        } => {
            let cards = engine.datacards(&template, folder.as_deref(), limit).await?;
            printer.emit(&cards, || {
                table(
                    &["ID", "FOLDER", "VALUES"],
                    cards
                        .iter()
                        .map(|c| vec![c.id.to_string(), c.folder.clone(), c.data.to_string()])
                        .collect(),
                )
            });
        }
    }
    Ok(0)
}
