//! The HR connector's run report, written to the connector's target with its attachments.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::api::Engine;
use crate::error::{EngineError, Result};
use crate::model::hr::{CaseFacts, ReportCase};
use crate::model::{Run, RunStatus};

/// The folder of the data directory where the local store keeps report attachments.
pub const ATTACHMENTS: &str = "attachments";
/// The report template's attribute that lists (or, on a remote target, holds) the attachments.
const REPORT_ATTACHMENTS: &str = "attachments";

impl Engine {
    /// Writes an HR connector's run report to its target, with the run's
    /// files and the archives attached (uploaded to an ESM solution, copied
    /// into the data directory for the local store). `Err` says why it
    /// could not be written; other connectors have no report.
    pub(super) async fn report_hr_run(
        &self,
        run: &Run,
        case: Option<ReportCase>,
        facts: Option<&CaseFacts>,
        status: RunStatus,
    ) -> Result<()> {
        let Ok(task) = self.task(&run.task_id).await else {
            return Ok(());
        };
        let Ok(connector) = self.connector_row(&task.connector_id).await else {
            return Ok(());
        };
        if !crate::source::kind::writes_report(connector.connector_type) {
            return Ok(());
        }
        let case = case.unwrap_or(match status {
            RunStatus::Stopped => ReportCase::Stopped,
            _ => ReportCase::Failed,
        });
        // None of these is a secret: no keyring read.
        let params = &connector.parameters;
        let language =
            crate::source::hr::parameters::param_text(params, "language").unwrap_or_else(|| "en".into());
        let (template, folder) = self.report_destination(&connector).await?;
        let texts = crate::source::hr::report::Translations::load(self.data_dir(), &language)
            .or_else(|_| crate::source::hr::report::Translations::load(self.data_dir(), "en"))?;
        let dir = self.run_dir(&run.id);
        let file = std::fs::read_to_string(dir.join(crate::run_folder::SOURCE_FILE)).ok();
        let connector_folder = self.connector_folder(&connector.id);
        let archives: Vec<PathBuf> = crate::source::hr::parameters::declared_data_type(params)
            .map(|t| {
                vec![
                    crate::source::hr::archive_path(&connector_folder, t),
                    crate::source::hr::error_archive_path(&connector_folder, t),
                ]
            })
            .unwrap_or_default();
        let archives: Vec<&std::path::Path> = archives.iter().map(PathBuf::as_path).collect();
        let mut card = crate::source::hr::report::card(
            run,
            case,
            facts,
            &texts,
            file.as_deref().map(std::path::Path::new),
            &dir,
        );
        if let Some(a) = task.task_id_attribute.as_deref() {
            card[a] = json!(task.id);
        }
        let attachments = crate::source::hr::report::attachments(run, &archives);
        let local = connector.target == crate::model::LOCAL_TARGET;
        if local {
            // Kept in the data directory, named on the card relative to it.
            let kept = self.data_dir().join(ATTACHMENTS).join(&run.id);
            std::fs::create_dir_all(&kept)
                .map_err(|e| EngineError::io(format!("cannot create {}", kept.display()), e))?;
            let mut names = Vec::new();
            for (name, path) in &attachments {
                std::fs::copy(path, kept.join(name)).map_err(|e| {
                    EngineError::io(format!("cannot keep {} with the report", path.display()), e)
                })?;
                names.push(json!(format!("{ATTACHMENTS}/{}/{name}", run.id)));
            }
            card[REPORT_ATTACHMENTS] = Value::Array(names);
        }
        let target = self.target_for(&connector.target).await?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            let mut opened = target.open()?;
            let created = opened.create_card(&template, &folder, &card)?;
            if !local {
                for (name, path) in &attachments {
                    opened.attach_file(&template, created, REPORT_ATTACHMENTS, name, path)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| EngineError::Internal(format!("writing the HR report: {e}")))?
    }

    /// The report's template and folder, checked against the connector's target.
    pub(crate) async fn report_destination(
        &self,
        connector: &crate::model::Connector,
    ) -> Result<(String, String)> {
        let text =
            |k: &str| crate::source::hr::parameters::param_text(&connector.parameters, k).unwrap_or_default();
        let (template, folder) = (text("report_template_code"), text("report_folder_code"));
        if template.is_empty() || folder.is_empty() {
            return Err(EngineError::invalid(
                "report_template_code",
                "no report template and folder to write to",
            ));
        }
        self.template_in(&connector.target, &template, "report_template_code")
            .await?;
        self.folder_in(&connector.target, &folder, "report_folder_code")
            .await?;
        Ok((template, folder))
    }

    /// A report that could not be written fails the run in its report stage:
    /// its history and an alert say so, not only the log.
    pub(super) async fn report_failed(&self, run: &mut Run, why: EngineError) -> Result<()> {
        let info = format!("the HR report could not be written: {why}");
        tracing::warn!(error = %why, "the HR report card was not written");
        // A run that failed before keeps its own failure; the report's is added to it.
        run.report_failed(info.clone());
        self.store().save_run(run).await?;
        self.store()
            .add_alert(
                Some(&run.task_id),
                Some(&run.id),
                &run.task,
                crate::model::AlertKind::of_run(run.status),
                &info,
            )
            .await?;
        Ok(())
    }
}
