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
