//! Alerts raised by failed and interrupted runs.

use super::Engine;
use crate::error::Result;

impl Engine {
    pub async fn alerts(&self, limit: u32) -> Result<Vec<crate::store::Alert>> {
        self.store().alerts(limit).await
    }
}
