//! Connectors: list, show (secrets masked), create, update, copy, remove.

use serde_json::{Map, Value};

use super::Engine;
use super::LOCAL_TARGET;
use crate::clock::{new_id, now};
use crate::error::{EngineError, Remedy, Result};
use crate::model::{
    AuditObject, Connector, ConnectorInput, ConnectorSummary, Task, TaskUsage, WorkflowReference,
};
use crate::secrets::MASK;
use crate::source::kind;
use crate::{rules, secrets};

impl Engine {
    // ----- connectors -----------------------------------------------------

    pub async fn list_connectors(&self) -> Result<Vec<ConnectorSummary>> {
        let (mut connectors, tasks) =
            tokio::try_join!(self.store.list_connectors(), self.store.list_tasks(None))?;
        let mut by_connector: std::collections::HashMap<&str, Vec<&crate::model::TaskSummary>> =
            std::collections::HashMap::new();
        for t in &tasks {
            by_connector.entry(t.connector_id.as_str()).or_default().push(t);
        }
        for c in &mut connectors {
            c.status =
                rules::status::connector_status(by_connector.get(c.id.as_str()).map_or(&[][..], |v| v));
            c.supports_authentication = kind::supports_authentication(c.connector_type);
        }
        Ok(connectors)
    }

    pub(crate) async fn connector_row(&self, reference: &str) -> Result<Connector> {
        self.store
            .find_connector(reference)
            .await?
            .ok_or_else(|| EngineError::not_found("connector", reference))
    }

    /// The connector's own folder in the data directory (HR files, archives).
    pub fn connector_folder(&self, connector_id: &str) -> std::path::PathBuf {
        self.data_dir().join("connectors").join(connector_id)
    }

    /// A connector for display: secret parameters are shown as the mask.
    /// "Test connection" of a saved connector (directory connectors): what
    /// it reaches, as what, and how much its filters match.
    pub async fn test_connector(&self, reference: &str) -> Result<crate::model::DirectoryCheck> {
        let c = self.connector_row(reference).await?;
        kind::test_connection(self, &c).await
    }

    pub async fn connector(&self, reference: &str) -> Result<Connector> {
        let mut c = self.connector_row(reference).await?;
        c.parameters = masked(&c);
        Ok(c)
    }

    /// What the connector's parameter block holds that it will not use, and why.
    pub async fn connector_notes(&self, reference: &str) -> Result<Vec<String>> {
        let c = self.connector(reference).await?;
        Ok(kind::parameter_notes(c.connector_type, &c.parameters, &c.target))
    }

    pub async fn create_connector(&self, input: ConnectorInput) -> Result<Connector> {
        let rules::connector::CheckedConnector {
            name,
            connector_type,
            script,
            parameters: params,
        } = rules::connector::check_input(&input)?;
        kind::check_parameters(connector_type, &params, input.target.as_deref())?;
        self.check_new_connector_name(&name).await?;
        if let Some(script) = &script {
            self.check_connector_script(&name, script, &[]).await?;
        }
        let target = self.check_target(input.target.as_deref()).await?;
        let (clean, secret_values) = secrets::split_secrets(&params, &input.secret_parameters);
        rules::check_secret_values(&secret_values)?;
        let stamp = now();
        let connector = Connector {
            id: new_id(),
            name,
            connector_type,
            script: input.script.filter(|s| !s.trim().is_empty()),
            parameters: clean,
            secret_parameters: secret_values.keys().cloned().collect(),
            target,
            created_at: stamp.clone(),
            updated_at: stamp,
        };
        kind::check_saved(self, &connector, &params).await?;
        // Keyring first: if it is locked nothing reaches the database; if the
        // database then refuses, the keyring entry is taken back.
        if !secret_values.is_empty() {
            self.keyring
                .save_connector_secrets(&connector.id, &secret_values)
                .await?;
        }
        if let Err(e) = self.store.insert_connector(&connector).await {
            if !secret_values.is_empty() {
                let _ = self.keyring.delete_connector_secrets(&connector.id).await;
            }
            return Err(e);
        }
        if kind::keeps_a_folder(connector.connector_type) {
            // Where its parameters' relative paths start (HR files, a CA file): there from the start.
            let _ = std::fs::create_dir_all(self.connector_folder(&connector.id));
        }
        let shown = self.connector(&connector.id).await?;
        self.record_change(
            AuditObject::Connector,
            &shown.name,
            "create",
            None,
            shown_value(&shown),
        )
        .await;
        Ok(shown)
    }

    /// Replaces a connector's script, parameters and target. Name and type are
    /// fixed. A secret given as the mask keeps its stored value.
    pub async fn update_connector(&self, reference: &str, input: ConnectorInput) -> Result<Connector> {
        let mut c = self.connector_row(reference).await?;
        let before = shown_value(&self.connector(&c.id).await?);
        if let Some(name) = input.name.as_deref().map(str::trim) {
            if name != c.name {
                return Err(EngineError::Immutable {
                    field: "name",
                    current: c.name,
                });
            }
        }
        if let Some(t) = input.connector_type.as_deref() {
            if t != c.connector_type.as_str() {
                return Err(EngineError::Immutable {
                    field: "type",
                    current: c.connector_type.as_str().into(),
                });
            }
        }
        if kind::uses_script(c.connector_type) && input.script.as_deref().is_some_and(|s| s.trim().is_empty())
        {
            return Err(EngineError::MissingFields {
                fields: vec!["script".into()],
            });
        }
        if let Some(script) = input.script {
            rules::check_script_name(script.trim())?;
            if kind::uses_script(c.connector_type) && c.script.as_deref() != Some(script.as_str()) {
                let usages: Vec<TaskUsage> = self
                    .store
                    .list_tasks(Some(&c.id))
                    .await?
                    .iter()
                    .map(|t| t.usage)
                    .collect();
                self.check_connector_script(&c.name, &script, &usages).await?;
            }
            c.script = Some(script);
        }
        if input.target.is_some() {
            c.target = self.check_target(input.target.as_deref()).await?;
        }
        let mut secret_values = None;
        if let Some(params) = input.parameters {
            let params = rules::parameters_object(Some(params))?;
            let mut extra = input.secret_parameters.clone();
            extra.extend(c.secret_parameters.iter().cloned());
            let (clean, mut values) = secrets::split_secrets(&params, &extra);
            let old = self.stored_secrets(&c).await?;
            for (pointer, v) in values.iter_mut() {
                if v.as_str() == Some(MASK) {
                    if let Some(previous) = old.get(pointer) {
                        *v = previous.clone();
                    }
                }
            }
            rules::check_secret_values(&values)?;
            kind::check_parameters(
                c.connector_type,
                &secrets::merge_at_pointers(&clean, values.clone()),
                Some(&c.target),
            )?;
            c.parameters = clean;
            c.secret_parameters = values.keys().cloned().collect();
            secret_values = Some((old, values));
        }
        let merged = match &secret_values {
            Some((_, values)) => secrets::merge_at_pointers(&c.parameters, values.clone()),
            None => self.resolved_parameters(&c.id).await?.expose().clone(),
        };
        kind::check_saved(self, &c, &merged).await?;
        c.updated_at = now();
        if let Some((old, values)) = &secret_values {
            if !(old.is_empty() && values.is_empty()) {
                self.keyring.save_connector_secrets(&c.id, values).await?;
            }
        }
        if let Err(e) = self.store.update_connector(&c).await {
            if let Some((old, _)) = &secret_values {
                let _ = self.keyring.save_connector_secrets(&c.id, old).await;
            }
            return Err(e);
        }
        let shown = self.connector(&c.id).await?;
        let mut changes = Vec::new();
        crate::package::diff(
            "",
            before.as_ref().unwrap_or(&Value::Null),
            shown_value(&shown).as_ref().unwrap_or(&Value::Null),
            &mut changes,
        );
        // A secret shows as the mask before and after: say that it changed, never what it is.
        if let Some((old, values)) = &secret_values {
            for (pointer, v) in values {
                if old.get(pointer) != Some(v) {
                    changes.push(crate::model::FieldChange {
                        field: format!("parameters{pointer}"),
                        from: Value::String(MASK.into()),
                        to: Value::String(format!("{MASK} (changed)")),
                    });
                }
            }
        }
        self.record(AuditObject::Connector, &shown.name, "update", changes)
            .await;
        Ok(shown)
    }

    /// A new connector's name is free: no connector has it as its name, nor
    /// as its id (a connector is named by either, and the id would win).
    pub(crate) async fn check_new_connector_name(&self, name: &str) -> Result<()> {
        if self.store.connector_name_taken(name).await? {
            return Err(EngineError::AlreadyExists {
                kind: "connector",
                name: name.into(),
            });
        }
        if let Some(other) = self.store.find_connector(name).await? {
            return Err(EngineError::invalid(
                "name",
                format!(
                    "'{name}' is the id of connector '{}'; choose another name",
                    other.name
                ),
            ));
        }
        Ok(())
    }

    /// The keyring entry of a connector; no keyring call for one without secrets.
    pub(crate) async fn stored_secrets(&self, c: &Connector) -> Result<Map<String, Value>> {
        if c.secret_parameters.is_empty() {
            return Ok(Map::new());
        }
        let values = self.keyring.connector_secrets(&c.id).await?.into_inner();
        // Whatever logs later in this process masks them.
        crate::logging::remember_secrets(values.values());
        Ok(values)
    }

    /// Parameters with secrets resolved from the keyring, for a run. Never display this.
    pub async fn resolved_parameters(&self, reference: &str) -> Result<secrets::Sensitive<Value>> {
        let c = self.connector_row(reference).await?;
        let values = self.stored_secrets(&c).await?;
        Ok(secrets::Sensitive::new(secrets::merge_at_pointers(
            &c.parameters,
            values,
        )))
    }

    /// Copies a connector with its tasks and its secrets under a new unique name.
    pub async fn copy_connector(&self, reference: &str, new_name: Option<&str>) -> Result<Connector> {
        let source = self.connector_row(reference).await?;
        let name = match new_name.map(str::trim) {
            Some(n) => {
                rules::check_name("connector", n)?;
                self.check_new_connector_name(n).await?;
                n.to_string()
            }
            None => {
                let existing: Vec<String> = self
                    .store
                    .list_connectors()
                    .await?
                    .into_iter()
                    .map(|c| c.name)
                    .collect();
                rules::copy_name(&source.name, |n| existing.iter().any(|e| e == n))
            }
        };
        let stamp = now();
        let copy = Connector {
            id: new_id(),
            name,
            created_at: stamp.clone(),
            updated_at: stamp.clone(),
            ..source.clone()
        };
        let values = self.stored_secrets(&source).await?;
        if !values.is_empty() {
            self.keyring.save_connector_secrets(&copy.id, &values).await?;
        }
        let result = async {
            self.store.insert_connector(&copy).await?;
            for task in self.store.connector_tasks(&source.id).await? {
                let t = Task {
                    id: new_id(),
                    connector_id: copy.id.clone(),
                    connector_name: copy.name.clone(),
                    references: Vec::new(),
                    created_at: stamp.clone(),
                    updated_at: stamp.clone(),
                    ..task
                };
                self.store.insert_task(&t).await?;
            }
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = result {
            let _ = self.store.delete_connector(&copy.id).await;
            let _ = self.keyring.delete_connector_secrets(&copy.id).await;
            return Err(e);
        }
        let shown = self.connector(&copy.id).await?;
        self.record_change(
            AuditObject::Connector,
            &shown.name,
            "copy",
            None,
            copied(shown_value(&shown), &source.name),
        )
        .await;
        Ok(shown)
    }

    /// Removes a connector with its tasks and secrets. Refused when one of
    /// its event tasks is referenced by a workflow, unless `force`.
    pub async fn remove_connector(&self, reference: &str, force: bool) -> Result<Connector> {
        let c = self.connector(reference).await?;
        let in_use: Vec<String> = self
            .store
            .connector_tasks(&c.id)
            .await?
            .into_iter()
            .filter(|t| !t.references.is_empty())
            .map(|t| format!("{} (used by {})", t.name, callers(&t.references)))
            .collect();
        if !in_use.is_empty() && !force {
            return Err(EngineError::InUse {
                message: format!(
                    "connector '{}' has event tasks in use by workflows: {}; removing it anyway breaks those callers",
                    c.name,
                    in_use.join("; ")
                ),
            }
            .with_remedy(Remedy::Force));
        }
        if !c.secret_parameters.is_empty() {
            self.keyring.delete_connector_secrets(&c.id).await?;
        }
        self.store.delete_connector(&c.id).await?;
        self.record_change(AuditObject::Connector, &c.name, "remove", shown_value(&c), None)
            .await;
        Ok(c)
    }

    /// A `python_script` connector's script must be in the library, of a kind
    /// that serves every one of its tasks (`usages`).
    pub(crate) async fn check_connector_script(
        &self,
        connector: &str,
        script: &str,
        usages: &[TaskUsage],
    ) -> Result<()> {
        let found = self.script_library().find(self.store(), script).await.map_err(|_| {
            EngineError::invalid(
                "script",
                format!("connector '{connector}' names script '{script}', which is not in the script library; add the script first"),
            )
            .with_remedy(Remedy::AddScript { name: script.to_string() })
        })?;
        for usage in usages {
            let fits = match usage {
                TaskUsage::Scheduled => found.kind.allows_scheduled(),
                TaskUsage::Event => found.kind.allows_event(),
                // Scripts have no authentication tasks (only directory connectors do).
                TaskUsage::Authentication => false,
            };
            if !fits {
                return Err(EngineError::invalid(
                    "script",
                    format!(
                        "script '{script}' is for {} tasks only, and connector '{connector}' has {} tasks",
                        found.kind.as_str(),
                        usage.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) async fn check_target(&self, target: Option<&str>) -> Result<String> {
        let name = target
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(LOCAL_TARGET);
        let targets = self.store.targets().await?;
        if targets.iter().any(|t| t.name == name) {
            Ok(name.to_string())
        } else {
            Err(EngineError::invalid(
                "target",
                format!(
                    "target '{name}' does not exist (known: {})",
                    targets
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }
}

pub(crate) fn callers(refs: &[WorkflowReference]) -> String {
    refs.iter()
        .map(|r| r.caller.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn masked(c: &Connector) -> Value {
    secrets::merge_at_pointers(
        &c.parameters,
        c.secret_parameters
            .iter()
            .map(|p| (p.clone(), Value::String(MASK.into()))),
    )
}

/// An object's shown form (secrets already masked) for the audit.
pub(crate) fn shown_value<T: serde::Serialize>(shown: &T) -> Option<Value> {
    serde_json::to_value(shown).ok()
}

/// A copy's shown form, naming what it was copied from.
pub(crate) fn copied(shown: Option<Value>, from: &str) -> Option<Value> {
    shown.map(|mut v| {
        if let Value::Object(m) = &mut v {
            m.insert("copied_from".into(), Value::String(from.into()));
        }
        v
    })
}
