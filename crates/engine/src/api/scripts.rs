//! The script library: list, show, add, copy.

use std::path::Path;

use super::Engine;
use crate::error::Result;

use crate::script_library::{Script, ScriptKind};

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
}
