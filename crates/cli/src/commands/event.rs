use provisio_engine::{Engine, EngineError};

use super::run::{exit_code, summary_text};
use crate::args::EventCommand;
use crate::input::read_json_file;
use crate::output::Printer;

pub async fn run(engine: &Engine, command: EventCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        EventCommand::Invoke { task, input, caller } => {
            let values: serde_json::Value = read_json_file(&input)?;
            let run = engine.invoke_event(&task, &values, caller.as_deref()).await?;
            printer.emit(&run, || summary_text(&run));
            Ok(exit_code(&run))
        }
    }
}
