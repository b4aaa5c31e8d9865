//! What a load writes into a target, as plain data: a card to write, what
//! became of it, which cards a full run may mark removed, and the task's cache.

/// The task's data cache as a commit saves it (the entries are streamed separately).
#[derive(Debug, Clone, Copy)]
pub struct CacheWrite<'a> {
    pub task_id: &'a str,
    /// The mappings the cache was computed for; other mappings void it.
    pub mappings_hash: &'a str,
    /// Bytes of entries that will be streamed.
    pub size: usize,
    /// When this run's extract started, for the next incremental run.
    pub last_extract: Option<&'a str>,
    /// Written only if the cache was not cleared after this (ms since 1970; see `store::cards`).
    pub valid_from_ms: i64,
    /// The entries are changes to the stored cache (see `pipeline::cache`), not all of it.
    pub delta: bool,
}

/// Streams a cache's entries into the target's storage.
pub type CacheEntries<'w> = dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()> + 'w;

/// A card found for an object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRef {
    pub id: i64,
}

/// Cards found by key: each key's card and its values.
pub type CardsByKey =
    std::collections::HashMap<String, (CardRef, serde_json::Map<String, serde_json::Value>)>;

/// What happened when one record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(CardRef),
    Updated(CardRef),
    /// The card already held every value written and stays its task's:
    /// nothing was written (a local target's answer; a remote one says `Updated`).
    Unchanged(CardRef),
    /// Updated a card that carried another task's id.
    TakenOver(CardRef),
    /// The target refused this card (a remote target's per-card error); the
    /// run counts it as failed and the target keeps the reason ([`crate::targets::LoadTarget::take_failures`]).
    Failed,
}

impl Upsert {
    /// Whether the target wrote the card (what a run's live progress counts as loaded).
    pub fn wrote(self) -> bool {
        matches!(
            self,
            Upsert::Created(_) | Upsert::Updated(_) | Upsert::TakenOver(_)
        )
    }
}

/// What writing a record would do, found without writing: a run over its
/// update limit counts the records its cache did not know (after a cache
/// clear: all of them) by what they would change, not as new cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreseen {
    /// No card holds the record's key yet.
    New,
    /// Its card holds every value already and stays its task's.
    Same,
    /// Its card would change (values, or the task that owns it).
    Changes,
}

/// One record to write.
#[derive(Debug)]
pub struct CardWrite<'a> {
    pub template: &'a str,
    pub folder: &'a str,
    pub key_attribute: &'a str,
    pub key: &'a str,
    /// The card id the task's cache remembers, tried first.
    pub known_card: Option<i64>,
    pub task_id: &'a str,
    /// The attribute that carries the task id on the card, when the task names one.
    pub task_id_attribute: Option<&'a str>,
    /// Card values as a JSON object (compact).
    pub data: &'a str,
}

/// Cards a full run may mark removed.
#[derive(Debug)]
pub struct RemovalQuery<'a> {
    pub template: &'a str,
    pub task_id: &'a str,
    pub status_attribute: &'a str,
    pub removed_value: &'a str,
    /// The attribute that carries the task id (a remote target filters on it).
    pub task_id_attribute: Option<&'a str>,
    /// The attribute the object id maps to (a remote target reads the key from it).
    pub key_attribute: &'a str,
}

/// One change the journal holds for a card: which run made it, when, and the fields before and after.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct CardChange {
    pub run_id: String,
    /// `CONNECTOR/TASK` of the run's task (empty when its task is gone).
    pub task: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `create`, `update` or `remove`.
    pub kind: String,
    /// Why, in words: "created by run R", "missing from full run R", "changed by run R".
    pub reason: String,
    pub changes: Vec<crate::model::FieldChange>,
    /// The fingerprint (xxh3 of object id and mapped values) of the source
    /// record that a load or read-back wrote; `None` for removals and undos,
    /// which write no record. A creation is journalled as part of a range of
    /// ids, without values: its fingerprint is taken from the card while the
    /// card still holds what was created, and kept when the card first changes.
    pub source_fingerprint: Option<String>,
    /// The file and row (1-based, the header not counted) of the record, when
    /// the run read a file and keeps its row index (HR runs).
    pub source_row: Option<SourceRow>,
}

/// Where a record came from in the file a run read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct SourceRow {
    /// The file's name.
    pub file: String,
    pub row: u32,
}

/// A field a card holds and its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct FieldValue {
    pub field: String,
    pub value: serde_json::Value,
}

/// One card an undo changes back, or cannot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct UndoStep {
    pub card_id: i64,
    /// The card's key (the task's object id) as the card holds it now;
    /// `None` when it holds none (or is gone from a remote target).
    #[serde(default)]
    pub object_id: Option<String>,
    /// Up to three other values the card holds now that say whose it is,
    /// names first (secrets masked), as the review of a plan shows them.
    #[serde(default)]
    pub holds: Vec<FieldValue>,
    /// `mark removed` (a card the run created), `set back` (fields it changed), `restore` (a card it marked removed).
    pub action: String,
    /// Each field from its value now to the value the undo writes.
    pub changes: Vec<crate::model::FieldChange>,
    /// Why the step is a conflict (a later run changed the field again; nothing to mark it removed with); `None` when it is not.
    pub conflict: Option<String>,
}

/// What undoing a run does, field by field; after an undo, the undo run's id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct UndoPlan {
    pub run_id: String,
    pub task: String,
    pub dry_run: bool,
    /// Steps applied (or to apply); conflicts are applied only with `force`.
    pub steps: Vec<UndoStep>,
    /// The undo's own run (it is in history and can be undone too); `None` for a dry run.
    pub undo_run_id: Option<String>,
}
