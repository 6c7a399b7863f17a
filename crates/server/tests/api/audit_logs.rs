//! The audit and sign-in logs through Graph (`/v1.0/auditLogs`) and the CLI: one record per write,
//! refused writes included; one per token request, refusals included; no secret in either; filters,
//! paging and the permission that guards them.

use reqwest::Method as M;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{gatehouse, temp_dir, within, Journey, TestApp};

/// A Graph request with a `client-request-id` of its own: the correlation id of its record.
async fn graph_with_id(
    app: &TestApp,
    method: M,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let id = Uuid::new_v4().to_string();
    let mut req = app
        .http
        .request(method, app.url(&format!("/v1.0/{path}")))
        .bearer_auth(token)
        .header("client-request-id", &id);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), id)
}

/// The audit records with this correlation id.
async fn audits_of(app: &TestApp, admin: &str, correlation_id: &str) -> Vec<Value> {
    let filter = format!("correlationId eq '{correlation_id}'");
    let (s, v) = app
        .graph(
            M::GET,
            &format!("auditLogs/directoryAudits?$filter={}", urlencode(&filter)),
            admin,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["value"].as_array().unwrap().clone()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn every_graph_write_leaves_one_audit_record_and_no_secret() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let boot_app_id = app.boot.client_id.to_string();

    // Add: one record, with the new object as its target and the properties set, by name.
    let (s, created, add) = graph_with_id(
        &app,
        M::POST,
        "applications",
        &admin,
        Some(json!({"displayName": "Audited app", "notes": "n"})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let records = audits_of(&app, &admin, &add).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["activityDisplayName"], "Add application");
    assert_eq!(r["category"], "ApplicationManagement");
    assert_eq!(r["operationType"], "Add");
    assert_eq!(r["result"], "success");
    assert_eq!(r["loggedByService"], "Core Directory");
    assert_eq!(r["initiatedBy"]["app"]["appId"], boot_app_id.as_str());
    assert!(r["initiatedBy"]["app"]["servicePrincipalId"].is_string(), "{r}");
    assert_eq!(r["initiatedBy"]["user"], Value::Null);
    let target = &r["targetResources"][0];
    assert_eq!(
        (target["id"].as_str(), target["type"].as_str()),
        (Some(id), Some("Application"))
    );
    assert_eq!(target["displayName"], "Audited app");
    let names: Vec<&str> = target["modifiedProperties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["displayName", "notes"]);
    assert!(
        target["modifiedProperties"][0]["newValue"].is_null(),
        "values are never recorded"
    );
    // The record is also read by its id.
    let (s, one) = app
        .graph(
            M::GET,
            &format!("auditLogs/directoryAudits/{}", r["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!((s, &one["id"]), (200, &r["id"]));

    // Update, a secret added (its value nowhere in the log), and delete: one record each.
    let (s, _, patch) = graph_with_id(
        &app,
        M::PATCH,
        &format!("applications/{id}"),
        &admin,
        Some(json!({"notes": "m"})),
    )
    .await;
    assert_eq!(s, 204);
    let (s, pw, add_password) = graph_with_id(
        &app,
        M::POST,
        &format!("applications/{id}/addPassword"),
        &admin,
        Some(json!({"passwordCredential": {"displayName": "ci"}})),
    )
    .await;
    assert_eq!(s, 200, "{pw}");
    let secret = pw["secretText"].as_str().unwrap().to_string();
    let (s, _, user) = graph_with_id(
        &app,
        M::POST,
        "users",
        &admin,
        Some(json!({"accountEnabled": true, "displayName": "Bob", "mailNickname": "bob",
                    "userPrincipalName": "bob@contoso.example",
                    "passwordProfile": {"password": "Canary-Password-123!", "forceChangePasswordNextSignIn": false}})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _, delete) = graph_with_id(&app, M::DELETE, &format!("applications/{id}"), &admin, None).await;
    assert_eq!(s, 204);
    for (correlation, activity) in [
        (&patch, "Update application"),
        (
            &add_password,
            "Update application – Certificates and secrets management ",
        ),
        (&user, "Add user"),
        (&delete, "Delete application"),
    ] {
        let records = audits_of(&app, &admin, correlation).await;
        assert_eq!(records.len(), 1, "{activity}: {records:?}");
        assert_eq!(records[0]["activityDisplayName"], activity);
        assert_eq!(records[0]["result"], "success");
    }

    // Refused writes are recorded too: bad input, and a caller without the permission.
    let (s, _, bad) = graph_with_id(
        &app,
        M::POST,
        "applications",
        &admin,
        Some(json!({"colour": "red"})),
    )
    .await;
    assert_eq!(s, 400);
    let refused = audits_of(&app, &admin, &bad).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["result"], "failure");
    assert_eq!(refused[0]["resultReason"], "Request_BadRequest (400)");
    let j = Journey::create(&app, Some(2)).await;
    let weak = app
        .token(
            &j.daemon_app_id,
            &j.secret,
            "https://graph.microsoft.com/.default",
        )
        .await;
    let (s, _, denied) = graph_with_id(
        &app,
        M::POST,
        "applications",
        &weak,
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(s, 403);
    let denied = audits_of(&app, &admin, &denied).await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["resultReason"], "Authorization_RequestDenied (403)");
    assert_eq!(denied[0]["initiatedBy"]["app"]["appId"], j.daemon_app_id.as_str());
    assert_eq!(denied[0]["initiatedBy"]["app"]["displayName"], "Nightly job");

    // Reading the logs takes AuditLog.Read.All.
    let (s, v) = app.graph(M::GET, "auditLogs/directoryAudits", &weak, None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied"))
    );
    let (s, _) = app.graph(M::GET, "auditLogs/signIns", &weak, None).await;
    assert_eq!(s, 403);

    // Nothing anyone sent as a secret is in the log.
    let (_, everything) = app
        .graph(M::GET, "auditLogs/directoryAudits?$top=999", &admin, None)
        .await;
    let text = everything.to_string();
    assert!(!text.contains(&secret));
    assert!(!text.contains(&j.secret));
    assert!(!text.contains("Canary-Password-123!"));
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_filters_and_pages_as_graph_does() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for i in 0..7 {
        app.create(&admin, "applications", json!({"displayName": format!("app {i}")}))
            .await;
    }
    app.create(
        &admin,
        "users",
        json!({"accountEnabled": true, "displayName": "Carol", "mailNickname": "carol",
               "userPrincipalName": "carol@contoso.example",
               "passwordProfile": {"password": "Carol-Password-123!", "forceChangePasswordNextSignIn": false}}),
    )
    .await;

    // Pages of three, newest first, following @odata.nextLink, cover every record once.
    let mut seen: Vec<String> = Vec::new();
    let mut times: Vec<String> = Vec::new();
    let mut next = Some(app.url("/v1.0/auditLogs/directoryAudits?$top=3"));
    while let Some(url) = next {
        let v: Value = app
            .http
            .get(&url)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(v["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#auditLogs/directoryAudits"));
        let page = v["value"].as_array().unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|r| r["id"].as_str().unwrap().to_string()));
        times.extend(
            page.iter()
                .map(|r| r["activityDateTime"].as_str().unwrap().to_string()),
        );
        next = v["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    let count = |filter: &str| {
        let path = format!("auditLogs/directoryAudits?$filter={}", urlencode(filter));
        let filter = filter.to_string();
        let (app, admin) = (&app, &admin);
        async move {
            let (s, v) = app.graph(M::GET, &path, admin, None).await;
            assert_eq!(s, 200, "{filter}: {v}");
            v["value"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("category eq 'UserManagement'").await, 1);
    assert_eq!(
        count("activityDisplayName eq 'add application' and result eq 'success'").await,
        7
    );
    assert_eq!(
        count(&format!("initiatedBy/app/appId eq '{}'", app.boot.client_id)).await,
        8
    );
    assert_eq!(count("activityDateTime ge 2000-01-01T00:00:00Z").await, 8);
    assert_eq!(count("activityDateTime gt 2999-01-01T00:00:00Z").await, 0);

    // What the logs do not support is refused in Graph's words, never a 5xx.
    for (query, code) in [
        ("$filter=category ne 'x'", "Request_UnsupportedQuery"),
        ("$filter=colour eq 'red'", "Request_BadRequest"),
        ("$filter=activityDateTime ge yesterday", "Request_BadRequest"),
        ("$top=0", "Request_BadRequest"),
        ("$skiptoken=garbage", "Request_BadRequest"),
        ("$orderby=activityDateTime", "Request_UnsupportedQuery"),
    ] {
        let (s, v) = app
            .graph(
                M::GET,
                &format!("auditLogs/directoryAudits?{query}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {v}"
        );
    }
    let (s, _) = app
        .graph(
            M::GET,
            "auditLogs/directoryAudits/Directory_nothing",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn every_token_request_leaves_a_sign_in_and_the_cli_reads_both_logs() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let j = Journey::create(&app, Some(2)).await;
    let issued = app.token_form(&app.tenant(), &j.form()).await;
    assert_eq!(issued.status(), 200);
    let wrong = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &j.daemon_app_id),
                ("client_secret", "canary-wrong-secret"),
                ("scope", "api://reports/.default"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    // A user's sign-in names the user.
    app.alice(&admin, "Alice-Password-123!").await;
    let public = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "CLI", "isFallbackPublicClient": true}),
        )
        .await;
    let public_id = public["appId"].as_str().unwrap().to_string();
    app.create(&admin, "servicePrincipals", json!({"appId": public_id}))
        .await;
    let alice = app
        .alice_signs_in(&public_id, "Alice-Password-123!", "openid profile")
        .await;
    assert!(alice["access_token"].is_string(), "{alice}");

    let sign_ins = |filter: String| {
        let path = format!("auditLogs/signIns?$filter={}", urlencode(&filter));
        let (app, admin) = (&app, &admin);
        async move {
            let (s, v) = app.graph(M::GET, &path, admin, None).await;
            assert_eq!(s, 200, "{v}");
            v["value"].as_array().unwrap().clone()
        }
    };
    let daemon = format!("appId eq '{}'", j.daemon_app_id);
    within(
        std::time::Duration::from_secs(5),
        "the daemon's sign-ins are recorded",
        || async { sign_ins(daemon.clone()).await.len() == 2 },
    )
    .await;
    let ok = sign_ins(format!("{daemon} and status/errorCode eq 0")).await;
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["appDisplayName"], "Nightly job");
    assert_eq!(ok[0]["servicePrincipalId"], j.daemon_sp_id.as_str());
    assert_eq!(ok[0]["resourceDisplayName"], "Reports API");
    assert_eq!(ok[0]["clientAppUsed"], "client_credentials");
    assert_eq!(ok[0]["ipAddress"], "127.0.0.1");
    let refused = sign_ins(format!("{daemon} and status/errorCode eq 7000215")).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0]["status"]["failureReason"]
        .as_str()
        .unwrap()
        .contains("secret"));
    within(
        std::time::Duration::from_secs(5),
        "alice's sign-in is recorded",
        || async {
            sign_ins("userPrincipalName eq 'ALICE@contoso.example'".into())
                .await
                .len()
                == 1
        },
    )
    .await;
    let (_, all) = app
        .graph(M::GET, "auditLogs/signIns?$top=999", &admin, None)
        .await;
    let text = all.to_string();
    for secret in [j.secret.as_str(), "canary-wrong-secret", "Alice-Password-123!"] {
        assert!(!text.contains(secret), "a secret reached the sign-in log");
    }
    assert!(!text.contains(
        issued.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
    ));

    // The CLI reads both logs from the store.
    let mut args = vec![
        "logs".to_string(),
        "signins".into(),
        "--since".into(),
        "1h".into(),
        "--json".into(),
    ];
    args.extend(app.store_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok_run, v, err) = gatehouse(&temp_dir(), &refs).await;
    assert!(ok_run, "{err}");
    assert!(v.as_array().unwrap().len() >= 4, "{v}");
    let mut args = vec![
        "logs".to_string(),
        "audit".into(),
        "--tenant".into(),
        app.tenant(),
    ];
    args.extend(app.store_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok_run, text, err) = crate::helpers::gatehouse_text(&temp_dir(), &refs).await;
    assert!(ok_run, "{err}");
    assert!(
        text.lines()
            .any(|l| l.contains("Add application") && l.contains("Reports API")),
        "{text}"
    );
    let mut args = vec![
        "logs".to_string(),
        "audit".into(),
        "--since".into(),
        "soon".into(),
    ];
    args.extend(app.store_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok_run, _, err) = gatehouse(&temp_dir(), &refs).await;
    assert!(!ok_run && err.contains("duration"), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn logs_kept_for_zero_days_record_nothing() {
    let app = TestApp::spawn_configured(None, gatehouse_server::settings::TlsMode::Insecure, |s| {
        s.logs.audit_days = 0;
        s.logs.sign_in_days = 0;
    })
    .await;
    let admin = app.admin_token().await;
    app.create(&admin, "applications", json!({"displayName": "unrecorded"}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for log in ["directoryAudits", "signIns"] {
        let (s, v) = app.graph(M::GET, &format!("auditLogs/{log}"), &admin, None).await;
        assert_eq!(s, 200);
        assert_eq!(v["value"], json!([]), "{log}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_draining_node_stores_the_sign_ins_it_gathered() {
    use gatehouse_core::audit::LogQuery;
    let dir = temp_dir();
    let s = crate::helpers::settings(dir.clone(), None, gatehouse_server::settings::TlsMode::Insecure);
    let server = gatehouse_server::run::start(s).await.unwrap();
    let boot = server.bootstrap.clone().unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &boot.client_id.to_string()),
        ("client_secret", boot.client_secret.expose()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let url = format!("{}/{}/oauth2/v2.0/token", server.base_url, boot.tenant_id);
    let r = reqwest::Client::new()
        .post(&url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Stopped at once: the attempt is still being gathered, and the drain stores it.
    server.shutdown().await;
    let store = gatehouse_store::open(&dir.join("gatehouse.db").display().to_string())
        .await
        .unwrap();
    let all = LogQuery {
        tenant_id: Some(boot.tenant_id),
        conditions: Vec::new(),
        before: None,
        limit: 10,
    };
    let stored = store.sign_ins(&all).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].record.app_id, boot.client_id.to_string());
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
