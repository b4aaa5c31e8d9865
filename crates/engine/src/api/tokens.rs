//! Tokens of the workflow API (`api-token create | list | revoke`): a token
//! is shown once, stored only as its SHA-256 hash, and names the tasks it
//! may call (all of them, or a list).

use sha2::{Digest, Sha256};

use super::Engine;
use crate::clock::now;
use crate::error::{EngineError, Result};
use crate::model::{ApiToken, NewApiToken};
use crate::rules;

/// What a token looks like: a prefix that says what it is, then 256 random bits.
const PREFIX: &str = "pvo_";

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Engine {
    /// Creates a token named `name` for the tasks `tasks` (`CONNECTOR/TASK`
    /// or ids; none: every task). The returned token is never shown again.
    pub async fn create_api_token(&self, name: &str, tasks: &[String]) -> Result<NewApiToken> {
        let name = name.trim();
        rules::check_name("token", name)?;
        if self.store().api_tokens().await?.iter().any(|t| t.0 == name) {
            return Err(EngineError::AlreadyExists {
                kind: "token",
                name: name.to_string(),
            });
        }
        let mut ids = Vec::new();
        let mut shown = Vec::new();
        for t in tasks {
            let task = self.task(t).await?;
            shown.push(format!("{}/{}", task.connector_name, task.name));
            ids.push(task.id);
        }
        let token = format!(
            "{PREFIX}{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let at = now();
        let ids = (!tasks.is_empty()).then_some(ids);
        self.store()
            .insert_api_token(name, &hash(&token), ids.as_deref(), &at)
            .await?;
        // The token itself is never recorded: its name and what it may call.
        self.record_change(
            crate::model::AuditObject::ApiToken,
            name,
            "create",
            None,
            Some(serde_json::json!({ "tasks": if tasks.is_empty() { serde_json::json!("every task") } else { serde_json::json!(shown) } })),
        )
        .await;
        Ok(NewApiToken {
            token,
            info: ApiToken {
                name: name.to_string(),
                tasks: (!tasks.is_empty()).then_some(shown),
                task_ids: ids,
                created_at: at,
                last_used: None,
            },
        })
    }

    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        let mut out = Vec::new();
        for (name, _, ids, created_at, last_used) in self.store().api_tokens().await? {
            out.push(self.token_info(name, ids, created_at, last_used).await);
        }
        Ok(out)
    }

    async fn token_info(
        &self,
        name: String,
        ids: Option<Vec<String>>,
        created_at: String,
        last_used: Option<String>,
    ) -> ApiToken {
        let mut tasks = None;
        if let Some(ids) = &ids {
            let mut names = Vec::new();
            for id in ids {
                names.push(match self.task(id).await {
                    Ok(t) => format!("{}/{}", t.connector_name, t.name),
                    Err(_) => format!("{id} (removed)"),
                });
            }
            tasks = Some(names);
        }
        ApiToken {
            name,
            tasks,
            task_ids: ids,
            created_at,
            last_used,
        }
    }

    pub async fn revoke_api_token(&self, name: &str) -> Result<()> {
        if self.store().delete_api_token(name).await? {
            self.record(crate::model::AuditObject::ApiToken, name, "revoke", Vec::new())
                .await;
            Ok(())
        } else {
            Err(EngineError::not_found("token", name))
        }
    }

    /// The token a caller presented, if it is one (and records its use).
    pub async fn check_api_token(&self, token: &str) -> Result<Option<ApiToken>> {
        if !token.starts_with(PREFIX) {
            return Ok(None);
        }
        let Some((name, _, ids, created_at, _)) = self.store().api_token_by_hash(&hash(token)).await? else {
            return Ok(None);
        };
        let at = now();
        self.store().touch_api_token(&name, &at).await?;
        Ok(Some(self.token_info(name, ids, created_at, Some(at)).await))
    }
}
