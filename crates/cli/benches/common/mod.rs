//! Helpers the benchmarks share (each bench file is its own crate root).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A number from the environment, or `default`.
pub fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `provisio --data-dir DATA ARGS`, which must succeed; its stdout and how long it took.
pub fn provisio(data: &Path, args: &[&str]) -> (String, Duration) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "provisio {args:?}: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (String::from_utf8(out.stdout).unwrap(), elapsed)
}
