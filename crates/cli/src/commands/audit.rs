//! `provisio audit list`: the recorded configuration changes, newest first.

use provisio_engine::{Engine, EngineError};

use crate::args::AuditCommand;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: AuditCommand, printer: &Printer) -> Result<i32, EngineError> {
    let AuditCommand::List { since, text, limit } = command;
    if let Some(s) = since.as_deref() {
        check_since(s)?;
    }
    let entries = engine.audit(since.as_deref(), text.as_deref(), limit).await?;
    printer.emit(&entries, || {
        table(
            &["WHEN", "USER", "SURFACE", "OBJECT", "NAME", "ACTION", "CHANGES"],
            entries
                .iter()
                .map(|e| {
                    vec![
                        e.at.clone(),
                        e.os_user.clone(),
                        e.surface.to_string(),
                        e.object.to_string(),
                        e.name.clone(),
                        e.action.clone(),
                        e.changes
                            .iter()
                            .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect(),
        )
    });
    Ok(0)
}

/// `--since` is a date (YYYY-MM-DD) or the start of an RFC 3339 time.
fn check_since(s: &str) -> Result<(), EngineError> {
    let date = s.get(..10).unwrap_or(s);
    if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return Err(EngineError::invalid(
            "since",
            format!("'{s}' is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01"),
        ));
    }
    Ok(())
}
