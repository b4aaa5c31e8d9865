//! The engine's integration tests: one binary, a module per area. Each test
//! opens a real SQLite file in a fresh temporary data directory; secret tests
//! use the real OS keyring (run under tools/with-keyring.sh).

#[cfg(unix)]
mod active_directory;
mod architecture;
mod audit;
#[cfg(unix)]
mod authentication;
mod connectors;
mod esm;
mod events;
mod fuzz;
mod hardening;
mod hr;
mod journal;
#[cfg(unix)]
mod ldap;
mod packages;
mod pipeline;
mod scheduler;
mod script_host;
mod scripted;
mod settings;
#[cfg(unix)]
mod sftp;
#[cfg(unix)]
mod slapd;
#[cfg(unix)]
mod sshd;
mod support;
mod tasks;
mod templates;
mod window;
