//! Settings: read, change (every key checked before any is saved), and the environment gate.

use super::Engine;
use crate::error::{EngineError, Remedy, Result};
use crate::model::{EnvironmentType, Settings};
use crate::rules;

impl Engine {
    // ----- settings -------------------------------------------------------

    pub async fn settings(&self) -> Result<Settings> {
        self.store.settings().await
    }

    /// Every setting with its definition and current value, in the table's order
    /// (what `settings show` prints and the Settings tab renders).
    pub async fn settings_view(&self) -> Result<Vec<rules::settings::SettingRow>> {
        Ok(rules::settings::rows(&self.settings().await?))
    }

    /// Applies `KEY=VALUE` changes; all are checked before any is saved.
    pub async fn set_settings(&self, changes: &[(String, String)]) -> Result<Settings> {
        let mut s = self.store.settings().await?;
        let before = serde_json::to_value(&s).ok();
        for (key, value) in changes {
            rules::settings::apply(&mut s, key.trim(), value.trim())?;
        }
        self.store.save_settings(&s).await?;
        self.record_change(
            crate::model::AuditObject::Settings,
            "settings",
            "update",
            before,
            serde_json::to_value(&s).ok(),
        )
        .await;
        Ok(s)
    }

    /// Checks one setting's value as a field is typed (the Settings tab); saves nothing.
    pub fn check_setting(&self, key: &str, value: &str) -> Result<()> {
        rules::settings::apply(&mut Settings::default(), key.trim(), value.trim())
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

impl Engine {
    /// Starts the interpreter (the setting's value, or `candidate` before it is saved) and reports its version.
    pub async fn check_python(
        &self,
        candidate: Option<&str>,
    ) -> Result<crate::script_host::python::PythonCheck> {
        let python = match candidate {
            Some(c) if !c.trim().is_empty() => c.trim().to_string(),
            _ => self.settings().await?.python,
        };
        crate::script_host::python::check(&python, self.data_dir()).await
    }
}
