//! Provisio desktop app: a thin Tauri shell. It opens the engine on the data
//! directory (the same rules as the CLI: `PROVISIO_DATA_DIR`, else the
//! platform's user data directory) and exposes typed commands; the engine
//! holds every rule.

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod ipc;
mod scheduling;
mod state;

use provisio_engine::scheduler::lock::SchedulerStatus;
use provisio_engine::Engine;
use tauri::Manager;

/// Pushes the engine's run progress to the window as typed events.
fn forward_progress(
    app: tauri::AppHandle,
    mut progress: tokio::sync::broadcast::Receiver<provisio_engine::progress::RunProgress>,
) {
    use tauri_specta::Event;
    tauri::async_runtime::spawn(async move {
        loop {
            match progress.recv().await {
                Ok(p) => {
                    let _ = ipc::RunProgressEvent(p).emit(&app);
                }
                // Missed messages are superseded by the next one.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Pushes every change of who schedules to the window (the top bar's light).
fn forward_scheduling(app: tauri::AppHandle, mut changes: tokio::sync::watch::Receiver<SchedulerStatus>) {
    use tauri_specta::Event;
    tauri::async_runtime::spawn(async move {
        while changes.changed().await.is_ok() {
            let status = changes.borrow_and_update().clone();
            let _ = ipc::SchedulerStatusEvent(status).emit(&app);
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice() {
        if flag == "--export-bindings" {
            if let Err(e) = ipc::export(path) {
                eprintln!("provisio-desktop: cannot write the bindings to {path}: {e}");
                std::process::exit(1);
            }
            return;
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("provisio: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let engine = match runtime.block_on(Engine::open_default(None)) {
        // Changes made in the window are audited as the window's.
        Ok(engine) => engine.with_surface(provisio_engine::model::Surface::Window),
        Err(e) => {
            eprintln!("provisio: cannot open the data directory: {e}");
            std::process::exit(1);
        }
    };
    // Read once at start: the log level, the window's title and the workflow API's address.
    let settings = runtime.block_on(engine.settings()).unwrap_or_default();
    let _log = provisio_engine::logging::install(engine.data_dir(), settings.log_level.as_str());
    tauri::async_runtime::set(runtime.handle().clone());
    let title = state::window_title(&settings);
    let (scheduling, closing) =
        scheduling::watch_scheduling(&runtime, &engine, settings.workflow_api.clone());
    let scheduling_changes = scheduling.clone();
    let ipc = ipc::builder();
    let progress = engine.subscribe_progress();
    let result = tauri::Builder::default()
        .manage(state::AppState::new(engine, scheduling))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            forward_progress(app.handle().clone(), progress);
            forward_scheduling(app.handle().clone(), scheduling_changes);
            if let Some(window) = app.get_webview_window("main") {
                window.set_title(&title)?;
            }
            Ok(())
        })
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("provisio: the desktop app stopped with an error: {e}");
            std::process::exit(1);
        }
    };
    let mut closing = Some(closing);
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            // As `provisio serve` on SIGTERM: nothing new starts, running runs get their grace.
            if let Some(closing) = closing.take() {
                runtime.block_on(closing.close());
            }
        }
    });
}
