//! Secrets: the OS keyring and the type that cannot be printed.
//!
//! A connector's secret parameters are kept as one keyring entry per
//! connector (a JSON object of JSON pointer → value), so that saving,
//! copying and removing a connector's secrets is one keyring call each.
//! Entries are named after the installation id of the data directory, so two
//! data directories on one machine never share secrets.

mod masker;
pub use masker::{secret_texts, Masker, TOKEN_ONLY_BELOW};

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{EngineError, Result};

/// Shown wherever a secret value would otherwise appear.
pub const MASK: &str = "********";

/// Whether `text` holds the mask: a value the journal kept masked. Most
/// values hold no `*` at all, found at once (an undo asks it of every field
/// of every card it sets back).
pub fn holds_mask(text: &str) -> bool {
    memchr::memchr(b'*', text.as_bytes()).is_some() && text.contains(MASK)
}

const SERVICE: &str = "provisio";

/// A value that must never be printed, logged or serialized by accident.
/// It has no `Serialize` or `Display`; `Debug` prints the mask.
#[derive(Clone, Default, PartialEq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }
    /// The secret itself; call only where the value is handed to its consumer.
    pub fn expose(&self) -> &T {
        &self.0
    }
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Does a parameter of this name hold a secret by convention?
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.contains("token")
        || k.contains("private_key")
        || k.contains("passphrase")
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Splits secrets out of a parameters object. Returns the parameters without
/// secret values and the secrets by JSON pointer. `extra` names additional
/// keys or pointers the user marked secret.
pub fn split_secrets(params: &Value, extra: &[String]) -> (Value, Map<String, Value>) {
    let mut secrets = Map::new();
    let clean = split_walk(params, "", extra, &mut secrets);
    (clean, secrets)
}

fn split_walk(value: &Value, pointer: &str, extra: &[String], secrets: &mut Map<String, Value>) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let p = format!("{pointer}/{}", escape_pointer(k));
                let marked = extra.iter().any(|e| e == k || *e == p);
                if (is_secret_key(k) && !v.is_object()) || marked {
                    secrets.insert(p, v.clone());
                } else {
                    out.insert(k.clone(), split_walk(v, &p, extra, secrets));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Puts values back at their pointers (secrets for a run, or the mask for display).
pub fn merge_at_pointers(params: &Value, values: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut out = params.clone();
    for (pointer, v) in values {
        let parts: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|p| p.replace("~1", "/").replace("~0", "~"))
            .collect();
        let mut cur = &mut out;
        for (i, part) in parts.iter().enumerate() {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            let Value::Object(map) = cur else { break };
            if i + 1 == parts.len() {
                map.insert(part.clone(), v.clone());
                break;
            }
            cur = map
                .entry(part.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    out
}

/// The OS keyring of this machine, scoped to one data directory.
#[derive(Debug, Clone)]
pub struct Keyring {
    installation_id: String,
}

impl Keyring {
    pub fn new(installation_id: String) -> Self {
        Keyring { installation_id }
    }

    fn account(&self, connector_id: &str) -> String {
        format!("{}/connector/{connector_id}", self.installation_id)
    }

    fn target_account(&self, target: &str) -> String {
        format!("{}/target/{target}", self.installation_id)
    }

    /// Saves (replacing) a connector's secrets. An empty set deletes the entry.
    pub async fn save_connector_secrets(
        &self,
        connector_id: &str,
        secrets: &Map<String, Value>,
    ) -> Result<()> {
        if secrets.is_empty() {
            return self.delete_connector_secrets(connector_id).await;
        }
        let payload = Sensitive::new(Value::Object(secrets.clone()).to_string());
        set_entry(self.account(connector_id), payload).await
    }

    pub async fn connector_secrets(&self, connector_id: &str) -> Result<Sensitive<Map<String, Value>>> {
        let text = get_entry(self.account(connector_id)).await?;
        let map = match text {
            Some(t) => match serde_json::from_str::<Value>(t.expose()) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(EngineError::Keyring(
                        "a stored secret entry is damaged; save the connector's secrets again".into(),
                    ))
                }
            },
            None => Map::new(),
        };
        Ok(Sensitive::new(map))
    }

    pub async fn delete_connector_secrets(&self, connector_id: &str) -> Result<()> {
        delete_entry(self.account(connector_id)).await
    }

    /// Saves (replacing) a target's password.
    pub async fn save_target_password(&self, target: &str, password: Sensitive<String>) -> Result<()> {
        set_entry(self.target_account(target), password).await
    }

    /// A target's password, if one is stored.
    pub async fn target_password(&self, target: &str) -> Result<Option<Sensitive<String>>> {
        get_entry(self.target_account(target)).await
    }

    pub async fn delete_target_password(&self, target: &str) -> Result<()> {
        delete_entry(self.target_account(target)).await
    }
}

async fn set_entry(account: String, text: Sensitive<String>) -> Result<()> {
    blocking(move || {
        let entry = keyring::Entry::new(SERVICE, &account)?;
        entry.set_password(text.expose())
    })
    .await
}

async fn get_entry(account: String) -> Result<Option<Sensitive<String>>> {
    blocking(move || {
        let entry = keyring::Entry::new(SERVICE, &account)?;
        match entry.get_password() {
            Ok(p) => Ok(Some(Sensitive::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await
}

async fn delete_entry(account: String) -> Result<()> {
    blocking(move || {
        let entry = keyring::Entry::new(SERVICE, &account)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
}

/// Keyring backends block (D-Bus round trips); keep them off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> keyring::Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Keyring(e.to_string()))?
        .map_err(|e| EngineError::Keyring(describe(&e)))
}

/// Error text without any secret: keyring errors carry no values, but keep it explicit.
fn describe(e: &keyring::Error) -> String {
    match e {
        keyring::Error::NoStorageAccess(_) => "no access to the credential store (is it locked?)".into(),
        keyring::Error::NoDefaultStore => "no credential store is running".into(),
        keyring::Error::PlatformFailure(inner) => format!("platform failure ({inner})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_masked_value_is_told_by_its_mask_alone() {
        for (text, masked) in [
            (MASK, true),
            ("user:********@host", true),
            ("***", false),
            ("a * b ** c", false),
            ("", false),
            ("plain", false),
        ] {
            assert_eq!(holds_mask(text), masked, "{text:?}");
        }
    }

    #[test]
    fn secrets_are_split_by_name_and_by_mark_and_merged_back() {
        let params =
            json!({"url": "u", "api_token": "t1", "auth": {"Password": "p", "user": "x"}, "pin": "1234"});
        let (clean, secrets) = split_secrets(&params, &["pin".to_string()]);
        assert_eq!(clean, json!({"url": "u", "auth": {"user": "x"}}));
        assert_eq!(secrets.len(), 3);
        assert_eq!(secrets["/auth/Password"], json!("p"));
        assert_eq!(merge_at_pointers(&clean, secrets), params);
    }

    #[test]
    fn sensitive_debug_is_masked() {
        assert_eq!(format!("{:?}", Sensitive::new("hunter2")), MASK);
    }
}
