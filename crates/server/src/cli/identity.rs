//! `gatehouse identity create | list | show | delete | env`: user-assigned managed identities, against
//! the store (like `tenant`). `env` prints what a process needs for `DefaultAzureCredential` and
//! `ManagedIdentityCredential` to get tokens from this server's managed-identity listener unchanged.

use clap::{Args, Subcommand};
use gatehouse_core::admin::identities;
use gatehouse_core::model::ManagedIdentity;
use gatehouse_core::store::Store;
use gatehouse_proto::timefmt::graph_datetime;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create a user-assigned managed identity: a service principal of type ManagedIdentity.
    Create(Named),
    /// The identities of a tenant (or of every tenant).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Tenant id or verified domain (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One identity, by name.
    Show(Named),
    /// Delete an identity, its service principal, its role assignments and its header secrets: no
    /// node issues it a token once this returns.
    Delete(Named),
    /// Print the environment a process needs to use the identity (IDENTITY_ENDPOINT, a new
    /// IDENTITY_HEADER secret, AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST), as `export`
    /// lines for `eval "$(gatehouse identity env --name N)"`.
    Env {
        #[command(flatten)]
        named: Named,
        /// The managed-identity listener, as the process reaches it (`serve --identity-listen`).
        #[arg(long, default_value = "http://127.0.0.1:40342")]
        endpoint: String,
        /// Gatehouse's public URL (`serve --public-url`), for AZURE_AUTHORITY_HOST.
        #[arg(long, default_value = super::DEFAULT_SERVER)]
        authority_host: String,
    },
}

#[derive(Debug, Args)]
pub struct Named {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The identity's name: 3 to 128 letters, digits, '-' and '_'.
    #[arg(long)]
    pub name: String,
    /// Tenant id or verified domain (default: the store's only tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: IdentityCommand) -> Result<(), String> {
    let store = match &cmd {
        IdentityCommand::List { store, .. } => store,
        IdentityCommand::Create(n)
        | IdentityCommand::Show(n)
        | IdentityCommand::Delete(n)
        | IdentityCommand::Env { named: n, .. } => &n.store,
    }
    .open()
    .await?;
    let result = execute(store.as_ref(), cmd).await;
    store.close().await;
    result
}

async fn execute(store: &dyn Store, cmd: IdentityCommand) -> Result<(), String> {
    let fail = |e: gatehouse_core::admin::AdminError| e.to_string();
    let now = OffsetDateTime::now_utc();
    match cmd {
        IdentityCommand::Create(n) => {
            let identity = identities::create(store, n.tenant.as_deref(), &n.name, now)
                .await
                .map_err(fail)?;
            show(&identity, n.json)
        }
        IdentityCommand::List { tenant, json, .. } => {
            let all = identities::list(store, tenant.as_deref()).await.map_err(fail)?;
            if json {
                return super::print_json(Ok(Value::Array(all.iter().map(describe).collect())));
            }
            for i in &all {
                println!("{}  {}  {}  {}", i.name, i.client_id, i.principal_id, i.tenant_id);
            }
            Ok(())
        }
        IdentityCommand::Show(n) => {
            let identity = identities::show(store, n.tenant.as_deref(), &n.name)
                .await
                .map_err(fail)?;
            show(&identity, n.json)
        }
        IdentityCommand::Delete(n) => {
            let identity = identities::delete(store, n.tenant.as_deref(), &n.name)
                .await
                .map_err(fail)?;
            println!(
                "Deleted managed identity {} ({})",
                identity.name, identity.client_id
            );
            Ok(())
        }
        IdentityCommand::Env {
            named,
            endpoint,
            authority_host,
        } => {
            let identity = identities::show(store, named.tenant.as_deref(), &named.name)
                .await
                .map_err(fail)?;
            let header = identities::header(store, &identity, now).await.map_err(fail)?;
            let vars = [
                (
                    "IDENTITY_ENDPOINT",
                    format!("{}/msi/token", endpoint.trim_end_matches('/')),
                ),
                ("IDENTITY_HEADER", header.expose().to_string()),
                ("AZURE_CLIENT_ID", identity.client_id.to_string()),
                ("AZURE_TENANT_ID", identity.tenant_id.to_string()),
                (
                    "AZURE_AUTHORITY_HOST",
                    authority_host.trim_end_matches('/').to_string(),
                ),
            ];
            if named.json {
                let object: serde_json::Map<String, Value> = vars
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v)))
                    .collect();
                return super::print_json(Ok(Value::Object(object)));
            }
            for (k, v) in vars {
                println!("export {k}='{v}'");
            }
            Ok(())
        }
    }
}

fn describe(i: &ManagedIdentity) -> Value {
    json!({
        "name": i.name,
        "clientId": i.client_id,
        "principalId": i.principal_id,
        "tenantId": i.tenant_id,
        "id": i.resource_id(),
        "createdDateTime": graph_datetime(i.created),
    })
}

fn show(i: &ManagedIdentity, json: bool) -> Result<(), String> {
    if json {
        return super::print_json(Ok(describe(i)));
    }
    println!("Managed identity {}", i.name);
    println!("Client ID:    {}", i.client_id);
    println!("Principal ID: {}", i.principal_id);
    println!("Tenant ID:    {}", i.tenant_id);
    println!("Resource ID:  {}", i.resource_id());
    Ok(())
}
