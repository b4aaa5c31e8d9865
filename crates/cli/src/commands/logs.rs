use provisio_engine::{Engine, EngineError};

use crate::args::LogsCommand;
use crate::output::Printer;

pub async fn run(engine: &Engine, command: LogsCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        LogsCommand::Export { out, since } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let export = engine
                .export_logs(&out, since, &provisio_engine::api::LogSelection::everything())
                .await?;
            printer.emit(&export, || {
                format!(
                    "wrote {} ({} files, {} bytes)",
                    export.path,
                    export.entries.len(),
                    export.bytes
                )
            });
        }
    }
    Ok(0)
}

/// `--since`: a date (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, EngineError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            EngineError::invalid(
                "since",
                format!(
                    "'{text}' is not a date (YYYY-MM-DD) or a time (RFC 3339, e.g. 2026-11-29T08:00:00Z)"
                ),
            )
        })
}
