//! Printing: one JSON document with `--json`, readable text otherwise.
//! Errors go to stderr in both modes.

use provisio_engine::EngineError;
use serde::Serialize;

#[derive(Debug)]
pub struct Printer {
    json: bool,
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Printer { json }
    }

    /// Prints `value` as JSON, or `text` for people.
    pub fn emit<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        use std::io::Write;
        // A closed pipe (`provisio ... | head`) is not an error worth a panic.
        let mut out = std::io::stdout().lock();
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => {
                    let _ = writeln!(out, "{s}");
                }
                Err(e) => eprintln!("error: cannot print the result as JSON: {e}"),
            }
        } else {
            let t = text();
            if !t.is_empty() {
                let _ = writeln!(out, "{}", t.trim_end());
            }
        }
    }

    pub fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    pub fn error(&self, e: &EngineError) {
        if self.json {
            let body = serde_json::json!({ "error": e.body() });
            eprintln!("{body}");
        } else {
            eprintln!("error: {e}");
        }
    }
}

/// A plain text table: a header row and aligned columns.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    if rows.is_empty() {
        out.push_str("(none)\n");
    }
    for row in rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}
