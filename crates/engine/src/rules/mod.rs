//! The checks a connector or task must pass before it is saved. Pure
//! functions over the input and the target's templates, so every rule is
//! testable without a database; the [`crate::Engine`] calls them, and so
//! does package import: one set of rules for every way in.

pub mod connector;
mod script_name;
pub mod settings;
pub mod status;
pub mod target;
pub mod task;
pub mod template;

pub use script_name::{check_script_name, MAX_SCRIPT_NAME_LEN};

use std::str::FromStr;

/// The module name existing customer scripts import.
pub const SDK_MODULE: &str = "common_subroutines_efecte_library";

use crate::error::{EngineError, Result};
use crate::model::{Folder, Mapping, TaskInput, Template};

/// Absent or only whitespace.
pub(crate) fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Every mandatory field of a task that is empty, in the order the editor shows them.
pub fn missing_task_fields(input: &TaskInput) -> Vec<String> {
    let usage = input.usage.unwrap_or_default();
    let mut missing = Vec::new();
    let mut need = |name: &str, absent: bool| {
        if absent {
            missing.push(name.to_string());
        }
    };
    need("name", blank(&input.name));
    if usage.runs_on_schedule() {
        need("schedule", blank(&input.schedule));
        need("object_id_attribute", blank(&input.object_id_attribute));
    }
    need("target_template", blank(&input.target_template));
    need("target_folder", blank(&input.target_folder));
    if usage.runs_on_schedule() {
        need("task_id_attribute", blank(&input.task_id_attribute));
    }
    need("mappings", input.mappings.as_ref().is_none_or(|m| m.is_empty()));
    missing
}

/// Longest schedule accepted; real cron expressions are a few dozen characters.
pub const MAX_SCHEDULE_LEN: usize = 256;

/// A six- or seven-field cron expression (seconds first), e.g. `0 0 2 * * *`,
/// that fires at least once in the future: `0 0 0 30 2 *` (February 30) or a
/// past year would leave a task that silently never runs.
pub fn check_schedule(schedule: &str) -> Result<()> {
    let shown = quoted(schedule, 60);
    if schedule.chars().count() > MAX_SCHEDULE_LEN {
        return Err(EngineError::invalid(
            "schedule",
            format!("'{shown}' is longer than {MAX_SCHEDULE_LEN} characters; write a cron expression with seconds first, e.g. '0 0 2 * * *'"),
        ));
    }
    let fields = schedule.split_whitespace().count();
    let shorthand = schedule.trim_start().starts_with('@');
    if !shorthand && !(6..=7).contains(&fields) {
        return Err(EngineError::invalid(
            "schedule",
            format!("'{shown}' has {fields} fields; write a cron expression with seconds first, e.g. '0 0 2 * * *' for daily at 02:00"),
        ));
    }
    if let Some(problem) = out_of_range(schedule) {
        return Err(EngineError::invalid(
            "schedule",
            format!("'{shown}': {problem}; e.g. '0 0 2 * * *' fires daily at 02:00"),
        ));
    }
    let parsed = cron::Schedule::from_str(schedule).map_err(|e| {
        EngineError::invalid(
            "schedule",
            format!(
                "'{shown}' is not a valid cron expression: {}; write seconds, minutes, hours, day of month, month, day of week, e.g. '0 0 2 * * *'",
                cron_refusal(&e)
            ),
        )
    })?;
    if parsed.upcoming(chrono::Utc).next().is_none() {
        return Err(EngineError::invalid(
            "schedule",
            format!("'{shown}' never fires (a date that does not exist, or a year in the past); choose a time that comes"),
        ));
    }
    Ok(())
}

/// What the cron parser says is wrong, on one line: its message draws a
/// caret under the expression on lines of their own, and its last line says
/// why (its own words, without control characters: they reach a terminal).
pub fn cron_refusal(e: &cron::error::Error) -> String {
    let text = e.to_string();
    let why: String = text
        .lines()
        .last()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    why.trim_end_matches('.').to_string()
}

/// The first number of a cron expression outside its field's range, said
/// as a person would: `hours run from 0 to 23 (25 given)`. Only plain
/// numbers of the first five fields are looked at (names, `L`, `W` and the
/// day of week are the parser's).
fn out_of_range(schedule: &str) -> Option<String> {
    const FIELDS: [(&str, u32, u32); 5] = [
        ("seconds", 0, 59),
        ("minutes", 0, 59),
        ("hours", 0, 23),
        ("days of the month", 1, 31),
        ("months", 1, 12),
    ];
    for ((name, low, high), field) in FIELDS.iter().zip(schedule.split_whitespace()) {
        for part in field.split(',') {
            // `a-b/step`: the step is a count, not a value of the field.
            let values = part.split('/').next().unwrap_or_default();
            for value in values.split('-').filter_map(|v| v.parse::<u32>().ok()) {
                if !(*low..=*high).contains(&value) {
                    return Some(format!("{name} run from {low} to {high} ({value} given)"));
                }
            }
        }
    }
    None
}

pub fn check_timezone(tz: &str) -> Result<()> {
    chrono_tz::Tz::from_str(tz).map(|_| ()).map_err(|_| {
        EngineError::invalid(
            "timezone",
            format!("'{tz}' is not an IANA time zone name (e.g. 'UTC', 'Europe/Helsinki')"),
        )
    })
}

pub fn check_folder_accepts(folder: &Folder, template: &Template) -> Result<()> {
    if folder.templates.contains(&template.code) {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "target_folder",
            format!(
                "folder '{}' does not accept template '{}' (it accepts: {})",
                folder.code,
                template.code,
                folder.templates.join(", ")
            ),
        ))
    }
}

pub fn check_attribute(template: &Template, field: &str, attribute: &str) -> Result<()> {
    if template.attribute(attribute).is_some() {
        Ok(())
    } else {
        Err(EngineError::invalid(
            field,
            format!(
                "attribute '{attribute}' does not exist in template '{}'",
                template.code
            ),
        ))
    }
}

/// Every mapping names an attribute of the template, no target attribute is
/// mapped twice, and (scheduled tasks) the object id is mapped, because a
/// record's card is found by the value of the attribute the object id maps to.
pub fn check_mappings(
    template: &Template,
    mappings: &[Mapping],
    object_id_attribute: Option<&str>,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for m in mappings {
        if m.source.trim().is_empty() || m.target.trim().is_empty() {
            return Err(EngineError::invalid(
                "mappings",
                "every mapping needs both 'source' and 'target'",
            ));
        }
        check_attribute(template, "mappings", &m.target)?;
        if !seen.insert(m.target.as_str()) {
            return Err(EngineError::invalid(
                "mappings",
                format!("template attribute '{}' is mapped more than once", m.target),
            ));
        }
    }
    if let Some(id) = object_id_attribute {
        if !mappings.iter().any(|m| m.source == id) {
            return Err(EngineError::invalid(
                "object_id_attribute",
                format!("'{id}' must also be mapped to a template attribute; cards are matched by the value it maps to"),
            ));
        }
    }
    Ok(())
}

/// Longest connector or task name, in characters.
pub const MAX_NAME_LEN: usize = 200;

/// Names must be non-empty and printable; `/` is reserved for `CONNECTOR/TASK` references.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(EngineError::MissingFields {
            fields: vec!["name".into()],
        });
    }
    if name.chars().any(char::is_control) || name.chars().count() > MAX_NAME_LEN {
        // The name itself is not echoed: it may be 200 KB or carry terminal escapes.
        return Err(EngineError::invalid(
            "name",
            format!("{kind} name must be at most {MAX_NAME_LEN} printable characters"),
        ));
    }
    if name.contains('/') {
        return Err(EngineError::invalid(
            "name",
            format!("{kind} name '{name}' must not contain '/'"),
        ));
    }
    Ok(())
}

/// Text from outside shown inside an error message: control characters
/// escaped, and cut after `max` characters so a 200 KB value is not echoed back.
pub fn quoted(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).flat_map(char::escape_debug).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Shortest secret value accepted, in characters. Shorter ones cannot be
/// kept out of logs: masked wherever they stand as a word, a one- or
/// two-letter secret blanks common words and so shows which it is.
pub const MIN_SECRET_LEN: usize = 3;

/// Every secret value (JSON pointer → value; strings inside lists and
/// objects too) is empty or at least [`MIN_SECRET_LEN`] characters.
pub fn check_secret_values(values: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    fn short(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => (1..MIN_SECRET_LEN).contains(&s.chars().count()),
            serde_json::Value::Array(a) => a.iter().any(short),
            serde_json::Value::Object(m) => m.values().any(short),
            _ => false,
        }
    }
    for (pointer, value) in values {
        if short(value) {
            return Err(EngineError::invalid(
                "parameters",
                format!(
                    "secret parameter '{pointer}' is shorter than {MIN_SECRET_LEN} characters; a secret that short cannot be kept out of logs. Use the real value"
                ),
            ));
        }
    }
    Ok(())
}

/// `base`, then `base (copy)`, `base (copy 2)`, … — the first name not taken.
pub fn copy_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let first = format!("{base} (copy)");
    if !taken(&first) {
        return first;
    }
    (2..)
        .map(|n| format!("{base} (copy {n})"))
        .find(|candidate| !taken(candidate))
        .unwrap_or(first)
}

/// Connector parameters as stored: an object (none given is an empty one).
pub fn parameters_object(params: Option<serde_json::Value>) -> Result<serde_json::Value> {
    match params {
        None | Some(serde_json::Value::Null) => Ok(serde_json::Value::Object(serde_json::Map::new())),
        Some(serde_json::Value::Object(m)) => Ok(serde_json::Value::Object(m)),
        Some(_) => Err(EngineError::invalid(
            "parameters",
            "must be a JSON object of name → value",
        )),
    }
}
/// A relative path that stays inside the folder it is joined to (a
/// connector's folder): what a parameter or a package may name.
pub fn confined(path: &str) -> bool {
    let p = std::path::Path::new(path.trim());
    !path.trim().is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_all_listed() {
        let input = TaskInput {
            name: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(
            missing_task_fields(&input),
            [
                "schedule",
                "object_id_attribute",
                "target_template",
                "target_folder",
                "task_id_attribute",
                "mappings"
            ]
        );
    }

    #[test]
    fn schedules_need_seconds() {
        assert!(check_schedule("0 0 2 * * *").is_ok());
        let e = check_schedule("0 2 * * *").unwrap_err().to_string();
        assert!(e.contains("5 fields"), "{e}");
    }

    #[test]
    fn a_number_out_of_its_field_s_range_is_named_with_the_range() {
        for (schedule, said) in [
            ("0 0 25 * * *", "hours run from 0 to 23 (25 given)"),
            ("0 60 2 * * *", "minutes run from 0 to 59 (60 given)"),
            ("0 0 2 0 * *", "days of the month run from 1 to 31 (0 given)"),
            ("0 0 2 * 1-13 *", "months run from 1 to 12 (13 given)"),
        ] {
            let e = check_schedule(schedule).unwrap_err().to_string();
            assert!(e.contains(said), "{schedule}: {e}");
        }
        // Steps count, they are no value of the field; names are the parser's.
        for fine in [
            "0 */15 * * * *",
            "0 0 0-23/2 * * *",
            "0 0 2 * JAN-DEC MON-FRI",
            "0 0 23 31 12 *",
        ] {
            assert!(check_schedule(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_schedule_the_parser_refuses_is_explained_on_one_line() {
        let e = check_schedule("0 0 2 * * FUNDAY").unwrap_err().to_string();
        assert!(!e.contains('\n') && !e.contains('\\') && !e.contains('^'), "{e}");
        assert!(e.contains("'FUNDAY' is not a valid day of the week;"), "{e}");
        assert!(e.contains("e.g. '0 0 2 * * *'"), "{e}");
    }

    #[test]
    fn schedules_that_never_fire_are_refused() {
        for never in ["0 0 0 30 2 *", "0 0 0 31 4 *", "0 0 0 1 1 * 2001"] {
            let e = check_schedule(never).unwrap_err().to_string();
            assert!(e.contains("never fires"), "{never}: {e}");
        }
        assert!(check_schedule("0 0 0 29 2 *").is_ok(), "leap days come");
    }

    #[test]
    fn a_huge_schedule_is_not_echoed_back() {
        let huge = "1,".repeat(100_000) + "1 * * * * *";
        let e = check_schedule(&huge).unwrap_err().to_string();
        assert!(e.len() < 400, "{} bytes: {}", e.len(), &e[..200]);
        assert!(e.contains("longer than 256"), "{e}");
    }

    #[test]
    fn names_with_control_characters_are_refused_without_echoing_them() {
        let e = check_name("connector", "a\x1b[31mred").unwrap_err().to_string();
        assert!(!e.contains('\x1b'), "{e:?}");
        assert!(check_name("connector", &"x".repeat(201)).is_err());
        assert!(
            check_name("connector", &"é".repeat(200)).is_ok(),
            "characters are counted, not bytes"
        );
    }

    #[test]
    fn secrets_too_short_to_mask_are_refused() {
        let map = |v: serde_json::Value| v.as_object().unwrap().clone();
        let e = check_secret_values(&map(serde_json::json!({"/password": "a"}))).unwrap_err();
        assert!(e.to_string().contains("'/password' is shorter than 3"), "{e}");
        assert!(check_secret_values(&map(serde_json::json!({"/t": ["ok1", "x"]}))).is_err());
        assert!(check_secret_values(&map(serde_json::json!({"/password": "p-1", "/empty": ""}))).is_ok());
    }

    #[test]
    fn copy_names_count_up() {
        let taken = ["A (copy)", "A (copy 2)"];
        assert_eq!(copy_name("A", |n| taken.contains(&n)), "A (copy 3)");
    }
}
