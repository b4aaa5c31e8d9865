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
            self.record(
                crate::model::AuditObject::Package,
                &path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                "import",
                import_changes(&plan),
            )
            .await;
        }
        Ok(plan)
    }
}

/// What an import did, field by field: each connector, task and script with its action and changes.
fn import_changes(plan: &ImportPlan) -> Vec<crate::model::FieldChange> {
    use crate::model::FieldChange;
    use serde_json::Value;
    let word = |a: &crate::package::PlanAction| serde_json::to_value(a).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for c in &plan.connectors {
        out.push(FieldChange {
            field: format!("connector {}", c.name),
            from: Value::Null,
            to: word(&c.action),
        });
        out.extend(c.changes.iter().map(|ch| FieldChange {
            field: format!("connector {}: {}", c.name, ch.field),
            ..ch.clone()
        }));
        for t in &c.tasks {
            out.push(FieldChange {
                field: format!("task {}/{}", c.name, t.name),
                from: Value::Null,
                to: word(&t.action),
            });
            out.extend(t.changes.iter().map(|ch| FieldChange {
                field: format!("task {}/{}: {}", c.name, t.name, ch.field),
                ..ch.clone()
            }));
        }
    }
    for s in &plan.scripts {
        out.push(FieldChange {
            field: format!("script {}", s.name),
            from: Value::Null,
            to: serde_json::to_value(s).unwrap_or(Value::Null),
        });
    }
    out
}
