//! One file per command group; `run` dispatches. Each handler parses its
//! arguments, calls the engine and prints: no rules here.

mod alerts;
mod api_token;
mod audit;
mod auth_task;
mod connector;
mod datacards;
mod event;
mod logs;
mod package;
mod run;
mod script;
mod serve;
mod settings;
mod target;
mod task;
mod template;

use provisio_engine::{Engine, EngineError};

use crate::args::{Cli, Command};
use crate::output::Printer;

/// Runs one command; returns the process exit code.
pub async fn run(cli: Cli, printer: &Printer) -> Result<i32, EngineError> {
    let engine = Engine::open_default(cli.data_dir.as_deref())
        .await?
        .with_surface(provisio_engine::model::Surface::Cli);
    // The engine's log file; people read stderr, which keeps its own messages.
    let level = engine.settings().await.map(|s| s.log_level).unwrap_or_default();
    let _log = provisio_engine::logging::install(engine.data_dir(), level.as_str());
    tracing::debug!(command = ?std::env::args().nth(1), "provisio command");
    if let Command::Serve {
        grace,
        listen,
        tls_cert,
        tls_key,
    } = cli.command
    {
        let tls = tls_cert
            .zip(tls_key)
            .map(|(cert, key)| provisio_workflow_api::Tls { cert, key });
        return serve::run(engine, grace, listen.as_deref(), tls).await;
    }
    let result = command(&engine, cli.command, printer).await;
    // The last connection out checkpoints the WAL and removes it, so the next
    // command does not start by reading what this one left behind.
    engine.close().await;
    result
}

async fn command(engine: &Engine, command: Command, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        Command::Settings(c) => settings::run(engine, c, printer).await,
        Command::Connector(c) => connector::run(engine, c, printer).await,
        Command::Task(c) => task::run(engine, c, printer).await,
        Command::AuthTask(c) => auth_task::run(engine, c, printer).await,
        Command::Audit(c) => audit::run(engine, c, printer).await,
        Command::Template(c) => template::run(engine, c, printer).await,
        Command::Target(c) => target::run(engine, c, printer).await,
        Command::Run(c) => run::run(engine, c, printer).await,
        Command::Event(c) => event::run(engine, c, printer).await,
        Command::Script(c) => script::run(engine, c, printer).await,
        Command::Datacards(c) => datacards::run(engine, c, printer).await,
        Command::Export {
            out,
            password_file,
            connectors,
            all,
        } => package::export(engine, printer, &out, password_file.as_deref(), connectors, all).await,
        Command::Import {
            package: file,
            password_file,
            dry_run,
        } => package::import(engine, printer, &file, password_file.as_deref(), dry_run).await,
        Command::Alerts(c) => alerts::run(engine, c, printer).await,
        Command::Logs(c) => logs::run(engine, c, printer).await,
        Command::ApiToken(c) => api_token::run(engine, c, printer).await,
        Command::Serve { .. } => unreachable!("serve owns the engine and is handled above"),
        Command::Status => {
            let status = engine.status().await?;
            printer.emit(&status, || {
                format!(
                    "Provisio {}\ndata directory: {}\nenvironment: {}",
                    status.version,
                    status.data_dir,
                    status.environment_type.map(|e| e.as_str()).unwrap_or("not set")
                )
            });
            Ok(0)
        }
    }
}

/// Pretty JSON for the text form of `show` commands.
pub(crate) fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
