//! Tauri commands: adapters that call the engine and map its error to the
//! one serializable [`ErrorBody`] the UI branches on by `code`.

pub mod connectors;
pub mod settings;
pub mod status;
pub mod targets;
pub mod tokens;

use provisio_engine::ErrorBody;

pub type CommandResult<T> = Result<T, ErrorBody>;
