//! The checks a task must pass, as pure functions over its input and the
//! target's template and folders (looked up by the engine): the same for the
//! CLI, the window and package import.

use crate::error::{EngineError, Result};
use crate::model::{Folder, TaskInput, Template};

/// Mandatory fields, the name, the time zone and the schedule: what the input alone tells.
pub fn check_input(input: &TaskInput) -> Result<()> {
    let missing = super::missing_task_fields(input);
    if !missing.is_empty() {
        return Err(EngineError::MissingFields { fields: missing });
    }
    let name = input.name.clone().unwrap_or_default().trim().to_string();
    super::check_name("task", &name)?;
    let timezone = input
        .timezone
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "UTC".into());
    super::check_timezone(&timezone)?;
    if let Some(s) = input.schedule.as_deref().filter(|s| !s.trim().is_empty()) {
        super::check_schedule(s)?;
    }
    Ok(())
}

/// Values a review shows beside a card's key.
pub const MAX_DISPLAY_FIELDS: usize = 3;

/// The task's display fields as given: trimmed, without blanks or repeats.
pub fn display_fields(input: &TaskInput) -> impl Iterator<Item = &str> {
    let given = input.display_fields.as_deref().unwrap_or_default();
    given
        .iter()
        .enumerate()
        .map(|(i, f)| (i, f.trim()))
        .filter(move |(i, f)| !f.is_empty() && !given[..*i].iter().any(|g| g.trim() == *f))
        .map(|(_, f)| f)
}

/// Folder, mappings, attributes, display fields, removal and failure settings
/// against the target's template (`failure`: the failure card's template and folder).
pub fn check_against_target(
    input: &TaskInput,
    template: &Template,
    folder: &Folder,
    failure: Option<(&Template, &Folder)>,
) -> Result<()> {
    let scheduled = input.usage.unwrap_or_default().runs_on_schedule();
    super::check_folder_accepts(folder, template)?;
    let mappings = input.mappings.clone().unwrap_or_default();
    super::check_mappings(
        template,
        &mappings,
        if scheduled {
            input.object_id_attribute.as_deref()
        } else {
            None
        },
    )?;
    if let Some(a) = input.task_id_attribute.as_deref().filter(|a| !a.is_empty()) {
        super::check_attribute(template, "task_id_attribute", a)?;
    }
    if let Some(a) = input
        .data_source_type_attribute
        .as_deref()
        .filter(|a| !a.is_empty())
    {
        super::check_attribute(template, "data_source_type_attribute", a)?;
    }
    let display: Vec<&str> = display_fields(input).collect();
    if display.len() > MAX_DISPLAY_FIELDS {
        return Err(EngineError::invalid(
            "display_fields",
            format!(
                "{} fields given; a review shows at most {MAX_DISPLAY_FIELDS} beside a card's key: keep those that tell whose it is",
                display.len()
            ),
        ));
    }
    for f in display {
        super::check_attribute(template, "display_fields", f)?;
    }
    if let Some(r) = &input.removal {
        super::check_attribute(template, "removal.status_attribute", &r.status_attribute)?;
        let attr = template.attribute(&r.status_attribute).cloned();
        if let Some(attr) = attr.filter(|a| !a.static_values.is_empty()) {
            if !attr.static_values.contains(&r.removed_value) {
                return Err(EngineError::invalid(
                    "removal.removed_value",
                    format!(
                        "'{}' is not an allowed value of '{}' (allowed: {})",
                        r.removed_value,
                        attr.code,
                        attr.static_values.join(", ")
                    ),
                ));
            }
        }
    }
    if let (Some(f), Some((ft, ff))) = (&input.failure, failure) {
        super::check_folder_accepts(ff, ft).map_err(|e| match e {
            EngineError::Invalid { message, .. } => EngineError::invalid("failure.folder", message),
            other => other,
        })?;
        super::check_attribute(ft, "failure.attribute", &f.attribute)?;
    }
    Ok(())
}

/// `stale_after` as a duration: a whole number of minutes (`m`), hours (`h`) or days (`d`).
pub fn stale_after(text: &str) -> Option<chrono::Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = number.parse().ok().filter(|n| *n > 0 && *n <= 100_000)?;
    match unit {
        "m" => Some(chrono::Duration::minutes(n)),
        "h" => Some(chrono::Duration::hours(n)),
        "d" => Some(chrono::Duration::days(n)),
        _ => None,
    }
}

/// Limits, maximum runtime and heartbeat timeout.
pub fn check_limits(input: &TaskInput) -> Result<()> {
    if let Some(s) = input.stale_after.as_deref().filter(|s| !s.trim().is_empty()) {
        if stale_after(s).is_none() {
            return Err(EngineError::invalid(
                "stale_after",
                format!("'{s}' is not a duration: write a whole number and m, h or d, e.g. 26h"),
            ));
        }
    }
    let limits = input.limits.clone().unwrap_or_default();
    if limits.update_limit == Some(0) {
        return Err(EngineError::invalid(
            "limits.update_limit",
            "must be at least 1 (leave it out for no limit)",
        ));
    }
    if input.max_runtime == Some(0) {
        return Err(EngineError::invalid(
            "max_runtime",
            "must be at least 1 second (leave it out for no limit)",
        ));
    }
    if input.heartbeat_timeout == Some(0) {
        return Err(EngineError::invalid(
            "heartbeat_timeout",
            "must be at least 1 second",
        ));
    }
    Ok(())
}
