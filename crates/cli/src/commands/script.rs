use provisio_engine::script_library::ScriptKind;
use provisio_engine::{Engine, EngineError};

use crate::args::ScriptCommand;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: ScriptCommand, printer: &Printer) -> Result<i32, EngineError> {
    let script = match command {
        ScriptCommand::List => {
            let list = engine.scripts().await?;
            printer.emit(&list, || {
                table(
                    &["NAME", "KIND", "BUNDLED", "PATH"],
                    list.iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                s.kind.as_str().into(),
                                if s.bundled { "yes (read-only)" } else { "no" }.into(),
                                s.path.clone(),
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(0);
        }
        ScriptCommand::Add { file, kind, name } => {
            let kind = ScriptKind::parse(&kind).unwrap_or(ScriptKind::Both);
            engine.add_script(&file, kind, name.as_deref()).await?
        }
        ScriptCommand::Copy { name, new } => engine.copy_script(&name, &new).await?,
        ScriptCommand::Show { name } => {
            let source = engine.script_source(&name).await?;
            printer.emit(&serde_json::json!({ "name": name, "source": source }), || {
                source.trim_end_matches('\n').to_string()
            });
            return Ok(0);
        }
        ScriptCommand::Update { name, file } => {
            let script = engine.update_script(&name, &file).await?;
            printer.emit(&script, || {
                format!(
                    "script '{}' replaced; the previous version is kept (script versions {})",
                    script.name, script.name
                )
            });
            return Ok(0);
        }
        ScriptCommand::Versions { name } => {
            let list = engine.script_versions(&name).await?;
            printer.emit(&list, || {
                if list.is_empty() {
                    return format!("'{name}' has no previous versions");
                }
                table(
                    &["VERSION", "REPLACED AT", "BYTES"],
                    list.iter()
                        .map(|v| vec![v.id.clone(), v.replaced_at.clone(), v.bytes.to_string()])
                        .collect(),
                )
            });
            return Ok(0);
        }
        ScriptCommand::Restore { name, version } => {
            let script = engine.restore_script(&name, &version).await?;
            printer.emit(&script, || {
                format!(
                    "script '{}' is version {version} again; the text it replaced is kept as a version",
                    script.name
                )
            });
            return Ok(0);
        }
        ScriptCommand::Remove { name } => {
            engine.remove_script(&name).await?;
            printer.emit(&serde_json::json!({ "removed": name }), || {
                format!("script '{name}' removed")
            });
            return Ok(0);
        }
    };
    printer.emit(&script, || {
        format!(
            "script '{}' ({}) saved at {}",
            script.name,
            script.kind.as_str(),
            script.path
        )
    });
    Ok(0)
}
