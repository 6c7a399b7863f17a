//! The directory's integrity under hostile and concurrent writes (issue #7): nobody takes Microsoft
//! Graph's identifier or a name on a domain the tenant has not verified, concurrent PATCHes through two
//! nodes lose nothing they acknowledged, and conflicts come back in Graph's shape, never in the
//! database's words.

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, Journey, TestApp};

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn nobody_can_claim_graphs_identifier_or_an_unverified_host() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let roles_before = claims(&admin)["roles"].clone();
    let tenant = app.tenant();
    for uri in [
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "HTTPS://GRAPH.MICROSOFT.COM",
        "https://evil.example",
        "api://graph.microsoft.com",
        "api://00000003-0000-0000-c000-000000000000",
    ] {
        let body = json!({"displayName": "impostor", "identifierUris": [uri]});
        let (s, e) = app.graph(M::POST, "applications", &admin, Some(body)).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some("HostNameNotOnVerifiedDomain")),
            "{uri}: {e}"
        );
        assert!(message(&e).contains("verified domain"), "{e}");
    }

    // A PATCH cannot add it either, and leaves the application as it was.
    let (s, victim) = app
        .graph(
            M::POST,
            "applications",
            &admin,
            Some(json!({"displayName": "victim"})),
        )
        .await;
    assert_eq!(s, 201);
    let path = format!("applications/{}", victim["id"].as_str().unwrap());
    let patch = json!({"identifierUris": ["https://graph.microsoft.com"], "notes": "changed"});
    let (s, e) = app.graph(M::PATCH, &path, &admin, Some(patch)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("HostNameNotOnVerifiedDomain"))
    );
    let (_, read) = app.graph(M::GET, &path, &admin, None).await;
    assert_eq!(
        (read["identifierUris"].clone(), read["notes"].clone()),
        (json!([]), Value::Null)
    );

    // The forms Entra allows: appId- and tenant-based, a verified domain and its subdomains, and a
    // plain api:// name in a single-tenant application.
    let app_id = victim["appId"].as_str().unwrap();
    let allowed = json!({"identifierUris": [
        format!("api://{app_id}"), format!("api://{tenant}/reports"), "https://contoso.example/reports",
        "https://api.contoso.example", "api://plain-name"]});
    let (s, e) = app.graph(M::PATCH, &path, &admin, Some(allowed)).await;
    assert_eq!(s, 204, "{e}");
    // Made multi-tenant, the plain name is no longer unique enough.
    let multi = json!({"signInAudience": "AzureADMultipleOrgs"});
    let (s, e) = app.graph(M::PATCH, &path, &admin, Some(multi)).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("HostNameNotOnVerifiedDomain"))
    );

    // Graph tokens still come from Graph, with every role the management application holds.
    let admin = app.admin_token().await;
    assert_eq!(claims(&admin)["roles"], roles_before);
    assert_eq!(claims(&admin)["aud"], "https://graph.microsoft.com");
    assert_eq!(app.graph(M::GET, "applications", &admin, None).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn an_identifier_uri_is_held_by_one_application_in_any_case_or_trailing_slash() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    for taken in ["api://reports", "API://Reports/"] {
        let body = json!({"displayName": "copy", "identifierUris": [taken]});
        let (s, e) = app.graph(M::POST, "applications", &admin, Some(body)).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (400, Some("Request_BadRequest")),
            "{taken}"
        );
        assert!(
            message(&e).contains("property identifierUris already exists"),
            "{e}"
        );
    }
    // The daemon's token for the API still names the API.
    let token = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    assert_eq!(claims(&token)["aud"], j.api_app_id);
    app.stop().await;
}

async fn duplicate_service_principal_is_a_graph_conflict(app: TestApp) {
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let (s, e) = app
        .graph(
            M::POST,
            "servicePrincipals",
            &admin,
            Some(json!({"appId": j.api_app_id})),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("Request_MultipleObjectsWithSameKeyValue")),
        "{e}"
    );
    assert_eq!(
        message(&e),
        format!(
            "The service principal cannot be created, updated, or restored because the service principal \
             name {} is already in use.",
            j.api_app_id
        )
    );
    // Nothing of the database's own wording reaches the client.
    let text = e.to_string().to_lowercase();
    for word in ["unique", "constraint", "duplicate key", "sqlite", "violates"] {
        assert!(!text.contains(word), "{word} in {text}");
    }
    app.stop().await;
}

#[tokio::test]
async fn duplicate_service_principal_is_a_graph_conflict_on_sqlite() {
    duplicate_service_principal_is_a_graph_conflict(TestApp::spawn().await).await;
}

#[tokio::test]
async fn duplicate_service_principal_is_a_graph_conflict_on_postgres() {
    duplicate_service_principal_is_a_graph_conflict(TestApp::spawn_postgres().await).await;
}

/// Rounds of four concurrent PATCHes of one application, each changing a different property, sent
/// alternately through two nodes: every one answers 204 and every change survives.
async fn concurrent_patches_through_two_nodes_lose_nothing(app: TestApp) {
    let (node_b, b) = app.second_node().await;
    let admin = app.admin_token().await;
    for round in 0..6 {
        let (s, created) = app
            .graph(
                M::POST,
                "applications",
                &admin,
                Some(json!({"displayName": format!("r{round}")})),
            )
            .await;
        assert_eq!(s, 201);
        let path = format!("applications/{}", created["id"].as_str().unwrap());
        let redirect = format!("https://contoso.example/cb/{round}");
        let answers = tokio::join!(
            app.graph(
                M::PATCH,
                &path,
                &admin,
                Some(json!({"notes": format!("notes {round}")}))
            ),
            b.graph(
                M::PATCH,
                &path,
                &admin,
                Some(json!({"tags": [format!("tag{round}")]}))
            ),
            app.graph(
                M::PATCH,
                &path,
                &admin,
                Some(json!({"description": format!("description {round}")}))
            ),
            b.graph(
                M::PATCH,
                &path,
                &admin,
                Some(json!({"web": {"redirectUris": [&redirect]}}))
            ),
        );
        for (status, body) in [answers.0, answers.1, answers.2, answers.3] {
            assert_eq!(status, 204, "round {round}: {body}");
        }
        let (_, read) = b.graph(M::GET, &path, &admin, None).await;
        assert_eq!(read["notes"], format!("notes {round}"), "round {round}");
        assert_eq!(read["tags"], json!([format!("tag{round}")]), "round {round}");
        assert_eq!(
            read["description"],
            format!("description {round}"),
            "round {round}"
        );
        assert_eq!(read["web"]["redirectUris"], json!([redirect]), "round {round}");
    }
    node_b.shutdown().await;
    app.stop().await;
}

#[tokio::test]
async fn concurrent_patches_through_two_nodes_lose_nothing_on_sqlite() {
    concurrent_patches_through_two_nodes_lose_nothing(TestApp::spawn().await).await;
}

#[tokio::test]
async fn concurrent_patches_through_two_nodes_lose_nothing_on_postgres() {
    concurrent_patches_through_two_nodes_lose_nothing(TestApp::spawn_postgres().await).await;
}

/// Federated credentials too: concurrent PATCHes of different properties through two nodes all land,
/// and two credentials racing for one issuer and subject leave exactly one.
#[tokio::test]
async fn concurrent_federated_credential_writes_keep_every_change_and_one_subject() {
    let app = TestApp::spawn_postgres().await;
    let (node_b, b) = app.second_node().await;
    let admin = app.admin_token().await;
    let (_, created) = app
        .graph(
            M::POST,
            "applications",
            &admin,
            Some(json!({"displayName": "fed"})),
        )
        .await;
    let set = format!(
        "applications/{}/federatedIdentityCredentials",
        created["id"].as_str().unwrap()
    );
    let body = json!({"name": "runner", "issuer": "https://issuer.example", "subject": "s0"});
    assert_eq!(app.graph(M::POST, &set, &admin, Some(body)).await.0, 201);
    let path = format!("{set}/runner");
    for round in 0..10 {
        // Each change sent three times, through both nodes, so that reads and writes overlap.
        let changes = [
            json!({"description": format!("d{round}")}),
            json!({"subject": format!("s{round}")}),
            json!({"audiences": [format!("api://aud{round}")]}),
        ];
        let sends = (0..9).map(|i| {
            let node = if i % 2 == 0 { &app } else { &b };
            node.graph(M::PATCH, &path, &admin, Some(changes[i % 3].clone()))
        });
        for (status, body) in futures_util::future::join_all(sends).await {
            assert_eq!(status, 204, "round {round}: {body}");
        }
        let (_, read) = b.graph(M::GET, &path, &admin, None).await;
        assert_eq!(
            (&read["description"], &read["subject"], &read["audiences"]),
            (
                &json!(format!("d{round}")),
                &json!(format!("s{round}")),
                &json!([format!("api://aud{round}")])
            ),
            "round {round}"
        );
    }
    let racing = |name: &str| json!({"name": name, "issuer": "https://issuer.example", "subject": "shared"});
    let (first, second) = tokio::join!(
        app.graph(M::POST, &set, &admin, Some(racing("one"))),
        b.graph(M::POST, &set, &admin, Some(racing("two"))),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{first:?} {second:?}");
    node_b.shutdown().await;
    app.stop().await;
}
