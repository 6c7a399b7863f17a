//! Consent rules of issue #10 beyond the user's own consent: an API's pre-authorized clients need none.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::TestApp;

const PASSWORD: &str = "Correct-Horse-1";
const SCOPE_ID: &str = "0b7e3c1d-2a4f-4e8b-9c6d-5f1a2b3c4d5e";
const WRITE_ID: &str = "1c8f4d2e-3b5a-4f9c-8d7e-6a2b3c4d5e6f";

#[tokio::test]
async fn an_apis_pre_authorized_client_needs_no_consent_until_it_is_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let post = |path: &'static str, body: Value| app.create(&admin, path, body);
    let api = post(
        "applications",
        json!({"displayName": "Orders API", "identifierUris": ["api://orders"],
               "api": {"oauth2PermissionScopes": [{"id": SCOPE_ID, "value": "Orders.Read", "type": "User",
                                                   "isEnabled": true, "adminConsentDisplayName": "Read orders"}]}}),
    )
    .await;
    post("servicePrincipals", json!({"appId": api["appId"]})).await;
    let cli = post(
        "applications",
        json!({"displayName": "Orders CLI", "isFallbackPublicClient": true}),
    )
    .await;
    post("servicePrincipals", json!({"appId": cli["appId"]})).await;
    app.alice(&admin, PASSWORD).await;
    let client_id = cli["appId"].as_str().unwrap();
    let sign_in = || app.alice_signs_in(client_id, PASSWORD, "api://orders/Orders.Read");
    let pre_authorize = |clients: Value| {
        let (app, admin, id) = (&app, &admin, api["id"].as_str().unwrap().to_string());
        async move {
            let body = json!({"api": {"oauth2PermissionScopes": [{"id": SCOPE_ID, "value": "Orders.Read",
                                   "type": "User", "isEnabled": true, "adminConsentDisplayName": "Read orders"}],
                                   "preAuthorizedApplications": clients}});
            let (s, v) = app
                .graph(M::PATCH, &format!("applications/{id}"), admin, Some(body))
                .await;
            assert_eq!(s, 204, "{v}");
        }
    };

    assert_eq!(sign_in().await["error_codes"][0], 65001, "no consent yet");
    pre_authorize(json!([{"appId": cli["appId"], "delegatedPermissionIds": [SCOPE_ID]}])).await;
    let t = sign_in().await;
    assert!(t["access_token"].is_string(), "{t}");
    let c = crate::helpers::claims(t["access_token"].as_str().unwrap());
    assert_eq!(c["scp"], "Orders.Read");
    // Another client's pre-authorization is not this one's; and removing it holds at once.
    pre_authorize(json!([{"appId": uuid::Uuid::new_v4(), "delegatedPermissionIds": [SCOPE_ID]}])).await;
    assert_eq!(sign_in().await["error_codes"][0], 65001);
    app.stop().await;
}

#[tokio::test]
async fn default_asks_consent_for_what_the_client_lists_in_required_resource_access() {
    use crate::browser::{through_password, Browser, CHALLENGE, VERIFIER};
    let app = TestApp::spawn_with(None, gatehouse_server::settings::TlsMode::LocalCa).await;
    let admin = app.admin_token().await;
    let post = |path: &'static str, body: Value| app.create(&admin, path, body);
    let api = post(
        "applications",
        json!({"displayName": "Orders API", "identifierUris": ["api://orders"],
               "api": {"oauth2PermissionScopes": [
                   {"id": SCOPE_ID, "value": "Orders.Read", "type": "User", "isEnabled": true,
                    "userConsentDisplayName": "Read your orders"},
                   {"id": WRITE_ID, "value": "Orders.Write", "type": "User", "isEnabled": true}]}}),
    )
    .await;
    post("servicePrincipals", json!({"appId": api["appId"]})).await;
    let cli = post(
        "applications",
        json!({"displayName": "Orders desktop", "publicClient": {"redirectUris": ["http://localhost"]},
               "requiredResourceAccess": [{"resourceAppId": api["appId"],
                                           "resourceAccess": [{"id": SCOPE_ID, "type": "Scope"}]}]}),
    )
    .await;
    post("servicePrincipals", json!({"appId": cli["appId"]})).await;
    app.alice(&admin, PASSWORD).await;
    let client_id = cli["appId"].as_str().unwrap();
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", "http://localhost:8400")
        .append_pair("scope", "api://orders/.default")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let mut b = Browser::new(&app);
    let path = format!("/{}/oauth2/v2.0/authorize?{q}", app.tenant());
    let consent = through_password(&mut b, &path, "alice@contoso.example").await;
    assert!(
        consent.html.contains("Orders.Read") && consent.html.contains("Read your orders"),
        "{}",
        consent.html
    );
    assert!(
        !consent.html.contains("Orders.Write"),
        "only what the client lists"
    );
    let done = b.submit(&consent, &[("accept", "Accept")]).await;
    let code = done.redirect_params()["code"].clone();
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", &code),
                ("redirect_uri", "http://localhost:8400"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    let t: Value = r.json().await.unwrap();
    assert_eq!(
        crate::helpers::claims(t["access_token"].as_str().unwrap())["scp"],
        "Orders.Read",
        "{t}"
    );
    // The consent is in the audit log, by Alice, on the client's service principal.
    let (_, audits) = app
        .graph(
            M::GET,
            "auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Consent%20to%20application'",
            &admin,
            None,
        )
        .await;
    let consents = audits["value"].as_array().unwrap();
    assert_eq!(consents.len(), 1, "{audits}");
    assert_eq!(
        consents[0]["initiatedBy"]["user"]["userPrincipalName"],
        "alice@contoso.example"
    );
    assert_eq!(consents[0]["targetResources"][0]["type"], "ServicePrincipal");

    // The client asks for more: the next sign-in asks again, for what is new.
    let more = json!({"requiredResourceAccess": [{"resourceAppId": api["appId"], "resourceAccess": [
        {"id": SCOPE_ID, "type": "Scope"}, {"id": WRITE_ID, "type": "Scope"}]}]});
    let (st, body) = app
        .graph(
            M::PATCH,
            &format!("applications/{}", cli["id"].as_str().unwrap()),
            &admin,
            Some(more),
        )
        .await;
    assert_eq!(st, 204, "{body}");
    let again = b.get(&path).await;
    assert!(
        again.html.contains("Orders.Write") && again.html.contains("idBtn_Back"),
        "{}",
        again.html
    );
    app.stop().await;
}

/// The consent form records only what the user may grant: a sign-in page's sealed request for an
/// admin-only permission, posted straight to the consent form, is refused and records nothing.
#[tokio::test]
async fn a_user_cannot_grant_an_admin_permission_by_posting_the_consent_form() {
    use crate::browser::{authorize_path, forge_consent, setup, through_password, Browser, WEB};
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let path = authorize_path(&app, &s, WEB, "").replace("User.Read", "User.Read.All");
    let mut browser = Browser::new(&app);
    let page = through_password(&mut browser, &path, "alice@contoso.example").await;
    assert!(page.html.contains("AADSTS90094"), "{}", page.html);
    let sent = forge_consent(&mut browser, &format!("{path}&prompt=login"), &app.tenant()).await;
    assert_eq!(sent["error"], "consent_required", "{sent:?}");
    let admin = app.admin_token().await;
    let (_, grants) = app.graph(M::GET, "oauth2PermissionGrants", &admin, None).await;
    assert_eq!(grants["value"], json!([]), "{grants}");
}

/// The tenant's user consent setting (Graph's authorizationPolicy): Entra's default policy lists
/// `microsoft-user-default-low`; an empty list turns user consent off, so even User.Read needs an
/// administrator (90094), until it is turned back on.
#[tokio::test]
async fn an_administrator_can_turn_user_consent_off() {
    use crate::browser::{authorize_path, setup, through_password, Browser, WEB};
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let admin = app.admin_token().await;
    let (status, policy) = app
        .graph(M::GET, "policies/authorizationPolicy", &admin, None)
        .await;
    assert_eq!(status, 200, "{policy}");
    let low = json!(["ManagePermissionGrantsForSelf.microsoft-user-default-low"]);
    assert_eq!(policy["permissionGrantPolicyIdsAssignedToDefaultUserRole"], low);
    assert_eq!(
        policy["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"],
        low
    );

    let set = |ids: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = json!({"permissionGrantPolicyIdsAssignedToDefaultUserRole": ids});
            app.graph(M::PATCH, "policies/authorizationPolicy", admin, Some(body))
                .await
                .0
        }
    };
    assert_eq!(set(json!([])).await, 204);
    let path = authorize_path(&app, &s, WEB, "");
    let page = through_password(&mut Browser::new(&app), &path, "alice@contoso.example").await;
    assert!(page.html.contains("AADSTS90094"), "{}", page.html);

    assert_eq!(set(low).await, 204);
    let page = through_password(&mut Browser::new(&app), &path, "alice@contoso.example").await;
    assert!(
        page.html.contains("idSIButton9") && page.html.contains("User.Read"),
        "{}",
        page.html
    );
}
