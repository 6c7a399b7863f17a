//! Certificate credentials through Graph and client assertions at the token endpoint: every header and
//! claim form the real clients send, every refusal with its AADSTS code, and single use of a `jti`
//! across a restart and across nodes.

use gatehouse_jose::jws::{sign, JwsHeader};
use gatehouse_jose::{b64std, b64url, x5t_s256, SignatureAlgorithm, SigningKey};
use gatehouse_server::run::start;
use gatehouse_server::settings::TlsMode;
use gatehouse_store::testing::PgDatabase;
use reqwest::Method as M;
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{claims, settings, temp_dir, Journey, TestApp};

/// A client certificate and its key, as a daemon would hold them.
pub struct ClientCert {
    pub key: SigningKey,
}

impl ClientCert {
    pub fn new() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            key: SigningKey::generate("daemon", now - time::Duration::HOUR, 1).unwrap(),
        }
    }

    pub fn der(&self) -> &[u8] {
        self.key.certificate_der()
    }

    pub fn sha1_hex(&self) -> String {
        gatehouse_jose::ClientCertificate::parse(self.der())
            .unwrap()
            .thumbprint_hex()
    }

    /// An assertion with `header` (its alg set by `alg`) and `claims`.
    pub fn assertion(&self, alg: SignatureAlgorithm, header: JwsHeader, claims: &Value) -> String {
        sign(&self.key, alg, header, claims).unwrap()
    }

    /// MSAL Python's shape: RS256, padded x5t, float exp/iat, no nbf.
    pub fn msal_rs256(&self, client_id: &str, aud: &str) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp() as f64 + 0.5;
        let header = JwsHeader {
            typ: Some("JWT".into()),
            x5t: Some(format!("{}=", self.key.kid())),
            ..Default::default()
        };
        let c = json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": Uuid::new_v4().to_string(),
                       "exp": now + 600.0, "iat": now});
        self.assertion(SignatureAlgorithm::Rs256, header, &c)
    }
}

/// Registers `cert` on the journey's daemon application (replacing its certificates).
pub async fn register(app: &TestApp, j: &Journey, certs: &[&[u8]]) -> (u16, Value) {
    let keys: Vec<Value> = certs
        .iter()
        .map(|der| json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": b64std(der)}))
        .collect();
    app.graph(
        M::PATCH,
        &format!("applications/{}", j.daemon_app_object_id),
        &app.admin_token().await,
        Some(json!({"keyCredentials": keys})),
    )
    .await
}

/// A server with the journey's daemon holding one registered certificate.
async fn with_certificate() -> (TestApp, Journey, ClientCert) {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let cert = ClientCert::new();
    assert_eq!(register(&app, &j, &[cert.der()]).await.0, 204);
    (app, j, cert)
}

async fn with_assertion(app: &TestApp, tenant: &str, client_id: &str, assertion: &str) -> (u16, Value) {
    app.assertion_grant(tenant, client_id, assertion).await
}

fn code(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn certificates_are_added_shown_without_key_and_refused_when_invalid() {
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let cert = ClientCert::new();
    let (s, body) = register(&app, &j, &[cert.der()]).await;
    assert_eq!(s, 204, "{body}");
    let admin = app.admin_token().await;
    let path = format!("applications/{}", j.daemon_app_object_id);
    let (_, shown) = app.graph(M::GET, &path, &admin, None).await;
    let k = &shown["keyCredentials"][0];
    assert_eq!(k["type"], "AsymmetricX509Cert");
    assert_eq!(k["usage"], "Verify");
    assert_eq!(k["displayName"], "CN=daemon");
    assert!(k["key"].is_null(), "{k}");
    let thumb = gatehouse_jose::b64url_decode(cert.key.kid()).unwrap();
    assert_eq!(k["customKeyIdentifier"], b64std(&thumb));

    // A certificate that is not valid yet, an unreadable one, and a PEM one.
    let later = SigningKey::generate("later", OffsetDateTime::now_utc() + time::Duration::DAY, 1).unwrap();
    let (s, e) = register(&app, &j, &[later.certificate_der()]).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("not yet valid"));
    let (s, _) = register(&app, &j, &[b"garbage"]).await;
    assert_eq!(s, 400);
    let pem = gatehouse_jose::pem_encode("CERTIFICATE", cert.der());
    assert_eq!(register(&app, &j, &[pem.as_bytes()]).await.0, 204);
    // Keeping the existing credential by keyId alone.
    let keep = json!({"keyCredentials": [{"keyId": k["keyId"]}]});
    let (s, _) = app.graph(M::PATCH, &path, &admin, Some(keep)).await;
    assert_eq!(
        s, 400,
        "the PEM upload replaced the credential, so its old keyId is gone"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_client_assertion_form_the_real_clients_send_is_accepted() {
    let (app, j, cert) = with_certificate().await;
    let tid = app.tenant();
    let id = j.daemon_app_id.as_str();
    let v2 = |seg: &str| format!("{}/{seg}/oauth2/v2.0/token", app.base);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let base_claims = |aud: String| {
        json!({"aud": aud, "iss": id, "sub": id, "jti": Uuid::new_v4().to_string(),
               "exp": now + 600, "nbf": now, "iat": now})
    };

    // MSAL Python: RS256, padded x5t, floats, no nbf; audience under the domain in another case.
    let a = cert.msal_rs256(id, &v2("CONTOSO.example"));
    let (s, body) = with_assertion(&app, "contoso.example", id, &a).await;
    assert_eq!(s, 200, "{body}");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["azpacr"], "2");
    assert_eq!(c["roles"], json!(["Reports.Read"]));

    // msal-node / azure-identity aio: PS256 with x5t#S256 (and no iat); x5c with line breaks.
    let header = JwsHeader {
        typ: Some("JWT".into()),
        x5t_s256: Some(x5t_s256(cert.der())),
        x5c: Some(vec![format!("{}\n", b64std(cert.der()))]),
        ..Default::default()
    };
    let mut c = base_claims(v2(&tid));
    c.as_object_mut().unwrap().remove("iat");
    let a = cert.assertion(SignatureAlgorithm::Ps256, header, &c);
    let (s, body) = with_assertion(&app, &tid, id, &a).await;
    assert_eq!(s, 200, "{body}");

    // openid-client: only a kid (here the hex thumbprint), aud = the issuer.
    let header = JwsHeader {
        kid: Some(cert.sha1_hex()),
        ..Default::default()
    };
    let a = cert.assertion(
        SignatureAlgorithm::Rs256,
        header,
        &base_claims(format!("{}/{tid}/v2.0", app.base)),
    );
    assert_eq!(with_assertion(&app, &tid, id, &a).await.0, 200);

    // Only x5c (MSAL's SNI without a thumbprint): the registered certificate it names is used.
    let header = JwsHeader {
        x5c: Some(vec![b64std(cert.der())]),
        ..Default::default()
    };
    let a = cert.assertion(SignatureAlgorithm::Rs256, header, &base_claims(v2(&tid)));
    assert_eq!(with_assertion(&app, &tid, id, &a).await.0, 200);

    // The v1 token endpoint as the audience.
    let a = cert.msal_rs256(id, &format!("{}/{tid}/oauth2/token", app.base));
    assert_eq!(with_assertion(&app, &tid, id, &a).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn each_refused_assertion_has_its_own_code() {
    let (app, j, cert) = with_certificate().await;
    let tid = app.tenant();
    let id = j.daemon_app_id.as_str();
    let aud = format!("{}/{tid}/oauth2/v2.0/token", app.base);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let x5t = || JwsHeader {
        x5t: Some(cert.key.kid().to_string()),
        ..Default::default()
    };
    let claims_with = |patch: Value| {
        let mut c = json!({"aud": aud, "iss": id, "sub": id, "jti": Uuid::new_v4().to_string(),
                           "exp": now + 600, "nbf": now, "iat": now});
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let signed = |patch: Value| cert.assertion(SignatureAlgorithm::Rs256, x5t(), &claims_with(patch));
    let refused = |a: String| {
        let app = &app;
        let tid = tid.clone();
        async move {
            let (s, body) = with_assertion(app, &tid, id, &a).await;
            assert_eq!(s, 401, "{body}");
            assert_eq!(body["error"], "invalid_client", "{body}");
            code(&body)
        }
    };

    let other_tenant = format!("{}/{}/oauth2/v2.0/token", app.base, Uuid::new_v4());
    assert_eq!(refused(signed(json!({"aud": other_tenant}))).await, 700023);
    assert_eq!(
        refused(signed(json!({"aud": [aud.clone(), "https://evil"]}))).await,
        700023
    );
    assert_eq!(refused(signed(json!({"exp": now - 300}))).await, 700024);
    assert_eq!(refused(signed(json!({"nbf": now + 120}))).await, 700024);
    assert_eq!(refused(signed(json!({"exp": now + 86400 * 365}))).await, 700024);
    assert_eq!(refused(signed(json!({"exp": null}))).await, 700024);
    assert_eq!(
        refused(signed(json!({"sub": Uuid::new_v4().to_string()}))).await,
        700021
    );
    assert_eq!(refused(signed(json!({"jti": null}))).await, 50027);
    // A key the application never registered, even if the token carries its certificate.
    let stranger = ClientCert::new();
    let header = JwsHeader {
        x5t: Some(stranger.key.kid().to_string()),
        x5c: Some(vec![b64std(stranger.der())]),
        ..Default::default()
    };
    let a = stranger.assertion(SignatureAlgorithm::Rs256, header, &claims_with(json!({})));
    assert_eq!(refused(a).await, 700027);
    // Our thumbprint, someone else's signature.
    let a = stranger.assertion(SignatureAlgorithm::Rs256, x5t(), &claims_with(json!({})));
    assert_eq!(refused(a).await, 700027);
    // No thumbprint at all; an HMAC "signature"; garbage.
    let a = cert.assertion(
        SignatureAlgorithm::Rs256,
        JwsHeader::default(),
        &claims_with(json!({})),
    );
    assert_eq!(refused(a).await, 50027);
    let parts: Vec<String> = signed(json!({})).split('.').map(String::from).collect();
    let hs = format!(
        "{}.{}.{}",
        b64url(format!(r#"{{"alg":"HS256","x5t":"{}"}}"#, cert.key.kid()).as_bytes()),
        parts[1],
        parts[2]
    );
    assert_eq!(refused(hs).await, 50027);
    assert_eq!(refused("not.a.jwt".into()).await, 50027);

    // A wrong assertion type is a malformed request, not a client failure.
    let r = app
        .token_form(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_assertion_type", "urn:other"),
                ("client_assertion", &signed(json!({}))),
                ("scope", "api://reports/.default"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);

    // Once the certificate is removed, its assertions stop working.
    assert_eq!(register(&app, &j, &[]).await.0, 204);
    assert_eq!(refused(signed(json!({}))).await, 700027);
    app.stop().await;
}

#[tokio::test]
async fn a_jti_is_single_use_across_a_restart() {
    let dir = temp_dir();
    let mut s = settings(dir.clone(), None, TlsMode::Insecure);
    s.public_url = Some("https://gatehouse.test".into());
    let server = start(s.clone()).await.unwrap();
    let app = TestApp::attach(
        format!("http://{}", server.addr),
        server.bootstrap.clone().unwrap(),
        dir.clone(),
    );
    let j = Journey::create(&app, Some(2)).await;
    let cert = ClientCert::new();
    assert_eq!(register(&app, &j, &[cert.der()]).await.0, 204);
    let tid = app.tenant();
    let a = cert.msal_rs256(
        &j.daemon_app_id,
        &format!("https://gatehouse.test/{tid}/oauth2/v2.0/token"),
    );
    assert_eq!(with_assertion(&app, &tid, &j.daemon_app_id, &a).await.0, 200);
    let (s2, body) = with_assertion(&app, &tid, &j.daemon_app_id, &a).await;
    assert_eq!((s2, code(&body)), (401, 50013), "{body}");
    server.shutdown().await;

    let server = start(s).await.unwrap();
    let again = TestApp::attach(format!("http://{}", server.addr), app.boot.clone(), dir.clone());
    let (s2, body) = with_assertion(&again, &tid, &j.daemon_app_id, &a).await;
    assert_eq!((s2, code(&body)), (401, 50013), "{body}");
    let fresh = cert.msal_rs256(
        &j.daemon_app_id,
        &format!("https://gatehouse.test/{tid}/oauth2/v2.0/token"),
    );
    assert_eq!(
        with_assertion(&again, &tid, &j.daemon_app_id, &fresh).await.0,
        200
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_jti_used_on_one_node_is_refused_on_another() {
    let db = PgDatabase::create().await;
    let node = |dir| {
        let mut s = settings(dir, Some(db.url.clone()), TlsMode::Insecure);
        s.public_url = Some("https://gatehouse.test".into());
        s
    };
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    let a = start(node(dir_a.clone())).await.unwrap();
    let kek = std::fs::read(dir_a.join("kek")).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    std::fs::write(dir_b.join("kek"), kek).unwrap();
    let b = start(node(dir_b.clone())).await.unwrap();
    let boot = a.bootstrap.clone().unwrap();
    let app_a = TestApp::attach(format!("http://{}", a.addr), boot.clone(), dir_a.clone());
    let app_b = TestApp::attach(format!("http://{}", b.addr), boot, dir_b.clone());
    let j = Journey::create(&app_a, Some(2)).await;
    let cert = ClientCert::new();
    assert_eq!(register(&app_a, &j, &[cert.der()]).await.0, 204);
    let tid = app_a.tenant();
    let aud = format!("https://gatehouse.test/{tid}/oauth2/v2.0/token");
    // Node B has seen the certificate once a fresh assertion passes there.
    let mut seen = false;
    for _ in 0..40 {
        let fresh = cert.msal_rs256(&j.daemon_app_id, &aud);
        if with_assertion(&app_b, &tid, &j.daemon_app_id, &fresh).await.0 == 200 {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "node B never saw the certificate");
    let assertion = cert.msal_rs256(
        &j.daemon_app_id,
        &format!("https://gatehouse.test/{tid}/oauth2/v2.0/token"),
    );
    assert_eq!(
        with_assertion(&app_a, &tid, &j.daemon_app_id, &assertion).await.0,
        200
    );
    let (s, body) = with_assertion(&app_b, &tid, &j.daemon_app_id, &assertion).await;
    assert_eq!((s, code(&body)), (401, 50013), "{body}");
    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(dir_a);
    let _ = std::fs::remove_dir_all(dir_b);
}

/// Microsoft's Rust SDK (`azure_identity`'s ClientCertificateCredential) sends `x5t` in standard base64
/// with padding, and with AZURE_CLIENT_SEND_CERTIFICATE_CHAIN an `x5c` entry that is base64 of the
/// certificate's PEM text. Its wire shape, reproduced here for a certificate whose thumbprint encodes
/// with `+` or `/` (so base64url would differ), is accepted; the crate itself needs OpenSSL to build.
#[tokio::test]
async fn standard_base64_thumbprints_and_pem_x5c_entries_are_read() {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let app = TestApp::spawn().await;
    let j = Journey::create(&app, Some(2)).await;
    let (cert, std_x5t) = loop {
        let c = ClientCert::new();
        let sha1 = URL_SAFE_NO_PAD.decode(c.key.kid()).unwrap();
        let std = STANDARD.encode(&sha1);
        if std.contains(['+', '/']) {
            break (c, std);
        }
    };
    assert_eq!(register(&app, &j, &[cert.der()]).await.0, 204);
    let tid = app.tenant();
    let id = j.daemon_app_id.as_str();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims_now = || {
        json!({"aud": format!("{}/{tid}/oauth2/v2.0/token", app.base), "iss": id, "sub": id,
               "jti": Uuid::new_v4().to_string(), "exp": now + 600, "nbf": now, "iat": now})
    };
    let pem = gatehouse_jose::pem_encode("CERTIFICATE", cert.der());
    for header in [
        JwsHeader {
            x5t: Some(std_x5t.clone()),
            ..Default::default()
        },
        JwsHeader {
            x5t: Some(std_x5t.trim_end_matches('=').to_string()),
            x5c: Some(vec![STANDARD.encode(pem.as_bytes())]),
            ..Default::default()
        },
        JwsHeader {
            x5t_s256: Some(STANDARD.encode(URL_SAFE_NO_PAD.decode(x5t_s256(cert.der())).unwrap())),
            ..Default::default()
        },
    ] {
        let a = cert.assertion(SignatureAlgorithm::Rs256, header.clone(), &claims_now());
        let (s, body) = with_assertion(&app, &tid, id, &a).await;
        assert_eq!(s, 200, "{header:?}: {body}");
    }
    app.stop().await;
}
