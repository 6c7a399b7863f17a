//! A user's tokens (issue #9): the password grant (ROPC) and refresh tokens against the real server.
//! Consent is data (an oAuth2PermissionGrant), the failures carry Entra's codes without revealing which
//! accounts exist, refresh tokens rotate and a reused one ends its whole family, and a password change
//! or a disabled account ends them too. `/v1.0/me` answers a user's Graph token.

use gatehouse_server::settings::TlsMode;
use reqwest::Method as M;
use serde_json::{json, Value};

use crate::helpers::{claims, TestApp};

use gatehouse_proto::GRAPH_APP_ID;
const PASSWORD: &str = "Correct-Horse-1";

/// A public client that allows public client flows, consented for `User.Read` on Graph for everyone,
/// and a user.
struct PublicClient {
    app_id: String,
    sp_id: String,
    user_id: String,
}

impl PublicClient {
    async fn create(app: &TestApp) -> Self {
        let admin = app.admin_token().await;
        let (s, cli) = app
            .graph(
                M::POST,
                "applications",
                &admin,
                Some(json!({"displayName": "Contoso CLI", "isFallbackPublicClient": true})),
            )
            .await;
        assert_eq!(s, 201, "{cli}");
        let app_id = cli["appId"].as_str().unwrap().to_string();
        let (s, sp) = app
            .graph(
                M::POST,
                "servicePrincipals",
                &admin,
                Some(json!({"appId": app_id})),
            )
            .await;
        assert_eq!(s, 201, "{sp}");
        let sp_id = sp["id"].as_str().unwrap().to_string();
        let (s, graph) = app
            .graph(
                M::GET,
                &format!("servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'"),
                &admin,
                None,
            )
            .await;
        assert_eq!(s, 200, "{graph}");
        let (s, g) = app
            .graph(
                M::POST,
                "oauth2PermissionGrants",
                &admin,
                Some(json!({"clientId": sp_id, "consentType": "AllPrincipals",
                            "resourceId": graph["value"][0]["id"], "scope": "User.Read"})),
            )
            .await;
        assert_eq!(s, 201, "{g}");
        let (s, user) = app
            .graph(
                M::POST,
                "users",
                &admin,
                Some(json!({"accountEnabled": true, "displayName": "Alice Example", "mailNickname": "alice",
                            "userPrincipalName": "alice@contoso.example",
                            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": false}})),
            )
            .await;
        assert_eq!(s, 201, "{user}");
        Self {
            app_id,
            sp_id,
            user_id: user["id"].as_str().unwrap().to_string(),
        }
    }

    async fn password(&self, app: &TestApp, tenant: &str, user: &str, pw: &str, scope: &str) -> (u16, Value) {
        let r = app
            .token_form(
                tenant,
                &[
                    ("grant_type", "password"),
                    ("client_id", &self.app_id),
                    ("username", user),
                    ("password", pw),
                    ("scope", scope),
                    ("client_info", "1"),
                ],
            )
            .await;
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn refresh(&self, app: &TestApp, client_id: &str, rt: &str) -> (u16, Value) {
        let r = app
            .token_form(
                &app.tenant(),
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id),
                    ("refresh_token", rt),
                    ("scope", "User.Read openid profile offline_access"),
                ],
            )
            .await;
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn code(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}

const SCOPE: &str = "User.Read openid profile offline_access";

#[tokio::test]
async fn a_password_sign_in_gives_the_users_tokens_and_graph_me_answers_them() {
    let app = TestApp::spawn().await;
    let cli = PublicClient::create(&app).await;
    let tenant = app.tenant();

    let (s, body) = cli
        .password(&app, "contoso.example", "Alice@Contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["scope"], "User.Read openid profile");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("1."));

    // A Graph token is v1, for the user, with the consented scopes.
    let at = claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["ver"], "1.0");
    assert_eq!(at["oid"], cli.user_id.as_str());
    assert_eq!(at["scp"], "User.Read openid profile");
    assert_eq!(at["upn"], "alice@contoso.example");
    assert_eq!(at["idtyp"], "user");
    assert_eq!(at["appidacr"], "0", "a public client");
    assert!(at.get("roles").is_none());

    // The ID token is the client's, with a pairwise subject.
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], cli.app_id.as_str());
    assert_eq!(id["iss"], format!("{}/{tenant}/v2.0", app.base));
    assert_eq!(id["preferred_username"], "alice@contoso.example");
    assert_eq!(id["name"], "Alice Example");
    assert_eq!(id["tid"], tenant.as_str());
    assert_eq!(id["ver"], "2.0");
    let sub = id["sub"].as_str().unwrap();
    assert_eq!(sub.len(), 43);
    assert_ne!(sub, cli.user_id);
    assert_eq!(at["sub"], sub, "the same subject for the same client");
    let info = gatehouse_jose::b64url_decode(body["client_info"].as_str().unwrap()).unwrap();
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info, json!({"uid": cli.user_id, "utid": tenant}));

    // /me answers the user's token; the directory does not (delegated scopes reach only /me).
    let token = body["access_token"].as_str().unwrap();
    let (s, me) = app.graph(M::GET, "me", token, None).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["userPrincipalName"], "alice@contoso.example");
    assert_eq!(
        me["@odata.context"],
        format!("{}/v1.0/$metadata#users/$entity", app.base)
    );
    let (s, _) = app.graph(M::GET, "users", token, None).await;
    assert_eq!(s, 403);
    let (s, e) = app.graph(M::GET, "me", &app.admin_token().await, None).await;
    assert_eq!(s, 400, "an app-only token has no /me: {e}");

    // `organizations` finds the tenant by the name's domain; no openid, no ID token; no
    // offline_access, no refresh token.
    let (s, body) = cli
        .password(
            &app,
            "organizations",
            "alice@contoso.example",
            PASSWORD,
            "User.Read",
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());

    // The user realm is Managed for a tenant's domain, and says nothing of accounts.
    let (s, realm) = app
        .get_json("/common/userrealm/nobody@contoso.example?api-version=1.0")
        .await;
    assert_eq!((s, realm["account_type"].as_str()), (200, Some("Managed")));
    let (_, realm) = app
        .get_json("/common/userrealm/x@elsewhere.example?api-version=1.0")
        .await;
    assert_eq!(realm["account_type"], "Unknown");
    app.stop().await;
}

#[tokio::test]
async fn password_sign_in_failures_carry_entras_codes_and_reveal_no_account() {
    let app = TestApp::spawn().await;
    let cli = PublicClient::create(&app).await;
    let t = "contoso.example";

    let (s, wrong) = cli
        .password(&app, t, "alice@contoso.example", "Wrong-Horse-1", SCOPE)
        .await;
    let (s2, unknown) = cli
        .password(&app, t, "bob@contoso.example", "Wrong-Horse-1", SCOPE)
        .await;
    assert_eq!((s, s2), (400, 400));
    assert_eq!(
        (code(&wrong), code(&unknown)),
        (50126, 50126),
        "no account is revealed"
    );
    assert_eq!(wrong["error"], "invalid_grant");

    // Not consented, not offered, wrong tenant segment.
    let (_, e) = cli
        .password(
            &app,
            t,
            "alice@contoso.example",
            PASSWORD,
            "User.ReadBasic.All openid",
        )
        .await;
    assert_eq!(
        (code(&e), e["suberror"].as_str()),
        (65001, Some("consent_required")),
        "{e}"
    );
    let (_, e) = cli
        .password(&app, t, "alice@contoso.example", PASSWORD, "Mail.Send")
        .await;
    assert_eq!(
        (code(&e), e["error"].as_str()),
        (70011, Some("invalid_scope")),
        "{e}"
    );
    let (_, e) = cli
        .password(&app, "common", "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!(code(&e), 9001023);

    // An application that does not allow public client flows needs a credential.
    let admin = app.admin_token().await;
    let (_, apps) = app
        .graph(
            M::GET,
            &format!("applications?$filter=appId eq '{}'", cli.app_id),
            &admin,
            None,
        )
        .await;
    let path = format!("applications/{}", apps["value"][0]["id"].as_str().unwrap());
    let patch = |v: Value| app.graph(M::PATCH, &path, &admin, Some(v));
    assert_eq!(patch(json!({"isFallbackPublicClient": false})).await.0, 204);
    let (s, e) = cli
        .password(&app, t, "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!((s, code(&e)), (401, 7000218), "{e}");
    assert_eq!(patch(json!({"isFallbackPublicClient": true})).await.0, 204);

    // A disabled account says so only to the right password.
    let user = format!("users/{}", cli.user_id);
    let (s, _) = app
        .graph(M::PATCH, &user, &admin, Some(json!({"accountEnabled": false})))
        .await;
    assert_eq!(s, 204);
    let (_, e) = cli
        .password(&app, t, "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!(code(&e), 50057);
    let (_, e) = cli
        .password(&app, t, "alice@contoso.example", "Wrong-Horse-1", SCOPE)
        .await;
    assert_eq!(code(&e), 50126);

    // Smart lockout: the tenth failure locks the account, even for the right password.
    app.graph(M::PATCH, &user, &admin, Some(json!({"accountEnabled": true})))
        .await;
    for _ in 0..10 {
        cli.password(&app, t, "alice@contoso.example", "Wrong-Horse-1", SCOPE)
            .await;
    }
    let (s, e) = cli
        .password(&app, t, "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!((s, code(&e)), (400, 50053), "{e}");
    app.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_its_family() {
    // No grace window, so that presenting a rotated token again is reuse at once.
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.policies.user_tokens.refresh_reuse_grace = time::Duration::ZERO;
    })
    .await;
    let cli = PublicClient::create(&app).await;
    let (s, first) = cli
        .password(&app, "contoso.example", "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!(s, 200, "{first}");
    let rt1 = first["refresh_token"].as_str().unwrap();

    let (s, second) = cli.refresh(&app, &cli.app_id, rt1).await;
    assert_eq!(s, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2, "rotated");
    let id1 = claims(first["id_token"].as_str().unwrap());
    let id2 = claims(second["id_token"].as_str().unwrap());
    assert_eq!(
        (&id1["sub"], &id1["aud"]),
        (&id2["sub"], &id2["aud"]),
        "the same user and client"
    );

    // Another client cannot use it.
    let (s, e) = cli.refresh(&app, &app.boot.client_id.to_string(), &rt2).await;
    assert_eq!((s, code(&e)), (400, 70000), "{e}");
    let (_, e) = cli.refresh(&app, &cli.app_id, "1.not-a-token").await;
    assert_eq!(code(&e), 70000);

    // The rotated token again: refused, and the family is gone, current token included.
    let (s, e) = cli.refresh(&app, &cli.app_id, rt1).await;
    assert_eq!(
        (s, code(&e), e["suberror"].as_str()),
        (400, 50173, Some("bad_token")),
        "{e}"
    );
    let (_, e) = cli.refresh(&app, &cli.app_id, &rt2).await;
    assert_eq!(code(&e), 50173, "the whole family is revoked");

    // A password change ends the tokens of earlier sign-ins.
    let (_, fresh) = cli
        .password(&app, "contoso.example", "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    let rt = fresh["refresh_token"].as_str().unwrap();
    let admin = app.admin_token().await;
    let (s, _) = app
        .graph(
            M::PATCH,
            &format!("users/{}", cli.user_id),
            &admin,
            Some(json!({"passwordProfile": {"password": "Another-Horse-2", "forceChangePasswordNextSignIn": false}})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, e) = cli.refresh(&app, &cli.app_id, rt).await;
    assert_eq!(code(&e), 50173, "{e}");

    // Revoking the consent ends what a refresh token can get.
    let (_, fresh) = cli
        .password(
            &app,
            "contoso.example",
            "alice@contoso.example",
            "Another-Horse-2",
            SCOPE,
        )
        .await;
    let rt = fresh["refresh_token"].as_str().unwrap();
    let (_, grants) = app
        .graph(
            M::GET,
            &format!("oauth2PermissionGrants?$filter=clientId eq '{}'", cli.sp_id),
            &admin,
            None,
        )
        .await;
    let grant = grants["value"][0]["id"].as_str().unwrap();
    let (s, _) = app
        .graph(
            M::DELETE,
            &format!("oauth2PermissionGrants/{grant}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, e) = cli.refresh(&app, &cli.app_id, rt).await;
    assert_eq!(code(&e), 65001, "{e}");
    app.stop().await;
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle_and_at_the_end_of_their_family() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.policies.user_tokens.refresh_idle = time::Duration::seconds(1);
        s.policies.user_tokens.refresh_absolute = time::Duration::seconds(3);
    })
    .await;
    let cli = PublicClient::create(&app).await;
    let sign_in = || cli.password(&app, "contoso.example", "alice@contoso.example", PASSWORD, SCOPE);

    // Unused for longer than the idle lifetime: AADSTS700082.
    let (_, idle) = sign_in().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, e) = cli
        .refresh(&app, &cli.app_id, idle["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (s, e["error"].as_str(), code(&e)),
        (400, Some("invalid_grant"), 700082),
        "{e}"
    );

    // Used often enough never to be idle, the family still ends at its absolute lifetime.
    let (_, first) = sign_in().await;
    let mut rt = first["refresh_token"].as_str().unwrap().to_string();
    let mut ended = None;
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let (s, next) = cli.refresh(&app, &cli.app_id, &rt).await;
        if s != 200 {
            ended = Some(next);
            break;
        }
        rt = next["refresh_token"].as_str().unwrap().to_string();
    }
    let ended = ended.expect("the family outlives its absolute lifetime");
    assert_eq!(code(&ended), 700082, "{ended}");
    app.stop().await;
}

#[tokio::test]
async fn the_password_grant_can_be_turned_off() {
    let app = TestApp::spawn_configured(None, TlsMode::Insecure, |s| {
        s.policies.user_tokens.password_grant = false;
    })
    .await;
    let cli = PublicClient::create(&app).await;
    let (s, e) = cli
        .password(&app, "contoso.example", "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{e}"
    );
    app.stop().await;
}

#[tokio::test]
async fn deleting_the_enterprise_application_ends_its_refresh_tokens_and_its_consent() {
    let app = TestApp::spawn().await;
    let cli = PublicClient::create(&app).await;
    let (_, first) = cli
        .password(&app, "contoso.example", "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    let rt = first["refresh_token"].as_str().unwrap();
    let admin = app.admin_token().await;
    let (s, _) = app
        .graph(
            M::DELETE,
            &format!("servicePrincipals/{}", cli.sp_id),
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, e) = cli.refresh(&app, &cli.app_id, rt).await;
    assert_eq!((s, code(&e)), (400, 700016), "{e}");

    // A new service principal is a new enterprise application: the old consent does not come back, and
    // neither do the old refresh tokens.
    app.create(&admin, "servicePrincipals", json!({"appId": cli.app_id}))
        .await;
    let (_, e) = cli.refresh(&app, &cli.app_id, rt).await;
    assert_eq!(code(&e), 50173, "{e}");
    let (_, e) = cli
        .password(&app, "contoso.example", "alice@contoso.example", PASSWORD, SCOPE)
        .await;
    assert_eq!(code(&e), 65001, "{e}");
    app.stop().await;
}
