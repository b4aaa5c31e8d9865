//! The host `provisio serve` and the desktop app both run: the workflow API
//! beside the scheduler, an address in use refused before anything is
//! scheduled, and a stop that lets a running run finish within its grace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use provisio_engine::model::RunStatus;
use provisio_engine::scheduler::lock::SchedulerLock;
use provisio_engine::script_library::ScriptKind;
use provisio_engine::{jsonc, Engine};
use provisio_workflow_api::host::{self, HostOptions};
use serde_json::json;

/// An engine with task `Slow/Load`, due every second, whose script takes about 2 s.
async fn slow_task(dir: &std::path::Path) -> Engine {
    let engine = Engine::open(&dir.join("data")).await.unwrap();
    engine
        .set_settings(&[("environment_type".into(), "test".into())])
        .await
        .unwrap();
    let script = dir.join("slow.py");
    std::fs::write(
        &script,
        "import json, time\nimport common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\n\
         time.sleep(2)\njson.dump([{\"id\": \"1\", \"last\": \"L\"}], open(a['expected_output_filename'], 'w'))\n",
    )
    .unwrap();
    engine
        .add_script(&script, ScriptKind::Scheduled, None)
        .await
        .unwrap();
    engine
        .create_connector(
            jsonc::from_str(
                &json!({"name": "Slow", "type": "python_script", "script": "slow.py", "parameters": {}})
                    .to_string(),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    engine
        .create_task(
            "Slow",
            serde_json::from_value(json!({"name": "Load", "schedule": "* * * * * *", "object_id_attribute": "id",
                "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
                "mappings": [{"source": "id", "target": "employee_id"}, {"source": "last", "target": "last_name"}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    engine
}

#[tokio::test]
async fn the_host_serves_the_api_beside_the_scheduler_and_lets_a_running_run_finish_when_told_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let engine = slow_task(dir.path()).await;
    let lock = SchedulerLock::acquire(engine.data_dir()).unwrap();
    let stop = Arc::new(tokio::sync::Notify::new());
    let (listening_tx, listening) = tokio::sync::oneshot::channel();
    let options = HostOptions {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        tls: None,
        grace: Duration::from_secs(20),
    };
    let stopped = stop.clone();
    let running_host = tokio::spawn(host::run(
        engine.clone(),
        lock,
        options,
        async move { stopped.notified().await },
        move |addr| {
            let _ = listening_tx.send(addr);
        },
    ));
    let addr = listening.await.unwrap();
    let health = format!("http://{addr}/api/v1/health");
    let http = reqwest::Client::new();
    assert_eq!(http.get(&health).send().await.unwrap().status(), 200);

    // The scheduler starts the task; stop the host while its run is running.
    let since = Instant::now();
    let run_id = loop {
        let runs = engine.history("Slow/Load", 5).await.unwrap();
        if let Some(r) = runs.iter().find(|r| r.status == RunStatus::Running) {
            break r.id.clone();
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "the scheduler never started the task"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.notify_one();
    running_host.await.unwrap().unwrap();
    let run = engine.run(&run_id).await.unwrap();
    assert_eq!(
        run.status,
        RunStatus::Succeeded,
        "the grace let the running run finish: {:?}",
        run.extract
    );
    // Nothing new started after the stop, and the API is closed.
    let runs = engine.history("Slow/Load", 10).await.unwrap();
    assert!(runs.iter().all(|r| r.status != RunStatus::Running), "{runs:?}");
    assert!(
        http.get(&health).send().await.is_err(),
        "the API closed with the host"
    );
}

#[tokio::test]
async fn an_address_in_use_is_refused_before_anything_is_scheduled() {
    let dir = tempfile::tempdir().unwrap();
    let engine = slow_task(dir.path()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let lock = SchedulerLock::acquire(engine.data_dir()).unwrap();
    let options = HostOptions {
        listen: Some(addr),
        tls: None,
        grace: Duration::from_secs(1),
    };
    let started = Instant::now();
    let e = host::run(engine.clone(), lock, options, std::future::pending(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("the workflow API cannot listen on {addr}")),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        engine.history("Slow/Load", 5).await.unwrap().is_empty(),
        "nothing was scheduled"
    );
}
