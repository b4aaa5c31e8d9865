//! Datacards in the local card store.

use super::Engine;
use crate::error::Result;

use crate::store::Datacard;

impl Engine {
    pub async fn datacards(&self, template: &str, folder: Option<&str>, limit: u32) -> Result<Vec<Datacard>> {
        self.template(template, None).await?;
        self.store().datacards(template, folder, limit).await
    }

    /// Hands up to `limit` cards of a template to `each`, a page at a time, so
    /// a listing of a million cards holds one page in memory, not all of them.
    pub async fn each_datacard(
        &self,
        template: &str,
        folder: Option<&str>,
        limit: u64,
        mut each: impl FnMut(&crate::store::Datacard) -> Result<()>,
    ) -> Result<u64> {
        const PAGE: u32 = 1000;
        self.template(template, None).await?;
        let (mut after, mut seen) = (i64::MIN, 0u64);
        while seen < limit {
            let want = (limit - seen).min(PAGE as u64) as u32;
            let page = self
                .store()
                .datacards_after(template, folder, after, want)
                .await?;
            for card in &page {
                each(card)?;
            }
            seen += page.len() as u64;
            match page.last() {
                Some(last) if page.len() == want as usize => after = last.id,
                _ => break,
            }
        }
        Ok(seen)
    }
}
