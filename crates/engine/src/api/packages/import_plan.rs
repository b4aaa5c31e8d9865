//! Planning an import: the package read and checked, everything built, nothing changed.

use std::path::Path;

use serde_json::{Map, Value};

use super::StagedImport;
use crate::api::Engine;
use crate::clock::{new_id, now};
use crate::error::{EngineError, Result};
use crate::model::{Connector, EnvironmentType, TaskInput};
use crate::package::*;
use crate::rules;
use crate::secrets::{Sensitive, MASK};

impl Engine {
    /// Reads and checks a package completely and builds every connector and
    /// task through the engine's rules, changing nothing: the plan, field by
    /// field, and what applying it writes.
    pub(super) async fn plan_import(
        &self,
        path: &Path,
        password: &Sensitive<String>,
        dry_run: bool,
    ) -> Result<(ImportPlan, StagedImport)> {
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
                let scheduled = input.usage.unwrap_or_default().runs_on_schedule();
                if keep_disabled && scheduled {
                    input.enabled = Some(false);
                }
                let name = input.name.clone().unwrap_or_default();
                let old = existing_tasks.iter().find(|t| t.name == name);
                // A package never carries a realm: an authentication task keeps the
                // realm set here before, or arrives disabled without one.
                if let Some(a) = input.authentication.as_mut() {
                    a.realm = old
                        .and_then(|o| o.authentication.as_ref())
                        .map(|o| o.realm.clone())
                        .unwrap_or_default();
                    if a.realm.is_empty() {
                        input.enabled = Some(false);
                    }
                }
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
        Ok((
            result,
            StagedImport {
                connectors: staged,
                scripts,
            },
        ))
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
}
