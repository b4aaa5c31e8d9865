//! Provisio's engine: everything the desktop app and the `provisio` CLI do,
//! with no UI dependency.
//!
//! # Layout
//!
//! Modules by layer, lowest first. A module uses only modules of lower
//! layers (and a few named neighbours of its own); `tests/engine/architecture.rs`
//! holds the same table and fails the build when an import goes upward or
//! SQL appears outside [`store`].
//!
//! | layer | module | owns |
//! | --- | --- | --- |
//! | 0 | [`clock`] | the time and new ids |
//! | 0 | [`model`] | plain data: settings, connectors, tasks, runs, templates, targets, cards to write |
//! | 0 | [`error`] | [`EngineError`], a stable code per kind and a typed remedy |
//! | 0 | [`json_array`] | streaming a JSON array element by element in bounded memory |
//! | 0 | [`jsonc`] | reading JSON with `//` comments and trailing commas |
//! | 0 | [`paths`] | where the data directory lives on each platform |
//! | 0 | [`platform`] | file permissions and opening script-written files without blocking, per platform |
//! | 0 | [`run_folder`] | the files of a run's folder: their names, which a user sees, the plan an interrupted run leaves |
//! | 0 | [`progress`] | live progress of running runs, pushed to listeners (the window) |
//! | 0 | [`workers`] | the worker slots every run takes one of, scheduler and workflow API alike |
//! | 1 | [`secrets`] | the OS keyring, the [`secrets::Sensitive`] type that cannot be printed, masking |
//! | 1 | [`rules`] | the checks a connector, task, template, setting, script name or secret must pass, for every way in; the settings table |
//! | 2 | [`store`] | the only code that speaks SQL: `provisio.db`, the card store's `datacards.db` ([`store::cards`]) and the load's bulk connection ([`store::bulk`]) |
//! | 2 | [`logging`] | the engine log: `tracing` into daily files, secrets masked |
//! | 3 | [`script_library`] | the script library: bundled scripts, custom scripts, the SDK module's files |
//! | 3 | [`script_host`] | running one Python process under the script contract; process groups per platform |
//! | 3 | [`targets`] | where loaded data goes: the [`targets::LoadTarget`] trait (commit included) and the local card store |
//! | 4 | [`source`] | turning a connector into a file of records: the `python_script` source |
//! | 5 | [`pipeline`] | validate → compare → guard → load → commit, the same for every source and target |
//! | 5 | [`scheduler`] | when runs are due, the worker limit, the one-scheduler-per-directory lock; calls the engine through [`scheduler::RunHost`] |
//! | 5 | [`package`] | the encrypted export and import package format |
//! | 6 | [`api`] | [`Engine`], the one facade the CLI and the Tauri commands call, one file per area |
//!
//! Data flows one way: CLI / UI → [`Engine`] → rules → source → pipeline →
//! target → store (and keyring). The shell and the CLI hold no business rules.

pub mod api;
pub mod clock;
pub mod error;
pub mod json_array;
pub mod jsonc;
pub mod logging;
pub mod model;
pub mod package;
pub mod paths;
pub mod pipeline;
pub mod platform;
pub mod progress;
pub mod rules;
pub mod run_folder;
pub mod scheduler;
pub mod script_host;
pub mod script_library;
pub mod secrets;
pub mod source;
pub mod store;
pub mod targets;
pub mod workers;

pub use api::Engine;
pub use error::{EngineError, ErrorBody, Result};
