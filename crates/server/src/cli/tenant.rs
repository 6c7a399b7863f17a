//! `gatehouse tenant create | list | show | domain add | delete`: tenants as data, run against the store
//! (like `init` and `keys`), not over HTTP. Running nodes see each change through their watchers
//! within a second.

use clap::{Args, Subcommand};
use gatehouse_core::admin::tenants;
use gatehouse_core::model::Tenant;
use gatehouse_core::store::Store;
use gatehouse_proto::timefmt::graph_datetime;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{print_credentials, StoreArgs};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its own Microsoft Graph resource and management application; prints the
    /// management credentials once, as `init` does.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The tenant's first verified domain (for example contoso.example).
        #[arg(long)]
        domain: String,
        /// The organization's name (default: the domain).
        #[arg(long)]
        display_name: Option<String>,
        /// Print one JSON object (tenantId, domain, clientId, clientSecret).
        #[arg(long)]
        json: bool,
    },
    /// Every tenant with its verified domains.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One tenant, by id or any of its verified domains.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        /// Tenant id or verified domain.
        #[arg(long)]
        tenant: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Verified domains of a tenant.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// The tenant's management credential.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Delete a tenant and everything in it (applications, secrets, service principals, assignments).
    Delete {
        #[command(flatten)]
        store: StoreArgs,
        /// Tenant id or verified domain.
        #[arg(long)]
        tenant: String,
        /// Confirm: the deletion cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Break glass: a new secret for the tenant's management application, replacing its old ones,
    /// printed once as `init` prints it (a deleted management application is made again).
    Reset {
        #[command(flatten)]
        store: StoreArgs,
        /// Tenant id or verified domain.
        #[arg(long)]
        tenant: String,
        /// Print one JSON object (tenantId, domain, clientId, clientSecret).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a verified domain: discovery and tokens work under it as under the tenant id.
    Add(DomainAddArgs),
}

#[derive(Debug, Args)]
pub struct DomainAddArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Tenant id or verified domain.
    #[arg(long)]
    pub tenant: String,
    /// The domain to add.
    #[arg(long)]
    pub domain: String,
}

pub async fn run(cmd: TenantCommand) -> Result<(), String> {
    let store = match &cmd {
        TenantCommand::Create { store, .. }
        | TenantCommand::List { store, .. }
        | TenantCommand::Show { store, .. }
        | TenantCommand::Delete { store, .. }
        | TenantCommand::Domain(DomainCommand::Add(DomainAddArgs { store, .. }))
        | TenantCommand::Credential(CredentialCommand::Reset { store, .. }) => store.open().await?,
    };
    let result = execute(store.as_ref(), cmd).await;
    store.close().await;
    result
}

async fn execute(store: &dyn Store, cmd: TenantCommand) -> Result<(), String> {
    let fail = |e: gatehouse_core::admin::AdminError| e.to_string();
    match cmd {
        TenantCommand::Create {
            domain,
            display_name,
            json,
            ..
        } => {
            let now = OffsetDateTime::now_utc();
            let out = tenants::create(store, &domain, display_name.as_deref(), now)
                .await
                .map_err(fail)?;
            print_credentials(&out, json)
        }
        TenantCommand::List { json, .. } => {
            let all = tenants::list(store).await.map_err(fail)?;
            if json {
                super::print_json(Ok(Value::Array(all.iter().map(describe).collect())))
            } else {
                for t in &all {
                    println!("{}  {}  {}", t.id, t.domains.join(","), t.display_name);
                }
                Ok(())
            }
        }
        TenantCommand::Show { tenant, json, .. } => {
            let t = tenants::find(store, &tenant).await.map_err(fail)?;
            show(&t, json)
        }
        TenantCommand::Credential(CredentialCommand::Reset { tenant, json, .. }) => {
            let out = tenants::reset_management_secret(store, &tenant, OffsetDateTime::now_utc())
                .await
                .map_err(fail)?;
            print_credentials(&out, json)
        }
        TenantCommand::Domain(DomainCommand::Add(a)) => {
            let t = tenants::add_domain(store, &a.tenant, &a.domain)
                .await
                .map_err(fail)?;
            super::print_json(Ok(describe(&t)))
        }
        TenantCommand::Delete { tenant, yes, .. } => {
            if !yes {
                return Err(format!(
                    "deleting a tenant removes everything in it and cannot be undone; \
                     run again with --yes to delete '{tenant}'"
                ));
            }
            let t = tenants::delete(store, &tenant).await.map_err(fail)?;
            println!("Deleted tenant {} ({})", t.id, t.domains.join(", "));
            Ok(())
        }
    }
}

fn describe(t: &Tenant) -> Value {
    json!({
        "tenantId": t.id,
        "displayName": t.display_name,
        "domains": t.domains,
        "defaultDomain": t.domains.first(),
        "createdDateTime": graph_datetime(t.created),
    })
}

fn show(t: &Tenant, json: bool) -> Result<(), String> {
    if json {
        return super::print_json(Ok(describe(t)));
    }
    println!("Tenant {} ({})", t.id, t.display_name);
    println!("Verified domains: {}", t.domains.join(", "));
    println!("Created: {}", graph_datetime(t.created));
    Ok(())
}
