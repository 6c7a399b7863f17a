//! Azure's own resources in every tenant (issue #12, item 1): their service principals under
//! Microsoft's appIds, v1 tokens for the scopes the SDKs ask for (a double slash included, as the
//! Service Bus and Event Hubs SDKs and the az CLI send), and names no application can take.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, tenant_cli, TestApp};

/// (scope an SDK sends, the `aud` Entra gives, the resource's appId)
const SCOPES: &[(&str, &str, &str)] = &[
    (
        "https://vault.azure.net/.default",
        "https://vault.azure.net",
        "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
    ),
    (
        "https://storage.azure.com/.default",
        "https://storage.azure.com",
        "e406a681-f3d4-42a8-90b6-c2b029497af1",
    ),
    (
        "https://management.azure.com/.default",
        "https://management.azure.com",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    ),
    (
        "https://management.core.windows.net//.default",
        "https://management.core.windows.net/",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    ),
    (
        "https://database.windows.net//.default",
        "https://database.windows.net/",
        "022907d3-0f1b-48f7-badc-1ba6abab6d66",
    ),
    (
        "https://servicebus.azure.net//.default",
        "https://servicebus.azure.net/",
        "80a10ef9-8168-493d-abf9-3297c4ef6e3c",
    ),
    (
        "https://eventhubs.azure.net//.default",
        "https://eventhubs.azure.net/",
        "80369ed6-5f11-4dd9-bef3-692475845e77",
    ),
    (
        "https://cosmos.azure.com/.default",
        "https://cosmos.azure.com",
        "a232010e-820c-4083-83bb-3ace5fc29d0b",
    ),
    (
        "https://azconfig.io/.default",
        "https://azconfig.io",
        "35ffadb3-7fc1-497e-b61b-381d28e744cc",
    ),
    (
        "https://appconfig.azure.com/.default",
        "https://appconfig.azure.com",
        "35ffadb3-7fc1-497e-b61b-381d28e744cc",
    ),
];

#[tokio::test]
async fn a_daemon_gets_v1_tokens_for_azures_resources_as_the_sdks_ask() {
    let app = TestApp::spawn().await;
    let (cid, secret) = (
        app.boot.client_id.to_string(),
        app.boot.client_secret.expose().to_string(),
    );
    for (scope, aud, app_id) in SCOPES {
        let c = claims(&app.token(&cid, &secret, scope).await);
        assert_eq!(c["aud"], *aud, "{scope}");
        assert_eq!(c["ver"], "1.0", "{scope}");
        assert_eq!(c["appid"], cid.as_str());
        assert_eq!(c["tid"], app.tenant());
        assert!(c.get("roles").is_none(), "no role is assigned: {c}");
        // The token names the resource's service principal, found by its appId.
        let path = format!("servicePrincipals(appId='{app_id}')");
        let (s, sp) = app.graph(M::GET, &path, &app.admin_token().await, None).await;
        assert_eq!(s, 200, "{sp}");
    }
    // The v1 endpoint takes the resource as Azure's tools name it.
    let r = app
        .http
        .post(app.url(&format!("/{}/oauth2/token", app.tenant())))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cid.as_str()),
            ("client_secret", secret.as_str()),
            ("resource", "https://vault.azure.net"),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        "https://vault.azure.net"
    );
}

#[tokio::test]
async fn graph_lists_them_with_microsofts_ids_and_permissions() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (s, list) = app.graph(M::GET, "servicePrincipals", &admin, None).await;
    assert_eq!(s, 200);
    let by_app = |id: &str| -> Value {
        list["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|sp| sp["appId"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed"))
    };
    let vault = by_app("cfa8b339-82a2-471a-a3c9-0fc0be7a4093");
    assert_eq!(vault["displayName"], "Azure Key Vault");
    assert_eq!(vault["servicePrincipalType"], "Application");
    assert_eq!(
        vault["servicePrincipalNames"],
        json!(["cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "https://vault.azure.net"])
    );
    assert_eq!(vault["oauth2PermissionScopes"][0]["value"], "user_impersonation");
    assert_eq!(
        vault["oauth2PermissionScopes"][0]["id"],
        "f53da476-18e3-4152-8e01-aec403e6edc0"
    );
    let arm = by_app("797f4846-ba00-4fd7-ba43-dac1f8f63013");
    assert_eq!(arm["displayName"], "Windows Azure Service Management API");
    let config = by_app("35ffadb3-7fc1-497e-b61b-381d28e744cc");
    let scopes: Vec<&str> = config["oauth2PermissionScopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["KeyValue.Read", "KeyValue.Write"]);
    // A tenant made later has them too.
    let other = app.another_tenant("fabrikam.example").await;
    let (s, _) = other
        .graph(
            M::GET,
            "servicePrincipals(appId='e406a681-f3d4-42a8-90b6-c2b029497af1')",
            &other.admin_token().await,
            None,
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn no_application_can_take_an_azure_resources_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Even with the host as a verified domain of the tenant, the name is Key Vault's.
    tenant_cli(
        &app,
        &[
            "domain",
            "add",
            "--tenant",
            &app.tenant(),
            "--domain",
            "vault.azure.net",
        ],
    )
    .await;
    let body = json!({"displayName": "impostor", "identifierUris": ["https://vault.azure.net"]});
    let (s, e) = app.graph(M::POST, "applications", &admin, Some(body)).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already exists"),
        "{e}"
    );
    // Its tokens still go to Key Vault.
    let (cid, secret) = (
        app.boot.client_id.to_string(),
        app.boot.client_secret.expose().to_string(),
    );
    let c = claims(&app.token(&cid, &secret, "https://vault.azure.net/.default").await);
    assert_eq!(c["aud"], "https://vault.azure.net");
    assert_eq!(c["ver"], "1.0");
}

#[tokio::test]
async fn microsofts_service_principals_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for app_id in [
        "00000003-0000-0000-c000-000000000000",
        "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
    ] {
        let path = format!("servicePrincipals(appId='{app_id}')");
        let (s, e) = app.graph(M::DELETE, &path, &admin, None).await;
        assert_eq!(s, 403, "{app_id}: {e}");
        assert_eq!(e["error"]["code"], "Authorization_RequestDenied");
        assert_eq!(app.graph(M::GET, &path, &admin, None).await.0, 200);
    }
}
