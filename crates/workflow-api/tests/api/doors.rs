//! The API's doors as a hostile web page, a hostile local program and a
//! careless client would try them: foreign `Host` and `Origin`, a declared
//! body far above the limit, unknown routes, bursts of bad tokens, and
//! thousands of idle or half-sent connections.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use provisio_workflow_api::Limits;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Api, INVOKE};

fn address(api: &Api) -> String {
    api.base
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_string()
}

/// Sends `request` as written and reads the answer until the server closes
/// or five seconds pass.
async fn raw(address: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            // A complete answer on a kept-alive connection: stop waiting.
            Err(_) if !answer.is_empty() => break,
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

fn body(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON body: {answer:?}"))
}

#[tokio::test]
async fn a_foreign_host_or_origin_is_refused_on_every_route_and_nothing_runs() {
    let api = Api::start(Limits::default()).await;
    let token = api.token("flows", &[]).await;
    let at = address(&api);
    let port = at.rsplit(':').next().unwrap();
    for path in ["/api/v1/health", "/api/v1/openapi.json", "/api/v1/tasks"] {
        let answer = raw(
            &at,
            &format!("GET {path} HTTP/1.1\r\nHost: rebound.example:{port}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status(&answer), 421, "{answer}");
        assert_eq!(body(&answer)["code"], "wrong_host", "{answer}");
    }
    let invoke = json!({"values": {"employee_id": "jdoe"}}).to_string();
    let answer = raw(
        &at,
        &format!(
            "POST /api/v1{INVOKE} HTTP/1.1\r\nHost: rebound.example:{port}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{invoke}",
            invoke.len()
        ),
    )
    .await;
    assert_eq!(status(&answer), 421, "{answer}");
    assert!(
        api.engine.history("AD/Disable", 10).await.unwrap().is_empty(),
        "nothing ran"
    );

    // The loopback names with the port are this API.
    for host in [format!("localhost:{port}"), at.clone()] {
        let answer = raw(
            &at,
            &format!("GET /api/v1/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status(&answer), 200, "{host}: {answer}");
    }

    // A web page's cross-origin request is refused; no CORS header ever invites one.
    let evil = api
        .http
        .get(format!("{}/health", api.base))
        .header("Origin", "http://rebound.example")
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status().as_u16(), 403);
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let evil: Value = evil.json().await.unwrap();
    assert_eq!(evil["code"], "cross_origin");
    let preflight = api
        .http
        .request(reqwest::Method::OPTIONS, format!("{}{INVOKE}", api.base))
        .header("Origin", "http://rebound.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!preflight.status().is_success());
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
    let own = api
        .http
        .get(format!("{}/health", api.base))
        .header("Origin", format!("http://{at}"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
}

#[tokio::test]
async fn a_declared_body_above_the_limit_is_refused_before_it_is_read() {
    let api = Api::start(Limits::default()).await;
    let token = api.token("flows", &[]).await;
    let at = address(&api);
    // 99 MB announced, not one byte of it sent: the answer must come anyway.
    for auth in [format!("Authorization: Bearer {token}\r\n"), String::new()] {
        let started = Instant::now();
        let answer = raw(
            &at,
            &format!(
                "POST /api/v1{INVOKE} HTTP/1.1\r\nHost: {at}\r\n{auth}Content-Type: application/json\r\n\
                 Content-Length: 99000000\r\n\r\n"
            ),
        )
        .await;
        assert_eq!(status(&answer), 413, "{answer}");
        assert_eq!(body(&answer)["code"], "too_large");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert!(api.engine.history("AD/Disable", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_with_the_api_error_shape() {
    let api = Api::start(Limits::default()).await;
    let root = api.base.trim_end_matches("/api/v1").to_string();
    for (method, url, code, want) in [
        (
            reqwest::Method::GET,
            format!("{}/nothing", api.base),
            404,
            "not_found",
        ),
        (
            reqwest::Method::GET,
            format!("{root}/elsewhere"),
            404,
            "not_found",
        ),
        (
            reqwest::Method::DELETE,
            format!("{}/health", api.base),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::GET,
            format!("{}{INVOKE}", api.base),
            405,
            "method_not_allowed",
        ),
    ] {
        let response = api.http.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), code, "{method} {url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], want, "{method} {url}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("openapi.json"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_burst_of_bad_tokens_is_limited_per_address_and_callers_stay_answered() {
    let api = Api::start(Limits {
        failed_auth_per_minute: 20,
        ..Limits::default()
    })
    .await;
    let token = api.token("flows", &[]).await;
    let noisy_address: IpAddr = "127.0.0.2".parse().unwrap();
    let noisy = reqwest::Client::builder()
        .local_address(noisy_address)
        .build()
        .unwrap();
    // The caller's token was accepted once before the burst, from the noisy address too.
    let tasks = format!("{}/tasks", api.base);
    assert_eq!(
        noisy
            .get(&tasks)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let burst = {
        let (noisy, tasks) = (noisy.clone(), tasks.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for wave in 0..100 {
                let calls: Vec<_> = (0..20)
                    .map(|i| {
                        let request = noisy.get(&tasks).bearer_auth(format!("pvo_forged-{wave}-{i}"));
                        async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
                    })
                    .collect();
                for call in calls {
                    statuses.push(call.await);
                }
            }
            statuses
        })
    };
    // Authenticated callers from another address are answered during the burst.
    for _ in 0..20 {
        let (status, body) = api.call(reqwest::Method::GET, "/tasks", Some(&token), None).await;
        assert_eq!(status, 200, "{body}");
    }
    let statuses = burst.await.unwrap();
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(unauthorized + limited, 2000, "every forged call refused");
    assert!(
        unauthorized <= 20,
        "{unauthorized} token checks for one address in a minute"
    );

    // The noisy address is limited for bad tokens, not for a token it used before.
    let refused = noisy.get(&tasks).bearer_auth("pvo_forged").send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    assert_eq!(
        noisy
            .get(&tasks)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_and_never_crowd_out_callers_or_runs() {
    provisio_engine::platform::raise_open_files_limit();
    let api = Api::start(Limits {
        max_connections: 200,
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..Limits::default()
    })
    .await;
    let token = api.token("flows", &[]).await;
    let at = address(&api);

    // Half-sent requests first, then two thousand sockets that say nothing.
    let mut half_sent = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(&at).await.unwrap();
        s.write_all(format!("GET /api/v1/health HTTP/1.1\r\nHost: {at}\r\n").as_bytes())
            .await
            .unwrap();
        half_sent.push(s);
    }
    let connects: Vec<_> = (0..2000)
        .map(|_| {
            let at = at.clone();
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(at))
                    .await
                    .ok()
                    .and_then(Result::ok)
            })
        })
        .collect();
    let mut idle = Vec::new();
    for c in connects {
        if let Some(s) = c.await.unwrap() {
            idle.push(s);
        }
    }
    assert!(idle.len() >= 1000, "only {} idle sockets connected", idle.len());

    // An authenticated call and a scheduled run, while those sockets are held.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let started = http
        .post(format!("{}/connectors/HR/tasks/Load/run", api.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 202);
    let run: Value = started.json().await.unwrap();
    let run_id = run["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let r: Value = http
            .get(format!("{}/runs/{run_id}", api.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["status"] != "running" && r["status"] != "queued" {
            break r;
        }
        assert!(Instant::now() < deadline, "the run did not end: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(finished["status"], "succeeded", "{finished}");

    // The server closed the half-sent requests and the idle sockets.
    for mut s in half_sent.into_iter().chain(idle.into_iter().take(50)) {
        let mut buf = [0u8; 1024];
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                // A 408 may come before the close.
                Ok(Ok(_)) => continue,
                Err(_) => break false,
            }
        };
        assert!(closed, "a connection stayed open");
    }
}

#[tokio::test]
async fn a_read_back_through_the_api_leaves_the_card_with_the_task_that_loaded_it() {
    let api = Api::start(Limits::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // People from the connector's `ids` parameter; a full run with removal marking.
    let script = dir.path().join("people.py");
    std::fs::write(
        &script,
        "import json\nimport common_subroutines_efecte_library as sdk\na = sdk.initialize_script()\n\
         ids = a['connector_parameters']['ids']\n\
         json.dump([{'id': i, 'last': 'L' + i} for i in ids], open(a['expected_output_filename'], 'w'))\n",
    )
    .unwrap();
    api.engine
        .add_script(
            &script,
            provisio_engine::script_library::ScriptKind::Scheduled,
            None,
        )
        .await
        .unwrap();
    let connector = |ids: &[&str]| {
        provisio_engine::jsonc::from_str(
            &json!({"name": "People", "type": "python_script", "script": "people.py", "parameters": {"ids": ids}})
                .to_string(),
        )
        .unwrap()
    };
    api.engine
        .create_connector(connector(&["jdoe", "asmith"]))
        .await
        .unwrap();
    api.engine
        .create_task(
            "People",
            serde_json::from_value(json!({"name": "Load", "schedule": "0 0 0 1 1 *", "object_id_attribute": "id",
                "target_template": "person", "target_folder": "persons", "task_id_attribute": "taskid",
                "removal": {"status_attribute": "accountStatus", "removed_value": "5 - Removed"},
                "mappings": [{"source": "id", "target": "employee_id"}, {"source": "last", "target": "last_name"}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    let load = || {
        api.engine
            .run_task("People/Load", provisio_engine::model::RunTrigger::Manual, false)
    };
    assert_eq!(load().await.unwrap().counts.created, 2);
    let token = api.token("flows", &[]).await;
    let (status, read) = api
        .call(
            reqwest::Method::POST,
            "/connectors/AD/tasks/Lookup/invoke",
            Some(&token),
            Some(json!({"values": {"employee_id": "jdoe", "last_name": "Read"},
                        "card": {"attribute": "employee_id", "key": "jdoe"}})),
        )
        .await;
    assert_eq!(status, 200, "{read}");
    // jdoe leaves: the full run that loaded the card still marks it removed.
    api.engine
        .update_connector(
            "People",
            provisio_engine::jsonc::from_str(&json!({"parameters": {"ids": ["asmith"]}}).to_string())
                .unwrap(),
        )
        .await
        .unwrap();
    let r = load().await.unwrap();
    assert_eq!(r.counts.removed, 1, "{:?}", r.load);
    let cards = api.engine.datacards("person", None, 100).await.unwrap();
    let jdoe = cards.iter().find(|c| c.data["employee_id"] == "jdoe").unwrap();
    assert_eq!(
        (
            jdoe.data["last_name"].as_str(),
            jdoe.data["accountStatus"].as_str()
        ),
        (Some("Read"), Some("5 - Removed"))
    );
}
