//! A connector holds the configuration of one data source.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorType {
    /// Generic Python Script connector.
    PythonScript,
    /// HR connector: a CSV / JSON / XML file from disk or SFTP.
    HrFile,
    /// Directory connector: users and groups of an LDAP server or Active Directory.
    Ldap,
}

impl ConnectorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorType::PythonScript => "python_script",
            ConnectorType::HrFile => "hr_file",
            ConnectorType::Ldap => "ldap",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "python_script" => Some(Self::PythonScript),
            "hr_file" => Some(Self::HrFile),
            "ldap" => Some(Self::Ldap),
            _ => None,
        }
    }
}

/// A stored connector. `parameters` never holds a secret value: secret
/// parameters are listed in `secret_parameters` (JSON pointers) and shown masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Connector {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub connector_type: ConnectorType,
    pub script: Option<String>,
    pub parameters: serde_json::Value,
    /// JSON pointers (e.g. `/api_token`) of parameters kept in the OS keyring.
    pub secret_parameters: Vec<String>,
    pub target: String,
    pub created_at: String,
    pub updated_at: String,
}

/// What a user writes in `CONNECTOR.json` (JSONC accepted). Every field is
/// optional here so that a missing one is reported by name, together with the others.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    #[specta(optional)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[specta(optional)]
    pub connector_type: Option<String>,
    #[specta(optional)]
    pub script: Option<String>,
    #[specta(optional)]
    pub parameters: Option<serde_json::Value>,
    /// Extra parameter keys (or JSON pointers) to keep in the keyring besides
    /// those whose names contain `password`, `secret` or `token`.
    #[serde(default)]
    #[specta(optional)]
    pub secret_parameters: Vec<String>,
    #[specta(optional)]
    pub target: Option<String>,
    /// Accepted so that `connector show --json` output can be fed back to `update`.
    #[specta(optional)]
    pub id: Option<String>,
    #[serde(default)]
    #[specta(optional)]
    pub created_at: Option<String>,
    #[serde(default)]
    #[specta(optional)]
    pub updated_at: Option<String>,
}

/// One row of the Overview table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ConnectorSummary {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub connector_type: ConnectorType,
    pub script: Option<String>,
    pub target: String,
    pub scheduled_count: u32,
    pub event_count: u32,
    pub authentication_count: u32,
    /// Whether the connector can have authentication tasks (directory connectors).
    pub supports_authentication: bool,
    /// Computed from its scheduled tasks' latest runs (see `rules::status`).
    pub status: ConnectorStatus,
}

/// The Overview's status light of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorStatus {
    /// No enabled scheduled task: nothing to show.
    #[default]
    None,
    /// Scheduled tasks exist but none has run yet (grey clock).
    Waiting,
    /// Every scheduled task that has run succeeded last time (green).
    Ok,
    /// Some of several scheduled tasks have a problem (orange).
    Warning,
    /// Every scheduled task that has run failed last time (red).
    Failed,
}

/// What "Test connection" found for a directory connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DirectoryCheck {
    pub url: String,
    /// How the connection is protected, and what trusted the server's certificate.
    pub tls: String,
    /// The DN bound as (`anonymous` without one).
    pub bound_as: String,
    /// Found (the test fails when it is not).
    pub base_dn: String,
    /// Entries the user filter matches; `users_capped`: at least that many (counting stopped).
    pub users: u64,
    pub users_capped: bool,
    pub groups: u64,
    pub groups_capped: bool,
    /// The server's certificate, when the connection is encrypted.
    pub certificate: Option<ServerCertificate>,
    /// What works but deserves a look (a filter matching nothing, no encryption, a certificate near its end).
    pub warnings: Vec<String>,
}

/// A directory server's certificate as Test connection saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ServerCertificate {
    pub subject: String,
    pub issuer: String,
    /// RFC 3339, UTC.
    pub expires: String,
    /// Whole days until it expires (negative: expired).
    pub days_left: i64,
}
