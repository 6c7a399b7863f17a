//! Multi-tenant applications (issue #10, item 5): a user of another organisation signs in at
//! `organizations` or at their own tenant, consent there adds the application's service principal
//! (owned by the home tenant), tokens are that tenant's, and deleting the service principal there
//! revokes everything at once. A single-tenant application stays at home.

use std::collections::HashMap;

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::browser::{
    authorize_path, forge_consent, redeem, setup, Browser, Page, Setup, PASSWORD, VERIFIER, WEB,
};
use crate::helpers::{claims, TestApp};

const BOB: &str = "bob@fabrikam.example";

/// Tenant A's web app made multi-tenant, and tenant B (`fabrikam.example`) with its user Bob.
async fn two_tenants(audience: &str) -> (TestApp, Setup, TestApp) {
    let a = TestApp::spawn().await;
    let s = setup(&a, false).await;
    let admin = a.admin_token().await;
    let (status, v) = a
        .graph(
            M::PATCH,
            &format!("applications/{}", s.object_id),
            &admin,
            Some(json!({"signInAudience": audience})),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    let b = a.another_tenant("fabrikam.example").await;
    let admin_b = b.admin_token().await;
    b.create(
        &admin_b,
        "users",
        json!({"accountEnabled": true, "displayName": "Bob", "mailNickname": "bob", "userPrincipalName": BOB,
               "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": false}}),
    )
    .await;
    (a, s, b)
}

/// The authorization request of `authorize_path`, at the tenant segment `tenant`.
fn at(a: &TestApp, s: &Setup, tenant: &str) -> String {
    authorize_path(a, s, WEB, "").replacen(&format!("/{}/", a.tenant()), &format!("/{tenant}/"), 1)
}

/// Bob's user name and password: the page after them.
async fn bob_signs_in(b: &mut Browser<'_>, path: &str) -> Page {
    let start = b.get(path).await;
    assert_eq!(start.status, 200, "{}", start.html);
    let pw = b.submit(&start, &[("loginfmt", BOB)]).await;
    assert!(pw.html.contains("id=\"i0118\""), "the password page: {}", pw.html);
    b.submit(&pw, &[("loginfmt", BOB), ("passwd", PASSWORD)]).await
}

/// B's service principal of the app, if any.
async fn sp_in(b: &TestApp, client_id: &str) -> Option<Value> {
    let admin = b.admin_token().await;
    let (status, v) = b
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{client_id}')"),
            &admin,
            None,
        )
        .await;
    (status == 200).then_some(v)
}

async fn redeem_at(a: &TestApp, s: &Setup, tenant: &str, params: &HashMap<String, String>) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", s.client_id.as_str()),
        ("client_secret", s.secret.as_str()),
        ("code", params["code"].as_str()),
        ("redirect_uri", WEB),
        ("code_verifier", VERIFIER),
    ];
    let r = a.token_form(tenant, &form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_user_of_another_organisation_consents_signs_in_and_is_revoked_by_deleting_the_enterprise_app() {
    let (a, s, b) = two_tenants("AzureADMultipleOrgs").await;
    let (tid_a, tid_b) = (a.tenant(), b.tenant());
    assert!(sp_in(&b, &s.client_id).await.is_none(), "not in B before consent");

    // At `organizations`, Bob's name picks B: his password page posts there, consent names the
    // publisher, and accepting adds the app to B.
    let mut browser = Browser::new(&a);
    let consent = bob_signs_in(&mut browser, &at(&a, &s, "organizations")).await;
    assert!(
        consent.action().starts_with(&format!("/{tid_b}/")),
        "{}",
        consent.action()
    );
    assert!(consent.html.contains("User.Read"), "{}", consent.html);
    assert!(
        consent.html.contains("contoso.example"),
        "the publisher's domain: {}",
        consent.html
    );
    let done = browser.submit(&consent, &[("accept", "Accept")]).await;
    let params = done.redirect_params();
    assert_eq!(
        params["iss"],
        format!("{}/{tid_b}/v2.0", a.base),
        "B answers (RFC 9207)"
    );
    let sp = sp_in(&b, &s.client_id).await.expect("consent added the app to B");
    assert_eq!(sp["appOwnerOrganizationId"], tid_a.as_str());
    assert_eq!(sp["signInAudience"], "AzureADMultipleOrgs");

    // The code is B's, redeemed where the client was told to go (`organizations`), and its tokens
    // are B's: tid, issuer, and Bob.
    let (status, tokens) = redeem_at(&a, &s, "organizations", &params).await;
    assert_eq!(status, 200, "{tokens}");
    let (access, id) = (
        claims(tokens["access_token"].as_str().unwrap()),
        claims(tokens["id_token"].as_str().unwrap()),
    );
    assert_eq!(access["tid"], tid_b.as_str());
    assert_eq!(id["iss"], format!("{}/{tid_b}/v2.0", a.base));
    assert_eq!(id["preferred_username"], BOB);
    assert_eq!(access["scp"], "User.Read openid profile");

    // The session signs Bob in again at `common` and at B without a page, and no consent is asked.
    let again = browser.get(&at(&a, &s, "common")).await.redirect_params();
    assert!(again.contains_key("code"), "{again:?}");
    assert_eq!(again["iss"], format!("{}/{tid_b}/v2.0", a.base));

    // A's user is unaffected, and B's admin sees what Bob granted.
    let admin_b = b.admin_token().await;
    let (_, grants) = b
        .graph(
            M::GET,
            &format!(
                "oauth2PermissionGrants?$filter=clientId eq '{}'",
                sp["id"].as_str().unwrap()
            ),
            &admin_b,
            None,
        )
        .await;
    assert_eq!(grants["value"][0]["scope"], "User.Read", "{grants}");

    // B deletes the enterprise application: Bob's refresh token dies at once, and the next sign-in
    // asks consent again.
    let (status, _) = b
        .graph(
            M::DELETE,
            &format!("servicePrincipals/{}", sp["id"].as_str().unwrap()),
            &admin_b,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", s.client_id.as_str()),
        ("client_secret", s.secret.as_str()),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let r = a.token_form(&tid_b, &form).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"] == "invalid_grant" || v["error"] == "unauthorized_client",
        "{v}"
    );
    let asked = browser.get(&at(&a, &s, &tid_b)).await;
    assert!(
        asked.html.contains("idBtn_Back") && asked.html.contains("User.Read"),
        "{}",
        asked.html
    );
}

#[tokio::test]
async fn the_app_itself_works_in_another_organisation_only_once_it_is_there() {
    let (a, s, b) = two_tenants("AzureADandPersonalMicrosoftAccount").await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", s.client_id.as_str()),
        ("client_secret", s.secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let r = a.token_form(&b.tenant(), &form).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_codes"][0], 700016, "{v}");

    // B's admin adds it through Graph (as `az ad sp create --id` does): now it gets B's tokens,
    // with no roles, since B granted none.
    let admin_b = b.admin_token().await;
    let sp = b
        .create(&admin_b, "servicePrincipals", json!({"appId": s.client_id}))
        .await;
    assert_eq!(sp["appOwnerOrganizationId"], a.tenant().as_str());
    let r = a.token_form(&b.tenant(), &form).await;
    let v: Value = r.json().await.unwrap();
    let c = claims(v["access_token"].as_str().expect("a token in B"));
    assert_eq!(c["tid"], b.tenant().as_str());
    assert!(c.get("roles").is_none(), "{c}");

    // B's admin lists it among B's enterprise applications.
    let (status, list) = b.graph(M::GET, "servicePrincipals", &admin_b, None).await;
    assert_eq!(status, 200);
    assert!(list["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["appId"] == s.client_id.as_str()));
}

#[tokio::test]
async fn a_single_tenant_app_is_refused_everywhere_but_home() {
    let (a, s, b) = two_tenants("AzureADMyOrg").await;
    let mut browser = Browser::new(&a);
    // At B's own endpoint: the error page, 700016, before any sign-in.
    let page = browser.get(&at(&a, &s, &b.tenant())).await;
    assert_eq!(page.status, 400, "{}", page.html);
    assert!(page.html.contains("AADSTS700016"), "{}", page.html);
    // At `organizations` the request stays home: Bob is not a user there.
    let start = browser.get(&at(&a, &s, "organizations")).await;
    let pw = browser.submit(&start, &[("loginfmt", BOB)]).await;
    assert!(
        pw.action().starts_with(&format!("/{}/", a.tenant())),
        "{}",
        pw.action()
    );
    let refused = browser
        .submit(&pw, &[("loginfmt", BOB), ("passwd", PASSWORD)])
        .await;
    assert!(refused.html.contains("AADSTS50126"), "{}", refused.html);
    // Graph in B will not add it either, and nothing was added.
    let admin_b = b.admin_token().await;
    let (status, v) = b
        .graph(
            M::POST,
            "servicePrincipals",
            &admin_b,
            Some(json!({"appId": s.client_id})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(sp_in(&b, &s.client_id).await.is_none());
    // At home everything is as before.
    let home = crate::browser::sign_in(&mut browser, &authorize_path(&a, &s, WEB, ""), true).await;
    let (status, _) = redeem(&a, &s, &home["code"], WEB, VERIFIER, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_user_of_another_organisation_cannot_grant_more_than_low_risk_permissions() {
    let (a, s, b) = two_tenants("AzureADMultipleOrgs").await;
    // A's API, multi-tenant, with a User-type scope, added to B by B's admin.
    let admin = a.admin_token().await;
    let api = a
        .create(
            &admin,
            "applications",
            json!({"displayName": "Orders API", "signInAudience": "AzureADMultipleOrgs",
                   "identifierUris": [format!("api://{}/orders", a.tenant())],
                   "api": {"oauth2PermissionScopes": [{"id": "0b7e3c1d-2a4f-4e8b-9c6d-5f1a2b3c4d5e",
                           "value": "Orders.Read", "type": "User", "isEnabled": true,
                           "adminConsentDisplayName": "Read orders"}]}}),
        )
        .await;
    a.create(&admin, "servicePrincipals", json!({"appId": api["appId"]}))
        .await;
    let admin_b = b.admin_token().await;
    b.create(&admin_b, "servicePrincipals", json!({"appId": api["appId"]}))
        .await;
    let path = at(&a, &s, &b.tenant()).replace(
        "User.Read",
        &format!("api%3A%2F%2F{}%2Forders%2FOrders.Read", a.tenant()),
    );
    let mut browser = Browser::new(&a);
    let page = bob_signs_in(&mut browser, &path).await;
    assert!(page.html.contains("AADSTS90094"), "{}", page.html);
    // The same request's sealed state, taken from the sign-in page, posted straight to the consent
    // form grants nothing either.
    let forged = forge_consent(&mut browser, &format!("{path}&prompt=login"), &b.tenant()).await;
    assert_eq!(forged["error"], "consent_required", "{forged:?}");
    assert!(sp_in(&b, &s.client_id).await.is_none(), "nothing was added to B");

    // B's administrator allows user consent to any app (Entra's legacy policy): Bob may now grant it.
    let legacy = json!({"defaultUserRolePermissions": {"permissionGrantPoliciesAssigned":
        ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]}});
    let (status, v) = b
        .graph(M::PATCH, "policies/authorizationPolicy", &admin_b, Some(legacy))
        .await;
    assert_eq!(status, 204, "{v}");
    let page = browser.get(&path).await;
    assert!(page.html.contains("Orders.Read"), "{}", page.html);
    let done = browser.submit(&page, &[("accept", "Accept")]).await;
    assert!(done.redirect_params().contains_key("code"));
}

#[tokio::test]
async fn with_user_consent_off_only_an_administrator_adds_an_app_to_another_organisation() {
    let (a, s, b) = two_tenants("AzureADMultipleOrgs").await;
    let admin_b = b.admin_token().await;
    let off = json!({"permissionGrantPolicyIdsAssignedToDefaultUserRole": []});
    let (status, v) = b
        .graph(M::PATCH, "policies/authorizationPolicy", &admin_b, Some(off))
        .await;
    assert_eq!(status, 204, "{v}");
    // Even a sign-in asking only OpenID Connect's scopes would add the app: an administrator's.
    let path = at(&a, &s, "organizations").replace("+offline_access+User.Read", "");
    assert!(!path.contains("User.Read"), "{path}");
    let mut browser = Browser::new(&a);
    let page = bob_signs_in(&mut browser, &path).await;
    assert!(page.html.contains("AADSTS90094"), "{}", page.html);
    assert!(sp_in(&b, &s.client_id).await.is_none(), "nothing was added to B");
}

/// A user's consent adds a known client's API too (`knownClientApplications`), under a policy that
/// lets users grant another organisation's scopes (here Entra's legacy one).
#[tokio::test]
async fn a_users_consent_adds_the_api_that_knows_the_client() {
    let (a, s, b) = two_tenants("AzureADMultipleOrgs").await;
    let admin = a.admin_token().await;
    let scope_id = "0b7e3c1d-2a4f-4e8b-9c6d-5f1a2b3c4d5e";
    let uri = format!("api://{}/orders", a.tenant());
    let api = a
        .create(
            &admin,
            "applications",
            json!({"displayName": "Orders API", "signInAudience": "AzureADMultipleOrgs", "identifierUris": [uri],
                   "api": {"knownClientApplications": [s.client_id],
                           "oauth2PermissionScopes": [{"id": scope_id, "value": "Orders.Read", "type": "User",
                                                       "isEnabled": true, "adminConsentDisplayName": "Read orders"}]}}),
        )
        .await;
    let requested = json!({"requiredResourceAccess": [{"resourceAppId": api["appId"],
                                                       "resourceAccess": [{"id": scope_id, "type": "Scope"}]}]});
    let (status, v) = a
        .graph(
            M::PATCH,
            &format!("applications/{}", s.object_id),
            &admin,
            Some(requested),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    let admin_b = b.admin_token().await;
    let legacy = json!({"permissionGrantPolicyIdsAssignedToDefaultUserRole":
        ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]});
    assert_eq!(
        b.graph(M::PATCH, "policies/authorizationPolicy", &admin_b, Some(legacy))
            .await
            .0,
        204
    );

    let encoded: String =
        url::form_urlencoded::byte_serialize(format!("{uri}/Orders.Read").as_bytes()).collect();
    let path = at(&a, &s, &b.tenant()).replace("User.Read", &encoded);
    let mut browser = Browser::new(&a);
    let consent = bob_signs_in(&mut browser, &path).await;
    assert!(
        consent.html.contains("Orders.Read (Orders API)"),
        "{}",
        consent.html
    );
    let params = browser
        .submit(&consent, &[("accept", "Accept")])
        .await
        .redirect_params();
    let (status, tokens) = redeem_at(&a, &s, &b.tenant(), &params).await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        (access["aud"].as_str(), access["scp"].as_str()),
        (Some(uri.as_str()), Some("Orders.Read"))
    );
    let api_in_b = sp_in(&b, api["appId"].as_str().unwrap())
        .await
        .expect("the API was added to B");
    assert_eq!(api_in_b["appOwnerOrganizationId"], a.tenant().as_str());
}
