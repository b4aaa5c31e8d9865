//! Tauri commands: adapters that call the engine and map its error to the
//! one serializable [`ErrorBody`] the UI branches on by `code`. Each is
//! annotated for specta: `ipc::builder` collects them and generates their
//! TypeScript signatures (`ui/src/bindings.ts`), so the two sides cannot drift.

pub mod alerts;
pub mod audit;
pub mod authentication;
pub mod connectors;
pub mod data;
pub mod files;
pub mod logs;
pub mod packages;
pub mod runs;
pub mod scripts;
pub mod settings;
pub mod status;
pub mod targets;
pub mod tasks;
pub mod tokens;

pub use provisio_engine::error::ErrorCode;
use provisio_engine::ErrorBody;

pub type CommandResult<T> = Result<T, ErrorBody>;

/// An error of the shell itself (not the engine's), in the same shape.
pub fn shell_error(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
        remedy: None,
    }
}
