//! Workload identity federation against a real external issuer: a second Gatehouse, over HTTPS with its
//! own CA, issues the assertion; the first trusts it through a federated identity credential.

use gatehouse_server::run::start;
use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, settings, temp_dir, Journey, TestApp};

/// The external side: an issuer with a workload that gets tokens for `api://AzureADTokenExchange`.
pub struct External {
    pub app: TestApp,
    pub workload_id: String,
    pub secret: String,
}

impl External {
    pub async fn start() -> Self {
        let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
        let admin = app.admin_token().await;
        let (s, x) = app
            .graph(
                M::POST,
                "applications",
                &admin,
                Some(
                    json!({"displayName": "Token exchange", "identifierUris": ["api://AzureADTokenExchange"],
                            "api": {"requestedAccessTokenVersion": 2}}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{x}");
        let (s, _) = app
            .graph(
                M::POST,
                "servicePrincipals",
                &admin,
                Some(json!({"appId": x["appId"]})),
            )
            .await;
        assert_eq!(s, 201);
        let (_, w) = app
            .graph(
                M::POST,
                "applications",
                &admin,
                Some(json!({"displayName": "CI runner"})),
            )
            .await;
        let (s, _) = app
            .graph(
                M::POST,
                "servicePrincipals",
                &admin,
                Some(json!({"appId": w["appId"]})),
            )
            .await;
        assert_eq!(s, 201);
        let (s, pw) = app
            .graph(
                M::POST,
                &format!("applications/{}/addPassword", w["id"].as_str().unwrap()),
                &admin,
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 200);
        Self {
            app,
            workload_id: w["appId"].as_str().unwrap().to_string(),
            secret: pw["secretText"].as_str().unwrap().to_string(),
        }
    }

    /// A token the external issuer gives the workload: the assertion to present elsewhere.
    pub async fn assertion(&self) -> String {
        self.app
            .token(
                &self.workload_id,
                &self.secret,
                "api://AzureADTokenExchange/.default",
            )
            .await
    }
}

async fn exchange(app: &TestApp, client_id: &str, assertion: &str) -> (u16, Value) {
    app.assertion_grant(&app.tenant(), client_id, assertion).await
}

#[tokio::test]
async fn an_assertion_from_a_trusted_external_issuer_gets_a_token() {
    let ext = External::start().await;
    let dir = temp_dir();
    let mut s = settings(dir.clone(), None, TlsMode::Insecure);
    s.federation_ca = Some(ext.app.data_dir.join("tls/ca.pem"));
    let server = start(s).await.unwrap();
    let app = TestApp::attach(
        format!("http://{}", server.addr),
        server.bootstrap.clone().unwrap(),
        dir.clone(),
    );
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let external = ext.assertion().await;
    let c = claims(&external);
    let (iss, sub, aud) = (c["iss"].clone(), c["sub"].clone(), c["aud"].clone());
    let path = format!(
        "applications/{}/federatedIdentityCredentials",
        j.daemon_app_object_id
    );

    // Graph: validation, create, list, get by name.
    let bad =
        json!({"name": "ci-runner", "issuer": "http://insecure.example", "subject": sub, "audiences": [aud]});
    assert_eq!(app.graph(M::POST, &path, &admin, Some(bad)).await.0, 400);
    let body = json!({"name": "ci-runner", "issuer": iss, "subject": sub, "audiences": [aud], "description": "runner"});
    let (s, fic) = app.graph(M::POST, &path, &admin, Some(body.clone())).await;
    assert_eq!(s, 201, "{fic}");
    assert_eq!(fic["audiences"], json!([aud]));
    let (s, dup) = app.graph(M::POST, &path, &admin, Some(body)).await;
    assert_eq!(
        (s, &dup["error"]["code"]),
        (409, &json!("Request_MultipleObjectsWithSameKeyValue"))
    );
    let (_, list) = app.graph(M::GET, &path, &admin, None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (s, by_name) = app
        .graph(M::GET, &format!("{path}/ci-runner"), &admin, None)
        .await;
    assert_eq!((s, &by_name["id"]), (200, &fic["id"]));
    let defaulted = json!({"name": "defaulted", "issuer": "https://other.example", "subject": "x"});
    let (s, d) = app.graph(M::POST, &path, &admin, Some(defaulted)).await;
    assert_eq!(
        (s, d["audiences"].clone()),
        (201, json!(["api://AzureADTokenExchange"]))
    );

    // The exchange itself.
    let (s, body) = exchange(&app, &j.daemon_app_id, &external).await;
    assert_eq!(s, 200, "{body}");
    let t = claims(body["access_token"].as_str().unwrap());
    assert_eq!(t["azpacr"], "2");
    assert_eq!(t["roles"], json!(["Reports.Read"]));

    // Each mismatch names what did not match.
    let patch = |v: Value| {
        let app = &app;
        let admin = admin.clone();
        let p = format!("{path}/ci-runner");
        async move {
            let (s, b) = app.graph(M::PATCH, &p, &admin, Some(v)).await;
            assert_eq!(s, 204, "{b}");
        }
    };
    let code = |b: &Value| b["error_codes"][0].as_u64().unwrap();
    patch(json!({"subject": sub.as_str().unwrap().to_uppercase()})).await;
    let (s, b) = exchange(&app, &j.daemon_app_id, &external).await;
    assert_eq!((s, code(&b)), (401, 7002138), "{b}");
    patch(json!({"subject": "someone-else"})).await;
    assert_eq!(code(&exchange(&app, &j.daemon_app_id, &external).await.1), 700213);
    patch(json!({"subject": sub, "audiences": ["api://elsewhere"]})).await;
    assert_eq!(code(&exchange(&app, &j.daemon_app_id, &external).await.1), 700212);
    patch(json!({"audiences": [aud]})).await;
    assert_eq!(exchange(&app, &j.daemon_app_id, &external).await.0, 200);

    // A tampered or unsigned assertion from the right issuer.
    let mut parts: Vec<String> = external.split('.').map(String::from).collect();
    parts[2] = gatehouse_jose::b64url(&[0u8; 256]);
    let (s, b) = exchange(&app, &j.daemon_app_id, &parts.join(".")).await;
    assert_eq!((s, code(&b)), (401, 700027), "{b}");
    let none_header = gatehouse_jose::b64url(br#"{"alg":"none","kid":"x"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_eq!(exchange(&app, &j.daemon_app_id, &unsigned).await.0, 401);

    // An issuer nobody registered: refused without contacting it.
    let (s, _) = app
        .graph(M::DELETE, &format!("{path}/ci-runner"), &admin, None)
        .await;
    assert_eq!(s, 204);
    let (s, b) = exchange(&app, &j.daemon_app_id, &external).await;
    assert_eq!((s, code(&b)), (401, 700211), "{b}");

    server.shutdown().await;
    ext.app.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
