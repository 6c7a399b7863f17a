//! Keys that change under a validator, a store that goes away and comes back, and operator TLS files.

use std::time::Duration;

use gatehouse_server::settings::TlsMode;
use gatehouse_validate::{RemoteKeys, ValidationError, Validator};
use serde_json::Value;

use crate::helpers::{temp_dir, within, Journey, TestApp};

#[tokio::test]
async fn remote_keys_refetch_on_an_unknown_kid_only_after_the_cool_down() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let authority = format!("{}/{}/v2.0", app.base, app.tenant());
    let eager = RemoteKeys::discover(&authority, None)
        .await
        .unwrap()
        .cool_down(Duration::ZERO);
    let lazy = RemoteKeys::discover(&authority, None).await.unwrap();
    let issuer = eager.issuer().to_string();
    let eager = Validator::new(issuer.clone(), vec![j.api_app_id.clone()], eager);
    let lazy = Validator::new(issuer, vec![j.api_app_id.clone()], lazy);
    let now = time::OffsetDateTime::now_utc();
    let first = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    eager.validate(&first, now).await.unwrap();
    lazy.validate(&first, now).await.unwrap();

    // A new key signs from now on.
    let state = &app.server.as_ref().unwrap().state;
    let kek = gatehouse_server::settings::load_kek(&app.data_dir).unwrap();
    gatehouse_core::keys::add_signing_key(state.store.as_ref(), &kek, now)
        .await
        .unwrap();
    state.refresh().await;
    let second = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    eager
        .validate(&second, now)
        .await
        .expect("refetched on the unknown kid");
    assert_eq!(
        lazy.validate(&second, now).await.unwrap_err(),
        ValidationError::UnknownKey,
        "no refetch inside the cool-down"
    );
    lazy.validate(&first, now)
        .await
        .expect("the previous key is still published and cached");
    app.stop().await;
}
#[tokio::test]
async fn a_store_outage_fails_closed_and_recovers_by_itself() {
    let app = TestApp::spawn_postgres().await;
    let j = Journey::create(&app, Some(2)).await;
    let form = j.form();
    let admin = app.admin_token().await;
    app.postgres().unwrap().set_reachable(false).await;

    within(Duration::from_secs(10), "tokens fail closed", || async {
        app.token_form(&app.tenant(), &form).await.status() == 503
    })
    .await;
    let r = app.token_form(&app.tenant(), &form).await;
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Readiness reads the last proof of the store, made every second: it follows within seconds.
    within(Duration::from_secs(5), "readiness turns 503", || async {
        app.status("/health/ready").await == 503
    })
    .await;
    assert_eq!(app.status("/health/live").await, 200);
    let disco = app
        .http
        .get(app.url(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            app.tenant()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(disco.status(), 200, "public material is served from memory");
    let (s, _) = app
        .graph(reqwest::Method::GET, "applications", &admin, None)
        .await;
    assert_eq!(s, 503);

    app.postgres().unwrap().set_reachable(true).await;
    within(Duration::from_secs(15), "tokens are issued again", || async {
        app.token_form(&app.tenant(), &form).await.status() == 200
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn operator_certificate_files_are_served() {
    let elsewhere = temp_dir();
    let made = gatehouse_server::tls::local_ca_certificate(&elsewhere, None, time::OffsetDateTime::now_utc())
        .unwrap();
    let dir = made.ca_path.parent().unwrap().to_path_buf();
    let tls = TlsMode::Files {
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    let app = TestApp::spawn_with(None, tls).await;
    assert!(
        !app.data_dir.join("tls").exists(),
        "no local CA is made when files are given"
    );
    app.admin_token().await;
    app.stop().await;
    let _ = std::fs::remove_dir_all(elsewhere);
}

#[tokio::test]
async fn a_node_with_another_key_encryption_key_refuses_to_start() {
    let app = TestApp::spawn_postgres().await;
    let url = app.postgres().unwrap().url.clone();
    let other = crate::helpers::settings(temp_dir(), Some(url), TlsMode::Insecure);
    match gatehouse_server::run::start(other).await {
        Ok(_) => {
            panic!("a node that cannot read the signing keys started (it would sign with a key of its own)")
        }
        Err(e) => assert!(e.contains("key-encryption key"), "{e}"),
    }
    let (_, jwks) = app.get_json("/common/discovery/v2.0/keys").await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        1,
        "no second key was added"
    );
    app.stop().await;
}

/// Issue #8: a first start that fails on the operator's input (a taken port, TLS files that do not
/// exist, a federation CA that does not exist) leaves no store behind, so the next start bootstraps
/// and shows the one-time management secret.
#[tokio::test]
async fn a_failed_first_start_leaves_no_tenant_behind_and_the_next_start_bootstraps() {
    use gatehouse_server::run::start;

    let dir = temp_dir();
    let db = dir.join("gatehouse.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut on_taken_port = crate::helpers::settings(dir.clone(), None, TlsMode::Insecure);
    on_taken_port.listen = taken.local_addr().unwrap();
    let missing_tls = TlsMode::Files {
        cert: dir.join("no-such-cert.pem"),
        key: dir.join("no-such-key.pem"),
    };
    let mut missing_ca = crate::helpers::settings(dir.clone(), None, TlsMode::Insecure);
    missing_ca.federation_ca = Some(dir.join("no-such-ca.pem"));
    for (what, settings) in [
        ("a taken port", on_taken_port),
        (
            "missing TLS files",
            crate::helpers::settings(dir.clone(), None, missing_tls),
        ),
        ("a missing federation CA", missing_ca),
    ] {
        let failed = start(settings).await;
        assert!(failed.is_err(), "{what} must stop the start");
        if what == "a taken port" {
            let said = failed.err().unwrap_or_default();
            assert!(said.contains("another process listens on"), "{said}");
        }
        assert!(!db.exists(), "{what}: no store was made");
    }
    let server = start(crate::helpers::settings(dir.clone(), None, TlsMode::Insecure))
        .await
        .unwrap();
    assert!(
        server.bootstrap.is_some(),
        "the next start bootstraps and shows the secret"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
