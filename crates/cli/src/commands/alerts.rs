use provisio_engine::{Engine, EngineError};

use crate::args::AlertsCommand;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: AlertsCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        AlertsCommand::List { limit } => {
            let alerts = engine.alerts(limit).await?;
            printer.emit(&alerts, || {
                // ID: what `alerts ack ID` takes; SEEN: whether a person acknowledged it (the window's "seen").
                table(
                    &[
                        "ID", "TIME", "SEVERITY", "TASK", "STATUS", "SEEN", "RUN", "MESSAGE",
                    ],
                    alerts
                        .iter()
                        .map(|a| {
                            vec![
                                a.id.to_string(),
                                a.created_at.clone(),
                                a.severity.to_string(),
                                a.task.clone(),
                                a.status.to_string(),
                                if a.acknowledged { "seen" } else { "no" }.to_string(),
                                a.run_id.clone().unwrap_or_default(),
                                a.message.clone(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        AlertsCommand::Ack { id } => {
            engine.acknowledge_alert(id).await?;
            printer.emit(&serde_json::json!({ "acknowledged": id }), || {
                format!("alert {id} acknowledged")
            });
        }
    }
    Ok(0)
}
