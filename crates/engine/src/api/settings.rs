//! Settings: read, change (every key checked before any is saved), and the environment gate.

use super::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{EnvironmentType, Settings};

impl Engine {
    // ----- settings -------------------------------------------------------

    pub async fn settings(&self) -> Result<Settings> {
        self.store.settings().await
    }

    /// Applies `KEY=VALUE` changes; all are checked before any is saved.
    pub async fn set_settings(&self, changes: &[(String, String)]) -> Result<Settings> {
        let mut s = self.store.settings().await?;
        for (key, value) in changes {
            apply_setting(&mut s, key.trim(), value.trim())?;
        }
        self.store.save_settings(&s).await?;
        Ok(s)
    }

    /// Refuses when no environment type is set: no task may run before that.
    pub async fn require_environment(&self) -> Result<EnvironmentType> {
        self.settings().await?.environment_type.ok_or_else(|| {
            EngineError::invalid(
                "environment_type",
                "is not set; no task runs until it is (prod, test, demo or dev)",
            )
            .with_remedy(Remedy::SetSetting {
                key: "environment_type".into(),
                example: "test".into(),
            })
        })
    }
}

pub(crate) fn apply_setting(s: &mut Settings, key: &str, value: &str) -> Result<()> {
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
            s.environment_type = Some(
                EnvironmentType::parse(value)
                    .ok_or_else(|| bad(&format!("is not an environment type; use one of {}", EnvironmentType::ALL)))?,
            )
        }
        "cache_clear_hours" => {
            let text = value.trim_start_matches('[').trim_end_matches(']');
            let mut hours = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.parse::<u8>() {
                    Ok(h) if h < 24 => hours.push(h),
                    _ => return Err(bad("must be hours of the day 0–23, separated by commas (e.g. 6,12)")),
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
                return Err(bad("must name a Python interpreter (e.g. python3 or /usr/bin/python3)"));
            }
            s.python = value.to_string();
        }
        "retention_days" => s.retention_days = optional_number(value)?,
        "retention_runs" => s.retention_runs = optional_number(value)?,
        "log_level" => match value {
            "error" | "warn" | "info" | "debug" | "trace" => s.log_level = value.into(),
            _ => return Err(bad("is not a log level; use error, warn, info, debug or trace")),
        },
        "catch_up" => s.catch_up = boolean(value)?,
        "enable_imported_tasks_in_prod" => s.enable_imported_tasks_in_prod = boolean(value)?,
        _ => {
            return Err(EngineError::invalid(
                key,
                "is not a setting; known settings: environment_type, cache_clear_hours, workers, python, retention_days, retention_runs, log_level, catch_up, enable_imported_tasks_in_prod",
            ))
        }
    }
    Ok(())
}
