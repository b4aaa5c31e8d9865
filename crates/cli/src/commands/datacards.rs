//! `datacards list`: cards are written out as they are read, a page at a
//! time, so listing a million cards needs the memory of one page.

use std::io::Write;

use provisio_engine::{Engine, EngineError};

use crate::args::DatacardsCommand;
use crate::output::{for_terminal, Printer};

pub async fn run(engine: &Engine, command: DatacardsCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        DatacardsCommand::History { card, target } => {
            let history = match target.as_deref() {
                Some(target) if target != provisio_engine::model::LOCAL_TARGET => {
                    engine.remote_card_history(target, card).await?
                }
                _ => engine.datacard_history(card).await?,
            };
            printer.emit(&history, || {
                crate::output::table(
                    &[
                        "WHEN", "RUN", "TASK", "KIND", "WHY", "SOURCE", "FILE ROW", "FIELDS",
                    ],
                    history
                        .iter()
                        .map(|c| {
                            vec![
                                c.at.clone(),
                                c.run_id.clone(),
                                c.task.clone(),
                                c.kind.clone(),
                                c.reason.clone(),
                                c.source_fingerprint.clone().unwrap_or_default(),
                                c.source_row
                                    .as_ref()
                                    .map(|r| format!("{} row {}", r.file, r.row))
                                    .unwrap_or_default(),
                                c.changes
                                    .iter()
                                    .map(|f| format!("{}: {} -> {}", f.field, f.from, f.to))
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            ]
                        })
                        .collect(),
                )
            });
        }
        DatacardsCommand::List {
            template,
            folder,
            search,
            limit,
        } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let json = printer.is_json();
            // A closed pipe (`| head`) ends the listing quietly.
            let closed = |e: std::io::Error| EngineError::io("cannot write the listing", e);
            let mut first = true;
            let header = || format!("{:<10}  {:<16}  VALUES", "ID", "FOLDER");
            let count = engine
                .each_datacard(&template, folder.as_deref(), search.as_deref(), limit, |card| {
                    if json {
                        let text = serde_json::to_string_pretty(&card).unwrap_or_default();
                        let sep = if first { "[\n" } else { ",\n" };
                        write!(out, "{sep}{text}").map_err(closed)?;
                    } else {
                        if first {
                            writeln!(out, "{}", header()).map_err(closed)?;
                        }
                        let line = format!("{:<10}  {:<16}  {}", card.id, card.folder, card.data);
                        writeln!(out, "{}", for_terminal(&line)).map_err(closed)?;
                    }
                    first = false;
                    Ok(())
                })
                .await;
            let count = match count {
                Ok(n) => n,
                Err(EngineError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(0)
                }
                Err(e) => return Err(e),
            };
            let end = match (json, count) {
                (true, 0) => "[]\n".to_string(),
                (true, _) => "\n]\n".to_string(),
                (false, 0) => format!("{}\n(none)\n", header()),
                (false, _) => String::new(),
            };
            let _ = out.write_all(end.as_bytes()).and_then(|_| out.flush());
        }
    }
    Ok(0)
}
