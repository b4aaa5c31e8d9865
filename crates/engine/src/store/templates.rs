//! Templates, folders and targets of the local datacard store.

use sqlx::Row;

use super::Store;
use crate::error::{EngineError, Result};
use crate::model::{Folder, TargetInfo, Template};

/// The seeded template set (docs/cli.md, TEMPLATE.json). Codes are fixed.
const LOCAL_SEED: &str = include_str!("../../../../assets/templates/local-seed.json");

#[derive(serde::Deserialize)]
struct Seed {
    templates: Vec<Template>,
    folders: Vec<Folder>,
}

impl Store {
    /// Adds any seeded template or folder that is not there yet. Runs at every
    /// open, so a newer version can add seeds without a migration.
    pub async fn seed_local_templates(&self) -> Result<()> {
        let seed: Seed = serde_json::from_str(LOCAL_SEED)
            .map_err(|e| EngineError::Internal(format!("the built-in template set cannot be read: {e}")))?;
        // Only write when something is missing: opening the engine must not
        // wait for the write lock a running load holds.
        let present: Vec<String> =
            sqlx::query_scalar("SELECT code FROM templates WHERE target = 'local' AND built_in = 1")
                .fetch_all(self.pool())
                .await?;
        let folders: Vec<String> = sqlx::query_scalar("SELECT code FROM folders WHERE target = 'local'")
            .fetch_all(self.pool())
            .await?;
        if seed.templates.iter().all(|t| present.contains(&t.code))
            && seed.folders.iter().all(|f| folders.contains(&f.code))
        {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        for t in &seed.templates {
            sqlx::query("INSERT OR IGNORE INTO templates (target, code, definition, built_in) VALUES ('local', ?, ?, 1)")
                .bind(&t.code)
                .bind(serde_json::to_string(t).unwrap_or_default())
                .execute(&mut *tx)
                .await?;
        }
        for f in &seed.folders {
            sqlx::query(
                "INSERT OR IGNORE INTO folders (target, code, name, templates) VALUES ('local', ?, ?, ?)",
            )
            .bind(&f.code)
            .bind(&f.name)
            .bind(serde_json::to_string(&f.templates).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn templates(&self, target: &str) -> Result<Vec<Template>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT definition FROM templates WHERE target = ? ORDER BY built_in DESC, code",
        )
        .bind(target)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().filter_map(|d| serde_json::from_str(d).ok()).collect())
    }

    pub async fn template(&self, target: &str, code: &str) -> Result<Option<Template>> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT definition FROM templates WHERE target = ? AND code = ?")
                .bind(target)
                .bind(code)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.and_then(|d| serde_json::from_str(&d).ok()))
    }

    pub async fn folders(&self, target: &str) -> Result<Vec<Folder>> {
        let rows = sqlx::query("SELECT code, name, templates FROM folders WHERE target = ? ORDER BY code")
            .bind(target)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Folder {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    templates: serde_json::from_str(&r.try_get::<String, _>("templates")?)
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    pub async fn folder(&self, target: &str, code: &str) -> Result<Option<Folder>> {
        Ok(self.folders(target).await?.into_iter().find(|f| f.code == code))
    }

    /// Saves a user template (replacing an earlier user definition of the same
    /// code) and the folders that accept it, in one transaction.
    pub async fn save_template(&self, target: &str, template: &Template, folders: &[Folder]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO templates (target, code, definition, built_in) VALUES (?, ?, ?, 0)
             ON CONFLICT (target, code) DO UPDATE SET definition = excluded.definition",
        )
        .bind(target)
        .bind(&template.code)
        .bind(serde_json::to_string(template).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
        for f in folders {
            sqlx::query(
                "INSERT INTO folders (target, code, name, templates) VALUES (?, ?, ?, ?)
                 ON CONFLICT (target, code) DO UPDATE SET name = excluded.name, templates = excluded.templates",
            )
            .bind(target)
            .bind(&f.code)
            .bind(&f.name)
            .bind(serde_json::to_string(&f.templates).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn targets(&self) -> Result<Vec<TargetInfo>> {
        let rows = sqlx::query(
            "SELECT name, kind, base_url, user, api_path, ca_file, batch_size, requests_per_second
             FROM targets ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = vec![TargetInfo {
            name: crate::model::LOCAL_TARGET.into(),
            kind: crate::model::TargetKind::Local,
            base_url: None,
            user: None,
            api_path: None,
            ca_file: None,
            batch_size: None,
            requests_per_second: None,
        }];
        for r in &rows {
            out.push(TargetInfo {
                name: r.try_get("name")?,
                kind: match r.try_get::<String, _>("kind")?.as_str() {
                    "esm" => crate::model::TargetKind::Esm,
                    _ => crate::model::TargetKind::Local,
                },
                base_url: r.try_get("base_url")?,
                user: r.try_get("user")?,
                api_path: r.try_get("api_path")?,
                ca_file: r.try_get("ca_file")?,
                batch_size: r.try_get::<Option<i64>, _>("batch_size")?.map(|b| b as u32),
                requests_per_second: r.try_get("requests_per_second")?,
            });
        }
        Ok(out)
    }

    /// Saves a target (replacing one of its name) with the templates and
    /// folders its API listed, in one transaction.
    pub async fn save_target(
        &self,
        target: &TargetInfo,
        templates: &[Template],
        folders: &[Folder],
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO targets (name, kind, base_url, user, api_path, ca_file, batch_size, requests_per_second, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url,
               user = excluded.user, api_path = excluded.api_path, ca_file = excluded.ca_file,
               batch_size = excluded.batch_size, requests_per_second = excluded.requests_per_second",
        )
        .bind(&target.name)
        .bind(target.kind.as_str())
        .bind(&target.base_url)
        .bind(&target.user)
        .bind(&target.api_path)
        .bind(&target.ca_file)
        .bind(target.batch_size.map(i64::from))
        .bind(target.requests_per_second)
        .bind(crate::clock::now())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM templates WHERE target = ?")
            .bind(&target.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM folders WHERE target = ?")
            .bind(&target.name)
            .execute(&mut *tx)
            .await?;
        for t in templates {
            sqlx::query("INSERT INTO templates (target, code, definition, built_in) VALUES (?, ?, ?, 1)")
                .bind(&target.name)
                .bind(&t.code)
                .bind(serde_json::to_string(t).unwrap_or_default())
                .execute(&mut *tx)
                .await?;
        }
        for f in folders {
            sqlx::query("INSERT INTO folders (target, code, name, templates) VALUES (?, ?, ?, ?)")
                .bind(&target.name)
                .bind(&f.code)
                .bind(&f.name)
                .bind(serde_json::to_string(&f.templates).unwrap_or_default())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a target with its template list.
    pub async fn delete_target(&self, name: &str) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for sql in [
            "DELETE FROM targets WHERE name = ?",
            "DELETE FROM templates WHERE target = ?",
            "DELETE FROM folders WHERE target = ?",
        ] {
            sqlx::query(sql).bind(name).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
