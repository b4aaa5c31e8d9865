//! Templates (what a datacard looks like) and folders (where cards live).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    #[default]
    String,
    Date,
    Number,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Attribute {
    pub code: String,
    #[serde(rename = "type", default)]
    pub attribute_type: AttributeType,
    #[serde(default)]
    pub multi_value: bool,
    /// Allowed values of a static-value attribute; empty means free text.
    #[serde(default)]
    pub static_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Template {
    pub code: String,
    pub name: String,
    pub attributes: Vec<Attribute>,
    /// Seeded templates cannot be replaced by a user definition.
    #[serde(default)]
    pub built_in: bool,
}

impl Template {
    pub fn attribute(&self, code: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.code == code)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct Folder {
    pub code: String,
    pub name: String,
    /// Template codes whose cards this folder accepts.
    pub templates: Vec<String>,
}

/// `TEMPLATE.json`: a template and, optionally, folders that accept it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub code: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub folders: Vec<FolderInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderInput {
    pub code: String,
    pub name: Option<String>,
}
