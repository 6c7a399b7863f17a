//! The sample API under `examples/protected-api` (issue #10, item 7), in front of the real server: a
//! daemon with the app role reaches `/reports`, a user's token with the delegated scope reaches
//! `/me/reports`, and everything else is 401 (no valid token, with `WWW-Authenticate`) or 403 (a valid
//! token without the permission).

use std::sync::Arc;

use reqwest::Method as M;
use serde_json::json;

use crate::helpers::{Journey, TestApp};

const PASSWORD: &str = "Correct-Horse-1";

#[tokio::test]
async fn the_sample_api_answers_daemons_by_role_and_users_by_scope() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let scope = json!({"api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [{
        "id": uuid::Uuid::new_v4(), "value": gatehouse_example_api::SCOPE, "type": "User", "isEnabled": true,
        "adminConsentDisplayName": "Read your reports"}]}});
    let (s, body) = app
        .graph(
            M::PATCH,
            &format!("applications(appId='{}')", j.api_app_id),
            &admin,
            Some(scope),
        )
        .await;
    assert_eq!(s, 204, "{body}");
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
    app.create(
        &admin,
        "oauth2PermissionGrants",
        json!({"clientId": cli_sp["id"], "consentType": "AllPrincipals", "resourceId": j.api_sp_id,
               "scope": gatehouse_example_api::SCOPE}),
    )
    .await;
    app.alice(&admin, PASSWORD).await;

    // The sample API, as its main() starts it: the tenant's discovery document names issuer and keys.
    let keys = gatehouse_validate::RemoteKeys::discover(&format!("{}/{}/v2.0", app.base, app.tenant()), None)
        .await
        .unwrap();
    let issuer = keys.issuer().to_string();
    let router = gatehouse_example_api::router(
        Arc::new(keys),
        issuer,
        vec![j.api_app_id.clone(), "api://reports".into()],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let call = |path: &'static str, token: Option<String>| {
        let (http, base) = (app.http.clone(), base.clone());
        async move {
            let mut req = http.get(format!("{base}{path}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (r.status().as_u16(), challenge, r.text().await.unwrap())
        }
    };

    let daemon = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    let r = app
        .alice_signs_in(
            cli["appId"].as_str().unwrap(),
            PASSWORD,
            "api://reports/access_as_user",
        )
        .await;
    let user = r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();

    let (s, _, body) = call("/reports", Some(daemon.clone())).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(&j.daemon_app_id), "{body}");
    let (s, _, body) = call("/me/reports", Some(user.clone())).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"user\""), "{body}");

    let (s, challenge, _) = call("/reports", None).await;
    assert_eq!((s, challenge.as_str()), (401, "Bearer"));
    let (s, challenge, _) = call("/reports", Some("not.a.token".into())).await;
    assert_eq!(s, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    for (path, token) in [("/reports", user), ("/me/reports", daemon)] {
        let (s, challenge, _) = call(path, Some(token)).await;
        assert_eq!(s, 403, "{path}");
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
    }
    server.abort();
    app.stop().await;
}
