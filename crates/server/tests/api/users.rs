//! Users through Graph and the CLI (issue #9, first part): Entra's password rule, principal names in a
//! verified domain and unique in any case, Argon2id hashes that never leave the store, and the
//! permissions that guard them.

use gatehouse_core::passwords::verify_blocking;
use gatehouse_proto::graph::{Resource, User};
use gatehouse_proto::token::Secret;
use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{gatehouse, temp_dir, Journey, TestApp};

fn code(e: &Value) -> Option<&str> {
    e["error"]["code"].as_str()
}

fn message(e: &Value) -> &str {
    e["error"]["message"].as_str().unwrap_or("")
}

#[tokio::test]
async fn users_are_created_with_entras_rules_and_their_passwords_hashed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let alice = |upn: &str, password: &str| {
        json!({"accountEnabled": true, "displayName": "Alice Example", "mailNickname": "alice",
               "userPrincipalName": upn,
               "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false}})
    };
    let (s, created) = app
        .graph(
            M::POST,
            "users",
            &admin,
            Some(alice("alice@contoso.example", "Correct-Horse-1")),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('@'))
        .map(String::as_str)
        .collect();
    keys.sort();
    let mut expected = User::PROPERTIES.to_vec();
    expected.sort();
    assert_eq!(keys, expected, "no passwordProfile comes back");
    let id = created["id"].as_str().unwrap().to_string();

    // The password is an Argon2id hash in the store, and checks against the password only.
    let store = gatehouse_store::open(&format!("sqlite:{}", app.data_dir.join("gatehouse.db").display()))
        .await
        .unwrap();
    let tenant = gatehouse_proto::TenantId::parse(&app.tenant()).unwrap();
    let rec = store
        .find_user_by_upn(tenant, "ALICE@contoso.example")
        .await
        .unwrap()
        .unwrap();
    let hash = rec.password.clone().unwrap();
    assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(verify_blocking(Some(&hash), &Secret::new("Correct-Horse-1")));
    assert!(!verify_blocking(Some(&hash), &Secret::new("correct-horse-1")));
    assert!(!rec.force_change_password);

    // Refusals, each in Graph's words.
    for (body, says) in [
        (
            alice("bob@contoso.example", "password"),
            "complexity requirements",
        ),
        (
            alice("bob@fabrikam.example", "Correct-Horse-1"),
            "domain portion of the userPrincipalName",
        ),
        (
            alice("Alice@CONTOSO.example", "Correct-Horse-1"),
            "userPrincipalName already exists",
        ),
        (alice("not an address", "Correct-Horse-1"), "userPrincipalName"),
        (
            json!({"displayName": "x", "userPrincipalName": "x@contoso.example",
                "passwordProfile": {"password": "Correct-Horse-1"}}),
            "mailNickname",
        ),
        (
            json!({"displayName": "x", "mailNickname": "x", "userPrincipalName": "x@contoso.example"}),
            "passwordProfile",
        ),
        (
            json!({"displayName": "x", "favouriteColour": "red"}),
            "Invalid request body",
        ),
    ] {
        let (s, e) = app.graph(M::POST, "users", &admin, Some(body.clone())).await;
        assert_eq!((s, code(&e)), (400, Some("Request_BadRequest")), "{body}: {e}");
        assert!(message(&e).contains(says), "{body}: {e}");
    }

    // Read by id or principal name (any case), listed with filters, updated, and a weak new password
    // changes nothing.
    let (s, by_upn) = app
        .graph(M::GET, "users/ALICE@contoso.example", &admin, None)
        .await;
    assert_eq!((s, &by_upn["id"]), (200, &json!(id)));
    let (_, listed) = app
        .graph(
            M::GET,
            "users?$filter=startswith(displayName,'alice')&$select=userPrincipalName",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        listed["value"],
        json!([{"userPrincipalName": "alice@contoso.example"}])
    );
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("users/{id}"),
            &admin,
            Some(json!({"jobTitle": "Engineer", "accountEnabled": false})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, e) = app
        .graph(
            M::PATCH,
            &format!("users/{id}"),
            &admin,
            Some(json!({"passwordProfile": {"password": "weak"}})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let after = store.get_user(tenant, rec.user.id).await.unwrap().unwrap();
    assert_eq!(after.password, Some(hash), "a refused password changes nothing");
    assert_eq!(
        (after.user.job_title.as_deref(), after.user.account_enabled),
        (Some("Engineer"), false)
    );

    // Only callers with User.ReadWrite.All (or Directory.ReadWrite.All) write users.
    let j = Journey::create(&app, Some(2)).await;
    let daemon = app
        .token(
            &j.daemon_app_id,
            &j.secret,
            "https://graph.microsoft.com/.default",
        )
        .await;
    let (s, _) = app.graph(M::GET, "users", &daemon, None).await;
    assert_eq!(s, 403);

    let (s, _) = app.graph(M::DELETE, &format!("users/{id}"), &admin, None).await;
    assert_eq!(s, 204);
    let (s, e) = app.graph(M::GET, &format!("users/{id}"), &admin, None).await;
    assert_eq!((s, code(&e)), (404, Some("Request_ResourceNotFound")));
    store.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_cli_manages_users_as_az_ad_user_does() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    crate::cli::login(&config, &app).await;
    let run = |args: Vec<&'static str>| {
        let config = config.clone();
        async move {
            let (ok, out, err) = gatehouse(&config, &args).await;
            (ok, out, err)
        }
    };
    let (ok, created, err) = run(vec![
        "user",
        "create",
        "--display-name",
        "Bob",
        "--user-principal-name",
        "bob@contoso.example",
        "--password",
        "Correct-Horse-2",
        "--force-change-password-next-sign-in",
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(created["mailNickname"], "bob");
    let (_, shown, _) = run(vec!["user", "show", "--id", "bob@contoso.example"]).await;
    assert_eq!(shown["id"], created["id"]);
    let (ok, _, err) = run(vec![
        "user",
        "update",
        "--id",
        "bob@contoso.example",
        "--display-name",
        "Robert",
        "--account-enabled",
        "false",
    ])
    .await;
    assert!(ok, "{err}");
    let (_, listed, _) = run(vec!["user", "list", "--display-name", "rob"]).await;
    assert_eq!(listed[0]["accountEnabled"], false);
    let (ok, _, err) = run(vec![
        "user",
        "create",
        "--display-name",
        "Eve",
        "--user-principal-name",
        "eve@contoso.example",
        "--password",
        "short",
    ])
    .await;
    assert!(!ok && err.contains("complexity requirements"), "{err}");
    let (ok, _, _) = run(vec!["user", "delete", "--id", "bob@contoso.example"]).await;
    assert!(ok);
    let (_, listed, _) = run(vec!["user", "list"]).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["admin@contoso.example"],
        "only the tenant's administrator is left"
    );
    app.stop().await;
}
