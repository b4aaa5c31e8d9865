//! `provisio export` / `provisio import`. The password comes from a file,
//! stdin or a prompt — never from the command line, where it would land in
//! shell history and process listings.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use provisio_engine::package::{check_password, ImportPlan};
use provisio_engine::secrets::Sensitive;
use provisio_engine::{Engine, EngineError};

use crate::output::Printer;

fn read_password(file: Option<&Path>, confirm: bool) -> Result<Sensitive<String>, EngineError> {
    let trim = |s: String| s.trim_end_matches(['\n', '\r']).to_string();
    let password = match file {
        Some(p) if p.as_os_str() == "-" => read_stdin_line()?,
        Some(p) => trim(std::fs::read_to_string(p).map_err(|e| EngineError::Input {
            path: p.display().to_string(),
            message: format!("cannot read the password file: {e}"),
        })?),
        None if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password("Package password: ")
                .map_err(|e| EngineError::io("cannot read the password", e))?;
            if confirm {
                let again = rpassword::prompt_password("Repeat the password: ")
                    .map_err(|e| EngineError::io("cannot read the password", e))?;
                if again != first {
                    return Err(EngineError::invalid(
                        "password",
                        "the two passwords differ; nothing was written",
                    ));
                }
            }
            first
        }
        None => read_stdin_line()?,
    };
    Ok(Sensitive::new(password))
}

pub(super) fn read_stdin_line() -> Result<String, EngineError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| EngineError::io("cannot read the password from stdin", e))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub async fn export(
    engine: &Engine,
    printer: &Printer,
    out: &Path,
    password_file: Option<&Path>,
    connectors: Vec<String>,
    all: bool,
) -> Result<i32, EngineError> {
    if connectors.is_empty() && !all {
        return Err(EngineError::invalid(
            "export",
            "name the connectors to export with --connector C (repeatable), or use --all",
        ));
    }
    let password = read_password(password_file, true)?;
    check_password(&password)?;
    let selection = if all { None } else { Some(connectors.as_slice()) };
    let summary = engine.export_package(out, &password, selection).await?;
    printer.emit(&summary, || {
        format!(
            "exported {} connector(s) ({}), {} task(s){} to {} ({} bytes, AES-256)",
            summary.connectors.len(),
            summary.connectors.join(", "),
            summary.tasks,
            if summary.scripts.is_empty() {
                String::new()
            } else {
                format!(", scripts {}", summary.scripts.join(", "))
            },
            summary.path,
            summary.bytes
        )
    });
    Ok(0)
}

pub async fn import(
    engine: &Engine,
    printer: &Printer,
    package: &Path,
    password_file: Option<&Path>,
    dry_run: bool,
) -> Result<i32, EngineError> {
    let password = read_password(password_file, false)?;
    let plan = engine.import_package(package, &password, dry_run).await?;
    printer.emit(&plan, || plan_text(&plan));
    Ok(0)
}

fn plan_text(plan: &ImportPlan) -> String {
    let m = &plan.manifest;
    let mut out = format!(
        "{} package exported {} from {} (Provisio {}, format {})\n",
        if plan.dry_run {
            "dry run of a"
        } else {
            "imported a"
        },
        m.exported_at,
        m.source_environment_type
            .as_deref()
            .unwrap_or("an unset environment"),
        m.application_version,
        m.format_version
    );
    for c in &plan.connectors {
        out.push_str(&format!("connector {}: {}\n", c.name, c.action));
        for ch in &c.changes {
            out.push_str(&format!("  change {}: {} -> {}\n", ch.field, ch.from, ch.to));
        }
        for t in &c.tasks {
            out.push_str(&format!(
                "  task {}: {}{}\n",
                t.name,
                t.action,
                if t.enabled { "" } else { " (disabled)" }
            ));
            for ch in &t.changes {
                out.push_str(&format!("    change {}: {} -> {}\n", ch.field, ch.from, ch.to));
            }
        }
    }
    for s in &plan.scripts {
        out.push_str(&format!("script {}: {}\n", s.name, s.action));
    }
    for n in &plan.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if plan.dry_run {
        out.push_str("nothing was changed (dry run)\n");
    }
    out
}
