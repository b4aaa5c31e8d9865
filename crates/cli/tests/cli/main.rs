//! Drives the built `provisio` binary the way a user or a script does and
//! checks what they would see: stdout, stderr and the exit code. One module
//! per command area; `support` holds what they share.

mod config;
mod directory;
mod hr;
mod packages_and_logs;
mod runs;
mod scripts;
mod serve;
// The engine tests' OpenLDAP helper: one slapd per test on 127.0.0.1.
#[allow(dead_code)]
#[path = "../../../engine/tests/engine/slapd.rs"]
mod slapd;
mod support;
