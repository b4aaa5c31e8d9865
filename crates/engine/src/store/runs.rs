//! Runs, task caches and local datacards as the async side sees them. The
//! load itself writes through `targets::local` on its own connection.

use sqlx::Row;

use super::Store;
use crate::error::{EngineError, Result};
use crate::model::Run;

/// A task's cache row.
#[derive(Debug, Default, Clone)]
pub struct CacheRow {
    pub mappings_hash: String,
    /// The cache as last written whole, then the changes since (both sorted
    /// by id when `delta` is not empty; see `pipeline::cache`).
    pub entries: Vec<u8>,
    pub delta: Vec<u8>,
    pub last_successful_extract: Option<String>,
}

/// A card of the local store, for listing.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct Datacard {
    pub id: i64,
    pub template: String,
    pub folder: String,
    pub data: serde_json::Value,
    pub updated_at: String,
    /// The id of the task that last wrote the card, when a task did.
    pub task: Option<String>,
}

/// The cards of template `?1` (in folder `?2`, when not NULL) with an id
/// above `?3`, as a listing shows them (the columns of [`Datacard::listed`]);
/// `$template` is how the card's template is matched (see [`NEAR_CARDS`]).
macro_rules! card_listing {
    ($template:literal) => {
        concat!(
            "SELECT d.id, t.name AS template, f.name AS folder, d.data, d.updated_at, k.name AS task
             FROM datacards_now d JOIN card_names t ON t.id = ",
            $template,
            " JOIN card_names f ON f.id = d.folder
             LEFT JOIN card_names k ON k.id = d.task
             WHERE t.name = ?1 AND (?2 IS NULL OR f.name = ?2) AND d.id > ?3"
        )
    };
}

/// A listing SQLite reads through the template's index: a caller adds its
/// own conditions, the order and the limit.
pub(super) const CARD_LISTING: &str = card_listing!("d.template");

/// [`CARD_LISTING`] with the template's index left aside (the `+`): SQLite
/// reads the table by id from `?3` on.
pub(super) const CARD_LISTING_BY_ID: &str = card_listing!("+d.template");

/// The cards above `?3` up to id `?5` in id order, at most `?4`, read by id.
const NEAR_CARDS: &str = concat!(
    card_listing!("+d.template"),
    " AND d.id <= ?5 ORDER BY d.id LIMIT ?4"
);

/// Rows by id [`NEAR_CARDS`] looks at for each card a page wants. A
/// template's cards lie close together by id (a load creates its new cards
/// one after the other), so for a template that holds most of the store the
/// rows after the last card shown hold the next page. SQLite's own plan reads
/// the template's index and sorts all of its cards by id for every page:
/// 0.25 s a page at a million cards (a listing of them all, 1,000 pages).
const NEAR_ROWS_PER_CARD: i64 = 4;

impl Datacard {
    /// A card from the columns of [`CARD_LISTING`], whichever driver read them.
    pub(super) fn listed(
        id: i64,
        template: String,
        folder: String,
        data: &str,
        updated_ms: i64,
        task: Option<String>,
    ) -> Datacard {
        Datacard {
            id,
            template,
            folder,
            data: serde_json::from_str(data).unwrap_or_default(),
            updated_at: crate::clock::time_of_millis(updated_ms),
            task,
        }
    }
}

fn run_from_summary(summary: &str) -> Result<Run> {
    serde_json::from_str(summary).map_err(|e| EngineError::Stored {
        what: "a run",
        message: e.to_string(),
    })
}

impl Store {
    pub async fn insert_run(&self, run: &Run) -> Result<()> {
        sqlx::query(
            "INSERT INTO runs (id, task_id, trigger, status, planned_at, started_at, finished_at, summary, kind, stage, owner_pid)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.id)
        .bind(&run.task_id)
        .bind(run.trigger.as_str())
        .bind(run.status.as_str())
        .bind(&run.planned_at)
        .bind(&run.started_at)
        .bind(&run.finished_at)
        .bind(serde_json::to_string(run).unwrap_or_default())
        .bind(run.kind.as_str())
        .bind(run.stage.map(|s| s.as_str()))
        .bind(std::process::id() as i64)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets the planned (scheduled) time of a run.
    pub async fn set_planned(&self, run_id: &str, planned: &str) -> Result<()> {
        sqlx::query(
            "UPDATE runs SET planned_at = ?, summary = json_set(summary, '$.planned_at', ?) WHERE id = ?",
        )
        .bind(planned)
        .bind(planned)
        .bind(run_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn save_run(&self, run: &Run) -> Result<()> {
        sqlx::query("UPDATE runs SET status = ?, stage = ?, finished_at = ?, summary = ? WHERE id = ?")
            .bind(run.status.as_str())
            .bind(run.stage.map(|s| s.as_str()))
            .bind(&run.finished_at)
            .bind(serde_json::to_string(run).unwrap_or_default())
            .bind(&run.id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The process recorded as executing a run, while it is running.
    pub async fn running_run_owner(&self, run_id: &str) -> Result<Option<Option<i64>>> {
        Ok(
            sqlx::query_scalar("SELECT owner_pid FROM runs WHERE id = ? AND status = 'running'")
                .bind(run_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn claim_run(&self, run_id: &str) -> Result<()> {
        sqlx::query("UPDATE runs SET owner_pid = ? WHERE id = ?")
            .bind(std::process::id() as i64)
            .bind(run_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn run(&self, id: &str) -> Result<Option<Run>> {
        let row: Option<String> = sqlx::query_scalar("SELECT summary FROM runs WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|s| run_from_summary(&s)).transpose()
    }

    pub async fn task_runs(&self, task_id: &str, limit: u32) -> Result<Vec<Run>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT summary FROM runs WHERE task_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
        )
        .bind(task_id)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|s| run_from_summary(s)).collect()
    }

    /// The task's running runs (normally one).
    /// When the task's newest successful run ended, if it ever had one.
    pub async fn last_success(&self, task_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar(
                "SELECT MAX(finished_at) FROM runs WHERE task_id = ? AND status = 'succeeded'",
            )
            .bind(task_id)
            .fetch_one(self.pool())
            .await?,
        )
    }

    pub async fn running_runs_of(&self, task_id: &str) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM runs WHERE task_id = ? AND status = 'running'")
                .bind(task_id)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Runs still marked running, with the process that executes them.
    pub async fn running_runs(&self) -> Result<Vec<(String, Option<i64>)>> {
        Ok(
            sqlx::query_as("SELECT id, owner_pid FROM runs WHERE status = 'running'")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn cache(&self, task_id: &str) -> Result<Option<CacheRow>> {
        self.cache_row(
            "COALESCE((SELECT e.entries FROM task_cache_entries e WHERE e.task_id = ?1), entries)",
            "COALESCE((SELECT d.entries FROM task_cache_delta d WHERE d.task_id = ?1), X'')",
            task_id,
        )
        .await
    }

    /// A task's cache row without its entries: enough to choose the run type
    /// without reading a blob of tens of MB.
    pub async fn cache_summary(&self, task_id: &str) -> Result<Option<CacheRow>> {
        self.cache_row("X''", "X''", task_id).await
    }

    /// The cache row of a task, with `entries` and `delta` as the blobs' columns or empty literals.
    async fn cache_row(&self, entries: &str, delta: &str, task_id: &str) -> Result<Option<CacheRow>> {
        // A reset is stamped one millisecond after it happened (see `clear_cache`), so
        // `valid_from >= reset_at` holds exactly for runs that started after it.
        // Entries written by a run that started before the last clear do not
        // count (see `cards`); its last successful extract counts until the
        // task's incremental state is reset.
        let row = sqlx::query(&format!(
            "SELECT mappings_hash,
                CASE WHEN valid_from >= COALESCE(
                    (SELECT MAX(reset_at) FROM cache_resets WHERE task_id IN (?1, '*')), -1)
                  THEN {entries} ELSE X'' END AS entries,
                CASE WHEN valid_from >= COALESCE(
                    (SELECT MAX(reset_at) FROM cache_resets WHERE task_id IN (?1, '*')), -1)
                  THEN {delta} ELSE X'' END AS delta,
                CASE WHEN valid_from >= COALESCE(
                    (SELECT MAX(reset_at) FROM incremental_resets WHERE task_id = ?1), -1)
                  THEN last_successful_extract END AS last_successful_extract
             FROM task_cache WHERE task_id = ?1"
        ))
        .bind(task_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(CacheRow {
                mappings_hash: r.try_get("mappings_hash")?,
                entries: r.try_get("entries")?,
                delta: r.try_get("delta")?,
                last_successful_extract: r.try_get("last_successful_extract")?,
            })
        })
        .transpose()
    }

    /// Clears a task's cache (`*`: every task's) without touching the card
    /// store, so it never waits for a load. An incremental task stays
    /// incremental ([`Store::reset_incremental`] is the other reset).
    pub async fn clear_cache(&self, task_id: &str) -> Result<()> {
        self.stamp_reset("cache_resets", task_id).await
    }

    /// Resets a task's incremental state: its next run is full. The data cache stays.
    pub async fn reset_incremental(&self, task_id: &str) -> Result<()> {
        self.stamp_reset("incremental_resets", task_id).await
    }

    /// Records a reset of `task_id` in `table` (`cache_resets` or `incremental_resets`).
    async fn stamp_reset(&self, table: &'static str, task_id: &str) -> Result<()> {
        // Strictly later than any run start recorded so far, even within one millisecond.
        let now = chrono::Utc::now().timestamp_millis() + 1;
        sqlx::query(&format!(
            "INSERT INTO {table} (task_id, reset_at) VALUES (?1, ?2)
             ON CONFLICT (task_id) DO UPDATE SET reset_at = MAX(reset_at, excluded.reset_at)"
        ))
        .bind(task_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        // Past the stamp before returning: a run started from here on counts as after the reset.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        Ok(())
    }

    /// The final state a load committed for a run, if it committed (see `cards`).
    pub async fn load_commit(&self, run_id: &str) -> Result<Option<Run>> {
        let summary: Option<String> = sqlx::query_scalar("SELECT summary FROM load_commits WHERE run_id = ?")
            .bind(run_id)
            .fetch_optional(self.pool())
            .await?;
        summary.as_deref().map(run_from_summary).transpose()
    }

    pub async fn datacards(&self, template: &str, folder: Option<&str>, limit: u32) -> Result<Vec<Datacard>> {
        self.datacards_after(template, folder, i64::MIN, limit).await
    }

    /// Up to `limit` cards with an id above `after`, in id order: one page of a
    /// listing that never holds more than a page (nor a read transaction) at once.
    pub async fn datacards_after(
        &self,
        template: &str,
        folder: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Datacard>> {
        // Ids start at 1: the rows looked at are counted from there.
        let near_end = after
            .max(0)
            .saturating_add(NEAR_ROWS_PER_CARD.saturating_mul(limit.into()));
        let mut rows = sqlx::query(NEAR_CARDS)
            .bind(template)
            .bind(folder)
            .bind(after)
            .bind(i64::from(limit))
            .bind(near_end)
            .fetch_all(self.pool())
            .await?;
        let last_id =
            || sqlx::query_scalar::<_, Option<i64>>("SELECT max(id) FROM datacards").fetch_one(self.pool());
        if rows.len() < limit as usize && last_id().await?.is_some_and(|last| last > near_end) {
            // Not a page among them, and more cards after them (a template
            // with few cards, or cards spread among others'): through the
            // template's index.
            rows = sqlx::query(&format!("{CARD_LISTING} ORDER BY d.id LIMIT ?4"))
                .bind(template)
                .bind(folder)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?;
        }
        rows.iter()
            .map(|r| {
                Ok(Datacard::listed(
                    r.try_get("id")?,
                    r.try_get("template")?,
                    r.try_get("folder")?,
                    &r.try_get::<String, _>("data")?,
                    r.try_get("updated_at")?,
                    r.try_get("task")?,
                ))
            })
            .collect()
    }

    pub async fn count_datacards(&self, template: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM datacards WHERE template = (SELECT id FROM card_names WHERE name = ?)",
        )
        .bind(template)
        .fetch_one(self.pool())
        .await?)
    }
}

impl Store {
    /// The ids of every run of the connector's tasks (for packing their logs).
    pub async fn connector_run_ids(&self, connector_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT r.id FROM runs r JOIN tasks t ON t.id = r.task_id WHERE t.connector_id = ?",
        )
        .bind(connector_id)
        .fetch_all(self.pool())
        .await?)
    }
}

/// A card's history: the journal's rows for card `?1`, newest first.
/// Changes and removals are found by the card's id, creations by the range
/// of ids that holds it (each through its index). Asked as one `OR`, SQLite
/// read the whole journal instead: 0.21 s at 220,000 journalled changes, for
/// every card opened in the Data tab.
const CARD_HISTORY: &str = "
SELECT c.run_id, COALESCE(json_extract(r.summary, '$.task'), '') AS task, c.kind, c.at, c.before, c.after,
       COALESCE(r.kind, 'scheduled') AS run_kind, COALESCE(s.fingerprint, o.fingerprint) AS fingerprint
  FROM (SELECT id, run_id, kind, at, before, after FROM cards.card_changes
         WHERE card_id = ?1 AND kind != 'create'
        UNION ALL
        SELECT id, run_id, kind, at, before, after FROM cards.card_changes INDEXED BY card_changes_created
         WHERE kind = 'create' AND card_id <= ?1 AND card_id + cards > ?1) c
  LEFT JOIN runs r ON r.id = c.run_id
  LEFT JOIN cards.card_sources s ON s.change_id = c.id
  LEFT JOIN cards.card_origins o ON c.kind = 'create' AND o.card_id = ?1
 ORDER BY c.id DESC";

impl Store {
    /// What the journal holds for card `card_id`, newest first: (run id,
    /// task label, kind, at in ms, before, after).
    pub async fn card_changes(&self, card_id: i64) -> Result<Vec<CardChangeRow>> {
        let rows = sqlx::query(CARD_HISTORY)
            .bind(card_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(CardChangeRow::read).collect()
    }
}

/// One journal row for a card, with its run's task and kind.
#[derive(Debug, Clone)]
pub struct CardChangeRow {
    pub run_id: String,
    pub task: String,
    /// `create`, `update` or `remove`.
    pub kind: String,
    pub at_ms: i64,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The kind of the run that made the change (`scheduled`, `event`, `undo`, `held`).
    pub run_kind: String,
    /// The source record's fingerprint, when a record was written.
    pub fingerprint: Option<String>,
}

impl CardChangeRow {
    /// A row of a history query (the local journal's or the remote one's):
    /// run_id, task, kind, at, before, after, run_kind, fingerprint.
    pub(super) fn read(r: &sqlx::sqlite::SqliteRow) -> Result<CardChangeRow> {
        Ok(CardChangeRow {
            run_id: r.try_get("run_id")?,
            task: r.try_get("task")?,
            kind: r.try_get("kind")?,
            at_ms: r.try_get("at")?,
            before: r.try_get("before")?,
            after: r.try_get("after")?,
            run_kind: r.try_get("run_kind")?,
            fingerprint: r.try_get("fingerprint")?,
        })
    }
}

impl Store {
    /// Whether the journal holds any change run `run_id` made (local or remote).
    /// Newest rows first: the runs people undo are recent ones.
    pub async fn run_changed_cards(&self, run_id: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM (SELECT id FROM cards.card_changes WHERE run_id = ?1 ORDER BY id DESC LIMIT 1)
             UNION ALL SELECT 1 FROM (SELECT id FROM cards.remote_changes WHERE run_id = ?1 ORDER BY id DESC LIMIT 1)
             LIMIT 1",
        )
        .bind(run_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// A card's object key and values (without the room kept after them); `None` when there is no such card.
    pub async fn card_key_and_data(&self, card_id: i64) -> Result<Option<(Option<String>, String)>> {
        let row: Option<(Option<String>, String)> =
            sqlx::query_as("SELECT object_key, rtrim(data) FROM cards.datacards_now WHERE id = ?1")
                .bind(card_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row)
    }
}

/// One card a run's journal row changed, as an undo plans it: the row, the
/// card, what the row says, the card's values now, and whether a later row
/// changed the card again.
#[derive(Debug, Clone)]
pub struct UndoRow {
    pub row: i64,
    pub card: i64,
    /// `create`, `update` or `remove`.
    pub kind: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub data: String,
    pub changed_later: bool,
}

impl Store {
    /// Every card run `run_id` changed that still exists (a creation row
    /// counts each card of its range), in journal order, read in one query.
    ///
    /// Read on a connection of its own (rusqlite, on a blocking thread): an
    /// undo of 20,000 cards reads 20 MB of journal and card text, which the
    /// async pool hands over row by row between threads (measured: the
    /// undo's planning 0.45-0.52 s -> 0.35-0.42 s).
    pub async fn undo_rows(&self, run_id: &str) -> Result<Vec<UndoRow>> {
        let file = self.dir.join(super::cards::CARDS_FILE);
        let run_id = run_id.to_string();
        tokio::task::spawn_blocking(move || read_undo_rows(&file, &run_id))
            .await
            .map_err(|e| EngineError::Internal(format!("reading the change journal stopped: {e}")))?
    }
}

fn read_undo_rows(file: &std::path::Path, run_id: &str) -> Result<Vec<UndoRow>> {
    let conn = super::bulk::open_existing(file, super::BUSY_TIMEOUT)?;
    let mut query = conn.prepare(
        // Two point or range lookups by card id (a CASE in the join would scan every card).
        "SELECT c.id AS row, d.id AS card, c.kind, c.before, c.after, d.data,
                EXISTS (SELECT 1 FROM card_changes l
                        WHERE l.card_id = d.id AND l.id > c.id AND l.kind != 'create') AS later
           FROM card_changes c JOIN datacards_now d ON d.id = c.card_id
          WHERE c.run_id = ?1 AND c.kind != 'create'
         UNION ALL
         SELECT c.id, d.id, c.kind, c.before, c.after, d.data,
                EXISTS (SELECT 1 FROM card_changes l
                        WHERE l.card_id = d.id AND l.id > c.id AND l.kind != 'create')
           FROM card_changes c JOIN datacards_now d ON d.id BETWEEN c.card_id AND c.card_id + c.cards - 1
          WHERE c.run_id = ?1 AND c.kind = 'create'
          ORDER BY 1, 2",
    )?;
    let rows = query.query_map([run_id], |r| {
        Ok(UndoRow {
            row: r.get(0)?,
            card: r.get(1)?,
            kind: r.get(2)?,
            before: r.get(3)?,
            after: r.get(4)?,
            data: r.get(5)?,
            changed_later: r.get::<_, i64>(6)? != 0,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::{Store, CARD_HISTORY, NEAR_CARDS};
    use crate::store::CardSearch;

    /// 3,000 cards: `big` holds nine in ten, `few` every tenth, in two folders.
    async fn store_of_two_templates() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO card_names (id, name) VALUES (1, 'big'), (2, 'few'), (3, 'east'), (4, 'west');
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             INSERT INTO datacards (id, template, folder, key_attribute, object_key, task, created_at, updated_at, data)
             SELECT i, CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END, CASE WHEN i % 3 = 0 THEN 4 ELSE 3 END,
                    NULL, 'k' || i, NULL, 1, 1, json_object('n', i) FROM n;",
        )
        .execute(store.pool())
        .await
        .unwrap();
        (dir, store)
    }

    /// Every card a listing (with `search`, a search) hands over, a page of `limit` at a time.
    async fn paged(
        store: &Store,
        template: &str,
        folder: Option<&str>,
        search: Option<&CardSearch>,
        limit: u32,
    ) -> Vec<i64> {
        let (mut ids, mut after) = (Vec::new(), i64::MIN);
        loop {
            let page = match search {
                None => store.datacards_after(template, folder, after, limit).await,
                Some(s) => {
                    store
                        .find_datacards_after(template, folder, s, after, limit)
                        .await
                }
            }
            .unwrap();
            ids.extend(page.iter().map(|c| c.id));
            match page.last() {
                Some(last) if page.len() == limit as usize => after = last.id,
                _ => return ids,
            }
        }
    }

    #[tokio::test]
    async fn pages_of_a_template_hold_its_cards_in_id_order_whether_it_has_most_cards_or_few() {
        let (_dir, store) = store_of_two_templates().await;
        let expected = |keep: &dyn Fn(i64) -> bool| (1..=3000).filter(|&i| keep(i)).collect::<Vec<i64>>();
        for limit in [1, 7, 100, 2000, 5000] {
            // Nine in ten read by id, one in ten through the index.
            assert_eq!(
                paged(&store, "big", None, None, limit).await,
                expected(&|i| i % 10 != 0),
                "{limit}"
            );
            assert_eq!(
                paged(&store, "few", None, None, limit).await,
                expected(&|i| i % 10 == 0),
                "{limit}"
            );
            assert_eq!(
                paged(&store, "big", Some("west"), None, limit).await,
                expected(&|i| i % 10 != 0 && i % 3 == 0),
                "{limit}"
            );
        }
        assert!(paged(&store, "nobody", None, None, 10).await.is_empty());
        // A page asked for from past the last card, and one from the middle.
        assert!(store
            .datacards_after("big", None, 3000, 10)
            .await
            .unwrap()
            .is_empty());
        let ids: Vec<i64> = store
            .datacards_after("few", None, 1500, 3)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, [1510, 1520, 1530]);
    }

    #[tokio::test]
    async fn a_search_pages_through_a_template_with_most_cards_by_id_and_one_with_few_by_its_index() {
        let (_dir, store) = store_of_two_templates().await;
        let search = CardSearch::new("7");
        for (template, limit) in [("big", 10), ("big", 5000), ("few", 3), ("few", 5000)] {
            let found = paged(&store, template, None, Some(&search), limit).await;
            let few = template == "few";
            let expected: Vec<i64> = (1..=3000)
                .filter(|&i| (i % 10 == 0) == few && i.to_string().contains('7'))
                .collect();
            assert_eq!(found, expected, "{template} {limit}");
        }
    }

    #[tokio::test]
    async fn a_page_near_the_last_card_is_read_by_id_without_sorting_the_templates_cards() {
        let (_dir, store) = store_of_two_templates().await;
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {NEAR_CARDS}"))
            .bind("big")
            .bind(None::<String>)
            .bind(100)
            .bind(50)
            .bind(300)
            .fetch_all(store.pool())
            .await
            .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|(.., step)| step).collect();
        // Whatever order SQLite joins in, the cards are a range of the table by id.
        assert!(
            plan.iter()
                .any(|step| step.contains("SEARCH d USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{plan:?}");
    }

    /// The journal grows by every run's changes for as long as runs are kept:
    /// a card's history looks up its rows, it does not read them all.
    #[tokio::test]
    async fn a_cards_history_looks_up_its_journal_rows_without_reading_the_whole_journal() {
        let (_dir, store) = store_of_two_templates().await;
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {CARD_HISTORY}"))
                .bind(7)
                .fetch_all(store.pool())
                .await
                .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|(.., step)| step).collect();
        let journal: Vec<&String> = plan.iter().filter(|step| step.contains("card_changes")).collect();
        assert_eq!(journal.len(), 2, "{plan:?}");
        assert!(journal.iter().all(|step| step.starts_with("SEARCH")), "{plan:?}");
    }
}
