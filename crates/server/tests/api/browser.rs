//! A browser without JavaScript for the sign-in pages, and the registration the page tests share: a web
//! app (with a secret), a SPA and a public client in one registration, and a user.

use std::collections::HashMap;

use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::TestApp;

pub const PASSWORD: &str = "Correct-Horse-1";
pub const WEB: &str = "https://app.example/signin-oidc";
pub const SPA: &str = "https://spa.example/";
pub const NATIVE: &str = "http://localhost";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// HTML text as the browser reads it (askama's escapes).
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&#38;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser without JavaScript: keeps cookies, follows nothing by itself.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Page {
    /// The value of the form field `name` (HTML-unescaped).
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.html))
            + marker.len();
        let end = self.html[start..].find('"').unwrap() + start;
        unescape(&self.html[start..end])
    }

    /// The form's action.
    pub fn action(&self) -> String {
        let start = self.html.find("action=\"").unwrap() + 8;
        let end = self.html[start..].find('"').unwrap() + start;
        self.html[start..end].replace("&#x2f;", "/").replace("&#47;", "/")
    }

    /// The query parameters of the redirect.
    pub fn redirect_params(&self) -> HashMap<String, String> {
        let loc = self
            .location
            .as_deref()
            .unwrap_or_else(|| panic!("no redirect: {} {}", self.status, self.html));
        url::Url::parse(loc).unwrap().query_pairs().into_owned().collect()
    }

    /// The parameters in the redirect's fragment.
    pub fn fragment_params(&self) -> HashMap<String, String> {
        let loc = self
            .location
            .as_deref()
            .unwrap_or_else(|| panic!("no redirect: {} {}", self.status, self.html));
        let fragment = url::Url::parse(loc)
            .unwrap()
            .fragment()
            .unwrap_or_default()
            .to_string();
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect()
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: HashMap::new(),
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let r = req.header("cookie", cookie.join("; ")).send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status,
            location: headers.get("location").map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            headers,
            html: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.app.http.get(self.app.url(path));
        self.send(req).await
    }

    /// Submits `page`'s form with its CSRF token and `extra` only (a form without `ctx`).
    pub async fn submit_fields(&mut self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = vec![("canary".into(), page.field("canary"))];
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let req = self.app.http.post(self.app.url(&page.action())).form(&form);
        self.send(req).await
    }

    /// Submits `page`'s form with its hidden fields and `extra`.
    pub async fn submit(&mut self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = vec![
            ("ctx".into(), page.field("ctx")),
            ("canary".into(), page.field("canary")),
        ];
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let req = self.app.http.post(self.app.url(&page.action())).form(&form);
        self.send(req).await
    }
}

/// A web app (with a secret), a SPA and a public client in one registration, and a user.
pub struct Setup {
    /// The application's object id, for Graph.
    pub object_id: String,
    pub client_id: String,
    pub secret: String,
    pub user_id: String,
}

pub async fn setup(app: &TestApp, force_change: bool) -> Setup {
    let admin = app.admin_token().await;
    let (s, web) = app
        .graph(
            M::POST,
            "applications",
            &admin,
            Some(
                json!({"displayName": "Contoso <Web>", "web": {"redirectUris": [WEB]},
                        "spa": {"redirectUris": [SPA]}, "publicClient": {"redirectUris": [NATIVE]}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{web}");
    let client_id = web["appId"].as_str().unwrap().to_string();
    app.graph(
        M::POST,
        "servicePrincipals",
        &admin,
        Some(json!({"appId": client_id})),
    )
    .await;
    let (_, pw) = app
        .graph(
            M::POST,
            &format!("applications/{}/addPassword", web["id"].as_str().unwrap()),
            &admin,
            Some(json!({})),
        )
        .await;
    let (s, user) = app
        .graph(
            M::POST,
            "users",
            &admin,
            Some(json!({"accountEnabled": true, "displayName": "Alice Example", "mailNickname": "alice",
                        "userPrincipalName": "alice@contoso.example",
                        "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": force_change}})),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    Setup {
        object_id: web["id"].as_str().unwrap().to_string(),
        client_id,
        secret: pw["secretText"].as_str().unwrap().to_string(),
        user_id: user["id"].as_str().unwrap().to_string(),
    }
}

pub fn authorize_path(app: &TestApp, s: &Setup, redirect: &str, extra: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &s.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid profile offline_access User.Read")
        .append_pair("state", "s t&=\u{e9}")
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .append_pair("client_info", "1")
        .finish();
    format!("/{}/oauth2/v2.0/authorize?{q}{extra}", app.tenant())
}

pub async fn redeem(
    app: &TestApp,
    s: &Setup,
    code: &str,
    redirect: &str,
    verifier: &str,
    origin: Option<&str>,
) -> (u16, Value) {
    redeem_as(app, s, code, redirect, verifier, origin, redirect == WEB).await
}

/// Redeems a code, with the web app's secret or without (a public client).
pub async fn redeem_as(
    app: &TestApp,
    s: &Setup,
    code: &str,
    redirect: &str,
    verifier: &str,
    origin: Option<&str>,
    with_secret: bool,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", s.client_id.as_str()),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ];
    if with_secret {
        form.push(("client_secret", s.secret.as_str()));
    }
    let mut req = app
        .http
        .post(app.url(&format!("/{}/oauth2/v2.0/token", app.tenant())))
        .form(&form);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let acao = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    let mut body: Value = r.json().await.unwrap();
    body["_acao"] = json!(acao);
    (status, body)
}

/// Sign-out for the web app, to `target`, with `extra` query parameters.
pub fn logout_path(app: &TestApp, s: &Setup, target: &str, extra: &str) -> String {
    let target: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    format!(
        "/{}/oauth2/v2.0/logout?post_logout_redirect_uri={target}&client_id={}{extra}",
        app.tenant(),
        s.client_id
    )
}

/// From `path` through the user-name and password pages as `user`: the page after the password.
pub async fn through_password(b: &mut Browser<'_>, path: &str, user: &str) -> Page {
    let start = b.get(path).await;
    assert_eq!(start.status, 200, "{}", start.html);
    let pw = b.submit(&start, &[("loginfmt", user)]).await;
    assert!(pw.html.contains("id=\"i0118\""), "the password page: {}", pw.html);
    b.submit(&pw, &[("loginfmt", user), ("passwd", PASSWORD)]).await
}

/// The web app's refresh grant with its secret: the answer's body.
pub async fn refresh(app: &TestApp, s: &Setup, refresh_token: &str) -> Value {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", s.client_id.as_str()),
        ("client_secret", s.secret.as_str()),
        ("refresh_token", refresh_token),
    ];
    app.token_form(&app.tenant(), &form).await.json().await.unwrap()
}

/// Username, password and (first time) consent: the code at the redirect URI.
pub async fn sign_in(b: &mut Browser<'_>, path: &str, consent: bool) -> HashMap<String, String> {
    sign_in_to(b, path, consent).await.redirect_params()
}

/// The same, returning the last response (a redirect, or a `form_post` page).
pub async fn sign_in_to(b: &mut Browser<'_>, path: &str, consent: bool) -> Page {
    sign_in_as(b, path, consent, "alice@contoso.example").await
}

/// The same as `user`.
pub async fn sign_in_as(b: &mut Browser<'_>, path: &str, consent: bool, user: &str) -> Page {
    let next = through_password(b, path, user).await;
    let done = if consent {
        assert!(
            next.html.contains("idBtn_Back") && next.html.contains("User.Read"),
            "{}",
            next.html
        );
        b.submit(&next, &[("accept", "Accept")]).await
    } else {
        next
    };
    assert!(matches!(done.status, 200 | 302), "{}", done.html);
    done
}

pub fn code(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}

/// Posts the sealed request of `path`'s sign-in page to `tenant`'s consent form, accepting: what the
/// client is sent.
pub async fn forge_consent(browser: &mut Browser<'_>, path: &str, tenant: &str) -> HashMap<String, String> {
    let login = browser.get(path).await;
    let form = [
        ("ctx", login.field("ctx")),
        ("canary", login.field("canary")),
        ("accept", "Accept".to_string()),
    ];
    let req = browser
        .app
        .http
        .post(browser.app.url(&format!("/{tenant}/consent")))
        .form(&form);
    browser.send(req).await.redirect_params()
}
