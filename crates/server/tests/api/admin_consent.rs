//! Admin consent (issue #10, item 3): `/{tenant}/adminconsent` and `/{tenant}/v2.0/adminconsent` sign
//! an administrator in, show what the app asks for the whole organisation, and write it (the service
//! principal, an AllPrincipals grant, app role assignments); only the directory roles that may grant it
//! get the page (90094 otherwise); errors never go to an unregistered redirect URI.

use std::collections::HashMap;

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::browser::{Browser, Page, PASSWORD, WEB};
use crate::helpers::{claims, TestApp};

const USER_READ: &str = "e1fe6dd8-ba31-4d61-89e7-88639da4683d";
const APPLICATION_READ_ALL: &str = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";

/// A web app with a secret that lists Graph's User.Read (delegated) and, with `app_permission`,
/// Application.Read.All (application); no service principal anywhere yet. (appId, secret)
async fn daemon_app(app: &TestApp, audience: &str, app_permission: bool) -> (String, String) {
    let admin = app.admin_token().await;
    let mut access = vec![json!({"id": USER_READ, "type": "Scope"})];
    if app_permission {
        access.push(json!({"id": APPLICATION_READ_ALL, "type": "Role"}));
    }
    let created = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "Inventory Sync", "signInAudience": audience, "web": {"redirectUris": [WEB]},
                   "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
                                               "resourceAccess": access}]}),
        )
        .await;
    let secret = app
        .create(
            &admin,
            &format!("applications/{}/addPassword", created["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    (
        created["appId"].as_str().unwrap().to_string(),
        secret["secretText"].as_str().unwrap().to_string(),
    )
}

fn consent_path(tenant: &str, client_id: &str, extra: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", WEB)
        .append_pair("state", "st-1")
        .finish();
    format!("/{tenant}/adminconsent?{q}{extra}")
}

/// Through the user-name and password pages as `user` with `password`: the page after them.
async fn signs_in(b: &mut Browser<'_>, path: &str, user: &str, password: &str) -> Page {
    let start = b.get(path).await;
    assert_eq!(start.status, 200, "{}", start.html);
    let pw = b.submit(&start, &[("loginfmt", user)]).await;
    b.submit(&pw, &[("loginfmt", user), ("passwd", password)]).await
}

/// The tenant's first user, a Global Administrator: (user name, password).
fn administrator(app: &TestApp) -> (String, String) {
    (
        app.boot.admin_user_principal_name.clone().unwrap(),
        app.boot.admin_password.as_ref().unwrap().expose().to_string(),
    )
}

async fn client_credentials(app: &TestApp, tenant: &str, client_id: &str, secret: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let r = app.token_form(tenant, &form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_global_administrator_grants_delegated_and_application_permissions_for_everyone() {
    let app = TestApp::spawn().await;
    let (client_id, secret) = daemon_app(&app, "AzureADMyOrg", true).await;
    let (upn, password) = administrator(&app);
    let mut browser = Browser::new(&app);
    let page = signs_in(
        &mut browser,
        &consent_path(&app.tenant(), &client_id, ""),
        &upn,
        &password,
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.html);
    for shown in [
        "Inventory Sync",
        "User.Read (Microsoft Graph, delegated)",
        "Application.Read.All (Microsoft Graph, application)",
        "forOrganization",
        "contoso.example",
    ] {
        assert!(page.html.contains(shown), "{shown}: {}", page.html);
    }
    let done = browser.submit(&page, &[("accept", "Accept")]).await;
    let params = done.redirect_params();
    let expected: HashMap<String, String> = [
        ("admin_consent", "True".to_string()),
        ("tenant", app.tenant()),
        ("state", "st-1".to_string()),
        ("iss", format!("{}/{}/v2.0", app.base, app.tenant())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(params, expected);

    // The daemon now gets the role; every user gets User.Read without being asked.
    let (status, token) = client_credentials(&app, &app.tenant(), &client_id, &secret).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["roles"],
        json!(["Application.Read.All"])
    );
    let admin = app.admin_token().await;
    let (_, grants) = app.graph(M::GET, "oauth2PermissionGrants", &admin, None).await;
    assert_eq!(grants["value"][0]["consentType"], "AllPrincipals", "{grants}");
    assert_eq!(grants["value"][0]["scope"], "User.Read");

    // Consenting again changes nothing and still answers True.
    let again = browser.get(&consent_path(&app.tenant(), &client_id, "")).await;
    let done = browser.submit(&again, &[("accept", "Accept")]).await;
    assert_eq!(done.redirect_params()["admin_consent"], "True");
    let (_, sp) = app
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{client_id}')"),
            &admin,
            None,
        )
        .await;
    let (_, assigned) = app
        .graph(
            M::GET,
            &format!(
                "servicePrincipals/{}/appRoleAssignments",
                sp["id"].as_str().unwrap()
            ),
            &admin,
            None,
        )
        .await;
    assert_eq!(assigned["value"].as_array().unwrap().len(), 1, "{assigned}");
}

#[tokio::test]
async fn only_a_role_that_may_grant_it_gets_the_page() {
    let app = TestApp::spawn().await;
    let (client_id, _) = daemon_app(&app, "AzureADMyOrg", true).await;
    let admin = app.admin_token().await;
    let alice = app.alice(&admin, PASSWORD).await;
    let path = consent_path(&app.tenant(), &client_id, "");

    // A member without a role: Entra's 90094, and posting the sign-in page's state to the consent form
    // grants nothing.
    let mut browser = Browser::new(&app);
    let start = browser.get(&path).await;
    let pw = browser
        .submit(&start, &[("loginfmt", "alice@contoso.example")])
        .await;
    let page = browser
        .submit(
            &pw,
            &[("loginfmt", "alice@contoso.example"), ("passwd", PASSWORD)],
        )
        .await;
    assert!(page.html.contains("AADSTS90094"), "{}", page.html);
    let form = [
        ("ctx", start.field("ctx")),
        ("canary", start.field("canary")),
        ("accept", "Accept".to_string()),
    ];
    let req = app
        .http
        .post(app.url(&format!("/{}/consent", app.tenant())))
        .form(&form);
    let forged = browser.send(req).await;
    assert!(
        forged.html.contains("AADSTS90094"),
        "{} {}",
        forged.status,
        forged.html
    );
    let (_, grants) = app.graph(M::GET, "oauth2PermissionGrants", &admin, None).await;
    assert_eq!(grants["value"], json!([]));

    // An Application Administrator may grant all but Graph's application permissions.
    let assignment = app
        .create(
            &admin,
            "roleManagement/directory/roleAssignments",
            json!({"principalId": alice["id"], "roleDefinitionId": APPLICATION_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    let page = browser.get(&path).await;
    assert!(
        page.html.contains("AADSTS90094"),
        "Graph's app permission: {}",
        page.html
    );
    let (delegated_only, _) = daemon_app(&app, "AzureADMyOrg", false).await;
    let page = browser
        .get(&consent_path(&app.tenant(), &delegated_only, ""))
        .await;
    assert!(
        page.html.contains("User.Read (Microsoft Graph, delegated)"),
        "{}",
        page.html
    );

    // Removing the role takes it away at once.
    let (status, _) = app
        .graph(
            M::DELETE,
            &format!(
                "roleManagement/directory/roleAssignments/{}",
                assignment["id"].as_str().unwrap()
            ),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let page = browser
        .get(&consent_path(&app.tenant(), &delegated_only, ""))
        .await;
    assert!(page.html.contains("AADSTS90094"), "{}", page.html);
}

#[tokio::test]
async fn errors_go_only_to_a_registered_redirect_uri() {
    let app = TestApp::spawn().await;
    let (client_id, _) = daemon_app(&app, "AzureADMyOrg", true).await;
    let mut browser = Browser::new(&app);
    // An unregistered redirect URI: the error page, no redirect.
    let path = consent_path(&app.tenant(), &client_id, "").replace("app.example", "evil.example");
    assert!(path.contains("evil.example"));
    let page = browser.get(&path).await;
    assert_eq!(
        (page.status, page.location.is_none()),
        (400, true),
        "{}",
        page.html
    );
    assert!(page.html.contains("AADSTS50011"), "{}", page.html);
    // An unknown client: the error page.
    let page = browser
        .get(&consent_path(
            &app.tenant(),
            "9f1f6b5c-0000-4000-8000-000000000000",
            "",
        ))
        .await;
    assert!(page.html.contains("AADSTS700016"), "{}", page.html);
    // v2 without a scope: back to the client, with the state.
    let v2 = consent_path(&app.tenant(), &client_id, "").replace("/adminconsent", "/v2.0/adminconsent");
    let sent = browser.get(&v2).await.redirect_params();
    assert_eq!(sent["error"], "invalid_request", "{sent:?}");
    assert!(sent["error_description"].starts_with("AADSTS900144"), "{sent:?}");
    assert_eq!(sent["state"], "st-1");
    // Declined: access_denied (65004), nothing written.
    let (upn, password) = administrator(&app);
    let page = signs_in(
        &mut browser,
        &format!("{v2}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
        &upn,
        &password,
    )
    .await;
    let declined = browser
        .submit(&page, &[("cancel", "Cancel")])
        .await
        .redirect_params();
    assert_eq!(declined["error"], "access_denied", "{declined:?}");
    assert!(
        declined["error_description"].starts_with("AADSTS65004"),
        "{declined:?}"
    );
    assert_eq!(declined["state"], "st-1");
    let admin = app.admin_token().await;
    let (status, _) = app
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{client_id}')"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 404, "no service principal was made");
}

#[tokio::test]
async fn an_administrator_of_another_organisation_adds_a_multi_tenant_daemon_there() {
    let a = TestApp::spawn().await;
    let (client_id, secret) = daemon_app(&a, "AzureADMultipleOrgs", true).await;
    let b = a.another_tenant("fabrikam.example").await;
    let (status, v) = client_credentials(&a, &b.tenant(), &client_id, &secret).await;
    assert_eq!((status, v["error_codes"][0].as_u64()), (400, Some(700016)));

    // At `organizations`, B's administrator's name picks B; v2 with `.default` grants everything the
    // app lists, in B.
    let (upn, password) = administrator(&b);
    let path = consent_path(
        "organizations",
        &client_id,
        "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
    )
    .replace("/adminconsent", "/v2.0/adminconsent");
    let mut browser = Browser::new(&a);
    let page = signs_in(&mut browser, &path, &upn, &password).await;
    assert!(
        page.html.contains("Fabrikam") || page.html.contains("fabrikam"),
        "{}",
        page.html
    );
    let params = browser
        .submit(&page, &[("accept", "Accept")])
        .await
        .redirect_params();
    assert_eq!(params["tenant"], b.tenant());
    assert_eq!(params["scope"], "https://graph.microsoft.com/.default");

    let (status, token) = client_credentials(&a, &b.tenant(), &client_id, &secret).await;
    assert_eq!(status, 200, "{token}");
    let c = claims(token["access_token"].as_str().unwrap());
    assert_eq!(
        (c["tid"].as_str(), c["roles"].clone()),
        (Some(b.tenant().as_str()), json!(["Application.Read.All"]))
    );
    // At home the app holds nothing: consent in B granted B's roles only.
    let (status, home) = client_credentials(&a, &a.tenant(), &client_id, &secret).await;
    assert_eq!(status, 400, "no service principal at home yet: {home}");

    // B deletes the enterprise application: no more tokens there.
    let admin_b = b.admin_token().await;
    let (status, _) = b
        .graph(
            M::DELETE,
            &format!("servicePrincipals(appId='{client_id}')"),
            &admin_b,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = client_credentials(&a, &b.tenant(), &client_id, &secret).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn prompt_admin_consent_grants_for_everyone_inside_a_sign_in() {
    let app = TestApp::spawn().await;
    let s = crate::browser::setup(&app, false).await;
    let admin = app.admin_token().await;
    let (upn, password) = administrator(&app);
    let path = crate::browser::authorize_path(&app, &s, WEB, "&prompt=admin_consent");
    let mut browser = Browser::new(&app);
    let page = signs_in(&mut browser, &path, &upn, &password).await;
    assert!(
        page.html.contains("forOrganization") && page.html.contains("User.Read"),
        "{}",
        page.html
    );
    let params = browser
        .submit(&page, &[("accept", "Accept")])
        .await
        .redirect_params();
    assert!(params.contains_key("code"), "{params:?}");
    let (_, grants) = app.graph(M::GET, "oauth2PermissionGrants", &admin, None).await;
    assert_eq!(grants["value"][0]["consentType"], "AllPrincipals", "{grants}");
}

/// `knownClientApplications`: a multi-tenant API that names a multi-tenant client is added to another
/// organisation by the same consent as the client; without it, the API must be there already (500011).
#[tokio::test]
async fn consent_to_a_known_client_adds_its_api_too() {
    let a = TestApp::spawn().await;
    let admin = a.admin_token().await;
    let role = uuid::Uuid::new_v4();
    let api = a
        .create(
            &admin,
            "applications",
            json!({"displayName": "Inventory API", "signInAudience": "AzureADMultipleOrgs",
                   "appRoles": [{"allowedMemberTypes": ["Application"], "id": role, "value": "Inventory.Read",
                                 "displayName": "Read inventory", "isEnabled": true}]}),
        )
        .await;
    let client = a
        .create(
            &admin,
            "applications",
            json!({"displayName": "Inventory Sync", "signInAudience": "AzureADMultipleOrgs",
                   "web": {"redirectUris": [WEB]},
                   "requiredResourceAccess": [{"resourceAppId": api["appId"],
                                               "resourceAccess": [{"id": role, "type": "Role"}]}]}),
        )
        .await;
    let client_id = client["appId"].as_str().unwrap().to_string();
    let secret = a
        .create(
            &admin,
            &format!("applications/{}/addPassword", client["id"].as_str().unwrap()),
            json!({}),
        )
        .await["secretText"]
        .as_str()
        .unwrap()
        .to_string();
    let b = a.another_tenant("fabrikam.example").await;
    let (upn, password) = administrator(&b);
    let path = consent_path(&b.tenant(), &client_id, "");

    // The API is not in Fabrikam and does not know the client: nothing can be granted on it.
    let mut browser = Browser::new(&a);
    let refused = signs_in(&mut browser, &path, &upn, &password).await;
    let sent = refused.redirect_params();
    assert!(sent["error_description"].starts_with("AADSTS500011"), "{sent:?}");

    // It names the client as a known client: the admin consent page shows its role, and accepting
    // adds both to Fabrikam.
    let body = json!({"api": {"knownClientApplications": [client_id]}});
    let (s, v) = a
        .graph(
            M::PATCH,
            &format!("applications/{}", api["id"].as_str().unwrap()),
            &admin,
            Some(body),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let page = browser.get(&path).await;
    assert!(
        page.html.contains("Inventory.Read (Inventory API, application)"),
        "{}",
        page.html
    );
    let done = browser.submit(&page, &[("accept", "Accept")]).await;
    assert_eq!(done.redirect_params()["admin_consent"], "True");
    let scope = format!("{}/.default", api["appId"].as_str().unwrap());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", scope.as_str()),
    ];
    let token: Value = a.token_form(&b.tenant(), &form).await.json().await.unwrap();
    let c = claims(
        token["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{token}")),
    );
    assert_eq!(
        (c["tid"].as_str(), c["roles"].clone()),
        (Some(b.tenant().as_str()), json!(["Inventory.Read"]))
    );
    let admin_b = b.admin_token().await;
    let (s, sp) = b
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{}')", api["appId"].as_str().unwrap()),
            &admin_b,
            None,
        )
        .await;
    assert_eq!(
        (s, sp["appOwnerOrganizationId"].as_str()),
        (200, Some(a.tenant().as_str()))
    );
}
