//! The script library: list, add, copy.

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

    pub async fn copy_script(&self, from: &str, to: &str) -> Result<Script> {
        self.script_library().copy(self.store(), from, to).await
    }
}
