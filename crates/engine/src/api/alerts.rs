//! Alerts raised by failed and interrupted runs.

use super::Engine;
use crate::error::Result;
use crate::model::AlertKind;

impl Engine {
    pub async fn alerts(&self, limit: u32) -> Result<Vec<crate::store::Alert>> {
        let mut alerts = self.store().alerts(limit).await?;
        for alert in alerts.iter_mut() {
            let Some(run_id) = &alert.run_id else { continue };
            alert.help = match alert.status {
                AlertKind::Interrupted => Some(crate::api::runs::help_of(&self.run_dir(run_id))),
                // Held removals wait for approval until a run applied them.
                AlertKind::Held => self
                    .held_waiting(run_id)
                    .map(|_| crate::model::InterruptionHelp::ApplyHeld),
                _ => None,
            };
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
