//! Graph with a user's token: a delegated permission reaches only as far as the user's directory roles
//! (Entra's effective permission). The same rule decides what the portal may do.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::browser::PASSWORD;
use crate::helpers::{user, TestApp};

const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const APPLICATION_READ_ALL_ROLE: &str = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30";

/// A public client that an administrator consented for everyone to Graph's
/// `Application.ReadWrite.All` and `AppRoleAssignment.ReadWrite.All`.
async fn consented_client(app: &TestApp, admin: &str) -> String {
    let cli = app
        .create(
            admin,
            "applications",
            json!({"displayName": "Admin CLI", "isFallbackPublicClient": true}),
        )
        .await;
    let client_id = cli["appId"].as_str().unwrap().to_string();
    let sp = app
        .create(admin, "servicePrincipals", json!({"appId": client_id}))
        .await;
    let (_, graph) = app
        .graph(
            M::GET,
            "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
            admin,
            None,
        )
        .await;
    app.create(
        admin,
        "oauth2PermissionGrants",
        json!({"clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph["id"],
               "scope": "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All User.Read.All"}),
    )
    .await;
    client_id
}

/// `name`'s delegated Graph token (the password grant), after giving them `role` if any.
async fn token_of(app: &TestApp, admin: &str, client_id: &str, name: &str, role: Option<&str>) -> String {
    user(app, admin, name, role).await;
    let form = [
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", &format!("{name}@contoso.example")),
        ("password", PASSWORD),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let body: Value = app.token_form(&app.tenant(), &form).await.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

#[tokio::test]
async fn a_delegated_permission_reaches_only_as_far_as_the_users_directory_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let client = consented_client(&app, &admin).await;
    let member = token_of(&app, &admin, &client, "mia", None).await;
    let app_admin = token_of(&app, &admin, &client, "ava", Some(APPLICATION_ADMINISTRATOR)).await;
    let global = token_of(&app, &admin, &client, "gina", Some(GLOBAL_ADMINISTRATOR)).await;
    let new_app = json!({"displayName": "made with a user's token"});

    // Every member reads users, and registers applications, which they then own: they see and change
    // those, and no other (Entra's default user permissions).
    assert_eq!(app.graph(M::GET, "users", &member, None).await.0, 200);
    let theirs = app
        .create(
            &admin,
            "applications",
            json!({"displayName": "an administrator's"}),
        )
        .await;
    let (s, mine) = app
        .graph(
            M::POST,
            "applications",
            &member,
            Some(json!({"displayName": "mia's app"})),
        )
        .await;
    assert_eq!(s, 201, "{mine}");
    let mine_path = format!("applications/{}", mine["id"].as_str().unwrap());
    let (_, owners) = app
        .graph(M::GET, &format!("{mine_path}/owners"), &member, None)
        .await;
    assert_eq!(
        owners["value"][0]["userPrincipalName"], "mia@contoso.example",
        "{owners}"
    );
    let (s, listed) = app.graph(M::GET, "applications", &member, None).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["mia's app"], "only what they own");
    let notes = Some(json!({"notes": "mine"}));
    assert_eq!(
        app.graph(M::PATCH, &mine_path, &member, notes.clone()).await.0,
        204
    );
    let theirs_path = format!("applications/{}", theirs["id"].as_str().unwrap());
    let (s, e) = app.graph(M::PATCH, &theirs_path, &member, notes.clone()).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied")),
        "{e}"
    );
    assert_eq!(app.graph(M::GET, &theirs_path, &member, None).await.0, 403);
    // An owner adds another owner; the new one may change it too.
    let (_, gina) = app
        .graph(M::GET, "users/gina@contoso.example", &admin, None)
        .await;
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", gina["id"].as_str().unwrap())});
    assert_eq!(
        app.graph(
            M::POST,
            &format!("{mine_path}/owners/$ref"),
            &member,
            Some(reference.clone())
        )
        .await
        .0,
        204
    );
    assert_eq!(
        app.graph(
            M::POST,
            &format!("{mine_path}/owners/$ref"),
            &member,
            Some(reference)
        )
        .await
        .0,
        400,
        "already one"
    );
    let (_, owners) = app
        .graph(M::GET, &format!("{mine_path}/owners"), &admin, None)
        .await;
    assert_eq!(owners["value"].as_array().unwrap().len(), 2);
    // The tenant can turn registration by members off.
    let policy = json!({"defaultUserRolePermissions": {"allowedToCreateApps": false}});
    assert_eq!(
        app.graph(M::PATCH, "policies/authorizationPolicy", &admin, Some(policy))
            .await
            .0,
        204
    );
    let (_, read) = app
        .graph(M::GET, "policies/authorizationPolicy", &admin, None)
        .await;
    assert_eq!(read["defaultUserRolePermissions"]["allowedToCreateApps"], false);
    let (s, e) = app
        .graph(M::POST, "applications", &member, Some(new_app.clone()))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied")),
        "{e}"
    );
    assert_eq!(
        app.graph(M::PATCH, &mine_path, &member, notes).await.0,
        204,
        "what they own stays theirs"
    );

    let (s, made) = app
        .graph(M::POST, "applications", &app_admin, Some(new_app.clone()))
        .await;
    assert_eq!(s, 201, "{made}");
    let sp = app
        .create(&app_admin, "servicePrincipals", json!({"appId": made["appId"]}))
        .await;
    // ... but an Application Administrator cannot grant Microsoft Graph's application permissions.
    let (_, graph) = app
        .graph(
            M::GET,
            "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
            &admin,
            None,
        )
        .await;
    let assignment =
        json!({"principalId": sp["id"], "resourceId": graph["id"], "appRoleId": APPLICATION_READ_ALL_ROLE});
    let path = format!(
        "servicePrincipals/{}/appRoleAssignedTo",
        graph["id"].as_str().unwrap()
    );
    let (s, e) = app
        .graph(M::POST, &path, &app_admin, Some(assignment.clone()))
        .await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = app.graph(M::POST, &path, &global, Some(assignment)).await;
    assert_eq!(s, 201, "a Global Administrator may: {e}");

    // A role taken away reaches nothing more, with the same token.
    let (_, held) = app
        .graph(M::GET, "roleManagement/directory/roleAssignments", &admin, None)
        .await;
    let ava = held["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["roleDefinitionId"] == APPLICATION_ADMINISTRATOR)
        .unwrap();
    let path = format!(
        "roleManagement/directory/roleAssignments/{}",
        ava["id"].as_str().unwrap()
    );
    assert_eq!(app.graph(M::DELETE, &path, &admin, None).await.0, 204);
    assert_eq!(
        app.graph(M::POST, "applications", &app_admin, Some(new_app))
            .await
            .0,
        403
    );
}
