//! `provisio auth-task`: a directory connector's authentication tasks. The
//! login test's password comes from stdin (or a prompt), never from the
//! command line, and is never printed.

use std::io::IsTerminal;

use provisio_engine::model::AuthTaskInput;
use provisio_engine::secrets::Sensitive;
use provisio_engine::{Engine, EngineError};

use super::package::read_stdin_line;
use crate::args::AuthTaskCommand;
use crate::input::read_json_file;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: AuthTaskCommand, printer: &Printer) -> Result<i32, EngineError> {
    let (task, verb) = match command {
        AuthTaskCommand::List { connector } => {
            let list = engine.list_auth_tasks(connector.as_deref()).await?;
            let mut rows = Vec::new();
            for t in &list {
                let a = engine.auth_task(&t.id).await?;
                rows.push(vec![
                    t.id.clone(),
                    t.connector_name.clone(),
                    t.name.clone(),
                    a.realm
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "(not set)".into()),
                    a.login_attribute.unwrap_or_default(),
                    if t.enabled { "yes" } else { "no" }.into(),
                    t.last_run
                        .as_ref()
                        .map(|r| r.status.as_str().to_string())
                        .unwrap_or_else(|| "not run yet".into()),
                ]);
            }
            printer.emit(&list, || {
                table(
                    &["ID", "CONNECTOR", "NAME", "REALM", "LOGIN", "ENABLED", "LAST RUN"],
                    rows,
                )
            });
            return Ok(0);
        }
        AuthTaskCommand::Show { task } => {
            let auth = engine.auth_task(&task).await?;
            printer.emit(&auth, || serde_json::to_string_pretty(&auth).unwrap_or_default());
            return Ok(0);
        }
        AuthTaskCommand::Test { task, login } => {
            let password = read_password()?;
            let verdict = engine.test_login(&task, &login, &password).await?;
            printer.emit(&verdict, || {
                format!(
                    "{}: {}{}",
                    if verdict.allowed { "allowed" } else { "denied" },
                    verdict.reason,
                    verdict
                        .dn
                        .as_ref()
                        .map(|dn| format!(" ({dn})"))
                        .unwrap_or_default()
                )
            });
            return Ok(if verdict.allowed { 0 } else { 1 });
        }
        AuthTaskCommand::Create { connector, file } => {
            let input: AuthTaskInput = read_json_file(&file.file)?;
            (engine.create_auth_task(&connector, input).await?, "created")
        }
        AuthTaskCommand::Update { task, file } => {
            let input: AuthTaskInput = read_json_file(&file.file)?;
            let update = engine.update_auth_task(&task, input).await?;
            for w in &update.warnings {
                printer.warn(w);
            }
            (update.task, "updated")
        }
        AuthTaskCommand::Remove { task } => {
            // Refused for any other kind of task: `task remove` is for those.
            engine.auth_task(&task).await?;
            (engine.remove_task(&task, false).await?, "removed")
        }
    };
    let enabled = if task.enabled {
        ""
    } else {
        " — disabled until its realm is set and it is enabled"
    };
    printer.emit(&task, || {
        format!(
            "authentication task {verb} '{}/{}' ({}){}",
            task.connector_name,
            task.name,
            task.id,
            if verb == "removed" { "" } else { enabled }
        )
    });
    Ok(0)
}

fn read_password() -> Result<Sensitive<String>, EngineError> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")
            .map_err(|e| EngineError::io("cannot read the password", e))?
    } else {
        read_stdin_line()?
    };
    Ok(Sensitive::new(password))
}
