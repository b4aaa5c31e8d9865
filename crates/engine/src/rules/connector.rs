//! The checks a connector must pass, whichever way it comes in (the CLI,
//! the window, a package): pure functions over its input.

use crate::error::{EngineError, Result};
use crate::model::{ConnectorInput, ConnectorType};

/// A connector input that passed [`check_input`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedConnector {
    pub name: String,
    pub connector_type: ConnectorType,
    /// The script of a `python_script` connector, trimmed.
    pub script: Option<String>,
    /// The parameters as an object (none given is an empty one).
    pub parameters: serde_json::Value,
}

/// Mandatory fields (all of them listed), the name, the type, the script's
/// name and the parameters' shape.
pub fn check_input(input: &ConnectorInput) -> Result<CheckedConnector> {
    let mut missing = Vec::new();
    if super::blank(&input.name) {
        missing.push("name".to_string());
    }
    if super::blank(&input.connector_type) {
        missing.push("type".to_string());
    }
    if input.connector_type.as_deref().map(str::trim) == Some("python_script") && super::blank(&input.script)
    {
        missing.push("script".to_string());
    }
    if !missing.is_empty() {
        return Err(EngineError::MissingFields { fields: missing });
    }
    let name = input.name.clone().unwrap_or_default().trim().to_string();
    super::check_name("connector", &name)?;
    let connector_type = connector_type(input.connector_type.as_deref().unwrap_or_default())?;
    let script = input
        .script
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(script) = &script {
        super::check_script_name(script)?;
    }
    let parameters = super::parameters_object(input.parameters.clone())?;
    Ok(CheckedConnector {
        name,
        connector_type,
        script,
        parameters,
    })
}

/// Whether a connector with this target writes to a remote solution.
pub fn writes_remotely(target: Option<&str>) -> bool {
    target
        .map(str::trim)
        .is_some_and(|t| !t.is_empty() && t != crate::model::LOCAL_TARGET)
}

/// A connector type by its name.
pub fn connector_type(text: &str) -> Result<ConnectorType> {
    ConnectorType::parse(text.trim()).ok_or_else(|| {
        EngineError::invalid(
            "type",
            format!("'{text}' is not a connector type; use python_script, hr_file or ldap"),
        )
    })
}
