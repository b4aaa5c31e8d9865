//! The script library: bundled scripts (read-only, shipped inside the binary)
//! and custom scripts the user adds from a file (kept in the data directory).
//! Bundled files, including the SDK module, are written to the data directory
//! when the engine opens so the interpreter can run and import them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::rules::check_script_name;
use crate::store::Store;

pub use crate::rules::SDK_MODULE;

const SDK_SOURCE: &str = include_str!("../../../python/common_subroutines_efecte_library.py");
/// Loads the SDK before the script's folder goes on the path (see the file).
const SITECUSTOMIZE: &str = include_str!("../../../python/sitecustomize.py");

/// (name, kind, source) of every bundled script.
const BUNDLED: &[(&str, ScriptKind, &str)] = &[
    (
        "sample_users.py",
        ScriptKind::Scheduled,
        include_str!("../../../python/sample_users.py"),
    ),
    (
        "sample_event.py",
        ScriptKind::Event,
        include_str!("../../../python/sample_event.py"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ScriptKind {
    Scheduled,
    Event,
    Both,
}

impl ScriptKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "scheduled" => Some(Self::Scheduled),
            "event" => Some(Self::Event),
            "both" => Some(Self::Both),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Event => "event",
            Self::Both => "both",
        }
    }
    pub fn allows_scheduled(self) -> bool {
        matches!(self, Self::Scheduled | Self::Both)
    }
    pub fn allows_event(self) -> bool {
        matches!(self, Self::Event | Self::Both)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Script {
    pub name: String,
    pub kind: ScriptKind,
    /// Bundled scripts are read-only: copy one to a new name to modify it.
    pub bundled: bool,
    pub path: String,
}

/// A previous version of a custom script, kept when it was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ScriptVersion {
    /// What `script restore` takes: the time it was replaced, `YYYYMMDDTHHMMSSfffZ`.
    pub id: String,
    /// When it was replaced (RFC 3339).
    pub replaced_at: String,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct ScriptLibrary {
    root: PathBuf,
}

impl ScriptLibrary {
    pub fn new(data_dir: &Path) -> Self {
        ScriptLibrary {
            root: data_dir.join("scripts"),
        }
    }

    /// Directory put on PYTHONPATH: holds the SDK module.
    pub fn sdk_dir(&self) -> PathBuf {
        self.root.join("sdk")
    }

    fn bundled_dir(&self) -> PathBuf {
        self.root.join("bundled")
    }

    fn custom_dir(&self) -> PathBuf {
        self.root.join("custom")
    }

    /// Previous versions of the custom script `name` (a checked name: no separators).
    fn versions_dir(&self, name: &str) -> PathBuf {
        self.root.join("versions").join(name)
    }

    /// Writes the SDK and the bundled scripts where the interpreter finds
    /// them, when missing or out of date (a newer engine ships newer copies).
    pub fn install_bundled(&self) -> Result<()> {
        let write_if_changed = |path: PathBuf, content: &str| -> Result<()> {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(content) {
                let dir = path.parent().unwrap_or(Path::new("."));
                std::fs::create_dir_all(dir)
                    .map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, content)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|e| EngineError::io(format!("cannot write {}", path.display()), e))?;
            }
            Ok(())
        };
        write_if_changed(self.sdk_dir().join(format!("{SDK_MODULE}.py")), SDK_SOURCE)?;
        write_if_changed(self.sdk_dir().join("sitecustomize.py"), SITECUSTOMIZE)?;
        for (name, _, source) in BUNDLED {
            write_if_changed(self.bundled_dir().join(name), source)?;
        }
        std::fs::create_dir_all(self.custom_dir())
            .map_err(|e| EngineError::io("cannot create the custom script folder", e))
    }

    pub async fn list(&self, store: &Store) -> Result<Vec<Script>> {
        let mut out: Vec<Script> = BUNDLED
            .iter()
            .map(|(name, kind, _)| Script {
                name: name.to_string(),
                kind: *kind,
                bundled: true,
                path: self.bundled_dir().join(name).display().to_string(),
            })
            .collect();
        for (name, kind) in store.custom_scripts().await? {
            out.push(Script {
                path: self.custom_dir().join(&name).display().to_string(),
                kind: ScriptKind::parse(&kind).unwrap_or(ScriptKind::Both),
                bundled: false,
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub async fn find(&self, store: &Store, name: &str) -> Result<Script> {
        self.list(store)
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| EngineError::NotFound {
                kind: "script",
                name: name.to_string(),
            })
    }

    /// Adds a custom script from a file. Without `name` it keeps the file's name.
    pub async fn add(
        &self,
        store: &Store,
        file: &Path,
        kind: ScriptKind,
        name: Option<&str>,
    ) -> Result<Script> {
        let name = match name {
            Some(n) => n.trim().to_string(),
            None => file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        check_script_name(&name)?;
        let content = read_script_file(file)?;
        self.save_custom(store, &name, kind, &content).await
    }

    /// Copies any script (bundled or custom) to a new custom name.
    pub async fn copy(&self, store: &Store, from: &str, to: &str) -> Result<Script> {
        let source = self.find(store, from).await?;
        check_script_name(to)?;
        let content = std::fs::read(&source.path)
            .map_err(|e| EngineError::io(format!("cannot read {}", source.path), e))?;
        self.save_custom(store, to, source.kind, &content).await
    }

    async fn save_custom(
        &self,
        store: &Store,
        name: &str,
        kind: ScriptKind,
        content: &[u8],
    ) -> Result<Script> {
        if self.list(store).await?.iter().any(|s| s.name == name) {
            return Err(EngineError::AlreadyExists {
                kind: "script",
                name: name.to_string(),
            });
        }
        let path = self.custom_dir().join(name);
        std::fs::create_dir_all(self.custom_dir())
            .map_err(|e| EngineError::io("cannot create the custom script folder", e))?;
        std::fs::write(&path, content)
            .map_err(|e| EngineError::io(format!("cannot write {}", path.display()), e))?;
        if let Err(e) = store.insert_custom_script(name, kind.as_str()).await {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(Script {
            name: name.to_string(),
            kind,
            bundled: false,
            path: path.display().to_string(),
        })
    }

    /// The custom script `name`, refusing a bundled one with what to do instead.
    async fn custom(&self, store: &Store, name: &str, doing: &str) -> Result<Script> {
        let script = self.find(store, name).await?;
        if script.bundled {
            return Err(EngineError::invalid(
                "script",
                format!(
                    "'{name}' is bundled and read-only, so it cannot be {doing}; copy it to a new name first"
                ),
            ));
        }
        Ok(script)
    }

    /// Replaces a custom script's text with a new version; the current one is
    /// kept (see [`Self::versions`]) and can be restored.
    pub async fn update(&self, store: &Store, name: &str, file: &Path) -> Result<Script> {
        let script = self.custom(store, name, "replaced").await?;
        let content = read_script_file(file)?;
        let current = std::fs::read(&script.path)
            .map_err(|e| EngineError::io(format!("cannot read {}", script.path), e))?;
        if current == content {
            return Err(EngineError::invalid(
                "script",
                format!(
                    "{} holds the same text as '{name}' already; nothing was changed",
                    file.display()
                ),
            ));
        }
        self.keep_version(name, &current)?;
        write_atomically(Path::new(&script.path), &content)?;
        Ok(script)
    }

    /// The previous versions of a custom script, newest first.
    pub async fn versions(&self, store: &Store, name: &str) -> Result<Vec<ScriptVersion>> {
        self.custom(store, name, "versioned").await?;
        let mut out: Vec<ScriptVersion> = std::fs::read_dir(self.versions_dir(name))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().to_string_lossy().into_owned();
                let id = file.strip_suffix(".py")?.to_string();
                let when = chrono::NaiveDateTime::parse_from_str(&id, VERSION_FORMAT).ok()?;
                Some(ScriptVersion {
                    replaced_at: when
                        .and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                    id,
                })
            })
            .collect();
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    /// Makes a previous version current again; the text it replaces is kept as a version too.
    pub async fn restore(&self, store: &Store, name: &str, version: &str) -> Result<Script> {
        let script = self.custom(store, name, "restored").await?;
        // Only an id `versions` lists names a file: nothing else reaches the path.
        if !self.versions(store, name).await?.iter().any(|v| v.id == version) {
            return Err(EngineError::invalid(
                "version",
                format!(
                    "'{version}' is not a previous version of {name}; `script versions {name}` lists them"
                ),
            ));
        }
        let old = std::fs::read(self.versions_dir(name).join(format!("{version}.py")))
            .map_err(|e| EngineError::io(format!("cannot read version {version} of {name}"), e))?;
        let current = std::fs::read(&script.path)
            .map_err(|e| EngineError::io(format!("cannot read {}", script.path), e))?;
        self.keep_version(name, &current)?;
        write_atomically(Path::new(&script.path), &old)?;
        Ok(script)
    }

    /// Removes a custom script (and its previous versions). The caller has
    /// checked that no connector uses it.
    pub async fn remove(&self, store: &Store, name: &str) -> Result<()> {
        let script = self.custom(store, name, "removed").await?;
        store.delete_custom_script(name).await?;
        let _ = std::fs::remove_file(&script.path);
        let _ = std::fs::remove_dir_all(self.versions_dir(name));
        Ok(())
    }

    fn keep_version(&self, name: &str, content: &[u8]) -> Result<()> {
        let dir = self.versions_dir(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let mut stamp = chrono::Utc::now();
        // Two replacements within one millisecond still keep both.
        loop {
            let path = dir.join(format!("{}.py", stamp.format(VERSION_FORMAT)));
            if !path.exists() {
                return write_atomically(&path, content);
            }
            stamp += chrono::Duration::milliseconds(1);
        }
    }
}

/// A version's id: when it was replaced, sortable as text.
const VERSION_FORMAT: &str = "%Y%m%dT%H%M%S%3fZ";

/// A script file's bytes, refused unless UTF-8 text.
fn read_script_file(file: &Path) -> Result<Vec<u8>> {
    let content = std::fs::read(file).map_err(|e| EngineError::Input {
        path: file.display().to_string(),
        message: format!("cannot read the script: {e}"),
    })?;
    if std::str::from_utf8(&content).is_err() {
        return Err(EngineError::Input {
            path: file.display().to_string(),
            message: "is not a UTF-8 text file; a Python script is expected".into(),
        });
    }
    Ok(content)
}

/// Written beside and renamed: a run starting meanwhile reads the old or the new text, never half.
fn write_atomically(path: &Path, content: &[u8]) -> Result<()> {
    let tmp = path.with_extension("py.partial");
    std::fs::write(&tmp, content)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            EngineError::io(format!("cannot write {}", path.display()), e)
        })
}
