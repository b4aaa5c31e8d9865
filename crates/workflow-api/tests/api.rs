//! The workflow API over real HTTP on 127.0.0.1, with a real engine (SQLite,
//! keyring-free connectors, real Python event and scheduled scripts).

use std::time::{Duration, Instant};

use provisio_engine::model::TaskInput;
use provisio_engine::{jsonc, Engine};
use provisio_workflow_api::{serve_listener, Limits};

#[path = "api/doors.rs"]
mod doors;
#[path = "api/host.rs"]
mod host;
use serde_json::{json, Value};

struct Api {
    engine: Engine,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start(limits: Limits) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&dir.path().join("data")).await.unwrap();
        engine
            .set_settings(&[("environment_type".into(), "test".into())])
            .await
            .unwrap();
        let connector = |name: &str, script: &str| {
            jsonc::from_str(
                &json!({"name": name, "type": "python_script", "script": script, "parameters": {}})
                    .to_string(),
            )
            .unwrap()
        };
        let task = |text: Value| -> TaskInput { serde_json::from_value(text).unwrap() };
        engine
            .create_connector(connector("AD", "sample_event.py"))
            .await
            .unwrap();
        for (name, usage) in [("Disable", "write"), ("Enable", "write"), ("Lookup", "read")] {
            engine
                .create_task(
                    "AD",
                    task(json!({"name": name, "usage": "event", "event_usage": usage,
                        "target_template": "person", "target_folder": "persons",
                        "mappings": [{"source": "sAMAccountName", "target": "employee_id"},
                                     {"source": "displayName", "target": "last_name"}]})),
                )
                .await
                .unwrap();
        }
        engine
            .create_connector(connector("HR", "sample_users.py"))
            .await
            .unwrap();
        engine
            .create_task(
                "HR",
                task(json!({"name": "Load", "schedule": "0 0 0 1 1 *", "object_id_attribute": "id",
                    "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
                    "mappings": [{"source": "id", "target": "employee_id"}, {"source": "last", "target": "last_name"}]})),
            )
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
        tokio::spawn(serve_listener(
            listener,
            engine.clone(),
            limits,
            None,
            std::future::pending(),
        ));
        Api {
            engine,
            base,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let response = r.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, name: &str, tasks: &[&str]) -> String {
        let tasks: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
        self.engine.create_api_token(name, &tasks).await.unwrap().token
    }
}

const INVOKE: &str = "/connectors/AD/tasks/Disable/invoke";

#[tokio::test]
async fn without_a_valid_token_every_call_but_health_gets_401_and_nothing_runs() {
    let api = Api::start(Limits::default()).await;
    let (status, body) = api.call(reqwest::Method::GET, "/health", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let invoke = json!({"values": {"employee_id": "jdoe"}, "caller": "Leaver flow"});
    for token in [None, Some("pvo_not-a-token"), Some("Basic x")] {
        let (status, body) = api
            .call(reqwest::Method::POST, INVOKE, token, Some(invoke.clone()))
            .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");
        let (status, _) = api.call(reqwest::Method::GET, "/tasks", token, None).await;
        assert_eq!(status, 401);
    }
    assert!(
        api.engine.history("AD/Disable", 10).await.unwrap().is_empty(),
        "nothing ran"
    );

    // A revoked token is no token.
    let token = api.token("flows", &[]).await;
    assert_eq!(
        api.call(reqwest::Method::GET, "/tasks", Some(&token), None)
            .await
            .0,
        200
    );
    api.engine.revoke_api_token("flows").await.unwrap();
    assert_eq!(
        api.call(reqwest::Method::GET, "/tasks", Some(&token), None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn a_workflow_invokes_an_event_task_and_is_recorded_as_its_caller() {
    let api = Api::start(Limits::default()).await;
    let token = api.token("flows", &[]).await;
    // Only a hash is stored.
    let db = std::fs::read(api.engine.data_dir().join("provisio.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));

    let (status, run) = api
        .call(
            reqwest::Method::POST,
            INVOKE,
            Some(&token),
            Some(json!({"values": {"employee_id": "jdoe"}, "caller": "Leaver flow"})),
        )
        .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        (run["status"].as_str(), run["outcome"].as_str()),
        (Some("succeeded"), Some("completed"))
    );
    assert_eq!(run["task"], "AD/Disable");
    let task = api.engine.task("AD/Disable").await.unwrap();
    assert_eq!(task.references[0].caller, "Leaver flow");

    let (status, read) = api
        .call(
            reqwest::Method::GET,
            &format!("/runs/{}", run["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((status, &read["id"]), (200, &run["id"]));
    let (_, tasks) = api.call(reqwest::Method::GET, "/tasks", Some(&token), None).await;
    let disable = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Disable")
        .unwrap();
    assert_eq!(
        (disable["last_status"].as_str(), disable["usage"].as_str()),
        (Some("succeeded"), Some("event"))
    );
    assert_eq!(read["kind"], "event", "{read}");

    // A read task answers with what its script read.
    let (status, read) = api
        .call(
            reqwest::Method::POST,
            "/connectors/AD/tasks/Lookup/invoke",
            Some(&token),
            Some(json!({"values": {"employee_id": "jdoe"}, "caller": "Lookup flow"})),
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["values"], json!({"employee_id": "jdoe"}));
    assert_eq!(run["values"], Value::Null, "a write task returns no values");

    // Bad input is a 400 that says what is wrong; unknown tasks a 404.
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            INVOKE,
            Some(&token),
            Some(json!({"vals": {}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("values"), "{body}");
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/connectors/AD/tasks/Nope/invoke",
            Some(&token),
            Some(json!({"values": {}})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/connectors/HR/tasks/Load/invoke",
            Some(&token),
            Some(json!({"values": {}})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("scheduled task"),
        "{body}"
    );
}

#[tokio::test]
async fn a_token_for_some_tasks_gets_403_for_the_others() {
    let api = Api::start(Limits::default()).await;
    let token = api.token("leavers", &["AD/Disable"]).await;
    let values = json!({"values": {"employee_id": "jdoe"}});
    let (status, _) = api
        .call(reqwest::Method::POST, INVOKE, Some(&token), Some(values.clone()))
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/connectors/AD/tasks/Enable/invoke",
            Some(&token),
            Some(values),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "token 'leavers' may not call AD/Enable");
    assert!(api.engine.history("AD/Enable", 10).await.unwrap().is_empty());
    let (_, tasks) = api.call(reqwest::Method::GET, "/tasks", Some(&token), None).await;
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks}");
}

#[tokio::test]
async fn a_scheduled_task_runs_now_and_its_run_is_read_back() {
    let api = Api::start(Limits::default()).await;
    let token = api.token("ops", &[]).await;
    let (status, started) = api
        .call(
            reqwest::Method::POST,
            "/connectors/HR/tasks/Load/run",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let url = started["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/api/v1")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let (_, run) = api.call(reqwest::Method::GET, &url, Some(&token), None).await;
        if run["status"] != "running" || Instant::now() > deadline {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], 10);
    let stored = api.engine.run(started["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.trigger.as_str(), "api");

    // A read invocation naming one of those cards writes what it read to it.
    let (status, read) = api
        .call(
            reqwest::Method::POST,
            "/connectors/AD/tasks/Lookup/invoke",
            Some(&token),
            Some(json!({"values": {"employee_id": "id-3", "last_name": "Read-3"},
                        "card": {"attribute": "employee_id", "key": "id-3"}})),
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        read["values"],
        json!({"employee_id": "id-3", "last_name": "Read-3"})
    );
    let cards = api.engine.datacards("person", None, 100).await.unwrap();
    let card = cards.iter().find(|c| c.data["employee_id"] == "id-3").unwrap();
    assert_eq!(card.data["last_name"], "Read-3");
    assert_eq!(cards.len(), 10);
}

#[tokio::test]
async fn bodies_and_request_rates_are_limited() {
    let api = Api::start(Limits {
        body_bytes: 1024,
        requests_per_minute: 3,
        ..Limits::default()
    })
    .await;
    let token = api.token("flows", &[]).await;
    let big = json!({"values": {"employee_id": "x".repeat(4096)}});
    let (status, _) = api
        .call(reqwest::Method::POST, INVOKE, Some(&token), Some(big))
        .await;
    assert_eq!(status, 413);
    assert!(api.engine.history("AD/Disable", 10).await.unwrap().is_empty());
    // The oversized call was refused before authentication: it does not count.
    for _ in 0..3 {
        assert_eq!(
            api.call(reqwest::Method::GET, "/tasks", Some(&token), None)
                .await
                .0,
            200
        );
    }
    let (status, body) = api.call(reqwest::Method::GET, "/tasks", Some(&token), None).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("more than 3 requests a minute"));
    // Another token has its own allowance.
    let other = api.token("other", &[]).await;
    assert_eq!(
        api.call(reqwest::Method::GET, "/tasks", Some(&other), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_served_description_is_the_committed_one() {
    let api = Api::start(Limits::default()).await;
    let served = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let committed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/workflow-api.openapi.json");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&committed, &served).unwrap();
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == served,
        "docs/workflow-api.openapi.json differs from what the API serves; regenerate it: \
         UPDATE_DOCS=1 cargo test -p provisio-workflow-api --test api the_served_description"
    );
    let doc: Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/api/v1/health",
        "/api/v1/tasks",
        "/api/v1/connectors/{connector}/tasks/{task}/invoke",
        "/api/v1/runs/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn with_every_worker_busy_an_invocation_gets_503_and_nothing_runs() {
    let api = Api::start(Limits {
        queue_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let token = api.token("flows", &[]).await;
    // The slots are the engine's: a scheduled run holding the only one blocks the API too.
    api.engine.worker_slots().resize(1);
    let held = api.engine.worker_slots().try_take().unwrap();
    let values = json!({"values": {"employee_id": "jdoe"}});
    let (status, body) = api
        .call(reqwest::Method::POST, INVOKE, Some(&token), Some(values.clone()))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["message"],
        "all 1 workers stayed busy for 0.3 s; nothing was run, try again later"
    );
    assert!(api.engine.history("AD/Disable", 10).await.unwrap().is_empty());
    drop(held);
    assert_eq!(
        api.call(reqwest::Method::POST, INVOKE, Some(&token), Some(values))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn with_a_certificate_and_key_the_api_speaks_https_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let engine = Engine::open(&dir.path().join("data")).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let tls = provisio_workflow_api::Tls {
        cert: cert.clone(),
        key: key.clone(),
    };
    tokio::spawn(provisio_workflow_api::serve(
        engine.clone(),
        addr,
        Limits::default(),
        Some(tls),
        std::future::pending(),
    ));
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap())
        .build()
        .unwrap();
    let health = format!("https://127.0.0.1:{port}/api/v1/health");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match trusting.get(&health).send().await {
            Ok(r) => break r.status().as_u16(),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("no HTTPS answer: {e}"),
        }
    };
    assert_eq!(status, 200);
    // Plain HTTP, and a client that does not trust the certificate, get nowhere.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/health"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    assert!(reqwest::Client::new().get(&health).send().await.is_err());

    // A key that does not fit is refused with what to fix.
    std::fs::write(&key, "not a key").unwrap();
    let e = provisio_workflow_api::serve(
        engine,
        ([127, 0, 0, 1], 0).into(),
        Limits::default(),
        Some(provisio_workflow_api::Tls { cert, key }),
        std::future::pending(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("cannot use the certificate"), "{e}");
}

#[tokio::test]
async fn invocations_beyond_the_workers_wait_their_turn() {
    let api = Api::start(Limits::default()).await;
    let token = api.token("flows", &[]).await;
    api.engine.worker_slots().resize(1);
    let calls = (0..3).map(|i| {
        let (http, base, token) = (api.http.clone(), api.base.clone(), token.clone());
        async move {
            http.post(format!("{base}{INVOKE}"))
                .bearer_auth(token)
                .json(&json!({"values": {"employee_id": format!("u{i}")}}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_join(calls.collect()).await;
    assert_eq!(statuses, [200, 200, 200], "queued, then served one at a time");
    assert_eq!(api.engine.history("AD/Disable", 10).await.unwrap().len(), 3);
}

async fn futures_join(calls: Vec<impl std::future::Future<Output = u16> + Send + 'static>) -> Vec<u16> {
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_secret_parameter_never_reaches_a_response_or_a_log() {
    let api = Api::start(Limits::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("leaky.py");
    std::fs::write(
        &script,
        "import json, sys\np = json.loads(sys.stdin.readline())\nprint('using', p['api_password'])\nraise Exception('login failed with ' + p['api_password'])\n",
    )
    .unwrap();
    api.engine
        .add_script(&script, provisio_engine::script_library::ScriptKind::Event, None)
        .await
        .unwrap();
    api.engine
        .create_connector(
            jsonc::from_str(r#"{"name": "Vault", "type": "python_script", "script": "leaky.py", "parameters": {"api_password": "s3cr3t-4711"}}"#)
                .unwrap(),
        )
        .await
        .unwrap();
    api.engine
        .create_task(
            "Vault",
            serde_json::from_value(json!({"name": "Open", "usage": "event", "target_template": "person",
                "target_folder": "persons", "mappings": [{"source": "sAMAccountName", "target": "employee_id"}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    let token = api.token("flows", &[]).await;
    let response = api
        .http
        .post(format!("{}/connectors/Vault/tasks/Open/invoke", api.base))
        .bearer_auth(&token)
        .json(&json!({"values": {"employee_id": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("login failed with"), "{text}");
    assert!(!text.contains("s3cr3t-4711"), "{text}");
    let run: Value = serde_json::from_str(&text).unwrap();
    let log = api.engine.run_log(run["id"].as_str().unwrap()).await.unwrap();
    assert!(log.contains("using") && !log.contains("s3cr3t-4711"), "{log}");
    let (_, read) = api
        .call(
            reqwest::Method::GET,
            &format!("/runs/{}", run["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert!(!read.to_string().contains("s3cr3t-4711"));
}
