//! The checks a user template must pass, as pure functions over its input.

use crate::error::{EngineError, Result};
use crate::model::{Attribute, TemplateInput};

/// The template's code and attributes (with the fixed `taskid` and
/// `dataSourceType` added), or what is wrong with the input.
pub fn check_input(input: &TemplateInput) -> Result<(String, Vec<Attribute>)> {
    let mut missing = Vec::new();
    if super::blank(&input.code) {
        missing.push("code".to_string());
    }
    if super::blank(&input.name) {
        missing.push("name".to_string());
    }
    if input.attributes.is_empty() {
        missing.push("attributes".to_string());
    }
    if !missing.is_empty() {
        return Err(EngineError::MissingFields { fields: missing });
    }
    let code = input.code.clone().unwrap_or_default().trim().to_string();
    if !code
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
        return Err(EngineError::invalid(
            "code",
            format!("'{code}' may only hold letters, digits, '_' and '-'"),
        ));
    }
    let mut attributes: Vec<Attribute> = Vec::new();
    for a in input.attributes.iter().cloned() {
        if a.code.trim().is_empty() {
            return Err(EngineError::invalid(
                "attributes",
                "every attribute needs a 'code'",
            ));
        }
        if attributes.iter().any(|x| x.code == a.code) {
            return Err(EngineError::invalid(
                "attributes",
                format!("attribute '{}' is listed twice", a.code),
            ));
        }
        attributes.push(a);
    }
    for fixed in ["taskid", "dataSourceType"] {
        if !attributes.iter().any(|a| a.code == fixed) {
            attributes.push(Attribute {
                code: fixed.into(),
                attribute_type: Default::default(),
                multi_value: false,
                static_values: Vec::new(),
            });
        }
    }
    Ok((code, attributes))
}
