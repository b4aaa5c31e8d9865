//! The command line of SPEC §7. The forms are fixed: automation depends on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "provisio",
    version,
    about = "Provisio connector manager: the engine from a terminal"
)]
pub struct Cli {
    /// Data directory (default: PROVISIO_DATA_DIR, else the platform's user data directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON document instead of text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Installation settings
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Connectors: one per data source
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Scheduled and event tasks
    #[command(subcommand)]
    Task(TaskCommand),
    /// Templates of a target
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Targets: where loaded data goes
    #[command(subcommand)]
    Target(TargetCommand),
    /// Engine version, data directory and environment type
    Status,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    Show,
    /// Change settings, e.g. `environment_type=test workers=2`
    Set {
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Create a connector from a CONNECTOR.json file (comments and trailing commas allowed)
    Create(FileArg),
    List,
    Show {
        connector: String,
    },
    Update {
        connector: String,
        #[command(flatten)]
        file: FileArg,
    },
    Copy {
        connector: String,
        #[arg(long)]
        name: Option<String>,
    },
    Remove {
        connector: String,
        /// Remove even when its event tasks are used by workflows
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct FileArg {
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create a task from a TASK.json file
    Create {
        #[arg(long)]
        connector: String,
        #[command(flatten)]
        file: FileArg,
    },
    List {
        #[arg(long)]
        connector: Option<String>,
    },
    /// Show a task (by id or CONNECTOR/TASK)
    Show { task: String },
    Update {
        task: String,
        #[command(flatten)]
        file: FileArg,
    },
    Copy {
        task: String,
        #[arg(long)]
        name: Option<String>,
    },
    Remove {
        task: String,
        /// Remove even when workflows use it
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    List {
        #[arg(long)]
        target: Option<String>,
    },
    Show {
        code: String,
        #[arg(long)]
        target: Option<String>,
    },
    /// Add a template (and the folders that accept it) from a TEMPLATE.json file
    Add(FileArg),
}

#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    List,
}
