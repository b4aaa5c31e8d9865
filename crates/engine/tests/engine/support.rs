use provisio_engine::model::{ConnectorInput, TaskInput};
use provisio_engine::pipeline::LoadStrategy;
use provisio_engine::{jsonc, Engine, EngineError};
use tempfile::TempDir;

pub struct Fixture {
    pub engine: Engine,
    pub dir: TempDir,
}

pub async fn fresh() -> Fixture {
    fresh_with(LoadStrategy::default()).await
}

/// A fresh engine whose loads are driven the given way.
pub async fn fresh_with(strategy: LoadStrategy) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(&dir.path().join("data"))
        .await
        .expect("engine opens")
        .with_load_strategy(strategy);
    Fixture { engine, dir }
}

/// Runs each named test (an `async fn(Fixture)`) once per load driver, as
/// `streamed::NAME` and `two_pass::NAME`.
#[macro_export]
macro_rules! under_both_load_strategies {
    ($($name:ident),* $(,)?) => {
        mod streamed {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::fresh_with(provisio_engine::pipeline::LoadStrategy::Streamed).await).await
                }
            )*
        }
        mod two_pass {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::support::fresh_with(provisio_engine::pipeline::LoadStrategy::TwoPass).await).await
                }
            )*
        }
    };
}

pub fn connector_input(text: &str) -> ConnectorInput {
    jsonc::from_str(text).expect("connector json")
}

pub fn task_input(text: &str) -> TaskInput {
    jsonc::from_str(text).expect("task json")
}

/// The task of docs/cli.md (TASK.json), loading persons.
pub fn daily_task() -> TaskInput {
    task_input(
        r#"{ "name": "Daily", "usage": "scheduled", "enabled": true,
        "schedule": "0 0 2 * * *", "timezone": "Europe/Helsinki", "run_type": "full",
        "mappings_type": "generic", "object_id_attribute": "employeeId",
        "target_template": "person", "target_folder": "persons",
        "task_id_attribute": "taskid", "data_source_type_attribute": "dataSourceType",
        "mappings": [ { "source": "employeeId", "target": "employee_id" },
                      { "source": "lastName", "target": "last_name" } ],
        "removal": { "status_attribute": "accountStatus", "removed_value": "5 - Removed" },
        "limits": { "update_limit": 500, "override_update_limit": false, "minimum_row_count": 10 } }"#,
    )
}

/// Puts a script of this name (kind both, doing nothing) into the library
/// unless it is there: a connector can only name a script the library has.
pub async fn library_script(engine: &Engine, name: &str) {
    if engine.scripts().await.unwrap().iter().any(|s| s.name == name) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(
        &file,
        "import common_subroutines_efecte_library as sdk\nsdk.initialize_script()\n",
    )
    .unwrap();
    engine
        .add_script(&file, provisio_engine::script_library::ScriptKind::Both, None)
        .await
        .unwrap();
}

pub async fn connector(engine: &Engine, name: &str) -> provisio_engine::model::Connector {
    library_script(engine, "users.py").await;
    engine
        .create_connector(connector_input(&format!(
            r#"{{"name": "{name}", "type": "python_script", "script": "users.py", "parameters": {{"base_url": "https://x.example"}}}}"#
        )))
        .await
        .expect("connector created")
}

pub fn message(e: EngineError) -> String {
    e.to_string()
}

/// A saved task as the input that would save it again: its JSON without the
/// fields the engine keeps (ids, names, times, references), ready to edit.
pub async fn editable_task(engine: &Engine, task: &str) -> serde_json::Value {
    let mut t = serde_json::to_value(engine.task(task).await.unwrap()).unwrap();
    for k in [
        "id",
        "connector_id",
        "connector_name",
        "references",
        "created_at",
        "updated_at",
        "next_run",
    ] {
        t.as_object_mut().unwrap().remove(k);
    }
    t
}

/// Sets `field` of the card whose object key is `key` straight in the card
/// file, as someone editing the store by hand would: no run, no journal, no
/// cache told. A run that compares its records with the cards sets it back.
pub fn edit_card_by_hand(engine: &Engine, key: &str, field: &str, value: &str) {
    let conn = rusqlite::Connection::open(engine.data_dir().join("datacards.db")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    // A card's newer values may be in the overlay (see the store's schema).
    conn.execute(
        "UPDATE card_overlay SET data = json_set(data, '$.' || ?1, ?2)
          WHERE id = (SELECT id FROM datacards WHERE object_key = ?3)",
        rusqlite::params![field, value, key],
    )
    .unwrap();
    let edited = conn
        .execute(
            "UPDATE datacards SET data = json_set(data, '$.' || ?1, ?2) WHERE object_key = ?3",
            rusqlite::params![field, value, key],
        )
        .unwrap();
    assert_eq!(edited, 1, "one card has the key {key}");
}

/// The held changed cards of an approval plan as (object id, each field
/// `name: from -> to`), as a person reads them.
pub fn held_fields(plan: &provisio_engine::api::PlannedChanges) -> Vec<(String, Vec<String>)> {
    card_fields(&plan.changed_cards)
}

/// The cards an approval plan marks removed as (object id, each field
/// `name: from -> to`, then each value it holds `name: value`).
pub fn removed_fields(plan: &provisio_engine::api::PlannedChanges) -> Vec<(String, Vec<String>)> {
    plan.removed_cards
        .iter()
        .zip(card_fields(&plan.removed_cards))
        .map(|(c, (id, mut fields))| {
            fields.extend(c.holds.iter().map(|h| format!("{}: {}", h.field, h.value)));
            (id, fields)
        })
        .collect()
}

fn card_fields(cards: &[provisio_engine::api::PlannedCard]) -> Vec<(String, Vec<String>)> {
    cards
        .iter()
        .map(|c| {
            let fields = c
                .changes
                .iter()
                .map(|f| format!("{}: {} -> {}", f.field, f.from, f.to));
            (c.object_id.clone(), fields.collect())
        })
        .collect()
}
