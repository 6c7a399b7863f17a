//! On-behalf-of (issue #10): a middle-tier API trades the user's token it received for a token to
//! Microsoft Graph, for the same user, with the permissions consented for the middle tier; and every
//! assertion that is not a user's token for the caller is refused with Entra's codes.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, TestApp};

const PASSWORD: &str = "Correct-Horse-1";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// A public client consented to the middle API's `Middle.Call`, the middle API (with a secret)
/// consented to Graph's `User.Read`, and a user.
struct World {
    client_id: String,
    middle_id: String,
    middle_secret: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let post = |path: &'static str, body: Value| {
        let admin = admin.clone();
        async move {
            let (s, v) = app.graph(M::POST, path, &admin, Some(body)).await;
            assert!(s < 300, "{path}: {v}");
            v
        }
    };
    let middle = post(
        "applications",
        json!({"displayName": "Middle API", "identifierUris": ["api://middle"],
               "api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [{
                   "id": "6b1f5c2e-8d4a-4c1e-9a57-3f0c2b7d9e11", "value": "Middle.Call", "type": "User",
                   "isEnabled": true, "adminConsentDisplayName": "Call the middle API"}]}}),
    )
    .await;
    let middle_sp = post("servicePrincipals", json!({"appId": middle["appId"]})).await;
    let secret = app
        .graph(
            M::POST,
            &format!("applications/{}/addPassword", middle["id"].as_str().unwrap()),
            &admin,
            Some(json!({})),
        )
        .await
        .1["secretText"]
        .as_str()
        .unwrap()
        .to_string();
    let client = post(
        "applications",
        json!({"displayName": "Contoso CLI", "isFallbackPublicClient": true}),
    )
    .await;
    let client_sp = post("servicePrincipals", json!({"appId": client["appId"]})).await;
    let (_, graph) = app
        .graph(
            M::GET,
            &format!("servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'"),
            &admin,
            None,
        )
        .await;
    post(
        "oauth2PermissionGrants",
        json!({"clientId": client_sp["id"], "consentType": "AllPrincipals",
               "resourceId": middle_sp["id"], "scope": "Middle.Call"}),
    )
    .await;
    post(
        "oauth2PermissionGrants",
        json!({"clientId": middle_sp["id"], "consentType": "AllPrincipals",
               "resourceId": graph["value"][0]["id"], "scope": "User.Read"}),
    )
    .await;
    post(
        "users",
        json!({"accountEnabled": true, "displayName": "Alice Example", "mailNickname": "alice",
               "userPrincipalName": "alice@contoso.example",
               "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": false}}),
    )
    .await;
    World {
        client_id: client["appId"].as_str().unwrap().to_string(),
        middle_id: middle["appId"].as_str().unwrap().to_string(),
        middle_secret: secret,
    }
}

async fn form(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app.token_form(&app.tenant(), form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn code(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_middle_tier_api_calls_graph_on_behalf_of_the_user() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (s, signed_in) = form(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", &w.client_id),
            ("username", "alice@contoso.example"),
            ("password", PASSWORD),
            ("scope", "api://middle/Middle.Call"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{signed_in}");
    let user_token = signed_in["access_token"].as_str().unwrap();
    let incoming = claims(user_token);
    assert_eq!(incoming["aud"], w.middle_id.as_str());

    let obo = |assertion: String, scope: &'static str, secret: Option<String>| {
        let (app, w) = (&app, &w);
        async move {
            let mut f = vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
                ),
                ("client_id", w.middle_id.clone()),
                ("assertion", assertion),
                ("scope", scope.to_string()),
                ("requested_token_use", "on_behalf_of".to_string()),
            ];
            if let Some(s) = secret {
                f.push(("client_secret", s));
            }
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            form(app, &f).await
        }
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
