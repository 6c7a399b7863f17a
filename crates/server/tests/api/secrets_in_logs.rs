//! No secret or token ever appears in a log line: the whole journey runs with TRACE logging into a
//! buffer, which is then searched for every secret and token the test saw.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::helpers::{Journey, TestApp};

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
    let app = TestApp::spawn().await;
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
