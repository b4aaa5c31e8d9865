//! The script library: list, show, add, copy, update (keeping the previous
//! version), restore, remove.

use std::path::Path;

use super::Engine;
use crate::error::Result;

use crate::script_library::{Script, ScriptKind, ScriptVersion};

impl Engine {
    // ----- script library ----------------------------------------------------

    pub async fn scripts(&self) -> Result<Vec<Script>> {
        self.script_library().list(self.store()).await
    }

    pub async fn add_script(&self, file: &Path, kind: ScriptKind, name: Option<&str>) -> Result<Script> {
        self.script_library().add(self.store(), file, kind, name).await
    }

    /// A script's source text, as the library holds it (`script show`, the Scripts tab's viewer).
    pub async fn script_source(&self, name: &str) -> Result<String> {
        let script = self.script_library().find(self.store(), name).await?;
        std::fs::read_to_string(&script.path).map_err(|e| {
            crate::error::EngineError::io(format!("cannot read script {name} from the library"), e)
        })
    }

    pub async fn copy_script(&self, from: &str, to: &str) -> Result<Script> {
        self.script_library().copy(self.store(), from, to).await
    }

    /// Replaces a custom script with the file's text; the previous text stays restorable.
    pub async fn update_script(&self, name: &str, file: &Path) -> Result<Script> {
        self.script_library().update(self.store(), name, file).await
    }

    pub async fn script_versions(&self, name: &str) -> Result<Vec<ScriptVersion>> {
        self.script_library().versions(self.store(), name).await
    }

    pub async fn restore_script(&self, name: &str, version: &str) -> Result<Script> {
        self.script_library().restore(self.store(), name, version).await
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
        self.script_library().remove(self.store(), name).await
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
