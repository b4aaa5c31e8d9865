//! [`Engine`]: the one facade the CLI and the desktop shell call. Every
//! business rule is applied here (through [`crate::rules`]) so both front
//! ends behave the same.
//!
//! One file per area, as the CLI has one command group per area:
//! [`settings`], [`connectors`], [`tasks`], [`targets`], [`templates`],
//! [`runs`], [`events`], [`scripts`], [`packages`], [`datacards`], [`logs`], the scheduler's
//! [`crate::scheduler::RunHost`] ([`scheduling`]),
//! [`alerts`]. This file holds opening and closing the engine.

mod alerts;
mod audit;
mod authentication;
mod connectors;
mod datacards;
mod events;
mod logs;
mod packages;
mod runs;
mod scheduling;
mod scripts;
mod settings;
mod targets;
mod tasks;
mod templates;
mod tokens;

pub use events::CardKey;
pub use logs::{LogExport, LogLine, LogSelection};
pub use runs::{FieldValue, PlannedCard, PlannedChanges, PlannedNew};
pub use tasks::ConnectorTaskSettings;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::clock::new_id;
use crate::error::{EngineError, Result};
use crate::model::Task;
use crate::paths;
use crate::script_library::ScriptLibrary;
use crate::secrets::Keyring;
use crate::store::Store;

/// Default seconds without a heartbeat before a script is stopped.
pub const DEFAULT_HEARTBEAT_TIMEOUT: u64 = 300;

pub use crate::model::LOCAL_TARGET;

#[derive(Debug, Clone)]
pub struct Engine {
    data_dir: PathBuf,
    store: Store,
    keyring: Keyring,
    scripts: ScriptLibrary,
    load_strategy: crate::pipeline::LoadStrategy,
    /// Shared by every clone: the scheduler and the workflow API take runs' slots here.
    worker_slots: std::sync::Arc<crate::workers::WorkerSlots>,
    /// Shared by every clone: running runs report their progress here.
    progress: crate::progress::ProgressHub,
    /// Where configuration changes made through this handle come from (the audit says).
    surface: crate::model::Surface,
}

/// The result of a task update: the saved task and what the user should know.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TaskUpdate {
    pub task: Task,
    pub warnings: Vec<String>,
}

/// What the status bar shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct EngineStatus {
    pub version: String,
    pub data_dir: String,
    pub environment_type: Option<crate::model::EnvironmentType>,
    /// Who schedules this data directory. Set by the shell.
    pub scheduler: Option<crate::scheduler::lock::SchedulerStatus>,
    /// Secure access: from the authentication tasks' latest runs (`none`: not configured).
    pub secure_access: crate::model::ConnectorStatus,
}

impl Engine {
    /// Opens the engine on a data directory, creating it and its database on first use.
    pub async fn open(data_dir: &Path) -> Result<Engine> {
        // Scripts run in their run directory: every path handed to them must be absolute.
        let data_dir = &std::path::absolute(data_dir).map_err(|e| {
            EngineError::io(
                format!("cannot resolve the data directory {}", data_dir.display()),
                e,
            )
        })?;
        paths::ensure_dir(data_dir)?;
        crate::platform::make_private(data_dir).map_err(|e| {
            EngineError::io(
                format!("cannot make the data directory {} private", data_dir.display()),
                e,
            )
        })?;
        let store = Store::open(data_dir).await?;
        store.seed_local_templates().await?;
        let installation_id = store.meta_or_init("installation_id", new_id).await?;
        let scripts = ScriptLibrary::new(data_dir);
        scripts.install_bundled()?;
        let workers = store.settings().await.map(|s| s.workers).unwrap_or(4);
        let engine = Engine {
            data_dir: data_dir.to_path_buf(),
            store,
            keyring: Keyring::new(installation_id),
            scripts,
            load_strategy: Default::default(),
            worker_slots: std::sync::Arc::new(crate::workers::WorkerSlots::new(workers as usize)),
            progress: Default::default(),
            surface: Default::default(),
        };
        engine.recover_abandoned_runs().await?;
        Ok(engine)
    }

    /// Opens the data directory chosen by `--data-dir`, `PROVISIO_DATA_DIR` or the platform default.
    pub async fn open_default(explicit: Option<&Path>) -> Result<Engine> {
        Engine::open(&paths::resolve_data_dir(explicit)?).await
    }

    /// Closes the database (checkpointing the WAL); the engine is unusable afterwards.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// This engine with loads driven the given way (tests run the pipeline
    /// under both drivers; users have no reason to choose).
    pub fn with_load_strategy(mut self, strategy: crate::pipeline::LoadStrategy) -> Engine {
        self.load_strategy = strategy;
        self
    }

    /// The worker slots runs take (see [`crate::workers`]).
    /// Progress messages of the runs this process executes, as they go.
    pub fn subscribe_progress(&self) -> tokio::sync::broadcast::Receiver<crate::progress::RunProgress> {
        self.progress.subscribe()
    }

    pub fn worker_slots(&self) -> &crate::workers::WorkerSlots {
        &self.worker_slots
    }

    pub(crate) fn load_strategy(&self) -> crate::pipeline::LoadStrategy {
        self.load_strategy
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn script_library(&self) -> &ScriptLibrary {
        &self.scripts
    }

    pub async fn status(&self) -> Result<EngineStatus> {
        Ok(EngineStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.data_dir.display().to_string(),
            environment_type: self.store.settings().await?.environment_type,
            scheduler: None,
            secure_access: self.secure_access().await?,
        })
    }
}
