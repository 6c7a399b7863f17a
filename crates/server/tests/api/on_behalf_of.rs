//! On-behalf-of (issue #10): a middle-tier API trades the user's token it received for a token to
//! Microsoft Graph, for the same user, with the permissions consented for the middle tier; and every
//! assertion that is not a user's token for the caller is refused with Entra's codes.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, TestApp};

const PASSWORD: &str = "Correct-Horse-1";
use gatehouse_proto::GRAPH_APP_ID;

/// A public client consented to the middle API's `Middle.Call`; the middle API (with a secret)
/// consented to Graph's `User.Read` and to the downstream API's `Down.Call`; the downstream API (v1
/// tokens, so the middle tier's token for it names it by identifier URI) consented to Graph's
/// `User.Read`; and a user.
struct World {
    client_id: String,
    middle_id: String,
    middle_secret: String,
    downstream_id: String,
    downstream_secret: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let post = |path: String, body: Value| {
        let admin = admin.clone();
        async move { app.create(&admin, &path, body).await }
    };
    // An API exposing one delegated permission, its service principal and a secret.
    let api = |name: &'static str, uri: &'static str, scope: &'static str, version: Value| {
        let post = &post;
        async move {
            let a = post(
                "applications".into(),
                json!({"displayName": name, "identifierUris": [uri],
                       "api": {"requestedAccessTokenVersion": version, "oauth2PermissionScopes": [{
                           "id": uuid::Uuid::new_v4(), "value": scope, "type": "User",
                           "isEnabled": true, "adminConsentDisplayName": scope}]}}),
            )
            .await;
            let sp = post("servicePrincipals".into(), json!({"appId": a["appId"]})).await;
            let pw = post(
                format!("applications/{}/addPassword", a["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
            (
                a["appId"].as_str().unwrap().to_string(),
                sp["id"].clone(),
                pw["secretText"].as_str().unwrap().to_string(),
            )
        }
    };
    let (middle_id, middle_sp, middle_secret) =
        api("Middle API", "api://middle", "Middle.Call", json!(2)).await;
    let (downstream_id, downstream_sp, downstream_secret) =
        api("Downstream API", "api://downstream", "Down.Call", Value::Null).await;
    let client = post(
        "applications".into(),
        json!({"displayName": "Contoso CLI", "isFallbackPublicClient": true}),
    )
    .await;
    let client_sp = post("servicePrincipals".into(), json!({"appId": client["appId"]})).await;
    let (_, graph) = app
        .graph(
            M::GET,
            &format!("servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'"),
            &admin,
            None,
        )
        .await;
    let graph_sp = &graph["value"][0]["id"];
    for (client, resource, scope) in [
        (&client_sp["id"], &middle_sp, "Middle.Call"),
        (&middle_sp, graph_sp, "User.Read"),
        (&middle_sp, &downstream_sp, "Down.Call"),
        (&downstream_sp, graph_sp, "User.Read"),
    ] {
        post(
            "oauth2PermissionGrants".into(),
            json!({"clientId": client, "consentType": "AllPrincipals", "resourceId": resource, "scope": scope}),
        )
        .await;
    }
    app.alice(&admin, PASSWORD).await;
    World {
        client_id: client["appId"].as_str().unwrap().to_string(),
        middle_id,
        middle_secret,
        downstream_id,
        downstream_secret,
    }
}

async fn form(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app.token_form(&app.tenant(), form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The on-behalf-of grant for `client_id`, with its secret if given.
async fn exchange(
    app: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    assertion: &str,
    scope: &str,
) -> (u16, Value) {
    let mut f = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("client_id", client_id),
        ("assertion", assertion),
        ("scope", scope),
        ("requested_token_use", "on_behalf_of"),
    ];
    if let Some(s) = secret {
        f.push(("client_secret", s));
    }
    form(app, &f).await
}

fn code(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_middle_tier_api_calls_graph_on_behalf_of_the_user() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let signed_in = app
        .alice_signs_in(&w.client_id, PASSWORD, "api://middle/Middle.Call")
        .await;
    let user_token = signed_in["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{signed_in}"));
    let incoming = claims(user_token);
    assert_eq!(incoming["aud"], w.middle_id.as_str());

    let obo = |assertion: String, scope: &'static str, secret: Option<String>| {
        let (app, w) = (&app, &w);
        async move { exchange(app, &w.middle_id, secret.as_deref(), &assertion, scope).await }
    };
    let secret = Some(w.middle_secret.clone());

    // The exchange: Graph's token for the same user, for the middle tier, no ID token, a refresh token.
    let (s, t) = obo(
        user_token.to_string(),
        "https://graph.microsoft.com/User.Read openid profile offline_access",
        secret.clone(),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let c = claims(t["access_token"].as_str().unwrap());
    assert_eq!(
        (&c["aud"], &c["oid"], &c["appid"], &c["scp"], &c["idtyp"]),
        (
            &json!("https://graph.microsoft.com"),
            &incoming["oid"],
            &json!(w.middle_id),
            &json!("User.Read openid profile"),
            &json!("user")
        )
    );
    assert!(t.get("id_token").is_none(), "{t}");
    let rt = t["refresh_token"].as_str().unwrap();
    let (s, refreshed) = form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &w.middle_id),
            ("client_secret", &w.middle_secret),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!(s, 200, "{refreshed}");

    // Nested: the middle tier calls the downstream API as the user (a v1 token, naming it by identifier
    // URI), and the downstream API calls Graph as the user with that token.
    let (s, down) = exchange(
        &app,
        &w.middle_id,
        Some(&w.middle_secret),
        user_token,
        "api://downstream/Down.Call",
    )
    .await;
    assert_eq!(s, 200, "{down}");
    let down_token = down["access_token"].as_str().unwrap();
    assert_eq!(claims(down_token)["aud"], "api://downstream");
    let (s, nested) = exchange(
        &app,
        &w.downstream_id,
        Some(&w.downstream_secret),
        down_token,
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_eq!(s, 200, "{nested}");
    let n = claims(nested["access_token"].as_str().unwrap());
    assert_eq!(
        (&n["oid"], &n["appid"]),
        (&incoming["oid"], &json!(w.downstream_id))
    );

    // The middle tier must prove itself, and holds only what was consented for it.
    let (s, e) = obo(
        user_token.to_string(),
        "https://graph.microsoft.com/User.Read",
        None,
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")), "{e}");
    let (_, e) = obo(
        user_token.to_string(),
        "https://graph.microsoft.com/User.ReadBasic.All",
        secret.clone(),
    )
    .await;
    assert_eq!(code(&e), 65001, "{e}");

    // Only a user's token for the caller, signed here: not Graph's token, not an application's token,
    // not a forged one.
    let graph_token = t["access_token"].as_str().unwrap().to_string();
    let (_, e) = obo(
        graph_token,
        "https://graph.microsoft.com/User.Read",
        secret.clone(),
    )
    .await;
    assert_eq!(
        (e["error"].as_str(), code(&e)),
        (Some("invalid_grant"), 50013),
        "{e}"
    );
    let app_token = app
        .token(&w.middle_id, &w.middle_secret, "api://middle/.default")
        .await;
    let (_, e) = obo(app_token, "https://graph.microsoft.com/User.Read", secret.clone()).await;
    assert_eq!(code(&e), 50013, "an application's token: {e}");
    let mut forged = user_token.to_string();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (_, e) = obo(forged, "https://graph.microsoft.com/User.Read", secret.clone()).await;
    assert_eq!(code(&e), 50013, "{e}");

    // A disabled user's token is no longer exchanged.
    let admin = app.admin_token().await;
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("users/{}", incoming["oid"].as_str().unwrap()),
            &admin,
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, e) = obo(
        user_token.to_string(),
        "https://graph.microsoft.com/User.Read",
        secret,
    )
    .await;
    assert_eq!((s, code(&e)), (400, 50057), "{e}");
    app.stop().await;
}
