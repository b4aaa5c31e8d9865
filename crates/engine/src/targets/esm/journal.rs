//! What an ESM load journals: for each confirmed write, the fields that
//! changed with their values before (read in the lookup before the batch)
//! and after, as text ([`client::card_values`]), secrets masked. The rows go
//! to [`RemoteJournal`] right after each answer (see its module for why).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::client::written_value;
use crate::error::Result;
use crate::secrets::Masker;
use crate::store::remote_journal::{RemoteChange, RemoteJournal};

/// The card a write went to.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    pub template: &'a str,
    pub key_attribute: &'a str,
    pub key: &'a str,
    pub id: i64,
}

/// The journal of the run a target writes for, opened on first need.
#[derive(Debug, Default)]
pub struct Journal {
    run: Option<(String, PathBuf, String)>,
    open: Option<RemoteJournal>,
    masker: Masker,
}

impl Journal {
    /// From now on, writes are journalled as `run_id`'s into `target`'s rows of `cards_file`.
    pub fn start(&mut self, run_id: &str, cards_file: &Path, target: &str) {
        self.run = Some((run_id.to_string(), cards_file.to_path_buf(), target.to_string()));
        self.open = None;
    }

    pub fn mask(&mut self, secrets: &[String]) {
        self.masker = Masker::new(secrets.iter().cloned());
    }

    pub fn on(&self) -> bool {
        self.run.is_some()
    }

    /// Records a confirmed write: `before` the fields' values before (none
    /// for a creation), `written` the card's values as written. Only
    /// changed fields are kept; a write that changed nothing is not journalled.
    pub fn record(
        &mut self,
        card: Written,
        kind: &'static str,
        before: Option<&Map<String, Value>>,
        written: &Map<String, Value>,
        fingerprint: Option<String>,
    ) -> Result<()> {
        if self.run.is_none() {
            return Ok(());
        }
        let mut was = Map::new();
        let mut now = Map::new();
        for (field, value) in written {
            let after = written_value(value);
            let old = before.and_then(|b| b.get(field)).cloned().unwrap_or(Value::Null);
            if before.is_some() && old == after {
                continue;
            }
            was.insert(field.clone(), self.masker.mask_value(old));
            now.insert(field.clone(), self.masker.mask_value(after));
        }
        if now.is_empty() {
            return Ok(());
        }
        let change = RemoteChange {
            template: card.template.to_string(),
            key_attribute: card.key_attribute.to_string(),
            key: card.key.to_string(),
            card_id: card.id,
            kind,
            before: before.is_some().then_some(was),
            after: now,
            fingerprint,
        };
        self.journal()?.record(change);
        Ok(())
    }

    /// Writes what was recorded; unless `wait`, only when the card file is free.
    pub fn flush(&mut self, wait: bool) -> Result<()> {
        match &mut self.open {
            Some(j) => j.flush(wait),
            None => Ok(()),
        }
    }

    fn journal(&mut self) -> Result<&mut RemoteJournal> {
        if self.open.is_none() {
            let Some((run, file, target)) = &self.run else {
                return Err(crate::error::EngineError::Internal(
                    "no run to journal for".into(),
                ));
            };
            self.open = Some(RemoteJournal::open(file, run, target)?);
        }
        Ok(self.open.as_mut().expect("opened above"))
    }
}

/// The values before of the cards a lookup found, by card id.
pub type Before = HashMap<i64, Map<String, Value>>;
