//! Where loaded data goes.

use serde::{Deserialize, Serialize};

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// The built-in datacard store.
    Local,
    /// A remote solution through its REST API.
    Esm,
}

words! { TargetKind {
    Local => "local",
    Esm => "esm",
} }

/// A target as stored (its password is in the OS keyring, never here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct TargetInfo {
    pub name: String,
    pub kind: TargetKind,
    /// The solution's address; the client appends `api_path`.
    pub base_url: Option<String>,
    pub user: Option<String>,
    /// The REST API's path below `base_url` (default [`ESM_API_PATH`]).
    #[serde(default)]
    pub api_path: Option<String>,
    /// A PEM file of extra certificate authorities trusted besides the system's.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Cards per bulk request (default [`ESM_BATCH_SIZE`]).
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// At most this many requests per second (no limit when unset).
    #[serde(default)]
    pub requests_per_second: Option<f64>,
}

/// The API's base path the client appends to `base_url` unless the target names another.
pub const ESM_API_PATH: &str = "/rest-api/itsm/v1";

/// Cards per bulk request when a target does not say.
pub const ESM_BATCH_SIZE: u32 = 50;

/// `TARGET.json`: a target to add. The password goes to the keyring.
#[derive(Debug, Clone, Default, Deserialize, Serialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    #[specta(optional)]
    pub name: Option<String>,
    #[specta(optional)]
    pub kind: Option<String>,
    #[specta(optional)]
    pub base_url: Option<String>,
    #[specta(optional)]
    pub user: Option<String>,
    #[specta(optional)]
    pub password: Option<String>,
    #[specta(optional)]
    pub api_path: Option<String>,
    #[specta(optional)]
    pub ca_file: Option<String>,
    #[specta(optional)]
    pub batch_size: Option<u32>,
    #[specta(optional)]
    pub requests_per_second: Option<f64>,
}

/// What `target test` found.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct TargetCheck {
    pub name: String,
    /// Templates the API listed (now the target's template list).
    pub templates: usize,
    pub folders: usize,
}

/// The local datacard store's target name.
pub const LOCAL_TARGET: &str = "local";
