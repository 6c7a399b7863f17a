//! Metrics and request ids (issue #11, item 5): Prometheus text on its own listener, never on the
//! protocol listener; every response carries its request id, which is also the trace id of an error.

use gatehouse_server::settings::{Listen, TlsMode};
use serde_json::Value;

use crate::helpers::{Journey, TestApp};

#[tokio::test]
async fn metrics_count_requests_grants_and_report_the_store_and_keys() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.metrics = Listen::At("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let j = Journey::create(&app, None).await;
    let r = app.token_form(&app.tenant(), &j.form()).await;
    assert_eq!(r.status(), 200);
    let mut wrong = j.form();
    wrong[2] = ("client_secret", "wrong");
    let r = app.token_form(&app.tenant(), &wrong).await;
    assert_eq!(r.status(), 401);
    let request_id = r.headers()["x-ms-request-id"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["trace_id"],
        request_id.as_str(),
        "the error's trace id is the request id"
    );

    let at = app
        .server
        .as_ref()
        .unwrap()
        .metrics_addr
        .expect("metrics are served");
    let text = app
        .http
        .get(format!("http://{at}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "gatehouse_http_requests_total{route=\"/{tenant}/oauth2/v2.0/token\",status=\"200\"}",
        "gatehouse_http_requests_total{route=\"/{tenant}/oauth2/v2.0/token\",status=\"401\"} 1",
        "gatehouse_http_requests_total{route=\"/v1.0/applications\",status=\"201\"}",
        "gatehouse_http_request_duration_seconds_bucket{route=\"/{tenant}/oauth2/v2.0/token\",le=\"+Inf\"}",
        "gatehouse_token_grants_total{grant=\"client_credentials\",outcome=\"invalid_client\"} 1",
        "gatehouse_token_grants_total{grant=\"client_credentials\",outcome=\"issued\"}",
        "gatehouse_requests_capacity{class=\"graph_write\"} 16",
        "gatehouse_requests_refused_total{class=\"token\",reason=\"busy\"} 0",
        "gatehouse_store_ready 1",
        "gatehouse_store_connections_max 4",
        "gatehouse_signing_keys{state=\"active\"} 1",
        "gatehouse_signing_key_active_age_seconds ",
        "gatehouse_directory_cache_hits_total{cache=\"clients\"}",
        "gatehouse_directory_unconfirmed_seconds ",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    // Every family is announced once, and nothing in it is a secret.
    assert_eq!(
        text.matches("# TYPE gatehouse_http_requests_total counter")
            .count(),
        1
    );
    assert!(!text.contains(&j.secret));
    // Not on the protocol listener; health is on both.
    assert_ne!(app.status("/metrics").await, 200);
    for path in ["/health/live", "/health/ready"] {
        let r = app.http.get(format!("http://{at}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} on the metrics listener");
    }
}
