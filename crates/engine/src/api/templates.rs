//! Targets, their templates and folders.

use super::Engine;
use super::LOCAL_TARGET;
use crate::error::{EngineError, Result};
use crate::model::{Folder, TargetInfo, Template, TemplateInput};
use crate::rules;

impl Engine {
    // ----- targets and templates -------------------------------------------

    pub async fn targets(&self) -> Result<Vec<TargetInfo>> {
        self.store.targets().await
    }

    pub async fn templates(&self, target: Option<&str>) -> Result<Vec<Template>> {
        let target = self.check_target(target).await?;
        self.store.templates(&target).await
    }

    pub async fn folders(&self, target: Option<&str>) -> Result<Vec<Folder>> {
        let target = self.check_target(target).await?;
        self.store.folders(&target).await
    }

    pub async fn template(&self, code: &str, target: Option<&str>) -> Result<Template> {
        let target = self.check_target(target).await?;
        self.template_in(&target, code, "template")
            .await
            .map_err(|_| EngineError::not_found("template", code))
    }

    /// Adds (or redefines) a user template of the local store, with folders that accept it.
    pub async fn add_template(&self, input: TemplateInput) -> Result<Template> {
        let (code, attributes) = rules::template::check_input(&input)?;
        if let Some(existing) = self.store.template(LOCAL_TARGET, &code).await? {
            if existing.built_in {
                return Err(EngineError::invalid(
                    "code",
                    format!("template '{code}' is built in; choose another code"),
                ));
            }
        }
        let template = Template {
            code: code.clone(),
            name: input.name.unwrap_or_default().trim().to_string(),
            attributes,
            built_in: false,
        };
        let existing_folders = self.store.folders(LOCAL_TARGET).await?;
        let mut folders = Vec::new();
        for f in input.folders {
            let mut folder = existing_folders
                .iter()
                .find(|e| e.code == f.code)
                .cloned()
                .unwrap_or(Folder {
                    code: f.code.clone(),
                    name: f.name.clone().unwrap_or_else(|| f.code.clone()),
                    templates: Vec::new(),
                });
            if let Some(n) = f.name {
                folder.name = n;
            }
            if !folder.templates.contains(&code) {
                folder.templates.push(code.clone());
            }
            folders.push(folder);
        }
        self.store
            .save_template(LOCAL_TARGET, &template, &folders)
            .await?;
        let saved = self.template(&code, None).await?;
        self.record_change(
            crate::model::AuditObject::Template,
            &code,
            "add",
            None,
            serde_json::to_value(&saved).ok(),
        )
        .await;
        Ok(saved)
    }
}
