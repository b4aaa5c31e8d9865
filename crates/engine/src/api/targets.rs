//! Targets: the built-in local store and remote ESM solutions (`target add |
//! list | test | remove`). A remote target's password lives in the OS
//! keyring; its template list is read from its API when it is added or
//! tested, and kept for the task editor and import validation.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::model::{TargetCheck, TargetInfo, TargetInput, TargetKind, LOCAL_TARGET};
use crate::rules;
use crate::secrets::Sensitive;
use crate::targets::esm::client::EsmClient;
use crate::targets::esm::EsmTarget;
use crate::targets::{LoadTarget, OpenTarget};

impl Engine {
    /// Opens the named target for a load (or a report card).
    pub(crate) async fn target_for(&self, name: &str) -> Result<OpenTarget> {
        let cards_file = self.data_dir().join(crate::store::cards::CARDS_FILE);
        if name == LOCAL_TARGET {
            return Ok(OpenTarget::local(cards_file));
        }
        let (target, password) = self.remote_target(name).await?;
        let password = std::sync::Arc::new(password);
        Ok(OpenTarget::new(name, move || {
            let password = Sensitive::new(password.expose().clone());
            Ok(Box::new(EsmTarget::open(&target, password, &cards_file)?) as Box<dyn LoadTarget + Send>)
        }))
    }

    /// Whether loads into the named target can be undone (only the local store's).
    pub(crate) fn target_rolls_back(name: &str) -> bool {
        name == LOCAL_TARGET
    }

    /// A remote target and its password from the keyring.
    async fn remote_target(&self, name: &str) -> Result<(TargetInfo, Sensitive<String>)> {
        let target = self
            .store
            .targets()
            .await?
            .into_iter()
            .find(|t| t.name == name && t.kind == TargetKind::Esm)
            .ok_or_else(|| EngineError::not_found("target", name))?;
        let password = self.keyring.target_password(name).await?.ok_or_else(|| {
            EngineError::Keyring(format!(
                "target '{name}' has no password in the keyring; add the target again with its password"
            ))
        })?;
        Ok((target, password))
    }

    /// Logs in, reads the template list and keeps it; returns what was found.
    async fn read_templates(&self, target: TargetInfo, password: Sensitive<String>) -> Result<TargetCheck> {
        let name = target.name.clone();
        let (target, templates, folders) = tokio::task::spawn_blocking(move || {
            let mut client = EsmClient::new(&target, password)?;
            client.login()?;
            let (templates, folders) = client.templates()?;
            Ok::<_, EngineError>((target, templates, folders))
        })
        .await
        .map_err(|e| EngineError::Internal(format!("talking to target '{name}': {e}")))??;
        self.store.save_target(&target, &templates, &folders).await?;
        Ok(TargetCheck {
            name: target.name,
            templates: templates.len(),
            folders: folders.len(),
        })
    }

    /// `target add --file TARGET.json`: checks the fields, logs in and reads
    /// the template list; only then is anything saved (the password into the keyring).
    pub async fn add_target(&self, input: TargetInput) -> Result<TargetCheck> {
        let (target, password) = rules::target::check_input(input)?;
        if self.store.targets().await?.iter().any(|t| t.name == target.name) {
            return Err(EngineError::AlreadyExists {
                kind: "target",
                name: target.name,
            });
        }
        crate::logging::remember_secrets([&serde_json::Value::String(password.expose().clone())]);
        let keep = Sensitive::new(password.expose().clone());
        let name = target.name.clone();
        let check = self.read_templates(target, password).await?;
        if let Err(e) = self.keyring.save_target_password(&name, keep).await {
            // Without its password the target is of no use: take it back.
            let _ = self.store.delete_target(&name).await;
            return Err(e);
        }
        let shown = self.store.targets().await?.into_iter().find(|t| t.name == name);
        self.record_change(
            crate::model::AuditObject::Target,
            &name,
            "add",
            None,
            shown.and_then(|t| serde_json::to_value(t).ok()),
        )
        .await;
        Ok(check)
    }

    /// An HR block's `webapi_*` name the solution the connector writes to, so
    /// they must be its ESM target's address, user and password: a block that
    /// says one solution while the run writes to another is refused (at save
    /// and before a run fetches anything), never silently overruled.
    pub(crate) async fn check_webapi(&self, target: &str, params: &serde_json::Value) -> Result<()> {
        if !crate::rules::connector::writes_remotely(Some(target)) {
            return Ok(());
        }
        let (info, password) = self.remote_target(target).await?;
        let differ = crate::rules::target::webapi_differences(params, &info, password.expose());
        if differ.is_empty() {
            return Ok(());
        }
        Err(EngineError::invalid(
            "parameters",
            format!(
                "the connector writes to target '{target}', but {}. Make webapi_url, webapi_user and \
                 webapi_password the target's, or point the connector at the target they describe \
                 (`provisio target add --from-connector CONNECTOR --name NAME` makes one)",
                differ.join("; ")
            ),
        ))
    }

    /// Turns an `hr_file` connector's `webapi_url` / `webapi_user` /
    /// `webapi_password` into the target `name`, and points the connector at it.
    pub async fn add_target_from_connector(&self, connector: &str, name: &str) -> Result<TargetCheck> {
        let c = self.connector_row(connector).await?;
        let params = self.resolved_parameters(&c.id).await?;
        let text = |key: &str| crate::source::hr::parameters::param_text(params.expose(), key);
        let missing: Vec<String> = ["webapi_url", "webapi_user", "webapi_password"]
            .into_iter()
            .filter(|k| text(k).is_none())
            .map(|k| format!("{k} (in connector '{}')", c.name))
            .collect();
        if !missing.is_empty() {
            return Err(EngineError::MissingFields { fields: missing });
        }
        let check = self
            .add_target(TargetInput {
                name: Some(name.to_string()),
                kind: Some(TargetKind::Esm.as_str().to_string()),
                base_url: text("webapi_url"),
                user: text("webapi_user"),
                password: text("webapi_password"),
                ..Default::default()
            })
            .await?;
        self.update_connector(
            &c.id,
            crate::model::ConnectorInput {
                target: Some(name.to_string()),
                ..Default::default()
            },
        )
        .await?;
        Ok(check)
    }

    /// `target test NAME`: logs in and reads the template list again (kept as the target's list).
    pub async fn test_target(&self, name: &str) -> Result<TargetCheck> {
        if name == LOCAL_TARGET {
            let templates = self.store.templates(LOCAL_TARGET).await?.len();
            let folders = self.store.folders(LOCAL_TARGET).await?.len();
            return Ok(TargetCheck {
                name: name.into(),
                templates,
                folders,
            });
        }
        let (target, password) = self.remote_target(name).await?;
        self.read_templates(target, password).await
    }

    /// `target remove NAME`: refused while a connector writes to it (naming them).
    pub async fn remove_target(&self, name: &str) -> Result<TargetInfo> {
        if name == LOCAL_TARGET {
            return Err(EngineError::invalid(
                "target",
                "the local datacard store is built in and cannot be removed",
            ));
        }
        let target = self
            .store
            .targets()
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| EngineError::not_found("target", name))?;
        let users: Vec<String> = self
            .store
            .list_connectors()
            .await?
            .into_iter()
            .filter(|c| c.target == name)
            .map(|c| c.name)
            .collect();
        if !users.is_empty() {
            return Err(EngineError::InUse {
                message: format!(
                    "target '{name}' is used by the connectors {}; point them at another target first",
                    users.join(", ")
                ),
            });
        }
        self.store.delete_target(name).await?;
        self.keyring.delete_target_password(name).await?;
        self.record_change(
            crate::model::AuditObject::Target,
            name,
            "remove",
            serde_json::to_value(&target).ok(),
            None,
        )
        .await;
        Ok(target)
    }
}
