//! The `hr_file` source: one HR file (CSV, a JSON array of flat objects, or
//! flat XML) fetched from a local folder, turned into the pipeline's records
//! file. A partial run keeps only the rows that differ from the archived
//! previous file; the archives are replaced only after the load committed.
//!
//! Files in the connector's folder (`DATA_DIR/connectors/CONNECTOR_ID/`):
//! `archive/<data_type>_archive.json` (every row of the last committed file)
//! and `archive/error_<data_type>_archive.json` (its blocked rows and why).

pub mod parameters;
pub mod report;
pub mod sftp;

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::hr::{CaseFacts, HrDataType, HrParameters, HrRunType, ReportCase};
use crate::run_folder as files;
use crate::source::{Extract, ExtractError};
use sftp::SftpFetch;

/// Staged archives wait here in the run directory until the commit.
const STAGED_ARCHIVE: &str = "archive.staged.json";

/// The staged archive's index: (object id hash, row hash) pairs sorted by
/// id hash, 16 bytes each, so that the next partial run compares without
/// parsing the JSON archive (measured: parsing it was most of a run's time).
const STAGED_INDEX: &str = "archive.staged.index";

/// Ends the name a commit moves the archive it replaces to, until it is deleted.
const REPLACED_SUFFIX: &str = ".replaced";

/// Archived rows by object id hash, sorted: (id hash, row hash).
type ArchiveIndex = Vec<(u64, u64)>;

/// How many rows the file held (a partial run fetches only the changed ones).
pub const SOURCE_ROWS: &str = "source-rows.txt";

/// The rows the HR file of the run in `run_dir` held, once it was read.
pub fn rows_in_file(run_dir: &Path) -> Option<u64> {
    std::fs::read_to_string(run_dir.join(SOURCE_ROWS))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// Every row of the last committed file of `data_type`, in a connector's folder.
pub fn archive_path(folder: &Path, data_type: HrDataType) -> PathBuf {
    folder.join("archive").join(format!("{data_type}_archive.json"))
}

/// The blocked rows of the last committed file of `data_type`, and why.
pub fn error_archive_path(folder: &Path, data_type: HrDataType) -> PathBuf {
    folder
        .join("archive")
        .join(format!("error_{data_type}_archive.json"))
}

/// An `hr_file` connector ready to fetch.
#[derive(Debug)]
pub struct HrFile {
    pub params: HrParameters,
    /// The connector's folder: relative `file_path`s start here; archives live below it.
    pub folder: PathBuf,
    /// The source column the task's object id is read from.
    pub id_column: String,
    /// Source columns the task maps (a CSV header must have each).
    pub mapped_columns: Vec<String>,
    /// The SFTP server the file comes from, when `sftp_server_fqdn` is set.
    pub sftp: Option<Arc<SftpFetch>>,
    /// How large a file and one field may be (the settings `hr_max_file_mb`, `hr_max_field_kb`).
    pub caps: SizeCaps,
}

/// How large an HR file and one of its fields may be; `None`: no limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct SizeCaps {
    pub file_bytes: Option<u64>,
    pub field_bytes: Option<u64>,
}

impl SizeCaps {
    /// From the settings.
    pub fn of(settings: &crate::model::Settings) -> SizeCaps {
        SizeCaps {
            file_bytes: settings.hr_max_file_mb.map(|mb| u64::from(mb) << 20),
            field_bytes: settings.hr_max_field_kb.map(|kb| u64::from(kb) << 10),
        }
    }

    /// Refuses a file of `size` bytes above the cap, naming the setting.
    pub fn check_file(&self, name: &str, size: u64) -> Result<(), String> {
        match self.file_bytes {
            Some(cap) if size > cap => Err(format!(
                "{name} holds {} MB, more than hr_max_file_mb ({} MB); nothing was loaded. \
                 If the file is right, raise the setting",
                size.div_ceil(1 << 20),
                cap >> 20
            )),
            _ => Ok(()),
        }
    }

    /// Refuses a field longer than the cap, naming where it is.
    fn check_field(&self, len: usize, at: impl FnOnce() -> String) -> Result<(), String> {
        match self.field_bytes {
            Some(cap) if len as u64 > cap => Err(format!(
                "{}: a field of {} KB, more than hr_max_field_kb ({} KB); nothing was loaded",
                at(),
                (len as u64).div_ceil(1 << 10),
                cap >> 10
            )),
            _ => Ok(()),
        }
    }
}

impl HrFile {
    pub fn archive_path(&self) -> PathBuf {
        archive_path(&self.folder, self.params.data_type)
    }

    pub fn archive_index_path(&self) -> PathBuf {
        self.archive_path().with_extension("index")
    }

    pub fn error_archive_path(&self) -> PathBuf {
        error_archive_path(&self.folder, self.params.data_type)
    }

    pub(super) async fn extract(&self, run: Extract<'_>) -> Result<PathBuf, ExtractError> {
        let dir = run.dir.to_path_buf();
        // The run's span goes along, so the blocking threads' events belong to the run.
        let span = tracing::Span::current();
        let (file, shown) = match &self.sftp {
            None => {
                let file = self.find_file()?;
                let shown = printable(&file.display().to_string());
                (file, shown)
            }
            Some(sftp) => {
                let (sftp, into, stop) = (sftp.clone(), dir.clone(), run.stop.clone());
                let pattern = self.remote_pattern();
                let span = span.clone();
                let fetched =
                    tokio::task::spawn_blocking(move || span.in_scope(|| sftp.fetch(&pattern, &into, &stop)))
                        .await
                        .map_err(|e| {
                            ExtractError::Failed(format!("fetching the HR file stopped unexpectedly: {e}"))
                        })??;
                let shown = format!(
                    "sftp://{}:{}{}",
                    self.params.sftp.as_ref().map(|s| s.server.as_str()).unwrap_or(""),
                    self.params.sftp.as_ref().map(|s| s.port).unwrap_or(22),
                    fetched.remote
                );
                (fetched.local, shown)
            }
        };
        tracing::debug!(file = %shown, run_type = %self.params.run_type, "HR file found");
        let this = HrFileJob {
            file,
            shown,
            dir,
            delimiter: self.params.delimiter,
            partial: self.params.run_type == HrRunType::Partial,
            archive: self.archive_path(),
            archive_index: self.archive_index_path(),
            id_column: self.id_column.clone(),
            mapped: self.mapped_columns.clone(),
            caps: self.caps,
        };
        tokio::task::spawn_blocking(move || span.in_scope(|| this.convert()))
            .await
            .map_err(|e| ExtractError::Failed(format!("reading the HR file stopped unexpectedly: {e}")))?
    }

    /// Over SFTP, `file_path`'s last part (`*.csv` in `./organization/*.csv`)
    /// is matched against the names in `sftp_remote_path_data`.
    fn remote_pattern(&self) -> String {
        let path = self.params.file_path.replace('\\', "/");
        path.rsplit('/').next().unwrap_or(&path).to_string()
    }

    /// Exactly one file matching `file_path`.
    fn find_file(&self) -> Result<PathBuf, ExtractError> {
        let pattern = if Path::new(&self.params.file_path).is_absolute() {
            PathBuf::from(&self.params.file_path)
        } else {
            self.folder.join(&self.params.file_path)
        };
        let text = pattern.to_string_lossy().into_owned();
        let matches: Vec<PathBuf> = glob::glob(&text)
            .map_err(|e| {
                ExtractError::Failed(format!(
                    "file_path '{}' is not a valid pattern: {e}",
                    self.params.file_path
                ))
            })?
            .filter_map(|p| p.ok())
            .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
            .collect();
        match matches.as_slice() {
            [] => Err(ExtractError::Case(
                ReportCase::FileNotReceived,
                format!(
                    "file not received: nothing matches '{}' in {}",
                    self.params.file_path,
                    self.folder.display()
                ),
                // The folder is a workstation path: a report names the pattern only.
                CaseFacts::new(
                    "file_not_received",
                    &[("pattern", report::shown_pattern(&self.params.file_path))],
                ),
            )),
            [one] => Ok(one.clone()),
            many => {
                let files = many
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| printable(&n.to_string_lossy())))
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(ExtractError::Case(
                    ReportCase::MultipleFiles,
                    format!(
                        "multiple files match '{}' ({files}); nothing was loaded. Leave one file and run the task again",
                        self.params.file_path,
                    ),
                    CaseFacts::new(
                        "multiple_files",
                        &[("pattern", report::shown_pattern(&self.params.file_path)), ("files", files)],
                    ),
                ))
            }
        }
    }

    /// After the load committed: the staged archive replaces the previous one,
    /// and the run's blocked rows become the error archive.
    /// Over SFTP, the fetched file then moves to the remote archive folder.
    pub async fn commit(&self, run_dir: &Path) -> Result<(), String> {
        self.commit_archives(run_dir)
            .map_err(|e| format!("the HR archive could not be replaced: {e}"))?;
        let Some(sftp) = self.sftp.clone() else {
            return Ok(());
        };
        let dir = run_dir.to_path_buf();
        let stamp = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| sftp.archive(&dir, &stamp)))
            .await
            .map_err(|e| format!("moving the HR file to the SFTP archive stopped unexpectedly: {e}"))?
    }

    fn commit_archives(&self, run_dir: &Path) -> std::io::Result<()> {
        let archive = self.archive_path();
        let mut discard = None;
        if let Some(parent) = archive.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let staged = run_dir.join(STAGED_ARCHIVE);
        if staged.exists() {
            // The previous archive is moved aside, the new one takes its name,
            // and the old one is deleted last on a thread of its own. Renaming
            // over it instead made the file system free its blocks (hundreds of
            // MB at a million rows) and flush the new file (ext4 does so for a
            // rename that replaces a file) inside the commit: ~0.15 s. Should
            // the process end between the two renames, the next run takes the
            // archive back from aside (see `previous_rows`).
            let replaced = replaced_path(&archive);
            let _ = std::fs::remove_file(&replaced);
            let moved = std::fs::rename(&archive, &replaced).is_ok();
            if let Err(e) = std::fs::rename(&staged, &archive) {
                if moved {
                    let _ = std::fs::rename(&replaced, &archive);
                }
                return Err(e);
            }
            if moved {
                discard = Some(replaced);
            }
            // Written after its archive: an index older than the archive is not trusted (see `previous_rows`).
            let index = run_dir.join(STAGED_INDEX);
            if index.exists() {
                let _ = std::fs::remove_file(self.archive_index_path());
                std::fs::rename(&index, self.archive_index_path())?;
            }
        }
        let blocked = std::fs::read_to_string(run_dir.join(files::BLOCKED)).unwrap_or_default();
        let errors: Vec<Value> = blocked
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (record, reason) = l.split_once(": ").unwrap_or(("", l));
                serde_json::json!({"record": record.trim_start_matches("record ").parse::<u64>().ok(), "reason": reason})
            })
            .collect();
        let tmp = self.error_archive_path().with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&errors).unwrap_or_default())?;
        std::fs::rename(&tmp, self.error_archive_path())?;
        // Last: freeing the old archive's blocks holds the file system's
        // journal, which the renames above would otherwise wait for.
        if let Some(replaced) = discard {
            discard_replaced(replaced);
        }
        Ok(())
    }
}

/// The blocking part of an extract.
struct HrFileJob {
    file: PathBuf,
    /// Where the file came from, as the report shows it.
    shown: String,
    dir: PathBuf,
    delimiter: char,
    partial: bool,
    archive: PathBuf,
    archive_index: PathBuf,
    id_column: String,
    mapped: Vec<String>,
    caps: SizeCaps,
}

type Row = Map<String, Value>;

impl HrFileJob {
    fn convert(self) -> Result<PathBuf, ExtractError> {
        let failed = |m: String| ExtractError::Failed(m);
        let name = self.shown.clone();
        let mut file = crate::platform::open_regular(&self.file)
            .map_err(|e| failed(format!("cannot read {name}: {e}")))?;
        let size = file
            .metadata()
            .map_err(|e| failed(format!("cannot read {name}: {e}")))?
            .len();
        self.caps.check_file(&name, size).map_err(failed)?;
        // Empty, or only blank lines: nothing was delivered.
        let mut head = [0u8; 4096];
        let n = file
            .read(&mut head)
            .map_err(|e| failed(format!("cannot read {name}: {e}")))?;
        let blank = |b: &[u8]| {
            b.iter()
                .all(|c| c.is_ascii_whitespace() || *c == 0xEF || *c == 0xBB || *c == 0xBF)
        };
        if blank(&head[..n]) && (n < head.len() || file_is_blank(&self.file)) {
            return Err(ExtractError::Case(
                ReportCase::FileEmpty,
                format!("the file {name} is empty"),
                // A report is read elsewhere: the file's name, not its workstation path.
                CaseFacts::new("file_empty", &[("file", report::shown_file(Path::new(&name)))]),
            ));
        }
        let reader = std::io::Cursor::new(head[..n].to_vec()).chain(file);
        let kind = self
            .file
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        // Which file this run read, for its report.
        let _ = std::fs::write(self.dir.join(files::SOURCE_FILE), &self.shown);
        let previous = if self.partial {
            Some(self.previous_rows()?)
        } else {
            None
        };
        let mut out = RowsOut::create(&self.dir, previous)
            .map_err(|e| failed(format!("cannot write the run's files: {e}")))?;
        match kind.as_str() {
            "csv" | "txt" => self.csv_rows(reader, &mut out)?,
            "json" => {
                // Element by element: memory holds one record, not the file.
                let mut records = crate::json_array::ArrayReader::new(reader);
                let mut index = 0u64;
                while let Some(element) = records
                    .next_element()
                    .map_err(|e| failed(format!("{name}: {}", json_shape(e))))?
                {
                    index += 1;
                    let row = json_record(element, index, &self.caps)
                        .map_err(|e| failed(format!("{name}: {e}")))?;
                    self.emit(&mut out, &row)?;
                }
            }
            "xml" => {
                let mut bytes = Vec::new();
                std::io::BufReader::new(reader)
                    .read_to_end(&mut bytes)
                    .map_err(|e| failed(format!("cannot read {name}: {e}")))?;
                let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
                // Rows go out as they end: the parsed file is never held as rows.
                let mut written = Ok(());
                xml_rows(bytes, &self.caps, &mut |row| {
                    written = self.emit(&mut out, row);
                    written.is_ok()
                })
                .map_err(|e| failed(format!("{name}: {e}")))?;
                written?;
            }
            other => {
                return Err(failed(format!(
                    "{name}: '.{other}' is not a format the HR connector reads; use .csv, .json or .xml"
                )))
            }
        }
        out.finish()
            .map_err(|e| failed(format!("cannot write the run's files: {e}")))
    }

    fn emit(&self, out: &mut RowsOut, row: &Row) -> Result<(), ExtractError> {
        out.row(
            &serde_json::to_vec(row).unwrap_or_default(),
            row.get(&self.id_column).map(value_text).as_deref(),
        )
        .map_err(|e| ExtractError::Failed(format!("cannot write the run's files: {e}")))
    }

    /// The archived previous file as (object id, row) hashes, sorted; a partial run needs it.
    /// Read from the archive's index when it is as new as the archive, else from the archive itself.
    fn previous_rows(&self) -> Result<ArchiveIndex, ExtractError> {
        // A commit that ended between moving the old archive aside and
        // putting the new one in place: the old one is still the archive.
        let aside = replaced_path(&self.archive);
        if !self.archive.exists() && aside.exists() {
            let _ = std::fs::rename(&aside, &self.archive);
        }
        let archived = std::fs::metadata(&self.archive).map_err(|_| {
            ExtractError::Case(ReportCase::ArchiveMissing, format!(
                "archive missing: a partial run compares with the previous file's archive {}, which does not exist; run the task once with run_type full",
                self.archive.display()
            ), CaseFacts::new("archive_missing", &[]))
        })?;
        let index_current = std::fs::metadata(&self.archive_index)
            .ok()
            .zip(archived.modified().ok())
            .and_then(|(m, archive_time)| m.modified().ok().map(|t| t >= archive_time && m.len() % 16 == 0))
            .unwrap_or(false);
        if index_current {
            if let Ok(bytes) = std::fs::read(&self.archive_index) {
                let index: ArchiveIndex = bytes
                    .chunks_exact(16)
                    .map(|c| {
                        let (a, b) = c.split_at(8);
                        (
                            u64::from_le_bytes(a.try_into().unwrap_or_default()),
                            u64::from_le_bytes(b.try_into().unwrap_or_default()),
                        )
                    })
                    .collect();
                if index.windows(2).all(|w| w[0].0 <= w[1].0) {
                    return Ok(index);
                }
            }
        }
        let unreadable = |e: String| {
            ExtractError::Failed(format!(
                "the archive {} cannot be read: {e}",
                self.archive.display()
            ))
        };
        let file = std::fs::File::open(&self.archive).map_err(|e| unreadable(e.to_string()))?;
        let mut rows = crate::json_array::ArrayReader::new(file);
        let mut index = Vec::new();
        while let Some(element) = rows.next_element().map_err(|e| unreadable(e.to_string()))? {
            if let Some(id) = id_of(element, &self.id_column).map_err(unreadable)? {
                index.push((hash(id.as_bytes()), hash(element)));
            }
        }
        index.sort_unstable();
        Ok(index)
    }

    fn csv_rows(&self, reader: impl Read + Send, out: &mut RowsOut) -> Result<(), ExtractError> {
        let failed = |m: String| ExtractError::Failed(format!("{}: {m}", self.shown));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter as u8)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(reader);
        let header: Vec<String> = {
            let h = reader
                .byte_headers()
                .map_err(|e| failed(format!("the header row cannot be read: {e}")))?;
            let mut names = Vec::new();
            for (i, field) in h.iter().enumerate() {
                // A byte-order mark before the first name is not part of it.
                let field = if i == 0 {
                    field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
                } else {
                    field
                };
                let text = std::str::from_utf8(field).map_err(|_| {
                    failed("line 1 (the header) is not valid UTF-8 text; save the file as UTF-8".into())
                })?;
                names.push(text.trim().to_string());
            }
            names
        };
        let lacking: Vec<&str> = self
            .mapped
            .iter()
            .filter(|c| !header.contains(c))
            .map(String::as_str)
            .collect();
        if !lacking.is_empty() {
            return Err(failed(format!(
                "the header row lacks the mapped columns {}; nothing was loaded",
                lacking.join(", ")
            )));
        }
        // `"name":` per column, written before each value.
        let keys: Vec<Vec<u8>> = header
            .iter()
            .map(|h| {
                let mut k = serde_json::to_vec(h).unwrap_or_default();
                k.push(b':');
                k
            })
            .collect();
        let id_slot = header.iter().position(|h| *h == self.id_column);
        // Two threads, one per core: this one parses the CSV, checks each
        // record's text and turns it into JSON; the caller's hashes, compares
        // and writes. (Measured: with the JSON built on the writing side, that
        // side did twice the parser's work, and the parser waited.) Batches
        // of rows go between the two and come back empty to be filled again
        // without allocating.
        const BATCH: usize = 4096;
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Result<JsonRows, String>>(4);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<JsonRows>();
        let keys = &keys;
        let caps = self.caps;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut record = csv::ByteRecord::new();
                let mut value = String::new();
                loop {
                    let mut batch = empty_rx.try_recv().unwrap_or_default();
                    batch.clear();
                    let mut ended = false;
                    while batch.rows.len() < BATCH {
                        match reader.read_byte_record(&mut record) {
                            Ok(true) => {}
                            Ok(false) => {
                                ended = true;
                                break;
                            }
                            Err(e) => {
                                let _ = full_tx.send(Ok(batch));
                                let _ = full_tx.send(Err(format!("cannot be read: {e}")));
                                return;
                            }
                        }
                        if record.iter().all(|f| f.iter().all(|b| b.is_ascii_whitespace())) {
                            continue;
                        }
                        // Whole-record check (SIMD); a short row lacks its last columns: they read as empty.
                        if simdutf8::basic::from_utf8(record.as_slice()).is_err() {
                            let line = record.position().map(|p| p.line()).unwrap_or(0);
                            let _ = full_tx.send(Ok(batch));
                            let _ = full_tx.send(Err(format!(
                                "line {line} is not valid UTF-8 text; save the file as UTF-8"
                            )));
                            return;
                        }
                        if let Err(e) = field_fits(&record, &caps) {
                            let _ = full_tx.send(Ok(batch));
                            let _ = full_tx.send(Err(e));
                            return;
                        }
                        batch.push(&record, keys, id_slot, &mut value);
                    }
                    if full_tx.send(Ok(batch)).is_err() || ended {
                        return;
                    }
                }
            });
            for batch in full_rx {
                let batch = batch.map_err(failed)?;
                for (json, id) in batch.iter() {
                    out.row(json, id)
                        .map_err(|e| failed(format!("cannot write the run's files: {e}")))?;
                }
                let _ = empty_tx.send(batch);
            }
            Ok(())
        })
    }
}

/// Rows of a CSV file as compact JSON, with their object ids, back to back.
#[derive(Default)]
struct JsonRows {
    json: Vec<u8>,
    ids: Vec<u8>,
    /// Per row: where its JSON ends, and where its id ends (`None`: no id column).
    rows: Vec<(usize, Option<usize>)>,
}

impl JsonRows {
    fn clear(&mut self) {
        self.json.clear();
        self.ids.clear();
        self.rows.clear();
    }

    /// Appends a record (checked as UTF-8 by the caller) as `{"name":"value",...}`.
    fn push(
        &mut self,
        record: &csv::ByteRecord,
        keys: &[Vec<u8>],
        id_slot: Option<usize>,
        value: &mut String,
    ) {
        let json = &mut self.json;
        // Most records need no escaping at all: one pass over the whole record
        // (without early exit, so that it vectorizes) decides for every field.
        let plain = !record
            .as_slice()
            .iter()
            .fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
        json.push(b'{');
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(key);
            let field = record.get(i).unwrap_or_default();
            if plain || field.iter().all(|b| *b >= 0x20 && *b != b'"' && *b != b'\\') {
                json.push(b'"');
                json.extend_from_slice(field);
                json.push(b'"');
            } else {
                // Escaped as serde_json escapes it.
                value.clear();
                value.push_str(std::str::from_utf8(field).unwrap_or_default());
                write_json_string(json, value);
            }
        }
        json.push(b'}');
        let id = id_slot.and_then(|s| record.get(s)).map(|f| {
            self.ids.extend_from_slice(f);
            self.ids.len()
        });
        self.rows.push((json.len(), id));
    }

    /// Each row's JSON and its id.
    fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&str>)> + '_ {
        let mut json_at = 0;
        let mut id_at = 0;
        self.rows.iter().map(move |&(json_end, id_end)| {
            let json = &self.json[json_at..json_end];
            json_at = json_end;
            let id = id_end.map(|end| {
                let id = &self.ids[id_at..end];
                id_at = end;
                // Checked as UTF-8 with its record.
                std::str::from_utf8(id).unwrap_or_default()
            });
            (json, id)
        })
    }
}

/// Offsets (in the staged archive) of the rows that differ from the previous
/// file, each with its id hash (`None` is for rows without an id, which the
/// caller adds). Both indexes are sorted by id hash, so one merge walks them in
/// memory order (measured: a lookup per row cost a cache miss per row, a
/// third of a partial run's reading). An id the previous file had several
/// times counts as unchanged when any of its rows matches.
fn changed_rows(current: &[(u64, u64, u64)], previous: &[(u64, u64)]) -> Vec<(u64, Option<u64>)> {
    let mut changed = Vec::new();
    let mut j = 0;
    for &(id, row, at) in current {
        while j < previous.len() && previous[j].0 < id {
            j += 1;
        }
        let same = previous[j..]
            .iter()
            .take_while(|(p, _)| *p == id)
            .any(|(_, r)| *r == row);
        if !same {
            changed.push((at, Some(id)));
        }
    }
    changed
}

/// A file written on a thread of its own, a megabyte at a time: the staged
/// archive is the largest thing a run writes (300 MB at a million rows), and
/// the kernel's copying of it kept the thread that builds it busiest.
#[derive(Default)]
struct WriterThread {
    buffer: Vec<u8>,
    full: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    empty: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl WriterThread {
    const CHUNK: usize = 1 << 20;

    fn create(path: &Path) -> std::io::Result<WriterThread> {
        let mut file = std::fs::File::create(path)?;
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new().name("archive-writer".into()).spawn(
            move || -> std::io::Result<()> {
                for mut chunk in full_rx {
                    file.write_all(&chunk)?;
                    chunk.clear();
                    let _ = empty_tx.send(chunk);
                }
                Ok(())
            },
        )?;
        Ok(WriterThread {
            buffer: Vec::with_capacity(Self::CHUNK),
            full: Some(full_tx),
            empty: Some(empty_rx),
            thread: Some(thread),
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= Self::CHUNK {
            let next = self
                .empty
                .as_ref()
                .and_then(|e| e.try_recv().ok())
                .unwrap_or_else(|| Vec::with_capacity(Self::CHUNK));
            let chunk = std::mem::replace(&mut self.buffer, next);
            let sent = self.full.as_ref().is_some_and(|f| f.send(chunk).is_ok());
            if !sent {
                // The thread stopped: its error says why.
                return self.finish();
            }
        }
        Ok(())
    }

    /// Writes what is left and waits for the thread; its error, if any.
    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(full) = self.full.take() {
            if !self.buffer.is_empty() {
                let _ = full.send(std::mem::take(&mut self.buffer));
            }
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the archive's writer stopped unexpectedly")),
            None => Err(std::io::Error::other("the archive's writer has stopped")),
        }
    }
}

/// Sorts rows by id hash: first in place into 256 buckets by the hash's top
/// byte (the hashes are uniform, so the buckets are even), then each bucket
/// on its own, small enough to stay in the cache. One sort of a million rows
/// went to memory for most comparisons; this is ~3x faster and needs no second buffer.
fn sort_by_id(rows: &mut [(u64, u64, u64)]) {
    const SMALL: usize = 1 << 12;
    if rows.len() <= SMALL {
        rows.sort_unstable_by_key(|r| r.0);
        return;
    }
    let bucket = |r: &(u64, u64, u64)| (r.0 >> 56) as usize;
    let mut counts = [0usize; 256];
    for r in rows.iter() {
        counts[bucket(r)] += 1;
    }
    let mut starts = [0usize; 256];
    let mut at = 0;
    for (b, n) in counts.iter().enumerate() {
        starts[b] = at;
        at += n;
    }
    let ends: Vec<usize> = (0..256).map(|b| starts[b] + counts[b]).collect();
    // American flag sort: each misplaced row is swapped into its bucket's next free slot.
    let mut next = starts;
    for b in 0..256 {
        while next[b] < ends[b] {
            let target = bucket(&rows[next[b]]);
            if target == b {
                next[b] += 1;
            } else {
                rows.swap(next[b], next[target]);
                next[target] += 1;
            }
        }
    }
    for b in 0..256 {
        rows[starts[b]..ends[b]].sort_unstable_by_key(|r| r.0);
    }
}

/// Where a commit moves the archive it replaces until it is deleted.
fn replaced_path(archive: &Path) -> PathBuf {
    archive.with_extension(format!("json{REPLACED_SUFFIX}"))
}

/// Deletes a replaced archive on a thread of its own. A process that ends
/// before the thread runs leaves it behind; the next commit of the
/// connector deletes it first.
fn discard_replaced(path: PathBuf) {
    let spawned = std::thread::Builder::new().name("archive-discard".into()).spawn({
        let path = path.clone();
        move || {
            let _ = std::fs::remove_file(&path);
        }
    });
    if spawned.is_err() {
        let _ = std::fs::remove_file(&path);
    }
}

/// Whether a file holds nothing but whitespace (read in chunks).
fn file_is_blank(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) if buf[..n].iter().all(|b| b.is_ascii_whitespace()) => continue,
            _ => return false,
        }
    }
}

fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// A JSON string, escaped as serde_json escapes it (plain text copied as is).
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// The value of `column` in one archived row, as text.
fn id_of(element: &[u8], column: &str) -> Result<Option<String>, String> {
    let row: HashMap<&str, &serde_json::value::RawValue> =
        serde_json::from_slice(element).map_err(|e| e.to_string())?;
    Ok(row
        .get(column)
        .map(|raw| serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())))
}

/// The run's two outputs, written as rows arrive: the staged archive (every
/// row) and the records file (every row, or on a partial run the rows that
/// differ from the archive).
struct RowsOut {
    archive: WriterThread,
    /// Bytes written to the staged archive so far: where the next row starts.
    at: u64,
    output: BufWriter<std::fs::File>,
    output_path: PathBuf,
    /// A partial run's previous rows; its changed rows are written at the end.
    previous: Option<ArchiveIndex>,
    /// This file's rows: (id hash, row hash, offset in the staged archive).
    rows: Vec<(u64, u64, u64)>,
    /// A partial run's rows without an id: always loaded.
    unkeyed: Vec<u64>,
    archived: u64,
    written: u64,
    dir: PathBuf,
    /// Each loaded record's row in the file (see [`files::SourceRows`]).
    source_rows: files::SourceRows,
    /// A partial run: where each row starts in the staged archive, in file
    /// order, so a changed row read back at the end knows its row number.
    starts: Vec<u64>,
}

impl RowsOut {
    fn create(dir: &Path, previous: Option<ArchiveIndex>) -> std::io::Result<RowsOut> {
        let output_path = dir.join(files::OUTPUT);
        let mut archive = WriterThread::create(&dir.join(STAGED_ARCHIVE))?;
        let mut output = BufWriter::with_capacity(1 << 20, std::fs::File::create(&output_path)?);
        archive.write_all(b"[")?;
        output.write_all(b"[")?;
        Ok(RowsOut {
            archive,
            at: 1,
            output,
            output_path,
            rows: Vec::with_capacity(previous.as_ref().map_or(0, |p| p.len() + p.len() / 16)),
            previous,
            unkeyed: Vec::new(),
            archived: 0,
            written: 0,
            dir: dir.to_path_buf(),
            source_rows: files::SourceRows::create(dir)?,
            starts: Vec::new(),
        })
    }

    /// One row as compact JSON, and its object id when it has one.
    fn row(&mut self, json: &[u8], id: Option<&str>) -> std::io::Result<()> {
        if self.archived > 0 {
            self.archive.write_all(b",\n")?;
            self.at += 2;
        }
        let at = self.at;
        self.archive.write_all(json)?;
        self.at += json.len() as u64;
        self.archived += 1;
        // The hash the row index is looked up by (the archive index keeps the same value).
        let id_hash = id.map(files::SourceRows::id_hash);
        match (id_hash, self.previous.is_some()) {
            (Some(id), _) => self.rows.push((id, hash(json), at)),
            (None, true) => self.unkeyed.push(at),
            (None, false) => {}
        }
        // A full run loads every row: written now. A partial run's changed rows are known at the end.
        if self.previous.is_none() {
            self.write_output(json)?;
            if let Some(id) = id_hash {
                self.source_rows.add(id, self.archived)?;
            }
        } else {
            self.starts.push(at);
        }
        Ok(())
    }

    fn write_output(&mut self, json: &[u8]) -> std::io::Result<()> {
        if self.written > 0 {
            self.output.write_all(b",\n")?;
        }
        self.output.write_all(json)?;
        self.written += 1;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<PathBuf> {
        self.archive.write_all(b"]\n")?;
        // Everything on disk (in the page cache) before the changed rows are read back.
        std::mem::take(&mut self.archive).finish()?;
        // By id only: comparing one word is what most of the sort costs (order among repeated ids does not matter).
        sort_by_id(&mut self.rows);
        let mut index =
            BufWriter::with_capacity(1 << 20, std::fs::File::create(self.dir.join(STAGED_INDEX))?);
        for (id, row, _) in &self.rows {
            index.write_all(&id.to_le_bytes())?;
            index.write_all(&row.to_le_bytes())?;
        }
        index.flush()?;
        if let Some(previous) = self.previous.take() {
            let mut changed = changed_rows(&self.rows, &previous);
            drop(previous);
            changed.extend(self.unkeyed.drain(..).map(|at| (at, None)));
            // In file order, read back from the staged archive (still in the
            // page cache). A small buffer, moved forward without dropping what
            // it holds: a seek that refilled 64 KB for each of 20,000 changed
            // rows of 300 bytes copied 1.3 GB, a fifth of a partial run.
            changed.sort_unstable();
            let mut archive = std::io::BufReader::with_capacity(
                4 << 10,
                std::fs::File::open(self.dir.join(STAGED_ARCHIVE))?,
            );
            let mut line = Vec::with_capacity(1024);
            let mut position = 0u64;
            for (at, id) in changed {
                use std::io::BufRead;
                if let (Some(id), Ok(i)) = (id, self.starts.binary_search(&at)) {
                    self.source_rows.add(id, i as u64 + 1)?;
                }
                archive.seek_relative(at as i64 - position as i64)?;
                line.clear();
                archive.read_until(b'\n', &mut line)?;
                position = at + line.len() as u64;
                // Rows end in ",\n", the last in "]\n"; compact JSON has no raw line break.
                let row = line
                    .strip_suffix(b",\n")
                    .or_else(|| line.strip_suffix(b"]\n"))
                    .unwrap_or(&line);
                let row = row.to_vec();
                self.write_output(&row)?;
            }
        }
        tracing::debug!(rows = self.archived, changed = self.written, "HR file read");
        std::fs::write(self.dir.join(SOURCE_ROWS), self.archived.to_string())?;
        self.source_rows.finish()?;
        self.output.write_all(b"]\n")?;
        self.output.flush()?;
        Ok(self.output_path)
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A CSV record whose fields each fit the cap (the whole record checked first: one comparison per row).
fn field_fits(record: &csv::ByteRecord, caps: &SizeCaps) -> Result<(), String> {
    let Some(cap) = caps.field_bytes else {
        return Ok(());
    };
    if record.as_slice().len() as u64 <= cap {
        return Ok(());
    }
    let longest = record.iter().map(<[u8]>::len).max().unwrap_or(0);
    caps.check_field(longest, || {
        format!("line {}", record.position().map(|p| p.line()).unwrap_or(0))
    })
}

/// Record `index` (from 1) of a JSON file: an object of fields within the cap.
fn json_record(element: &[u8], index: u64, caps: &SizeCaps) -> Result<Row, String> {
    let text = std::str::from_utf8(element)
        .map_err(|_| format!("record {index} is not valid UTF-8 text; save the file as UTF-8"))?;
    let row = match serde_json::from_str::<Record>(text) {
        Ok(Record::Object(row)) => row,
        Ok(Record::Other) => return Err(format!("element {index} is not an object")),
        Err(e) => return Err(format!("record {index} is not a JSON object: {e}")),
    };
    for value in row.values() {
        let len = match value {
            Value::String(s) => s.len(),
            other => other.to_string().len(),
        };
        caps.check_field(len, || format!("record {index}"))?;
    }
    Ok(row)
}

/// Why a JSON file is not an array of records, in the HR connector's words.
fn json_shape(e: crate::json_array::ArrayError) -> String {
    use crate::json_array::ArrayError;
    match e {
        ArrayError::Empty => "is empty".into(),
        ArrayError::NotAnArray(c) => format!("is not a JSON array of objects (it starts with '{c}')"),
        ArrayError::Truncated(n) => format!("ends inside record {n}; the file is incomplete"),
        ArrayError::Separator { record, found } => {
            format!("unexpected '{found}' after record {record}; records must be separated by commas")
        }
        ArrayError::TrailingText => "has text after the closing ']'".into(),
        ArrayError::Io(e) => format!("cannot be read: {e}"),
    }
}

/// One element of a JSON file: an object whose keys each appear once (a
/// repeated key is refused with its line, as in script output, instead of
/// the last one silently winning), or anything else.
enum Record {
    Object(Row),
    Other,
}

impl<'de> serde::Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Record;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a record")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
                let mut row = Row::new();
                while let Some(key) = map.next_key::<String>()? {
                    if row.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "the key '{}' appears twice in one record",
                            printable(&key)
                        )));
                    }
                    let value: Value = map.next_value()?;
                    row.insert(key, value);
                }
                Ok(Record::Object(row))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Record, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Record::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Record, E> {
                Ok(Record::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Record, E> {
                Ok(Record::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Record, E> {
                Ok(Record::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Record, E> {
                Ok(Record::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Record, E> {
                Ok(Record::Other)
            }
            fn visit_unit<E>(self) -> Result<Record, E> {
                Ok(Record::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Text from a file (its name, a key) as messages show it: control
/// characters, line breaks included, escaped, so that a name cannot forge a
/// line of a report or a terminal's output.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Flat XML: a root element holding one element per record, each holding
/// one element per field. Each record goes to `emit` as it ends; `emit`
/// answers whether to go on.
fn xml_rows(bytes: &[u8], caps: &SizeCaps, emit: &mut dyn FnMut(&Row) -> bool) -> Result<(), String> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        format!("line {line} is not valid UTF-8 text; save the file as UTF-8")
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let line_at = |at: u64| {
        text.as_bytes()[..(at as usize).min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    };
    let mut depth = 0usize;
    let mut root_ended = false;
    let mut row = Row::new();
    let mut field: Option<String> = None;
    let mut value = String::new();
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event();
        // One root element, and nothing but blanks, comments and declarations outside it.
        let outside = depth == 0;
        match &event {
            Ok(Event::Start(_) | Event::Empty(_)) if outside && root_ended => {
                return Err(format!(
                    "is not well-formed XML: a second root element at line {}; a file has one root holding every record",
                    line_at(at)
                ))
            }
            Ok(Event::Text(t)) if outside && !t.trim_ascii().is_empty() => {
                return Err(format!("is not well-formed XML: text outside the root element at line {}", line_at(at)))
            }
            Ok(Event::CData(_) | Event::GeneralRef(_)) if outside => {
                return Err(format!("is not well-formed XML: text outside the root element at line {}", line_at(at)))
            }
            Ok(Event::Eof) if depth > 0 => {
                return Err(format!("is not well-formed XML: the file ends at line {} inside an element", line_at(at)))
            }
            Ok(Event::Eof) if !root_ended => return Err("is not well-formed XML: there is no root element".into()),
            _ => {}
        }
        match event {
            Err(e) => return Err(format!("is not well-formed XML at line {}: {e}", line_at(at))),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth == 3 {
                    field = Some(e.local_name().as_ref().to_string());
                    value.clear();
                } else if depth > 3 {
                    return Err("records must be flat: an element inside a field".into());
                }
            }
            Ok(Event::Empty(e)) => {
                if depth == 0 {
                    root_ended = true;
                } else if depth == 2 {
                    row.insert(e.local_name().as_ref().to_string(), Value::String(String::new()));
                } else if depth == 1 && !emit(&Row::new()) {
                    return Ok(());
                }
            }
            Ok(Event::Text(t)) => {
                if field.is_some() {
                    value.push_str(&t);
                }
            }
            // Entities arrive as events of their own: `&amp;`, `&#233;`.
            Ok(Event::GeneralRef(r)) => {
                if field.is_some() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => value.push(c),
                        _ => match quick_xml::escape::resolve_predefined_entity(&r) {
                            Some(text) => value.push_str(text),
                            None => return Err(format!("the entity '&{};' is not defined", &*r)),
                        },
                    }
                }
            }
            Ok(Event::CData(t)) => {
                if field.is_some() {
                    value.push_str(&t.into_inner());
                }
            }
            Ok(Event::End(_)) => {
                if depth == 3 {
                    if let Some(name) = field.take() {
                        caps.check_field(value.len(), || format!("line {}", line_at(at)))?;
                        row.insert(name, Value::String(std::mem::take(&mut value)));
                    }
                } else if depth == 2 && !emit(&std::mem::take(&mut row)) {
                    return Ok(());
                }
                depth = depth.saturating_sub(1);
                root_ended |= depth == 0;
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of an XML file, as the extract reads them.
    fn xml_all(bytes: &[u8]) -> Result<Vec<Row>, String> {
        let mut rows = Vec::new();
        xml_rows(bytes, &SizeCaps::default(), &mut |r| {
            rows.push(r.clone());
            true
        })?;
        Ok(rows)
    }

    /// Every record of a JSON file, as the extract reads them.
    fn json_all(bytes: &[u8], caps: &SizeCaps) -> Result<Vec<Row>, String> {
        let mut records = crate::json_array::ArrayReader::new(bytes);
        let mut rows = Vec::new();
        while let Some(element) = records.next_element().map_err(json_shape)? {
            rows.push(json_record(element, rows.len() as u64 + 1, caps)?);
        }
        Ok(rows)
    }

    #[test]
    fn the_merge_finds_new_and_changed_rows_and_keeps_file_order_to_the_caller() {
        // (id, row hash, offset), sorted by id; the previous file by id.
        let current = [(1, 10, 500), (2, 20, 100), (2, 21, 300), (4, 40, 200), (5, 50, 0)];
        let previous = [(1, 10), (2, 21), (3, 30), (5, 99), (5, 50)];
        // 2/20 differs from the previous row of id 2, 4 is new; 5 matches one of its two previous rows.
        let at = |changed: Vec<(u64, Option<u64>)>| changed.into_iter().map(|c| c.0).collect::<Vec<_>>();
        assert_eq!(at(changed_rows(&current, &previous)), [100, 200]);
        assert_eq!(at(changed_rows(&current, &[])), [500, 100, 300, 200, 0]);
    }

    #[test]
    fn xml_that_is_not_well_formed_is_refused_with_its_line() {
        let two_roots = "<rows>\n<row><Id>1</Id></row>\n</rows>\n<rows>\n<row><Id>2</Id></row>\n</rows>\n";
        let e = xml_all(two_roots.as_bytes()).unwrap_err();
        assert!(e.contains("a second root element at line 4"), "{e}");
        let trailing = "<rows>\n<row><Id>1</Id></row>\n</rows>\ntrailing words\n";
        let e = xml_all(trailing.as_bytes()).unwrap_err();
        assert!(e.contains("text outside the root element at line 3"), "{e}");
        let unclosed = "<rows>\n<row><Id>1</Id></row>\n";
        assert!(xml_all(unclosed.as_bytes()).is_err());
        let fine = "<?xml version=\"1.0\"?>\n<!-- export -->\n<rows>\n<row><Id>1</Id></row>\n</rows>\n\n";
        assert_eq!(xml_all(fine.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn a_key_twice_in_one_json_record_is_refused_and_names_are_printable() {
        let none = SizeCaps::default();
        let e = json_all(b"[\n{\"Id\": \"1\"},\n{\"Id\": \"2\", \"Id\": \"3\"}\n]", &none).unwrap_err();
        assert!(
            e.contains("record 2") && e.contains("the key 'Id' appears twice in one record"),
            "{e}"
        );
        assert!(json_all(b"[{\"Id\": 1}, 5]", &none)
            .unwrap_err()
            .contains("element 2 is not an object"));
        assert_eq!(printable("a\nhint: b.csv"), "a\\u{a}hint: b.csv");
    }

    #[test]
    fn flat_xml_turns_into_one_object_per_record() {
        let rows = xml_all(
            br#"<?xml version="1.0"?><rows><row><id>1</id><name>A &amp; B</name><empty/></row><row><id>2</id><name><![CDATA[<C>]]></name></row></rows>"#,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], "A & B");
        assert_eq!(rows[0]["empty"], "");
        assert_eq!(rows[1]["name"], "<C>");
        assert!(
            xml_all(b"<rows><row><id><x/></id></row></rows>").is_err()
                || xml_all(b"<rows><row><id><x>1</x></id></row></rows>").is_err()
        );
    }

    #[test]
    fn invalid_utf8_in_json_names_its_record() {
        let e = json_all(b"[\n{\"a\": \"ok\"},\n{\"a\": \"\xff\"}]", &SizeCaps::default()).unwrap_err();
        assert!(e.contains("record 2 is not valid UTF-8"), "{e}");
    }

    #[test]
    fn fields_and_files_over_their_caps_are_refused_naming_the_setting() {
        let caps = SizeCaps {
            file_bytes: Some(1 << 20),
            field_bytes: Some(1 << 10),
        };
        let big = format!(
            "[{{\"Id\": \"1\"}}, {{\"Id\": \"2\", \"Note\": \"{}\"}}]",
            "x".repeat(2000)
        );
        let e = json_all(big.as_bytes(), &caps).unwrap_err();
        assert!(
            e.contains("record 2: a field of 2 KB, more than hr_max_field_kb (1 KB)"),
            "{e}"
        );
        let xml = format!("<w>\n<r><Id>1</Id>\n<Note>{}</Note></r>\n</w>", "x".repeat(2000));
        let e = xml_rows(xml.as_bytes(), &caps, &mut |_| true).unwrap_err();
        assert!(e.contains("a field of 2 KB"), "{e}");
        let e = caps.check_file("w.csv", 3 << 20).unwrap_err();
        assert!(
            e.contains("w.csv holds 3 MB, more than hr_max_file_mb (1 MB)"),
            "{e}"
        );
        assert!(SizeCaps::default().check_file("w.csv", u64::MAX).is_ok());
    }

    #[test]
    fn rows_sort_by_id_as_a_plain_sort_would() {
        for n in [0usize, 1, 100, 5000, 70_000] {
            let mut rows: Vec<(u64, u64, u64)> = (0..n as u64)
                .map(|i| (hash(&i.to_le_bytes()) ^ (i % 7) << 60, i, i * 3))
                .collect();
            let mut expected = rows.clone();
            expected.sort_by_key(|r| r.0);
            sort_by_id(&mut rows);
            assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0), "{n} rows sorted");
            let mut a = rows.clone();
            a.sort();
            expected.sort();
            assert_eq!(a, expected, "{n} rows: the same rows");
        }
    }
}
