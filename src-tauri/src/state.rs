//! What the shell keeps between commands: the engine, opened once.

use provisio_engine::Engine;

pub struct AppState {
    pub engine: Engine,
    /// `running` when this app schedules the data directory, else who does or why nobody does; kept current.
    pub scheduling: tokio::sync::watch::Receiver<provisio_engine::scheduler::lock::SchedulerStatus>,
    /// Paths the user chose in a file dialog of this session (commands::files).
    pub chosen: std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>,
}

impl AppState {
    pub fn new(
        engine: Engine,
        scheduling: tokio::sync::watch::Receiver<provisio_engine::scheduler::lock::SchedulerStatus>,
    ) -> Self {
        AppState {
            engine,
            scheduling,
            chosen: Default::default(),
        }
    }
}

/// "Provisio — TEST": the environment type is always visible, even before the UI loads.
pub fn window_title(settings: &provisio_engine::model::Settings) -> String {
    match settings.environment_type {
        Some(env) => format!("Provisio — {}", env.as_str().to_uppercase()),
        None => "Provisio — environment not set".to_string(),
    }
}
