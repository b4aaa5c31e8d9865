//! Where loaded data goes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TargetInfo {
    pub name: String,
    pub kind: TargetKind,
    pub base_url: Option<String>,
    pub user: Option<String>,
}

/// The local datacard store's target name.
pub const LOCAL_TARGET: &str = "local";
