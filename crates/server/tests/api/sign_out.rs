//! Sign-out (issue #9): the session ends, the signed-out page loads the front-channel logout URL of each
//! application the session signed in to (OpenID Connect Front-Channel Logout 1.0), and the browser goes
//! on to `post_logout_redirect_uri` only when it is registered.

use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::json;

use crate::browser::*;
use crate::helpers::{claims, TestApp};

const LOGOUT_URL: &str = "https://app.example/logout";

/// The `src` of each logout frame on the page.
fn frames(page: &Page) -> Vec<String> {
    page.html
        .split("<iframe class=\"logout\" src=\"")
        .skip(1)
        .map(|rest| unescape(&rest[..rest.find('"').unwrap()]))
        .collect()
}

#[tokio::test]
async fn sign_out_reaches_each_application_of_the_session_through_its_logout_url() {
    let app = TestApp::spawn_with(None, TlsMode::LocalCa).await;
    let s = setup(&app, false).await;
    let admin = app.admin_token().await;
    let patch = |web: serde_json::Value| {
        let (app, admin, id) = (&app, &admin, s.object_id.clone());
        async move {
            app.graph(
                M::PATCH,
                &format!("applications/{id}"),
                admin,
                Some(json!({"web": web})),
            )
            .await
        }
    };
    // A logout URL is a web address a page may frame: no script, no plain http off loopback.
    for bad in [
        "javascript:alert(1)",
        "http://app.example/logout",
        "data:text/html,x",
    ] {
        let (st, body) = patch(json!({"redirectUris": [WEB], "logoutUrl": bad})).await;
        assert_eq!(st, 400, "{bad}: {body}");
    }
    let (st, body) = patch(json!({"redirectUris": [WEB], "logoutUrl": LOGOUT_URL})).await;
    assert_eq!(st, 204, "{body}");

    let mut b = Browser::new(&app);
    let params = sign_in(&mut b, &authorize_path(&app, &s, WEB, ""), true).await;
    let (st, tokens) = redeem(&app, &s, &params["code"], WEB, VERIFIER, None).await;
    assert_eq!(st, 200, "{tokens}");
    let sid = claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();

    // The signed-out page frames the app's logout URL with the issuer and the session's sid, allows
    // exactly that origin to be framed, and then continues to the target that an application of the
    // session registered (no client_id, as msal-browser sends it).
    let unnamed =
        logout_path(&app, &s, WEB, "&state=bye").replace(&format!("&client_id={}", s.client_id), "");
    let out = b.get(&unnamed).await;
    assert_eq!((out.status, out.location.as_deref()), (200, None), "{}", out.html);
    let issuer = format!("{}/{}/v2.0", app.base, app.tenant());
    let expected =
        url::Url::parse_with_params(LOGOUT_URL, &[("iss", issuer.as_str()), ("sid", &sid)]).unwrap();
    assert_eq!(frames(&out), vec![expected.to_string()]);
    let csp = out.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.ends_with("; frame-src https://app.example"), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        unescape(&out.html).contains(&format!("id=\"next\" href=\"{WEB}?state=bye\"")),
        "{}",
        out.html
    );
    assert!(out.html.contains("src=\"/static/signed_out.js\""));
    let script = b.get("/static/signed_out.js").await;
    assert_eq!(script.status, 200);
    assert!(script.html.contains("iframe.logout"));

    // The session is over: nothing left to frame, so the registered target is a plain redirect, and
    // an unregistered one is never followed.
    let again = b.get(&logout_path(&app, &s, WEB, "")).await;
    assert_eq!(again.location.as_deref(), Some(WEB));
    let foreign = b.get(&logout_path(&app, &s, "https://evil.example/", "")).await;
    assert_eq!((foreign.status, foreign.location.as_deref()), (200, None));
    assert!(frames(&foreign).is_empty());
    app.stop().await;
}
