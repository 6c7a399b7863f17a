//! Two `gatehouse serve` processes on one store: a change written through one node is in force on the
//! other within one second (ARCHITECTURE.md "Scale-out"), on PostgreSQL and on one SQLite file.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gatehouse_core::admin::bootstrap::BootstrapOutput;
use gatehouse_store::testing::PgDatabase;
use reqwest::Method as M;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{credentials, temp_dir, Journey, TestApp};

pub(crate) struct Node {
    pub(crate) child: Child,
    base: String,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `gatehouse serve` and waits until it is ready; returns the bootstrap output if it printed one.
async fn start_node(data_dir: &Path, database_url: Option<&str>) -> (Node, Option<BootstrapOutput>) {
    start_node_on(data_dir, database_url, &format!("127.0.0.1:{}", free_port()), &[]).await
}

/// [`start_node`] on a chosen address, with more `serve` flags.
pub(crate) async fn start_node_on(
    data_dir: &Path,
    database_url: Option<&str>,
    listen: &str,
    extra: &[&str],
) -> (Node, Option<BootstrapOutput>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args([
        "serve",
        "--insecure-http",
        "--domain",
        "contoso.example",
        "--listen",
        listen,
    ])
    .arg("--data-dir")
    .arg(data_dir)
    .env("GATEHOUSE_LOG", "warn")
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    cmd.args(extra);
    let mut child = cmd.spawn().expect("the gatehouse binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(Ok(Some(line))) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        lines.next_line(),
    )
    .await
    {
        let listening = line.starts_with("Gatehouse listening");
        text.push_str(&line);
        text.push('\n');
        if listening {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let boot = text
        .find('{')
        .and_then(|a| text.rfind('}').map(|b| &text[a..=b]))
        .map(|j| credentials(&serde_json::from_str(j).unwrap()));
    assert!(text.contains("Gatehouse listening"), "node did not start: {text}");
    (
        Node {
            child,
            base: format!("http://{listen}"),
        },
        boot,
    )
}

/// Creates the journey through node A, then removes the secret through A and times how long node B
/// keeps accepting it.
async fn change_on_one_node_is_in_force_on_the_other(database_url: Option<&str>) {
    let backend = if database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = temp_dir();
    let (mut a, boot) = start_node(&dir, database_url).await;
    let (mut b, second_boot) = start_node(&dir, database_url).await;
    let boot = boot.expect("the first node bootstraps");
    assert!(second_boot.is_none(), "the second node finds the tenant");
    let on_a = TestApp::attach(a.base.clone(), boot.clone(), dir.clone());
    let on_b = TestApp::attach(b.base.clone(), boot, dir.clone());

    let j = Journey::create(&on_a, Some(2)).await;
    // Node B learns of the new application within a second.
    let created = Instant::now();
    let form = j.form();
    loop {
        if on_b.token_form(&on_b.tenant(), &form).await.status() == 200 {
            break;
        }
        assert!(
            created.elapsed() < Duration::from_secs(1),
            "node B did not see the new application within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let admin = on_a.admin_token().await;
    let (s, _) = on_a
        .graph(
            M::POST,
            &format!("applications/{}/removePassword", j.daemon_app_object_id),
            &admin,
            Some(json!({"keyId": j.secret_key_id})),
        )
        .await;
    assert_eq!(s, 204);
    let removed = Instant::now();
    loop {
        let status = on_b.token_form(&on_b.tenant(), &form).await.status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            removed.elapsed() < Duration::from_secs(1),
            "node B still accepted a removed secret after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{backend}: node B refused the removed secret {} ms after the removal returned",
        removed.elapsed().as_millis()
    );
    let _ = a.child.kill().await;
    let _ = b.child.kill().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_processes_on_one_postgres_database() {
    let db = PgDatabase::create().await;
    change_on_one_node_is_in_force_on_the_other(Some(&db.url)).await;
    db.drop_now().await;
}

#[tokio::test]
async fn two_processes_on_one_sqlite_file() {
    change_on_one_node_is_in_force_on_the_other(None).await;
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = temp_dir();
    let (mut node, _) = start_node(&dir, None).await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/health/ready", node.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let pid = node.child.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(25), node.child.wait())
        .await
        .expect("exits within the drain time")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(dir);
}
