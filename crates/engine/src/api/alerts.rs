//! Alerts raised by failed and interrupted runs.

use super::Engine;
use crate::error::Result;

impl Engine {
    pub async fn alerts(&self, limit: u32) -> Result<Vec<crate::store::Alert>> {
        let mut alerts = self.store().alerts(limit).await?;
        for alert in alerts.iter_mut().filter(|a| a.status == "interrupted") {
            if let Some(run_id) = &alert.run_id {
                alert.help = Some(crate::api::runs::help_of(&self.run_dir(run_id)));
            }
        }
        Ok(alerts)
    }

    /// Marks an alert as seen (the window's Acknowledge, `alerts ack ID`).
    pub async fn acknowledge_alert(&self, id: i64) -> Result<()> {
        if self.store().acknowledge_alert(id).await? {
            Ok(())
        } else {
            Err(crate::error::EngineError::not_found("alert", id.to_string()))
        }
    }
}
