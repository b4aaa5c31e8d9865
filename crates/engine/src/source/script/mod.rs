//! The `python_script` source: builds the script's arguments (docs/script-contract.md),
//! runs it in the script host with its secrets on stdin, and hands the
//! output file it wrote to the pipeline.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{Extract, ExtractError, Source};
use crate::model::RunMode;
use crate::run_folder as files;
use crate::script_host::{
    ExtractFailure, KillReason, Masker, ScheduledInvocation, ScriptHost, DEFAULT_LOG_CAP,
};
use crate::secrets::Sensitive;

/// A connector's script with what it runs with.
#[derive(Debug)]
pub struct PythonScript {
    pub script: PathBuf,
    pub host: ScriptHost,
    /// The connector's parameters, secrets left out (they go on stdin).
    pub parameters: Value,
    pub secrets: Sensitive<Map<String, Value>>,
}

impl PythonScript {
    pub(super) async fn extract(&self, run: Extract<'_>) -> Result<PathBuf, ExtractError> {
        let dir = run.dir;
        let task = run.task;
        let masker = Masker::from_json_values(self.secrets.expose().values());
        let args = json!({
            "data_extraction_attributes": run.attributes.iter()
                .map(|(name, multi)| json!({"attributeName": name, "multivalue": multi})).collect::<Vec<_>>(),
            "script_current_working_directory": dir,
            "error_filename": dir.join(files::ERROR),
            "expected_output_filename": dir.join(files::OUTPUT),
            "heartbeat_filename": dir.join(files::HEARTBEAT),
            "log_filename": dir.join(files::SCRIPT_LOG),
            "connector_parameters": self.parameters,
            "task": {"id": task.id, "name": task.name, "connector": task.connector_name},
            "run_id": run.run_id,
            "run_type": run.run_type,
            "last_successful_extract": if run.run_type == RunMode::Incremental {
                run.last_successful_extract.clone()
            } else { None },
        });
        let secrets_line = Sensitive::new(Value::Object(self.secrets.expose().clone()).to_string());
        let outcome = self
            .host
            .run_scheduled(ScheduledInvocation {
                script: &self.script,
                work_dir: dir,
                args,
                secrets_line,
                masker: &masker,
                heartbeat_timeout: Source::heartbeat(task),
                max_runtime: task.max_runtime.map(Duration::from_secs),
                stop: run.stop,
                log_cap: DEFAULT_LOG_CAP,
            })
            .await;
        match outcome {
            Ok(o) => Ok(o.output),
            Err(ExtractFailure::Killed(KillReason::Stopped)) => Err(ExtractError::Stopped),
            Err(e) => Err(ExtractError::Failed(e.to_string())),
        }
    }
}
