//! The audit of configuration changes: every change to connectors, tasks,
//! scripts, settings, targets, API tokens and templates, and every import,
//! recorded after it is saved with who (the OS user), where (the surface of
//! this engine handle) and what, field by field. Callers hand in the
//! object's shown form, in which secrets are already masked; a second mask
//! here covers any field whose name says it is a secret.

use serde_json::{Map, Value};

use super::Engine;
use crate::clock::now;
use crate::error::Result;
use crate::model::{AuditEntry, AuditObject, FieldChange, Surface};

/// Field names whose values are never recorded, wherever they appear.
const SECRET_WORDS: [&str; 5] = ["password", "secret", "token", "private_key", "passphrase"];

impl Engine {
    /// This engine handle, its configuration changes recorded as made from `surface`.
    pub fn with_surface(mut self, surface: Surface) -> Engine {
        self.surface = surface;
        self
    }

    /// Recorded changes, newest first: since `since` (a date or time,
    /// RFC 3339 or a prefix of it), whose object, name, action or changes
    /// mention `text` (any case).
    pub async fn audit(
        &self,
        since: Option<&str>,
        text: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let entries = self.store.audit(since, limit.max(1)).await?;
        let Some(text) = text.map(str::to_lowercase).filter(|t| !t.trim().is_empty()) else {
            return Ok(entries);
        };
        Ok(entries
            .into_iter()
            .filter(|e| {
                serde_json::to_string(e)
                    .map(|s| s.to_lowercase().contains(&text))
                    .unwrap_or(false)
            })
            .collect())
    }

    /// Records a change of `name`: its shown form before and after (`None`:
    /// did not exist / no longer exists). A failure to record is logged:
    /// the change itself is saved already.
    pub(crate) async fn record_change(
        &self,
        object: AuditObject,
        name: &str,
        action: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) {
        let mut changes = Vec::new();
        let empty = Value::Object(Map::new());
        crate::package::diff(
            "",
            &masked(before.unwrap_or_else(|| empty.clone())),
            &masked(after.unwrap_or(empty)),
            &mut changes,
        );
        self.record(object, name, action, changes).await;
    }

    /// Records a change whose field-by-field story is told by `changes`.
    pub(crate) async fn record(
        &self,
        object: AuditObject,
        name: &str,
        action: &str,
        changes: Vec<FieldChange>,
    ) {
        let entry = AuditEntry {
            id: 0,
            at: now(),
            os_user: crate::platform::os_user(),
            surface: self.surface,
            object,
            name: name.to_string(),
            action: action.to_string(),
            changes,
        };
        if let Err(e) = self.store.insert_audit(&entry).await {
            tracing::error!(error = %e, object = %object, name, action, "a configuration change was saved but could not be audited");
        }
    }
}

/// `value` with every field named like a secret replaced by the mask.
fn masked(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let lower = k.to_lowercase();
                    // `secret_parameters` lists where secrets are, not what they are.
                    if k != "secret_parameters"
                        && SECRET_WORDS.iter().any(|w| lower.contains(w))
                        && !v.is_null()
                    {
                        (k, Value::String(crate::secrets::MASK.into()))
                    } else {
                        (k, masked(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(masked).collect()),
        other => other,
    }
}
