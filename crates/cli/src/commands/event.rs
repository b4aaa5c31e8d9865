use provisio_engine::{Engine, EngineError};

use super::run::{exit_code, summary_text};
use crate::args::EventCommand;
use crate::input::read_json_file;
use crate::output::Printer;

pub async fn run(engine: &Engine, command: EventCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        EventCommand::Invoke {
            task,
            input,
            caller,
            card,
        } => {
            let values: serde_json::Value = read_json_file(&input)?;
            let card = card
                .map(|c| match c.split_once('=') {
                    Some((attribute, key)) if !attribute.trim().is_empty() => {
                        Ok(provisio_engine::api::CardKey {
                            attribute: attribute.trim().to_string(),
                            key: key.to_string(),
                        })
                    }
                    _ => Err(EngineError::invalid(
                        "--card",
                        format!("'{c}' is not ATTRIBUTE=KEY (for example employee_id=jdoe)"),
                    )),
                })
                .transpose()?;
            let run = engine
                .invoke_event_for(&task, &values, caller.as_deref(), card.as_ref())
                .await?;
            printer.emit(&run, || {
                let mut text = summary_text(&run, engine.interruption_help(&run));
                if let Some(values) = &run.returned {
                    text.push_str(&format!("\nvalues read: {values}"));
                }
                text
            });
            Ok(exit_code(&run))
        }
    }
}
