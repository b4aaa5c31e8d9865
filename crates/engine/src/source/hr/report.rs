//! The HR connector's run report: an administrative-task datacard written
//! after every run of an `hr_file` connector, in the language the connector
//! names. Texts come from translation files: `en`, `fi`, `sv` and `de` are
//! bundled (`assets/hr/translations/`); a file `DATA_DIR/translations/LANG.json`
//! adds a language or replaces a bundled one. A file lacking any report case
//! is refused when a run loads it, before anything is fetched.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::model::hr::ReportCase;
use crate::model::{Run, RunFile};

const BUNDLED: [(&str, &str); 4] = [
    (
        "en",
        include_str!("../../../../../assets/hr/translations/en.json"),
    ),
    (
        "fi",
        include_str!("../../../../../assets/hr/translations/fi.json"),
    ),
    (
        "sv",
        include_str!("../../../../../assets/hr/translations/sv.json"),
    ),
    (
        "de",
        include_str!("../../../../../assets/hr/translations/de.json"),
    ),
];

/// Blocked rows listed in a report; the rest are in the run's files.
const MAX_BLOCKED_LISTED: usize = 1000;
/// The optional text of a partial run's success.
const PARTIAL: &str = "succeeded_partial";

#[derive(Debug, Clone, Deserialize)]
struct CaseText {
    title: String,
    text: String,
}

#[derive(Debug, Deserialize)]
struct File {
    cases: HashMap<String, CaseText>,
}

/// The report texts of one language, every case present.
#[derive(Debug, Clone)]
pub struct Translations {
    pub language: String,
    cases: HashMap<ReportCase, CaseText>,
    /// A partial run's success (`succeeded_partial`): how many rows the file
    /// held and how many changed. Optional, so that a language file written
    /// before it existed still loads (its `succeeded` text is used).
    succeeded_partial: Option<CaseText>,
}

impl Translations {
    /// The texts of `language`: the data directory's file first, else the bundled one.
    pub fn load(data_dir: &Path, language: &str) -> Result<Translations> {
        let own = data_dir.join("translations").join(format!("{language}.json"));
        let (text, from) = match std::fs::read_to_string(&own) {
            Ok(text) => (text, own.display().to_string()),
            Err(_) => match BUNDLED.iter().find(|(l, _)| *l == language) {
                Some((_, text)) => (text.to_string(), format!("the bundled {language} texts")),
                None => {
                    return Err(EngineError::invalid(
                        "language",
                        format!(
                        "no report texts for '{language}': bundled are en, fi, sv and de; add {} for another",
                        own.display()
                    ),
                    ))
                }
            },
        };
        Translations::parse(language, &text, &from)
    }

    fn parse(language: &str, text: &str, from: &str) -> Result<Translations> {
        let file: File = crate::jsonc::from_str(text).map_err(|e| EngineError::Input {
            path: from.to_string(),
            message: format!("is not a translation file: {e}"),
        })?;
        let mut cases = HashMap::new();
        let mut missing = Vec::new();
        for case in ReportCase::ALL {
            match file.cases.get(case.as_str()) {
                Some(t) if !t.title.trim().is_empty() && !t.text.trim().is_empty() => {
                    cases.insert(case, t.clone());
                }
                _ => missing.push(case.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(EngineError::Input {
                path: from.to_string(),
                message: format!(
                    "lacks the report cases {} (each needs a title and a text)",
                    missing.join(", ")
                ),
            });
        }
        Ok(Translations {
            language: language.to_string(),
            cases,
            succeeded_partial: file
                .cases
                .get(PARTIAL)
                .filter(|t| !t.title.trim().is_empty() && !t.text.trim().is_empty())
                .cloned(),
        })
    }

    /// The title and text of `case`, placeholders filled.
    pub fn render(&self, case: ReportCase, values: &[(&str, String)]) -> (String, String) {
        self.fill(&self.cases[&case], values)
    }

    /// [`render`](Self::render), with a partial run's own success text where the language has one.
    pub fn render_run(&self, case: ReportCase, partial: bool, values: &[(&str, String)]) -> (String, String) {
        match &self.succeeded_partial {
            Some(t) if partial && case == ReportCase::Succeeded => self.fill(t, values),
            _ => self.render(case, values),
        }
    }

    fn fill(&self, t: &CaseText, values: &[(&str, String)]) -> (String, String) {
        let fill = |s: &str| {
            values
                .iter()
                .fold(s.to_string(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))
        };
        (fill(&t.title), fill(&t.text))
    }
}

/// The report card's values for a finished run.
pub fn card(run: &Run, case: ReportCase, texts: &Translations, file: Option<&Path>, run_dir: &Path) -> Value {
    let c = &run.counts;
    let info = run
        .load
        .info
        .clone()
        .filter(|_| run.ended_in == Some(crate::model::RunStage::Load))
        .or_else(|| run.extract.info.clone())
        .unwrap_or_default();
    let values = [
        ("task", run.task.clone()),
        ("file", file.map(shown_file).unwrap_or_default()),
        ("info", info),
        ("fetched", c.fetched.to_string()),
        ("valid", c.valid.to_string()),
        ("blocked", c.blocked.to_string()),
        ("created", c.created.to_string()),
        ("updated", c.updated.to_string()),
        ("unchanged", c.unchanged.to_string()),
        ("removed", c.removed.to_string()),
        // The rows the file held; on a partial run `fetched` counts only the changed ones.
        (
            "rows",
            crate::source::hr::rows_in_file(run_dir)
                .unwrap_or(c.fetched)
                .to_string(),
        ),
        ("changed", c.fetched.to_string()),
    ];
    let partial = run.run_type == crate::model::RunMode::Partial;
    let (title, description) = texts.render_run(case, partial, &values);
    let blocked: Vec<String> = std::fs::read_to_string(run_dir.join(crate::run_folder::BLOCKED))
        .unwrap_or_default()
        .lines()
        .take(MAX_BLOCKED_LISTED)
        .map(str::to_string)
        .collect();
    let planned = crate::run_folder::PlanFile::read(run_dir);
    let report = json!({
        "case": case,
        "run_id": run.id,
        "status": run.status,
        "counts": run.counts,
        "blocked_rows": blocked,
        "planned_changes": planned,
    });
    json!({
        "title": title,
        "description": description,
        "status": if case == ReportCase::Succeeded && c.blocked == 0 { "done" } else { "open" },
        "report": report.to_string(),
    })
}

/// The file a report names: an SFTP address as it is, a file on this
/// workstation by its name only (a card is read elsewhere, where the
/// workstation's paths mean nothing).
fn shown_file(file: &Path) -> String {
    let text = file.display().to_string();
    if text.starts_with("sftp://") {
        return text;
    }
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(text)
}

/// The files a run's report carries: the run's own files and the archives
/// that exist, each with the name it is attached under. Never a path on the
/// workstation: the target stores the files (see `Engine::report_hr_run`).
pub fn attachments(run: &Run, archives: &[&Path]) -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<(String, std::path::PathBuf)> = Vec::new();
    let files = run
        .files
        .iter()
        .map(|f: &RunFile| std::path::PathBuf::from(&f.path))
        .chain(archives.iter().filter(|p| p.exists()).map(|p| p.to_path_buf()));
    for path in files {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_language_has_every_case() {
        for (language, text) in BUNDLED {
            Translations::parse(language, text, language).unwrap_or_else(|e| panic!("{language}: {e}"));
        }
    }

    #[test]
    fn a_translation_file_lacking_cases_is_refused_naming_them() {
        let e = Translations::parse(
            "xx",
            r#"{"cases": {"succeeded": {"title": "t", "text": "x"}}}"#,
            "xx.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("xx.json") && e.contains("file_not_received") && e.contains("archive_missing"),
            "{e}"
        );
        assert!(!e.contains("succeeded"), "{e}");
    }
}
