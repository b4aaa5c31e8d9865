//! A run's folder (`DATA_DIR/runs/RUN_ID/`): the names of the files in it,
//! which of them a user is shown, and the plan an interrupted run leaves.
//! The script host, the sources, the pipeline and the facade all write or
//! read here; this module is where they agree on what is where.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{RunFile, RunFileKind};

/// The script's arguments (the script contract's `args.json`).
pub const ARGS: &str = "args.json";
/// The records the source produced.
pub const OUTPUT: &str = "output.json";
/// What the script reported as its error.
pub const ERROR: &str = "error.txt";
/// Touched by the script while it works; a stale one means it hung.
pub const HEARTBEAT: &str = "heartbeat";
/// The script's own log lines.
pub const SCRIPT_LOG: &str = "script.log";
/// What the run wrote besides (the script's captured output, masked).
pub const LOG: &str = "run.log";
/// New or changed cards between the pipeline's passes.
pub const SPILL: &str = "changes.spill";
/// Records validation blocked, with their reasons.
pub const BLOCKED: &str = "blocked.txt";
/// The same records' reasons as facts, one JSON object a line
/// ([`BlockedFacts`]), for a report to word in its language.
pub const BLOCKED_FACTS: &str = "blocked.facts.jsonl";
/// What an interrupted run would have done ([`PlanFile`]).
pub const PLAN: &str = "plan.json";
/// One blocked record's reason as facts (a line of [`BLOCKED_FACTS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockedFacts {
    /// Its place among the records (none for a repeated object id).
    pub record: Option<u64>,
    pub key: Option<String>,
    /// A key of the translation files' `messages`.
    pub message: String,
    pub values: Vec<(String, String)>,
}

/// What a run held over its update limit ([`HeldFile`]).
pub const HELD: &str = "held.json";
/// The changed cards a run held over its update limit, with their values
/// (see `pipeline::held`).
pub const HELD_CHANGES: &str = "held-changes.spill";
/// Cards a remote target refused, each with its reason.
pub const FAILED: &str = "failed.txt";
/// Present when someone asked the run to stop (any process may write it).
pub const STOP: &str = "stop-requested";
/// The run's latest progress, for windows of other processes.
pub const PROGRESS: &str = "progress.json";
/// An HR run: the file it read, as a report shows it.
pub const SOURCE_FILE: &str = "source-file.txt";
/// Where each record a run loaded sits in the file it read (see [`SourceRows`]).
pub const SOURCE_ROW_INDEX: &str = "source-rows.index";
/// A read event task: the values its script handed back.
pub const RETURNED: &str = "returned.json";
/// The process id of the run's script (its supervisor), for recovery after a crash.
pub const SCRIPT_PID: &str = "script.pid";

/// The files a run left that a user is shown (`run show`, the run detail),
/// each of a kind of its own: a file is saved by its kind.
const SHOWN: [(&str, RunFileKind); 11] = [
    (ARGS, RunFileKind::Args),
    (OUTPUT, RunFileKind::Output),
    (ERROR, RunFileKind::Error),
    (SCRIPT_LOG, RunFileKind::ScriptLog),
    (LOG, RunFileKind::Log),
    (PLAN, RunFileKind::Plan),
    (SPILL, RunFileKind::Changes),
    (BLOCKED, RunFileKind::Blocked),
    (FAILED, RunFileKind::Failed),
    (HELD, RunFileKind::Held),
    (HELD_CHANGES, RunFileKind::HeldChanges),
];

/// The [`SHOWN`] files that run directory `dir` holds.
pub fn list(dir: &Path) -> Vec<RunFile> {
    SHOWN
        .iter()
        .filter_map(|(name, kind)| {
            let p = dir.join(name);
            std::fs::metadata(&p).ok().map(|m| RunFile {
                kind: *kind,
                path: p.display().to_string(),
                size: m.len(),
                holds: kind.holds().to_string(),
            })
        })
        .collect()
}

/// The plan a guard trip leaves (`plan.json`): what the run would have
/// done, for the person deciding whether to approve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// Why the run stopped before loading.
    pub reason: String,
    /// Which limit refused (`update_limit` or `minimum_rows`, as
    /// [`crate::model::hr::ReportCase`] words them): what approving can help with.
    pub limit: String,
    pub new: u64,
    pub changed: u64,
    pub removals: u64,
    /// The first object ids the run would mark removed.
    pub removed_object_ids: Vec<String>,
    /// The run file holding every planned change.
    pub changes_file: String,
}

/// What a run held over its update limit (`on_limit: hold_excess`): its
/// removals, and its changed cards when those took it over (their values in
/// [`HELD_CHANGES`]); once a person approved them, the run that applied them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldFile {
    pub reason: String,
    /// (card id, object id) of every held removal.
    pub removals: Vec<(i64, String)>,
    /// How many changed cards were held ([`HELD_CHANGES`] has them).
    #[serde(default)]
    pub updates: u64,
    pub applied_by: Option<String>,
}

/// `1 removal`, `3 removals`: a count with its noun, as a plan words it.
pub fn counted(n: u64, what: &str) -> String {
    format!(
        "{} {what}{}",
        crate::model::Count(n),
        if n == 1 { "" } else { "s" }
    )
}

/// What a run held, in words: `2 changed cards and 1 removal`.
pub fn held_what(updates: u64, removals: u64) -> String {
    match (updates, removals) {
        (0, r) => counted(r, "removal"),
        (u, 0) => counted(u, "changed card"),
        (u, r) => format!("{} and {}", counted(u, "changed card"), counted(r, "removal")),
    }
}

impl HeldFile {
    /// What it holds, in words ([`held_what`]).
    pub fn what(&self) -> String {
        held_what(self.updates, self.removals.len() as u64)
    }

    pub fn read(dir: &Path) -> Option<HeldFile> {
        std::fs::read(dir.join(HELD))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Written whole next to itself, then renamed: never half a file.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let part = dir.join(format!("{HELD}.part"));
        std::fs::write(&part, serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        std::fs::rename(&part, dir.join(HELD))
    }
}

impl PlanFile {
    /// The plan an interrupted run left in `dir`, if any (a damaged one counts as none).
    pub fn read(dir: &Path) -> Option<PlanFile> {
        std::fs::read(dir.join(PLAN))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Writes the plan into the run folder `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(
            dir.join(PLAN),
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_a_run_shows_is_of_a_kind_of_its_own() {
        // A file is saved by its kind: two of one kind would save the first twice.
        let dir = tempfile::tempdir().unwrap();
        for (name, _) in SHOWN {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let files = list(dir.path());
        assert_eq!(files.len(), SHOWN.len());
        let kinds: std::collections::HashSet<_> = files.iter().map(|f| f.kind).collect();
        assert_eq!(kinds.len(), files.len(), "{files:?}");
        let held = files.iter().find(|f| f.kind == RunFileKind::HeldChanges).unwrap();
        assert!(held.path.ends_with(HELD_CHANGES), "{}", held.path);
        // Each says what it holds, in words of its own.
        let words: std::collections::HashSet<_> = files.iter().map(|f| f.holds.as_str()).collect();
        assert_eq!(words.len(), files.len(), "{files:?}");
        assert!(!words.contains(""));
    }

    #[test]
    fn a_plan_reads_back_as_written_and_a_damaged_one_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(PlanFile::read(dir.path()), None);
        let plan = PlanFile {
            reason: "12 updates exceed the update limit of 10".into(),
            limit: "update_limit".into(),
            new: 2,
            changed: 12,
            removals: 1,
            removed_object_ids: vec!["E-7".into()],
            changes_file: SPILL.into(),
        };
        plan.write(dir.path()).unwrap();
        assert_eq!(PlanFile::read(dir.path()), Some(plan));
        std::fs::write(dir.path().join(PLAN), b"{not json").unwrap();
        assert_eq!(PlanFile::read(dir.path()), None);
        assert_eq!(list(dir.path())[0].kind, RunFileKind::Plan);
    }
}

/// Where the records a run loaded came from in the file it read ([`SOURCE_FILE`]):
/// (xxh3 of the object id, row number) per record, in the order the source
/// wrote them, 12 bytes each. A card's history names the row that wrote it;
/// looking one key up reads the index once (a million rows: 12 MB), which a
/// history shown now and then can afford, and which costs the run nothing
/// but the writing.
#[derive(Debug)]
pub struct SourceRows {
    out: std::io::BufWriter<std::fs::File>,
}

impl SourceRows {
    pub fn create(run_dir: &Path) -> std::io::Result<SourceRows> {
        let file = std::fs::File::create(run_dir.join(SOURCE_ROW_INDEX))?;
        Ok(SourceRows {
            out: std::io::BufWriter::with_capacity(1 << 16, file),
        })
    }

    /// The record with object id hash `id` (see [`SourceRows::id_hash`]) is row `row` (1-based).
    pub fn add(&mut self, id: u64, row: u64) -> std::io::Result<()> {
        use std::io::Write;
        self.out.write_all(&id.to_le_bytes())?;
        self.out
            .write_all(&(row.min(u64::from(u32::MAX)) as u32).to_le_bytes())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        use std::io::Write;
        self.out.flush()
    }

    pub fn id_hash(object_id: &str) -> u64 {
        xxhash_rust::xxh3::xxh3_64(object_id.as_bytes())
    }

    /// The file a run read and the row of the record with `object_id`, when the run keeps them.
    pub fn find(run_dir: &Path, object_id: &str) -> Option<crate::model::SourceRow> {
        use std::io::Read;
        let shown = std::fs::read_to_string(run_dir.join(SOURCE_FILE)).ok()?;
        // Its name, as a report names it (a history is read far from the folder it was in).
        let file = Path::new(shown.trim())
            .file_name()
            .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
        let wanted = SourceRows::id_hash(object_id);
        let mut index = std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(run_dir.join(SOURCE_ROW_INDEX)).ok()?,
        );
        let mut entry = [0u8; 12];
        while index.read_exact(&mut entry).is_ok() {
            let (id, row) = entry.split_at(8);
            if u64::from_le_bytes(id.try_into().ok()?) == wanted {
                return Some(crate::model::SourceRow {
                    file,
                    row: u32::from_le_bytes(row.try_into().ok()?),
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod source_rows_tests {
    use super::*;

    #[test]
    fn a_record_s_row_is_found_by_its_object_id_and_an_unknown_id_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SOURCE_FILE), "workperiod.csv").unwrap();
        let mut rows = SourceRows::create(dir.path()).unwrap();
        for (id, row) in [("E-7", 3), ("E-1", 1), ("E-9", 70_000)] {
            rows.add(SourceRows::id_hash(id), row).unwrap();
        }
        rows.finish().unwrap();
        assert_eq!(
            SourceRows::find(dir.path(), "E-9"),
            Some(crate::model::SourceRow {
                file: "workperiod.csv".into(),
                row: 70_000
            })
        );
        assert_eq!(SourceRows::find(dir.path(), "E-7").map(|f| f.row), Some(3));
        assert_eq!(SourceRows::find(dir.path(), "E-2"), None);
    }
}
