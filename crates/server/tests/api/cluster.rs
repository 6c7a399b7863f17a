//! Three `gatehouse serve` processes on one PostgreSQL database behind a small loopback balancer
//! (issue #11, item 7). One node is killed with SIGKILL while Graph writes, token requests and client
//! assertions (each sent twice at once) go through the balancer. The oracle: every write answered 2xx
//! is stored, every token issued verifies against the cluster's keys, no assertion is accepted twice,
//! and nothing answers a 5xx other than 503.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_store::testing::PgDatabase;
use gatehouse_validate::{RemoteKeys, Validator};
use serde_json::json;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};

use crate::certificates::{register, ClientCert};
use crate::helpers::{all_application_ids, temp_dir, Journey, TestApp};

/// A round-robin TCP balancer on loopback: each connection goes to the next backend that accepts one.
async fn balancer(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (backends, next) = (backends.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let first = next.fetch_add(1, Ordering::Relaxed);
                for i in 0..backends.len() {
                    let to = backends[(first + i) % backends.len()];
                    let Ok(Ok(mut server)) =
                        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(to)).await
                    else {
                        continue;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_lose_nothing_when_one_is_killed_under_load() {
    let db = PgDatabase::create().await;
    let dir = temp_dir();
    // The balancer's address is every node's public URL, so that they issue one issuer's tokens.
    let ports: Vec<u16> = (0..3).map(|_| super::nodes::free_port()).collect();
    let lb = balancer(
        ports
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect(),
    )
    .await;
    let public = format!("http://127.0.0.1:{}", lb.port());
    let mut nodes = Vec::new();
    let mut boot = None;
    for port in &ports {
        let listen = format!("127.0.0.1:{port}");
        let (node, b) = super::nodes::start_node_on(
            &dir,
            Some(&db.url),
            &listen,
            &[
                "--public-url",
                &public,
                "--token-rate-limit",
                "0",
                "--address-rate-limit",
                "0",
            ],
        )
        .await;
        boot = boot.or(b);
        nodes.push(node);
    }
    let app = Arc::new(TestApp::attach(public.clone(), boot.unwrap(), dir.clone()));
    let j = Arc::new(Journey::create(&app, Some(2)).await);
    let cert = Arc::new(ClientCert::new());
    assert_eq!(register(&app, &j, &[cert.der()]).await.0, 204);
    let admin = Arc::new(app.admin_token().await);
    // Every node knows the certificate before the load starts.
    let aud = format!("{public}/{}/oauth2/v2.0/token", app.tenant());
    for _ in 0..60 {
        let mut ok = 0;
        for _ in 0..3 {
            let a = cert.msal_rs256(&j.daemon_app_id, &aud);
            ok += u8::from(app.assertion_grant(&app.tenant(), &j.daemon_app_id, &a).await.0 == 200);
        }
        if ok == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A client that opens a new connection for each request, so requests spread over the nodes.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(Mutex::new(Vec::new()));
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (double_accepted, statuses) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let token_url = format!("{public}/{}/oauth2/v2.0/token", app.tenant());
    let mut load = Vec::new();
    for w in 0..2 {
        let (http, stop, created, statuses, admin) = (
            http.clone(),
            stop.clone(),
            created.clone(),
            statuses.clone(),
            admin.clone(),
        );
        let url = format!("{public}/v1.0/applications");
        load.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let r = http
                    .post(&url)
                    .bearer_auth(admin.as_str())
                    .json(&json!({"displayName": format!("cluster-{w}-{i}")}))
                    .send()
                    .await;
                let Ok(r) = r else { continue };
                let status = r.status().as_u16();
                statuses.lock().unwrap().push(status);
                if status == 201 {
                    let v: serde_json::Value = r.json().await.unwrap();
                    created
                        .lock()
                        .unwrap()
                        .push(v["appId"].as_str().unwrap().to_string());
                }
            }
        }));
    }
    {
        let (http, stop, tokens, statuses, url, j) = (
            http.clone(),
            stop.clone(),
            tokens.clone(),
            statuses.clone(),
            token_url.clone(),
            j.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(r) = http.post(&url).form(&j.form()).send().await else {
                    continue;
                };
                let status = r.status().as_u16();
                statuses.lock().unwrap().push(status);
                if status == 200 {
                    let v: serde_json::Value = r.json().await.unwrap();
                    tokens
                        .lock()
                        .unwrap()
                        .push(v["access_token"].as_str().unwrap().to_string());
                }
            }
        }));
    }
    {
        let (http, stop, statuses, double, url, j, cert, aud) = (
            http.clone(),
            stop.clone(),
            statuses.clone(),
            double_accepted.clone(),
            token_url.clone(),
            j.clone(),
            cert.clone(),
            aud.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let assertion = cert.msal_rs256(&j.daemon_app_id, &aud);
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", j.daemon_app_id.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                    ("scope", "api://reports/.default"),
                ];
                let (a, b) = tokio::join!(
                    http.post(&url).form(&form).send(),
                    http.post(&url).form(&form).send()
                );
                let mut accepted = 0;
                for r in [a, b].into_iter().flatten() {
                    let status = r.status().as_u16();
                    statuses.lock().unwrap().push(status);
                    accepted += usize::from(status == 200);
                }
                if accepted > 1 {
                    double.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = nodes.remove(1);
    let pid = victim.child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }

    let statuses = statuses.lock().unwrap().clone();
    let created = created.lock().unwrap().clone();
    let tokens = tokens.lock().unwrap().clone();
    println!(
        "{} requests answered ({} writes and {} tokens acknowledged, {} answered 503)",
        statuses.len(),
        created.len(),
        tokens.len(),
        statuses.iter().filter(|s| **s == 503).count()
    );
    assert!(
        !created.is_empty() && !tokens.is_empty(),
        "the cluster served the load"
    );
    let server_errors: Vec<_> = statuses.iter().filter(|s| **s >= 500 && **s != 503).collect();
    assert!(server_errors.is_empty(), "5xx other than 503: {server_errors:?}");
    assert_eq!(
        double_accepted.load(Ordering::Relaxed),
        0,
        "an assertion was accepted twice"
    );
    let stored: HashSet<String> = all_application_ids(&app, &admin).await.into_iter().collect();
    let lost: Vec<_> = created.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged writes were lost: {lost:?}");
    let issuer = format!("{public}/{}/v2.0", app.tenant());
    let keys = RemoteKeys::discover(&issuer, None).await.unwrap();
    let validator = Validator::new(issuer, vec![j.api_app_id.clone()], keys);
    for t in &tokens {
        validator
            .validate(t, OffsetDateTime::now_utc())
            .await
            .unwrap_or_else(|e| panic!("an issued token does not verify: {e}"));
    }
    for mut n in nodes {
        let _ = n.child.kill().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_now().await;
}
