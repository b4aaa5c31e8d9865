//! Export and import packages (the format itself is in `crate::package`):
//! [`export`] writes one; an import is planned ([`import_plan`]: read,
//! check, build everything through the engine's rules, change nothing), then
//! applied ([`import_apply`]: keyring and files with undo records, then one
//! store transaction).

mod export;
mod import_apply;
mod import_plan;

use std::path::Path;

use super::Engine;
use crate::error::Result;
use crate::package::{ImportPlan, Staged};
use crate::secrets::Sensitive;

/// A planned import: what applying it writes.
pub(crate) struct StagedImport {
    pub(crate) connectors: Vec<Staged>,
    /// Scripts to write: name, content, whether one of that name is here.
    pub(crate) scripts: Vec<(String, Vec<u8>, bool)>,
}

impl Engine {
    /// Imports a package: validates it completely, then (unless `dry_run`)
    /// applies it at once. Returns the plan, field by field.
    pub async fn import_package(
        &self,
        path: &Path,
        password: &Sensitive<String>,
        dry_run: bool,
    ) -> Result<ImportPlan> {
        let (plan, staged) = self.plan_import(path, password, dry_run).await?;
        if !dry_run {
            self.apply_import(staged).await?;
        }
        Ok(plan)
    }
}
