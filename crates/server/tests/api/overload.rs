//! Admission control (issue #11, item 2): past a class's capacity the excess is refused at once with
//! 503 and `Retry-After` in the surface's own shape, nothing admitted is lost, health keeps answering;
//! a client over its rate limit gets 429 with `Retry-After` in Entra's shape, and another client does
//! not notice.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_server::admission::Rate;
use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{Journey, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_writes_beyond_capacity_are_refused_with_503_and_none_admitted_is_lost() {
    let app = Arc::new(
        TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
            s.limits.graph_write_concurrency = 1;
            s.limits.queue_timeout = Duration::from_secs(1);
        })
        .await,
    );
    let admin = Arc::new(app.admin_token().await);
    let writes: Vec<_> = (0..200)
        .map(|i| {
            let (app, admin) = (Arc::clone(&app), Arc::clone(&admin));
            tokio::spawn(async move {
                let r = app
                    .http
                    .post(app.url("/v1.0/applications"))
                    .bearer_auth(admin.as_str())
                    .header("client-request-id", "6f1a1b0e-0b8f-4a63-9d61-1d7d2b3c4e5f")
                    .json(&json!({"displayName": format!("overload-{i}")}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let retry_after = r.headers().get("retry-after").cloned();
                let body: Value = r.json().await.unwrap();
                (status, retry_after, body)
            })
        })
        .collect();
    // Health and reads have gates of their own: they answer while writes are refused.
    assert_eq!(app.status("/health/live").await, 200);
    assert_eq!(app.status("/health/ready").await, 200);
    let (mut created, mut refused) = (Vec::new(), 0);
    for w in writes {
        let (status, retry_after, body) = w.await.unwrap();
        match status {
            201 => created.push(body["appId"].as_str().unwrap().to_string()),
            503 => {
                refused += 1;
                assert_eq!(retry_after.unwrap(), "1");
                assert_eq!(body["error"]["code"], "ServiceUnavailable", "{body}");
                assert_eq!(
                    body["error"]["innerError"]["client-request-id"],
                    "6f1a1b0e-0b8f-4a63-9d61-1d7d2b3c4e5f"
                );
            }
            other => panic!("a write answered {other}: {body}"),
        }
    }
    assert!(
        refused > 0,
        "200 writes at once against one slot: some are refused"
    );
    assert!(!created.is_empty(), "the admitted writes are served");
    // Every write that was acknowledged is there.
    let (s, list) = app.graph(M::GET, "applications?$top=999", &admin, None).await;
    assert_eq!(s, 200);
    let stored: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["appId"].as_str())
        .collect();
    for id in &created {
        assert!(
            stored.contains(&id.as_str()),
            "acknowledged application {id} is stored"
        );
    }
    // Once the flood is over, writes are admitted again.
    app.create(&admin, "applications", json!({"displayName": "after"}))
        .await;
}

#[tokio::test]
async fn a_client_over_its_rate_is_refused_with_429_and_another_client_is_not() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.limits.per_client = Rate::new(1, 3);
    })
    .await;
    let j = Journey::create(&app, None).await;
    for i in 0..3 {
        let r = app.token_form(&app.tenant(), &j.form()).await;
        assert_eq!(r.status(), 200, "request {i} is within the burst");
    }
    let r = app.token_form(&app.tenant(), &j.form()).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_codes"], json!([90055]));
    // The management client is another client: it is served.
    app.admin_token().await;
    // After the wait the daemon is served again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = app.token_form(&app.tenant(), &j.form()).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_address_over_its_rate_is_refused_on_the_token_endpoint_and_the_sign_in_forms() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.limits.per_address = Rate::new(1, 4);
    })
    .await;
    // Four requests naming four made-up clients: each is refused for what it is, not for its rate.
    for i in 0..4 {
        let r = app
            .token_form(
                &app.tenant(),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &format!("00000000-0000-0000-0000-00000000000{i}")),
                    ("client_secret", "x"),
                    ("scope", "api://x/.default"),
                ],
            )
            .await;
        assert_eq!(r.status(), 400, "request {i}");
    }
    let r = app
        .token_form(&app.tenant(), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(r.status(), 429, "the fifth from this address");
    assert!(r.headers().contains_key("retry-after"));
    // The sign-in form posts count against the same address, and are refused with the error page.
    let r = app
        .http
        .post(app.url(&format!("/{}/login", app.tenant())))
        .form(&[("loginfmt", "a@contoso.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("AADSTS90055"));
    // Pages a browser merely loads, discovery and health are not counted.
    assert_eq!(app.status("/health/ready").await, 200);
    assert_eq!(
        app.status(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            app.tenant()
        ))
        .await,
        200
    );
}
