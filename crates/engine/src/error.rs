//! Errors a caller can branch on. Every variant's message is written for the
//! person who has to fix the input; [`EngineError::code`] is the stable,
//! machine-readable kind the UI and `--json` output carry.

use serde::{Deserialize, Serialize};

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A connector, task, template, folder, target or script named by the user does not exist.
    #[error("{kind} '{name}' does not exist")]
    NotFound { kind: &'static str, name: String },

    /// A create or copy would give a second item the same name.
    #[error("{kind} named '{name}' already exists; choose another name")]
    AlreadyExists { kind: &'static str, name: String },

    /// Saving was refused because mandatory fields are empty; lists every one.
    #[error("missing mandatory fields: {}", fields.join(", "))]
    MissingFields { fields: Vec<String> },

    /// A field holds a value the engine cannot accept.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    /// An update tried to change a field that is fixed at creation.
    #[error("{field} cannot be changed after creation (it is '{current}')")]
    Immutable { field: &'static str, current: String },

    /// Removal of something still referenced, without force.
    #[error("{message}")]
    InUse { message: String },

    /// The input file could not be read or parsed.
    #[error("{path}: {message}")]
    Input { path: String, message: String },

    /// The OS keyring refused or is unavailable.
    #[error("the OS keyring is not usable: {0}. Unlock or start your keyring (Secret Service, Windows Credential Manager or Keychain) and try again; nothing was saved")]
    Keyring(String),

    /// The database could not be opened or written.
    #[error("database error: {0}")]
    Store(#[from] sqlx::Error),

    /// A database file could not be opened.
    #[error("cannot open the database {path}: {source}")]
    StoreOpen {
        path: String,
        #[source]
        source: sqlx::Error,
    },

    /// Something the engine stored earlier cannot be read back (a damaged
    /// or hand-edited database): not the current input's fault.
    #[error("{what} stored in the database cannot be read: {message}")]
    Stored { what: &'static str, message: String },

    /// The load's connection to the card store failed.
    #[error("card store error: {0}")]
    CardStore(#[from] rusqlite::Error),

    /// The disk is full: nothing was changed; free some space and try again.
    #[error("{context}: the disk is full; nothing was changed. Free some space and try again")]
    DiskFull { context: String },

    /// Another writer holds what this one needs, longer than it may wait.
    #[error("{message}")]
    Busy { message: String },

    /// Stopped on a user's request.
    #[error("{message}")]
    Stopped { message: String },

    /// A fault inside the engine (a worker thread ended unexpectedly): not the input's fault.
    #[error("internal error: {0}; please report it with the engine log (`logs export`)")]
    Internal(String),

    /// Any error, with what the person can do about it: each front end
    /// words the remedy its own way (a CLI flag, a button).
    #[error("{source}")]
    WithRemedy {
        source: Box<EngineError>,
        remedy: Remedy,
    },

    /// A remote target refused or could not be reached; the message names the target and what to check.
    #[error("target '{target}': {message}")]
    Remote {
        target: String,
        message: String,
        /// The server refused the credentials.
        refused: bool,
    },

    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a person can do about an error, named without any front end's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remedy {
    /// Set this setting (an example value given).
    SetSetting { key: String, example: String },
    /// Repeat the removal, forcing it past its references.
    Force,
    /// Approve the interrupted run's plan once.
    Approve { task: String },
    /// Add the script to the library.
    AddScript { name: String },
    /// The task is scheduled: run it instead of invoking it.
    RunTask { task: String },
    /// The task is an event task: invoke it instead of running it.
    InvokeEvent { task: String },
}

impl EngineError {
    /// This error with a remedy attached.
    pub fn with_remedy(self, remedy: Remedy) -> Self {
        EngineError::WithRemedy {
            source: Box::new(self),
            remedy,
        }
    }

    /// The remedy attached to this error, if any.
    pub fn remedy(&self) -> Option<&Remedy> {
        match self {
            EngineError::WithRemedy { remedy, .. } => Some(remedy),
            _ => None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        EngineError::NotFound {
            kind,
            name: name.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }

    /// Stable kind, for the UI and for scripts reading `--json` errors.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::WithRemedy { source, .. } => source.code(),
            EngineError::NotFound { .. } => ErrorCode::NotFound,
            EngineError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            EngineError::MissingFields { .. } => ErrorCode::MissingFields,
            EngineError::Invalid { .. } => ErrorCode::Invalid,
            EngineError::Immutable { .. } => ErrorCode::Immutable,
            EngineError::InUse { .. } => ErrorCode::InUse,
            EngineError::Input { .. } => ErrorCode::Input,
            EngineError::Keyring(_) => ErrorCode::Keyring,
            EngineError::Store(e) if is_disk_full_sqlx(e) => ErrorCode::DiskFull,
            EngineError::CardStore(e) if is_disk_full(e) => ErrorCode::DiskFull,
            EngineError::StoreOpen { source, .. } if is_disk_full_sqlx(source) => ErrorCode::DiskFull,
            EngineError::Store(_)
            | EngineError::Migrate(_)
            | EngineError::CardStore(_)
            | EngineError::StoreOpen { .. }
            | EngineError::Stored { .. } => ErrorCode::Store,
            EngineError::DiskFull { .. } => ErrorCode::DiskFull,
            EngineError::Io { source, .. } if source.raw_os_error() == Some(28) => ErrorCode::DiskFull,
            EngineError::Busy { .. } => ErrorCode::Busy,
            EngineError::Stopped { .. } => ErrorCode::Stopped,
            EngineError::Internal(_) => ErrorCode::Internal,
            EngineError::Remote { refused: true, .. } => ErrorCode::CredentialsRefused,
            EngineError::Remote { .. } => ErrorCode::Remote,
            EngineError::Io { .. } => ErrorCode::Io,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
            remedy: self.remedy().cloned(),
        }
    }
}

/// SQLite's "database or disk is full" (SQLITE_FULL) from the load's connection.
fn is_disk_full(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
}

/// SQLITE_FULL (13) from the store's pool.
fn is_disk_full_sqlx(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("13"))
}

/// What kind of error it is: the stable code the window, the CLI's `--json`
/// and the workflow API branch on. The last groups are the workflow API's
/// and the desktop shell's own refusals (the engine never raises them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    AlreadyExists,
    MissingFields,
    Invalid,
    Immutable,
    InUse,
    Input,
    Keyring,
    DiskFull,
    Store,
    Busy,
    Stopped,
    Internal,
    CredentialsRefused,
    Remote,
    Io,
    // The workflow API's refusals.
    Unauthorized,
    Forbidden,
    RateLimited,
    WrongHost,
    CrossOrigin,
    TooLarge,
    MethodNotAllowed,
    // The desktop shell's refusal of a path no dialog of this session chose.
    NotChosen,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 24] = [
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::MissingFields,
        ErrorCode::Invalid,
        ErrorCode::Immutable,
        ErrorCode::InUse,
        ErrorCode::Input,
        ErrorCode::Keyring,
        ErrorCode::DiskFull,
        ErrorCode::Store,
        ErrorCode::Busy,
        ErrorCode::Stopped,
        ErrorCode::Internal,
        ErrorCode::CredentialsRefused,
        ErrorCode::Remote,
        ErrorCode::Io,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::WrongHost,
        ErrorCode::CrossOrigin,
        ErrorCode::TooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NotChosen,
    ];

    /// The code as it is written (`not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::MissingFields => "missing_fields",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Immutable => "immutable",
            ErrorCode::InUse => "in_use",
            ErrorCode::Input => "input",
            ErrorCode::Keyring => "keyring",
            ErrorCode::DiskFull => "disk_full",
            ErrorCode::Store => "store",
            ErrorCode::Busy => "busy",
            ErrorCode::Stopped => "stopped",
            ErrorCode::Internal => "internal",
            ErrorCode::CredentialsRefused => "credentials_refused",
            ErrorCode::Remote => "remote",
            ErrorCode::Io => "io",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::WrongHost => "wrong_host",
            ErrorCode::CrossOrigin => "cross_origin",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NotChosen => "not_chosen",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one serializable error that crosses the IPC and `--json` boundaries.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub remedy: Option<Remedy>,
}

impl From<EngineError> for ErrorBody {
    fn from(e: EngineError) -> Self {
        e.body()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_written_as_it_crosses_the_boundaries() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(
                serde_json::from_value::<ErrorCode>(code.as_str().into()).unwrap(),
                code
            );
        }
    }

    #[test]
    fn faults_that_are_not_the_input_keep_their_own_code() {
        let full = EngineError::io("cannot write the spill", std::io::Error::from_raw_os_error(28));
        assert_eq!(full.code(), ErrorCode::DiskFull);
        assert_eq!(
            EngineError::Internal("a worker ended".into()).code(),
            ErrorCode::Internal
        );
        let stored = EngineError::Stored {
            what: "a run",
            message: "EOF".into(),
        };
        assert_eq!(stored.code(), ErrorCode::Store);
        assert_eq!(EngineError::Busy { message: "x".into() }.code(), ErrorCode::Busy);
        let with = EngineError::invalid("python", "not found").with_remedy(Remedy::Force);
        assert_eq!(
            (with.code(), with.to_string().as_str()),
            (ErrorCode::Invalid, "python: not found")
        );
        assert_eq!(with.body().remedy, Some(Remedy::Force));
    }
}
