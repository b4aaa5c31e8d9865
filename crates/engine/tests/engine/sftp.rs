//! The HR connector fetching over SFTP from a real OpenSSH server on
//! 127.0.0.1 (see sshd.rs): password and key logins, the host key pinned or
//! trusted on first use, a changed key refused, the file moved to the remote
//! archive only after the load committed.

use provisio_engine::model::{RunStatus, RunTrigger};
use serde_json::{json, Value};

use crate::hr::{case_of, hr, last_report, params, row, HEADER};
use crate::sshd::{password, Sshd, USER};
use crate::support::*;

fn sftp_params(server: &Sshd, login: Value) -> Value {
    let mut p = json!({
        "file_path": "./data/workperiod*.csv",
        "sftp_server_fqdn": "127.0.0.1",
        "sftp_server_ssh_port_number": server.port.to_string(),
        "sftp_username": USER,
        "sftp_remote_path_data": server.data.display().to_string(),
        "sftp_remote_path_archive": server.archive.display().to_string(),
    });
    for (k, v) in login.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

fn csv(rows: &[u32]) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for id in rows {
        text.push_str(&row(*id, "Smith"));
        text.push('\n');
    }
    text.into_bytes()
}

async fn run(f: &Fixture) -> provisio_engine::model::Run {
    f.engine
        .run_task("HR/Load", RunTrigger::Manual, false)
        .await
        .unwrap()
}

async fn card_count(f: &Fixture) -> usize {
    f.engine
        .datacards("workperiod", Some("workperiods"), 100)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_password_login_fetches_the_file_trusts_the_host_key_on_first_use_and_archives_the_file() {
    let server = Sshd::start();
    let f = fresh().await;
    let folder = hr(&f, sftp_params(&server, json!({"sftp_password": password()}))).await;
    server.deliver("workperiod_2026-11.csv", &csv(&[1, 2, 3]));

    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!(card_count(&f).await, 3);
    assert!(Sshd::names(&server.data).is_empty(), "the data folder is emptied");
    assert_eq!(Sshd::names(&server.archive), ["workperiod_2026-11.csv"]);
    let known = std::fs::read_to_string(folder.join("sftp_known_hosts")).unwrap();
    assert_eq!(
        known.trim(),
        format!("127.0.0.1:{} {}", server.port, server.fingerprint)
    );
    let report = last_report(&f).await;
    assert!(
        report["description"]
            .as_str()
            .unwrap()
            .contains("sftp://127.0.0.1"),
        "the report names where the file came from: {report}"
    );
    // The password never reaches the run's record or the report.
    let shown = format!("{r:?}{report}");
    assert!(!shown.contains(password()));

    // Nothing new delivered: the next run says so; a same-named file archives beside the first.
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(case_of(&last_report(&f).await), "file_not_received");
    server.deliver("workperiod_2026-11.csv", &csv(&[1, 2, 3, 4]));
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!(card_count(&f).await, 4);
    let archived = Sshd::names(&server.archive);
    assert_eq!(archived.len(), 2, "{archived:?}");
    assert!(archived[1].starts_with("workperiod_2026-11.csv."), "{archived:?}");
}

#[tokio::test]
async fn a_private_key_logs_in_against_a_pinned_host_key() {
    let server = Sshd::start();
    let f = fresh().await;
    let login =
        json!({"sftp_private_key": server.client_key, "sftp_host_key_fingerprint": server.fingerprint});
    let folder = hr(&f, sftp_params(&server, login)).await;
    // The key is a secret: it went to the keyring, not the database.
    let shown = serde_json::to_string(&f.engine.connector("HR").await.unwrap()).unwrap();
    assert!(!shown.contains("OPENSSH PRIVATE KEY"), "{shown}");
    server.deliver("workperiod.csv", &csv(&[1, 2]));
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.extract);
    assert_eq!(card_count(&f).await, 2);
    assert_eq!(Sshd::names(&server.archive), ["workperiod.csv"]);
    assert!(
        !folder.join("sftp_known_hosts").exists(),
        "a pinned key is not recorded"
    );
}

#[tokio::test]
async fn a_host_key_other_than_the_pinned_or_recorded_one_is_refused_before_anything_is_fetched() {
    let server = Sshd::start();
    let f = fresh().await;
    let wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let folder = hr(
        &f,
        sftp_params(
            &server,
            json!({"sftp_password": password(), "sftp_host_key_fingerprint": wrong}),
        ),
    )
    .await;
    server.deliver("workperiod.csv", &csv(&[1]));
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(
        info.contains(&server.fingerprint) && info.contains("set sftp_host_key_fingerprint to the new one"),
        "{info}"
    );
    assert_eq!(card_count(&f).await, 0);
    assert_eq!(
        Sshd::names(&server.data),
        ["workperiod.csv"],
        "the file stays where it was"
    );

    // Trusted on first use, then the server's key changes: refused, naming the file to edit.
    f.engine
        .update_connector(
            "HR",
            connector_input(
                &json!({"parameters": params(sftp_params(&server, json!({"sftp_password": password()})))})
                    .to_string(),
            ),
        )
        .await
        .unwrap();
    let known = folder.join("sftp_known_hosts");
    std::fs::write(&known, format!("127.0.0.1:{} {wrong}\n", server.port)).unwrap();
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(
        info.contains("host key") && info.contains("sftp_known_hosts"),
        "{info}"
    );
    assert_eq!(card_count(&f).await, 0);
}

#[tokio::test]
async fn a_refused_password_and_several_matching_files_are_reported_and_load_nothing() {
    let server = Sshd::start();
    let f = fresh().await;
    hr(
        &f,
        sftp_params(&server, json!({"sftp_password": "not-the-password"})),
    )
    .await;
    server.deliver("workperiod_a.csv", &csv(&[1]));
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(
        info.contains(&format!("the login of user '{USER}' was refused")),
        "{info}"
    );
    assert!(!info.contains("not-the-password"), "{info}");

    f.engine
        .update_connector(
            "HR",
            connector_input(
                &json!({"parameters": params(sftp_params(&server, json!({"sftp_password": password()})))})
                    .to_string(),
            ),
        )
        .await
        .unwrap();
    server.deliver("workperiod_b.csv", &csv(&[2]));
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Interrupted, "{:?}", r.extract);
    assert_eq!(case_of(&last_report(&f).await), "multiple_files");
    assert_eq!(card_count(&f).await, 0);
    assert_eq!(
        Sshd::names(&server.data).len(),
        2,
        "both files stay for the admin to sort out"
    );
}

#[tokio::test]
async fn a_remote_file_over_the_size_cap_is_refused_before_it_is_fetched_and_stays_on_the_server() {
    let server = Sshd::start();
    let f = fresh().await;
    hr(&f, sftp_params(&server, json!({"sftp_password": password()}))).await;
    f.engine
        .set_settings(&[("hr_max_file_mb".into(), "1".into())])
        .await
        .unwrap();
    let rows: Vec<u32> = (1..=60_000).collect();
    server.deliver("workperiod.csv", &csv(&rows));
    let r = run(&f).await;
    assert_eq!(r.status, RunStatus::Failed);
    let info = r.extract.info.clone().unwrap_or_default();
    assert!(
        info.contains("on SFTP server 127.0.0.1") && info.contains("more than hr_max_file_mb (1 MB)"),
        "{info}"
    );
    assert_eq!(card_count(&f).await, 0);
    assert_eq!(
        Sshd::names(&server.data),
        ["workperiod.csv"],
        "the file stays for a later run"
    );
    let fetched = std::fs::read_dir(f.engine.run_dir(&r.id))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("fetched"));
    assert!(!fetched, "nothing of it was written locally");
}
