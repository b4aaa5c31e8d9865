//! Plain data shared by every part of the engine and, through generated
//! TypeScript types, by the UI. No I/O here.

pub mod card;
pub mod connector;
pub mod run;
pub mod settings;
pub mod target;
pub mod task;
pub mod template;

pub use connector::{Connector, ConnectorInput, ConnectorSummary, ConnectorType};
pub use run::{Run, RunCounts, RunFile, RunStatus, RunTrigger, StageReport, StageStatus};
pub use settings::{EnvironmentType, Settings};
pub use target::{TargetInfo, LOCAL_TARGET};
pub use task::{
    FailureSettings, Limits, Mapping, MappingsType, RemovalSettings, RunType, Task, TaskInput, TaskSummary,
    TaskUsage, WorkflowReference,
};
pub use template::{Attribute, AttributeType, Folder, Template, TemplateInput};
