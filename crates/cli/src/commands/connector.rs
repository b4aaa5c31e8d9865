use provisio_engine::model::{Connector, ConnectorInput};
use provisio_engine::{Engine, EngineError};

use super::pretty;
use crate::args::ConnectorCommand;
use crate::input::read_json_file;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: ConnectorCommand, printer: &Printer) -> Result<i32, EngineError> {
    let (connector, verb): (Connector, &str) = match command {
        ConnectorCommand::List => {
            let list = engine.list_connectors().await?;
            printer.emit(&list, || {
                table(
                    &[
                        "ID",
                        "NAME",
                        "TYPE",
                        "SCRIPT",
                        "TARGET",
                        "SCHEDULED",
                        "EVENT",
                        "AUTH",
                    ],
                    list.iter()
                        .map(|c| {
                            vec![
                                c.id.clone(),
                                c.name.clone(),
                                c.connector_type.as_str().into(),
                                c.script.clone().unwrap_or_default(),
                                c.target.clone(),
                                c.scheduled_count.to_string(),
                                c.event_count.to_string(),
                                // Only directory connectors have authentication tasks.
                                if c.supports_authentication {
                                    c.authentication_count.to_string()
                                } else {
                                    String::new()
                                },
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(0);
        }
        ConnectorCommand::Show { connector } => (engine.connector(&connector).await?, ""),
        ConnectorCommand::Test { connector } => {
            let check = engine.test_connector(&connector).await?;
            let counted = |n: u64, capped: bool| {
                if capped {
                    format!("at least {n}")
                } else {
                    n.to_string()
                }
            };
            printer.emit(&check, || {
                let mut lines = vec![
                    format!("connected to {} (TLS: {})", check.url, check.tls),
                    format!("bound as {}", check.bound_as),
                    format!("base DN {} found", check.base_dn),
                    format!(
                        "user filter matches {} entries",
                        counted(check.users, check.users_capped)
                    ),
                    format!(
                        "group filter matches {} entries",
                        counted(check.groups, check.groups_capped)
                    ),
                ];
                if let Some(c) = &check.certificate {
                    lines.push(format!(
                        "certificate {} issued by {}, expires {} ({} days)",
                        c.subject, c.issuer, c.expires, c.days_left
                    ));
                }
                lines.extend(check.warnings.iter().map(|w| format!("warning: {w}")));
                lines.join("\n")
            });
            return Ok(0);
        }
        ConnectorCommand::Create(f) => {
            let input: ConnectorInput = read_json_file(&f.file)?;
            (engine.create_connector(input).await?, "created")
        }
        ConnectorCommand::Update { connector, file } => {
            let input: ConnectorInput = read_json_file(&file.file)?;
            (engine.update_connector(&connector, input).await?, "updated")
        }
        ConnectorCommand::Copy { connector, name } => (
            engine.copy_connector(&connector, name.as_deref()).await?,
            "copied to",
        ),
        ConnectorCommand::Remove { connector, force } => {
            (engine.remove_connector(&connector, force).await?, "removed")
        }
    };
    let folder = provisio_engine::source::kind::keeps_a_folder(connector.connector_type)
        .then(|| engine.connector_folder(&connector.id));
    let notes: String = match verb {
        "removed" => Vec::new(),
        _ => engine.connector_notes(&connector.id).await?,
    }
    .iter()
    .map(|n| format!("\nnote: {n}"))
    .collect();
    printer.emit(&connector, || {
        let folder = folder
            .as_ref()
            .map(|f| format!("\nfolder (relative file_path starts here): {}", f.display()))
            .unwrap_or_default();
        if verb.is_empty() {
            format!("{}{folder}{notes}", pretty(&connector))
        } else if verb == "created" {
            format!(
                "connector {verb} '{}' ({}){folder}{notes}",
                connector.name, connector.id
            )
        } else {
            format!("connector {verb} '{}' ({}){notes}", connector.name, connector.id)
        }
    });
    Ok(0)
}
