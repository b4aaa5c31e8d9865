//! The checks a connector or task must pass before it is saved. Pure
//! functions over the input and the target's templates, so every rule is
//! testable without a database; the [`crate::Engine`] calls them.

use std::str::FromStr;

use crate::error::{EngineError, Result};
use crate::model::{Folder, Mapping, TaskInput, TaskUsage, Template};

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
    if usage == TaskUsage::Scheduled {
        need("schedule", blank(&input.schedule));
        need("object_id_attribute", blank(&input.object_id_attribute));
    }
    need("target_template", blank(&input.target_template));
    need("target_folder", blank(&input.target_folder));
    if usage == TaskUsage::Scheduled {
        need("task_id_attribute", blank(&input.task_id_attribute));
    }
    need("mappings", input.mappings.as_ref().is_none_or(|m| m.is_empty()));
    missing
}

/// A six- or seven-field cron expression (seconds first), e.g. `0 0 2 * * *`.
pub fn check_schedule(schedule: &str) -> Result<()> {
    let fields = schedule.split_whitespace().count();
    let shorthand = schedule.trim_start().starts_with('@');
    if !shorthand && !(6..=7).contains(&fields) {
        return Err(EngineError::invalid(
            "schedule",
            format!("'{schedule}' has {fields} fields; write a cron expression with seconds first, e.g. '0 0 2 * * *' for daily at 02:00"),
        ));
    }
    cron::Schedule::from_str(schedule).map(|_| ()).map_err(|e| {
        EngineError::invalid(
            "schedule",
            format!("'{schedule}' is not a valid cron expression: {e}"),
        )
    })
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

/// Names must be non-empty and printable; `/` is reserved for `CONNECTOR/TASK` references.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(EngineError::MissingFields {
            fields: vec!["name".into()],
        });
    }
    if name.contains('/') {
        return Err(EngineError::invalid(
            "name",
            format!("{kind} name '{name}' must not contain '/'"),
        ));
    }
    if name.chars().any(char::is_control) || name.len() > 200 {
        return Err(EngineError::invalid(
            "name",
            format!("{kind} name must be at most 200 printable characters"),
        ));
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
    fn copy_names_count_up() {
        let taken = ["A (copy)", "A (copy 2)"];
        assert_eq!(copy_name("A", |n| taken.contains(&n)), "A (copy 3)");
    }
}
