//! Applying a planned import whole, or undoing what was written when a step fails.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::StagedImport;
use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::store::ImportedConnector;

impl Engine {
    /// Applies a staged import: keyring and script files first (with undo
    /// records), then every row in one transaction.
    pub(super) async fn apply_import(&self, import: StagedImport) -> Result<()> {
        let StagedImport {
            connectors: staged,
            scripts,
        } = import;
        let mut undo_secrets: Vec<(String, Map<String, Value>)> = Vec::new();
        let mut undo_files: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        let result = async {
            for s in &staged {
                let old = if s.exists {
                    self.stored_secrets(&s.connector).await.unwrap_or_default()
                } else {
                    Map::new()
                };
                undo_secrets.push((s.connector.id.clone(), old));
                if s.exists || !s.secrets.is_empty() {
                    self.keyring()
                        .save_connector_secrets(&s.connector.id, &s.secrets)
                        .await?;
                }
            }
            let dir = self.data_dir().join("scripts").join("custom");
            std::fs::create_dir_all(&dir)
                .map_err(|e| EngineError::io("cannot create the custom script folder", e))?;
            for (name, content, _) in &scripts {
                let p = dir.join(name);
                undo_files.push((p.clone(), std::fs::read(&p).ok()));
                std::fs::write(&p, content)
                    .map_err(|e| EngineError::io(format!("cannot write {}", p.display()), e))?;
            }
            let new_scripts: Vec<&str> = scripts
                .iter()
                .filter(|(_, _, exists)| !exists)
                .map(|(name, _, _)| name.as_str())
                .collect();
            let rows: Vec<ImportedConnector> = staged
                .iter()
                .map(|s| ImportedConnector {
                    connector: &s.connector,
                    exists: s.exists,
                    tasks: s.tasks.iter().map(|(t, exists)| (t, *exists)).collect(),
                })
                .collect();
            self.store().apply_import(&new_scripts, &rows).await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if result.is_err() {
            for (id, old) in &undo_secrets {
                let _ = self.keyring().save_connector_secrets(id, old).await;
            }
            for (p, old) in &undo_files {
                let _ = match old {
                    Some(c) => std::fs::write(p, c),
                    None => std::fs::remove_file(p),
                };
            }
        }
        result
    }
}
