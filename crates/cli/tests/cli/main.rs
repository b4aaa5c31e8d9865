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
mod support;
