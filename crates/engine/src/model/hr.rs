//! The parameters of an `hr_file` connector, as users paste them from the
//! HR connector's manual (JSONC), after [`crate::rules::hr`] checked them.

use serde::Serialize;

/// What an HR file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum HrDataType {
    Costcenter,
    Organization,
    Title,
    Workperiod,
}

words! { HrDataType {
    Costcenter => "costcenter",
    Organization => "organization",
    Title => "title",
    Workperiod => "workperiod",
} }

impl HrDataType {
    pub const ALL: [HrDataType; 4] = [
        HrDataType::Costcenter,
        HrDataType::Organization,
        HrDataType::Title,
        HrDataType::Workperiod,
    ];

    pub fn parse(word: &str) -> Option<HrDataType> {
        HrDataType::ALL.into_iter().find(|t| t.as_str() == word)
    }
}

/// Whether a run compares with the archived previous file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum HrRunType {
    /// Every row of the file is loaded, and rows the file no longer has may be marked removed.
    Full,
    /// Only rows new or changed since the archived previous file are loaded.
    #[default]
    Partial,
}

words! { HrRunType {
    Full => "full",
    Partial => "partial",
} }

/// Where the file is fetched from, when not the local file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HrSftp {
    pub server: String,
    pub port: u16,
    pub username: String,
    pub remote_path_data: String,
    pub remote_path_archive: Option<String>,
    /// The server's host key fingerprint (`SHA256:…`), when pinned by hand.
    pub host_key_fingerprint: Option<String>,
}

/// A checked `hr_file` parameter block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HrParameters {
    /// A glob, absolute or relative to the connector's folder in the data directory.
    pub file_path: String,
    pub data_type: HrDataType,
    pub run_type: HrRunType,
    /// Planned creates + updates + removals a partial run may apply.
    pub update_limit: Option<u64>,
    pub override_update_limit: bool,
    pub minimum_row_count: Option<u64>,
    pub report_template_code: String,
    pub report_folder_code: String,
    pub language: String,
    pub debug: bool,
    /// The CSV field separator (one character).
    pub delimiter: char,
    pub sftp: Option<HrSftp>,
}

/// Which of the HR connector's documented outcomes a run had: it picks the
/// report's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ReportCase {
    Succeeded,
    FileNotReceived,
    FileEmpty,
    MultipleFiles,
    ArchiveMissing,
    InvalidParameters,
    UpdateLimit,
    MinimumRows,
    Stopped,
    Failed,
}

words! { ReportCase {
    Succeeded => "succeeded",
    FileNotReceived => "file_not_received",
    FileEmpty => "file_empty",
    MultipleFiles => "multiple_files",
    ArchiveMissing => "archive_missing",
    InvalidParameters => "invalid_parameters",
    UpdateLimit => "update_limit",
    MinimumRows => "minimum_rows",
    Stopped => "stopped",
    Failed => "failed",
} }

/// What a report case found, in no language: a key of the translation
/// files' `messages` and the values it names. The report words it in the
/// connector's language; the run's history keeps the engine's English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub message: &'static str,
    pub values: Vec<(&'static str, String)>,
}

impl CaseFacts {
    pub fn new(message: &'static str, values: &[(&'static str, String)]) -> Self {
        CaseFacts {
            message,
            values: values.to_vec(),
        }
    }
}

impl ReportCase {
    pub const ALL: [ReportCase; 10] = [
        ReportCase::Succeeded,
        ReportCase::FileNotReceived,
        ReportCase::FileEmpty,
        ReportCase::MultipleFiles,
        ReportCase::ArchiveMissing,
        ReportCase::InvalidParameters,
        ReportCase::UpdateLimit,
        ReportCase::MinimumRows,
        ReportCase::Stopped,
        ReportCase::Failed,
    ];
}
