//! Tasks: list, show, create, update, copy, remove, and the checks a task must pass against its target.

use super::connectors::callers;
use super::Engine;
use super::{TaskUpdate, DEFAULT_HEARTBEAT_TIMEOUT};
use crate::clock::{new_id, now};
use crate::error::{EngineError, Remedy, Result};
use crate::model::{
    AuditObject, Connector, EventUsage, Folder, Limits, Task, TaskInput, TaskSummary, TaskUsage, Template,
    WorkflowReference,
};
use crate::rules;
use crate::source::kind;

impl Engine {
    // ----- tasks ----------------------------------------------------------

    pub async fn list_tasks(&self, connector: Option<&str>) -> Result<Vec<TaskSummary>> {
        let id = match connector {
            Some(c) => Some(self.connector_row(c).await?.id),
            None => None,
        };
        let now = chrono::Utc::now();
        let mut tasks = self.store.list_tasks(id.as_deref()).await?;
        for t in &mut tasks {
            if t.enabled {
                t.next_run = next_run(t.schedule.as_deref(), &t.timezone, now);
            }
        }
        Ok(tasks)
    }

    pub async fn task(&self, reference: &str) -> Result<Task> {
        let mut task = self
            .store
            .find_task(reference)
            .await?
            .ok_or_else(|| EngineError::not_found("task", reference))?;
        if task.enabled {
            task.next_run = next_run(task.schedule.as_deref(), &task.timezone, chrono::Utc::now());
        }
        Ok(task)
    }

    pub async fn create_task(&self, connector: &str, input: TaskInput) -> Result<Task> {
        let c = self.connector_row(connector).await?;
        let task = self.build_task(&c, input, None).await?;
        self.check_task_script(&c, &task).await?;
        if self.store.task_name_taken(&c.id, &task.name).await? {
            return Err(EngineError::AlreadyExists {
                kind: "task",
                name: format!("{}/{}", c.name, task.name),
            });
        }
        self.store.insert_task(&task).await?;
        let saved = self.task(&task.id).await?;
        self.record_change(
            AuditObject::Task,
            &task_name(&saved),
            "create",
            None,
            audit_view(&saved),
        )
        .await;
        Ok(saved)
    }

    /// A task of a `python_script` connector needs the connector's script in
    /// the library, of a kind that serves the task's usage.
    async fn check_task_script(&self, c: &crate::model::Connector, task: &Task) -> Result<()> {
        match &c.script {
            Some(script) if kind::uses_script(c.connector_type) => {
                self.check_connector_script(&c.name, script, &[task.usage]).await
            }
            _ => Ok(()),
        }
    }

    pub async fn update_task(&self, reference: &str, input: TaskInput) -> Result<TaskUpdate> {
        let existing = self.task(reference).await?;
        if let Some(name) = input.name.as_deref().map(str::trim) {
            if name != existing.name {
                return Err(EngineError::Immutable {
                    field: "name",
                    current: existing.name,
                });
            }
        }
        let c = self.connector_row(&existing.connector_id).await?;
        let mut input = input;
        input.name = Some(existing.name.clone());
        let task = self.build_task(&c, input, Some(&existing)).await?;
        self.check_task_script(&c, &task).await?;
        let mut warnings = change_warnings(&existing, &task);
        warnings.extend(kind::task_warnings(&c, &task));
        self.store.update_task(&task).await?;
        let saved = self.task(&task.id).await?;
        self.record_change(
            AuditObject::Task,
            &task_name(&saved),
            "update",
            audit_view(&existing),
            audit_view(&saved),
        )
        .await;
        Ok(TaskUpdate {
            task: saved,
            warnings,
        })
    }

    /// The run type and limits an HR connector's tasks run with, from its
    /// parameter block (the task editor shows them, read-only, with that
    /// source); `None` for other connectors, whose tasks carry their own.
    pub async fn connector_task_settings(&self, connector: &str) -> Result<Option<ConnectorTaskSettings>> {
        let c = self.connector_row(connector).await?;
        Ok(kind::task_settings(&c))
    }

    /// What saving `input` over the task would break, said before it is
    /// saved (the window asks first; the CLI says it after the update).
    pub async fn task_change_warnings(&self, reference: &str, input: &TaskInput) -> Result<Vec<String>> {
        let existing = self.task(reference).await?;
        let c = self.connector_row(&existing.connector_id).await?;
        let mut input = input.clone();
        input.name = Some(existing.name.clone());
        let task = self.build_task(&c, input, Some(&existing)).await?;
        Ok(change_warnings(&existing, &task))
    }

    pub async fn copy_task(&self, reference: &str, new_name: Option<&str>) -> Result<Task> {
        let source = self.task(reference).await?;
        let copied_from = task_name(&source);
        let existing: Vec<String> = self
            .store
            .connector_tasks(&source.connector_id)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let name = match new_name.map(str::trim) {
            Some(n) => {
                rules::check_name("task", n)?;
                if existing.iter().any(|e| e == n) {
                    return Err(EngineError::AlreadyExists {
                        kind: "task",
                        name: format!("{}/{n}", source.connector_name),
                    });
                }
                n.to_string()
            }
            None => rules::copy_name(&source.name, |n| existing.iter().any(|e| e == n)),
        };
        let stamp = now();
        let copy = Task {
            id: new_id(),
            name,
            references: Vec::new(),
            created_at: stamp.clone(),
            updated_at: stamp,
            ..source
        };
        self.store.insert_task(&copy).await?;
        let saved = self.task(&copy.id).await?;
        self.record_change(
            AuditObject::Task,
            &task_name(&saved),
            "copy",
            None,
            super::connectors::copied(audit_view(&saved), &copied_from),
        )
        .await;
        Ok(saved)
    }

    /// Removes a task. A task referenced by workflows is refused unless `force`.
    pub async fn remove_task(&self, reference: &str, force: bool) -> Result<Task> {
        let task = self.task(reference).await?;
        if !task.references.is_empty() && !force {
            return Err(EngineError::InUse {
                message: format!(
                    "task '{}/{}' is in use by workflows: {}; removing it anyway breaks those callers",
                    task.connector_name,
                    task.name,
                    callers(&task.references)
                ),
            }
            .with_remedy(Remedy::Force));
        }
        self.store.delete_task(&task.id).await?;
        self.record_change(
            AuditObject::Task,
            &task_name(&task),
            "remove",
            audit_view(&task),
            None,
        )
        .await;
        Ok(task)
    }

    /// Records that `caller` invoked an event task (a workflow reference).
    pub async fn record_caller(&self, task_id: &str, caller: &str) -> Result<()> {
        self.store.record_reference_use(task_id, caller, &now()).await
    }

    /// Validates a task input against its connector's target and builds the task.
    pub(crate) async fn build_task(
        &self,
        c: &Connector,
        input: TaskInput,
        existing: Option<&Task>,
    ) -> Result<Task> {
        rules::task::check_input(&input)?;
        let usage = input.usage.unwrap_or_default();
        let name = input.name.clone().unwrap_or_default().trim().to_string();
        let scheduled = usage.runs_on_schedule();
        let timezone = input
            .timezone
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "UTC".into());
        let template_code = input.target_template.clone().unwrap_or_default();
        let template = self
            .template_in(&c.target, &template_code, "target_template")
            .await?;
        let folder_code = input.target_folder.clone().unwrap_or_default();
        let folder = self.folder_in(&c.target, &folder_code, "target_folder").await?;
        let failure = match &input.failure {
            Some(f) => Some((
                self.template_in(&c.target, &f.template, "failure.template")
                    .await?,
                self.folder_in(&c.target, &f.folder, "failure.folder").await?,
            )),
            None => None,
        };
        rules::task::check_against_target(&input, &template, &folder, failure.as_ref().map(|(t, f)| (t, f)))?;
        rules::task::check_limits(&input)?;
        kind::check_task(c, &input, scheduled)?;
        let mappings = input.mappings.clone().unwrap_or_default();
        let limits = input.limits.clone().unwrap_or_default();
        let stamp = now();
        let references: Vec<WorkflowReference> = input
            .declared_callers
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|caller| WorkflowReference {
                caller: caller.trim().to_string(),
                first_used: None,
                last_used: None,
                count: 0,
                declared: true,
            })
            .collect();
        Ok(Task {
            id: existing.map(|e| e.id.clone()).unwrap_or_else(new_id),
            connector_id: c.id.clone(),
            connector_name: c.name.clone(),
            name,
            usage,
            event_usage: if scheduled {
                EventUsage::default()
            } else {
                input.event_usage.unwrap_or_default()
            },
            enabled: input.enabled.unwrap_or(scheduled),
            schedule: if scheduled { input.schedule.clone() } else { None },
            timezone,
            run_type: input.run_type.unwrap_or_default(),
            mappings_type: input.mappings_type.unwrap_or_default(),
            object_id_attribute: input.object_id_attribute.clone().filter(|_| scheduled),
            target_template: template.code,
            target_folder: folder.code,
            task_id_attribute: input.task_id_attribute.clone().filter(|a| !a.is_empty()),
            data_source_type_attribute: input.data_source_type_attribute.clone().filter(|a| !a.is_empty()),
            mappings,
            failure: input.failure.clone(),
            removal: input.removal.clone().filter(|_| scheduled),
            limits: Limits { ..limits },
            heartbeat_timeout: input.heartbeat_timeout.unwrap_or(DEFAULT_HEARTBEAT_TIMEOUT),
            max_runtime: input.max_runtime,
            directory_objects: input.directory_objects,
            directory_operation: input.directory_operation.filter(|_| !scheduled),
            authentication: input
                .authentication
                .clone()
                .filter(|_| usage == TaskUsage::Authentication),
            stale_after: input
                .stale_after
                .clone()
                .map(|s| s.trim().to_string())
                .filter(|s| scheduled && !s.is_empty()),
            display_fields: rules::task::display_fields(&input).map(str::to_string).collect(),
            references,
            created_at: existing
                .map(|e| e.created_at.clone())
                .unwrap_or_else(|| stamp.clone()),
            updated_at: stamp,
            next_run: None,
        })
    }

    pub(crate) async fn template_in(&self, target: &str, code: &str, field: &str) -> Result<Template> {
        self.store.template(target, code).await?.ok_or_else(|| {
            EngineError::invalid(
                field,
                format!("template '{code}' does not exist in target '{target}'"),
            )
        })
    }

    pub(crate) async fn folder_in(&self, target: &str, code: &str, field: &str) -> Result<Folder> {
        self.store.folder(target, code).await?.ok_or_else(|| {
            EngineError::invalid(
                field,
                format!("folder '{code}' does not exist in target '{target}'"),
            )
        })
    }
}

/// When an enabled schedule fires next, in UTC (RFC 3339).
pub(crate) fn next_run(
    schedule: Option<&str>,
    timezone: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let timing = crate::scheduler::timing::Timing::new(schedule?, timezone).ok()?;
    timing
        .next_after(now)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl Engine {
    /// The editor's schedule preview. With a task, its recent runs' record
    /// counts (the largest of the last ten) weigh the frequency advice.
    pub async fn schedule_preview(
        &self,
        schedule: &str,
        timezone: &str,
        run_type: crate::model::RunType,
        task_ref: Option<&str>,
    ) -> Result<crate::scheduler::preview::SchedulePreview> {
        let recent = match task_ref {
            Some(t) => {
                let runs = self.history(t, 10).await?;
                runs.iter().map(|r| r.counts.fetched).max()
            }
            None => None,
        };
        crate::scheduler::preview::preview(schedule, timezone, run_type, recent, chrono::Utc::now())
    }

    /// The mandatory fields an editor's task still lacks, in the editor's order.
    pub fn missing_task_fields(&self, input: &TaskInput) -> Vec<String> {
        rules::missing_task_fields(input)
    }
}

/// Workflows call a task by its usage and the shape of its mappings: changing either breaks them.
fn change_warnings(existing: &Task, task: &Task) -> Vec<String> {
    if existing.references.is_empty()
        || (task.usage == existing.usage && task.mappings_type == existing.mappings_type)
    {
        return Vec::new();
    }
    vec![format!(
        "task '{}' is used by workflows ({}); changing its usage or mappings type breaks those callers",
        existing.name,
        callers(&existing.references)
    )]
}

pub use crate::model::ConnectorTaskSettings;

/// `CONNECTOR/TASK`, as the audit names a task.
fn task_name(t: &Task) -> String {
    format!("{}/{}", t.connector_name, t.name)
}

/// A task as the audit compares it: its definition without what changes by itself (usage data, times).
fn audit_view(t: &Task) -> Option<serde_json::Value> {
    let mut v = serde_json::to_value(t).ok()?;
    if let serde_json::Value::Object(m) = &mut v {
        for k in [
            "id",
            "connector_id",
            "references",
            "created_at",
            "updated_at",
            "next_run",
        ] {
            m.remove(k);
        }
    }
    Some(v)
}
