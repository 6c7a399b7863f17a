//! No secret or token ever appears in a log line (a managed identity's header secret included): the
//! whole journey runs with TRACE logging into a buffer, which is then searched for every secret and
//! token the test saw.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::helpers::Journey;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> Buffer {
    static BUF: OnceLock<Buffer> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buffer::default();
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    })
    .clone()
}

#[tokio::test]
async fn no_secret_or_token_is_logged() {
    let logs = capture();
    // With the managed-identity listener on, so that its header secret is searched for too.
    let (app, identity_at) = crate::managed_identities::with_listener(false).await;
    let bootstrap_secret = app.boot.client_secret.expose().to_string();
    let j = Journey::create(&app, Some(2)).await;
    let admin = app.admin_token().await;
    let token = app
        .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
        .await;
    // Failures log too: a wrong secret, a token for the wrong audience at Graph.
    let _ = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &j.daemon_app_id),
                ("client_secret", "canary-wrong-secret-value"),
                ("scope", "api://reports/.default"),
            ],
        )
        .await;
    let _ = app
        .graph(reqwest::Method::GET, "applications", &token, None)
        .await;
    // A client assertion, accepted and then refused as a replay.
    let cert = crate::certificates::ClientCert::new();
    assert_eq!(
        crate::certificates::register(&app, &j, &[cert.der()]).await.0,
        204
    );
    let aud = format!("{}/{}/oauth2/v2.0/token", app.base, app.tenant());
    let assertion = cert.msal_rs256(&j.daemon_app_id, &aud);
    for expected in [200, 401] {
        let (s, _) = app
            .assertion_grant(&app.tenant(), &j.daemon_app_id, &assertion)
            .await;
        assert_eq!(s, expected);
    }
    // A managed identity's token, with its header secret, and a refused wrong header.
    crate::managed_identities::created(&app, "worker").await;
    let header = crate::managed_identities::env(&app, "worker").await["IDENTITY_HEADER"]
        .as_str()
        .unwrap()
        .to_string();
    let query = crate::managed_identities::vault_query();
    let (s, v) = crate::managed_identities::app_service(identity_at, Some(&header), &query).await;
    assert_eq!(s, 200, "{v}");
    let identity_token = v["access_token"].as_str().unwrap().to_string();
    let wrong = "canary-wrong-identity-header";
    let (s, _) = crate::managed_identities::app_service(identity_at, Some(wrong), &query).await;
    assert_eq!(s, 401);
    app.stop().await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(text.contains("protocol request refused"), "logging was captured");
    for (what, secret) in [
        ("bootstrap secret", bootstrap_secret),
        ("daemon secret", j.secret.clone()),
        ("wrong secret", "canary-wrong-secret-value".to_string()),
        ("admin token", admin.clone()),
        (
            "admin token signature",
            admin.rsplit('.').next().unwrap().to_string(),
        ),
        ("daemon token", token.clone()),
        ("identity header", header.clone()),
        ("wrong identity header", wrong.to_string()),
        ("identity token", identity_token.clone()),
        ("client assertion", assertion.clone()),
        (
            "client assertion signature",
            assertion.rsplit('.').next().unwrap().to_string(),
        ),
        (
            "daemon token signature",
            token.rsplit('.').next().unwrap().to_string(),
        ),
    ] {
        assert!(!text.contains(&secret), "{what} appears in the logs");
    }
}
