//! az-style commands over the Graph API, for people: `app …` and `sp …`. Output is JSON on stdout;
//! failures are one line on stderr and a non-zero exit.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::session::{self, Session};

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        #[arg(long)]
        display_name: String,
        /// Identifier URIs (App ID URIs), e.g. api://my-api.
        #[arg(long, num_args = 1..)]
        identifier_uris: Vec<String>,
    },
    /// List the tenant's applications.
    List,
    /// Show one application, by appId or object id.
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

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Make a new client secret, replacing the existing ones unless --append, and print it once; or,
    /// with --cert or --create-cert, replace (or --append to) the certificates.
    Reset {
        #[arg(long)]
        id: String,
        #[arg(long)]
        append: bool,
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
        #[arg(long, requires = "create_cert")]
        cert_file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FederatedCommand {
    /// Add one: --parameters '{"name","issuer","subject","audiences"?,"description"?}' or @file.json.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        parameters: String,
    },
    List {
        #[arg(long)]
        id: String,
    },
    /// Show one, by id or name.
    Show {
        #[arg(long)]
        id: String,
        #[arg(long)]
        federated_credential_id: String,
    },
    /// Delete one, by id or name.
    Delete {
        #[arg(long)]
        id: String,
        #[arg(long)]
        federated_credential_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Request permissions of an API: --api-permissions ID=Role (application) or ID=Scope (delegated).
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        api: String,
        #[arg(long, num_args = 1.., required = true)]
        api_permissions: Vec<String>,
    },
    /// Grant, as an administrator, the application permissions the application requests.
    AdminConsent(IdArg),
}

#[derive(Debug, Subcommand)]
pub enum SpCommand {
    /// Create the service principal of an application in this tenant.
    Create(IdArg),
    List,
    Show(IdArg),
    Delete(IdArg),
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// appId or object id.
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

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}/v1.0/{path}", self.session.server);
        let mut req = self
            .http
            .request(method, &url)
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

    /// An application by appId (tried first, as az does) or object id.
    async fn application(&self, id: &str) -> Result<Value, String> {
        match self
            .call(Method::GET, &format!("applications(appId='{id}')"), None)
            .await
        {
            Ok(v) => Ok(v),
            Err(_) => self.call(Method::GET, &format!("applications/{id}"), None).await,
        }
    }

    async fn service_principal(&self, app_id: &str) -> Result<Option<Value>, String> {
        let list = self
            .call(
                Method::GET,
                &format!("servicePrincipals?$filter=appId eq '{app_id}'"),
                None,
            )
            .await?;
        Ok(list["value"].as_array().and_then(|v| v.first().cloned()))
    }

    /// A service principal by its application's appId (tried first) or its own object id.
    async fn find_service_principal(&self, id: &str) -> Result<Value, String> {
        match self.service_principal(id).await? {
            Some(sp) => Ok(sp),
            None => {
                self.call(Method::GET, &format!("servicePrincipals/{id}"), None)
                    .await
            }
        }
    }
}

pub async fn app(cmd: AppCommand) -> Result<Value, String> {
    let g = Graph::connect()?;
    match cmd {
        AppCommand::Create {
            display_name,
            identifier_uris,
        } => {
            let mut body = json!({"displayName": display_name});
            if !identifier_uris.is_empty() {
                body["identifierUris"] = json!(identifier_uris);
            }
            g.call(Method::POST, "applications", Some(body)).await
        }
        AppCommand::List => Ok(g.call(Method::GET, "applications", None).await?["value"].clone()),
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
        AppCommand::Permission(PermissionCommand::AdminConsent(a)) => admin_consent(&g, &a.id).await,
    }
}

pub async fn sp(cmd: SpCommand) -> Result<Value, String> {
    let g = Graph::connect()?;
    match cmd {
        SpCommand::Create(a) => {
            g.call(Method::POST, "servicePrincipals", Some(json!({"appId": a.id})))
                .await
        }
        SpCommand::List => Ok(g.call(Method::GET, "servicePrincipals", None).await?["value"].clone()),
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
            let text = match parameters.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
                None => parameters,
            };
            let body: Value = serde_json::from_str(&text).map_err(|e| format!("--parameters: {e}"))?;
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

async fn add_permissions(g: &Graph, id: &str, api: &str, perms: &[String]) -> Result<Value, String> {
    let app = g.application(id).await?;
    let mut rra: Vec<Value> = app["requiredResourceAccess"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let idx = match rra.iter().position(|r| r["resourceAppId"] == api) {
        Some(i) => i,
        None => {
            rra.push(json!({"resourceAppId": api, "resourceAccess": []}));
            rra.len() - 1
        }
    };
    for p in perms {
        let (pid, kind) = p
            .split_once('=')
            .ok_or_else(|| format!("'{p}' is not ID=Role or ID=Scope"))?;
        if kind != "Role" && kind != "Scope" {
            return Err(format!("'{p}': the type must be Role or Scope"));
        }
        let entry = json!({"id": pid, "type": kind});
        let list = rra[idx]["resourceAccess"]
            .as_array_mut()
            .ok_or("malformed requiredResourceAccess")?;
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    g.call(
        Method::PATCH,
        &format!("applications/{}", str_of(&app, "id")?),
        Some(json!({"requiredResourceAccess": rra})),
    )
    .await?;
    Ok(json!(rra))
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
