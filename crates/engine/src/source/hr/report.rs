//! The HR connector's run report: an administrative-task datacard written
//! after every run of an `hr_file` connector, in the language the connector
//! names. Texts come from translation files: `en`, `fi`, `sv` and `de` are
//! bundled (`assets/hr/translations/`); a file `DATA_DIR/translations/LANG.json`
//! adds a language or replaces a bundled one. A file lacking any report case
//! is refused when a run loads it, before anything is fetched.
//!
//! What a case found (no file matching a pattern, too few rows, the settings
//! to correct) reaches the report through the files' `messages`, filled from
//! the case's [`CaseFacts`], so the whole text is in the chosen language. A
//! drop-in file may leave messages out: the bundled file of its language,
//! else English, words them. Other failures (a broken connection, a refused
//! request) keep the engine's own English words.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::model::hr::{CaseFacts, ReportCase};
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
    #[serde(default)]
    messages: HashMap<String, String>,
}

/// The message keys the engine's [`CaseFacts`] use; every bundled language words each.
pub const MESSAGES: [&str; 27] = [
    "file_not_received",
    "file_not_received_sftp",
    "multiple_files",
    "file_empty",
    "archive_missing",
    "too_few_rows",
    "too_few_valid",
    "update_limit",
    "invalid_parameters",
    "stopped_in_extract",
    "stopped_in_load",
    "blocked_record_key",
    "blocked_record",
    "blocked_key",
    "blocked_not_utf8",
    "blocked_attribute_twice",
    "blocked_not_an_object",
    "blocked_invalid_json",
    "blocked_id_missing",
    "blocked_id_not_text",
    "blocked_id_empty",
    "blocked_mandatory_empty",
    "blocked_attribute_missing",
    "blocked_value_not_allowed",
    "blocked_list_not_multi_value",
    "blocked_object_value",
    "blocked_id_repeated",
];

/// The report texts of one language, every case present.
#[derive(Debug, Clone)]
pub struct Translations {
    pub language: String,
    cases: HashMap<ReportCase, CaseText>,
    /// A partial run's success (`succeeded_partial`): how many rows the file
    /// held and how many changed. Optional, so that a language file written
    /// before it existed still loads (its `succeeded` text is used).
    succeeded_partial: Option<CaseText>,
    /// What a case found, by [`CaseFacts::message`].
    messages: HashMap<String, String>,
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
        let mut texts = Translations::parse(language, &text, &from)?;
        // A drop-in file without some messages: its language's bundled words, else English.
        for fallback in [language, "en"] {
            if let Some((_, bundled)) = BUNDLED.iter().find(|(l, _)| *l == fallback) {
                if let Ok(f) = crate::jsonc::from_str::<File>(bundled) {
                    for (key, text) in f.messages {
                        texts.messages.entry(key).or_insert(text);
                    }
                }
            }
        }
        Ok(texts)
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
            messages: file
                .messages
                .into_iter()
                .filter(|(_, text)| !text.trim().is_empty())
                .collect(),
        })
    }

    /// What a case found, in this language; `None` when no file words it.
    pub fn message(&self, facts: &CaseFacts) -> Option<String> {
        self.worded(facts.message, facts.values.iter().map(|(k, v)| (*k, v.as_str())))
    }

    /// Message `key` with its placeholders filled; `None` when no file words it.
    fn worded<'a>(&self, key: &str, values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
        let text = self.messages.get(key)?;
        Some(
            values
                .into_iter()
                .fold(text.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v)),
        )
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
pub fn card(
    run: &Run,
    case: ReportCase,
    facts: Option<&CaseFacts>,
    texts: &Translations,
    file: Option<&Path>,
    run_dir: &Path,
) -> Value {
    let c = &run.counts;
    let info = facts.and_then(|f| texts.message(f)).unwrap_or_else(|| {
        run.load
            .info
            .clone()
            .filter(|_| run.ended_in == Some(crate::model::RunStage::Load))
            .or_else(|| run.extract.info.clone())
            .unwrap_or_default()
    });
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
    let blocked = blocked_rows(texts, run_dir);
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

/// The blocked records a report lists, in its language: from the facts the
/// validation kept beside `blocked.txt` (a run of an older version has only
/// the text, listed as it is).
fn blocked_rows(texts: &Translations, run_dir: &Path) -> Vec<String> {
    let facts = std::fs::read_to_string(run_dir.join(crate::run_folder::BLOCKED_FACTS)).unwrap_or_default();
    if facts.is_empty() {
        return std::fs::read_to_string(run_dir.join(crate::run_folder::BLOCKED))
            .unwrap_or_default()
            .lines()
            .take(MAX_BLOCKED_LISTED)
            .map(str::to_string)
            .collect();
    }
    facts
        .lines()
        .filter_map(|l| serde_json::from_str::<crate::run_folder::BlockedFacts>(l).ok())
        .take(MAX_BLOCKED_LISTED)
        .map(|f| {
            let values = f.values.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let reason = texts
                .worded(&f.message, values)
                .unwrap_or_else(|| f.message.clone());
            let record = f.record.map(|r| r.to_string()).unwrap_or_default();
            let key = f.key.clone().unwrap_or_default();
            let frame = match (f.record.is_some(), f.key.is_some()) {
                (true, true) => "blocked_record_key",
                (true, false) => "blocked_record",
                _ => "blocked_key",
            };
            let framed = [
                ("record", record.as_str()),
                ("key", key.as_str()),
                ("reason", reason.as_str()),
            ];
            texts.worded(frame, framed).unwrap_or(reason)
        })
        .collect()
}

/// A file pattern as a report names it: one relative to the connector's
/// folder as it is, an absolute one (a workstation path) by its last part.
pub(crate) fn shown_pattern(pattern: &str) -> String {
    let path = Path::new(pattern);
    if path.is_absolute() || pattern.starts_with('\\') {
        return path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| pattern.to_string());
    }
    pattern.to_string()
}

/// The file a report names: an SFTP address as it is, a file on this
/// workstation by its name only (a card is read elsewhere, where the
/// workstation's paths mean nothing).
pub(crate) fn shown_file(file: &Path) -> String {
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
    fn a_report_names_a_relative_pattern_as_it_is_and_an_absolute_one_by_its_last_part() {
        assert_eq!(shown_pattern("in/*.csv"), "in/*.csv");
        assert_eq!(shown_pattern("/srv/hr/exports/*.csv"), "*.csv");
    }

    #[test]
    fn every_bundled_language_has_every_case() {
        for (language, text) in BUNDLED {
            Translations::parse(language, text, language).unwrap_or_else(|e| panic!("{language}: {e}"));
        }
    }

    #[test]
    fn every_bundled_language_words_every_message_with_the_engines_placeholders() {
        let english: File = crate::jsonc::from_str(BUNDLED[0].1).unwrap();
        let placeholders = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_string()))
                .collect();
            names.sort();
            names
        };
        for (language, text) in BUNDLED {
            let file: File = crate::jsonc::from_str(text).unwrap();
            for key in MESSAGES {
                let said = file
                    .messages
                    .get(key)
                    .unwrap_or_else(|| panic!("{language} lacks the message {key}"));
                assert_eq!(
                    placeholders(said),
                    placeholders(&english.messages[key]),
                    "{language}: {key}"
                );
            }
            assert_eq!(
                file.messages.len(),
                MESSAGES.len(),
                "{language}: unknown messages"
            );
        }
    }

    #[test]
    fn a_drop_in_file_without_messages_borrows_its_languages_bundled_words() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("translations");
        std::fs::create_dir_all(&own).unwrap();
        let mut fi: serde_json::Value = serde_json::from_str(BUNDLED[1].1).unwrap();
        fi.as_object_mut().unwrap().remove("messages");
        std::fs::write(own.join("fi.json"), fi.to_string()).unwrap();
        let texts = Translations::load(dir.path(), "fi").unwrap();
        let facts = CaseFacts::new("too_few_rows", &[("rows", "5".into()), ("minimum", "10".into())]);
        assert_eq!(
            texts.message(&facts).unwrap(),
            "tiedostossa on vain 5 riviä, vähemmän kuin vähimmäisrivimäärä 10"
        );
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
