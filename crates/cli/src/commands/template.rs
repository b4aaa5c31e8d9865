use provisio_engine::model::TemplateInput;
use provisio_engine::{Engine, EngineError};

use super::pretty;
use crate::args::TemplateCommand;
use crate::input::read_json_file;
use crate::output::{table, Printer};

pub async fn run(engine: &Engine, command: TemplateCommand, printer: &Printer) -> Result<i32, EngineError> {
    match command {
        TemplateCommand::List { target } => {
            let list = engine.templates(target.as_deref()).await?;
            let folders = engine.folders(target.as_deref()).await?;
            printer.emit(&list, || {
                table(
                    &["CODE", "NAME", "ATTRIBUTES", "FOLDERS", "BUILT-IN"],
                    list.iter()
                        .map(|t| {
                            vec![
                                t.code.clone(),
                                t.name.clone(),
                                t.attributes.len().to_string(),
                                folders
                                    .iter()
                                    .filter(|f| f.templates.contains(&t.code))
                                    .map(|f| f.code.as_str())
                                    .collect::<Vec<_>>()
                                    .join(","),
                                if t.built_in { "yes" } else { "no" }.into(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        TemplateCommand::Show { code, target } => {
            let t = engine.template(&code, target.as_deref()).await?;
            printer.emit(&t, || pretty(&t));
        }
        TemplateCommand::Add(f) => {
            let input: TemplateInput = read_json_file(&f.file)?;
            let t = engine.add_template(input).await?;
            printer.emit(&t, || {
                format!("template added '{}' ({} attributes)", t.code, t.attributes.len())
            });
        }
    }
    Ok(0)
}
