//! Printing: one JSON document with `--json`, readable text otherwise.
//! Errors go to stderr in both modes.

use provisio_engine::error::Remedy;
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

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as JSON, or `text` for people.
    pub fn emit<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        use std::io::Write;
        // A closed pipe (`provisio ... | head`) is not an error worth a panic.
        let mut out = std::io::stdout().lock();
        if self.json {
            // Written as it is made, not built whole first: an undo's plan of
            // 20,000 cards is 35 MB of JSON.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
            match serde_json::to_writer_pretty(&mut out, value) {
                Ok(()) => {
                    let _ = writeln!(out);
                    let _ = out.flush();
                }
                // A closed pipe, as above.
                Err(e) if e.is_io() => {}
                Err(e) => eprintln!("error: cannot print the result as JSON: {e}"),
            }
        } else {
            let t = text();
            if !t.is_empty() {
                let _ = writeln!(out, "{}", for_terminal(t.trim_end()));
            }
        }
    }

    pub fn warn(&self, message: &str) {
        eprintln!("warning: {}", for_terminal(message));
    }

    pub fn error(&self, e: &EngineError) {
        if self.json {
            let body = serde_json::json!({ "error": e.body() });
            eprintln!("{body}");
        } else {
            eprintln!("error: {}", for_terminal(&e.to_string()));
            if let Some(remedy) = e.remedy() {
                eprintln!("hint: {}", for_terminal(&hint(remedy)));
            }
        }
    }
}

/// A remedy in this front end's words: the command that applies it.
pub fn hint(remedy: &Remedy) -> String {
    match remedy {
        Remedy::SetSetting { key, example } => format!("set it with `provisio settings set {key}={example}`"),
        Remedy::Force => "repeat the command with --force".into(),
        Remedy::Approve { task } => {
            format!("approve the plan once with `provisio task run {task} --approve`")
        }
        Remedy::AddScript { name } => format!("add it with `provisio script add {name} --kind scheduled`"),
        Remedy::RunTask { task } => format!("run it with `provisio task run {task}`"),
        Remedy::InvokeEvent { task } => format!("invoke it with `provisio event invoke {task} --input FILE`"),
    }
}

/// Text for a person's terminal: control characters (escape sequences a
/// script printed, a name with a carriage return) and the bidirectional
/// overrides are shown escaped, never interpreted. Line breaks and tabs stay.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    let hostile = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hostile) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hostile(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn escapes_reach_the_terminal_escaped() {
        let shown = for_terminal("ok\x1b]0;owned\x07\r\u{9b}2J\u{202e}txt.exe\nnext\tline");
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{shown:?}"
        );
        assert!(shown.contains("\\u{1b}]0;owned\\u{7}"), "{shown}");
        assert!(shown.contains("\\u{202e}txt.exe\nnext\tline"), "{shown}");
        assert_eq!(for_terminal("plain é"), "plain é");
    }
}
