//! The script library: list, show, add, copy, update (keeping the previous
//! version), restore, remove.

use std::path::Path;

use super::Engine;
use crate::error::Result;
use crate::model::AuditObject;

use crate::script_library::{Script, ScriptKind, ScriptVersion};

impl Engine {
    // ----- script library ----------------------------------------------------

    pub async fn scripts(&self) -> Result<Vec<Script>> {
        self.script_library().list(self.store()).await
    }

    pub async fn add_script(&self, file: &Path, kind: ScriptKind, name: Option<&str>) -> Result<Script> {
        let script = self.script_library().add(self.store(), file, kind, name).await?;
        self.record_script(&script, "add", None).await;
        Ok(script)
    }

    /// The audit's view of a script: its kind and which text (a digest, never the code).
    async fn script_view(&self, script: &Script) -> Option<serde_json::Value> {
        use sha2::Digest;
        let text = std::fs::read(&script.path).unwrap_or_default();
        Some(serde_json::json!({
            "kind": script.kind.as_str(),
            "bytes": text.len(),
            "sha256": sha2::Sha256::digest(&text).iter().map(|b| format!("{b:02x}")).collect::<String>(),
        }))
    }

    async fn record_script(&self, script: &Script, action: &str, before: Option<serde_json::Value>) {
        let after = self.script_view(script).await;
        self.record_change(AuditObject::Script, &script.name, action, before, after)
            .await;
    }

    /// A script's source text, as the library holds it (`script show`, the Scripts tab's viewer).
    pub async fn script_source(&self, name: &str) -> Result<String> {
        let script = self.script_library().find(self.store(), name).await?;
        std::fs::read_to_string(&script.path).map_err(|e| {
            crate::error::EngineError::io(format!("cannot read script {name} from the library"), e)
        })
    }

    pub async fn copy_script(&self, from: &str, to: &str) -> Result<Script> {
        let script = self.script_library().copy(self.store(), from, to).await?;
        self.record_script(&script, "copy", None).await;
        Ok(script)
    }

    /// Replaces a custom script with the file's text; the previous text stays restorable.
    pub async fn update_script(&self, name: &str, file: &Path) -> Result<Script> {
        let before = match self.script_library().find(self.store(), name).await {
            Ok(s) => self.script_view(&s).await,
            Err(_) => None,
        };
        let script = self.script_library().update(self.store(), name, file).await?;
        self.record_script(&script, "update", before).await;
        Ok(script)
    }

    pub async fn script_versions(&self, name: &str) -> Result<Vec<ScriptVersion>> {
        self.script_library().versions(self.store(), name).await
    }

    pub async fn restore_script(&self, name: &str, version: &str) -> Result<Script> {
        let before = match self.script_library().find(self.store(), name).await {
            Ok(s) => self.script_view(&s).await,
            Err(_) => None,
        };
        let script = self.script_library().restore(self.store(), name, version).await?;
        self.record_script(&script, &format!("restore {version}"), before)
            .await;
        Ok(script)
    }

    /// Removes a custom script that no connector uses; otherwise names the connectors.
    pub async fn remove_script(&self, name: &str) -> Result<()> {
        let users: Vec<String> = self
            .list_connectors()
            .await?
            .into_iter()
            .filter(|c| c.script.as_deref() == Some(name))
            .map(|c| c.name)
            .collect();
        if !users.is_empty() {
            return Err(crate::error::EngineError::invalid(
                "script",
                format!(
                    "'{name}' is used by {}: {}; point them at another script or remove them first",
                    if users.len() == 1 {
                        "a connector"
                    } else {
                        "connectors"
                    },
                    users.join(", ")
                ),
            ));
        }
        let before = match self.script_library().find(self.store(), name).await {
            Ok(s) => self.script_view(&s).await,
            Err(_) => None,
        };
        self.script_library().remove(self.store(), name).await?;
        self.record_change(AuditObject::Script, name, "remove", before, None)
            .await;
        Ok(())
    }

    /// Writes a copy of a script's text to `to` (the Scripts tab's "Save a copy…").
    pub async fn save_script_copy(&self, name: &str, to: &Path) -> Result<()> {
        let source = self.script_source(name).await?;
        let tmp = to.with_extension("partial");
        std::fs::write(&tmp, source)
            .and_then(|_| std::fs::rename(&tmp, to))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                crate::error::EngineError::Input {
                    path: to.display().to_string(),
                    message: format!("cannot write the copy: {e}"),
                }
            })
    }
}
