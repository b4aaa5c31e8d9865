use provisio_engine::{Engine, EngineError};

use crate::args::ApiTokenCommand;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: ApiTokenCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        ApiTokenCommand::Create { name, tasks } => {
            let created = engine.create_api_token(&name, &tasks).await?;
            printer.emit(&created, || {
                format!(
                    "token '{}' created for {}; it is shown this once, keep it safe:\n{}",
                    created.info.name,
                    created
                        .info
                        .tasks
                        .as_ref()
                        .map_or("every task".to_string(), |t| t.join(", ")),
                    created.token
                )
            });
        }
        ApiTokenCommand::List => {
            let tokens = engine.api_tokens().await?;
            printer.emit(&tokens, || {
                table(
                    &["NAME", "TASKS", "CREATED", "LAST USED"],
                    tokens
                        .iter()
                        .map(|t| {
                            vec![
                                t.name.clone(),
                                t.tasks.as_ref().map_or("all".to_string(), |t| t.join(", ")),
                                t.created_at.clone(),
                                t.last_used.clone().unwrap_or_default(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        ApiTokenCommand::Revoke { name } => {
            engine.revoke_api_token(&name).await?;
            printer.emit(&serde_json::json!({ "revoked": name }), || {
                format!("token '{name}' revoked")
            });
        }
    }
    Ok(0)
}
