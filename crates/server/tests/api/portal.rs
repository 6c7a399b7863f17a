//! The portal (`/portal/`) driven by a browser without JavaScript: sign-in through the real
//! authorization-code flow, who may do what, and that what it does is Graph's (the same objects, the
//! same refusals). The headless-Chromium journeys are in tests/interop/node/portal.test.mjs.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::browser::{through_password, Browser, Page};
use crate::helpers::{user, TestApp};

const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const APPLICATION_READ_ALL: &str = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30";

/// Follows the portal's redirect to sign in as `name`, through the sign-in pages and back: the page
/// the portal then sends the browser to.
async fn sign_in(b: &mut Browser<'_>, name: &str, start: &str) -> Page {
    let first = b.get(start).await;
    assert_eq!(first.status, 303, "{}", first.html);
    let authorize = first.location.clone().unwrap();
    assert!(
        authorize.starts_with("/organizations/oauth2/v2.0/authorize?"),
        "{authorize}"
    );
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    let done = through_password(b, &authorize, &format!("{name}@contoso.example")).await;
    assert_eq!(done.status, 302, "{}", done.html);
    let back = url::Url::parse(done.location.as_deref().unwrap()).unwrap();
    assert_eq!(back.path(), "/portal/signin");
    let landed = b.get(&format!("{}?{}", back.path(), back.query().unwrap())).await;
    assert_eq!(landed.status, 303, "{}", landed.html);
    assert_eq!(landed.location.as_deref(), Some(start), "back where it started");
    b.get(start).await
}

async fn organization_name(app: &TestApp, admin: &str) -> String {
    let (_, org) = app.graph(M::GET, "organization", admin, None).await;
    org["value"][0]["displayName"].as_str().unwrap().to_string()
}

const BOUNDARY: &str = "gatehouse-test-boundary";

/// A `multipart/form-data` body: (field, file name, bytes).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = file {
            body.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn upload(app: &TestApp, path: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
    app.http
        .post(app.url(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
}

/// The application as Graph reads it.
async fn read_app(app: &TestApp, admin: &str, id: &str) -> Value {
    app.graph(M::GET, &format!("applications/{id}"), admin, None)
        .await
        .1
}

/// A form's CSRF field value on a portal page.
fn canary(page: &Page) -> String {
    page.field("canary")
}

async fn post(b: &mut Browser<'_>, path: &str, form: &[(&str, &str)]) -> Page {
    let req = b.app.http.post(b.app.url(path)).form(form);
    b.send(req).await
}

#[tokio::test]
async fn an_administrator_registers_an_app_adds_a_secret_and_grants_graph_permission_and_graph_sees_it_all() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let mut b = Browser::new(&app);
    let overview = sign_in(&mut b, "gina", "/portal/").await;
    assert_eq!(overview.status, 200, "{}", overview.html);
    assert!(
        overview.html.contains(&app.tenant()),
        "the Tenant ID: {}",
        overview.html
    );
    assert!(overview.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));

    // New registration: the app and its service principal, then its Overview.
    let form = b.get("/portal/applications/new").await;
    assert!(form.html.contains("Supported account types"), "{}", form.html);
    let c = canary(&form);
    let made = post(
        &mut b,
        "/portal/applications/new",
        &[
            ("canary", &c),
            ("name", "app-sec-reg"),
            ("audience", "AzureADMyOrg"),
            ("platform", "web"),
            ("redirect_uri", ""),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let at = made.location.clone().unwrap();
    let page = b.get(&at).await;
    assert!(page.html.contains("Application (client) ID"), "{}", page.html);
    let object_id = at.rsplit('/').next().unwrap().to_string();
    let (s, graph_app) = app
        .graph(M::GET, &format!("applications/{object_id}"), &admin, None)
        .await;
    assert_eq!(s, 200, "Graph sees the registration");
    let client_id = graph_app["appId"].as_str().unwrap().to_string();
    assert!(page.html.contains(&client_id));
    assert!(
        page.html
            .contains(&format!("/{}/oauth2/v2.0/token", app.tenant())),
        "Endpoints"
    );
    let (_, sps) = app
        .graph(
            M::GET,
            &format!("servicePrincipals?$filter=appId eq '{client_id}'"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        sps["value"].as_array().unwrap().len(),
        1,
        "Register made the service principal"
    );

    // New client secret: its value on that one page, and it works.
    let creds = b.get(&format!("{at}/credentials")).await;
    let added = post(
        &mut b,
        &format!("{at}/credentials/secrets"),
        &[
            ("canary", &canary(&creds)),
            ("description", "ci"),
            ("months", "6"),
        ],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.html);
    let value = added.field("newSecretValue");
    assert!(value.len() > 30);
    let again = b.get(&format!("{at}/credentials")).await;
    assert!(!again.html.contains(&value), "the value is never shown again");
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &value),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "the secret works");

    // Add Application.Read.All (Application), grant admin consent: the next token carries the role.
    let perms = b.get(&format!("{at}/permissions/add?type=Application")).await;
    assert!(perms.html.contains("Application.Read.All"), "{}", perms.html);
    let added = post(
        &mut b,
        &format!("{at}/permissions/add"),
        &[
            ("canary", &canary(&perms)),
            ("resource", GRAPH),
            ("type", "Application"),
            ("id", APPLICATION_READ_ALL),
        ],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let listed = b.get(&format!("{at}/permissions")).await;
    let tenant_name = organization_name(&app, &admin).await;
    assert!(
        listed.html.contains(&format!("Not granted for {tenant_name}")),
        "{}",
        listed.html
    );
    let confirm = b.get(&format!("{at}/permissions/grant")).await;
    assert!(
        confirm.html.contains("Grant admin consent confirmation."),
        "{}",
        confirm.html
    );
    let granted = post(
        &mut b,
        &format!("{at}/permissions/grant"),
        &[("canary", &canary(&confirm))],
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.html);
    assert!(
        granted.html.contains(&format!(">Granted for {tenant_name}")),
        "{}",
        granted.html
    );
    let token = app
        .token(&client_id, &value, "https://graph.microsoft.com/.default")
        .await;
    let claims = crate::helpers::claims(&token);
    assert_eq!(claims["roles"], json!(["Application.Read.All"]));

    // Each change left the audit record Graph's would, by gina.
    let (_, audits) = app.graph(M::GET, "auditLogs/directoryAudits", &admin, None).await;
    let by_gina: Vec<&str> = audits["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["initiatedBy"]["user"]["userPrincipalName"] == "gina@contoso.example")
        .map(|r| r["activityDisplayName"].as_str().unwrap())
        .collect();
    for activity in [
        "Add application",
        "Add service principal",
        "Update application – Certificates and secrets management ",
        "Update application",
        "Add app role assignment to service principal",
    ] {
        assert!(by_gina.contains(&activity), "{activity} in {by_gina:?}");
    }
    assert!(!audits.to_string().contains(&value), "no secret in the audit log");
}

#[tokio::test]
async fn a_user_without_a_role_sees_and_manages_only_their_own_applications_and_grants_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    user(&app, &admin, "nora", None).await;
    let theirs = app
        .create(&admin, "applications", json!({"displayName": "Someone else's"}))
        .await;

    // Nora registers an application (the tenant allows it, as Entra does by default) and owns it.
    let mut b = Browser::new(&app);
    let form = sign_in(&mut b, "nora", "/portal/applications/new").await;
    let c = canary(&form);
    let made = post(
        &mut b,
        "/portal/applications/new",
        &[
            ("canary", &c),
            ("name", "nora's"),
            ("audience", "AzureADMyOrg"),
            ("platform", "web"),
            ("redirect_uri", ""),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let at = made.location.clone().unwrap();
    let list = b.get("/portal/applications").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(
        list.html.contains("nora&#39;s") || list.html.contains("nora's"),
        "{}",
        list.html
    );
    assert!(!list.html.contains("Someone else"), "only her own: {}", list.html);
    let page = b
        .get(&format!(
            "/portal/applications/{}",
            theirs["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page.status, 403, "{}", page.html);
    // She may configure hers, but not grant consent for it.
    let added = post(
        &mut b,
        &format!("{at}/permissions/add"),
        &[
            ("canary", &c),
            ("resource", GRAPH),
            ("type", "Application"),
            ("id", APPLICATION_READ_ALL),
        ],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let refused = post(&mut b, &format!("{at}/permissions/grant"), &[("canary", &c)]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let overview = b.get("/portal/").await;
    assert!(
        overview.html.contains("<dt>Applications</dt><dd>—</dd>"),
        "no count of others': {}",
        overview.html
    );
    // Owners: nora, and whoever she adds.
    let owners = b.get(&format!("{at}/owners")).await;
    assert!(owners.html.contains("nora@contoso.example"), "{}", owners.html);
    let added = post(
        &mut b,
        &format!("{at}/owners"),
        &[("canary", &c), ("user", "gina@contoso.example")],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let unknown = post(
        &mut b,
        &format!("{at}/owners"),
        &[("canary", &c), ("user", "nobody@contoso.example")],
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);
    let object_id = at.rsplit('/').next().unwrap();
    let (_, listed) = app
        .graph(M::GET, &format!("applications/{object_id}/owners"), &admin, None)
        .await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 2, "{listed}");

    // Turned off for the tenant, registration is refused; and an administrator's form posted without
    // its CSRF token is refused and changes nothing.
    let policy = json!({"defaultUserRolePermissions": {"allowedToCreateApps": false}});
    assert_eq!(
        app.graph(M::PATCH, "policies/authorizationPolicy", &admin, Some(policy))
            .await
            .0,
        204
    );
    let refused = post(
        &mut b,
        "/portal/applications/new",
        &[
            ("canary", &c),
            ("name", "nora's second"),
            ("audience", "AzureADMyOrg"),
        ],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let mut g = Browser::new(&app);
    sign_in(&mut g, "gina", "/portal/applications").await;
    let forged = post(
        &mut g,
        "/portal/applications/new",
        &[("name", "forged"), ("audience", "AzureADMyOrg")],
    )
    .await;
    assert_eq!(forged.status, 403);
    let (_, all) = app.graph(M::GET, "applications", &admin, None).await;
    assert!(
        !all.to_string().contains("forged") && !all.to_string().contains("nora's second"),
        "{all}"
    );
}

#[tokio::test]
async fn an_application_administrator_may_not_grant_graphs_application_permissions() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "ava", Some(APPLICATION_ADMINISTRATOR)).await;
    let made = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "daemon", "requiredResourceAccess": [{"resourceAppId": GRAPH,
                   "resourceAccess": [{"id": APPLICATION_READ_ALL, "type": "Role"}]}]}),
        )
        .await;
    let at = format!("/portal/applications/{}", made["id"].as_str().unwrap());
    let mut b = Browser::new(&app);
    let page = sign_in(&mut b, "ava", &at).await;
    assert_eq!(
        page.status, 200,
        "an Application Administrator manages applications: {}",
        page.html
    );
    let confirm = b.get(&format!("{at}/permissions/grant")).await;
    let refused = post(
        &mut b,
        &format!("{at}/permissions/grant"),
        &[("canary", &canary(&confirm))],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let tenant_name = organization_name(&app, &admin).await;
    assert!(
        refused.html.contains(&format!("Not granted for {tenant_name}")),
        "{}",
        refused.html
    );
    let (_, sp) = app
        .graph(
            M::GET,
            &format!(
                "servicePrincipals?$filter=appId eq '{}'",
                made["appId"].as_str().unwrap()
            ),
            &admin,
            None,
        )
        .await;
    let sp_id = sp["value"][0]["id"].as_str().unwrap();
    let (_, held) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{sp_id}/appRoleAssignments"),
            &admin,
            None,
        )
        .await;
    assert_eq!(held["value"], json!([]), "nothing was granted");
}

#[tokio::test]
async fn signing_out_ends_the_portal_session() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let mut b = Browser::new(&app);
    let page = sign_in(&mut b, "gina", "/portal/").await;
    let portal_cookie: Vec<(String, String)> = b
        .cookies
        .iter()
        .filter(|(k, _)| k.contains("portal"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let out = post(&mut b, "/portal/signout", &[("canary", &canary(&page))]).await;
    assert_eq!(out.status, 303);
    let logout = out.location.clone().unwrap();
    assert!(
        logout.starts_with("/organizations/oauth2/v2.0/logout?"),
        "{logout}"
    );
    let ended = b.get(&logout).await;
    assert!(matches!(ended.status, 200 | 302), "{}", ended.html);
    // The portal cookie copied from before sign-out opens nothing: its sign-in session has ended.
    for (k, v) in portal_cookie {
        b.cookies.insert(k, v);
    }
    let after = b.get("/portal/").await;
    assert_eq!(after.status, 303, "signed out: {}", after.html);
}

#[tokio::test]
async fn an_application_is_configured_on_its_pages_with_graphs_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let made = app
        .create(&admin, "applications", json!({"displayName": "reports"}))
        .await;
    let (object_id, app_id) = (made["id"].as_str().unwrap(), made["appId"].as_str().unwrap());
    let at = format!("/portal/applications/{object_id}");
    let mut b = Browser::new(&app);
    let page = sign_in(&mut b, "gina", &format!("{at}/authentication")).await;

    // Authentication: platforms, logout URL, ID tokens, public client flows.
    let c = canary(&page);
    let saved = post(
        &mut b,
        &format!("{at}/authentication"),
        &[
            ("canary", &c),
            ("web", "https://app.example/signin-oidc\r\n\r\n"),
            ("logout_url", "https://app.example/out"),
            ("id_tokens", "yes"),
            ("spa", ""),
            ("public_client", "http://localhost"),
            ("audience", "AzureADMyOrg"),
            ("public_flows", "yes"),
        ],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let g = read_app(&app, &admin, object_id).await;
    assert_eq!(
        g["web"]["redirectUris"],
        json!(["https://app.example/signin-oidc"])
    );
    assert_eq!(g["web"]["logoutUrl"], "https://app.example/out");
    assert_eq!(g["web"]["implicitGrantSettings"]["enableIdTokenIssuance"], true);
    assert_eq!(g["publicClient"]["redirectUris"], json!(["http://localhost"]));
    assert_eq!(g["isFallbackPublicClient"], true);
    let refused = post(
        &mut b,
        &format!("{at}/authentication"),
        &[("canary", &c), ("web", "not a URI"), ("audience", "AzureADMyOrg")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert_eq!(
        read_app(&app, &admin, object_id).await["web"]["redirectUris"],
        json!(["https://app.example/signin-oidc"])
    );

    // Expose an API: the default Application ID URI, a scope, disabled then deleted.
    let expose = b.get(&format!("{at}/expose")).await;
    assert!(
        expose
            .html
            .contains(&format!("value=\"api:&#x2f;&#x2f;{app_id}\""))
            || expose.html.contains(&format!("api://{app_id}")),
        "{}",
        expose.html
    );
    let uri = format!("api://{app_id}");
    let done = post(
        &mut b,
        &format!("{at}/expose/uri"),
        &[("canary", &c), ("uri", &uri)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let taken = post(
        &mut b,
        &format!("{at}/expose/uri"),
        &[("canary", &c), ("uri", "https://graph.microsoft.com")],
    )
    .await;
    assert_eq!(
        taken.status, 400,
        "Graph's identifier URI is not for the taking: {}",
        taken.html
    );
    let added = post(
        &mut b,
        &format!("{at}/expose/scopes"),
        &[
            ("canary", &c),
            ("value", "access_as_user"),
            ("type", "User"),
            ("admin_name", "Access"),
            ("admin_description", "Access it"),
        ],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let g = read_app(&app, &admin, object_id).await;
    assert_eq!(g["identifierUris"], json!([uri]));
    let scope_id = g["api"]["oauth2PermissionScopes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let early = post(
        &mut b,
        &format!("{at}/expose/scopes/{scope_id}"),
        &[("canary", &c), ("action", "delete")],
    )
    .await;
    assert_eq!(early.status, 400, "an enabled scope is not deleted");
    post(
        &mut b,
        &format!("{at}/expose/scopes/{scope_id}"),
        &[("canary", &c), ("action", "disable")],
    )
    .await;
    post(
        &mut b,
        &format!("{at}/expose/scopes/{scope_id}"),
        &[("canary", &c), ("action", "delete")],
    )
    .await;
    assert_eq!(
        read_app(&app, &admin, object_id).await["api"]["oauth2PermissionScopes"],
        json!([])
    );

    // App roles: made, refused deletion while enabled (Graph's rule), disabled, deleted.
    let created = post(
        &mut b,
        &format!("{at}/roles"),
        &[
            ("canary", &c),
            ("display_name", "Read reports"),
            ("members", "Application"),
            ("value", "Reports.Read"),
            ("description", "Read them"),
            ("enabled", "yes"),
        ],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let role = read_app(&app, &admin, object_id).await["appRoles"][0].clone();
    assert_eq!(role["allowedMemberTypes"], json!(["Application"]));
    let role_id = role["id"].as_str().unwrap().to_string();
    let refused = post(&mut b, &format!("{at}/roles/{role_id}/delete"), &[("canary", &c)]).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.html.contains("CannotDeleteOrUpdateEnabledEntitlement"),
        "{}",
        refused.html
    );
    post(
        &mut b,
        &format!("{at}/roles"),
        &[
            ("canary", &c),
            ("id", &role_id),
            ("display_name", "Read reports"),
            ("members", "Application"),
            ("value", "Reports.Read"),
            ("description", "Read them"),
        ],
    )
    .await;
    assert_eq!(
        read_app(&app, &admin, object_id).await["appRoles"][0]["isEnabled"],
        false
    );
    post(&mut b, &format!("{at}/roles/{role_id}/delete"), &[("canary", &c)]).await;
    assert_eq!(read_app(&app, &admin, object_id).await["appRoles"], json!([]));

    // Manifest: saved as a PATCH; Graph's refusals shown beside it, nothing changed.
    let manifest = b.get(&format!("{at}/manifest")).await;
    let text = crate::browser::unescape(&manifest.html);
    assert!(text.contains("\"displayName\": \"reports\""), "{text}");
    let edited =
        json!({"id": "ignored", "displayName": "reports v2", "notes": "edited in the manifest"}).to_string();
    let saved = post(
        &mut b,
        &format!("{at}/manifest"),
        &[("canary", &c), ("manifest", &edited)],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let g = read_app(&app, &admin, object_id).await;
    assert_eq!(
        (g["displayName"].as_str(), g["notes"].as_str()),
        (Some("reports v2"), Some("edited in the manifest"))
    );
    for bad in [
        "{",
        r#"{"signInAudience": "Everyone"}"#,
        r#"{"unknownProperty": 1}"#,
    ] {
        let refused = post(
            &mut b,
            &format!("{at}/manifest"),
            &[("canary", &c), ("manifest", bad)],
        )
        .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.html);
        assert!(refused.html.contains("id=\"manifestError\""), "{}", refused.html);
    }
    assert_eq!(
        read_app(&app, &admin, object_id).await["displayName"],
        "reports v2"
    );
}

#[tokio::test]
async fn certificates_are_uploaded_and_federated_credentials_added_as_graph_would() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let made = app
        .create(&admin, "applications", json!({"displayName": "daemon"}))
        .await;
    let object_id = made["id"].as_str().unwrap();
    let at = format!("/portal/applications/{object_id}");
    let mut b = Browser::new(&app);
    let page = sign_in(&mut b, "gina", &format!("{at}/credentials")).await;
    let c = canary(&page);

    // A CER (DER) and a PEM file, each a multipart upload with the form's CSRF token.
    let der = crate::certificates::ClientCert::new();
    let pem = crate::certificates::ClientCert::new();
    let pem_text = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        gatehouse_jose::b64std(pem.der())
    );
    for (file, bytes) in [
        ("daemon.cer", der.der().to_vec()),
        ("daemon.pem", pem_text.into_bytes()),
    ] {
        let form = multipart(&[
            ("canary", None, c.as_bytes()),
            ("description", None, file.as_bytes()),
            ("certificate", Some(file), &bytes),
        ]);
        let req = upload(&app, &format!("{at}/credentials/certificates"), form);
        let done = b.send(req).await;
        assert_eq!(done.status, 303, "{file}: {}", done.html);
    }
    let listed = b.get(&format!("{at}/credentials")).await;
    assert!(
        listed.html.contains(&der.sha1_hex().to_uppercase()) || listed.html.contains(&der.sha1_hex()),
        "{}",
        listed.html
    );
    let g = read_app(&app, &admin, object_id).await;
    let keys = g["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{g}");
    // Not a certificate: Graph's refusal on the page, nothing added.
    let form = multipart(&[
        ("canary", None, c.as_bytes()),
        ("certificate", Some("x.cer"), b"hello"),
    ]);
    let req = upload(&app, &format!("{at}/credentials/certificates"), form);
    let refused = b.send(req).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("role=\"alert\""), "{}", refused.html);
    // Without the CSRF token: refused, nothing added.
    let form = multipart(&[("certificate", Some("x.cer"), der.der())]);
    let req = upload(&app, &format!("{at}/credentials/certificates"), form);
    assert_eq!(b.send(req).await.status, 403);
    // Delete one.
    let first = keys[0]["keyId"].as_str().unwrap();
    let gone = post(
        &mut b,
        &format!("{at}/credentials/certificates/{first}/delete"),
        &[("canary", &c)],
    )
    .await;
    assert_eq!(gone.status, 303, "{}", gone.html);
    assert_eq!(
        read_app(&app, &admin, object_id).await["keyCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A federated credential, then a second with the same name (Graph's conflict on the page).
    let fic = [
        ("canary", c.as_str()),
        ("issuer", "https://token.actions.githubusercontent.com"),
        ("subject", "repo:contoso/app:ref:refs/heads/main"),
        ("name", "main-branch"),
    ];
    let added = post(&mut b, &format!("{at}/credentials/federated"), &fic).await;
    assert_eq!(added.status, 303, "{}", added.html);
    let again = post(&mut b, &format!("{at}/credentials/federated"), &fic).await;
    assert_eq!(again.status, 400, "{}", again.html);
    let (_, fics) = app
        .graph(
            M::GET,
            &format!("applications/{object_id}/federatedIdentityCredentials"),
            &admin,
            None,
        )
        .await;
    assert_eq!(fics["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        fics["value"][0]["audiences"],
        json!(["api://AzureADTokenExchange"])
    );
    let fic_id = fics["value"][0]["id"].as_str().unwrap();
    let gone = post(
        &mut b,
        &format!("{at}/credentials/federated/{fic_id}/delete"),
        &[("canary", &c)],
    )
    .await;
    assert_eq!(gone.status, 303);
    let (_, fics) = app
        .graph(
            M::GET,
            &format!("applications/{object_id}/federatedIdentityCredentials"),
            &admin,
            None,
        )
        .await;
    assert_eq!(fics["value"], json!([]));
}

#[tokio::test]
async fn enterprise_applications_are_managed_and_deleted_with_graphs_revocation() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let j = crate::helpers::Journey::create(&app, None).await;
    let mut b = Browser::new(&app);
    let list = sign_in(&mut b, "gina", "/portal/enterpriseApps").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(
        list.html.contains(&j.daemon_sp_id),
        "the daemon is an enterprise application: {}",
        list.html
    );
    assert!(
        !list.html.contains(">Microsoft Graph<"),
        "Microsoft's are under their own filter"
    );
    let microsoft = b.get("/portal/enterpriseApps?type=microsoft").await;
    assert!(microsoft.html.contains(">Microsoft Graph<"), "{}", microsoft.html);

    // Properties: disabled for sign-in, the daemon's token is refused; enabled again.
    let at = format!("/portal/enterpriseApps/{}", j.daemon_sp_id);
    let page = b.get(&at).await;
    let c = canary(&page);
    let saved = post(
        &mut b,
        &at,
        &[("canary", &c), ("enabled", "no"), ("assignment", "no")],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let refused: Value = app
        .token_form(&app.tenant(), &j.form())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error_codes"][0], 7000112, "{refused}");
    post(
        &mut b,
        &at,
        &[("canary", &c), ("enabled", "yes"), ("assignment", "no")],
    )
    .await;
    assert_eq!(app.token_form(&app.tenant(), &j.form()).await.status(), 200);

    // Permissions: the API's role granted to the daemon is listed, and revoked from here.
    let perms = b.get(&format!("{at}/permissions")).await;
    assert!(perms.html.contains("Reports.Read"), "{}", perms.html);
    let assignment = perms.field("grant");
    let revoked = post(
        &mut b,
        &format!("{at}/permissions/revoke"),
        &[
            ("canary", &c),
            ("grant", &assignment),
            ("kind", "Application"),
            ("value", "Reports.Read"),
        ],
    )
    .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);
    let token = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    assert_eq!(
        crate::helpers::claims(&token)["roles"],
        Value::Null,
        "the role is gone"
    );

    // Users and groups: a user assigned Default Access on the API's service principal.
    user(&app, &admin, "uma", None).await;
    let api_at = format!("/portal/enterpriseApps/{}", j.api_sp_id);
    let page = b.get(&format!("{api_at}/users")).await;
    assert!(
        page.html.contains("Default Access"),
        "an API without user roles offers Default Access: {}",
        page.html
    );
    let nil = "00000000-0000-0000-0000-000000000000";
    let assigned = post(
        &mut b,
        &format!("{api_at}/users"),
        &[("canary", &c), ("user", "uma@contoso.example"), ("role", nil)],
    )
    .await;
    assert_eq!(assigned.status, 303, "{}", assigned.html);
    assert!(
        b.get(&format!("{api_at}/users")).await.html.contains("uma"),
        "listed"
    );
    let role_for_apps = post(
        &mut b,
        &format!("{api_at}/users"),
        &[
            ("canary", &c),
            ("user", "uma@contoso.example"),
            ("role", &j.read_role),
        ],
    )
    .await;
    assert_eq!(
        role_for_apps.status, 400,
        "a role for applications only: {}",
        role_for_apps.html
    );
    let unknown = post(
        &mut b,
        &format!("{api_at}/users"),
        &[("canary", &c), ("user", "nobody@contoso.example")],
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);

    // Delete: the daemon's tokens are refused at once; Graph no longer has it.
    let gone = post(&mut b, &format!("{at}/delete"), &[("canary", &c)]).await;
    assert_eq!(gone.status, 303, "{}", gone.html);
    let refused: Value = app
        .token_form(&app.tenant(), &j.form())
        .await
        .json()
        .await
        .unwrap();
    assert!(refused["error"].is_string(), "{refused}");
    assert_eq!(
        app.graph(
            M::GET,
            &format!("servicePrincipals/{}", j.daemon_sp_id),
            &admin,
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn users_are_made_with_a_password_shown_once_blocked_reset_and_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let mut b = Browser::new(&app);
    let form = sign_in(&mut b, "gina", "/portal/users/new").await;
    let c = canary(&form);
    let made = post(
        &mut b,
        "/portal/users/new",
        &[
            ("canary", &c),
            ("name", "ursula"),
            ("domain", "contoso.example"),
            ("display_name", "Ursula"),
            ("enabled", "yes"),
        ],
    )
    .await;
    assert_eq!(made.status, 200, "{}", made.html);
    let password = made.field("newPassword");
    let (_, u) = app
        .graph(M::GET, "users/ursula@contoso.example", &admin, None)
        .await;
    let id = u["id"].as_str().unwrap().to_string();
    let again = b.get(&format!("/portal/users/{id}")).await;
    assert!(!again.html.contains(&password), "shown once");
    // The password works, and must be changed first (Entra's 50055 on the password grant).
    let cli = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "cli", "isFallbackPublicClient": true}),
        )
        .await;
    let cli_id = cli["appId"].as_str().unwrap();
    app.create(&admin, "servicePrincipals", json!({"appId": cli_id}))
        .await;
    let ropc = |pw: String| {
        let app = &app;
        async move {
            let form = [
                ("grant_type", "password"),
                ("client_id", cli_id),
                ("username", "ursula@contoso.example"),
                ("password", pw.as_str()),
                ("scope", "openid"),
            ];
            app.token_form(&app.tenant(), &form)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(ropc(password.clone()).await["error_codes"][0], 50055);

    let blocked = post(
        &mut b,
        &format!("/portal/users/{id}/signIn"),
        &[("canary", &c), ("enabled", "no")],
    )
    .await;
    assert_eq!(blocked.status, 200, "{}", blocked.html);
    assert_eq!(
        app.graph(M::GET, &format!("users/{id}"), &admin, None).await.1["accountEnabled"],
        false
    );
    let reset = post(
        &mut b,
        &format!("/portal/users/{id}/resetPassword"),
        &[("canary", &c)],
    )
    .await;
    let second = reset.field("newPassword");
    assert_ne!(second, password);
    assert_eq!(
        ropc(password).await["error_codes"][0],
        50126,
        "the old password is gone"
    );
    let list = b.get("/portal/users?search=urs").await;
    assert!(list.html.contains("ursula@contoso.example"), "{}", list.html);
    let gone = post(&mut b, &format!("/portal/users/{id}/delete"), &[("canary", &c)]).await;
    assert_eq!(gone.status, 303);
    assert_eq!(
        app.graph(M::GET, &format!("users/{id}"), &admin, None).await.0,
        404
    );
    let audit = app
        .graph(M::GET, "auditLogs/directoryAudits", &admin, None)
        .await
        .1
        .to_string();
    assert!(!audit.contains(&second), "no password in the audit log");
}

#[tokio::test]
async fn sign_in_and_audit_logs_are_filtered_by_date_application_and_status() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    user(&app, &admin, "nora", None).await;
    let j = crate::helpers::Journey::create(&app, None).await;
    let bad = [
        ("grant_type", "client_credentials"),
        ("client_id", j.daemon_app_id.as_str()),
        ("client_secret", "wrong"),
        ("scope", "api://reports/.default"),
    ];
    assert_eq!(app.token_form(&app.tenant(), &bad).await.status(), 401);
    assert_eq!(app.token_form(&app.tenant(), &j.form()).await.status(), 200);
    let mut b = Browser::new(&app);
    sign_in(&mut b, "gina", "/portal/").await;

    // The sign-in log is written a moment after the request.
    let filtered = format!("/portal/signIns?days=1&app={}&status=failure", j.daemon_app_id);
    let mut page = b.get(&filtered).await;
    for _ in 0..50 {
        if page.html.contains("Failure (7000215)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        page = b.get(&filtered).await;
    }
    assert!(page.html.contains("Failure (7000215)"), "{}", page.html);
    assert!(
        !page.html.contains("<td>Success</td>"),
        "only failures: {}",
        page.html
    );
    let success = b
        .get(&format!(
            "/portal/signIns?days=1&app={}&status=success",
            j.daemon_app_id
        ))
        .await;
    assert!(
        success.html.contains("<td>Success</td>") && !success.html.contains("Failure ("),
        "{}",
        success.html
    );
    let other = b
        .get("/portal/signIns?days=1&app=00000000-0000-0000-0000-000000000001")
        .await;
    assert!(
        other.html.contains("No records for these filters."),
        "{}",
        other.html
    );

    let audits = b.get("/portal/auditLogs?days=7&status=success").await;
    assert!(audits.html.contains("Add application"), "{}", audits.html);
    assert!(
        b.get("/portal/auditLogs?status=failure")
            .await
            .html
            .contains("No records"),
        "nothing failed"
    );

    // Without a role that reads logs: refused, as Graph refuses it.
    let mut n = Browser::new(&app);
    let refused = sign_in(&mut n, "nora", "/portal/signIns").await;
    assert_eq!(refused.status, 403, "{}", refused.html);
}

#[tokio::test]
async fn a_change_in_the_portal_holds_on_another_node_within_a_second() {
    let app = TestApp::spawn_postgres().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let j = crate::helpers::Journey::create(&app, None).await;
    let (node_b, b) = app.second_node().await;
    assert_eq!(
        b.token_form(&b.tenant(), &j.form()).await.status(),
        200,
        "node B serves the daemon"
    );
    let mut browser = Browser::new(&app);
    let at = format!("/portal/enterpriseApps/{}", j.daemon_sp_id);
    let page = sign_in(&mut browser, "gina", &at).await;
    let saved = post(
        &mut browser,
        &at,
        &[
            ("canary", &canary(&page)),
            ("enabled", "no"),
            ("assignment", "no"),
        ],
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    crate::helpers::within(
        std::time::Duration::from_secs(1),
        "node B refuses the disabled application",
        || async { b.token_form(&b.tenant(), &j.form()).await.status() != 200 },
    )
    .await;
    node_b.shutdown().await;
}

#[tokio::test]
async fn permissions_are_chosen_from_graph_or_the_tenants_own_apis_and_searched() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let j = crate::helpers::Journey::create(&app, None).await;
    let client = app
        .create(&admin, "applications", json!({"displayName": "client"}))
        .await;
    let at = format!("/portal/applications/{}", client["id"].as_str().unwrap());
    let mut b = Browser::new(&app);
    let graph = sign_in(
        &mut b,
        "gina",
        &format!("{at}/permissions/add?type=Application&search=directory"),
    )
    .await;
    assert!(graph.html.contains("Directory.Read.All"), "{}", graph.html);
    assert!(
        !graph.html.contains("Application.Read.All"),
        "filtered: {}",
        graph.html
    );
    assert!(
        graph.html.contains(&format!("api={}", j.api_app_id)),
        "the tenant's API is offered: {}",
        graph.html
    );
    let own = b
        .get(&format!(
            "{at}/permissions/add?api={}&type=Application",
            j.api_app_id
        ))
        .await;
    assert!(own.html.contains("Reports.Read"), "{}", own.html);
    let added = post(
        &mut b,
        &format!("{at}/permissions/add"),
        &[
            ("canary", &canary(&own)),
            ("resource", &j.api_app_id),
            ("type", "Application"),
            ("id", &j.read_role),
        ],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let g = read_app(&app, &admin, client["id"].as_str().unwrap()).await;
    assert_eq!(
        g["requiredResourceAccess"][0]["resourceAppId"],
        j.api_app_id.as_str()
    );
    let listed = b.get(&format!("{at}/permissions")).await;
    assert!(listed.html.contains("Reports.Read"), "{}", listed.html);
}
