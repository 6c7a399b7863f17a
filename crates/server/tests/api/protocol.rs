//! Discovery, JWKS and the token endpoint, as real clients see them (entra-protocol.md §1–§3).

use serde_json::Value;

use crate::helpers::{claims, TestApp};

#[tokio::test]
async fn discovery_answers_for_guid_domain_in_any_case_and_aliases() {
    let app = TestApp::spawn().await;
    let tid = app.tenant();
    for seg in [tid.as_str(), "contoso.example", "CONTOSO.Example"] {
        let (s, d) = app
            .get_json(&format!("/{seg}/v2.0/.well-known/openid-configuration"))
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            d["issuer"],
            format!("{}/{tid}/v2.0", app.base),
            "GUID issuer for {seg}"
        );
        assert_eq!(
            d["token_endpoint"],
            format!("{}/{tid}/oauth2/v2.0/token", app.base)
        );
        for k in [
            "authorization_endpoint",
            "end_session_endpoint",
            "jwks_uri",
            "device_authorization_endpoint",
        ] {
            assert!(
                d[k].as_str()
                    .unwrap()
                    .starts_with(&format!("{}/{tid}/", app.base)),
                "{k}"
            );
        }
    }
    let (_, common) = app
        .get_json("/common/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(common["issuer"], format!("{}/{{tenantid}}/v2.0", app.base));
    assert_eq!(
        common["token_endpoint"],
        format!("{}/common/oauth2/v2.0/token", app.base)
    );
    let (_, v1) = app
        .get_json(&format!("/{tid}/.well-known/openid-configuration"))
        .await;
    assert_eq!(v1["issuer"], format!("{}/{tid}/", app.base));
    let (s, e) = app
        .get_json("/organizations/.well-known/openid-configuration")
        .await;
    assert_eq!((s, e["error_codes"][0].as_u64()), (400, Some(90002)));
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_tenants_get_entras_errors() {
    let app = TestApp::spawn().await;
    let (s, e) = app
        .get_json("/fabrikam.example/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_codes"][0].as_u64()),
        (400, Some("invalid_tenant"), Some(90002))
    );
    let (s, e) = app
        .get_json("/not_a_tenant/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!((s, e["error_codes"][0].as_u64()), (400, Some(900023)));
    let r = app
        .token_form("fabrikam.example", &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(r.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn jwks_keys_have_kid_equal_x5t_and_no_private_members() {
    let app = TestApp::spawn().await;
    let (s, jwks) = app
        .get_json(&format!("/{}/discovery/v2.0/keys", app.tenant()))
        .await;
    assert_eq!(s, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(k["kid"], k["x5t"]);
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert!(k.get("alg").is_none(), "Entra publishes no alg");
        assert_eq!(k["x5c"].as_array().unwrap().len(), 1);
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "{private}");
        }
        let der = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            k["x5c"][0].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(k["x5t"].as_str().unwrap(), gatehouse_jose::x5t(&der));
    }
    let (_, common) = app.get_json("/common/discovery/v2.0/keys").await;
    assert_eq!(
        common["keys"][0]["issuer"],
        format!("{}/{{tenantid}}/v2.0", app.base)
    );
    app.stop().await;
}

#[tokio::test]
async fn client_credentials_by_post_and_basic_and_on_v1() {
    let app = TestApp::spawn().await;
    let id = app.boot.client_id.to_string();
    let secret = app.boot.client_secret.expose().to_string();
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_info", "1"),
            ],
        )
        .await;
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (
            body["token_type"].as_str(),
            body["expires_in"].as_u64(),
            body["ext_expires_in"].as_u64()
        ),
        (Some("Bearer"), Some(3599), Some(3599))
    );
    for absent in ["refresh_token", "id_token", "scope", "client_info"] {
        assert!(body.get(absent).is_none(), "{absent}");
    }

    let r = app
        .http
        .post(app.url("/contoso.example/oauth2/v2.0/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "00000003-0000-0000-c000-000000000000/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = app
        .http
        .post(app.url(&format!("/{}/oauth2/token", app.tenant())))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("resource", "https://graph.microsoft.com"),
        ])
        .send()
        .await
        .unwrap();
    let v1: Value = r.json().await.unwrap();
    assert_eq!(v1["expires_in"], "3599");
    assert_eq!(v1["resource"], "https://graph.microsoft.com");
    let on: i64 = v1["expires_on"].as_str().unwrap().parse().unwrap();
    let nb: i64 = v1["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(on - nb, 3900);
    let c = claims(v1["access_token"].as_str().unwrap());
    assert_eq!(c["ver"], "1.0");
    app.stop().await;
}

/// (tenant segment, form, expected status, `error`, AADSTS code)
type FailureCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str, u64);

/// Every protocol failure answers Entra's JSON with its code and status, never a 5xx.
#[tokio::test]
async fn token_endpoint_failures_have_their_codes() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let id = app.boot.client_id.to_string();
    let s = app.boot.client_secret.expose().to_string();
    let graph = "https://graph.microsoft.com/.default";
    let cc = "client_credentials";
    let cases: Vec<FailureCase> = vec![
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", "wrong"),
                ("scope", graph),
            ],
            401,
            "invalid_client",
            7000215,
        ),
        (
            t.as_str(),
            vec![("grant_type", cc), ("client_id", &id), ("scope", graph)],
            401,
            "invalid_client",
            7000218,
        ),
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", "3b0e4a3a-0000-4000-8000-000000000000"),
                ("client_secret", &s),
                ("scope", graph),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", "not-a-guid"),
                ("client_secret", &s),
                ("scope", graph),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            t.as_str(),
            vec![("grant_type", cc), ("client_id", &id), ("client_secret", &s)],
            400,
            "invalid_request",
            90014,
        ),
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", &s),
                ("scope", "User.Read"),
            ],
            400,
            "invalid_scope",
            1002012,
        ),
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", &s),
                ("scope", "api://a/.default api://b/.default"),
            ],
            400,
            "invalid_scope",
            70011,
        ),
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", &s),
                ("scope", "api://nothing/.default"),
            ],
            400,
            "invalid_resource",
            500011,
        ),
        (
            t.as_str(),
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", &s),
                ("resource", "https://graph.microsoft.com"),
            ],
            400,
            "invalid_request",
            901002,
        ),
        (
            "common",
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", &s),
                ("scope", graph),
            ],
            400,
            "invalid_request",
            50059,
        ),
        (
            "organizations",
            vec![
                ("grant_type", cc),
                ("client_id", &id),
                ("client_secret", &s),
                ("scope", graph),
            ],
            400,
            "invalid_request",
            50059,
        ),
        (
            t.as_str(),
            vec![("grant_type", "urn:example:magic"), ("client_id", &id)],
            400,
            "unsupported_grant_type",
            70003,
        ),
        (
            t.as_str(),
            vec![("client_id", &id)],
            400,
            "invalid_request",
            900144,
        ),
        (
            t.as_str(),
            vec![("grant_type", cc), ("grant_type", cc), ("client_id", &id)],
            400,
            "invalid_request",
            9002313,
        ),
    ];
    for (tenant, form, status, error, code) in cases {
        let r = app.token_form(tenant, &form).await;
        let got = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            (got, body["error"].as_str(), body["error_codes"][0].as_u64()),
            (status, Some(error), Some(code)),
            "{form:?}: {body}"
        );
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}: ")));
        for k in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
            assert!(body[k].is_string(), "{k}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn malformed_bodies_get_json_errors_not_5xx() {
    let app = TestApp::spawn().await;
    let url = app.url(&format!("/{}/oauth2/v2.0/token", app.tenant()));
    let json_body = app
        .http
        .post(&url)
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let huge = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&scope={}",
            "a".repeat(200_000)
        ))
        .send()
        .await
        .unwrap();
    let binary = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, 0x00, 0x3d])
        .send()
        .await
        .unwrap();
    let bad_basic = app
        .http
        .post(&url)
        .header("authorization", "Basic !!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    // A body beyond the endpoint's limit is 413 (issue #11), the rest 400; all in Entra's shape.
    for (r, status) in [(json_body, 400), (huge, 413), (binary, 400), (bad_basic, 400)] {
        assert_eq!(r.status(), status);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_get_on_the_token_endpoint_is_refused_in_entras_shape() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url(&format!("/{}/oauth2/v2.0/token", app.tenant())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_codes"][0], 900561);
    app.stop().await;
}

#[tokio::test]
async fn client_request_id_is_echoed_as_correlation_id() {
    let app = TestApp::spawn().await;
    let cid = "6f1c5bb8-5d3c-4c4b-9d29-3b5c2b1d2a10";
    let r = app
        .http
        .post(app.url(&format!("/{}/oauth2/v2.0/token", app.tenant())))
        .header("client-request-id", cid)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["correlation_id"], cid);
    app.stop().await;
}

#[tokio::test]
async fn health_endpoints_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.status("/health/live").await, 200);
    assert_eq!(app.status("/health/ready").await, 200);
    app.stop().await;
}

#[tokio::test]
async fn https_with_the_local_ca_serves_the_journey() {
    let app = TestApp::spawn_with(None, gatehouse_server::settings::TlsMode::LocalCa).await;
    assert!(app.base.starts_with("https://localhost:"));
    let token = app.admin_token().await;
    assert_eq!(claims(&token)["aud"], "https://graph.microsoft.com");
    app.stop().await;
}

/// RFC 6749 §5.2: a client that authenticated with HTTP Basic and failed is told the scheme
/// (`WWW-Authenticate: Basic`); one that sent its secret in the form is not.
#[tokio::test]
async fn a_failed_basic_authentication_names_the_scheme() {
    let app = TestApp::spawn().await;
    let url = app.url(&format!("/{}/oauth2/v2.0/token", app.tenant()));
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let basic = app
        .http
        .post(&url)
        .basic_auth(app.boot.client_id.to_string(), Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.headers()["www-authenticate"], "Basic");
    let client_id = app.boot.client_id.to_string();
    let mut in_form = form.to_vec();
    in_form.extend([("client_id", client_id.as_str()), ("client_secret", "wrong")]);
    let posted = app.http.post(&url).form(&in_form).send().await.unwrap();
    assert_eq!(posted.status(), 401);
    assert!(posted.headers().get("www-authenticate").is_none());
}

/// HSTS (RFC 6797) under HTTPS: not by default on a loopback public URL (a browser would force HTTPS
/// on every localhost port), on every response when a max-age is configured, never over plain HTTP.
#[tokio::test]
async fn strict_transport_security_is_sent_as_configured() {
    use gatehouse_server::settings::TlsMode;
    let hsts = |app: &TestApp| {
        let url = app.url("/health/live");
        let http = app.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_string())
        }
    };
    let loopback = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    assert_eq!(hsts(&loopback).await, None);
    let configured = TestApp::spawn_configured(None, TlsMode::LocalCa, |s| s.hsts_max_age = Some(600)).await;
    assert_eq!(hsts(&configured).await.as_deref(), Some("max-age=600"));
    let plain = TestApp::spawn_configured(None, TlsMode::Insecure, |s| s.hsts_max_age = Some(600)).await;
    assert_eq!(hsts(&plain).await, None);
}
