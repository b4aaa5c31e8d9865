use provisio_engine::{Engine, EngineError};

use crate::args::SettingsCommand;
use crate::output::Printer;

pub async fn run(engine: &Engine, command: SettingsCommand, printer: &Printer) -> Result<i32, EngineError> {
    let settings = match command {
        SettingsCommand::Show => engine.settings().await?,
        SettingsCommand::Set { pairs } => {
            let mut changes = Vec::new();
            for pair in pairs {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    EngineError::invalid(
                        "settings set",
                        format!("'{pair}' is not KEY=VALUE (e.g. environment_type=test)"),
                    )
                })?;
                changes.push((k.to_string(), v.to_string()));
            }
            engine.set_settings(&changes).await?
        }
        SettingsCommand::CheckPython { interpreter } => {
            let check = engine.check_python(interpreter.as_deref()).await?;
            printer.emit(&check, || {
                format!(
                    "Python {} at {}{}",
                    check.version,
                    check.executable,
                    if check.supported {
                        ""
                    } else {
                        ": the scripts need Python 3.8 or later"
                    }
                )
            });
            return Ok(if check.supported { 0 } else { 1 });
        }
    };
    let rows = provisio_engine::rules::settings::rows(&settings);
    printer.emit(&settings, || {
        rows.iter()
            .map(|r| match (r.key.name, r.value.as_str()) {
                ("environment_type", "not set") => {
                    format!("{}: not set (no task runs until it is)", r.key.name)
                }
                (name, value) => format!("{name}: {value}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(0)
}
