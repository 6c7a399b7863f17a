//! Rows of the security requirements about the user flows that the journeys in `signin.rs` do not
//! already walk: RFC 9207's `iss` in authorization responses, codes that expire, CSRF on the consent
//! form, a new session id at every sign-in (fixation), the pages' headers and no CORS at `/authorize`,
//! UserInfo (OIDC Core §5.3), refreshed ID tokens (§12.2), `sub` never reused (§2), and `prompt` values
//! that contradict each other.

use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::{json, Value};

use crate::browser::*;
use crate::helpers::{claims, TestApp};

fn issuer(app: &TestApp) -> String {
    format!("{}/{}/v2.0", app.base, app.tenant())
}

#[tokio::test]
async fn authorization_responses_carry_the_issuer_unless_configured_as_entra() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let params = sign_in(&mut b, &authorize_path(&app, &s, WEB, ""), true).await;
    assert_eq!(params["iss"], issuer(&app), "{params:?}");
    let error = b.get(&authorize_path(&app, &s, WEB, "&prompt=bogus")).await;
    assert_eq!(error.redirect_params()["iss"], issuer(&app));
    assert_eq!(
        app.discovery().await["authorization_response_iss_parameter_supported"],
        true
    );
    app.stop().await;

    let entra = TestApp::spawn_configured(None, TlsMode::LocalCa, |c| {
        c.policies.authorize.response_iss = false;
    })
    .await;
    let s = setup(&entra, false).await;
    let mut b = Browser::new(&entra);
    let params = sign_in(&mut b, &authorize_path(&entra, &s, WEB, ""), true).await;
    assert!(
        params.contains_key("code") && !params.contains_key("iss"),
        "{params:?}"
    );
    assert_eq!(
        entra.discovery().await["authorization_response_iss_parameter_supported"],
        false
    );
    entra.stop().await;
}

#[tokio::test]
async fn codes_expire_consent_needs_its_token_and_each_sign_in_is_a_new_session() {
    let app = TestApp::spawn_configured(None, TlsMode::LocalCa, |c| {
        c.policies.authorize.code_lifetime = time::Duration::seconds(1);
    })
    .await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let consent = through_password(
        &mut b,
        &authorize_path(&app, &s, WEB, ""),
        "alice@contoso.example",
    )
    .await;
    assert!(consent.html.contains("idBtn_Back"), "{}", consent.html);
    let first_session = b.cookies["__Host-gh-session"].clone();

    // Accepting consent without the form's CSRF token (a script auto-approving): 403, nothing granted.
    let forged = app
        .http
        .post(app.url(&consent.action()))
        .header("cookie", format!("__Host-gh-session={first_session}"))
        .form(&[("ctx", consent.field("ctx")), ("accept", "Accept".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());
    let done = b.submit(&consent, &[("accept", "Accept")]).await;
    let code = done.redirect_params()["code"].clone();

    // Past its lifetime the code is refused (AADSTS70008).
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (st, e) = redeem(&app, &s, &code, WEB, VERIFIER, None).await;
    assert_eq!(
        (st, e["error"].as_str(), crate::browser::code(&e)),
        (400, Some("invalid_grant"), 70008),
        "{e}"
    );

    // Signing in again gives a new session id; the old one no longer signs anyone in.
    let again = authorize_path(&app, &s, WEB, "&prompt=login");
    let done = through_password(&mut b, &again, "alice@contoso.example").await;
    assert!(done.redirect_params().contains_key("code"));
    assert_ne!(b.cookies["__Host-gh-session"], first_session);
    let mut stale = Browser::new(&app);
    stale
        .cookies
        .insert("__Host-gh-session".into(), first_session.clone());
    let none = stale.get(&authorize_path(&app, &s, WEB, "&prompt=none")).await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    app.stop().await;
}

#[tokio::test]
async fn pages_send_their_security_headers_and_authorize_answers_no_cors() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let pages = [
        authorize_path(&app, &s, WEB, ""),
        authorize_path(&app, &s, "https://evil.example/", ""),
        "/devicelogin".to_string(),
        format!("/{}/oauth2/v2.0/logout", app.tenant()),
    ];
    for path in &pages {
        let p = b.get(path).await;
        let h = |name: &str| p.headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(h("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(h("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(h("cache-control").as_deref(), Some("no-store"), "{path}");
        assert_eq!(h("referrer-policy").as_deref(), Some("no-referrer"), "{path}");
        let csp = h("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
    }
    let preflight = app
        .http
        .request(M::OPTIONS, app.url(&authorize_path(&app, &s, WEB, "")))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
    let get = app
        .http
        .get(app.url(&authorize_path(&app, &s, WEB, "")))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(get.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

/// `/oidc/userinfo` with `token` as a bearer header: (status, body, WWW-Authenticate).
async fn userinfo(app: &TestApp, token: &str) -> (u16, Value, String) {
    let r = app
        .http
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, r.json().await.unwrap_or(Value::Null), challenge)
}

#[tokio::test]
async fn userinfo_refreshed_id_tokens_and_subjects_follow_openid_connect() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let params = sign_in(&mut b, &authorize_path(&app, &s, WEB, ""), true).await;
    let (_, tokens) = redeem(&app, &s, &params["code"], WEB, VERIFIER, None).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    let access = tokens["access_token"].as_str().unwrap();

    // UserInfo answers the ID token's sub to a token granted openid, only through the header.
    let (st, info, _) = userinfo(&app, access).await;
    assert_eq!(
        (st, &info["sub"], &info["name"]),
        (200, &id["sub"], &json!("Alice Example"))
    );
    let query = app
        .http
        .get(app.url(&format!("/oidc/userinfo?access_token={access}")))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 401, "tokens are not taken from the URL");
    let no_openid = b
        .get(&authorize_path(&app, &s, WEB, "").replace("openid+profile+offline_access+", ""))
        .await;
    let (_, plain) = redeem(
        &app,
        &s,
        &no_openid.redirect_params()["code"],
        WEB,
        VERIFIER,
        None,
    )
    .await;
    assert!(plain.get("id_token").is_none(), "no openid, no ID token: {plain}");
    let (st, _, challenge) = userinfo(&app, plain["access_token"].as_str().unwrap()).await;
    assert_eq!(st, 403);
    assert!(challenge.contains("insufficient_scope"), "{challenge}");

    // A refreshed ID token: same iss, sub, aud and auth_time, no nonce.
    let refreshed = refresh(&app, &s, tokens["refresh_token"].as_str().unwrap()).await;
    assert!(refreshed["id_token"].is_string(), "{refreshed}");
    let again = claims(refreshed["id_token"].as_str().unwrap());
    for c in ["iss", "sub", "aud", "auth_time", "oid"] {
        assert_eq!(again[c], id[c], "{c}");
    }
    assert!(again.get("nonce").is_none(), "{again}");

    // `prompt` values that contradict each other are refused.
    let both = b.get(&authorize_path(&app, &s, WEB, "&prompt=none+login")).await;
    assert_eq!(both.redirect_params()["error"], "invalid_request");

    // A deleted user's oid and sub are never given to the next user with the same name.
    let admin = app.admin_token().await;
    let (st, _) = app
        .graph(M::DELETE, &format!("users/{}", s.user_id), &admin, None)
        .await;
    assert_eq!(st, 204);
    app.alice(&admin, PASSWORD).await;
    let mut fresh = Browser::new(&app);
    let params = sign_in(&mut fresh, &authorize_path(&app, &s, WEB, ""), true).await;
    let (_, tokens) = redeem(&app, &s, &params["code"], WEB, VERIFIER, None).await;
    let new_id = claims(tokens["id_token"].as_str().unwrap());
    assert_ne!(new_id["oid"], id["oid"]);
    assert_ne!(new_id["sub"], id["sub"]);
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_wrong_device_codes_are_throttled_with_429() {
    let app = TestApp::spawn_configured(None, TlsMode::LocalCa, |c| {
        c.policies.sign_in.lockout_threshold = 3;
    })
    .await;
    let s = setup(&app, false).await;

    // The password page: after the threshold, even the right password waits, with Retry-After.
    let mut b = Browser::new(&app);
    let start = b.get(&authorize_path(&app, &s, WEB, "")).await;
    let pw = b.submit(&start, &[("loginfmt", "alice@contoso.example")]).await;
    let mut last = None;
    for _ in 0..3 {
        let wrong = b
            .submit(
                &pw,
                &[("loginfmt", "alice@contoso.example"), ("passwd", "Wrong-Guess-9")],
            )
            .await;
        assert!(wrong.html.contains("AADSTS50126"), "{}", wrong.html);
        last = Some(wrong);
    }
    let right = b
        .submit(
            last.as_ref().unwrap(),
            &[("loginfmt", "alice@contoso.example"), ("passwd", PASSWORD)],
        )
        .await;
    assert_eq!(right.status, 429, "{}", right.html);
    assert!(right.html.contains("AADSTS50053"), "{}", right.html);
    let wait: i64 = right.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    // The device-code entry page, per client address: guessing codes is throttled the same way.
    let d: Value = app
        .http
        .post(app.url(&format!("/{}/oauth2/v2.0/devicecode", app.tenant())))
        .form(&[("client_id", s.client_id.as_str()), ("scope", "User.Read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut guesser = Browser::new(&app);
    for guess in ["BCDFGHJKL", "MNPQRSTVW", "XZBCDFGHJ"] {
        let entry = guesser.get("/devicelogin").await;
        let p = guesser.submit_fields(&entry, &[("otc", guess)]).await;
        assert_eq!(p.status, 200, "{}", p.html);
    }
    let entry = guesser.get("/devicelogin").await;
    let real = guesser
        .submit_fields(&entry, &[("otc", d["user_code"].as_str().unwrap())])
        .await;
    assert_eq!(real.status, 429, "{}", real.html);
    assert!(real.headers.contains_key("retry-after"));
    app.stop().await;
}
