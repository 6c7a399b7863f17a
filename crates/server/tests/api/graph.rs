//! The daemon-app journey through the Graph API, and the API's own authentication (401 vs 403).

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, Journey, TestApp};

#[tokio::test]
async fn daemon_journey_gives_a_v2_token_with_the_assigned_role_only() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let token = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    let c = claims(&token);
    assert_eq!(c["ver"], "2.0");
    assert_eq!(c["aud"], j.api_app_id, "v2 aud is the resource appId");
    assert_eq!(c["iss"], format!("{}/{}/v2.0", app.base, app.tenant()));
    assert_eq!(c["azp"], j.daemon_app_id);
    assert_eq!(c["azpacr"], "1");
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["oid"], j.daemon_sp_id);
    assert_eq!(c["sub"], j.daemon_sp_id);
    assert_eq!(c["roles"], json!(["Reports.Read"]));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3900);

    // The resource-server library accepts it through the published discovery and JWKS.
    let keys = gatehouse_validate::RemoteKeys::discover(&format!("{}/{}/v2.0", app.base, app.tenant()), None)
        .await
        .unwrap();
    let v = gatehouse_validate::Validator::new(keys.issuer().to_string(), vec![j.api_app_id.clone()], keys)
        .require(gatehouse_validate::Requirement::AnyRole(vec![
            "Reports.Read".into()
        ]));
    v.validate(&token, time::OffsetDateTime::now_utc()).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn v1_resources_get_v1_tokens_and_no_assignment_means_no_roles_claim() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, None).await;
    let c = claims(
        &app.token(&j.daemon_app_id, &j.secret, "api://reports/.default")
            .await,
    );
    assert_eq!(
        (c["ver"].as_str(), c["aud"].as_str()),
        (Some("1.0"), Some("api://reports"))
    );
    assert_eq!(c["appid"], j.daemon_app_id);
    assert_eq!(c["idp"], format!("{}/{}/", app.base, app.tenant()));

    let admin = app.admin_token().await;
    let (s, list) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let aid = list["value"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list["value"][0]["principalDisplayName"], "Nightly job");
    let (s, _) = app
        .graph(
            M::DELETE,
            &format!("servicePrincipals/{}/appRoleAssignedTo/{aid}", j.api_sp_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let c = claims(
        &app.token(&j.daemon_app_id, &j.secret, &format!("{}/.default", j.api_app_id))
            .await,
    );
    assert!(c.get("roles").is_none(), "{c}");
    app.stop().await;
}

#[tokio::test]
async fn graph_refuses_missing_foreign_and_unprivileged_tokens() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let r = app.http.get(app.url("/v1.0/applications")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

    let api_token = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    let (s, e) = app.graph(M::GET, "applications", &api_token, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken")),
        "token for another audience"
    );

    let graph_token = app
        .token(
            &j.daemon_app_id,
            &j.secret,
            "https://graph.microsoft.com/.default",
        )
        .await;
    let (s, e) = app.graph(M::GET, "applications", &graph_token, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("Authorization_RequestDenied"))
    );

    // Flip one bit of the signature itself (the last base64url character carries padding bits only
    // in part, so editing text there may leave the signature unchanged).
    let admin = app.admin_token().await;
    let (signed, sig) = admin.rsplit_once('.').unwrap();
    let mut sig = gatehouse_jose::b64url_decode(sig).unwrap();
    sig[0] ^= 0x01;
    let tampered = format!("{signed}.{}", gatehouse_jose::b64url(&sig));
    let (s, _) = app.graph(M::GET, "applications", &tampered, None).await;
    assert_eq!(s, 401);
    app.stop().await;
}

#[tokio::test]
async fn removed_and_expired_secrets_stop_working() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let (s, app_doc) = app
        .graph(
            M::GET,
            &format!("applications(appId='{}')", j.daemon_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let creds = &app_doc["passwordCredentials"];
    assert_eq!(creds[0]["hint"], &j.secret[..3]);
    assert!(creds[0]["secretText"].is_null(), "the value is never shown again");

    let (s, _) = app
        .graph(
            M::POST,
            &format!("applications/{}/removePassword", j.daemon_app_object_id),
            &admin,
            Some(json!({"keyId": j.secret_key_id})),
        )
        .await;
    assert_eq!(s, 204);
    let r = app.token_form(&app.tenant(), &j.form()).await;
    assert_eq!(r.status(), 401);

    let past = json!({"passwordCredential": {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2021-01-01T00:00:00Z"}});
    let (s, pw) = app
        .graph(
            M::POST,
            &format!("applications(appId='{}')/addPassword", j.daemon_app_id),
            &admin,
            Some(past),
        )
        .await;
    assert_eq!(s, 200, "{pw}");
    let old = pw["secretText"].as_str().unwrap();
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &j.daemon_app_id),
                ("client_secret", old),
                ("scope", "api://reports/.default"),
            ],
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_codes"][0], 7000222);
    app.stop().await;
}

#[tokio::test]
async fn applications_crud_validation_and_cascade() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let (s, list) = app.graph(M::GET, "applications", &admin, None).await;
    assert_eq!((s, list["value"].as_array().unwrap().len()), (200, 3));
    let (s, one) = app
        .graph(
            M::GET,
            &format!("applications?$filter=appId eq '{}'", j.api_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!((s, one["value"].as_array().unwrap().len()), (200, 1));
    let (s, sps) = app
        .graph(
            M::GET,
            &format!("servicePrincipals?$filter=appId eq '{}'", j.daemon_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (s, sps["value"][0]["id"].as_str()),
        (200, Some(j.daemon_sp_id.as_str()))
    );

    for bad in [
        json!({}),
        json!({"displayName": "x", "colour": "red"}),
        json!({"displayName": "x", "signInAudience": "Everyone"}),
        json!({"displayName": "x", "passwordCredentials": []}),
    ] {
        let (s, e) = app
            .graph(M::POST, "applications", &admin, Some(bad.clone()))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some("Request_BadRequest")),
            "{bad}"
        );
    }
    let (s, e) = app
        .graph(
            M::POST,
            "applications",
            &admin,
            Some(json!({"displayName": "dup", "identifierUris": ["api://reports"]})),
        )
        .await;
    // Graph answers a taken identifier URI as a bad request on the property (issue #7).
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("Request_BadRequest"))
    );
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Another object with the same value for property identifierUris already exists"));

    // An enabled app role cannot be removed; PATCH changes take effect.
    let api = app
        .graph(
            M::GET,
            &format!("applications(appId='{}')", j.api_app_id),
            &admin,
            None,
        )
        .await
        .1;
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("applications/{}", api["id"].as_str().unwrap()),
            &admin,
            Some(json!({"appRoles": []})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("applications/{}", api["id"].as_str().unwrap()),
            &admin,
            Some(json!({"displayName": "Reports API v2"})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, sp) = app
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{}')", j.api_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(sp["appRoles"].as_array().unwrap().len(), 2);

    // Deleting the daemon removes its service principal and assignments; its token requests now fail.
    let (s, _) = app
        .graph(
            M::DELETE,
            &format!("applications/{}", j.daemon_app_object_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{}", j.daemon_sp_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (_, assigned) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id),
            &admin,
            None,
        )
        .await;
    assert!(assigned["value"].as_array().unwrap().is_empty());
    let r = app.token_form(&app.tenant(), &j.form()).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_codes"][0], 700016);
    let (s, e) = app.graph(M::GET, "groups", &admin, None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("Request_BadRequest"))
    );
    app.stop().await;
}

#[tokio::test]
async fn assignments_are_checked_against_the_resource_roles() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let path = format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id);
    let dup = json!({"principalId": j.daemon_sp_id, "resourceId": j.api_sp_id, "appRoleId": j.read_role});
    assert_eq!(app.graph(M::POST, &path, &admin, Some(dup)).await.0, 400);
    let unknown =
        json!({"principalId": j.daemon_sp_id, "resourceId": j.api_sp_id, "appRoleId": uuid::Uuid::new_v4()});
    assert_eq!(app.graph(M::POST, &path, &admin, Some(unknown)).await.0, 400);
    let mismatch =
        json!({"principalId": j.daemon_sp_id, "resourceId": j.daemon_sp_id, "appRoleId": j.read_role});
    assert_eq!(app.graph(M::POST, &path, &admin, Some(mismatch)).await.0, 400);
    let (s, held) = app
        .graph(
            M::GET,
            &format!("servicePrincipals/{}/appRoleAssignments", j.daemon_sp_id),
            &admin,
            None,
        )
        .await;
    assert_eq!((s, held["value"].as_array().unwrap().len()), (200, 1));
    let (s, org) = app.graph(M::GET, "organization", &admin, None).await;
    assert_eq!(
        (s, org["value"][0]["id"].as_str()),
        (200, Some(app.tenant().as_str()))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_journey_works_on_postgres_too() {
    let app = TestApp::spawn_postgres().await;
    let j = Journey::create(&app, Some(2)).await;
    let c = claims(
        &app.token(&j.daemon_app_id, &j.secret, "api://reports/.default")
            .await,
    );
    assert_eq!(c["roles"], json!(["Reports.Read"]));
    app.stop().await;
}

#[tokio::test]
async fn every_failure_is_answered_in_graphs_envelope_and_alternate_keys_address_entities() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let code = |v: &Value| v["error"]["code"].as_str().map(String::from);

    // Authentication comes first, on any path.
    let r = app.http.get(app.url("/v1.0/groups")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let (s, e) = app.graph(M::GET, "groups", &admin, None).await;
    assert_eq!((s, code(&e).as_deref()), (400, Some("Request_BadRequest")));
    assert_eq!(
        e["error"]["message"],
        "Resource not found for the segment 'groups'."
    );
    for path in [
        "applications/not-a-guid".to_string(),
        "applications(displayName='x')".to_string(),
        format!("servicePrincipals/{}/owners", j.api_sp_id),
        format!("servicePrincipals(appId='{}')/appRoleAssignedTo", j.api_app_id),
    ] {
        let (s, e) = app.graph(M::GET, &path, &admin, None).await;
        assert_eq!(
            (s, code(&e).as_deref()),
            (400, Some("Request_BadRequest")),
            "{path}: {e}"
        );
    }
    let (_, e) = app.graph(M::GET, "applications/not-a-guid", &admin, None).await;
    assert_eq!(e["error"]["message"], "Invalid object identifier 'not-a-guid'.");
    let (s, e) = app.graph(M::PUT, "applications", &admin, Some(json!({}))).await;
    assert_eq!((s, code(&e).as_deref()), (405, Some("Request_BadRequest")));
    let (s, e) = app
        .graph(
            M::PATCH,
            &format!("applications/{}", j.daemon_app_object_id),
            &admin,
            Some(json!({"nope": 1})),
        )
        .await;
    assert_eq!((s, code(&e).as_deref()), (400, Some("Request_BadRequest")), "{e}");

    // The client's request id comes back in the error.
    let id = uuid::Uuid::new_v4().to_string();
    let r = app
        .http
        .get(app.url("/v1.0/applications/not-a-guid"))
        .bearer_auth(&admin)
        .header("client-request-id", &id)
        .send()
        .await
        .unwrap();
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["innerError"]["client-request-id"], id.as_str());

    // (appId='…') names the same entity as its object id, for reads, actions and deletes.
    let (s, by_key) = app
        .graph(
            M::GET,
            &format!("applications(appId='{}')", j.daemon_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (s, by_key["id"].as_str()),
        (200, Some(j.daemon_app_object_id.as_str()))
    );
    assert!(by_key["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#applications/$entity"));
    let (s, sp) = app
        .graph(
            M::GET,
            &format!("servicePrincipals(appId='{}')", j.api_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!((s, sp["id"].as_str()), (200, Some(j.api_sp_id.as_str())));
    let (s, pw) = app
        .graph(
            M::POST,
            &format!("applications(appId='{}')/addPassword", j.daemon_app_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200, "an empty body is an empty passwordCredential");
    assert!(pw["secretText"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn a_service_principal_is_disabled_and_made_assignment_only_by_patch() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, None).await;
    let admin = app.admin_token().await;
    let path = format!("servicePrincipals/{}", j.daemon_sp_id);
    let (s, e) = app
        .graph(M::PATCH, &path, &admin, Some(json!({"displayName": "renamed"})))
        .await;
    assert_eq!(s, 400, "only what a tenant sets on its service principal: {e}");
    let (s, _) = app
        .graph(
            M::PATCH,
            &path,
            &admin,
            Some(json!({"accountEnabled": false, "appRoleAssignmentRequired": true})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, sp) = app.graph(M::GET, &path, &admin, None).await;
    assert_eq!(
        (
            sp["accountEnabled"].as_bool(),
            sp["appRoleAssignmentRequired"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let r = app.token_form(&app.tenant(), &j.form()).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error_codes"][0], 7000112,
        "a disabled service principal gets no token: {body}"
    );
    let (s, _) = app
        .graph(M::PATCH, &path, &admin, Some(json!({"accountEnabled": true})))
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        app.token_form(&app.tenant(), &j.form()).await.status(),
        200,
        "and enabled again"
    );
    let (_, graph) = app
        .graph(
            M::GET,
            "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
            &admin,
            None,
        )
        .await;
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("servicePrincipals/{}", graph["id"].as_str().unwrap()),
            &admin,
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(s, 403, "Microsoft's are not the tenant's to change");
}
