//! Settings are stored one key per row so that adding a setting needs no migration.

use serde_json::{Map, Value};

use super::Store;
use crate::error::Result;
use crate::model::Settings;

impl Store {
    pub async fn settings(&self) -> Result<Settings> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(self.pool())
            .await?;
        let mut merged = match serde_json::to_value(Settings::default()) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for (key, value) in rows {
            if let Ok(v) = serde_json::from_str::<Value>(&value) {
                merged.insert(key, v);
            }
        }
        // A value written by a newer version that this one cannot read falls back to the default.
        Ok(serde_json::from_value(Value::Object(merged)).unwrap_or_default())
    }

    pub async fn save_settings(&self, settings: &Settings) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        if let Value::Object(map) = serde_json::to_value(settings).unwrap_or(Value::Null) {
            for (key, value) in map {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES (?, ?)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value.to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
