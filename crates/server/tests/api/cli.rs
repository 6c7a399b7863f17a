//! The az-style CLI against a running server: login, app create, credential reset, sp create,
//! permission add, admin-consent, and then a token that carries the consented role.

use std::path::Path;

use serde_json::json;

use crate::helpers::{claims, gatehouse, gatehouse_text, temp_dir, TestApp};

/// `gatehouse login` as the bootstrap management application.
pub async fn login(config: &Path, app: &TestApp) {
    let id = app.boot.client_id.to_string();
    let tenant = app.tenant();
    let args = [
        "login",
        "--service-principal",
        "-u",
        &id,
        "-p",
        app.boot.client_secret.expose(),
        "--tenant",
        &tenant,
        "--server",
        &app.base,
    ];
    let (ok, _, err) = gatehouse(config, &args).await;
    assert!(ok, "{err}");
}

#[tokio::test]
async fn az_style_journey_ends_in_a_token_with_the_consented_role() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    login(&config, &app).await;

    // An API with an app role, made through Graph (the CLI has no app-role command yet).
    let role = uuid::Uuid::new_v4().to_string();
    let admin = app.admin_token().await;
    let (_, api) = app
        .graph(reqwest::Method::POST, "applications", &admin, Some(json!({"displayName": "API", "identifierUris": ["api://cli-api"], "appRoles": [{"allowedMemberTypes": ["Application"], "id": role, "value": "Data.Read", "isEnabled": true}]})))
        .await;
    let api_app_id = api["appId"].as_str().unwrap().to_string();
    let (ok, _, err) = gatehouse(&config, &["sp", "create", "--id", &api_app_id]).await;
    assert!(ok, "{err}");

    let (ok, created, err) = gatehouse(&config, &["app", "create", "--display-name", "cli daemon"]).await;
    assert!(ok, "{err}");
    let daemon = created["appId"].as_str().unwrap().to_string();
    let (ok, cred, err) = gatehouse(&config, &["app", "credential", "reset", "--id", &daemon]).await;
    assert!(ok, "{err}");
    assert_eq!(cred["appId"], daemon.as_str());
    assert_eq!(cred["tenant"], app.tenant());
    let password = cred["password"].as_str().unwrap().to_string();
    let (ok, _, err) = gatehouse(&config, &["sp", "create", "--id", &daemon]).await;
    assert!(ok, "{err}");
    let perm = format!("{role}=Role");
    let (ok, _, err) = gatehouse(
        &config,
        &[
            "app",
            "permission",
            "add",
            "--id",
            &daemon,
            "--api",
            &api_app_id,
            "--api-permissions",
            &perm,
        ],
    )
    .await;
    assert!(ok, "{err}");
    // A delegated permission too (Graph's User.Read): admin consent grants it for every user.
    let graph = "00000003-0000-0000-c000-000000000000";
    let user_read = "e1fe6dd8-ba31-4d61-89e7-88639da4683d=Scope";
    let add = [
        "app",
        "permission",
        "add",
        "--id",
        &daemon,
        "--api",
        graph,
        "--api-permissions",
        user_read,
    ];
    let (ok, _, err) = gatehouse(&config, &add).await;
    assert!(ok, "{err}");
    let (ok, granted, err) =
        gatehouse(&config, &["app", "permission", "admin-consent", "--id", &daemon]).await;
    assert!(ok, "{err}");
    assert_eq!(granted.as_array().unwrap().len(), 2, "{granted}");
    let (ok, grants, err) = gatehouse(&config, &["app", "permission", "list-grants", "--id", &daemon]).await;
    assert!(ok, "{err}");
    assert_eq!(
        (grants[0]["consentType"].as_str(), grants[0]["scope"].as_str()),
        (Some("AllPrincipals"), Some("User.Read")),
        "{grants}"
    );

    let token = app.token(&daemon, &password, "api://cli-api/.default").await;
    assert_eq!(claims(&token)["roles"], json!(["Data.Read"]));

    // A reset replaces the old secret.
    let (ok, _, _) = gatehouse(&config, &["app", "credential", "reset", "--id", &daemon]).await;
    assert!(ok);
    let r = app
        .token_form(
            &app.tenant(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &daemon),
                ("client_secret", &password),
                ("scope", "api://cli-api/.default"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);

    let (ok, list, _) = gatehouse(&config, &["app", "list"]).await;
    assert!(ok && list.as_array().unwrap().len() == 3);
    let (ok, _, _) = gatehouse(&config, &["app", "delete", "--id", &daemon]).await;
    assert!(ok);
    let (ok, _, err) = gatehouse(&config, &["app", "show", "--id", &daemon]).await;
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    let _ = std::fs::remove_dir_all(config);
    app.stop().await;
}

#[tokio::test]
async fn login_with_a_wrong_secret_fails_in_one_line() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    let (ok, _, err) = gatehouse(
        &config,
        &[
            "login",
            "--service-principal",
            "-u",
            &app.boot.client_id.to_string(),
            "-p",
            "wrong",
            "--tenant",
            &app.tenant(),
            "--server",
            &app.base,
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    let (ok, _, err) = gatehouse(&config, &["app", "list"]).await;
    assert!(!ok && err.contains("not logged in"), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn init_prints_one_json_object_once_and_then_refuses() {
    let config = temp_dir();
    let data = temp_dir();
    let dir = data.to_str().unwrap();
    let (ok, out, err) = gatehouse(
        &config,
        &[
            "init",
            "--json",
            "--data-dir",
            dir,
            "--domain",
            "fabrikam.example",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out["domain"], "fabrikam.example");
    for k in ["tenantId", "clientId", "clientSecret", "adminPassword"] {
        assert!(out[k].is_string(), "{k}");
    }
    assert_eq!(out["adminUserPrincipalName"], "admin@fabrikam.example");
    assert_eq!(out.as_object().unwrap().len(), 6);
    // The administrator's password is stored as a hash that checks against the printed one.
    let store = gatehouse_store::open(&format!("sqlite:{dir}/gatehouse.db"))
        .await
        .unwrap();
    let tenant = out["tenantId"].as_str().unwrap().parse().unwrap();
    let admin = store
        .find_user_by_upn(tenant, "ADMIN@fabrikam.example")
        .await
        .unwrap()
        .unwrap();
    let printed = gatehouse_proto::token::Secret::new(out["adminPassword"].as_str().unwrap());
    assert!(gatehouse_core::passwords::verify_blocking(
        admin.password.as_ref(),
        &printed
    ));
    gatehouse_core::passwords::check_complexity(printed.expose()).unwrap();
    store.close().await;
    let (ok, _, err) = gatehouse(&config, &["init", "--json", "--data-dir", dir]).await;
    assert!(!ok && err.contains("already holds a tenant"), "{err}");
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn keys_list_and_rotate_against_the_store() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    let data = app.data_dir.display().to_string();
    let keys = |extra: &'static [&'static str]| {
        let mut args = vec!["keys"];
        args.extend_from_slice(extra);
        args.extend(["--data-dir", data.as_str()]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let config = config.clone();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let (ok, v, err) = gatehouse(&config, &refs).await;
            assert!(ok, "{err}");
            v
        }
    };
    let listed = run(keys(&["list"])).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["state"], "active");

    let rotated = run(keys(&["rotate"])).await;
    assert_eq!(rotated["added"], true);
    let states: Vec<&str> = rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["pending", "active"]);
    let again = run(keys(&["rotate"])).await;
    assert_eq!(
        (&again["added"], &again["kid"]),
        (&json!(false), &rotated["kid"]),
        "one pending key at most"
    );

    let emergency = run(keys(&["rotate", "--emergency"])).await;
    assert_eq!(emergency["keys"].as_array().unwrap().len(), 1);
    assert_eq!(emergency["keys"][0]["state"], "active");
    assert_eq!(emergency["keys"][0]["kid"], emergency["kid"]);
    app.stop().await;
}

#[tokio::test]
async fn certificates_and_federated_credentials_through_the_cli() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    login(&config, &app).await;
    let (_, created, _) = gatehouse(&config, &["app", "create", "--display-name", "cert daemon"]).await;
    let daemon = created["appId"].as_str().unwrap().to_string();

    // --create-cert writes the key and certificate (mode 0600) and registers the certificate.
    std::fs::create_dir_all(&config).unwrap();
    let pem = config.join("daemon.pem");
    let pem_s = pem.display().to_string();
    let args = [
        "app",
        "credential",
        "reset",
        "--id",
        &daemon,
        "--create-cert",
        "--cert-file",
        &pem_s,
    ];
    let (ok, out, err) = gatehouse(&config, &args).await;
    assert!(ok, "{err}");
    assert_eq!(out["fileWithCertAndPrivateKey"], pem_s.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // --cert @file appends a second one; without --append it would replace.
    let other = gatehouse_jose::SigningKey::generate("other", time::OffsetDateTime::now_utc(), 1).unwrap();
    let other_path = config.join("other.der");
    std::fs::write(&other_path, other.certificate_der()).unwrap();
    let at = format!("@{}", other_path.display());
    let (ok, out, err) = gatehouse(
        &config,
        &[
            "app",
            "credential",
            "reset",
            "--id",
            &daemon,
            "--cert",
            &at,
            "--append",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out["thumbprint"].as_str().unwrap().len(), 40);
    let (_, shown, _) = gatehouse(&config, &["app", "show", "--id", &daemon]).await;
    assert_eq!(shown["keyCredentials"].as_array().unwrap().len(), 2);

    let params = r#"{"name": "ci-runner", "issuer": "https://issuer.example", "subject": "repo:x"}"#;
    let (ok, fic, err) = gatehouse(
        &config,
        &[
            "app",
            "federated-credential",
            "create",
            "--id",
            &daemon,
            "--parameters",
            params,
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(fic["audiences"], json!(["api://AzureADTokenExchange"]));
    let (_, list, _) = gatehouse(&config, &["app", "federated-credential", "list", "--id", &daemon]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let show = [
        "app",
        "federated-credential",
        "show",
        "--id",
        &daemon,
        "--federated-credential-id",
        "ci-runner",
    ];
    assert_eq!(gatehouse(&config, &show).await.1["id"], fic["id"]);
    let delete = [
        "app",
        "federated-credential",
        "delete",
        "--id",
        &daemon,
        "--federated-credential-id",
        "ci-runner",
    ];
    assert!(gatehouse(&config, &delete).await.0);
    let (ok, _, err) = gatehouse(&config, &show).await;
    assert!(!ok && !err.is_empty());
    app.stop().await;
}

/// Issue #8: input that should be refused is refused, before anything is written, with what to do.
#[tokio::test]
async fn bad_configuration_is_refused_at_parse_time_and_store_commands_need_a_store() {
    let config = temp_dir();
    let missing = temp_dir();
    let dir = missing.to_str().unwrap();
    let tls_dir = temp_dir().display().to_string();
    let tls_missing = format!("{tls_dir}/no-such.pem");
    for (args, says) in [
        (
            vec!["serve", "--database-url", "mysql://root@localhost/db"],
            "'mysql' is not a database Gatehouse uses",
        ),
        (
            vec!["serve", "--database-url", "postgress://x@h/db"],
            "'postgress' is not a database",
        ),
        (
            vec!["serve", "--public-url", "not-a-url"],
            "is not an absolute http(s) URL",
        ),
        (vec!["serve", "--listen", "8444"], "such as 127.0.0.1:8444"),
        (vec!["keys", "list", "--data-dir", dir], "no Gatehouse store in"),
        (vec!["tenant", "list", "--data-dir", dir], "no Gatehouse store in"),
        (
            vec!["keys", "list", "--database-url", "postgres://postgres@127.0.0.1:1/test"],
            "cannot connect to PostgreSQL at 127.0.0.1:1: error communicating with database: Connection refused",
        ),
        (
            vec!["serve", "--data-dir", &tls_dir, "--listen", "127.0.0.1:0", "--tls-cert", &tls_missing, "--tls-key", &tls_missing],
            "--tls-cert ",
        ),
    ] {
        let (ok, _, err) = gatehouse(&config, &args).await;
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains(says), "{args:?}: {err}");
        let said: Vec<&str> = err
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
            .collect();
        assert_eq!(said.len(), 1, "one line (and clap's pointer to --help): {err}");
    }
    assert!(
        !missing.exists(),
        "nothing was created under a mistyped --data-dir"
    );
}

/// Issue #8: a CLI that cannot talk to the server says why, and what to do.
#[tokio::test]
async fn an_untrusted_certificate_or_a_silent_port_is_named_as_such() {
    let app = TestApp::spawn_with(None, gatehouse_server::settings::TlsMode::LocalCa).await;
    let config = temp_dir();
    let empty_data_home = temp_dir();
    let login = |server: String| {
        let config = config.clone();
        let data_home = empty_data_home.clone();
        let id = app.boot.client_id.to_string();
        let secret = app.boot.client_secret.expose().to_string();
        let tenant = app.tenant();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
                .args([
                    "login",
                    "--service-principal",
                    "-u",
                    &id,
                    "-p",
                    &secret,
                    "--tenant",
                    &tenant,
                ])
                .args(["--server", &server])
                .env("GATEHOUSE_CONFIG_DIR", &config)
                // No local CA to fall back on: the CLI must not trust the server by accident.
                .env("XDG_DATA_HOME", &data_home)
                .env_remove("GATEHOUSE_LOG")
                .output()
                .await
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    };
    let (ok, err) = login(app.base.clone()).await;
    assert!(
        !ok && err.contains("not trusted") && err.contains("--ca-file"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ok, err) = login(format!("https://localhost:{closed}")).await;
    assert!(!ok && err.contains("nothing answers at"), "{err}");
    app.stop().await;
}

/// Runs the CLI and expects success; returns its JSON output.
async fn ok(config: &Path, args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = gatehouse(config, args).await;
    assert!(ok, "gatehouse {}: {err}", args.join(" "));
    out
}

/// Runs the CLI and expects one line on stderr and a non-zero exit.
async fn fails(config: &Path, args: &[&str]) -> String {
    let (ok, _, err) = gatehouse(config, args).await;
    assert!(!ok, "gatehouse {} should fail", args.join(" "));
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

#[tokio::test]
async fn the_cli_finishes_what_it_starts_as_az_ad_does() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    login(&config, &app).await;
    let roles = config.join("roles.json");
    let role = uuid::Uuid::new_v4().to_string();
    std::fs::write(
        &roles,
        json!([{"allowedMemberTypes": ["Application"], "id": role, "value": "Jobs.Run",
                "displayName": "Run jobs", "description": "Run jobs", "isEnabled": true}])
        .to_string(),
    )
    .unwrap();

    // create and update with az's property options.
    let api = ok(
        &config,
        &[
            "app",
            "create",
            "--display-name",
            "Jobs API",
            "--identifier-uris",
            "api://jobs",
            "--app-roles",
            &format!("@{}", roles.display()),
            "--requested-access-token-version",
            "2",
            "--sign-in-audience",
            "AzureADMyOrg",
        ],
    )
    .await;
    let api_id = api["appId"].as_str().unwrap().to_string();
    assert_eq!(api["appRoles"][0]["value"], "Jobs.Run");
    assert_eq!(api["api"]["requestedAccessTokenVersion"], 2);
    let admin = app.admin_token().await;
    let web = json!({"web": {"homePageUrl": "https://jobs.example", "implicitGrantSettings": {"enableIdTokenIssuance": true}}});
    let path = format!("applications/{}", api["id"].as_str().unwrap());
    assert_eq!(
        app.graph(reqwest::Method::PATCH, &path, &admin, Some(web))
            .await
            .0,
        204
    );
    ok(
        &config,
        &[
            "app",
            "update",
            "--id",
            "api://jobs",
            "--web-redirect-uris",
            "https://jobs.example/cb",
            "--public-client-redirect-uris",
            "http://localhost",
            "--requested-access-token-version",
            "1",
        ],
    )
    .await;
    let shown = ok(&config, &["app", "show", "--id", &api_id]).await;
    assert_eq!(shown["web"]["redirectUris"], json!(["https://jobs.example/cb"]));
    assert_eq!(
        shown["web"]["homePageUrl"], "https://jobs.example",
        "the rest of web is kept"
    );
    assert_eq!(
        shown["web"]["implicitGrantSettings"]["enableIdTokenIssuance"],
        true
    );
    assert_eq!(shown["publicClient"]["redirectUris"], json!(["http://localhost"]));
    assert_eq!(shown["api"]["requestedAccessTokenVersion"], 1);
    ok(
        &config,
        &[
            "app",
            "update",
            "--id",
            &api_id,
            "--web-home-page-url",
            "https://jobs.example/home",
            "--enable-id-token-issuance",
            "false",
        ],
    )
    .await;
    let web = ok(&config, &["app", "show", "--id", &api_id]).await["web"].clone();
    assert_eq!(
        (
            &web["homePageUrl"],
            &web["implicitGrantSettings"]["enableIdTokenIssuance"],
            &web["redirectUris"]
        ),
        (
            &json!("https://jobs.example/home"),
            &json!(false),
            &json!(["https://jobs.example/cb"])
        ),
        "both web settings change and the redirect URIs stay"
    );
    assert_eq!(
        shown["appRoles"][0]["id"],
        role.as_str(),
        "an update keeps what it does not name"
    );
    ok(&config, &["sp", "create", "--id", "api://jobs"]).await;

    // list filters, sp show by any of its names, and -o table / tsv.
    let listed = ok(&config, &["app", "list", "--display-name", "jobs"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        ok(&config, &["app", "list", "--identifier-uri", "api://jobs"]).await[0]["appId"],
        api_id.as_str()
    );
    assert_eq!(
        ok(&config, &["sp", "list", "--display-name", "Jobs"]).await[0]["appId"],
        api_id.as_str()
    );
    assert_eq!(
        ok(&config, &["sp", "show", "--id", "api://jobs"]).await["appId"],
        api_id.as_str()
    );
    let (_, table, _) = gatehouse_text(&config, &["app", "list", "--app-id", &api_id, "-o", "table"]).await;
    assert!(table.starts_with("DisplayName  Id"), "{table}");
    assert!(table.lines().nth(2).unwrap().starts_with("Jobs API"), "{table}");
    let (_, tsv, _) = gatehouse_text(&config, &["sp", "show", "--id", &api_id, "--output", "tsv"]).await;
    assert!(tsv.starts_with("Jobs API\t") && tsv.contains(&api_id), "{tsv}");

    // Credentials: list and delete by key id, for secrets and certificates.
    let daemon = ok(&config, &["app", "create", "--display-name", "Jobs daemon"]).await;
    let daemon_id = daemon["appId"].as_str().unwrap().to_string();
    ok(
        &config,
        &[
            "app",
            "credential",
            "reset",
            "--id",
            &daemon_id,
            "--display-name",
            "one",
        ],
    )
    .await;
    ok(
        &config,
        &[
            "app",
            "credential",
            "reset",
            "--id",
            &daemon_id,
            "--append",
            "--display-name",
            "two",
        ],
    )
    .await;
    let creds = ok(&config, &["app", "credential", "list", "--id", &daemon_id]).await;
    assert_eq!(creds.as_array().unwrap().len(), 2);
    assert!(
        creds[0].get("secretText").is_none_or(|s| s.is_null()),
        "never a secret: {creds}"
    );
    let first = creds[0]["keyId"].as_str().unwrap().to_string();
    let delete = [
        "app",
        "credential",
        "delete",
        "--id",
        &daemon_id,
        "--key-id",
        &first,
    ];
    ok(&config, &delete).await;
    let err = fails(&config, &delete).await;
    assert!(err.contains("no client secret with key id"), "{err}");
    assert_eq!(
        ok(&config, &["app", "credential", "list", "--id", &daemon_id])
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let pem = config.join("daemon.pem");
    ok(
        &config,
        &[
            "app",
            "credential",
            "reset",
            "--id",
            &daemon_id,
            "--create-cert",
            "--cert-file",
            pem.to_str().unwrap(),
        ],
    )
    .await;
    let certs = ok(
        &config,
        &["app", "credential", "list", "--id", &daemon_id, "--cert"],
    )
    .await;
    let cert_key = certs[0]["keyId"].as_str().unwrap().to_string();
    ok(
        &config,
        &[
            "app",
            "credential",
            "delete",
            "--id",
            &daemon_id,
            "--key-id",
            &cert_key,
            "--cert",
        ],
    )
    .await;
    assert_eq!(
        ok(
            &config,
            &["app", "credential", "list", "--id", &daemon_id, "--cert"]
        )
        .await,
        json!([])
    );

    // Permissions: an id the API does not offer is refused with what it does offer; list; delete.
    let bogus = format!("{}=Role", uuid::Uuid::new_v4());
    let err = fails(
        &config,
        &[
            "app",
            "permission",
            "add",
            "--id",
            &daemon_id,
            "--api",
            &api_id,
            "--api-permissions",
            &bogus,
        ],
    )
    .await;
    assert!(
        err.contains("is not an app role") && err.contains(&format!("Jobs.Run ({role})")),
        "{err}"
    );
    let perm = format!("{role}=Role");
    ok(
        &config,
        &[
            "app",
            "permission",
            "add",
            "--id",
            &daemon_id,
            "--api",
            &api_id,
            "--api-permissions",
            &perm,
        ],
    )
    .await;
    assert_eq!(
        ok(&config, &["app", "permission", "list", "--id", &daemon_id]).await,
        json!([{"resourceAppId": api_id, "resourceAccess": [{"id": role, "type": "Role"}]}])
    );
    ok(
        &config,
        &[
            "app",
            "permission",
            "delete",
            "--id",
            &daemon_id,
            "--api",
            &api_id,
        ],
    )
    .await;
    assert_eq!(
        ok(&config, &["app", "permission", "list", "--id", &daemon_id]).await,
        json!([])
    );

    // Delegated grants, as az makes them: a second grant for the same API replaces the first.
    ok(&config, &["sp", "create", "--id", &daemon_id]).await;
    let graph = "00000003-0000-0000-c000-000000000000";
    let grant = [
        "app",
        "permission",
        "grant",
        "--id",
        &daemon_id,
        "--api",
        graph,
        "--scope",
    ];
    let first = ok(&config, &[&grant[..], &["User.Read", "openid"]].concat()).await;
    assert_eq!(first["scope"], "User.Read openid");
    ok(&config, &[&grant[..], &["profile"]].concat()).await;
    let grants = ok(&config, &["app", "permission", "list-grants", "--id", &daemon_id]).await;
    assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");
    assert_eq!(grants[0]["scope"], "profile");
    let err = fails(&config, &[&grant[..], &["Mail.Send"]].concat()).await;
    assert!(err.contains("'Mail.Send' is not a delegated permission"), "{err}");
    let kept = ok(&config, &["app", "permission", "list-grants", "--id", &daemon_id]).await;
    assert_eq!(kept[0]["scope"], "profile", "a refused grant changes nothing");

    // Ids that are not ids, and updates with nothing to do, say so.
    let err = fails(&config, &["app", "show", "--id", "not-a-guid"]).await;
    assert!(
        err.contains("no application has the appId, object id or identifier URI 'not-a-guid'"),
        "{err}"
    );
    let err = fails(&config, &["sp", "show", "--id", "not-a-guid"]).await;
    assert!(err.contains("no service principal has"), "{err}");
    let err = fails(&config, &["app", "update", "--id", &daemon_id]).await;
    assert!(err.contains("nothing to update"), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn a_second_login_without_server_goes_where_the_first_went() {
    let app = TestApp::spawn().await;
    let config = temp_dir();
    login(&config, &app).await;
    // No --server this time: the last login's is used (not the default https://localhost:8443).
    let id = app.boot.client_id.to_string();
    let tenant = app.tenant();
    let args = [
        "login",
        "--service-principal",
        "-u",
        &id,
        "-p",
        app.boot.client_secret.expose(),
        "--tenant",
        &tenant,
    ];
    let out = ok(&config, &args).await;
    assert_eq!(out[0]["server"], app.base.as_str(), "{out}");
    app.stop().await;
}
