//! The sign-in pages and the authorization code flow (issue #9), driven as a browser without JavaScript
//! drives them: forms found by Entra's field names, cookies kept, redirects read. Covers PKCE, consent
//! recorded as a grant, single-use codes that revoke on reuse, the session (SSO, prompt, sign-out), the
//! page headers, CSRF, redirect-URI matching, and single-page applications' cross-origin redemption.

use std::collections::HashMap;

use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::Value;

use crate::browser::*;
use crate::helpers::{claims, TestApp};

#[tokio::test]
async fn a_user_signs_in_through_the_pages_and_the_code_is_redeemed_once() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);

    // The first page: Entra's fields, the security headers, the CSRF cookie.
    let first = b
        .get(&authorize_path(
            &app,
            &s,
            WEB,
            "&login_hint=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        ))
        .await;
    assert_eq!(first.status, 200, "{}", first.html);
    assert!(first.html.contains("name=\"loginfmt\"") && first.html.contains("id=\"idSIButton9\""));
    assert!(!first.html.contains("<script>alert(1)"), "login_hint is escaped");
    assert!(first.html.contains("Contoso &#60;Web&#62;") || first.html.contains("Contoso &lt;Web&gt;"));
    let csp = first.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(first.headers["x-frame-options"], "DENY");
    assert_eq!(first.headers["cache-control"], "no-store");
    let csrf = first
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-gh-csrf="))
        .unwrap();
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict") && csrf.contains("Secure"),
        "{csrf}"
    );

    // A form posted without the token, or with another browser's, changes nothing.
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .submit(
            &first,
            &[("loginfmt", "alice@contoso.example"), ("passwd", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.set_cookies.iter().all(|c| !c.contains("gh-session")));

    // What a browser sends from the page (no-referrer makes its Origin "null") passes; a post that the
    // browser says came from another site does not, even with the token.
    let form = [
        ("ctx", first.field("ctx")),
        ("canary", first.field("canary")),
        ("loginfmt", "alice@contoso.example".into()),
    ];
    let cookie = format!("__Host-gh-csrf={}", b.cookies["__Host-gh-csrf"]);
    for (headers, status) in [
        (vec![("origin", "null"), ("sec-fetch-site", "same-origin")], 200),
        (vec![("sec-fetch-site", "cross-site")], 403),
        (vec![("origin", "https://evil.example")], 403),
    ] {
        let mut req = app
            .http
            .post(app.url(&first.action()))
            .form(&form)
            .header("cookie", &cookie);
        for (k, v) in &headers {
            req = req.header(*k, *v);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), status, "{headers:?}");
    }

    let pw = b.submit(&first, &[("loginfmt", "alice@contoso.example")]).await;
    let wrong = b
        .submit(
            &pw,
            &[("loginfmt", "alice@contoso.example"), ("passwd", "Wrong-Horse-1")],
        )
        .await;
    assert!(wrong.html.contains("AADSTS50126"), "{}", wrong.html);
    let consent = b
        .submit(
            &wrong,
            &[("loginfmt", "alice@contoso.example"), ("passwd", PASSWORD)],
        )
        .await;
    let session = consent
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-gh-session="))
        .unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Secure"));
    assert!(consent.html.contains("id=\"idSIButton9\"") && consent.html.contains("id=\"idBtn_Back\""));
    let done = b.submit(&consent, &[("accept", "Accept")]).await;
    assert_eq!(done.status, 302, "{}", done.html);
    assert!(done.location.as_deref().unwrap().starts_with(WEB));
    let params = done.redirect_params();
    assert_eq!(params["state"], "s t&=\u{e9}", "state comes back byte for byte");
    let info = gatehouse_jose::b64url_decode(&params["client_info"]).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&info).unwrap()["uid"],
        s.user_id.as_str()
    );

    // The consent is a Graph grant for the user.
    let (_, grants) = app
        .graph(M::GET, "oauth2PermissionGrants", &app.admin_token().await, None)
        .await;
    let mine: Vec<&Value> = grants["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["principalId"] == s.user_id.as_str())
        .collect();
    assert_eq!(
        (
            mine.len(),
            mine[0]["consentType"].as_str(),
            mine[0]["scope"].as_str()
        ),
        (1, Some("Principal"), Some("User.Read"))
    );

    // Redeemed with the verifier: the user's tokens, the nonce echoed.
    let (st, tokens) = redeem(&app, &s, &params["code"], WEB, VERIFIER, None).await;
    assert_eq!(st, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (id["nonce"].as_str(), id["aud"].as_str()),
        (Some("n-0S6_WzA2Mj"), Some(s.client_id.as_str()))
    );
    assert!(id["sid"].is_string());
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["scp"],
        "User.Read openid profile"
    );

    // Twice: refused, and the refresh token the first redemption gave is revoked.
    let (st, again) = redeem(&app, &s, &params["code"], WEB, VERIFIER, None).await;
    assert_eq!((st, code(&again)), (400, 54005), "{again}");
    let refreshed = refresh(&app, &s, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(code(&refreshed), 50173);

    // The session signs the user in again without pages; prompt=login shows them; sign-out ends it.
    let sso = b.get(&authorize_path(&app, &s, WEB, "")).await;
    assert_eq!(sso.status, 302, "{}", sso.html);
    assert!(sso.redirect_params().contains_key("code"));
    let login = b.get(&authorize_path(&app, &s, WEB, "&prompt=login")).await;
    assert!(login.html.contains("name=\"loginfmt\""));
    let out = b.get(&logout_path(&app, &s, WEB, "&state=bye")).await;
    assert_eq!(out.location.as_deref(), Some(format!("{WEB}?state=bye").as_str()));
    let none = b.get(&authorize_path(&app, &s, WEB, "&prompt=none")).await;
    assert_eq!(none.redirect_params()["error"], "login_required");
    let out = b
        .get(&format!(
            "/{}/oauth2/v2.0/logout?post_logout_redirect_uri=https://evil.example/",
            app.tenant()
        ))
        .await;
    assert_eq!(
        (out.status, out.location),
        (200, None),
        "an unregistered target is not followed"
    );
    app.stop().await;
}

#[tokio::test]
async fn requests_that_cannot_be_trusted_get_an_error_page_and_the_rest_an_error_redirect() {
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let tid = app.tenant();

    // Unknown client; redirect URIs that differ at all: an error page, never a redirect.
    let p = b
        .get(&format!(
            "/{tid}/oauth2/v2.0/authorize?client_id={}&response_type=code&scope=openid",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!((p.status, p.location.is_none()), (400, true));
    assert!(p.html.contains("AADSTS700016"), "{}", p.html);
    for bad in [
        format!("{WEB}/x"),
        format!("{WEB}?a=1"),
        WEB.to_uppercase(),
        format!("{WEB}/"),
        "https://app.example".to_string(),
    ] {
        let p = b.get(&authorize_path(&app, &s, &bad, "")).await;
        assert_eq!((p.status, p.location.as_deref()), (400, None), "{bad}");
        assert!(p.html.contains("AADSTS50011"), "{bad}: {}", p.html);
    }
    // A native app's loopback URI matches on any port.
    let p = b
        .get(&authorize_path(&app, &s, "http://localhost:51004", ""))
        .await;
    assert_eq!(p.status, 200, "{}", p.html);

    // After the redirect URI is verified, errors go back to it, with the state (in the fragment, where
    // the token asked for would have gone).
    let p = b
        .get(&authorize_path(&app, &s, WEB, "&response_type=token").replace("response_type=code&", ""))
        .await;
    let e = p.fragment_params();
    assert_eq!(
        (e["error"].as_str(), e["state"].as_str()),
        ("unsupported_response_type", "s t&=\u{e9}")
    );
    let no_pkce = authorize_path(&app, &s, SPA, "").replace(
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
        "",
    );
    let e = b.get(&no_pkce).await.redirect_params();
    assert_eq!(e["error"], "invalid_request");
    assert!(e["error_description"].starts_with("AADSTS9002325"), "{e:?}");
    let e = b
        .get(
            &authorize_path(&app, &s, WEB, "&code_challenge_method=S512")
                .replace("&code_challenge_method=S256", ""),
        )
        .await
        .redirect_params();
    assert_eq!(e["error"], "invalid_request");
    let e = b
        .get(&authorize_path(&app, &s, WEB, "").replace("User.Read", "Mail.Send"))
        .await;
    assert_eq!(e.status, 200, "{:?} {}", e.location, e.html);
    let e = sign_in_expecting_redirect(&mut b, e).await;
    assert_eq!(e["error"], "invalid_scope", "{e:?}");

    // Declining consent says access_denied (the browser is signed in now: straight to consent).
    let consent = b.get(&authorize_path(&app, &s, WEB, "")).await;
    assert!(consent.html.contains("idBtn_Back"), "{}", consent.html);
    let declined = b.submit(&consent, &[("cancel", "Cancel")]).await;
    assert_eq!(declined.redirect_params()["error"], "access_denied");
    app.stop().await;
}

/// Signs in from `start` and returns the redirect's parameters.
async fn sign_in_expecting_redirect(b: &mut Browser<'_>, start: Page) -> HashMap<String, String> {
    let pw = b.submit(&start, &[("loginfmt", "alice@contoso.example")]).await;
    let done = b
        .submit(
            &pw,
            &[("loginfmt", "alice@contoso.example"), ("passwd", PASSWORD)],
        )
        .await;
    done.redirect_params()
}

#[tokio::test]
async fn codes_are_bound_to_their_verifier_redirect_uri_client_and_origin() {
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let p = sign_in(&mut b, &authorize_path(&app, &s, WEB, ""), true).await;
    let (_, e) = redeem(
        &app,
        &s,
        &p["code"],
        WEB,
        "wrong-verifier-wrong-verifier-wrong-verifier",
        None,
    )
    .await;
    assert_eq!(code(&e), 50148, "{e}");
    let p = b.get(&authorize_path(&app, &s, WEB, "")).await.redirect_params();
    let (_, e) = redeem_as(&app, &s, &p["code"], NATIVE, VERIFIER, None, true).await;
    assert_eq!(code(&e), 500112, "{e}");
    let p = b.get(&authorize_path(&app, &s, WEB, "")).await.redirect_params();
    let (_, e) = redeem(&app, &s, &p["code"], WEB, VERIFIER, Some("https://spa.example")).await;
    assert_eq!(
        code(&e),
        9002326,
        "a web app's code is not redeemed cross-origin: {e}"
    );

    // A single-page application's code: only cross-origin, answered with CORS, without a secret.
    let p = b.get(&authorize_path(&app, &s, SPA, "")).await.redirect_params();
    let (_, e) = redeem(&app, &s, &p["code"], SPA, VERIFIER, None).await;
    assert_eq!(code(&e), 9002327, "{e}");
    let p = b.get(&authorize_path(&app, &s, SPA, "")).await.redirect_params();
    let (st, t) = redeem(&app, &s, &p["code"], SPA, VERIFIER, Some("https://spa.example")).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["_acao"], "https://spa.example");
    assert_eq!(claims(t["access_token"].as_str().unwrap())["appidacr"], "0");

    // Another client cannot redeem it.
    let p = b.get(&authorize_path(&app, &s, WEB, "")).await.redirect_params();
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &app.boot.client_id.to_string()),
                ("client_secret", app.boot.client_secret.expose()),
                ("code", &p["code"]),
                ("redirect_uri", WEB),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(code(&r.json().await.unwrap()), 70000);
    app.stop().await;
}

#[tokio::test]
async fn a_user_who_must_change_the_password_does_so_on_the_way_in() {
    let app = TestApp::spawn().await;
    let s = setup(&app, true).await;
    let mut b = Browser::new(&app);
    let change = through_password(
        &mut b,
        &authorize_path(&app, &s, WEB, ""),
        "alice@contoso.example",
    )
    .await;
    assert!(change.html.contains("name=\"newPassword\""), "{}", change.html);
    let weak = b
        .submit(
            &change,
            &[
                ("loginfmt", "alice@contoso.example"),
                ("oldPassword", PASSWORD),
                ("newPassword", "short"),
                ("confirmNewPassword", "short"),
            ],
        )
        .await;
    assert!(weak.html.contains("newPassword"), "still the change page");
    let consent = b
        .submit(
            &weak,
            &[
                ("loginfmt", "alice@contoso.example"),
                ("oldPassword", PASSWORD),
                ("newPassword", "Brand-New-Horse-2"),
                ("confirmNewPassword", "Brand-New-Horse-2"),
            ],
        )
        .await;
    let done = b.submit(&consent, &[("accept", "Accept")]).await;
    assert!(done.redirect_params().contains_key("code"), "{}", done.html);
    // The old password no longer works, the new one does.
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "password"),
                ("client_id", &s.client_id),
                ("client_secret", &s.secret),
                ("username", "alice@contoso.example"),
                ("password", "Brand-New-Horse-2"),
                ("scope", "User.Read"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.stop().await;
}

async fn poll(app: &TestApp, client_id: &str, secret: Option<&str>, device_code: &str) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", client_id),
        ("device_code", device_code),
    ];
    if let Some(s) = secret {
        form.push(("client_secret", s));
    }
    let r = app.token_form(&app.tenant(), &form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_device_polls_while_its_user_signs_in_at_devicelogin() {
    let app = TestApp::spawn().await;
    let s = setup(&app, false).await;
    let start = |scope: &'static str| {
        let app = &app;
        let client_id = s.client_id.clone();
        async move {
            let r = app
                .http
                .post(app.url(&format!("/{}/oauth2/v2.0/devicecode", app.tenant())))
                .form(&[("client_id", client_id.as_str()), ("scope", scope)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
            r.json::<Value>().await.unwrap()
        }
    };
    let d = start("User.Read openid offline_access").await;
    assert_eq!(
        (d["expires_in"].as_i64(), d["interval"].as_i64()),
        (Some(900), Some(5))
    );
    assert_eq!(d["verification_uri"], app.url("/devicelogin"));
    let user_code = d["user_code"].as_str().unwrap().to_string();
    assert!(d["message"].as_str().unwrap().contains(&user_code));
    let device_code = d["device_code"].as_str().unwrap().to_string();

    let secret = Some(s.secret.as_str());
    let (st, e) = poll(&app, &s.client_id, secret, &device_code).await;
    assert_eq!(
        (st, e["error"].as_str(), code(&e)),
        (400, Some("authorization_pending"), 70016)
    );
    let (_, e) = poll(&app, &s.client_id, secret, &device_code).await;
    assert_eq!(e["error"], "slow_down", "polled again at once");
    let (_, e) = poll(
        &app,
        &app.boot.client_id.to_string(),
        Some(app.boot.client_secret.expose()),
        &device_code,
    )
    .await;
    assert_eq!(e["error"], "invalid_grant", "another client's code");
    let (st, e) = poll(&app, &s.client_id, None, &device_code).await;
    assert_eq!(
        (st, code(&e)),
        (401, 7000218),
        "a client that does not allow public flows authenticates"
    );

    // The user: a wrong code, then the right one typed loosely; the page names the app; sign-in; consent.
    let mut b = Browser::new(&app);
    let entry = b.get("/devicelogin").await;
    assert!(entry.html.contains("name=\"otc\""));
    let wrong = b.submit_fields(&entry, &[("otc", "BBBBBBBBB")]).await;
    assert!(wrong.html.contains("not valid"), "{}", wrong.html);
    let loose = format!("{}-{}", user_code[..4].to_lowercase(), &user_code[4..]);
    let confirm = b.submit_fields(&wrong, &[("otc", &loose)]).await;
    assert!(
        confirm.html.contains("Contoso &#60;Web&#62;") || confirm.html.contains("Contoso &lt;Web&gt;"),
        "{}",
        confirm.html
    );
    let signin = b.submit(&confirm, &[("accept", "Continue")]).await;
    let pw = b.submit(&signin, &[("loginfmt", "alice@contoso.example")]).await;
    let consent = b
        .submit(
            &pw,
            &[("loginfmt", "alice@contoso.example"), ("passwd", PASSWORD)],
        )
        .await;
    let done = b.submit(&consent, &[("accept", "Accept")]).await;
    assert!(
        done.html.contains("You have signed in to the application"),
        "{}",
        done.html
    );

    // The device's next poll gets the user's tokens, once.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (st, t) = poll(&app, &s.client_id, secret, &device_code).await;
    assert_eq!(st, 200, "{t}");
    let at = claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["oid"], s.user_id.as_str());
    assert!(t["refresh_token"].is_string() && t["id_token"].is_string());
    let (_, e) = poll(&app, &s.client_id, secret, &device_code).await;
    assert_eq!(code(&e), 54005);

    // A declined code says so to the device; a used code is not accepted again at the page.
    let d = start("User.Read").await;
    let entry = b.get("/devicelogin").await;
    let confirm = b
        .submit_fields(&entry, &[("otc", d["user_code"].as_str().unwrap())])
        .await;
    let page = b.submit(&confirm, &[("cancel", "Cancel")]).await;
    assert!(page.html.contains("declined"), "{}", page.html);
    let (_, e) = poll(&app, &s.client_id, secret, d["device_code"].as_str().unwrap()).await;
    assert_eq!(e["error"], "authorization_declined");
    let entry = b.get("/devicelogin").await;
    let again = b.submit_fields(&entry, &[("otc", &user_code)]).await;
    assert!(again.html.contains("not valid"));
    app.stop().await;
}
