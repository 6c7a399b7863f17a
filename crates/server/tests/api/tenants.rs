//! Tenants as data (issue #7): `gatehouse tenant create/list/show/domain add/delete` against a live
//! server's store, isolation between two tenants, and a deleted tenant refused everywhere within a
//! second.

use std::time::{Duration, Instant};

use reqwest::Method as M;
use serde_json::{json, Value};

use gatehouse_core::admin::bootstrap::BootstrapOutput;

use crate::helpers::{claims, credentials, tenant_cli, tenant_cli_may_fail, within, Journey, TestApp};

async fn discovery_status(app: &TestApp, tenant: &str) -> u16 {
    app.status(&format!("/{tenant}/v2.0/.well-known/openid-configuration"))
        .await
}

#[tokio::test]
async fn tenants_are_created_listed_shown_given_domains_and_kept_apart() {
    let a = TestApp::spawn().await;
    let (out, _) = tenant_cli(
        &a,
        &[
            "create",
            "--domain",
            "Fabrikam.Example",
            "--display-name",
            "Fabrikam",
            "--json",
        ],
    )
    .await;
    let boot_b = credentials(&out);
    assert_eq!(boot_b.domain, "fabrikam.example");
    let b = TestApp::attach(a.base.clone(), boot_b.clone(), a.data_dir.clone());
    let tid_b = b.tenant();
    within(Duration::from_secs(1), "the new tenant is served", || async {
        discovery_status(&a, "fabrikam.example").await == 200
    })
    .await;

    // list and show, by id or any domain in any case.
    let (listed, _) = tenant_cli(&a, &["list", "--json"]).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenantId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![a.tenant().as_str(), tid_b.as_str()]);
    let (shown, _) = tenant_cli(&a, &["show", "--tenant", "FABRIKAM.example", "--json"]).await;
    assert_eq!(
        (&shown["tenantId"], &shown["displayName"], &shown["domains"]),
        (&json!(tid_b), &json!("Fabrikam"), &json!(["fabrikam.example"]))
    );
    let (ok, _, err) = tenant_cli_may_fail(&a, &["show", "--tenant", "nobody.example"]).await;
    assert!(
        !ok && err.contains("No tenant has the id or verified domain 'nobody.example'"),
        "{err}"
    );

    // Another verified domain: discovery and tokens work under it.
    let (added, _) = tenant_cli(
        &a,
        &["domain", "add", "--tenant", &tid_b, "--domain", "fabrikam.test"],
    )
    .await;
    assert_eq!(added["domains"], json!(["fabrikam.example", "fabrikam.test"]));
    within(Duration::from_secs(1), "the new domain is served", || async {
        discovery_status(&a, "fabrikam.test").await == 200
    })
    .await;
    let (ok, _, err) = tenant_cli_may_fail(
        &a,
        &["domain", "add", "--tenant", &tid_b, "--domain", "contoso.example"],
    )
    .await;
    assert!(!ok && err.contains("already verified"), "{err}");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &boot_b.client_id.to_string()),
        ("client_secret", boot_b.client_secret.expose()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let r = b.token_form("fabrikam.test", &form).await;
    assert_eq!(r.status(), 200);
    let admin_b: Value = r.json().await.unwrap();
    let admin_b = admin_b["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&admin_b)["tid"], tid_b);

    // Isolation: tenant A's objects are invisible to tenant B's token, exactly as missing ones are.
    let j = Journey::create(&a, Some(2)).await;
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("applications/{}", j.daemon_app_object_id),
        format!("applications(appId='{}')", j.daemon_app_id),
        format!("servicePrincipals/{}", j.api_sp_id),
        format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id),
        format!(
            "applications/{}/federatedIdentityCredentials",
            j.daemon_app_object_id
        ),
    ] {
        let (s, e) = b.graph(M::GET, &path, &admin_b, None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (404, Some("Request_ResourceNotFound")),
            "{path}: {e}"
        );
        let (s, _) = b
            .graph(
                M::GET,
                &path.replace(&j.daemon_app_object_id, &missing.to_string()),
                &admin_b,
                None,
            )
            .await;
        assert_eq!(s, 404, "{path} with a missing id");
    }
    let daemon = format!("applications/{}", j.daemon_app_object_id);
    let (s, _) = b
        .graph(M::PATCH, &daemon, &admin_b, Some(json!({"notes": "b was here"})))
        .await;
    assert_eq!(s, 404);
    assert_eq!(b.graph(M::DELETE, &daemon, &admin_b, None).await.0, 404);
    let (s, list) = b.graph(M::GET, "applications", &admin_b, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        list["value"].as_array().unwrap().len(),
        1,
        "B sees only its management application"
    );
    let (s, _) = b
        .graph(
            M::POST,
            "servicePrincipals",
            &admin_b,
            Some(json!({"appId": j.daemon_app_id})),
        )
        .await;
    assert_eq!(s, 400, "B cannot provision A's single-tenant application");
    let (_, read) = a.graph(M::GET, &daemon, &a.admin_token().await, None).await;
    assert_eq!(read["notes"], Value::Null, "A's application is untouched");
    // …and a client of tenant A gets nothing at tenant B's endpoints.
    let r = b.token_form(&tid_b, &j.form()).await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error_codes"][0], 700016, "{e}");
    // The same identifier URI may live in both tenants: names are per tenant.
    let (s, e) = b
        .graph(
            M::POST,
            "applications",
            &admin_b,
            Some(json!({"displayName": "B reports", "identifierUris": ["api://reports"]})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    a.stop().await;
}

/// Deletes a tenant through the CLI while two nodes serve it; both refuse it within a second.
#[tokio::test]
async fn a_deleted_tenant_is_refused_on_every_node_within_a_second() {
    let a = TestApp::spawn_postgres().await;
    let (node_b, b) = a.second_node().await;
    let (out, _) = tenant_cli(&a, &["create", "--domain", "gone.example", "--json"]).await;
    let boot = credentials(&out);
    let on_b = TestApp::attach(b.base.clone(), boot.clone(), a.data_dir.clone());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &boot.client_id.to_string()),
        ("client_secret", boot.client_secret.expose()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    within(Duration::from_secs(1), "node B serves the new tenant", || async {
        on_b.token_form("gone.example", &form).await.status() == 200
    })
    .await;
    let r = on_b.token_form("gone.example", &form).await;
    let token: Value = r.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();

    let (ok, _, err) = tenant_cli_may_fail(&a, &["delete", "--tenant", "gone.example"]).await;
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, _, err) = tenant_cli_may_fail(&a, &["delete", "--tenant", "gone.example", "--yes"]).await;
    assert!(ok, "{err}");
    let deleted = Instant::now();
    for node in [&a, &b] {
        within(Duration::from_secs(1), "discovery answers 90002", || async {
            let (s, e) = node
                .get_json("/gone.example/v2.0/.well-known/openid-configuration")
                .await;
            s == 400 && e["error_codes"][0] == 90002
        })
        .await;
    }
    let r = on_b.token_form("gone.example", &form).await;
    assert_eq!(r.status(), 400);
    let (s, _) = on_b.graph(M::GET, "applications", &token, None).await;
    assert_eq!(s, 401, "a token of the deleted tenant opens nothing");
    println!(
        "both nodes refused the deleted tenant {} ms after the CLI returned",
        deleted.elapsed().as_millis()
    );
    // The first tenant is untouched.
    assert_eq!(
        a.graph(M::GET, "applications", &a.admin_token().await, None)
            .await
            .0,
        200
    );
    node_b.shutdown().await;
    a.stop().await;
}

/// Issue #8's break glass: `tenant credential reset` gives the management application a new secret,
/// shown once, and the old one stops working; if the management application was deleted, a new one
/// with the same Graph roles is made.
#[tokio::test]
async fn a_lost_management_secret_is_reset_against_the_store() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant();
    let old = app.boot.clone();
    let (out, _) = tenant_cli(
        &app,
        &["credential", "reset", "--tenant", "contoso.example", "--json"],
    )
    .await;
    let new = credentials(&out);
    assert_eq!((new.tenant_id, new.client_id), (old.tenant_id, old.client_id));
    let graph_form = |b: &BootstrapOutput| {
        [
            ("grant_type", "client_credentials".to_string()),
            ("client_id", b.client_id.to_string()),
            ("client_secret", b.client_secret.expose().to_string()),
            ("scope", "https://graph.microsoft.com/.default".to_string()),
        ]
    };
    let status = |b: BootstrapOutput| {
        let app = &app;
        let tenant = tenant.clone();
        async move {
            let form = graph_form(&b);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.token_form(&tenant, &form).await.status().as_u16()
        }
    };
    within(Duration::from_secs(1), "the old secret stops working", || {
        let s = status(old.clone());
        async move { s.await == 401 }
    })
    .await;
    let fresh = TestApp::attach(app.base.clone(), new.clone(), app.data_dir.clone());
    let admin = fresh.admin_token().await;
    let path = format!("applications(appId='{}')", new.client_id);
    assert_eq!(fresh.graph(M::DELETE, &path, &admin, None).await.0, 204);

    let (out, _) = tenant_cli(&app, &["credential", "reset", "--tenant", &tenant, "--json"]).await;
    let remade = credentials(&out);
    assert_ne!(remade.client_id, new.client_id, "a new management application");
    let again = TestApp::attach(app.base.clone(), remade, app.data_dir.clone());
    let admin = again.admin_token().await;
    let roles = claims(&admin)["roles"].clone();
    assert_eq!(
        roles,
        json!([
            "AppRoleAssignment.ReadWrite.All",
            "Application.ReadWrite.All",
            "AuditLog.Read.All",
            "Directory.Read.All",
            "Policy.ReadWrite.Authorization",
            "RoleManagement.ReadWrite.Directory",
            "User.ReadWrite.All"
        ])
    );
    assert_eq!(again.graph(M::GET, "applications", &admin, None).await.0, 200);
    app.stop().await;
}

/// A tenant made before directory roles has a management application without
/// `RoleManagement.ReadWrite.Directory`; `tenant credential reset` gives it the roles it lacks.
#[tokio::test]
async fn a_credential_reset_gives_an_older_management_application_the_roles_it_lacks() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, sp) = app
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{}')", app.boot.client_id),
            &admin,
            None,
        )
        .await;
    let sp_id = sp["id"].as_str().unwrap();
    let (_, held) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{sp_id}/appRoleAssignments"),
            &admin,
            None,
        )
        .await;
    let role_management = held["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appRoleId"] == "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8")
        .expect("a new tenant's management application holds RoleManagement.ReadWrite.Directory");
    let path = format!(
        "servicePrincipals/{sp_id}/appRoleAssignments/{}",
        role_management["id"].as_str().unwrap()
    );
    assert_eq!(app.graph(M::DELETE, &path, &admin, None).await.0, 204);
    let (out, _) = tenant_cli(
        &app,
        &["credential", "reset", "--tenant", &app.tenant(), "--json"],
    )
    .await;
    let again = TestApp::attach(app.base.clone(), credentials(&out), app.data_dir.clone());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &again.boot.client_id.to_string()),
        ("client_secret", again.boot.client_secret.expose()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    within(Duration::from_secs(1), "the new secret works", || async {
        again.token_form(&again.tenant(), &form).await.status() == 200
    })
    .await;
    let token = again.admin_token().await;
    let roles = claims(&token)["roles"].clone();
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "RoleManagement.ReadWrite.Directory"),
        "{roles}"
    );
}
