//! Managed identities (issue #12, items 2 and 3): `gatehouse identity …` against the store, the
//! identity's service principal in Graph, and the listener's two protocols with their refusals.

use std::net::SocketAddr;

use gatehouse_server::run::start;
use gatehouse_server::settings::{Listen, TlsMode};
use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, gatehouse, settings, temp_dir, TestApp};

const VAULT: &str = "https://vault.azure.net";

/// A server whose managed-identity listener is on a free port (the instance-metadata protocol too
/// when `imds`), and that listener's address.
pub(crate) async fn with_listener(imds: bool) -> (TestApp, SocketAddr) {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.identity = Listen::At(SocketAddr::from(([127, 0, 0, 1], 0)));
        s.identity_policy.imds = imds;
    })
    .await;
    let at = app
        .server
        .as_ref()
        .unwrap()
        .identity_addr
        .expect("the listener is bound");
    (app, at)
}

/// Runs `gatehouse identity ARGS` against the app's store.
async fn identity(app: &TestApp, args: &[&str]) -> (bool, Value, String) {
    let mut all: Vec<String> = vec!["identity".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.extend(app.store_args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    gatehouse(&temp_dir(), &refs).await
}

pub(crate) async fn created(app: &TestApp, name: &str) -> Value {
    let (ok, v, err) = identity(app, &["create", "--name", name, "--json"]).await;
    assert!(ok, "{err}");
    v
}

/// `identity env --json`: the variables a process is given.
pub(crate) async fn env(app: &TestApp, name: &str) -> Value {
    let (ok, v, err) = identity(app, &["env", "--name", name, "--json"]).await;
    assert!(ok, "{err}");
    v
}

/// The App Service protocol: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=… with the header.
pub(crate) async fn app_service(at: SocketAddr, header: Option<&str>, query: &str) -> (u16, Value) {
    let mut r = reqwest::Client::new().get(format!("http://{at}/msi/token?{query}"));
    if let Some(h) = header {
        r = r.header("X-IDENTITY-HEADER", h);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn imds(at: SocketAddr, metadata: bool, query: &str) -> (u16, Value) {
    let mut r = reqwest::Client::new().get(format!("http://{at}/metadata/identity/oauth2/token?{query}"));
    if metadata {
        r = r.header("Metadata", "true");
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub(crate) fn vault_query() -> String {
    format!("api-version=2019-08-01&resource={}", urlencode(VAULT))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The resource-server library, set up as an Azure resource is: trusting the tenant's v1 issuer
/// (its v1 discovery document and keys) for `audience`.
async fn v1_validator(app: &TestApp, audience: &str) -> gatehouse_validate::Validator {
    let authority = format!("{}/{}", app.base, app.tenant());
    let keys = gatehouse_validate::RemoteKeys::discover(&authority, None)
        .await
        .unwrap();
    assert_eq!(keys.issuer(), format!("{authority}/"));
    gatehouse_validate::Validator::new(keys.issuer().to_string(), vec![audience.to_string()], keys)
}

#[tokio::test]
async fn an_identity_is_a_service_principal_that_graph_lists_and_roles_can_be_assigned_to() {
    let (app, at) = with_listener(false).await;
    let made = created(&app, "worker").await;
    assert_eq!(made["tenantId"], app.tenant());
    let (client_id, principal_id) = (
        made["clientId"].as_str().unwrap(),
        made["principalId"].as_str().unwrap(),
    );

    let admin = app.admin_token().await;
    let (s, sp) = app
        .graph(M::GET, &format!("servicePrincipals/{principal_id}"), &admin, None)
        .await;
    assert_eq!(s, 200, "{sp}");
    assert_eq!(sp["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(sp["appId"], client_id);
    assert_eq!(sp["displayName"], "worker");
    assert_eq!(sp["alternativeNames"][0], "isExplicit=True");
    assert!(sp["alternativeNames"][1]
        .as_str()
        .unwrap()
        .ends_with("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/worker"));
    assert_eq!(made["id"], sp["alternativeNames"][1]);

    // Assigned Graph's Application.Read.All like any service principal, its Graph token carries it
    // and Graph takes it.
    let (_, graph) = app
        .graph(
            M::GET,
            "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
            &admin,
            None,
        )
        .await;
    let assignment = json!({
        "principalId": principal_id,
        "resourceId": graph["id"],
        "appRoleId": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    });
    let (s, e) = app
        .graph(
            M::POST,
            &format!("servicePrincipals/{principal_id}/appRoleAssignments"),
            &admin,
            Some(assignment),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    let header = env(&app, "worker").await["IDENTITY_HEADER"]
        .as_str()
        .unwrap()
        .to_string();
    let query = format!(
        "api-version=2019-08-01&resource={}",
        urlencode("https://graph.microsoft.com")
    );
    crate::helpers::within(
        std::time::Duration::from_secs(2),
        "the assignment is seen",
        || {
            let query = query.clone();
            let header = header.clone();
            async move {
                let (_, v) = app_service(at, Some(&header), &query).await;
                claims(v["access_token"].as_str().unwrap_or("a.e30.c"))["roles"]
                    == json!(["Application.Read.All"])
            }
        },
    )
    .await;
    let (_, v) = app_service(at, Some(&header), &query).await;
    let mi_token = v["access_token"].as_str().unwrap();
    let (s, _) = app.graph(M::GET, "applications", mi_token, None).await;
    assert_eq!(s, 200);
    // Graph does not delete it: the identity's lifecycle is its own.
    let path = format!("servicePrincipals/{principal_id}");
    let (s, e) = app.graph(M::DELETE, &path, &admin, None).await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("identity delete"),
        "{e}"
    );
    // It has no application, so the token endpoint does not know it as a client.
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", &header),
                ("scope", "https://vault.azure.net/.default"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_codes"][0], 700016, "{body}");

    // The CLI lists and shows it; names are unique in the tenant, in any case.
    let (ok, list, _) = identity(&app, &["list", "--json"]).await;
    assert!(ok);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (ok, _, err) = identity(&app, &["create", "--name", "WORKER"]).await;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = identity(&app, &["create", "--name", "no spaces"]).await;
    assert!(!ok && err.contains("not a valid identity name"), "{err}");
}

#[tokio::test]
async fn the_app_service_protocol_gives_a_v1_token_in_the_shape_every_sdk_reads() {
    let (app, at) = with_listener(false).await;
    let made = created(&app, "worker").await;
    let vars = env(&app, "worker").await;
    assert_eq!(vars["AZURE_CLIENT_ID"], made["clientId"]);
    assert_eq!(vars["AZURE_TENANT_ID"], app.tenant());
    assert!(vars["IDENTITY_ENDPOINT"]
        .as_str()
        .unwrap()
        .ends_with("/msi/token"));
    let header = vars["IDENTITY_HEADER"].as_str().unwrap();

    let (s, v) = app_service(at, Some(header), &vault_query()).await;
    assert_eq!(s, 200, "{v}");
    for field in ["expires_on", "expires_in", "not_before"] {
        let n = v[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is a string: {v}"));
        assert!(n.parse::<i64>().is_ok(), "{field}");
    }
    assert_eq!(v["resource"], VAULT);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["client_id"], made["clientId"]);
    let c = claims(v["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], VAULT);
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["appid"], made["clientId"]);
    assert_eq!(c["appidacr"], "2");
    assert_eq!(c["oid"], made["principalId"]);
    assert_eq!(c["tid"], app.tenant());
    assert_eq!(v["expires_on"].as_str().unwrap(), c["exp"].to_string());
    // The resource-server library takes it for Key Vault, with the v1 issuer, and not for Storage.
    let token = v["access_token"].as_str().unwrap();
    let now = time::OffsetDateTime::now_utc();
    v1_validator(&app, VAULT)
        .await
        .validate(token, now)
        .await
        .unwrap();
    let storage = v1_validator(&app, "https://storage.azure.com").await;
    assert_eq!(
        storage.validate(token, now).await.err(),
        Some(gatehouse_validate::ValidationError::Audience)
    );

    // Selecting the identity by any of its names, in any of the spellings the SDKs send.
    for selector in [
        format!("client_id={}", made["clientId"].as_str().unwrap()),
        format!("object_id={}", made["principalId"].as_str().unwrap()),
        format!("principal_id={}", made["principalId"].as_str().unwrap()),
        format!("mi_res_id={}", urlencode(made["id"].as_str().unwrap())),
    ] {
        let (s, v) = app_service(at, Some(header), &format!("{}&{selector}", vault_query())).await;
        assert_eq!(s, 200, "{selector}: {v}");
    }
    // The sign-in log has it, as a managed identity's.
    let admin = app.admin_token().await;
    let filter = urlencode(&format!("appId eq '{}'", made["clientId"].as_str().unwrap()));
    let path = format!("auditLogs/signIns?$filter={filter}");
    crate::helpers::within(
        std::time::Duration::from_secs(5),
        "the sign-in is logged",
        || async {
            let (_, v) = app.graph(M::GET, &path, &admin, None).await;
            v["value"][0]["clientAppUsed"] == "managed_identity" && v["value"][0]["status"]["errorCode"] == 0
        },
    )
    .await;
    // An earlier header keeps working after another `env`.
    let second = env(&app, "worker").await;
    assert_ne!(second["IDENTITY_HEADER"], vars["IDENTITY_HEADER"]);
    assert_eq!(app_service(at, Some(header), &vault_query()).await.0, 200);
}

#[tokio::test]
async fn refusals_are_4xx_in_the_protocols_shape_and_a_deleted_identity_gets_nothing_from_any_node() {
    let (app, at) = with_listener(false).await;
    created(&app, "worker").await;
    created(&app, "other").await;
    let header = env(&app, "worker").await["IDENTITY_HEADER"]
        .as_str()
        .unwrap()
        .to_string();
    let other = created(&app, "third").await;

    let refused = |s: u16, v: &Value, status: u16, error: &str| {
        assert_eq!((s, v["error"].as_str()), (status, Some(error)), "{v}");
        assert_eq!(v["statusCode"], status);
        assert!(v["error_description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(v["message"], v["error_description"]);
    };
    let (s, v) = app_service(at, None, &vault_query()).await;
    refused(s, &v, 401, "unauthorized_client");
    let (s, v) = app_service(at, Some("not-a-header-we-gave"), &vault_query()).await;
    refused(s, &v, 401, "unauthorized_client");
    // Another identity's client id with this identity's header.
    let q = format!(
        "{}&client_id={}",
        vault_query(),
        other["clientId"].as_str().unwrap()
    );
    let (s, v) = app_service(at, Some(&header), &q).await;
    refused(s, &v, 400, "invalid_request");
    let (s, v) = app_service(
        at,
        Some(&header),
        "api-version=2019-08-01&resource=https%3A%2F%2Fnowhere.example",
    )
    .await;
    refused(s, &v, 400, "invalid_resource");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS500011"),
        "{v}"
    );
    let (s, v) = app_service(
        at,
        Some(&header),
        "api-version=2017-09-01&resource=https%3A%2F%2Fvault.azure.net",
    )
    .await;
    refused(s, &v, 400, "invalid_request");
    let (s, v) = app_service(at, Some(&header), "api-version=2019-08-01").await;
    refused(s, &v, 400, "invalid_request");
    // The instance-metadata protocol is off by default, and a probe without the header is a quick 400.
    let (s, v) = imds(at, false, "").await;
    refused(s, &v, 400, "bad_request_102");
    let (s, v) = imds(at, true, &vault_query()).await;
    refused(s, &v, 400, "invalid_request");

    // The listener has the protocol listener's limits: an oversized header is refused with 431.
    let big = reqwest::Client::new()
        .get(format!("http://{at}/msi/token?{}", vault_query()))
        .header("X-IDENTITY-HEADER", &header)
        .header("x-padding", "a".repeat(200 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 431);
    // A second node on the same store, with a listener of its own.
    let mut config = settings(app.data_dir.clone(), None, TlsMode::Insecure);
    config.public_url = Some(app.base.clone());
    config.identity = Listen::At(SocketAddr::from(([127, 0, 0, 1], 0)));
    let second = start(config).await.unwrap();
    let second_at = second.identity_addr.unwrap();
    for node in [at, second_at] {
        assert_eq!(app_service(node, Some(&header), &vault_query()).await.0, 200);
    }
    let (ok, _, err) = identity(&app, &["delete", "--name", "worker"]).await;
    assert!(ok, "{err}");
    // At once, on every node: the listener reads identities from the store.
    for node in [at, second_at] {
        let (s, v) = app_service(node, Some(&header), &vault_query()).await;
        refused(s, &v, 401, "unauthorized_client");
    }
    second.shutdown().await;
    let admin = app.admin_token().await;
    let (_, list) = app.graph(M::GET, "servicePrincipals", &admin, None).await;
    let mut names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|sp| sp["servicePrincipalType"] == "ManagedIdentity")
        .map(|sp| sp["displayName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["other", "third"]);
}

#[tokio::test]
async fn the_instance_metadata_protocol_serves_a_named_identity_when_turned_on() {
    let (app, at) = with_listener(true).await;
    let made = created(&app, "worker").await;
    let q = format!(
        "api-version=2018-02-01&resource={}&client_id={}",
        urlencode("https://storage.azure.com/"),
        made["clientId"].as_str().unwrap()
    );
    let (s, v) = imds(at, true, &q).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["resource"], "https://storage.azure.com/");
    assert!(v["expires_in"].as_str().unwrap().parse::<u64>().unwrap() > 3000);
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["aud"],
        "https://storage.azure.com/"
    );
    let by_res_id = format!(
        "api-version=2018-02-01&resource={}&msi_res_id={}",
        urlencode(VAULT),
        urlencode(made["id"].as_str().unwrap())
    );
    assert_eq!(imds(at, true, &by_res_id).await.0, 200);
    // No selector: Gatehouse has no system-assigned identity to fall back on.
    let (s, v) = imds(
        at,
        true,
        &format!("api-version=2018-02-01&resource={}", urlencode(VAULT)),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_request")), "{v}");
    // An unknown client id is an unknown identity, not a retryable 404.
    let q = format!(
        "api-version=2018-02-01&resource={}&client_id={}",
        urlencode(VAULT),
        uuid::Uuid::new_v4()
    );
    assert_eq!(imds(at, true, &q).await.0, 400);
}
