//! az-style commands over the Graph API, for people: `app …` and `sp …`. Output is JSON on stdout;
//! failures are one line on stderr and a non-zero exit.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};
use url::form_urlencoded;

use super::output::OutputArgs;
use super::session::{self, Session};

/// `gatehouse app …`: the command and how to print its result.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(subcommand)]
    pub command: AppCommand,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `gatehouse sp …`: the command and how to print its result.
#[derive(Debug, Args)]
pub struct SpArgs {
    #[command(subcommand)]
    pub command: SpCommand,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        /// The application's name.
        #[arg(long)]
        display_name: String,
        #[command(flatten)]
        properties: AppProperties,
    },
    /// Change an application's properties; each option given replaces that property.
    Update {
        #[command(flatten)]
        id: IdArg,
        /// A new name.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        properties: AppProperties,
    },
    /// List the tenant's applications (every page), optionally filtered.
    List(AppListArgs),
    /// Show one application, by appId, object id or identifier URI.
    Show(IdArg),
    /// Delete an application (and its service principal).
    Delete(IdArg),
    /// Client secrets and certificates.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Federated identity credentials (workload identity federation).
    #[command(subcommand)]
    FederatedCredential(FederatedCommand),
    /// API permissions the application requests.
    #[command(subcommand)]
    Permission(PermissionCommand),
}

/// The properties `app create` and `app update` set, as az names them.
#[derive(Debug, Args)]
pub struct AppProperties {
    /// Who may sign in: AzureADMyOrg (this tenant), AzureADMultipleOrgs (any tenant), or the
    /// AzureADandPersonalMicrosoftAccount and PersonalMicrosoftAccount forms.
    #[arg(long)]
    sign_in_audience: Option<String>,
    /// Identifier URIs (App ID URIs) such as api://my-api; with no value, none.
    #[arg(long, num_args = 0..)]
    identifier_uris: Option<Vec<String>>,
    /// App roles: a JSON array of Graph appRole objects, or @file.json.
    #[arg(long)]
    app_roles: Option<String>,
    /// Redirect URIs of the web platform; with no value, none.
    #[arg(long, num_args = 0..)]
    web_redirect_uris: Option<Vec<String>>,
    /// Redirect URIs of the public-client (mobile and desktop) platform; with no value, none.
    #[arg(long, num_args = 0..)]
    public_client_redirect_uris: Option<Vec<String>>,
    /// The version of access tokens issued for this API: 1 or 2.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    requested_access_token_version: Option<u8>,
}

#[derive(Debug, Args)]
pub struct AppListArgs {
    /// Only applications whose name starts with this.
    #[arg(long)]
    display_name: Option<String>,
    /// Only the application with this appId.
    #[arg(long)]
    app_id: Option<String>,
    /// Only the application with this identifier URI.
    #[arg(long)]
    identifier_uri: Option<String>,
    /// An OData filter of your own, such as "startswith(displayName,'api')".
    #[arg(long)]
    filter: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Make a new client secret, replacing the existing ones unless --append, and print it once; or,
    /// with --cert or --create-cert, replace (or --append to) the certificates.
    Reset {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// Keep the existing credentials of that kind instead of replacing them.
        #[arg(long)]
        append: bool,
        /// A name for the new secret.
        #[arg(long)]
        display_name: Option<String>,
        /// Lifetime in years (default 1).
        #[arg(long, default_value_t = 1)]
        years: i64,
        /// A certificate to register: a PEM or DER file (`@file.pem` or `file.pem`).
        #[arg(long, conflicts_with = "create_cert")]
        cert: Option<String>,
        /// Make a self-signed certificate, register it, and write it with its private key (PEM,
        /// mode 0600) to --cert-file or ./gatehouse-<appId>.pem.
        #[arg(long)]
        create_cert: bool,
        /// Where --create-cert writes the certificate and its key.
        #[arg(long, requires = "create_cert")]
        cert_file: Option<std::path::PathBuf>,
    },
    /// List the client secrets (or, with --cert, the certificates): key ids, hints and dates, never
    /// a secret.
    List {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// List certificates instead of client secrets.
        #[arg(long)]
        cert: bool,
    },
    /// Delete one client secret (or, with --cert, one certificate) by its key id.
    Delete {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The credential's keyId, as `credential list` shows it.
        #[arg(long)]
        key_id: String,
        /// The key id is a certificate's.
        #[arg(long)]
        cert: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum FederatedCommand {
    /// Add one: --parameters '{"name","issuer","subject","audiences"?,"description"?}' or @file.json.
    Create {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The credential as JSON, or @file.json.
        #[arg(long)]
        parameters: String,
    },
    /// List the application's federated credentials.
    List {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
    },
    /// Show one, by id or name.
    Show {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The federated credential's id or name.
        #[arg(long)]
        federated_credential_id: String,
    },
    /// Delete one, by id or name.
    Delete {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The federated credential's id or name.
        #[arg(long)]
        federated_credential_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Request permissions of an API: --api-permissions ID=Role (application) or ID=Scope (delegated).
    /// Each id must be one of the API's app roles or delegated scopes.
    Add {
        /// The application that requests them: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The API's appId (00000003-0000-0000-c000-000000000000 for Microsoft Graph).
        #[arg(long)]
        api: String,
        /// One or more ID=Role or ID=Scope.
        #[arg(long, num_args = 1.., required = true)]
        api_permissions: Vec<String>,
    },
    /// The permissions the application requests, per API (requiredResourceAccess).
    List(IdArg),
    /// Stop requesting permissions of an API: all of them, or only the ids --api-permissions names.
    Delete {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The API's appId.
        #[arg(long)]
        api: String,
        /// Permission ids to remove (default: every permission of that API).
        #[arg(long, num_args = 1..)]
        api_permissions: Vec<String>,
    },
    /// Grant, as an administrator, the application permissions the application requests.
    AdminConsent(IdArg),
    /// Grant delegated permissions (scopes) of an API to the application for every user of the
    /// tenant, replacing its earlier grant for that API, as az does.
    Grant {
        /// The application (or its service principal): appId, object id or name.
        #[arg(long)]
        id: String,
        /// The API: its appId, object id or name.
        #[arg(long)]
        api: String,
        /// Scope values the API offers, such as User.Read.
        #[arg(long, num_args = 1.., required = true)]
        scope: Vec<String>,
    },
    /// The application's delegated permission grants.
    ListGrants(IdArg),
}

#[derive(Debug, Subcommand)]
pub enum SpCommand {
    /// Create the service principal of an application in this tenant.
    Create(IdArg),
    /// List the tenant's service principals (every page), optionally filtered.
    List {
        /// Only service principals whose name starts with this.
        #[arg(long)]
        display_name: Option<String>,
        /// Only the service principal with this name (an appId or identifier URI).
        #[arg(long)]
        spn: Option<String>,
        /// An OData filter of your own, such as "appId eq '…'".
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one service principal, by its application's appId, its object id, or one of its names.
    Show(IdArg),
    /// Delete a service principal (its role assignments go with it).
    Delete(IdArg),
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// appId, object id or identifier URI.
    #[arg(long)]
    pub id: String,
}

/// The Graph API of the logged-in server.
pub struct Graph {
    http: reqwest::Client,
    session: Session,
}

impl Graph {
    pub fn connect() -> Result<Self, String> {
        let session = session::load()?;
        Ok(Self {
            http: session::http_client(session.ca_file.as_ref())?,
            session,
        })
    }

    /// A request to `/v1.0/{path}`; a failure is Graph's message and the status.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}/v1.0/{path}", self.session.server);
        self.call_url(method, &url, body).await
    }

    async fn call_url(&self, method: Method, url: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.session.access_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| super::session::unreachable(&self.session.server, &e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(value)
        } else {
            let msg = value["error"]["message"].as_str().unwrap_or("request failed");
            Err(format!("{} ({})", msg, status.as_u16()))
        }
    }

    /// Every entity of a collection, following `@odata.nextLink` to the last page, as az does.
    async fn list(&self, set: &str, filter: Option<String>) -> Result<Value, String> {
        let mut url = format!("{}/v1.0/{set}", self.session.server);
        if let Some(f) = filter {
            url = format!(
                "{url}?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("$filter", &f)
                    .finish()
            );
        }
        let mut all = Vec::new();
        loop {
            let page = self.call_url(Method::GET, &url, None).await?;
            all.extend(page["value"].as_array().cloned().unwrap_or_default());
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return Ok(Value::Array(all)),
            }
        }
    }

    /// An application by appId (tried first, as az does), object id, or identifier URI.
    async fn application(&self, id: &str) -> Result<Value, String> {
        if uuid::Uuid::parse_str(id).is_err() {
            let found = self
                .list(
                    "applications",
                    Some(format!("identifierUris/any(s:s eq '{}')", quoted(id))),
                )
                .await?;
            return found
                .as_array()
                .and_then(|a| a.first().cloned())
                .ok_or_else(|| format!("no application has the appId, object id or identifier URI '{id}'"));
        }
        match self
            .call(Method::GET, &format!("applications(appId='{id}')"), None)
            .await
        {
            Ok(v) => Ok(v),
            Err(_) => self.call(Method::GET, &format!("applications/{id}"), None).await,
        }
    }

    /// The service principal of an application (by appId) in this tenant, if there is one.
    async fn service_principal(&self, app_id: &str) -> Result<Option<Value>, String> {
        let list = self
            .list(
                "servicePrincipals",
                Some(format!("appId eq '{}'", quoted(app_id))),
            )
            .await?;
        Ok(list.as_array().and_then(|v| v.first().cloned()))
    }

    /// A service principal by its application's appId (tried first), one of its names, or its own
    /// object id.
    async fn find_service_principal(&self, id: &str) -> Result<Value, String> {
        if let Some(sp) = self.service_principal(id).await? {
            return Ok(sp);
        }
        let named = self
            .list(
                "servicePrincipals",
                Some(format!("servicePrincipalNames/any(c:c eq '{}')", quoted(id))),
            )
            .await?;
        if let Some(sp) = named.as_array().and_then(|a| a.first()) {
            return Ok(sp.clone());
        }
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(format!(
                "no service principal has the appId, name or object id '{id}'"
            ));
        }
        self.call(Method::GET, &format!("servicePrincipals/{id}"), None)
            .await
    }
}

/// A value inside an OData string literal: single quotes doubled.
fn quoted(v: &str) -> String {
    v.replace('\'', "''")
}

/// `startswith(displayName,'…')`, `appId eq '…'` and the like, joined with `and`, as az builds them.
fn filters(parts: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// A JSON argument given inline or as `@file.json`.
fn json_arg(name: &str, text: &str) -> Result<Value, String> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| format!("--{name}: not JSON: {e}"))
}

impl AppProperties {
    /// The Graph body these options set; `api` is the application's current `api`, which a new
    /// token version is merged into (a PATCH replaces the whole complex property).
    fn body(&self, mut body: Value, api: Option<&Value>) -> Result<Value, String> {
        if let Some(a) = &self.sign_in_audience {
            body["signInAudience"] = json!(a);
        }
        if let Some(u) = &self.identifier_uris {
            body["identifierUris"] = json!(u);
        }
        if let Some(r) = &self.app_roles {
            let roles = json_arg("app-roles", r)?;
            if !roles.is_array() {
                return Err("--app-roles: give a JSON array of appRole objects".into());
            }
            body["appRoles"] = roles;
        }
        if let Some(u) = &self.web_redirect_uris {
            body["web"] = json!({"redirectUris": u});
        }
        if let Some(u) = &self.public_client_redirect_uris {
            body["publicClient"] = json!({"redirectUris": u});
        }
        if let Some(v) = self.requested_access_token_version {
            let mut api = api.cloned().unwrap_or_else(|| json!({}));
            api["requestedAccessTokenVersion"] = json!(v);
            body["api"] = api;
        }
        Ok(body)
    }
}

pub async fn app(cmd: AppCommand) -> Result<Value, String> {
    let g = Graph::connect()?;
    match cmd {
        AppCommand::Create {
            display_name,
            properties,
        } => {
            let body = properties.body(json!({"displayName": display_name}), None)?;
            g.call(Method::POST, "applications", Some(body)).await
        }
        AppCommand::Update {
            id,
            display_name,
            properties,
        } => {
            let app = g.application(&id.id).await?;
            let mut body = properties.body(json!({}), Some(&app["api"]))?;
            if let Some(n) = display_name {
                body["displayName"] = json!(n);
            }
            if body.as_object().is_some_and(|b| b.is_empty()) {
                return Err("nothing to update: give at least one property option (see --help)".into());
            }
            let path = format!("applications/{}", str_of(&app, "id")?);
            g.call(Method::PATCH, &path, Some(body)).await?;
            Ok(Value::Null)
        }
        AppCommand::List(a) => {
            let filter = filters([
                a.display_name
                    .map(|d| format!("startswith(displayName,'{}')", quoted(&d))),
                a.app_id.map(|d| format!("appId eq '{}'", quoted(&d))),
                a.identifier_uri
                    .map(|d| format!("identifierUris/any(s:s eq '{}')", quoted(&d))),
                a.filter,
            ]);
            g.list("applications", filter).await
        }
        AppCommand::Show(a) => g.application(&a.id).await,
        AppCommand::Delete(a) => {
            let app = g.application(&a.id).await?;
            g.call(
                Method::DELETE,
                &format!("applications/{}", str_of(&app, "id")?),
                None,
            )
            .await?;
            Ok(Value::Null)
        }
        AppCommand::Credential(CredentialCommand::List { id, cert }) => {
            let app = g.application(&id).await?;
            Ok(app[if cert {
                "keyCredentials"
            } else {
                "passwordCredentials"
            }]
            .clone())
        }
        AppCommand::Credential(CredentialCommand::Delete { id, key_id, cert }) => {
            delete_credential(&g, &id, &key_id, cert).await
        }
        AppCommand::Credential(CredentialCommand::Reset {
            id,
            append,
            cert: Some(cert),
            ..
        }) => {
            let bytes = std::fs::read(cert.trim_start_matches('@')).map_err(|e| format!("{cert}: {e}"))?;
            add_certificate(&g, &id, append, &bytes).await
        }
        AppCommand::Credential(CredentialCommand::Reset {
            id,
            append,
            create_cert: true,
            cert_file,
            years,
            ..
        }) => create_certificate(&g, &id, append, cert_file, years).await,
        AppCommand::Credential(CredentialCommand::Reset {
            id,
            append,
            display_name,
            years,
            ..
        }) => reset_credential(&g, &id, append, display_name, years).await,
        AppCommand::FederatedCredential(cmd) => federated(&g, cmd).await,
        AppCommand::Permission(PermissionCommand::Add {
            id,
            api,
            api_permissions,
        }) => add_permissions(&g, &id, &api, &api_permissions).await,
        AppCommand::Permission(PermissionCommand::List(a)) => {
            Ok(g.application(&a.id).await?["requiredResourceAccess"].clone())
        }
        AppCommand::Permission(PermissionCommand::Delete {
            id,
            api,
            api_permissions,
        }) => delete_permissions(&g, &id, &api, &api_permissions).await,
        AppCommand::Permission(PermissionCommand::AdminConsent(a)) => admin_consent(&g, &a.id).await,
        AppCommand::Permission(PermissionCommand::Grant { id, api, scope }) => {
            grant(&g, &id, &api, &scope).await
        }
        AppCommand::Permission(PermissionCommand::ListGrants(a)) => {
            let client = str_of(&g.find_service_principal(&a.id).await?, "id")?;
            g.list("oauth2PermissionGrants", Some(format!("clientId eq '{client}'")))
                .await
        }
    }
}

pub async fn sp(cmd: SpCommand) -> Result<Value, String> {
    let g = Graph::connect()?;
    match cmd {
        SpCommand::Create(a) => {
            let app_id = str_of(&g.application(&a.id).await?, "appId")?;
            g.call(Method::POST, "servicePrincipals", Some(json!({"appId": app_id})))
                .await
        }
        SpCommand::List {
            display_name,
            spn,
            filter,
        } => {
            let filter = filters([
                display_name.map(|d| format!("startswith(displayName,'{}')", quoted(&d))),
                spn.map(|d| format!("servicePrincipalNames/any(c:c eq '{}')", quoted(&d))),
                filter,
            ]);
            g.list("servicePrincipals", filter).await
        }
        SpCommand::Show(a) => g.find_service_principal(&a.id).await,
        SpCommand::Delete(a) => {
            let sp = g.find_service_principal(&a.id).await?;
            g.call(
                Method::DELETE,
                &format!("servicePrincipals/{}", str_of(&sp, "id")?),
                None,
            )
            .await?;
            Ok(Value::Null)
        }
    }
}

/// Removes one secret (removePassword) or one certificate (keyCredentials without it).
async fn delete_credential(g: &Graph, id: &str, key_id: &str, cert: bool) -> Result<Value, String> {
    let app = g.application(id).await?;
    let object_id = str_of(&app, "id")?;
    let kind = if cert {
        "keyCredentials"
    } else {
        "passwordCredentials"
    };
    let held: Vec<Value> = app[kind].as_array().cloned().unwrap_or_default();
    if !held.iter().any(|c| {
        c["keyId"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(key_id))
    }) {
        let what = if cert { "certificate" } else { "client secret" };
        return Err(format!(
            "the application has no {what} with key id '{key_id}' (see `credential list`)"
        ));
    }
    if cert {
        let kept: Vec<Value> = held
            .iter()
            .filter(|c| {
                !c["keyId"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key_id))
            })
            .map(|c| json!({"keyId": c["keyId"]}))
            .collect();
        let body = json!({"keyCredentials": kept});
        g.call(Method::PATCH, &format!("applications/{object_id}"), Some(body))
            .await?;
    } else {
        let body = json!({"keyId": key_id});
        g.call(
            Method::POST,
            &format!("applications/{object_id}/removePassword"),
            Some(body),
        )
        .await?;
    }
    Ok(Value::Null)
}

/// Prints `{"appId","password","tenant"}` as `az ad app credential reset` does.
async fn reset_credential(
    g: &Graph,
    id: &str,
    append: bool,
    display_name: Option<String>,
    years: i64,
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let object_id = str_of(&app, "id")?;
    if !append {
        for cred in app["passwordCredentials"].as_array().into_iter().flatten() {
            let key = json!({"keyId": cred["keyId"]});
            g.call(
                Method::POST,
                &format!("applications/{object_id}/removePassword"),
                Some(key),
            )
            .await?;
        }
    }
    let end = time::OffsetDateTime::now_utc() + time::Duration::days(365 * years.clamp(1, 2));
    let body = json!({"passwordCredential": {"displayName": display_name, "endDateTime": gatehouse_proto::timefmt::graph_datetime(end)}});
    let cred = g
        .call(
            Method::POST,
            &format!("applications/{object_id}/addPassword"),
            Some(body),
        )
        .await?;
    Ok(json!({"appId": app["appId"], "password": cred["secretText"], "tenant": g.session.tenant}))
}

/// Registers a certificate (PATCH keyCredentials, keeping the existing ones by keyId if --append).
async fn add_certificate(g: &Graph, id: &str, append: bool, cert: &[u8]) -> Result<Value, String> {
    let parsed = gatehouse_jose::ClientCertificate::parse(cert).map_err(|e| e.to_string())?;
    let app = g.application(id).await?;
    let object_id = str_of(&app, "id")?;
    let mut keys: Vec<Value> = Vec::new();
    if append {
        for k in app["keyCredentials"].as_array().into_iter().flatten() {
            keys.push(json!({"keyId": k["keyId"]}));
        }
    }
    keys.push(
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": gatehouse_jose::b64std(&parsed.der)}),
    );
    g.call(
        Method::PATCH,
        &format!("applications/{object_id}"),
        Some(json!({"keyCredentials": keys})),
    )
    .await?;
    Ok(
        json!({"appId": app["appId"], "password": null, "tenant": g.session.tenant, "thumbprint": parsed.thumbprint_hex()}),
    )
}

/// `--create-cert`: a self-signed RSA-2048 certificate, written with its key, then registered.
async fn create_certificate(
    g: &Graph,
    id: &str,
    append: bool,
    file: Option<std::path::PathBuf>,
    years: i64,
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let app_id = str_of(&app, "appId")?;
    let now = time::OffsetDateTime::now_utc();
    let key = gatehouse_jose::SigningKey::generate(&app_id, now - time::Duration::MINUTE, years.clamp(1, 5))
        .map_err(|e| e.to_string())?;
    let pem = format!(
        "{}{}",
        gatehouse_jose::pem_encode("PRIVATE KEY", key.private_pkcs8()),
        gatehouse_jose::pem_encode("CERTIFICATE", key.certificate_der())
    );
    let path = file.unwrap_or_else(|| std::path::PathBuf::from(format!("gatehouse-{app_id}.pem")));
    crate::settings::write_private(&path, pem.as_bytes())?;
    let mut out = add_certificate(g, id, append, key.certificate_der()).await?;
    out["fileWithCertAndPrivateKey"] = json!(path.display().to_string());
    Ok(out)
}

async fn federated(g: &Graph, cmd: FederatedCommand) -> Result<Value, String> {
    match cmd {
        FederatedCommand::Create { id, parameters } => {
            let body = json_arg("parameters", &parameters)?;
            g.call(Method::POST, &fic_base(g, &id).await?, Some(body)).await
        }
        FederatedCommand::List { id } => {
            Ok(g.call(Method::GET, &fic_base(g, &id).await?, None).await?["value"].clone())
        }
        FederatedCommand::Show {
            id,
            federated_credential_id: f,
        } => {
            g.call(Method::GET, &format!("{}/{f}", fic_base(g, &id).await?), None)
                .await
        }
        FederatedCommand::Delete {
            id,
            federated_credential_id: f,
        } => {
            g.call(Method::DELETE, &format!("{}/{f}", fic_base(g, &id).await?), None)
                .await?;
            Ok(Value::Null)
        }
    }
}

async fn fic_base(g: &Graph, id: &str) -> Result<String, String> {
    let app = g.application(id).await?;
    Ok(format!(
        "applications/{}/federatedIdentityCredentials",
        str_of(&app, "id")?
    ))
}

/// Adds ID=Role / ID=Scope entries to the application's requiredResourceAccess for one API, after
/// checking each id against the API's app roles or delegated scopes in this tenant.
async fn add_permissions(g: &Graph, id: &str, api: &str, perms: &[String]) -> Result<Value, String> {
    let app = g.application(id).await?;
    let resource = g.service_principal(api).await?.ok_or_else(|| {
        format!("the API {api} has no service principal in this tenant (`sp create --id {api}`)")
    })?;
    let mut wanted = Vec::new();
    for p in perms {
        let (pid, kind) = p
            .split_once('=')
            .ok_or_else(|| format!("'{p}' is not ID=Role or ID=Scope"))?;
        let offered = match kind {
            "Role" => &resource["appRoles"],
            "Scope" => &resource["oauth2PermissionScopes"],
            _ => return Err(format!("'{p}': the type must be Role or Scope")),
        };
        let known = offered.as_array().into_iter().flatten();
        let names: Vec<String> = known
            .clone()
            .map(|o| {
                format!(
                    "{} ({})",
                    o["value"].as_str().unwrap_or("?"),
                    o["id"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !known
            .clone()
            .any(|o| o["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(pid)))
        {
            let what = if kind == "Role" {
                "app role"
            } else {
                "delegated scope"
            };
            return Err(format!(
                "{pid} is not an {what} of {api}; it offers: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
        wanted.push(json!({"id": pid.to_ascii_lowercase(), "type": kind}));
    }
    let mut rra = requested(&app);
    let idx = match rra.iter().position(|r| same_id(&r["resourceAppId"], api)) {
        Some(i) => i,
        None => {
            rra.push(json!({"resourceAppId": api, "resourceAccess": []}));
            rra.len() - 1
        }
    };
    let list = rra[idx]["resourceAccess"]
        .as_array_mut()
        .ok_or("malformed requiredResourceAccess")?;
    for entry in wanted {
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    set_requested(g, &app, &rra).await?;
    Ok(json!(rra))
}

/// Removes one API's entry from requiredResourceAccess, or only the named permission ids of it.
async fn delete_permissions(g: &Graph, id: &str, api: &str, ids: &[String]) -> Result<Value, String> {
    let app = g.application(id).await?;
    let mut rra = requested(&app);
    let before = rra.clone();
    if ids.is_empty() {
        rra.retain(|r| !same_id(&r["resourceAppId"], api));
    } else {
        for r in rra.iter_mut().filter(|r| same_id(&r["resourceAppId"], api)) {
            if let Some(list) = r["resourceAccess"].as_array_mut() {
                list.retain(|a| !ids.iter().any(|i| same_id(&a["id"], i)));
            }
        }
        rra.retain(|r| r["resourceAccess"].as_array().is_some_and(|l| !l.is_empty()));
    }
    if rra == before {
        return Err(format!(
            "the application requests no such permission of {api} (see `permission list`)"
        ));
    }
    set_requested(g, &app, &rra).await?;
    Ok(Value::Null)
}

fn requested(app: &Value) -> Vec<Value> {
    app["requiredResourceAccess"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn set_requested(g: &Graph, app: &Value, rra: &[Value]) -> Result<Value, String> {
    g.call(
        Method::PATCH,
        &format!("applications/{}", str_of(app, "id")?),
        Some(json!({"requiredResourceAccess": rra})),
    )
    .await
}

fn same_id(v: &Value, id: &str) -> bool {
    v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(id))
}

/// Replaces the client's grant for the API with one for these scopes (AllPrincipals): the existing
/// grant is re-scoped in one PATCH, so a refused scope leaves it as it was.
async fn grant(g: &Graph, id: &str, api: &str, scopes: &[String]) -> Result<Value, String> {
    let client = str_of(&g.find_service_principal(id).await?, "id")?;
    let resource = str_of(&g.find_service_principal(api).await?, "id")?;
    let held = g
        .list("oauth2PermissionGrants", Some(format!("clientId eq '{client}'")))
        .await?;
    let existing = held
        .as_array()
        .into_iter()
        .flatten()
        .find(|old| old["resourceId"] == resource.as_str() && old["consentType"] == "AllPrincipals");
    if let Some(old) = existing {
        let path = format!("oauth2PermissionGrants/{}", str_of(old, "id")?);
        g.call(Method::PATCH, &path, Some(json!({"scope": scopes.join(" ")})))
            .await?;
        return g.call(Method::GET, &path, None).await;
    }
    let body = json!({"clientId": client, "consentType": "AllPrincipals", "principalId": null,
                      "resourceId": resource, "scope": scopes.join(" ")});
    g.call(Method::POST, "oauth2PermissionGrants", Some(body)).await
}

/// Assigns every requested application permission (type Role), creating the client's service principal
/// if needed. Delegated permissions (type Scope) are reported, not granted: that grant arrives with
/// delegated consent.
async fn admin_consent(g: &Graph, id: &str) -> Result<Value, String> {
    let app = g.application(id).await?;
    let app_id = str_of(&app, "appId")?;
    let client = match g.service_principal(&app_id).await? {
        Some(sp) => sp,
        None => {
            g.call(Method::POST, "servicePrincipals", Some(json!({"appId": app_id})))
                .await?
        }
    };
    let client_id = str_of(&client, "id")?;
    let mut granted = Vec::new();
    for rra in app["requiredResourceAccess"].as_array().into_iter().flatten() {
        let resource_app = rra["resourceAppId"].as_str().unwrap_or_default();
        let resource = g
            .service_principal(resource_app)
            .await?
            .ok_or_else(|| format!("the API {resource_app} has no service principal in this tenant"))?;
        let resource_id = str_of(&resource, "id")?;
        let held = g
            .call(
                Method::GET,
                &format!("servicePrincipals/{client_id}/appRoleAssignments"),
                None,
            )
            .await?;
        for access in rra["resourceAccess"].as_array().into_iter().flatten() {
            if access["type"] != "Role" {
                eprintln!(
                    "note: delegated permission {} is not consented by this command yet",
                    access["id"]
                );
                continue;
            }
            let already = held["value"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["resourceId"] == resource_id.as_str() && a["appRoleId"] == access["id"]);
            if already {
                continue;
            }
            let body =
                json!({"principalId": client_id, "resourceId": resource_id, "appRoleId": access["id"]});
            granted.push(
                g.call(
                    Method::POST,
                    &format!("servicePrincipals/{resource_id}/appRoleAssignedTo"),
                    Some(body),
                )
                .await?,
            );
        }
    }
    Ok(json!(granted))
}

fn str_of(v: &Value, key: &str) -> Result<String, String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the server's answer has no '{key}'"))
}
