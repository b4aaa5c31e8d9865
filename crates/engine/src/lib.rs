//! Provisio's engine: everything the desktop app and the `provisio` CLI do,
//! with no UI dependency.
//!
//! # Layout
//!
//! | module | owns |
//! | --- | --- |
//! | [`clock`] | the time and new ids; the bottom layer |
//! | [`model`] | plain data: settings, connectors, tasks, templates, targets |
//! | [`rules`] | the checks a connector, task, script name or secret must pass, for every way in (CLI, UI, packages) |
//! | [`jsonc`] | reading JSON with `//` comments and trailing commas |
//! | [`store`] | the only code that speaks SQL; embedded migrations; `provisio.db` and the card store's `datacards.db` ([`store::cards`]) |
//! | [`secrets`] | the OS keyring and the [`secrets::Sensitive`] type that cannot be printed |
//! | [`paths`] | where the data directory lives on each platform |
//! | [`platform`] | file permissions and opening script-written files without blocking, per platform |
//! | [`script_library`] | the script library: bundled scripts, custom scripts, the SDK module's files |
//! | [`script_host`] | running one Python process under the script contract; process groups per platform |
//! | [`source`] | turning a connector into a file of records: the `python_script` source runs the script host |
//! | [`pipeline`] | extract → validate → compare → guard → load → commit, for every connector type |
//! | [`targets`] | where loaded data goes: the [`targets::LoadTarget`] trait and the local card store |
//! | [`scheduler`] | when runs are due, the worker limit, the one-scheduler-per-directory lock |
//! | [`package`] | encrypted export and import packages |
//! | [`api`] | [`Engine`], the one facade the CLI and the Tauri commands call, one file per area (runs and event invocations included) |
//! | [`error`] | [`EngineError`], with a stable code per kind for the UI and scripts |
//!
//! Data flows one way: CLI / UI → [`Engine`] → rules → store (and keyring).
//! The shell and the CLI hold no business rules.

pub mod api;
pub mod clock;
pub mod error;
pub mod jsonc;
pub mod logging;
pub mod model;
pub mod package;
pub mod paths;
pub mod pipeline;
pub mod platform;
pub mod rules;
pub mod scheduler;
pub mod script_host;
pub mod script_library;
pub mod secrets;
pub mod source;
pub mod store;
pub mod targets;

pub use api::Engine;
pub use error::{EngineError, ErrorBody, Result};
