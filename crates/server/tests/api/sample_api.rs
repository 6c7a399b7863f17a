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
    let issuers = gatehouse_example_api::issuers(keys.issuer(), vec![]);
    let router = gatehouse_example_api::router(
        Arc::new(keys),
        issuers,
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

/// The sample API made multi-tenant: at `organizations` it takes tokens of any tenant whose `iss`
/// matches the `{tenantid}` template, or, with `--tenant`, only of the tenants listed.
#[tokio::test]
async fn the_multi_tenant_sample_api_takes_the_tenants_it_lists() {
    let a = TestApp::spawn().await;
    let j = Journey::create(&a, Some(2)).await;
    let admin = a.admin_token().await;
    let multi = json!({"signInAudience": "AzureADMultipleOrgs", "identifierUris": []});
    for app_id in [&j.api_app_id, &j.daemon_app_id] {
        let path = format!("applications(appId='{app_id}')");
        let (s, body) = a.graph(M::PATCH, &path, &admin, Some(multi.clone())).await;
        assert_eq!(s, 204, "{body}");
    }
    // Fabrikam adds both apps and grants the daemon the API's role there.
    let b = a.another_tenant("fabrikam.example").await;
    let admin_b = b.admin_token().await;
    let api_b = b
        .create(&admin_b, "servicePrincipals", json!({"appId": j.api_app_id}))
        .await;
    let daemon_b = b
        .create(&admin_b, "servicePrincipals", json!({"appId": j.daemon_app_id}))
        .await;
    b.create(
        &admin_b,
        &format!(
            "servicePrincipals/{}/appRoleAssignedTo",
            api_b["id"].as_str().unwrap()
        ),
        json!({"principalId": daemon_b["id"], "resourceId": api_b["id"], "appRoleId": j.read_role}),
    )
    .await;
    let scope = format!("{}/.default", j.api_app_id);
    let token_in = |tenant: String| {
        let (a, j, scope) = (&a, &j, scope.clone());
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", j.daemon_app_id.as_str()),
                ("client_secret", j.secret.as_str()),
                ("scope", scope.as_str()),
            ];
            let v: serde_json::Value = a.token_form(&tenant, &form).await.json().await.unwrap();
            v["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("{v}"))
                .to_string()
        }
    };
    let (from_a, from_b) = (token_in(a.tenant()).await, token_in(b.tenant()).await);

    let serve = |tenants: Vec<String>| {
        let base = a.base.clone();
        let audience = j.api_app_id.clone();
        async move {
            let keys = gatehouse_validate::RemoteKeys::discover(&format!("{base}/organizations/v2.0"), None)
                .await
                .unwrap();
            assert_eq!(keys.issuer(), format!("{base}/{{tenantid}}/v2.0"));
            let issuers = gatehouse_example_api::issuers(keys.issuer(), tenants);
            let router = gatehouse_example_api::router(Arc::new(keys), issuers, vec![audience]);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/reports", listener.local_addr().unwrap());
            let server = tokio::spawn(async move { axum::serve(listener, router).await });
            (url, server)
        }
    };
    let status = |url: String, token: String| {
        let http = a.http.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let (any, server_any) = serve(vec![]).await;
    assert_eq!(status(any.clone(), from_a.clone()).await, 200);
    assert_eq!(status(any, from_b.clone()).await, 200);
    let (only_a, server_only_a) = serve(vec![a.tenant()]).await;
    assert_eq!(status(only_a.clone(), from_a).await, 200);
    assert_eq!(status(only_a, from_b).await, 401, "Fabrikam is not on the list");
    server_any.abort();
    server_only_a.abort();
}

/// The middle tier in front of the sample API: a user's token for the middle tier is exchanged
/// on-behalf-of for one to the sample API, which sees the same user and the middle tier as its client.
#[tokio::test]
async fn the_middle_tier_calls_the_sample_api_on_the_users_behalf() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let post = |path: &'static str, body: serde_json::Value| app.create(&admin, path, body);
    let scope = |id: uuid::Uuid| {
        json!({"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [{"id": id,
               "value": gatehouse_example_api::SCOPE, "type": "User", "isEnabled": true,
               "adminConsentDisplayName": "Use as the user"}]})
    };
    let (s, v) = app
        .graph(
            M::PATCH,
            &format!("applications(appId='{}')", j.api_app_id),
            &admin,
            Some(json!({"api": scope(uuid::Uuid::new_v4())})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    // The middle tier: an API of its own, with a secret, consented to the sample API's scope.
    let middle = post(
        "applications",
        json!({"displayName": "Reports Portal", "identifierUris": ["api://portal"], "api": scope(uuid::Uuid::new_v4())}),
    )
    .await;
    let middle_sp = post("servicePrincipals", json!({"appId": middle["appId"]})).await;
    let secret = app
        .create(
            &admin,
            &format!("applications/{}/addPassword", middle["id"].as_str().unwrap()),
            json!({}),
        )
        .await["secretText"]
        .as_str()
        .unwrap()
        .to_string();
    let grant = post(
        "oauth2PermissionGrants",
        json!({"clientId": middle_sp["id"], "consentType": "AllPrincipals", "resourceId": j.api_sp_id,
               "scope": gatehouse_example_api::SCOPE}),
    )
    .await;
    // A public client that users sign in with, consented to the middle tier's scope.
    let cli = post(
        "applications",
        json!({"displayName": "Portal CLI", "isFallbackPublicClient": true}),
    )
    .await;
    let cli_sp = post("servicePrincipals", json!({"appId": cli["appId"]})).await;
    post(
        "oauth2PermissionGrants",
        json!({"clientId": cli_sp["id"], "consentType": "AllPrincipals", "resourceId": middle_sp["id"],
               "scope": gatehouse_example_api::SCOPE}),
    )
    .await;
    let alice = app.alice(&admin, PASSWORD).await;

    let authority = format!("{}/{}/v2.0", app.base, app.tenant());
    let serve = |router: axum::Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        (
            base,
            tokio::spawn(async move { axum::serve(listener, router).await }),
        )
    };
    let keys = Arc::new(
        gatehouse_validate::RemoteKeys::discover(&authority, None)
            .await
            .unwrap(),
    );
    let issuers = gatehouse_example_api::issuers(keys.issuer(), vec![]);
    let (api_base, api_server) = serve(gatehouse_example_api::router(
        keys.clone(),
        issuers.clone(),
        vec![j.api_app_id.clone()],
    ))
    .await;
    let downstream = gatehouse_example_api::middle_tier::Downstream {
        token_endpoint: format!("{}/{}/oauth2/v2.0/token", app.base, app.tenant()),
        client_id: middle["appId"].as_str().unwrap().to_string(),
        client_secret: secret,
        scope: "api://reports/access_as_user".into(),
        url: format!("{api_base}/me/reports"),
        http: reqwest::Client::new(),
    };
    let middle_app_id = middle["appId"].as_str().unwrap().to_string();
    let (middle_base, middle_server) = serve(gatehouse_example_api::middle_tier::router(
        keys,
        issuers,
        vec![middle_app_id.clone()],
        downstream,
    ))
    .await;

    let r = app
        .alice_signs_in(
            cli["appId"].as_str().unwrap(),
            PASSWORD,
            "api://portal/access_as_user",
        )
        .await;
    let token = r["access_token"].as_str().unwrap_or_else(|| panic!("{r}"));
    let url = format!("{middle_base}/me/summary");
    let answer = app.http.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let v: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(v["user"], alice["id"]);
    assert_eq!(v["downstream"]["status"], 200, "{v}");
    assert_eq!(v["downstream"]["body"]["user"], alice["id"]);
    assert_eq!(
        v["downstream"]["body"]["client"],
        middle_app_id.as_str(),
        "the sample API's caller"
    );
    let none = app.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    // Without the middle tier's consent to the sample API, the exchange is refused (65001) and the
    // middle tier says so.
    let path = format!("oauth2PermissionGrants/{}", grant["id"].as_str().unwrap());
    assert_eq!(app.graph(M::DELETE, &path, &admin, None).await.0, 204);
    let refused = app.http.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(refused.status(), 502);
    let v: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant", "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS65001"),
        "{v}"
    );
    api_server.abort();
    middle_server.abort();
}
