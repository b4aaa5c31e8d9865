//! Benchmark of the workflow API: invocations of a trivial event script over
//! HTTP on 127.0.0.1 with `workers` = 4, from 8 concurrent callers.
//!
//! `cargo bench -p provisio-workflow-api --bench invoke` (BENCH_CALLS,
//! default 400; BENCH_CALLERS, default 8). Prints invocations per second and
//! the p50 / p99 latency a caller sees (medians of BENCH_REPEAT rounds, default 3).

use std::time::{Duration, Instant};

use provisio_engine::{jsonc, Engine};
use provisio_workflow_api::{serve_listener, Limits};
use serde_json::json;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn round(calls: usize, callers: usize) -> (f64, Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("data")).await.unwrap();
    engine
        .set_settings(&[
            ("environment_type".into(), "test".into()),
            ("workers".into(), "4".into()),
        ])
        .await
        .unwrap();
    engine.worker_slots().resize(4);
    let script = dir.path().join("trivial.py");
    std::fs::write(&script, "import sys\nsys.stdin.read()\n").unwrap();
    engine
        .add_script(&script, provisio_engine::script_library::ScriptKind::Event, None)
        .await
        .unwrap();
    engine
        .create_connector(
            jsonc::from_str(
                r#"{"name": "AD", "type": "python_script", "script": "trivial.py", "parameters": {}}"#,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    engine
        .create_task(
            "AD",
            serde_json::from_value(json!({"name": "Disable", "usage": "event", "target_template": "person",
                "target_folder": "persons", "mappings": [{"source": "sAMAccountName", "target": "employee_id"}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    let token = engine.create_api_token("bench", &[]).await.unwrap().token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/v1/connectors/AD/tasks/Disable/invoke",
        listener.local_addr().unwrap()
    );
    let limits = Limits {
        requests_per_minute: u32::MAX,
        ..Limits::default()
    };
    tokio::spawn(serve_listener(
        listener,
        engine.clone(),
        limits,
        None,
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..callers {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        let mine = calls / callers + usize::from(c < calls % callers);
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine);
            for i in 0..mine {
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"values": {"employee_id": format!("u{c}-{i}")}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    (
        calls as f64 / wall.as_secs_f64(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let calls = env_num("BENCH_CALLS", 400);
    let callers = env_num("BENCH_CALLERS", 8);
    let repeat = env_num("BENCH_REPEAT", 3);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("invoke: {calls} invocations of a trivial event script, {callers} callers, workers = 4, {repeat} rounds");
    let mut rounds = Vec::new();
    for i in 1..=repeat {
        let (rate, p50, p99) = runtime.block_on(round(calls, callers));
        println!(
            "invoke: round {i}: {rate:.0} invocations/s, p50 {:.1} ms, p99 {:.1} ms",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
        rounds.push((rate, p50, p99));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "invoke: {:.0} invocations/s, p50 {:.1} ms, p99 {:.1} ms (medians)",
        median(rounds.iter().map(|r| r.0).collect()),
        median(rounds.iter().map(|r| r.1.as_secs_f64() * 1000.0).collect()),
        median(rounds.iter().map(|r| r.2.as_secs_f64() * 1000.0).collect())
    );
}
