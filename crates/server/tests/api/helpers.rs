//! Starting servers and getting tokens, for the tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use gatehouse_core::admin::bootstrap::BootstrapOutput;
use gatehouse_proto::token::Secret;
use gatehouse_server::run::{start, RunningServer};
use gatehouse_server::settings::{Settings, TlsMode};
use gatehouse_store::testing::PgDatabase;
use serde_json::{json, Value};
use uuid::Uuid;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub struct TestApp {
    pub server: Option<RunningServer>,
    pub base: String,
    pub boot: BootstrapOutput,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    pg: Option<PgDatabase>,
}

/// Runs the `gatehouse` binary with `args`; returns whether it succeeded, its stdout as JSON (null if
/// it is not JSON) and its stderr.
pub async fn gatehouse(config: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let (ok, stdout, stderr) = gatehouse_text(config, args).await;
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (ok, v, stderr)
}

/// [`gatehouse`] with stdout as text (for `-o table` and `-o tsv`).
pub async fn gatehouse_text(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_CONFIG_DIR", config)
        .env("GATEHOUSE_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), stdout, stderr)
}

pub fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("gatehouse-test-{}", Uuid::new_v4()))
}

pub fn settings(data_dir: PathBuf, database_url: Option<String>, tls: TlsMode) -> Settings {
    Settings {
        data_dir,
        database_url,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: None,
        tls,
        domain: "contoso.example".into(),
        rotation: Default::default(),
        policies: Default::default(),
        federation_ca: None,
        directory_cache_entries: gatehouse_core::directory::DEFAULT_CACHE_ENTRIES,
        hsts_max_age: None,
        header_read_timeout: gatehouse_server::settings::HEADER_READ_TIMEOUT,
        handshake_timeout: gatehouse_server::settings::HANDSHAKE_TIMEOUT,
        max_header_bytes: gatehouse_server::settings::MAX_HEADER_BYTES,
        max_connections: gatehouse_server::settings::MAX_CONNECTIONS,
        body_timeout: gatehouse_server::settings::BODY_TIMEOUT,
        idle_timeout: gatehouse_server::settings::IDLE_TIMEOUT,
        metrics: gatehouse_server::settings::Listen::Off,
        identity: gatehouse_server::settings::Listen::Off,
        identity_policy: Default::default(),
        limits: Default::default(),
        logs: Default::default(),
    }
}

impl TestApp {
    /// A server on plain HTTP over a new SQLite file.
    pub async fn spawn() -> Self {
        Self::spawn_with(None, TlsMode::Insecure).await
    }

    /// A server on plain HTTP over a new PostgreSQL database.
    pub async fn spawn_postgres() -> Self {
        let db = PgDatabase::create().await;
        let mut app = Self::spawn_with(Some(db.url.clone()), TlsMode::Insecure).await;
        app.pg = Some(db);
        app
    }

    pub async fn spawn_with(database_url: Option<String>, tls: TlsMode) -> Self {
        Self::spawn_configured(database_url, tls, |_| {}).await
    }

    /// A server whose settings `configure` adjusts first (its policies, say).
    pub async fn spawn_configured(
        database_url: Option<String>,
        tls: TlsMode,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let data_dir = temp_dir();
        let https = !matches!(tls, TlsMode::Insecure);
        let mut s = settings(data_dir.clone(), database_url, tls.clone());
        configure(&mut s);
        let server = start(s).await.expect("server starts");
        let boot = server.bootstrap.clone().expect("a new store is bootstrapped");
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if https {
            let ca = match &tls {
                TlsMode::Files { cert, .. } => cert.with_file_name("ca.pem"),
                _ => data_dir.join("tls/ca.pem"),
            };
            let ca = std::fs::read(ca).unwrap();
            http = http.add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
        }
        Self {
            base: server.base_url.clone(),
            server: Some(server),
            boot,
            http: http.build().unwrap(),
            data_dir,
            pg: None,
        }
    }

    /// A handle on a server this test did not start in-process (a `gatehouse serve` child process).
    pub fn attach(base: String, boot: BootstrapOutput, data_dir: PathBuf) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            server: None,
            base,
            boot,
            http,
            data_dir,
            pg: None,
        }
    }

    pub fn postgres(&self) -> Option<&PgDatabase> {
        self.pg.as_ref()
    }

    /// The flags that name this server's store, for the CLI's store commands.
    pub fn store_args(&self) -> Vec<String> {
        match &self.pg {
            Some(db) => vec!["--database-url".into(), db.url.clone()],
            None => vec!["--data-dir".into(), self.data_dir.display().to_string()],
        }
    }

    /// A second node on the same store (in this process) and behind the same public URL, as nodes
    /// behind one load balancer are, and a handle to drive it.
    pub async fn second_node(&self) -> (RunningServer, TestApp) {
        let url = self.pg.as_ref().map(|db| db.url.clone());
        let mut config = settings(self.data_dir.clone(), url, TlsMode::Insecure);
        config.public_url = Some(self.base.clone());
        let server = start(config).await.expect("the second node starts");
        assert!(server.bootstrap.is_none(), "the second node finds the tenant");
        let handle = TestApp::attach(server.base_url.clone(), self.boot.clone(), self.data_dir.clone());
        (server, handle)
    }

    pub fn tenant(&self) -> String {
        self.boot.tenant_id.to_string()
    }

    /// A new tenant with `domain` in this server's store (`gatehouse tenant create`), and a handle on
    /// the server as that tenant.
    pub async fn another_tenant(&self, domain: &str) -> TestApp {
        let (out, _) = tenant_cli(self, &["create", "--domain", domain, "--json"]).await;
        let other = TestApp::attach(self.base.clone(), credentials(&out), self.data_dir.clone());
        // The server learns of the new tenant from the store's change feed, within a second.
        let discovery = format!("/{}/v2.0/.well-known/openid-configuration", other.tenant());
        for _ in 0..100 {
            if self.status(&discovery).await == 200 {
                return other;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the server did not learn of tenant {domain}");
    }

    /// The tenant's v2 OpenID configuration.
    pub async fn discovery(&self) -> Value {
        let url = self.url(&format!(
            "/{}/v2.0/.well-known/openid-configuration",
            self.tenant()
        ));
        self.http.get(url).send().await.unwrap().json().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The status of a GET to `path`.
    pub async fn status(&self, path: &str) -> u16 {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// POSTs a token request form to the v2 endpoint of `tenant`.
    pub async fn token_form(&self, tenant: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/{tenant}/oauth2/v2.0/token")))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A client-credentials token; panics unless the server issues one.
    pub async fn token(&self, client_id: &str, secret: &str, scope: &str) -> String {
        let r = self
            .token_form(
                &self.tenant(),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", scope),
                ],
            )
            .await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A Graph token for the bootstrap management application.
    /// GET `path`; status and JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Client credentials for the journey's API with a client assertion; status and JSON body.
    pub async fn assertion_grant(&self, tenant: &str, client_id: &str, assertion: &str) -> (u16, Value) {
        let r = self
            .token_form(
                tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion),
                    ("scope", "api://reports/.default"),
                ],
            )
            .await;
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn admin_token(&self) -> String {
        self.token(
            &self.boot.client_id.to_string(),
            self.boot.client_secret.expose(),
            "https://graph.microsoft.com/.default",
        )
        .await
    }

    pub async fn graph(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(&format!("/v1.0/{path}")))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(json!(text))
            },
        )
    }

    /// A Graph POST that must succeed: its body.
    pub async fn create(&self, token: &str, path: &str, body: Value) -> Value {
        let (s, v) = self.graph(reqwest::Method::POST, path, token, Some(body)).await;
        assert!(s < 300, "POST {path}: {s} {v}");
        v
    }

    /// Alice, `alice@contoso.example`, who may sign in with `password` at once.
    pub async fn alice(&self, admin: &str, password: &str) -> Value {
        let user = json!({"accountEnabled": true, "displayName": "Alice Example", "mailNickname": "alice",
                          "userPrincipalName": "alice@contoso.example",
                          "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false}});
        self.create(admin, "users", user).await
    }

    /// Alice's password grant (ROPC) through the public client `client_id`: the answer's body.
    pub async fn alice_signs_in(&self, client_id: &str, password: &str, scope: &str) -> Value {
        let form = [
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", "alice@contoso.example"),
            ("password", password),
            ("scope", scope),
        ];
        self.token_form(&self.tenant(), &form).await.json().await.unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        if let Some(db) = self.pg.take() {
            db.drop_now().await;
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A daemon application with a secret, and an API exposing `Reports.Read` / `Reports.Write` app roles.
pub struct Journey {
    pub api_app_id: String,
    pub api_sp_id: String,
    pub read_role: String,
    pub daemon_app_object_id: String,
    pub daemon_app_id: String,
    pub daemon_sp_id: String,
    pub secret: String,
    pub secret_key_id: String,
}

impl Journey {
    /// The daemon's client-credentials request for the API.
    pub fn form(&self) -> [(&str, &str); 4] {
        [
            ("grant_type", "client_credentials"),
            ("client_id", &self.daemon_app_id),
            ("client_secret", &self.secret),
            ("scope", "api://reports/.default"),
        ]
    }

    pub async fn create(app: &TestApp, token_version: Option<u8>) -> Self {
        use reqwest::Method as M;
        let read_role = Uuid::new_v4().to_string();
        let (s, api) = app
            .graph(
                M::POST,
                "applications",
                &app.admin_token().await,
                Some(json!({
                    "displayName": "Reports API",
                    "identifierUris": ["api://reports"],
                    "api": {"requestedAccessTokenVersion": token_version},
                    "appRoles": [
                        {"allowedMemberTypes": ["Application"], "id": read_role, "value": "Reports.Read",
                         "displayName": "Read reports", "description": "Read reports", "isEnabled": true},
                        {"allowedMemberTypes": ["Application"], "id": Uuid::new_v4(), "value": "Reports.Write",
                         "displayName": "Write reports", "description": "Write reports", "isEnabled": true}
                    ]
                })),
            )
            .await;
        assert_eq!(s, 201, "{api}");
        let admin = app.admin_token().await;
        let api_app_id = api["appId"].as_str().unwrap().to_string();
        let (s, api_sp) = app
            .graph(
                M::POST,
                "servicePrincipals",
                &admin,
                Some(json!({"appId": api_app_id})),
            )
            .await;
        assert_eq!(s, 201, "{api_sp}");
        let (s, daemon) = app
            .graph(
                M::POST,
                "applications",
                &admin,
                Some(json!({"displayName": "Nightly job"})),
            )
            .await;
        assert_eq!(s, 201, "{daemon}");
        let daemon_app_id = daemon["appId"].as_str().unwrap().to_string();
        let (s, daemon_sp) = app
            .graph(
                M::POST,
                "servicePrincipals",
                &admin,
                Some(json!({"appId": daemon_app_id})),
            )
            .await;
        assert_eq!(s, 201, "{daemon_sp}");
        let object_id = daemon["id"].as_str().unwrap().to_string();
        let (s, pw) = app
            .graph(
                M::POST,
                &format!("applications/{object_id}/addPassword"),
                &admin,
                Some(json!({"passwordCredential": {"displayName": "ci"}})),
            )
            .await;
        assert_eq!(s, 200, "{pw}");
        let j = Self {
            api_app_id,
            api_sp_id: api_sp["id"].as_str().unwrap().to_string(),
            read_role,
            daemon_app_object_id: object_id,
            daemon_app_id,
            daemon_sp_id: daemon_sp["id"].as_str().unwrap().to_string(),
            secret: pw["secretText"].as_str().unwrap().to_string(),
            secret_key_id: pw["keyId"].as_str().unwrap().to_string(),
        };
        let (s, a) = app
            .graph(
                M::POST,
                &format!("servicePrincipals/{}/appRoleAssignedTo", j.api_sp_id),
                &admin,
                Some(json!({"principalId": j.daemon_sp_id, "resourceId": j.api_sp_id, "appRoleId": j.read_role})),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        j
    }
}

/// Decodes a JWT's claims without checking anything (for assertions on what the server issued).
/// Polls `check` every 20 ms until it holds, for at most `limit` (then fails, naming `what`); how
/// long it took.
pub async fn within<F: std::future::Future<Output = bool>>(
    limit: std::time::Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    start.elapsed()
}

/// Every application's appId in the tenant, read page by page through Graph.
pub async fn all_application_ids(app: &TestApp, admin: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = Some("applications?$top=999".to_string());
    while let Some(path) = page.take() {
        let (s, list) = app.graph(reqwest::Method::GET, &path, admin, None).await;
        assert_eq!(s, 200, "{list}");
        ids.extend(
            list["value"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["appId"].as_str().map(str::to_string)),
        );
        page = list["@odata.nextLink"]
            .as_str()
            .and_then(|next| next.split_once("/v1.0/"))
            .map(|(_, rest)| rest.to_string());
    }
    ids
}

pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&gatehouse_jose::b64url_decode(payload).unwrap()).unwrap()
}

/// Runs `gatehouse tenant ARGS` against `app`'s store; fails the test unless it succeeds.
pub async fn tenant_cli(app: &TestApp, args: &[&str]) -> (Value, String) {
    let (ok, v, err) = tenant_cli_may_fail(app, args).await;
    assert!(ok, "tenant {args:?}: {err}");
    (v, err)
}

pub async fn tenant_cli_may_fail(app: &TestApp, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["tenant".to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.extend(app.store_args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    gatehouse(&temp_dir(), &refs).await
}

pub fn credentials(v: &Value) -> BootstrapOutput {
    let fields = v.as_object().map(|o| o.len());
    assert!(matches!(fields, Some(4 | 6)), "{v}");
    BootstrapOutput {
        tenant_id: v["tenantId"].as_str().unwrap().parse().unwrap(),
        domain: v["domain"].as_str().unwrap().into(),
        client_id: v["clientId"].as_str().unwrap().parse().unwrap(),
        client_secret: Secret::new(v["clientSecret"].as_str().unwrap()),
        admin_user_principal_name: v["adminUserPrincipalName"].as_str().map(str::to_string),
        admin_password: v["adminPassword"].as_str().map(Secret::new),
    }
}

/// A user of the test tenant (`NAME@contoso.example`, password `browser::PASSWORD`), holding the
/// directory role `role` (a template id) if given.
pub async fn user(app: &TestApp, admin: &str, name: &str, role: Option<&str>) -> Value {
    let u = app
        .create(
            admin,
            "users",
            json!({"accountEnabled": true, "displayName": name, "mailNickname": name,
                   "userPrincipalName": format!("{name}@contoso.example"),
                   "passwordProfile": {"password": crate::browser::PASSWORD, "forceChangePasswordNextSignIn": false}}),
        )
        .await;
    if let Some(role) = role {
        app.create(
            admin,
            "roleManagement/directory/roleAssignments",
            json!({"principalId": u["id"], "roleDefinitionId": role, "directoryScopeId": "/"}),
        )
        .await;
    }
    u
}
