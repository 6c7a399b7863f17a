//! Graph's query options over HTTP (issue #8): `$filter` as the az CLI and SDKs send it, `$select`,
//! `$top` paging through absolute `@odata.nextLink`s, `$count` and `/$count`, `$orderby`, and a
//! Graph-shaped 400 for what is not served.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{Journey, TestApp};
use gatehouse_proto::graph::{AppRoleAssignment, Application, Resource, ServicePrincipal};

/// GETs an absolute URL with the token and optional `ConsistencyLevel: eventual`.
async fn get(app: &TestApp, url: &str, token: &str, eventual: bool) -> (u16, String) {
    let mut req = app.http.get(url).bearer_auth(token);
    if eventual {
        req = req.header("ConsistencyLevel", "eventual");
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn get_json(app: &TestApp, path: &str, token: &str, eventual: bool) -> (u16, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        app.url(&format!("/v1.0/{path}"))
    };
    let (s, text) = get(app, &url, token, eventual).await;
    (s, serde_json::from_str(&text).unwrap_or(json!(text)))
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('@'))
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(props: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = props.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

#[tokio::test]
async fn collections_page_select_filter_and_count_as_graph_does() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    for i in 0..7 {
        let (s, _) = app
            .graph(
                M::POST,
                "applications",
                &admin,
                Some(json!({"displayName": format!("Batch {i}")})),
            )
            .await;
        assert_eq!(s, 201);
    }

    // Every property a resource type declares is what it serialises, so $select and $filter know them.
    let (_, one) = get_json(
        &app,
        &format!("applications(appId='{}')", j.api_app_id),
        &admin,
        false,
    )
    .await;
    assert_eq!(keys(&one), sorted(Application::PROPERTIES));
    let (_, sp) = get_json(&app, &format!("servicePrincipals/{}", j.api_sp_id), &admin, false).await;
    assert_eq!(keys(&sp), sorted(ServicePrincipal::PROPERTIES));
    let (_, assigned) = get_json(
        &app,
        &format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id),
        &admin,
        false,
    )
    .await;
    assert_eq!(keys(&assigned["value"][0]), sorted(AppRoleAssignment::PROPERTIES));

    // $top pages through absolute nextLinks (percent-encoded option names, as kiota sends them), each
    // entity once, with $select kept on every page.
    let mut url = app.url("/v1.0/applications?%24top=3&%24select=id,displayName");
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let (s, page) = get_json(&app, &url, &admin, false).await;
        assert_eq!(s, 200, "{page}");
        pages += 1;
        assert!(page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#applications(id,displayName)"));
        for a in page["value"].as_array().unwrap() {
            assert_eq!(keys(a), ["displayName", "id"]);
            ids.push(a["id"].as_str().unwrap().to_string());
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&app.base), "absolute: {next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (ids.len(), unique.len(), pages),
        (10, 10, 4),
        "3 journey apps + 7, in pages of 3"
    );

    // Filters: startswith, the az CLI's lambda over identifierUris, and/or.
    let (_, batch) = get_json(
        &app,
        "applications?$filter=startswith(displayName,'batch')",
        &admin,
        false,
    )
    .await;
    assert_eq!(batch["value"].as_array().unwrap().len(), 7);
    let (_, by_uri) = get_json(
        &app,
        "applications?$filter=identifierUris%2Fany(s%3As%20eq%20'API%3A%2F%2Freports')",
        &admin,
        false,
    )
    .await;
    assert_eq!(by_uri["value"][0]["appId"], json!(j.api_app_id));
    let (_, sps) = get_json(
        &app,
        &format!(
            "servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '{}') or displayName eq 'nobody'",
            j.daemon_app_id
        ),
        &admin,
        false,
    )
    .await;
    assert_eq!(sps["value"].as_array().unwrap().len(), 1);
    assert_eq!(sps["value"][0]["id"], json!(j.daemon_sp_id));

    // $count: silently ignored without ConsistencyLevel, counted with it; /$count needs it.
    let (_, page) = get_json(&app, "applications?$count=true&$top=1", &admin, false).await;
    assert!(page.get("@odata.count").is_none());
    let (_, page) = get_json(&app, "applications?$count=true&$top=1", &admin, true).await;
    assert_eq!(page["@odata.count"], 10);
    let url = app.url("/v1.0/applications/$count?$filter=startswith(displayName,'Batch')");
    assert_eq!(get(&app, &url, &admin, true).await, (200, "7".to_string()));
    let (s, e) = get_json(&app, "applications/$count", &admin, false).await;
    assert_eq!((s, &e["error"]["code"]), (400, &json!("Request_BadRequest")));

    // $orderby displayName is an advanced query, as in Graph.
    let (_, page) = get_json(
        &app,
        "applications?$orderby=displayName desc&$count=true&$filter=startswith(displayName,'Batch')&$top=2",
        &admin,
        true,
    )
    .await;
    assert_eq!(page["value"][0]["displayName"], "Batch 6");
    assert_eq!(page["value"][1]["displayName"], "Batch 5");
    let (s, e) = get_json(&app, "applications?$orderby=displayName", &admin, false).await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (400, &json!("Request_UnsupportedQuery"))
    );

    // $select on one entity.
    let (_, one) = get_json(
        &app,
        &format!("applications(appId='{}')?$select=appId", j.api_app_id),
        &admin,
        false,
    )
    .await;
    assert_eq!(keys(&one), ["appId"]);
    assert!(one["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("applications(appId)/$entity"));

    // What is not served is a 400 in Graph's envelope that says so, never ignored.
    for (query, code) in [
        (
            "applications?$search=\"displayName:x\"",
            "Request_UnsupportedQuery",
        ),
        ("applications?$expand=owners", "Request_UnsupportedQuery"),
        (
            "applications?$filter=displayName ne 'x'",
            "Request_UnsupportedQuery",
        ),
        ("applications?$filter=colour eq 'red'", "Request_BadRequest"),
        ("applications?$select=colour", "Request_BadRequest"),
        ("applications?$top=1000", "Request_BadRequest"),
        ("applications?$skiptoken=forged", "Request_BadRequest"),
        (
            "servicePrincipals?$filter=startswith(displayName",
            "Request_BadRequest",
        ),
    ] {
        let (s, e) = get_json(&app, query, &admin, false).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {e}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn az_login_finds_no_subscriptions_and_its_own_tenant_with_a_token_for_the_servers_url() {
    let app = TestApp::spawn().await;
    let (s, _) = get_json(&app, &app.url("/subscriptions?api-version=2022-12-01"), "", false).await;
    assert_eq!(s, 401, "the resource manager's list needs a token");
    // az asks for `{its Graph URL}/.default`, which is this server's own URL.
    let token = app
        .token(
            &app.boot.client_id.to_string(),
            app.boot.client_secret.expose(),
            &format!("{}//.default", app.base),
        )
        .await;
    let (s, subs) = get_json(
        &app,
        &app.url("/subscriptions?api-version=2022-12-01"),
        &token,
        false,
    )
    .await;
    assert_eq!((s, subs), (200, json!({"value": []})));
    let (_, tenants) = get_json(&app, &app.url("/tenants?api-version=2022-12-01"), &token, false).await;
    assert_eq!(tenants["value"][0]["tenantId"], json!(app.tenant()));
    let (s, _) = get_json(&app, "organization", &token, false).await;
    assert_eq!(s, 200, "the same token reaches Graph");
    app.stop().await;
}

#[tokio::test]
async fn delegated_grants_are_data_checked_against_the_resources_scopes() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let (_, graph_sp) = get_json(
        &app,
        "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
        &admin,
        false,
    )
    .await;
    let graph_sp = graph_sp["id"].as_str().unwrap().to_string();
    let body = |scope: &str| {
        json!({"clientId": j.daemon_sp_id, "consentType": "AllPrincipals", "principalId": null,
               "resourceId": graph_sp, "scope": scope})
    };

    let (s, g) = app
        .graph(
            M::POST,
            "oauth2PermissionGrants",
            &admin,
            Some(body("user.read openid User.Read")),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(
        g["scope"], "User.Read openid",
        "the resource's spelling, no repeats"
    );
    assert_eq!(
        keys(&g),
        sorted(gatehouse_proto::graph::OAuth2PermissionGrant::PROPERTIES)
    );
    let id = g["id"].as_str().unwrap().to_string();

    let (s, e) = app
        .graph(M::POST, "oauth2PermissionGrants", &admin, Some(body("User.Read")))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("Request_MultipleObjectsWithSameKeyValue"))
    );
    let (s, e) = app
        .graph(M::POST, "oauth2PermissionGrants", &admin, Some(body("Mail.Send")))
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("it offers: User.Read"),
        "{e}"
    );
    let mut principal = body("User.Read");
    principal["consentType"] = json!("Principal");
    principal["principalId"] = json!(j.daemon_sp_id);
    let (s, _) = app
        .graph(M::POST, "oauth2PermissionGrants", &admin, Some(principal.clone()))
        .await;
    assert_eq!(s, 400, "a service principal is not a user");
    let (_, me) = get_json(&app, "users/admin@contoso.example", &admin, false).await;
    principal["principalId"] = me["id"].clone();
    let (s, g) = app
        .graph(M::POST, "oauth2PermissionGrants", &admin, Some(principal))
        .await;
    assert_eq!(
        (s, &g["consentType"], &g["principalId"]),
        (201, &json!("Principal"), &me["id"]),
        "{g}"
    );
    assert_eq!(g["id"].as_str().unwrap().len(), 64, "client, resource and user");
    let user_grant = format!("oauth2PermissionGrants/{}", g["id"].as_str().unwrap());
    let (s, _) = app
        .graph(
            M::DELETE,
            &format!("users/{}", me["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = get_json(&app, &user_grant, &admin, false).await;
    assert_eq!(s, 404, "a user's grants go with the user");

    // Listed with az's filter, re-scoped, and addressed in any case of the set's name, as az does.
    let (_, listed) = get_json(
        &app,
        &format!(
            "oauth2PermissionGrants?$filter=clientId eq '{}' and consentType eq 'AllPrincipals'",
            j.daemon_sp_id
        ),
        &admin,
        false,
    )
    .await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("oauth2PermissionGrants/{id}"),
            &admin,
            Some(json!({"scope": "profile"})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, one) = get_json(&app, &format!("oAuth2PermissionGrants/{id}"), &admin, false).await;
    assert_eq!(one["scope"], "profile");

    // Only callers allowed to grant may write; the grant goes with the client's service principal.
    let daemon_token = app
        .token(
            &j.daemon_app_id,
            &j.secret,
            "https://graph.microsoft.com/.default",
        )
        .await;
    let (s, _) = app
        .graph(
            M::POST,
            "oauth2PermissionGrants",
            &daemon_token,
            Some(body("User.Read")),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .graph(
            M::DELETE,
            &format!("servicePrincipals/{}", j.daemon_sp_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, left) = get_json(&app, "oauth2PermissionGrants", &admin, false).await;
    assert_eq!(left["value"], json!([]));
    let (s, _) = app
        .graph(M::DELETE, &format!("oauth2PermissionGrants/{id}"), &admin, None)
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}
