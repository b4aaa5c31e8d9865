//! Export and import packages (the format itself is in `crate::package`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::Engine;
use crate::clock::{new_id, now};
use crate::error::{EngineError, Result};
use crate::model::{Connector, EnvironmentType, TaskInput, TaskUsage};
use crate::package::*;
use crate::rules;
use crate::secrets::{Sensitive, MASK};
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

    /// Imports a package: validates it completely, then (unless `dry_run`)
    /// applies it at once. Returns the plan, field by field.
    pub async fn import_package(
        &self,
        path: &Path,
        password: &Sensitive<String>,
        dry_run: bool,
    ) -> Result<ImportPlan> {
        let pkg = read_package(path, password)?;
        let settings = self.settings().await?;
        let keep_disabled = settings.environment_type == Some(EnvironmentType::Prod)
            && !settings.enable_imported_tasks_in_prod;

        // ---- read and check everything the package needs ----
        let mut packaged = Vec::new();
        for item in pkg
            .manifest
            .items
            .iter()
            .filter(|i| i.kind == ItemKind::Connector)
        {
            let c: PackagedConnector = json_entry(path, &pkg, &item.file)?;
            let secrets_file = item.file.replace("connectors/", "secrets/");
            let secrets: Map<String, Value> = if pkg.files.contains_key(&secrets_file) {
                json_entry(path, &pkg, &secrets_file)?
            } else {
                Map::new()
            };
            packaged.push((c, secrets));
        }
        check_packaged(&pkg.manifest, &mut packaged)?;
        let packaged_scripts: Vec<&str> = pkg
            .manifest
            .items
            .iter()
            .filter(|i| i.kind == ItemKind::Script)
            .map(|i| i.name.as_str())
            .collect();
        let missing = self.missing_for_import(&packaged, &packaged_scripts).await?;
        if !missing.is_empty() {
            return Err(EngineError::invalid(
                "package",
                format!(
                    "this installation lacks what the package needs; nothing was imported. Missing:\n  - {}",
                    missing.join("\n  - ")
                ),
            ));
        }

        // ---- stage: build every connector and task through the engine's rules ----
        let mut staged = Vec::new();
        let mut plan = Vec::new();
        for (p, secrets) in packaged {
            let existing = self.store().find_connector(&p.name).await?;
            if let Some(other) = existing.as_ref().filter(|c| c.name != p.name) {
                return Err(EngineError::invalid(
                    "package",
                    format!(
                        "connector name '{}' is the id of connector '{}' here; rename it in the source installation; nothing was imported",
                        p.name, other.name
                    ),
                ));
            }
            // Checked by `check_packaged` with the rules `connector create` applies.
            let connector_type = rules::connector::connector_type(&p.connector_type)?;
            let stamp = now();
            let connector = match &existing {
                Some(e) => {
                    if e.connector_type != connector_type {
                        return Err(EngineError::invalid(
                            "package",
                            format!(
                                "connector '{}' is {} here but {} in the package; nothing was imported",
                                p.name,
                                e.connector_type.as_str(),
                                p.connector_type
                            ),
                        ));
                    }
                    Connector {
                        script: p.script.clone(),
                        target: p.target.clone(),
                        parameters: p.parameters.clone(),
                        secret_parameters: p.secret_parameters.clone(),
                        updated_at: stamp.clone(),
                        ..e.clone()
                    }
                }
                None => Connector {
                    id: new_id(),
                    name: p.name.clone(),
                    connector_type,
                    script: p.script.clone(),
                    parameters: p.parameters.clone(),
                    secret_parameters: p.secret_parameters.clone(),
                    target: p.target.clone(),
                    created_at: stamp.clone(),
                    updated_at: stamp.clone(),
                },
            };
            let mut changes = Vec::new();
            if let Some(e) = &existing {
                let view = |c: &Connector| serde_json::json!({"script": c.script, "target": c.target, "parameters": c.parameters});
                diff("", &view(e), &view(&connector), &mut changes);
                let old_secrets = self.stored_secrets(e).await?;
                let pointers: std::collections::BTreeSet<&String> =
                    old_secrets.keys().chain(secrets.keys()).collect();
                for pointer in pointers {
                    let (a, b) = (old_secrets.get(pointer), secrets.get(pointer));
                    if a != b {
                        let shown = |v: Option<&Value>| {
                            if v.is_some() {
                                Value::String(MASK.into())
                            } else {
                                Value::Null
                            }
                        };
                        changes.push(FieldChange {
                            field: format!("secret parameters{pointer}"),
                            from: shown(a),
                            to: if a.is_some() && b.is_some() {
                                Value::String("******** (new value)".into())
                            } else {
                                shown(b)
                            },
                        });
                    }
                }
            }
            let existing_tasks = match &existing {
                Some(e) => self.store().connector_tasks(&e.id).await?,
                None => Vec::new(),
            };
            let mut tasks = Vec::new();
            let mut task_plans = Vec::new();
            for tv in &p.tasks {
                let mut input: TaskInput = serde_json::from_value(tv.clone()).map_err(|e| {
                    package_error(
                        path,
                        format!("a task of connector '{}' is unreadable: {e}", p.name),
                    )
                })?;
                let scheduled = input.usage.unwrap_or_default() == TaskUsage::Scheduled;
                if keep_disabled && scheduled {
                    input.enabled = Some(false);
                }
                let name = input.name.clone().unwrap_or_default();
                let old = existing_tasks.iter().find(|t| t.name == name);
                let task = self.build_task(&connector, input, old).await.map_err(|e| {
                    EngineError::invalid(
                        "package",
                        format!(
                            "task '{}/{name}' cannot be imported: {e}; nothing was imported",
                            p.name
                        ),
                    )
                })?;
                let (action, task_changes) = match old {
                    Some(o) => {
                        let mut ch = Vec::new();
                        diff("", &packaged_task(o), &packaged_task(&task), &mut ch);
                        (
                            if ch.is_empty() {
                                PlanAction::Unchanged
                            } else {
                                PlanAction::Change
                            },
                            ch,
                        )
                    }
                    None => (PlanAction::Create, Vec::new()),
                };
                task_plans.push(TaskPlan {
                    name: name.clone(),
                    action,
                    changes: task_changes,
                    enabled: task.enabled,
                });
                tasks.push((task, old.is_some()));
            }
            plan.push(ConnectorPlan {
                name: p.name.clone(),
                action: if existing.is_some() {
                    PlanAction::Merge
                } else {
                    PlanAction::Create
                },
                changes,
                tasks: task_plans,
            });
            staged.push(Staged {
                connector,
                exists: existing.is_some(),
                secrets,
                tasks,
            });
        }
        let mut scripts = Vec::new();
        let mut script_plans = Vec::new();
        let library = self.scripts().await?;
        for item in pkg.manifest.items.iter().filter(|i| i.kind == ItemKind::Script) {
            let content = pkg
                .files
                .get(&item.file)
                .cloned()
                .ok_or_else(|| package_error(path, format!("lacks '{}'", item.file)))?;
            let current = library.iter().find(|s| s.name == item.name);
            if current.is_some_and(|s| s.bundled) {
                return Err(EngineError::invalid(
                    "package",
                    format!(
                        "script '{}' clashes with a bundled script; nothing was imported",
                        item.name
                    ),
                ));
            }
            let action = match current {
                None => PlanAction::Create,
                Some(s) if std::fs::read(&s.path).ok().as_deref() == Some(&content[..]) => {
                    PlanAction::Unchanged
                }
                Some(_) => PlanAction::Change,
            };
            script_plans.push(ScriptPlan {
                name: item.name.clone(),
                action,
            });
            if action != PlanAction::Unchanged {
                scripts.push((item.name.clone(), content, current.is_some()));
            }
        }
        let mut notes = Vec::new();
        if keep_disabled {
            notes.push("this is a prod environment: imported scheduled tasks stay disabled until someone enables them".into());
        }
        let result = ImportPlan {
            dry_run,
            manifest: pkg.manifest.clone(),
            connectors: plan,
            scripts: script_plans,
            notes,
        };
        if dry_run {
            return Ok(result);
        }
        self.apply_import(staged, scripts).await?;
        Ok(result)
    }

    /// Templates, folders and attributes the packaged tasks need that the
    /// importing installation lacks, each named once with who needs it.
    async fn missing_for_import(
        &self,
        packaged: &[(PackagedConnector, Map<String, Value>)],
        packaged_scripts: &[&str],
    ) -> Result<Vec<String>> {
        let library = self.scripts().await?;
        let mut missing: Vec<String> = Vec::new();
        let mut add = |m: String| {
            if !missing.contains(&m) {
                missing.push(m);
            }
        };
        let targets = self.targets().await?;
        for (c, _) in packaged {
            // The package's scripts are imported first; any other script must be in the library already.
            if let Some(script) = &c.script {
                if !packaged_scripts.contains(&script.as_str()) && !library.iter().any(|s| &s.name == script)
                {
                    add(format!("script '{script}' (connector {})", c.name));
                }
            }
            if !targets.iter().any(|t| t.name == c.target) {
                add(format!("target '{}' (connector {})", c.target, c.name));
                continue;
            }
            let templates = self.store().templates(&c.target).await?;
            let folders = self.store().folders(&c.target).await?;
            for tv in &c.tasks {
                let get = |k: &str| tv.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                let who = format!("{}/{}", c.name, get("name"));
                let mut need = |template: &str, folder: &str, attrs: Vec<(String, String)>| {
                    match templates.iter().find(|t| t.code == template) {
                        None => add(format!("template '{template}' (task {who})")),
                        Some(t) => {
                            for (attr, why) in attrs {
                                if !attr.is_empty() && t.attribute(&attr).is_none() {
                                    add(format!(
                                        "attribute '{attr}' in template '{template}' ({why} of task {who})"
                                    ));
                                }
                            }
                        }
                    }
                    match folders.iter().find(|f| f.code == folder) {
                        None => add(format!("folder '{folder}' (task {who})")),
                        Some(f) if !f.templates.iter().any(|x| x == template) => add(format!(
                            "folder '{folder}' accepting template '{template}' (task {who})"
                        )),
                        _ => {}
                    }
                };
                let mut attrs: Vec<(String, String)> = tv
                    .get("mappings")
                    .and_then(Value::as_array)
                    .map(|m| {
                        m.iter()
                            .filter_map(|x| x.get("target").and_then(Value::as_str))
                            .map(|a| (a.to_string(), "mappings".to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                for k in ["task_id_attribute", "data_source_type_attribute"] {
                    attrs.push((get(k), k.to_string()));
                }
                if let Some(a) = tv.pointer("/removal/status_attribute").and_then(Value::as_str) {
                    attrs.push((a.to_string(), "removal".into()));
                }
                need(&get("target_template"), &get("target_folder"), attrs);
                if let Some(f) = tv.get("failure").filter(|f| f.is_object()) {
                    let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                    need(
                        &s("template"),
                        &s("folder"),
                        vec![(s("attribute"), "failure".into())],
                    );
                }
            }
        }
        Ok(missing)
    }

    /// Applies a staged import: keyring and script files first (with undo
    /// records), then every row in one transaction.
    async fn apply_import(&self, staged: Vec<Staged>, scripts: Vec<(String, Vec<u8>, bool)>) -> Result<()> {
        let mut undo_secrets: Vec<(String, Map<String, Value>)> = Vec::new();
        let mut undo_files: Vec<(PathBuf, Option<Vec<u8>>)> = Vec::new();
        let result = async {
            for s in &staged {
                let old = if s.exists {
                    self.stored_secrets(&s.connector).await.unwrap_or_default()
                } else {
                    Map::new()
                };
                undo_secrets.push((s.connector.id.clone(), old));
                if s.exists || !s.secrets.is_empty() {
                    self.keyring()
                        .save_connector_secrets(&s.connector.id, &s.secrets)
                        .await?;
                }
            }
            let dir = self.data_dir().join("scripts").join("custom");
            std::fs::create_dir_all(&dir)
                .map_err(|e| EngineError::io("cannot create the custom script folder", e))?;
            for (name, content, _) in &scripts {
                let p = dir.join(name);
                undo_files.push((p.clone(), std::fs::read(&p).ok()));
                std::fs::write(&p, content)
                    .map_err(|e| EngineError::io(format!("cannot write {}", p.display()), e))?;
            }
            let mut tx = self.store().pool().begin().await?;
            for (name, _, exists) in &scripts {
                if !exists {
                    // The package does not carry the kind: imported scripts serve both.
                    crate::store::insert_custom_script_on(&mut tx, name, "both").await?;
                }
            }
            for s in &staged {
                if s.exists {
                    crate::store::update_connector_on(&mut tx, &s.connector).await?;
                } else {
                    crate::store::insert_connector_on(&mut tx, &s.connector).await?;
                }
                for (task, exists) in &s.tasks {
                    if *exists {
                        crate::store::update_task_on(&mut tx, task).await?;
                    } else {
                        crate::store::insert_task_on(&mut tx, task).await?;
                    }
                }
            }
            tx.commit().await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if result.is_err() {
            for (id, old) in &undo_secrets {
                let _ = self.keyring().save_connector_secrets(id, old).await;
            }
            for (p, old) in &undo_files {
                let _ = match old {
                    Some(c) => std::fs::write(p, c),
                    None => std::fs::remove_file(p),
                };
            }
        }
        result
    }
}
