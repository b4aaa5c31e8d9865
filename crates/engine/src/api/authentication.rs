//! Authentication tasks (the manual's Authentication tab): a directory
//! connector's tasks that list who may log in to the solution. They are
//! tasks (stored, scheduled, run and shown in history like any other);
//! what is their own is written here: `AUTH.json` in and out, the login
//! test, and the top bar's Secure access light.

use super::{Engine, TaskUpdate};
use crate::error::{EngineError, Result};
use crate::model::{AuthTaskInput, ConnectorStatus, LoginVerdict, Task, TaskSummary, TaskUsage};
use crate::rules;
use crate::secrets::Sensitive;
use crate::source::kind;

impl Engine {
    /// Every authentication task (of one connector when named).
    pub async fn list_auth_tasks(&self, connector: Option<&str>) -> Result<Vec<TaskSummary>> {
        Ok(self
            .list_tasks(connector)
            .await?
            .into_iter()
            .filter(|t| t.usage == TaskUsage::Authentication)
            .collect())
    }

    /// One authentication task, as `AUTH.json` shows it.
    pub async fn auth_task(&self, reference: &str) -> Result<AuthTaskInput> {
        let task = self.auth_task_row(reference).await?;
        Ok(kind::auth_input_of(&task))
    }

    pub async fn create_auth_task(&self, connector: &str, input: AuthTaskInput) -> Result<Task> {
        let c = self.connector_row(connector).await?;
        self.create_task(&c.id, kind::authentication_task(&c, input)?)
            .await
    }

    pub async fn update_auth_task(&self, reference: &str, input: AuthTaskInput) -> Result<TaskUpdate> {
        let task = self.auth_task_row(reference).await?;
        let c = self.connector_row(&task.connector_id).await?;
        self.update_task(&task.id, kind::authentication_task(&c, input)?)
            .await
    }

    /// Whether `login` with `password` may log in through the task; the
    /// password is used for one bind and dropped.
    pub async fn test_login(
        &self,
        reference: &str,
        login: &str,
        password: &Sensitive<String>,
    ) -> Result<LoginVerdict> {
        if login.trim().is_empty() {
            return Err(EngineError::MissingFields {
                fields: vec!["login".into()],
            });
        }
        let task = self.auth_task_row(reference).await?;
        let c = self.connector_row(&task.connector_id).await?;
        kind::test_login(self, &c, &task, login.trim(), password).await
    }

    /// The top bar's Secure access light.
    pub async fn secure_access(&self) -> Result<ConnectorStatus> {
        let tasks = self.store.list_tasks(None).await?;
        Ok(rules::status::secure_access_status(
            &tasks.iter().collect::<Vec<_>>(),
        ))
    }

    async fn auth_task_row(&self, reference: &str) -> Result<Task> {
        let task = self.task(reference).await?;
        if task.usage != TaskUsage::Authentication {
            return Err(EngineError::invalid(
                "task",
                format!(
                    "'{}/{}' is a {} task, not an authentication task",
                    task.connector_name,
                    task.name,
                    task.usage.as_str()
                ),
            ));
        }
        Ok(task)
    }
}
