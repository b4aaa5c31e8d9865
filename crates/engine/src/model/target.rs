//! Where loaded data goes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TargetInfo {
    pub name: String,
    /// `local` (the built-in datacard store) or `esm` (a remote solution).
    pub kind: String,
    pub base_url: Option<String>,
    pub user: Option<String>,
}

/// The local datacard store's target name.
pub const LOCAL_TARGET: &str = "local";
