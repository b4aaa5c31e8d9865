//! The command line of docs/cli.md. The forms are fixed: automation depends on them.

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
    /// Runs of tasks
    #[command(subcommand)]
    Run(RunCommand),
    /// Event tasks: invoke one as a workflow would
    #[command(subcommand)]
    Event(EventCommand),
    /// The script library
    #[command(subcommand)]
    Script(ScriptCommand),
    /// Cards of the local datacard store
    #[command(subcommand)]
    Datacards(DatacardsCommand),
    /// The audit of configuration changes: who changed what, where, field by field
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Authentication tasks: who may log in to the solution (directory connectors)
    #[command(subcommand)]
    AuthTask(AuthTaskCommand),
    /// Export connectors with their tasks, secrets and custom scripts to an encrypted package
    Export {
        /// The package to write
        #[arg(long, value_name = "PACKAGE.zip")]
        out: PathBuf,
        /// File holding the password ('-' for stdin); without it you are asked
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Connector to export (repeatable)
        #[arg(long = "connector", value_name = "C", conflicts_with = "all")]
        connectors: Vec<String>,
        /// Export every connector
        #[arg(long)]
        all: bool,
    },
    /// Import a package made by `provisio export`
    Import {
        package: PathBuf,
        /// File holding the package's password ('-' for stdin); without it you are asked
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Print the plan and change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Alerts raised by failed runs
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// The engine's log and the runs' logs
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Tokens of the workflow API (shown once, stored as a hash)
    #[command(subcommand, name = "api-token")]
    ApiToken(ApiTokenCommand),
    /// Run the scheduler headless until SIGTERM / SIGINT
    Serve {
        /// Seconds running runs get to finish on shutdown before they are stopped
        #[arg(long, default_value_t = 30)]
        grace: u64,
        /// Also serve the workflow API on ADDR (a port alone means 127.0.0.1:PORT)
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Serve the workflow API over HTTPS with this certificate chain (PEM; needs --tls-key)
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM)
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Engine version, data directory and environment type
    Status,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Pack the engine's log files and the runs' logs (secrets masked) into one zip
    Export {
        /// The zip file to write
        #[arg(long)]
        out: PathBuf,
        /// Only files changed since this date (YYYY-MM-DD, UTC) or time (RFC 3339)
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first: the id `alerts ack` takes, whether seen, the run and its message
    List {
        /// At most this many alerts, newest first
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Mark an alert as seen
    Ack { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Show a run: stages, counts, files and log
    Show {
        run_id: String,
        /// Lines of the log to print (text output)
        #[arg(long, default_value_t = 40)]
        log_lines: usize,
    },
    /// What an interrupted run planned, or a run held: why, its counts, the first cards changed and marked removed
    Plan { run_id: String },
    /// Undo what a run changed (local store or ESM target): plan first, then apply; conflicts only with --force
    Undo {
        run_id: String,
        /// Show the plan, change nothing
        #[arg(long)]
        dry_run: bool,
        /// Also set back fields a later run changed again
        #[arg(long)]
        force: bool,
        /// Only this card (repeatable)
        #[arg(long = "card", value_name = "ID")]
        cards: Vec<i64>,
    },
    /// Apply once what a run held over its update limit (task setting on_limit: hold_excess)
    ApplyHeld { run_id: String },
    /// Execute a run recorded by `task run` without --wait (used internally)
    #[command(hide = true)]
    Execute {
        run_id: String,
        /// Lift the update limit for this run (an approved plan)
        #[arg(long)]
        approve: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// Invoke an event task with a datacard's values
    Invoke {
        task: String,
        /// JSON object of template attribute → value
        #[arg(long, value_name = "VALUES.json")]
        input: PathBuf,
        /// The workflow calling (recorded as a workflow reference)
        #[arg(long)]
        caller: Option<String>,
        /// Read tasks: write the values read to the card whose ATTRIBUTE is KEY
        #[arg(long, value_name = "ATTRIBUTE=KEY")]
        card: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScriptCommand {
    /// The script library: each script's kind, whether it is bundled (read-only), and its file
    List,
    /// Add a custom script from a file
    Add {
        file: PathBuf,
        /// What the script serves: scheduled tasks, event tasks or both
        #[arg(long, value_parser = ["scheduled", "event", "both"])]
        kind: String,
        /// Name in the library (default: the file's name)
        #[arg(long)]
        name: Option<String>,
    },
    /// Copy a script (e.g. a bundled one) to a new name you can modify
    Copy { name: String, new: String },
    /// Print a script's source
    Show { name: String },
    /// Replace a custom script with a new version (the previous one is kept: see `script versions`)
    Update { name: String, file: PathBuf },
    /// List the previous versions of a custom script, newest first
    Versions { name: String },
    /// Make a previous version of a custom script current again
    Restore { name: String, version: String },
    /// Remove a custom script that no connector uses
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum DatacardsCommand {
    /// Cards of a template (in one folder, or all): id, folder and values
    List {
        /// The template's code
        #[arg(long)]
        template: String,
        /// Only the cards of this folder (its code)
        #[arg(long)]
        folder: Option<String>,
        /// Only the cards whose id is this text, or one of whose values holds it
        /// (in any case), as the window's Data tab searches
        #[arg(long)]
        search: Option<String>,
        /// At most this many cards (listed a page at a time, whatever the number)
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Why a card is as it is: every change the journal holds for it, newest first
    History {
        card: i64,
        /// A card of this remote target (ESM): the changes this engine's runs made to it there
        #[arg(long)]
        target: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// The installation's settings
    Show,
    /// Change settings, e.g. `environment_type=test workers=2`
    Set {
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
    /// Start the Python interpreter (the `python` setting, or --interpreter) and print its version
    CheckPython {
        /// The interpreter to start (default: the `python` setting)
        #[arg(long)]
        interpreter: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Create a connector from a CONNECTOR.json file (comments and trailing commas allowed)
    Create(FileArg),
    /// Connectors with their type, script, target and how many tasks of each kind
    List,
    /// Show a connector's settings (secret values are never printed)
    Show { connector: String },
    /// Replace a connector's settings from a CONNECTOR.json file
    Update {
        connector: String,
        #[command(flatten)]
        file: FileArg,
    },
    /// Copy a connector with its tasks and secrets (default name: "NAME (copy)", then "NAME (copy 2)"…)
    Copy {
        connector: String,
        /// The copy's name
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a connector with its tasks and secrets
    Remove {
        connector: String,
        /// Remove even when its event tasks are used by workflows
        #[arg(long)]
        force: bool,
    },
    /// Test a directory connector's connection: bind, base DN, what its filters match
    Test { connector: String },
}

#[derive(Debug, Args)]
pub struct FileArg {
    /// The JSON file to read
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create a task from a TASK.json file
    Create {
        /// The connector the task belongs to (name or id)
        #[arg(long)]
        connector: String,
        #[command(flatten)]
        file: FileArg,
    },
    /// Tasks (of one connector, or all) with their usage, schedule and template
    List {
        /// Only the tasks of this connector (name or id)
        #[arg(long)]
        connector: Option<String>,
    },
    /// Show a task (by id or CONNECTOR/TASK)
    Show { task: String },
    /// Replace a task's settings from a TASK.json file
    Update {
        task: String,
        #[command(flatten)]
        file: FileArg,
    },
    /// Copy a task within its connector (default name: "NAME (copy)", then "NAME (copy 2)"…)
    Copy {
        task: String,
        /// The copy's name
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a task
    Remove {
        task: String,
        /// Remove even when workflows use it
        #[arg(long)]
        force: bool,
    },
    /// Run a scheduled task now; exits 0 only if the run succeeded (with --wait)
    Run {
        task: String,
        /// Wait for the run to end and print its summary
        #[arg(long)]
        wait: bool,
        /// Apply the changes even beyond the update limit, this once
        #[arg(long)]
        approve: bool,
    },
    /// Stop the task's running run
    Stop { task: String },
    /// Clear the task's data cache: its next run checks every record against its card again (an incremental task stays incremental)
    ClearCache { task: String },
    /// Reset an incremental task's state: its next run is full
    ResetIncremental { task: String },
    /// The task's runs, newest first
    History {
        task: String,
        /// At most this many runs
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recorded changes, newest first
    List {
        /// Only changes at or after this date or time (e.g. 2026-12-01 or 2026-12-01T08:00)
        #[arg(long)]
        since: Option<String>,
        /// Only changes whose object, name, action or fields mention this text
        #[arg(long)]
        text: Option<String>,
        /// At most this many changes
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthTaskCommand {
    /// Create an authentication task of a directory connector from an AUTH.json file
    Create {
        connector: String,
        #[command(flatten)]
        file: FileArg,
    },
    /// Authentication tasks (of one directory connector, or all)
    List {
        /// Only the authentication tasks of this connector (name or id)
        #[arg(long)]
        connector: Option<String>,
    },
    /// Show an authentication task as AUTH.json (by id or CONNECTOR/TASK)
    Show { task: String },
    /// Replace an authentication task's settings from an AUTH.json file
    Update {
        task: String,
        #[command(flatten)]
        file: FileArg,
    },
    /// Remove an authentication task
    Remove { task: String },
    /// Whether a login may log in through the task; the password is read from stdin, never echoed
    Test {
        task: String,
        /// The login to check
        #[arg(long)]
        login: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Templates of the local store, or of a target, with their folders
    List {
        /// The target whose templates to list (default: the local store)
        #[arg(long)]
        target: Option<String>,
    },
    /// A template's attributes and folders
    Show {
        code: String,
        /// The target the template belongs to (default: the local store)
        #[arg(long)]
        target: Option<String>,
    },
    /// Add a template (and the folders that accept it) from a TEMPLATE.json file
    Add(FileArg),
}

#[derive(Debug, clap::Args)]
pub struct TargetAdd {
    /// A TARGET.json file: name, kind, base_url, user, password (kept in the OS keyring)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "from_connector",
        required_unless_present = "from_connector"
    )]
    pub file: Option<PathBuf>,
    /// An hr_file connector whose webapi_url / webapi_user / webapi_password
    /// become the target; the connector then writes to it (needs --name)
    #[arg(long, value_name = "CONNECTOR", requires = "name")]
    pub from_connector: Option<String>,
    /// The new target's name (with --from-connector)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Create a token; it is printed once and never again
    Create {
        /// A name for the token: who or which workflow uses it
        #[arg(long)]
        name: String,
        /// A task it may call (repeatable; none: every task)
        #[arg(long = "task", value_name = "T")]
        tasks: Vec<String>,
    },
    /// Tokens by name, with the tasks each may call, when made and last used (never the token)
    List,
    /// Revoke a token: requests with it get 401 from now on
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// Add an ESM target from a TARGET.json file, or from an HR connector's
    /// webapi_* parameters (logs in and reads its templates first)
    Add(TargetAdd),
    /// Targets with their kind, address and user (never the password)
    List,
    /// Log in to a target and read its template list again
    Test { name: String },
    /// Remove a target that no connector uses
    Remove { name: String },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command a person can type, and every option it takes, says in
    /// `--help` what it does (a positional argument is named by its value).
    #[test]
    fn every_command_and_option_has_a_help_line() {
        fn unexplained(command: &clap::Command, path: &str, out: &mut Vec<String>) {
            for option in command.get_arguments().filter(|a| a.get_long().is_some()) {
                if option.get_help().is_none() && !matches!(option.get_long(), Some("help" | "version")) {
                    out.push(format!("{path} --{}", option.get_long().unwrap_or_default()));
                }
            }
            for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    out.push(path.clone());
                }
                unexplained(sub, &path, out);
            }
        }
        let mut missing = Vec::new();
        unexplained(&super::Cli::command(), "provisio", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }
}
