//! Export and import packages (docs/package-format.md): one `.zip` whose every entry is
//! AES-256 encrypted with the user's password, so it opens with standard zip
//! tools that know the password (7-Zip) and with nothing else.
//!
//! Layout: `manifest.json`; `connectors/N.json` (a connector with its tasks,
//! secrets removed); `secrets/N.json` (that connector's secret values);
//! `scripts/NAME` (custom scripts the connectors use).
//!
//! Import reads and checks everything first (password, format version, safe
//! entry names and sizes, every template / folder / attribute the tasks need),
//! then applies it in one database transaction; keyring and script-file
//! writes are undone if anything fails, so a failed import changes nothing.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{EngineError, Result};
use crate::model::{Connector, Task};
use crate::rules;
use crate::secrets::Sensitive;

/// The package format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Shortest password a package may have.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Largest unpacked size and entry count an import accepts.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Manifest {
    pub format_version: u32,
    pub application_version: String,
    pub exported_at: String,
    pub source_environment_type: Option<String>,
    pub items: Vec<ManifestItem>,
}

/// What a manifest entry is. A kind this version does not know is kept as
/// written, so the import can refuse it by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ItemKind {
    Connector,
    Script,
    Unknown(String),
}

impl From<String> for ItemKind {
    fn from(word: String) -> Self {
        match word.as_str() {
            "connector" => ItemKind::Connector,
            "script" => ItemKind::Script,
            _ => ItemKind::Unknown(word),
        }
    }
}

impl From<ItemKind> for String {
    fn from(kind: ItemKind) -> Self {
        match kind {
            ItemKind::Connector => "connector".into(),
            ItemKind::Script => "script".into(),
            ItemKind::Unknown(word) => word,
        }
    }
}

/// What an import does with a connector, task or script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum PlanAction {
    /// New here.
    Create,
    /// A connector that exists: its fields are updated, its tasks merged.
    Merge,
    /// Exists and differs.
    Change,
    /// Exists and is the same.
    Unchanged,
}

impl PlanAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanAction::Create => "create",
            PlanAction::Merge => "merge",
            PlanAction::Change => "change",
            PlanAction::Unchanged => "unchanged",
        }
    }
}

/// Compares with the word as it appears in JSON and in the CLI's output.
impl PartialEq<&str> for PlanAction {
    fn eq(&self, word: &&str) -> bool {
        self.as_str() == *word
    }
}

impl std::fmt::Display for PlanAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ManifestItem {
    #[specta(type = String)]
    pub kind: ItemKind,
    pub name: String,
    pub file: String,
    #[serde(default)]
    pub tasks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PackagedConnector {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) connector_type: String,
    pub(crate) script: Option<String>,
    pub(crate) target: String,
    pub(crate) parameters: Value,
    pub(crate) secret_parameters: Vec<String>,
    pub(crate) tasks: Vec<Value>,
}

impl PackagedConnector {
    /// The connector as `connector create` would take it.
    pub(crate) fn as_input(&self) -> crate::model::ConnectorInput {
        crate::model::ConnectorInput {
            name: Some(self.name.clone()),
            connector_type: Some(self.connector_type.clone()),
            script: self.script.clone(),
            parameters: Some(self.parameters.clone()),
            secret_parameters: self.secret_parameters.clone(),
            target: Some(self.target.clone()),
            id: None,
            created_at: None,
            updated_at: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ExportSummary {
    pub path: String,
    pub connectors: Vec<String>,
    pub tasks: usize,
    pub scripts: Vec<String>,
    pub bytes: u64,
}

pub use crate::model::FieldChange;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TaskPlan {
    pub name: String,
    /// `create`, `change` or `unchanged`.
    pub action: PlanAction,
    pub changes: Vec<FieldChange>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConnectorPlan {
    pub name: String,
    /// `create` or `merge`.
    pub action: PlanAction,
    pub changes: Vec<FieldChange>,
    pub tasks: Vec<TaskPlan>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ScriptPlan {
    pub name: String,
    /// `create`, `change` or `unchanged`.
    pub action: PlanAction,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ImportPlan {
    pub dry_run: bool,
    pub manifest: Manifest,
    pub connectors: Vec<ConnectorPlan>,
    pub scripts: Vec<ScriptPlan>,
    pub notes: Vec<String>,
}

/// Refuses passwords that are too short, before anything is written.
pub fn check_password(password: &Sensitive<String>) -> Result<()> {
    if password.expose().chars().count() < MIN_PASSWORD_LEN {
        return Err(EngineError::invalid(
            "password",
            format!("a package password needs at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

pub(crate) fn package_error(path: &Path, message: impl std::fmt::Display) -> EngineError {
    EngineError::Input {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The decrypted content of a package, checked entry by entry.
#[derive(Debug)]
pub(crate) struct Package {
    pub(crate) manifest: Manifest,
    pub(crate) files: BTreeMap<String, Vec<u8>>,
}

pub(crate) fn read_package(path: &Path, password: &Sensitive<String>) -> Result<Package> {
    let file = std::fs::File::open(path)
        .map_err(|e| package_error(path, format!("cannot open the package: {e}")))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        package_error(
            path,
            format!("is not a readable package (damaged or not a zip file): {e}"),
        )
    })?;
    // The zip reader keeps one entry per name; the central directory's own
    // count shows whether a name was there twice.
    if let Some(declared_entries) = central_directory_entries(path) {
        if declared_entries != archive.len() {
            return Err(package_error(
                path,
                "has an entry name that appears twice; refused",
            ));
        }
    }
    if archive.len() > MAX_ENTRIES {
        return Err(package_error(
            path,
            format!(
                "has {} entries; a package holds at most {MAX_ENTRIES}",
                archive.len()
            ),
        ));
    }
    let mut names = Vec::with_capacity(archive.len());
    let mut seen = HashSet::new();
    let mut declared: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| package_error(path, format!("is damaged: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| package_error(path, format!("is damaged: {e}")))?
            .to_string();
        // Re-zipping tools (7-Zip) add entries for folders: harmless when
        // they stay inside the package, and they carry nothing to read.
        let folder = entry.is_dir();
        let plain = if folder {
            name.strip_suffix('/')
        } else {
            Some(name.as_str())
        };
        let inside = plain.is_some_and(safe_entry_name)
            && entry.enclosed_name().is_some()
            && !(folder && entry.size() > 0);
        if !inside {
            return Err(package_error(
                path,
                format!(
                    "entry '{}' points outside the package; refused",
                    rules::quoted(&name, 120)
                ),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(package_error(
                path,
                format!("entry '{name}' appears twice; refused"),
            ));
        }
        if folder {
            continue;
        }
        if !entry.encrypted() {
            return Err(package_error(
                path,
                format!(
                    "entry '{name}' is not encrypted; the package was not made by Provisio or was altered"
                ),
            ));
        }
        declared = declared.saturating_add(entry.size());
        if declared > MAX_UNPACKED_BYTES {
            return Err(package_error(
                path,
                format!("unpacks to more than {} MiB; refused", MAX_UNPACKED_BYTES >> 20),
            ));
        }
        names.push(name);
    }
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    for name in names {
        let mut entry = archive
            .by_name_decrypt(&name, password.expose().as_bytes())
            .map_err(|e| match e {
                zip::result::ZipError::InvalidPassword => EngineError::invalid(
                    "password",
                    format!("wrong password for {}; nothing was changed", path.display()),
                ),
                other => package_error(path, format!("is damaged: {other}")),
            })?;
        let mut content = Vec::new();
        // Sizes in a zip can lie: never read more than the limit allows.
        (&mut entry)
            .take(MAX_UNPACKED_BYTES - total + 1)
            .read_to_end(&mut content)
            .map_err(|e| {
                package_error(
                    path,
                    format!("entry '{name}' cannot be read (damaged or altered): {e}"),
                )
            })?;
        total += content.len() as u64;
        if total > MAX_UNPACKED_BYTES {
            return Err(package_error(
                path,
                format!("unpacks to more than {} MiB; refused", MAX_UNPACKED_BYTES >> 20),
            ));
        }
        files.insert(name, content);
    }
    let manifest_bytes = files
        .get("manifest.json")
        .ok_or_else(|| package_error(path, "has no manifest.json; not a Provisio package"))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| package_error(path, format!("has an unreadable manifest: {e}")))?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(package_error(
            path,
            format!(
                "uses package format version {}, which this Provisio ({}) cannot read (it reads version {FORMAT_VERSION})",
                manifest.format_version,
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    Ok(Package { manifest, files })
}

/// A relative path of plain names inside the package: no root, drive,
/// backslash, empty or `..` segment, no control character.
pub(crate) fn safe_entry_name(name: &str) -> bool {
    !name.starts_with('/')
        && !name.contains(['\\', ':'])
        && !name.chars().any(char::is_control)
        && name.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
}

/// The rules `connector create` and `script add` apply, applied to what a
/// package names before anything is written: a package is outside input,
/// and a name in it becomes a file name or a reference. Parameters come out
/// as `connector create` stores them.
pub(crate) fn check_packaged(
    manifest: &Manifest,
    packaged: &mut [(PackagedConnector, Map<String, Value>)],
) -> Result<()> {
    let refuse = |what: String, e: EngineError| {
        EngineError::invalid(
            "package",
            format!("{what} cannot be imported: {e}; nothing was imported"),
        )
    };
    let mut names = HashSet::new();
    for item in &manifest.items {
        match &item.kind {
            ItemKind::Connector => {}
            ItemKind::Script => rules::check_script_name(&item.name)
                .map_err(|e| refuse(format!("script '{}'", rules::quoted(&item.name, 80)), e))?,
            ItemKind::Unknown(other) => {
                return Err(EngineError::invalid(
                    "package",
                    format!(
                        "the manifest lists an item of unknown kind '{}'; nothing was imported",
                        rules::quoted(other, 40)
                    ),
                ))
            }
        }
    }
    for (c, secrets) in packaged.iter_mut() {
        let who = || format!("connector '{}'", rules::quoted(&c.name, 80));
        rules::check_secret_values(secrets).map_err(|e| refuse(who(), e))?;
        // The rules `connector create` applies, on the same input type, with
        // the secrets in place as `connector create` receives them.
        let mut input = c.as_input();
        input.parameters = Some(crate::secrets::merge_at_pointers(&c.parameters, secrets.clone()));
        let checked = rules::connector::check_input(&input).map_err(|e| refuse(who(), e))?;
        let parameters = input.parameters.clone().unwrap_or_default();
        crate::source::kind::check_parameters(checked.connector_type, &parameters, input.target.as_deref())
            .map_err(|e| refuse(who(), e))?;
        if !names.insert(c.name.clone()) {
            return Err(EngineError::invalid(
                "package",
                format!(
                    "connector '{}' appears twice in the package; nothing was imported",
                    c.name
                ),
            ));
        }
        c.parameters = rules::parameters_object(Some(std::mem::take(&mut c.parameters)))
            .map_err(|e| refuse(who(), e))?;
        c.script = checked.script;
    }
    Ok(())
}

/// The entry count in the end-of-central-directory record (None for zip64 or unreadable).
pub(crate) fn central_directory_entries(path: &Path) -> Option<usize> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(66 * 1024))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let count = u16::from_le_bytes([*tail.get(at + 10)?, *tail.get(at + 11)?]);
    (count != u16::MAX).then_some(count as usize)
}

pub(crate) fn json_entry<T: for<'de> Deserialize<'de>>(path: &Path, pkg: &Package, name: &str) -> Result<T> {
    let bytes = pkg
        .files
        .get(name)
        .ok_or_else(|| package_error(path, format!("lacks the entry '{name}' its manifest lists")))?;
    serde_json::from_slice(bytes)
        .map_err(|e| package_error(path, format!("entry '{name}' is unreadable: {e}")))
}

/// A task as packaged: its definition without ids, owner or usage data.
pub(crate) fn packaged_task(task: &Task) -> Value {
    let mut v = serde_json::to_value(task).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        for k in [
            "id",
            "connector_id",
            "connector_name",
            "references",
            "created_at",
            "updated_at",
            "next_run",
        ] {
            m.remove(k);
        }
        let declared: Vec<&str> = task
            .references
            .iter()
            .filter(|r| r.declared)
            .map(|r| r.caller.as_str())
            .collect();
        m.insert("declared_callers".into(), serde_json::json!(declared));
        // The realm is set by hand in each environment (the manual's rule): never exported.
        if let Some(Value::Object(a)) = m.get_mut("authentication") {
            a.remove("realm");
        }
    }
    v
}

pub(crate) fn diff(prefix: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let field = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                diff(
                    &field,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            field: prefix.to_string(),
            from: a.clone(),
            to: b.clone(),
        }),
        _ => {}
    }
}

/// What an import will write, prepared and validated before anything changes.
#[derive(Debug)]
pub(crate) struct Staged {
    pub(crate) connector: Connector,
    pub(crate) exists: bool,
    pub(crate) secrets: Map<String, Value>,
    pub(crate) tasks: Vec<(Task, bool)>,
}
