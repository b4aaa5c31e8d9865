//! Writing connectors, tasks, secrets and custom scripts into an encrypted package.

use std::path::Path;

use serde_json::Value;

use crate::api::Engine;
use crate::clock::now;
use crate::error::{EngineError, Result};
use crate::model::Connector;
use crate::package::*;
use crate::secrets::Sensitive;
use std::io::Write;

impl Engine {
    /// Writes the selected connectors (all when `selection` is `None`) with
    /// their tasks, secrets and custom scripts into an encrypted package.
    pub async fn export_package(
        &self,
        out: &Path,
        password: &Sensitive<String>,
        selection: Option<&[String]>,
    ) -> Result<ExportSummary> {
        check_password(password)?;
        let connectors: Vec<Connector> = match selection {
            Some(refs) if !refs.is_empty() => {
                let mut v = Vec::new();
                for r in refs {
                    let c = self.connector_row(r).await?;
                    if !v.iter().any(|x: &Connector| x.id == c.id) {
                        v.push(c);
                    }
                }
                v
            }
            Some(_) => {
                return Err(EngineError::MissingFields {
                    fields: vec!["connectors (choose at least one, or all)".into()],
                })
            }
            None => {
                let mut v = Vec::new();
                for s in self.list_connectors().await? {
                    v.push(self.connector_row(&s.id).await?);
                }
                v
            }
        };
        if connectors.is_empty() {
            return Err(EngineError::invalid(
                "export",
                "there are no connectors to export",
            ));
        }
        let settings = self.settings().await?;
        let scripts = self.scripts().await?;
        let mut items = Vec::new();
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        let mut script_names = Vec::new();
        let mut task_count = 0;
        for (i, c) in connectors.iter().enumerate() {
            let tasks = self.store().connector_tasks(&c.id).await?;
            task_count += tasks.len();
            let file = format!("connectors/{i}.json");
            items.push(ManifestItem {
                kind: ItemKind::Connector,
                name: c.name.clone(),
                file: file.clone(),
                tasks: tasks.iter().map(|t| t.name.clone()).collect(),
            });
            let packaged = PackagedConnector {
                name: c.name.clone(),
                connector_type: c.connector_type.as_str().into(),
                script: c.script.clone(),
                target: c.target.clone(),
                parameters: c.parameters.clone(),
                secret_parameters: c.secret_parameters.clone(),
                tasks: tasks.iter().map(packaged_task).collect(),
            };
            entries.push((file, serde_json::to_vec_pretty(&packaged).unwrap_or_default()));
            let secrets = self.stored_secrets(c).await?;
            if !secrets.is_empty() {
                entries.push((
                    format!("secrets/{i}.json"),
                    Value::Object(secrets).to_string().into_bytes(),
                ));
            }
            if let Some(script) = scripts
                .iter()
                .find(|s| Some(&s.name) == c.script.as_ref() && !s.bundled)
            {
                if !script_names.contains(&script.name) {
                    let content = std::fs::read(&script.path)
                        .map_err(|e| EngineError::io(format!("cannot read script {}", script.path), e))?;
                    let file = format!("scripts/{}", script.name);
                    items.push(ManifestItem {
                        kind: ItemKind::Script,
                        name: script.name.clone(),
                        file: file.clone(),
                        tasks: vec![],
                    });
                    entries.push((file, content));
                    script_names.push(script.name.clone());
                }
            }
        }
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            application_version: env!("CARGO_PKG_VERSION").into(),
            exported_at: now(),
            source_environment_type: settings.environment_type.map(|e| e.as_str().to_string()),
            items,
        };
        entries.insert(
            0,
            (
                "manifest.json".into(),
                serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
            ),
        );

        // Written next to the destination and renamed: a failed export never leaves half a package.
        let tmp = out.with_extension("zip.partial");
        let write = || -> std::result::Result<(), String> {
            let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
            let mut zip = zip::ZipWriter::new(file);
            for (name, content) in &entries {
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .with_aes_encryption(zip::AesMode::Aes256, password.expose());
                zip.start_file(name.as_str(), options)
                    .map_err(|e| e.to_string())?;
                zip.write_all(content).map_err(|e| e.to_string())?;
            }
            let file = zip.finish().map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, out).map_err(|e| e.to_string())
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(EngineError::Input {
                path: out.display().to_string(),
                message: format!("cannot write the package: {e}"),
            });
        }
        Ok(ExportSummary {
            path: out.display().to_string(),
            connectors: connectors.iter().map(|c| c.name.clone()).collect(),
            tasks: task_count,
            scripts: script_names,
            bytes: std::fs::metadata(out).map(|m| m.len()).unwrap_or(0),
        })
    }
}
