//! The checks of an `hr_file` connector: its parameter block (every problem
//! named at once) and what its tasks must map for the data type.

use serde_json::{Map, Value};

use crate::error::{EngineError, Result};
use crate::model::hr::{HrDataType, HrParameters, HrRunType, HrSftp};

/// The template attributes a task of each data type must map, and whose
/// values every record must have. Each inner list is satisfied by any one of
/// its attributes (a work period is identified by an employee id or a
/// national id).
pub fn mandatory_attributes(data_type: HrDataType) -> &'static [&'static [&'static str]] {
    match data_type {
        HrDataType::Workperiod => &[
            &["row_id"],
            &["last_name"],
            &["first_name"],
            &["employment_start"],
            &["title_id"],
            &["manager_id"],
            &["org_unit_id"],
            &["employee_id", "national_id"],
        ],
        HrDataType::Organization => &[&["org_unit_id"], &["name"]],
        HrDataType::Costcenter => &[&["code"], &["name"]],
        HrDataType::Title => &[&["title_id"], &["name"]],
    }
}

/// The settings an error of the checks before a run names as missing or
/// wrong (parameter names, language-neutral), for a report to list in the
/// connector's language. Empty when the error names none.
pub fn named_settings(e: &EngineError) -> Vec<String> {
    match e {
        EngineError::WithRemedy { source, .. } => named_settings(source),
        EngineError::MissingFields { fields } => fields.clone(),
        EngineError::Invalid { field, message } if field == "parameters" => {
            let mut names = Vec::new();
            // check_parameters's own format: "missing mandatory fields: a, b; key: why; key: why".
            for part in message.split("; ") {
                if let Some(list) = part.strip_prefix("missing mandatory fields: ") {
                    names.extend(list.split(", ").map(str::to_string));
                } else if let Some((name, _)) = part.split_once(": ").filter(|(n, _)| !n.contains(' ')) {
                    names.push(name.to_string());
                }
            }
            names
        }
        EngineError::Invalid { field, .. } => vec![field.clone()],
        _ => Vec::new(),
    }
}

/// Reads and checks an `hr_file` parameter block; lists every missing or
/// malformed parameter in one error. `remote_target`: the connector writes
/// to a remote solution, which needs the `webapi_*` parameters.
pub fn check_parameters(params: &Value, remote_target: bool) -> Result<HrParameters> {
    let empty = Map::new();
    let p = params.as_object().unwrap_or(&empty);
    let mut missing: Vec<String> = Vec::new();
    let mut wrong: Vec<String> = Vec::new();
    let text = |key: &str| param_text(params, key);
    let mut required = |key: &str| -> Option<String> {
        let v = text(key);
        if v.is_none() {
            missing.push(key.to_string());
        }
        v
    };
    let file_path = required("file_path");
    let data_type_text = required("data_type");
    let report_template_code = required("report_template_code");
    let report_folder_code = required("report_folder_code");
    if remote_target {
        for key in ["webapi_user", "webapi_password", "webapi_url"] {
            required(key);
        }
    }
    let data_type = data_type_text.as_deref().and_then(|t| {
        let parsed = HrDataType::parse(t);
        if parsed.is_none() {
            wrong.push(format!(
                "data_type: '{t}' is not a data type; use costcenter, organization, title or workperiod"
            ));
        }
        parsed
    });
    let run_type = parse_run_type(text("run_type").as_deref()).unwrap_or_else(|why| {
        wrong.push(why);
        HrRunType::Partial
    });
    let mut count = |key: &str| -> Option<u64> {
        match p.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => s.trim().parse().ok(),
            Some(other) => {
                wrong.push(format!("{key}: {other} is not a whole number"));
                None
            }
        }
    };
    let update_limit = count("update_limit");
    let minimum_row_count = count("minimum_row_count");
    let port = count("sftp_server_ssh_port_number");
    let mut flag = |key: &str| -> bool {
        match p.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                wrong.push(format!("{key}: {other} is not true or false"));
                false
            }
        }
    };
    let override_update_limit = flag("override_update_limit");
    let debug = flag("debug");
    if update_limit == Some(0) {
        wrong.push("update_limit: must be at least 1 (leave it out for no limit)".into());
    }
    let language = text("language").unwrap_or_else(|| "en".into());
    if !(2..=8).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        wrong.push(format!(
            "language: '{language}' is not a language code (e.g. en, fi, sv, de)"
        ));
    }
    let delimiter = match text("delimiter") {
        None => ';',
        Some(d) if d.chars().count() == 1 && d != "\"" => d.chars().next().unwrap_or(';'),
        Some(d) if d == "\\t" || d == "tab" => '\t',
        Some(d) => {
            wrong.push(format!("delimiter: '{d}' must be one character other than '\"'"));
            ';'
        }
    };
    if let Some(path) = &file_path {
        if std::path::Path::new(path)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            wrong.push(format!("file_path: '{path}' may not go up with '..'"));
        }
    }
    let sftp = match text("sftp_server_fqdn") {
        None => None,
        Some(server) => {
            let username = text("sftp_username");
            let data = text("sftp_remote_path_data");
            if username.is_none() {
                missing.push("sftp_username".into());
            }
            if data.is_none() {
                missing.push("sftp_remote_path_data".into());
            }
            if text("sftp_password").is_none() && text("sftp_private_key").is_none() {
                missing.push("sftp_password or sftp_private_key".into());
            }
            // A key file lives in the connector's folder: a package or a pasted block
            // must not be able to point the login at a user's own SSH key.
            if let Some(key) = text("sftp_private_key") {
                if !key.trim_start().starts_with("-----BEGIN") && !confined(&key) {
                    wrong.push(
                        "sftp_private_key: a key file is named relative to the connector's folder, \
                         without '..' (put the file there), or the key itself is given as PEM text"
                            .into(),
                    );
                }
            }
            let port = match port {
                None => 22,
                Some(p) if (1..=65535).contains(&p) => p as u16,
                Some(p) => {
                    wrong.push(format!("sftp_server_ssh_port_number: {p} is not a port"));
                    22
                }
            };
            Some(HrSftp {
                server,
                port,
                username: username.unwrap_or_default(),
                remote_path_data: data.unwrap_or_default(),
                remote_path_archive: text("sftp_remote_path_archive"),
                host_key_fingerprint: text("sftp_host_key_fingerprint"),
            })
        }
    };
    if !missing.is_empty() {
        let mut e = EngineError::MissingFields { fields: missing };
        if !wrong.is_empty() {
            e = EngineError::invalid("parameters", format!("{e}; {}", wrong.join("; ")));
        }
        return Err(e);
    }
    if !wrong.is_empty() {
        return Err(EngineError::invalid("parameters", wrong.join("; ")));
    }
    Ok(HrParameters {
        file_path: file_path.unwrap_or_default(),
        data_type: data_type.unwrap_or(HrDataType::Workperiod),
        run_type,
        update_limit,
        override_update_limit,
        minimum_row_count,
        report_template_code: report_template_code.unwrap_or_default(),
        report_folder_code: report_folder_code.unwrap_or_default(),
        language,
        debug,
        delimiter,
        sftp,
    })
}

pub use crate::rules::confined;

/// A parameter as text (trimmed; a number as written), `None` when missing or blank.
pub fn param_text(params: &Value, key: &str) -> Option<String> {
    match params.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_run_type(text: Option<&str>) -> std::result::Result<HrRunType, String> {
    match text {
        None | Some("partial") => Ok(HrRunType::Partial),
        // The manual's own wording for a full run.
        Some("full") | Some("full load") => Ok(HrRunType::Full),
        Some(other) => Err(format!(
            "run_type: '{other}' is not a run type; use full or partial"
        )),
    }
}

/// The run type a block declares, read alone (partial when missing or unreadable).
pub fn declared_run_type(params: &Value) -> HrRunType {
    parse_run_type(param_text(params, "run_type").as_deref()).unwrap_or_default()
}

/// The data type a block declares, read alone.
pub fn declared_data_type(params: &Value) -> Option<HrDataType> {
    param_text(params, "data_type").and_then(|t| HrDataType::parse(&t))
}

/// The error for a task that does not map its data type's mandatory attributes.
pub fn unmapped_error(data_type: HrDataType, unmapped: &[String]) -> EngineError {
    EngineError::invalid(
        "mappings",
        format!(
            "a {data_type} task must map the mandatory attributes {}",
            unmapped.join(", ")
        ),
    )
}

/// The guard's limits of an HR run: the minimum row count always, the
/// update limit on partial runs only (as the HR connector's manual says).
/// The limits an HR block declares, read leniently (the parameter check names any wrong value).
pub fn declared_limits(params: &Value) -> crate::model::Limits {
    let count = |k: &str| param_text(params, k).and_then(|t| t.trim().parse::<u64>().ok());
    let partial = declared_run_type(params) == HrRunType::Partial;
    crate::model::Limits {
        update_limit: count("update_limit").filter(|_| partial),
        override_update_limit: param_text(params, "override_update_limit")
            .is_some_and(|t| t.eq_ignore_ascii_case("true")),
        minimum_row_count: count("minimum_row_count"),
        on_limit: Default::default(),
    }
}

/// An HR task takes its run type and limits from its connector's block: a
/// task that names its own is refused with where to set them, never
/// silently overruled at its run.
pub fn check_task_own_settings(input: &crate::model::TaskInput) -> Result<()> {
    // What a run does over the limit (`on_limit`) stays the task's own.
    let own_limits = input.limits.as_ref().is_some_and(|l| {
        crate::model::Limits {
            on_limit: Default::default(),
            ..l.clone()
        } != crate::model::Limits::default()
    });
    if own_limits {
        return Err(EngineError::invalid(
            "limits",
            "an HR task runs with the limits of its connector's parameter block \
             (minimum_row_count, update_limit, override_update_limit); set them there",
        ));
    }
    if input.run_type.is_some_and(|r| r != crate::model::RunType::Full) {
        return Err(EngineError::invalid(
            "run_type",
            "an HR task runs with the run_type of its connector's parameter block (full or partial); set it there",
        ));
    }
    Ok(())
}

pub fn limits(params: &HrParameters) -> crate::model::Limits {
    crate::model::Limits {
        update_limit: params
            .update_limit
            .filter(|_| params.run_type == HrRunType::Partial),
        override_update_limit: params.override_update_limit,
        minimum_row_count: params.minimum_row_count,
        on_limit: Default::default(),
    }
}

/// The mandatory attributes of `data_type` that `mapped` (the task's target
/// attributes) does not cover, as people read them (`employee_id or national_id`).
pub fn unmapped_mandatory(data_type: HrDataType, mapped: &[&str]) -> Vec<String> {
    mandatory_attributes(data_type)
        .iter()
        .filter(|group| !group.iter().any(|a| mapped.contains(a)))
        .map(|group| group.join(" or "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block() -> Value {
        json!({"file_path": "./data/workperiod*.csv", "data_type": "workperiod", "update_limit": 100,
               "report_template_code": "admin_task", "report_folder_code": "admin_tasks"})
    }

    #[test]
    fn an_sftp_key_file_must_be_in_the_connectors_folder() {
        for (key, ok) in [
            ("keys/hr_sftp", true),
            ("hr_sftp.pem", true),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----",
                true,
            ),
            ("/root/.ssh/id_rsa", false),
            ("../../../.ssh/id_ed25519", false),
            ("keys/../../x", false),
        ] {
            let mut b = block();
            b["sftp_server_fqdn"] = json!("127.0.0.1");
            b["sftp_username"] = json!("hr");
            b["sftp_remote_path_data"] = json!("/out");
            b["sftp_private_key"] = json!(key);
            let checked = check_parameters(&b, false);
            assert_eq!(checked.is_ok(), ok, "{key}: {checked:?}");
            if let Err(e) = checked {
                let e = e.to_string();
                assert!(
                    e.contains("relative to the connector's folder") && !e.contains(key),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn the_manuals_example_block_is_accepted_with_its_defaults() {
        let p = check_parameters(&block(), false).unwrap();
        assert_eq!(p.run_type, HrRunType::Partial);
        assert_eq!((p.language.as_str(), p.delimiter, p.debug), ("en", ';', false));
        assert_eq!(p.update_limit, Some(100));
        assert!(p.sftp.is_none());
    }

    #[test]
    fn every_missing_and_malformed_parameter_is_named_at_once() {
        let e = check_parameters(
            &json!({"data_type": "payroll", "update_limit": "many", "debug": "maybe"}),
            false,
        )
        .unwrap_err()
        .to_string();
        for name in [
            "file_path",
            "report_template_code",
            "report_folder_code",
            "data_type: 'payroll'",
            "update_limit",
            "debug",
        ] {
            assert!(e.contains(name), "{name} not named in: {e}");
        }
    }

    #[test]
    fn webapi_parameters_are_needed_only_for_a_remote_target() {
        assert!(check_parameters(&block(), false).is_ok());
        let e = check_parameters(&block(), true).unwrap_err().to_string();
        assert!(
            e.contains("webapi_user") && e.contains("webapi_password") && e.contains("webapi_url"),
            "{e}"
        );
    }

    #[test]
    fn sftp_needs_a_user_a_folder_and_a_password_or_key() {
        let mut b = block();
        b["sftp_server_fqdn"] = json!("sftp.example");
        b["sftp_server_ssh_port_number"] = json!("2222");
        let e = check_parameters(&b, false).unwrap_err().to_string();
        assert!(
            e.contains("sftp_username")
                && e.contains("sftp_remote_path_data")
                && e.contains("sftp_password or sftp_private_key"),
            "{e}"
        );
        b["sftp_username"] = json!("hr");
        b["sftp_remote_path_data"] = json!("/in");
        b["sftp_password"] = json!("secret-pass");
        let p = check_parameters(&b, false).unwrap();
        assert_eq!(p.sftp.unwrap().port, 2222);
    }

    #[test]
    fn a_work_period_task_must_map_an_employee_id_or_a_national_id() {
        let mapped = [
            "row_id",
            "last_name",
            "first_name",
            "employment_start",
            "title_id",
            "manager_id",
            "org_unit_id",
        ];
        assert_eq!(
            unmapped_mandatory(HrDataType::Workperiod, &mapped),
            ["employee_id or national_id"]
        );
        let mut with_id = mapped.to_vec();
        with_id.push("national_id");
        assert!(unmapped_mandatory(HrDataType::Workperiod, &with_id).is_empty());
    }
}
