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
    };
    printer.emit(&settings, || {
        let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_else(|| "none".into());
        format!(
            "environment_type: {}\ncache_clear_hours: {}\nworkers: {}\npython: {}\nretention_days: {}\nretention_runs: {}\nlog_level: {}\ncatch_up: {}\nenable_imported_tasks_in_prod: {}",
            settings.environment_type.map(|e| e.as_str()).unwrap_or("not set (no task runs until it is)"),
            settings.cache_clear_hours.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","),
            settings.workers,
            settings.python,
            opt(settings.retention_days),
            opt(settings.retention_runs),
            settings.log_level,
            settings.catch_up,
            settings.enable_imported_tasks_in_prod,
        )
    });
    Ok(0)
}
