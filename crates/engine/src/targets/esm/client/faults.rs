//! The client against a misbehaving server on 127.0.0.1: one that limits
//! its rate with 429, and one that answers far more than any answer can be.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::model::{TargetInfo, TargetKind};

/// A server answering each request with what `answer(method and path, n-th
/// request of that path)` writes to the connection; returns its base URL.
fn server(
    answer: impl Fn(&str, usize, &mut dyn Write) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let writes = Arc::new(AtomicUsize::new(0));
    let counted = writes.clone();
    std::thread::spawn(move || {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let request: String = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
            if request.starts_with("PUT") || request.starts_with("POST /rest-api/itsm/v1/dc") {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            let n = seen.entry(request.clone()).or_default();
            *n += 1;
            answer(&request, *n, &mut stream);
            let _ = stream.flush();
        }
    });
    (base, writes)
}

fn json_answer(out: &mut dyn Write, status: &str, extra: &str, body: &str) {
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
}

fn login_or(request: &str, out: &mut dyn Write) -> bool {
    if request.starts_with("POST /rest-api/itsm/v1/users/login") {
        json_answer(out, "200 OK", "", r#"{"token": "t-1"}"#);
        return true;
    }
    false
}

fn client(base: &str) -> EsmClient {
    let target = TargetInfo {
        name: "flaky".into(),
        kind: TargetKind::Esm,
        base_url: Some(base.into()),
        user: Some("webapi".into()),
        api_path: None,
        ca_file: None,
        batch_size: None,
        requests_per_second: None,
    };
    EsmClient::new(&target, Sensitive::new("pw".into())).unwrap()
}

#[test]
fn a_write_refused_with_429_waits_as_told_and_is_carried_out_once() {
    let (base, writes) = server(|request, n, out| {
        if login_or(request, out) {
            return;
        }
        if n <= 2 {
            json_answer(
                out,
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                r#"{"message": "slow down"}"#,
            );
        } else {
            json_answer(
                out,
                "200 OK",
                "",
                r#"{"data": [{"dataCard": {"dataCardId": "7"}}]}"#,
            );
        }
    });
    let mut c = client(&base);
    let started = Instant::now();
    // A create: never repeated after a lost answer, but a 429 was not carried out.
    let saved = c
        .bulk("person", &[json!({"folderCode": "persons", "data": {}})])
        .unwrap();
    assert_eq!(saved, [BulkResult::Saved(7)]);
    assert!(started.elapsed() >= Duration::from_secs(2), "waited as told");
    assert_eq!(writes.load(Ordering::SeqCst), 3);
}

#[test]
fn a_429_asking_for_too_long_a_wait_fails_naming_the_limit() {
    let (base, writes) = server(|request, _, out| {
        if !login_or(request, out) {
            json_answer(out, "429 Too Many Requests", "Retry-After: 3600\r\n", "{}");
        }
    });
    let mut c = client(&base);
    let started = Instant::now();
    let e = c
        .create("person", "persons", &json!({"a": "b"}))
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        e.contains("HTTP 429 Too Many Requests (it asked to wait 3600 s)"),
        "{e}"
    );
    assert!(e.contains("requests_per_second"), "{e}");
    assert_eq!(writes.load(Ordering::SeqCst), 1);
}

#[test]
fn answers_larger_than_their_kind_allows_fail_without_being_held() {
    let (base, _) = server(|request, _, out| {
        if login_or(request, out) {
            return;
        }
        if request.starts_with("PATCH") {
            // Declared up front: refused before reading.
            let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\nConnection: close\r\n\r\n[");
            return;
        }
        // Undeclared: 3 MiB streamed until the server closes.
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        );
        let chunk = vec![b' '; 64 << 10];
        for _ in 0..48 {
            if out.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut c = client(&base);
    let e = c.patch("person", 5, &json!({"a": "b"})).unwrap_err().to_string();
    assert!(e.contains("the answer is larger than 1 MiB"), "{e}");
    let e = c
        .create("person", "persons", &json!({"a": "b"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("the answer is larger than 1 MiB"), "{e}");
}
