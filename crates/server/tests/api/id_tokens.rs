//! ID tokens sent by `/authorize` itself (the implicit `id_token` and hybrid `code id_token` types, for
//! applications that enable ID-token issuance), and what decides whether the browser's session may
//! answer without the sign-in pages: `max_age` and `id_token_hint` (OIDC Core §3.1.2.1, §3.2, §3.3).

use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::json;

use crate::browser::*;
use crate::helpers::{claims, TestApp};

/// `/authorize` for the web app with these parameters (besides `client_id` and `redirect_uri`).
fn path(app: &TestApp, s: &Setup, params: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &s.client_id)
        .append_pair("redirect_uri", WEB);
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("/{}/oauth2/v2.0/authorize?{}", app.tenant(), q.finish())
}

/// A code flow's parameters with PKCE, and `extra`.
fn code_flow<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    p.extend_from_slice(extra);
    p
}

fn error_of(p: &std::collections::HashMap<String, String>) -> (&str, &str) {
    let description = p.get("error_description").map(String::as_str).unwrap_or("");
    (
        p.get("error").map(String::as_str).unwrap_or(""),
        description.split(':').next().unwrap_or(""),
    )
}

#[tokio::test]
async fn the_implicit_and_hybrid_flows_answer_only_for_applications_that_enable_them() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let mut b = Browser::new(&app);
    let implicit = [
        ("response_type", "id_token"),
        ("scope", "openid profile"),
        ("nonce", "n-implicit"),
        ("state", "st"),
    ];

    // Not enabled: Entra's AADSTS700054, in the fragment, before any page.
    let off = b.get(&path(&app, &s, &implicit)).await;
    assert_eq!(
        error_of(&off.fragment_params()),
        ("unsupported_response_type", "AADSTS700054")
    );
    assert_eq!(off.fragment_params()["state"], "st");
    let admin = app.admin_token().await;
    let (st, body) = app
        .graph(
            M::PATCH,
            &format!("applications/{}", s.object_id),
            &admin,
            Some(json!({"web": {"redirectUris": [WEB], "implicitGrantSettings": {"enableIdTokenIssuance": true}}})),
        )
        .await;
    assert_eq!(st, 204, "{body}");

    // Enabled, the request must still carry a nonce and `openid`, and never asks for the query.
    let refused = [
        (vec![("nonce", "")], ("invalid_request", "AADSTS900144")),
        (
            vec![("scope", "profile User.Read")],
            ("invalid_request", "AADSTS90023"),
        ),
        (
            vec![("response_type", "token")],
            ("unsupported_response_type", "AADSTS70005"),
        ),
        (
            vec![("response_type", "id_token token")],
            ("unsupported_response_type", "AADSTS70005"),
        ),
    ];
    for (changed, expected) in refused {
        let params: Vec<(&str, &str)> = implicit
            .iter()
            .filter(|(k, _)| !changed.iter().any(|(c, _)| c == k))
            .chain(changed.iter())
            .copied()
            .collect();
        let p = b.get(&path(&app, &s, &params)).await;
        assert_eq!(error_of(&p.fragment_params()), expected, "{changed:?}");
    }
    let mut query = implicit.to_vec();
    query.push(("response_mode", "query"));
    let p = b.get(&path(&app, &s, &query)).await;
    assert_eq!(
        error_of(&p.fragment_params()),
        ("invalid_request", "AADSTS90023"),
        "no token in a query"
    );

    // Implicit: the ID token in the fragment, signed, for this client, with the nonce and no c_hash.
    let done = sign_in_to(&mut b, &path(&app, &s, &implicit), false).await;
    let fragment = done.fragment_params();
    assert!(!fragment.contains_key("code"), "{fragment:?}");
    assert_eq!(fragment["state"], "st");
    let token = &fragment["id_token"];
    let keys = gatehouse_validate::RemoteKeys::discover(
        &format!("{}/{}/v2.0", app.base, app.tenant()),
        Some(&std::fs::read(app.data_dir.join("tls/ca.pem")).unwrap()),
    )
    .await
    .unwrap();
    let validator =
        gatehouse_validate::Validator::new(keys.issuer().to_string(), vec![s.client_id.clone()], keys);
    validator
        .authenticate(token, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let id = claims(token);
    assert_eq!(
        (id["nonce"].as_str(), id["oid"].as_str(), id["ver"].as_str()),
        (Some("n-implicit"), Some(s.user_id.as_str()), Some("2.0"))
    );
    assert!(id["auth_time"].is_i64() && id["sid"].is_string() && id.get("c_hash").is_none());

    // Hybrid, by form post (the session answers): the code and an ID token whose c_hash is the code's.
    let hybrid = b
        .get(&path(
            &app,
            &s,
            &[
                ("response_type", "id_token code"),
                ("response_mode", "form_post"),
                ("scope", "openid profile"),
                ("nonce", "n-hybrid"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(hybrid.status, 200, "{}", hybrid.html);
    let (code, token) = (hybrid.field("code"), hybrid.field("id_token"));
    let id = claims(&token);
    let digest = gatehouse_jose::sha256(code.as_bytes());
    assert_eq!(id["c_hash"], gatehouse_jose::b64url(&digest[..16]));
    assert_eq!(id["nonce"], "n-hybrid");
    let (st, tokens) = redeem(&app, &s, &code, WEB, VERIFIER, None).await;
    assert_eq!(st, 200, "{tokens}");
    let redeemed = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        (&redeemed["sub"], &redeemed["nonce"], &redeemed["auth_time"]),
        (&id["sub"], &id["nonce"], &id["auth_time"])
    );

    // Discovery lists what is served.
    let doc = app.discovery().await;
    assert_eq!(
        doc["response_types_supported"],
        json!(["code", "id_token", "code id_token"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    app.stop().await;
}

#[tokio::test]
async fn max_age_and_id_token_hint_decide_whether_the_session_answers() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let admin = app.admin_token().await;
    let (st, body) = app
        .graph(
            M::POST,
            "users",
            &admin,
            Some(
                json!({"accountEnabled": true, "displayName": "Bob", "mailNickname": "bob",
                        "userPrincipalName": "bob@contoso.example",
                        "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": false}}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{body}");

    // Each user's ID token, from their own browser.
    let id_token_of = async |user: &str| {
        let mut other = Browser::new(&app);
        let done = sign_in_as(&mut other, &path(&app, &s, &code_flow(&[])), false, user).await;
        let (st, tokens) = redeem(&app, &s, &done.redirect_params()["code"], WEB, VERIFIER, None).await;
        assert_eq!(st, 200, "{tokens}");
        (other, tokens["id_token"].as_str().unwrap().to_string(), tokens)
    };
    let (mut alice, alice_hint, alice_tokens) = id_token_of("alice@contoso.example").await;
    let (_, bob_hint, _) = id_token_of("bob@contoso.example").await;

    // A fresh enough session answers prompt=none; once max_age has passed it needs the pages again.
    let fresh = alice
        .get(&path(
            &app,
            &s,
            &code_flow(&[("prompt", "none"), ("max_age", "3600")]),
        ))
        .await;
    assert!(
        fresh.redirect_params().contains_key("code"),
        "{:?}",
        fresh.location
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stale = alice
        .get(&path(
            &app,
            &s,
            &code_flow(&[("prompt", "none"), ("max_age", "0")]),
        ))
        .await;
    assert_eq!(stale.redirect_params()["error"], "login_required");
    let again = alice.get(&path(&app, &s, &code_flow(&[("max_age", "0")]))).await;
    assert!(again.html.contains("name=\"loginfmt\""), "{}", again.html);
    let bad = alice.get(&path(&app, &s, &code_flow(&[("max_age", "-1")]))).await;
    assert_eq!(
        error_of(&bad.redirect_params()),
        ("invalid_request", "AADSTS90023")
    );

    // The hint names the session's user: it answers. Another user's hint: never a silent switch; the
    // sign-in page offers the hinted user's name.
    let with_hint = |hint: &str, prompt: bool| {
        let mut p = code_flow(&[("id_token_hint", hint)]);
        if prompt {
            p.push(("prompt", "none"));
        }
        path(&app, &s, &p)
    };
    let same = alice.get(&with_hint(&alice_hint, true)).await;
    assert!(same.redirect_params().contains_key("code"), "{:?}", same.location);
    let other = alice.get(&with_hint(&bob_hint, true)).await;
    assert_eq!(other.redirect_params()["error"], "login_required");
    let page = alice.get(&with_hint(&bob_hint, false)).await;
    assert!(page.html.contains("bob@contoso.example"), "{}", page.html);

    // An access token is not an ID token, whoever signed it.
    let access = alice_tokens["access_token"].as_str().unwrap();
    let refused = alice.get(&with_hint(access, true)).await;
    assert_eq!(
        error_of(&refused.redirect_params()),
        ("invalid_request", "AADSTS90023")
    );
    app.stop().await;
}
