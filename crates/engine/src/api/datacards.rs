//! Datacards in the local card store.

use super::Engine;
use crate::error::Result;

use crate::store::{CardSearch, Datacard};

impl Engine {
    pub async fn datacards(&self, template: &str, folder: Option<&str>, limit: u32) -> Result<Vec<Datacard>> {
        self.template(template, None).await?;
        self.store().datacards(template, folder, limit).await
    }

    /// One page of the Data tab: up to `limit` cards of a template with an
    /// id above `after` (from the first without); with `search`, those it
    /// finds (see [`CardSearch`]), looked for through all of its cards,
    /// however many.
    pub async fn datacards_page(
        &self,
        template: &str,
        folder: Option<&str>,
        search: Option<&str>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Datacard>> {
        let mut page = Vec::new();
        let after = after.unwrap_or(i64::MIN);
        self.each_datacard_after(template, folder, search, after, limit.into(), |card| {
            page.push(card);
            Ok(())
        })
        .await?;
        Ok(page)
    }

    /// Hands up to `limit` cards of a template to `each` (with `search`,
    /// those it finds), a page at a time, so a listing of a million cards
    /// holds one page in memory, not all of them.
    pub async fn each_datacard(
        &self,
        template: &str,
        folder: Option<&str>,
        search: Option<&str>,
        limit: u64,
        each: impl FnMut(Datacard) -> Result<()>,
    ) -> Result<u64> {
        self.each_datacard_after(template, folder, search, i64::MIN, limit, each)
            .await
    }

    async fn each_datacard_after(
        &self,
        template: &str,
        folder: Option<&str>,
        search: Option<&str>,
        mut after: i64,
        limit: u64,
        mut each: impl FnMut(Datacard) -> Result<()>,
    ) -> Result<u64> {
        const PAGE: u32 = 1000;
        self.template(template, None).await?;
        let search = search
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(CardSearch::new);
        let mut handed = 0u64;
        while handed < limit {
            let want = (limit - handed).min(PAGE as u64) as u32;
            let page = match &search {
                None => {
                    self.store()
                        .datacards_after(template, folder, after, want)
                        .await?
                }
                Some(s) => {
                    self.store()
                        .find_datacards_after(template, folder, s, after, want)
                        .await?
                }
            };
            let (read, last) = (page.len(), page.last().map(|c| c.id));
            for card in page {
                each(card)?;
            }
            handed += read as u64;
            match last {
                Some(last) if read == want as usize => after = last,
                _ => break,
            }
        }
        Ok(handed)
    }
}

impl Engine {
    /// Why card `card_id` is as it is: every change the journal holds for
    /// it, newest first (the run, its task, the fields before and after).
    pub async fn datacard_history(&self, card_id: i64) -> Result<Vec<crate::model::CardChange>> {
        let rows = self.store().card_changes(card_id).await?;
        let card = self.store().card_key_and_data(card_id).await?;
        if rows.is_empty() && card.is_none() {
            return Err(crate::error::EngineError::not_found("card", card_id.to_string()));
        }
        // The only row a creation: the card still holds the created record's values.
        let created_as_is = match (rows.as_slice(), &card) {
            ([only], Some((Some(key), data))) if only.kind == "create" => {
                Some(crate::store::bulk::fingerprint(key, data))
            }
            _ => None,
        };
        self.history_of(rows, card.and_then(|(key, _)| key), created_as_is)
            .await
    }

    /// Why card `card_id` of remote target `target` is as it is: the changes
    /// this engine's runs made to it through the API, newest first (changes
    /// made in the solution itself are not known here).
    pub async fn remote_card_history(
        &self,
        target: &str,
        card_id: i64,
    ) -> Result<Vec<crate::model::CardChange>> {
        let (rows, key) = self.store().remote_card_changes(target, card_id).await?;
        if rows.is_empty() {
            return Err(crate::error::EngineError::not_found(
                "card",
                format!("{card_id} (no run of this engine changed it in target '{target}')"),
            ));
        }
        self.history_of(rows, key, None).await
    }

    /// The journal rows of one card as its history: why each change, field by
    /// field, with the source record's fingerprint and file row where known.
    async fn history_of(
        &self,
        rows: Vec<crate::store::CardChangeRow>,
        key: Option<String>,
        created_as_is: Option<String>,
    ) -> Result<Vec<crate::model::CardChange>> {
        use crate::model::{CardChange, FieldChange};
        use serde_json::{Map, Value};
        // Rows that wrote a source record (an undo or held removals write none).
        let wrote_a_record = |kind: &str, run_kind: &str| {
            matches!(kind, "create" | "update") && !matches!(run_kind, "undo" | "held")
        };
        // The file row of each record a run wrote, from the run's row index (read off the runtime's threads).
        let wrote: Vec<(String, std::path::PathBuf)> = rows
            .iter()
            .filter(|r| wrote_a_record(&r.kind, &r.run_kind))
            .map(|r| (r.run_id.clone(), self.run_dir(&r.run_id)))
            .collect();
        let source_rows: std::collections::HashMap<String, crate::model::SourceRow> = match key {
            Some(key) => tokio::task::spawn_blocking(move || {
                wrote
                    .into_iter()
                    .filter_map(|(run, dir)| {
                        crate::run_folder::SourceRows::find(&dir, &key).map(|r| (run, r))
                    })
                    .collect()
            })
            .await
            .unwrap_or_default(),
            None => Default::default(),
        };
        let object = |text: Option<String>| -> Map<String, Value> {
            text.and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default()
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let crate::store::CardChangeRow {
                    run_id,
                    task,
                    kind,
                    at_ms,
                    before,
                    after,
                    run_kind,
                    fingerprint,
                } = row;
                let (before, after) = (object(before), object(after));
                let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
                fields.sort();
                fields.dedup();
                let changes = fields
                    .into_iter()
                    .map(|f| FieldChange {
                        field: f.clone(),
                        from: before.get(f).cloned().unwrap_or(Value::Null),
                        to: after.get(f).cloned().unwrap_or(Value::Null),
                    })
                    .collect();
                let source_row = wrote_a_record(&kind, &run_kind)
                    .then(|| source_rows.get(&run_id).cloned())
                    .flatten();
                let short = run_id.get(..8).unwrap_or(&run_id).to_string();
                let reason = match (run_kind.as_str(), kind.as_str()) {
                    ("undo", "remove") => format!("marked removed by undo run {short}"),
                    ("undo", _) => format!("set back by undo run {short}"),
                    ("held", "remove") => format!(
                        "marked removed by run {short}, which applied removals held over the update limit once approved"
                    ),
                    ("held", _) => format!(
                        "changed by run {short}, which applied changes held over the update limit once approved"
                    ),
                    ("event", "remove") => format!("removed by event task invocation {short}"),
                    ("event", _) => format!("written by event task invocation {short}"),
                    (_, "create") => format!("created by run {short}"),
                    (_, "remove") => format!("missing from full run {short}, so marked removed"),
                    _ => format!("changed by run {short}"),
                };
                CardChange {
                    at: chrono::DateTime::from_timestamp_millis(at_ms)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                        .unwrap_or_default(),
                    task,
                    kind,
                    reason,
                    changes,
                    source_fingerprint: fingerprint.or_else(|| created_as_is.clone()),
                    source_row,
                    run_id,
                }
            })
            .collect())
    }
}
