//! The one tauri.conf.json lives at the repository root (see README, "Desktop
//! build"); tauri-build is pointed at it explicitly.
fn main() {
    let attributes = tauri_build::Attributes::new();
    if let Err(e) = tauri_build::try_build(attributes.config_path("../tauri.conf.json")) {
        panic!("tauri build step failed: {e:#}");
    }
}
