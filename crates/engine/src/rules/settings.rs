//! The settings: one table of keys (name, label, type, default, help) that
//! the engine, `settings show`, the error for an unknown key and the
//! Settings tab all read, and the check of each change.

use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::model::{EnvironmentType, Settings};

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    /// One of prod, test, demo, dev.
    EnvironmentType,
    /// Hours of the day 0–23, separated by commas.
    Hours,
    /// A whole number from 1 to 64.
    Workers,
    /// A whole number, or `none` for no limit.
    OptionalCount,
    /// A command or path.
    Text,
    /// error, warn, info, debug or trace.
    LogLevel,
    /// true or false.
    Boolean,
    /// ADDRESS:PORT, a port alone, or off.
    Address,
}

/// One setting's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct SettingKey {
    /// The key `settings set` takes.
    pub name: &'static str,
    /// What the window calls it.
    pub label: &'static str,
    #[serde(rename = "type")]
    pub setting_type: SettingType,
    /// The value a new installation has, as text.
    pub default: &'static str,
    pub description: &'static str,
}

/// Every setting, in the order people read them.
pub const KEYS: &[SettingKey] = &[
    SettingKey {
        name: "environment_type",
        label: "Environment type",
        setting_type: SettingType::EnvironmentType,
        default: "not set",
        description: "What this installation is: prod, test, demo or dev. No task runs until it is set.",
    },
    SettingKey {
        name: "cache_clear_hours",
        label: "Cache clear hours",
        setting_type: SettingType::Hours,
        default: "0",
        description: "Hours of the day (UTC) at which every task's data cache is cleared, so the next run of each task checks every record against its card again.",
    },
    SettingKey {
        name: "workers",
        label: "Workers",
        setting_type: SettingType::Workers,
        default: "4",
        description: "How many task runs may execute at the same time (1–64).",
    },
    SettingKey {
        name: "python",
        label: "Python interpreter",
        setting_type: SettingType::Text,
        default: "python3",
        description: "The interpreter scripts run with: a command on the PATH or a full path. A pyenv or asdf \
                      shim is asked in the data directory, so every run uses the same one.",
    },
    SettingKey {
        name: "retention_days",
        label: "Retention (days)",
        setting_type: SettingType::OptionalCount,
        default: "30",
        description: "Runs older than this many days are removed with their files; none keeps them.",
    },
    SettingKey {
        name: "retention_runs",
        label: "Retention (runs per task)",
        setting_type: SettingType::OptionalCount,
        default: "1000",
        description: "At most this many runs are kept per task; none keeps them all.",
    },
    SettingKey {
        name: "log_level",
        label: "Log level",
        setting_type: SettingType::LogLevel,
        default: "info",
        description: "How much the engine log (DATA_DIR/logs) records: error, warn, info, debug or trace.",
    },
    SettingKey {
        name: "catch_up",
        label: "Catch up missed runs",
        setting_type: SettingType::Boolean,
        default: "false",
        description: "When the scheduler starts, run once each task that missed its time while nothing was scheduling.",
    },
    SettingKey {
        name: "enable_imported_tasks_in_prod",
        label: "Enable imported tasks in prod",
        setting_type: SettingType::Boolean,
        default: "false",
        description: "Scheduled tasks imported into a prod installation stay disabled unless this is on.",
    },
    SettingKey {
        name: "workflow_api",
        label: "Workflow API address",
        setting_type: SettingType::Address,
        default: "off",
        description: "Where the process that schedules (the desktop app, provisio serve) serves the workflow API: ADDRESS:PORT, a port alone (127.0.0.1:PORT), or off. Callers need a token (provisio api-token create).",
    },
    SettingKey {
        name: "hr_max_file_mb",
        label: "Largest HR file (MB)",
        setting_type: SettingType::OptionalCount,
        default: "1024",
        description: "An HR file larger than this, local or over SFTP, is refused before it is read, and nothing is loaded; none: no limit.",
    },
    SettingKey {
        name: "hr_max_field_kb",
        label: "Largest HR field (KB)",
        setting_type: SettingType::OptionalCount,
        default: "1024",
        description: "A field of an HR file longer than this stops the run with its line or record, and nothing is loaded; none: no limit.",
    },
];

/// A setting's definition with its current value as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SettingRow {
    pub key: SettingKey,
    pub value: String,
}

/// The current value of the setting `name` as text (`none`, `not set`, `6,12`).
pub fn value_of(s: &Settings, name: &str) -> String {
    let count = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_else(|| "none".into());
    match name {
        "environment_type" => s.environment_type.map(|e| e.as_str()).unwrap_or("not set").into(),
        "cache_clear_hours" => s
            .cache_clear_hours
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(","),
        "workers" => s.workers.to_string(),
        "python" => s.python.clone(),
        "retention_days" => count(s.retention_days),
        "retention_runs" => count(s.retention_runs),
        "log_level" => s.log_level.to_string(),
        "catch_up" => s.catch_up.to_string(),
        "enable_imported_tasks_in_prod" => s.enable_imported_tasks_in_prod.to_string(),
        "workflow_api" => s.workflow_api.clone().unwrap_or_else(|| "off".into()),
        "hr_max_file_mb" => count(s.hr_max_file_mb),
        "hr_max_field_kb" => count(s.hr_max_field_kb),
        _ => String::new(),
    }
}

/// `docs/settings.md`: the table as people read it.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Settings\n\n<!-- Generated from crates/engine/src/rules/settings.rs; \
         `UPDATE_DOCS=1 cargo test -p provisio-engine --lib settings_doc` rewrites it. -->\n\n\
         One set of settings per data directory. Change them with \
         `provisio settings set KEY=VALUE...` (every change is checked before any \
         is saved) or in the window's Settings tab.\n\n\
         | key | label | values | default | meaning |\n| --- | --- | --- | --- | --- |\n",
    );
    for k in KEYS {
        let values = match k.setting_type {
            SettingType::EnvironmentType => "`prod`, `test`, `demo`, `dev`",
            SettingType::Hours => "hours 0–23, comma-separated",
            SettingType::Workers => "1–64",
            SettingType::OptionalCount => "a whole number or `none`",
            SettingType::Text => "a command or path",
            SettingType::LogLevel => "`error`, `warn`, `info`, `debug`, `trace`",
            SettingType::Boolean => "`true`, `false`",
            SettingType::Address => "`ADDRESS:PORT`, a port, or `off`",
        };
        out.push_str(&format!(
            "| `{}` | {} | {values} | `{}` | {} |\n",
            k.name, k.label, k.default, k.description
        ));
    }
    out
}

/// Every setting with its value, in the table's order.
pub fn rows(s: &Settings) -> Vec<SettingRow> {
    KEYS.iter()
        .map(|k| SettingRow {
            key: *k,
            value: value_of(s, k.name),
        })
        .collect()
}

/// Where to listen: `ADDRESS:PORT`, or a port alone on the loopback address.
pub fn listen_address(text: &str) -> Result<std::net::SocketAddr> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        EngineError::invalid(
            "address",
            format!("'{text}' is not ADDRESS:PORT or a port (for example 127.0.0.1:8080 or 8080)"),
        )
    })
}

/// Applies one `KEY=VALUE` change to `s`, checked against the key's definition.
pub fn apply(s: &mut Settings, key: &str, value: &str) -> Result<()> {
    let bad = |msg: &str| EngineError::invalid(key, format!("'{value}' {msg}"));
    let optional_number = |v: &str| -> Result<Option<u32>> {
        if v.eq_ignore_ascii_case("none") || v.is_empty() {
            Ok(None)
        } else {
            v.parse::<u32>()
                .map(Some)
                .map_err(|_| bad("is not a whole number (or 'none')"))
        }
    };
    let boolean = |v: &str| -> Result<bool> {
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(bad("is not true or false")),
        }
    };
    match key {
        "environment_type" => {
            s.environment_type = Some(EnvironmentType::parse(value).ok_or_else(|| {
                bad(&format!(
                    "is not an environment type; use one of {}",
                    EnvironmentType::ALL
                ))
            })?)
        }
        "cache_clear_hours" => {
            let text = value.trim_start_matches('[').trim_end_matches(']');
            let mut hours = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.parse::<u8>() {
                    Ok(h) if h < 24 => hours.push(h),
                    _ => {
                        return Err(bad(
                            "must be hours of the day 0–23, separated by commas (e.g. 6,12)",
                        ))
                    }
                }
            }
            if hours.is_empty() {
                return Err(bad("must name at least one hour 0–23"));
            }
            hours.sort_unstable();
            hours.dedup();
            s.cache_clear_hours = hours;
        }
        "workers" => match value.parse::<u32>() {
            Ok(n) if (1..=64).contains(&n) => s.workers = n,
            _ => return Err(bad("must be a whole number from 1 to 64")),
        },
        "python" => {
            if value.is_empty() {
                return Err(bad(
                    "must name a Python interpreter (e.g. python3 or /usr/bin/python3)",
                ));
            }
            s.python = value.to_string();
        }
        "retention_days" => s.retention_days = optional_number(value)?,
        "retention_runs" => s.retention_runs = optional_number(value)?,
        "hr_max_file_mb" => s.hr_max_file_mb = optional_number(value)?,
        "hr_max_field_kb" => s.hr_max_field_kb = optional_number(value)?,
        "log_level" => match crate::model::LogLevel::parse(value.trim()) {
            Some(level) => s.log_level = level,
            None => return Err(bad("is not a log level; use error, warn, info, debug or trace")),
        },
        "catch_up" => s.catch_up = boolean(value)?,
        "enable_imported_tasks_in_prod" => s.enable_imported_tasks_in_prod = boolean(value)?,
        "workflow_api" => {
            s.workflow_api = match value.trim() {
                "" | "off" | "none" => None,
                text => Some(listen_address(text).map(|a| a.to_string()).map_err(|_| {
                    bad("is not ADDRESS:PORT, a port or off (for example 127.0.0.1:8080, 8080 or off)")
                })?),
            }
        }
        _ => {
            return Err(EngineError::invalid(
                key,
                format!(
                    "is not a setting; known settings: {}",
                    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_in_the_table_is_a_setting_and_its_default_is_what_a_new_installation_has() {
        let defaults = Settings::default();
        for key in KEYS {
            assert_eq!(value_of(&defaults, key.name), key.default, "{}", key.name);
            if key.name != "environment_type" {
                let mut s = Settings::default();
                apply(&mut s, key.name, key.default).unwrap_or_else(|e| panic!("{}: {e}", key.name));
                assert_eq!(s, defaults, "{}: its default applies unchanged", key.name);
            }
        }
    }

    #[test]
    fn settings_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/settings.md");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, markdown()).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == markdown(),
            "docs/settings.md is stale: run `UPDATE_DOCS=1 cargo test -p provisio-engine --lib settings_doc`"
        );
    }

    #[test]
    fn an_unknown_key_is_refused_with_the_list_from_the_table() {
        let e = apply(&mut Settings::default(), "colour", "blue")
            .unwrap_err()
            .to_string();
        for key in KEYS {
            assert!(e.contains(key.name), "{e}");
        }
    }
}
