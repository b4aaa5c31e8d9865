//! Applying an imported package's rows: every connector, task and new
//! custom script in one transaction, so an import lands whole or not at all.

use super::{connectors, scripts, tasks, Result, Store};
use crate::model::{Connector, Task};

/// One connector of an import, with its tasks; `exists` says whether each
/// is already here (updated) or new (inserted).
#[derive(Debug)]
pub struct ImportedConnector<'a> {
    pub connector: &'a Connector,
    pub exists: bool,
    pub tasks: Vec<(&'a Task, bool)>,
}

impl Store {
    /// Writes an import's rows in one transaction. New custom scripts are
    /// recorded for both task kinds: a package does not carry the kind.
    pub async fn apply_import(
        &self,
        new_scripts: &[&str],
        connectors: &[ImportedConnector<'_>],
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for name in new_scripts {
            scripts::insert_custom_script_on(&mut tx, name, "both").await?;
        }
        for c in connectors {
            if c.exists {
                connectors::update_connector_on(&mut tx, c.connector).await?;
            } else {
                connectors::insert_connector_on(&mut tx, c.connector).await?;
            }
            for (task, exists) in &c.tasks {
                if *exists {
                    tasks::update_task_on(&mut tx, task).await?;
                } else {
                    tasks::insert_task_on(&mut tx, task).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
