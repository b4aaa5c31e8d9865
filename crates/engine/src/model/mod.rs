//! Plain data shared by every part of the engine and, through generated
//! TypeScript types, by the UI. No I/O here.

/// `as_str` and `Display` for an enum whose every variant has one word (the
/// word serde writes), so nobody formats an enum with `{:?}` and lowercases it.
macro_rules! words {
    ($ty:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with the word as it appears in JSON and in the CLI's output.
        impl PartialEq<&str> for $ty {
            fn eq(&self, word: &&str) -> bool {
                self.as_str() == *word
            }
        }
    };
}

pub mod alert;
pub mod audit;
pub mod card;
pub mod connector;
pub mod hr;
pub mod run;
pub mod settings;
pub mod target;
pub mod task;
pub mod template;
pub mod token;

pub use alert::{Alert, AlertKind, Severity};
pub use audit::{AuditEntry, AuditObject, FieldChange, Surface};
pub use card::{CardChange, FieldValue, SourceRow, UndoPlan, UndoStep};
pub use connector::{
    Connector, ConnectorInput, ConnectorStatus, ConnectorSummary, ConnectorType, DirectoryCheck,
    ServerCertificate,
};
pub use run::{
    Count, EventOutcomeKind, InterruptionHelp, Run, RunCounts, RunFile, RunFileKind, RunKind, RunMode,
    RunStage, RunStatus, RunTrigger, SkipReason, StageReport, StageStatus,
};
pub use settings::{EnvironmentType, LogLevel, Settings};
pub use target::{
    TargetCheck, TargetInfo, TargetInput, TargetKind, ESM_API_PATH, ESM_BATCH_SIZE, LOCAL_TARGET,
};
pub use task::{
    AuthTaskInput, AuthenticationSettings, ConnectorTaskSettings, DirectoryObjects, DirectoryOperation,
    EventUsage, FailureSettings, LastRun, Limits, LoginVerdict, Mapping, MappingsType, OnLimit,
    RemovalSettings, RunType, Task, TaskInput, TaskSummary, TaskUsage, WorkflowReference,
};
pub use template::{Attribute, AttributeType, Folder, Template, TemplateInput};
pub use token::{ApiToken, NewApiToken};
