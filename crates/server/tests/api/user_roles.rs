//! App roles assigned to users (issue #10, item 2): `/users/{id}/appRoleAssignments` and the
//! resource's `appRoleAssignedTo` list them beside service principals'; the user's access tokens for
//! that resource carry them in `roles`, and an assignment deleted is gone from the next token.

use reqwest::Method as M;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{claims, Journey, TestApp};

const PASSWORD: &str = "Correct-Horse-1";

/// The Reports API with a role for users (`Reports.Approver`) and a delegated scope, a public client
/// every user may use it through (an AllPrincipals grant), and Alice.
struct Setup {
    j: Journey,
    approver: Uuid,
    cli_id: String,
    grant_id: String,
    alice: Value,
}

async fn reports_api_with_a_user_role(app: &TestApp) -> Setup {
    let j = Journey::create(app, Some(2)).await;
    let admin = app.admin_token().await;
    let approver = Uuid::new_v4();
    let path = format!("applications(appId='{}')", j.api_app_id);
    let (_, api) = app.graph(M::GET, &path, &admin, None).await;
    let mut app_roles = api["appRoles"].as_array().unwrap().clone();
    app_roles.push(json!({"allowedMemberTypes": ["User"], "id": approver, "value": "Reports.Approver",
                          "displayName": "Approve reports", "description": "Approve reports", "isEnabled": true}));
    let body = json!({
        "api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [{"id": Uuid::new_v4(),
                "value": "access_as_user", "type": "User", "isEnabled": true, "adminConsentDisplayName": "Use"}]},
        "appRoles": app_roles});
    let (s, v) = app.graph(M::PATCH, &path, &admin, Some(body)).await;
    assert_eq!(s, 204, "{v}");
    let cli = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "Reports CLI", "isFallbackPublicClient": true}),
        )
        .await;
    let cli_sp = app
        .create(&admin, "servicePrincipals", json!({"appId": cli["appId"]}))
        .await;
    let grant = app
        .create(
            &admin,
            "oauth2PermissionGrants",
            json!({"clientId": cli_sp["id"], "consentType": "AllPrincipals", "resourceId": j.api_sp_id,
                   "scope": "access_as_user"}),
        )
        .await;
    let alice = app.alice(&admin, PASSWORD).await;
    Setup {
        j,
        approver,
        cli_id: cli["appId"].as_str().unwrap().to_string(),
        grant_id: grant["id"].as_str().unwrap().to_string(),
        alice,
    }
}

fn roles(v: &Value) -> Value {
    claims(v["access_token"].as_str().unwrap_or_else(|| panic!("{v}")))["roles"].clone()
}

#[tokio::test]
async fn a_users_app_roles_are_assigned_listed_carried_in_their_tokens_and_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let Setup {
        j,
        approver,
        cli_id,
        alice,
        ..
    } = reports_api_with_a_user_role(&app).await;
    let sign_in = || app.alice_signs_in(&cli_id, PASSWORD, "api://reports/access_as_user");
    assert_eq!(roles(&sign_in().await), Value::Null, "no role yet");

    // An application-only role cannot go to a user; the user role (by principal name) can.
    let assign = |role: Value| {
        let (app, admin, alice, api) = (&app, &admin, &alice, j.api_sp_id.clone());
        async move {
            let body = json!({"principalId": alice["id"], "resourceId": api, "appRoleId": role});
            app.graph(
                M::POST,
                "users/alice@contoso.example/appRoleAssignments",
                admin,
                Some(body),
            )
            .await
        }
    };
    let (s, v) = assign(json!(j.read_role)).await;
    assert_eq!(s, 400, "{v}");
    let (s, assignment) = assign(json!(approver)).await;
    assert_eq!(s, 201, "{assignment}");
    assert_eq!(assignment["principalType"], "User");
    assert_eq!(assignment["principalDisplayName"], "Alice Example");
    assert_eq!(assign(json!(approver)).await.0, 400, "the same role twice");

    // Listed from both sides, beside nothing else.
    let (_, mine) = app
        .graph(
            M::GET,
            &format!("users/{}/appRoleAssignments", alice["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(mine["value"].as_array().unwrap().len(), 1, "{mine}");
    let (_, to_api) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id),
            &admin,
            None,
        )
        .await;
    assert!(
        to_api["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["principalId"] == alice["id"]),
        "{to_api}"
    );

    // The user's token for the API carries the role; the daemon's tokens are unchanged.
    let token = sign_in().await;
    assert_eq!(roles(&token), json!(["Reports.Approver"]));
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["scp"],
        "access_as_user"
    );

    // Removed: the next token has no role (every node applies the change within a second).
    let path = format!(
        "users/{}/appRoleAssignments/{}",
        alice["id"].as_str().unwrap(),
        assignment["id"].as_str().unwrap()
    );
    assert_eq!(app.graph(M::DELETE, &path, &admin, None).await.0, 204);
    let start = std::time::Instant::now();
    loop {
        if roles(&sign_in().await) == Value::Null {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "the role is still issued"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// An application whose service principal requires assignment (`appRoleAssignmentRequired`) refuses
/// users who hold none of its roles (50105), at the token endpoint and on the sign-in pages, until they
/// are assigned (the default access role is enough).
#[tokio::test]
async fn an_application_that_requires_assignment_refuses_unassigned_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let locked = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "Payroll", "isFallbackPublicClient": true,
                   "web": {"redirectUris": ["https://app.example/signin-oidc"]}}),
        )
        .await;
    let sp = app
        .create(
            &admin,
            "servicePrincipals",
            json!({"appId": locked["appId"], "appRoleAssignmentRequired": true}),
        )
        .await;
    let graph = app
        .graph(
            M::GET,
            "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
            &admin,
            None,
        )
        .await
        .1;
    app.create(
        &admin,
        "oauth2PermissionGrants",
        json!({"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph["id"], "scope": "User.Read"}),
    )
    .await;
    let alice = app.alice(&admin, PASSWORD).await;
    let client_id = locked["appId"].as_str().unwrap();
    let refused = app.alice_signs_in(client_id, PASSWORD, "User.Read").await;
    assert_eq!(refused["error"], "invalid_grant", "{refused}");
    assert_eq!(refused["error_codes"][0], 50105, "{refused}");
    let mut browser = crate::browser::Browser::new(&app);
    let q = format!(
        "/{}/oauth2/v2.0/authorize?client_id={client_id}&response_type=code&scope=User.Read\
         &redirect_uri=https%3A%2F%2Fapp.example%2Fsignin-oidc",
        app.tenant()
    );
    let page = crate::browser::through_password(&mut browser, &q, "alice@contoso.example").await;
    assert!(page.html.contains("AADSTS50105"), "{}", page.html);

    let default_access = json!({"principalId": alice["id"], "resourceId": sp["id"],
                                "appRoleId": "00000000-0000-0000-0000-000000000000"});
    app.create(
        &admin,
        "users/alice@contoso.example/appRoleAssignments",
        default_access,
    )
    .await;
    let allowed = app.alice_signs_in(client_id, PASSWORD, "User.Read").await;
    assert!(allowed["access_token"].is_string(), "{allowed}");
}

/// Removing a user's role or their client's consent on one node holds on another within a second: the
/// next token there has no role, and the next sign-in there has no consent (65001).
#[tokio::test]
async fn a_removed_role_or_grant_holds_on_every_node_within_a_second() {
    let a = TestApp::spawn_postgres().await;
    let (node_b, b) = a.second_node().await;
    let admin = a.admin_token().await;
    let s = reports_api_with_a_user_role(&a).await;
    let body = json!({"principalId": s.alice["id"], "resourceId": s.j.api_sp_id, "appRoleId": s.approver});
    let assignment = a
        .create(&admin, "users/alice@contoso.example/appRoleAssignments", body)
        .await;
    let on_b = || b.alice_signs_in(&s.cli_id, PASSWORD, "api://reports/access_as_user");
    let until = |what: &'static str| {
        let start = std::time::Instant::now();
        move || {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(1),
                "{what} after 1 s"
            )
        }
    };
    let late = until("node B did not see the role");
    while roles(&on_b().await) != json!(["Reports.Approver"]) {
        late();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let path = format!(
        "users/{}/appRoleAssignments/{}",
        s.alice["id"].as_str().unwrap(),
        assignment["id"].as_str().unwrap()
    );
    assert_eq!(a.graph(M::DELETE, &path, &admin, None).await.0, 204);
    let late = until("node B still issued the removed role");
    while roles(&on_b().await) != Value::Null {
        late();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let path = format!("oauth2PermissionGrants/{}", s.grant_id);
    assert_eq!(a.graph(M::DELETE, &path, &admin, None).await.0, 204);
    let refused = on_b().await;
    assert_eq!(
        refused["error_codes"][0], 65001,
        "consent is read when each token is issued: {refused}"
    );
    node_b.shutdown().await;
}
