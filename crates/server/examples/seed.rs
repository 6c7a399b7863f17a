//! Seeds a store for the scale benchmark (bench/scale.sh), straight through the store, many rows per
//! transaction: TENANTS tenants holding APPS applications in all, each with a client secret; one
//! application in ten has a service principal holding one app role of its tenant's Microsoft Graph
//! (Application.Read.All), so it can get tokens. Every tenant also gets its management application.
//!
//! Writes one line per token client (up to CLIENTS of them, spread evenly over the tenants) to
//! CLIENTS_FILE: `TENANT_ID FORM_BODY`, and one JSON line per tenant's management application to
//! ADMINS_FILE (at most 10). With `GATEHOUSE_SEED_USERS=N`, each tenant also gets N users (no
//! password: listed, never signed in; the portal benchmark's Users page). Not a test and not part of
//! the server.
//!
//! Usage: seed (--data-dir DIR | --database-url URL) TENANTS APPS CLIENTS CLIENTS_FILE ADMINS_FILE

use std::io::Write;

use gatehouse_core::admin::applications::{new_application, new_password};
use gatehouse_core::admin::assignments::assignment_id;
use gatehouse_core::admin::bootstrap::new_tenant;
use gatehouse_core::admin::graph_resource::graph_role_id;
use gatehouse_core::admin::service_principals::new_service_principal;
use gatehouse_core::model::{
    ApplicationRecord, Assignment, DirectoryData, ServicePrincipalRecord, UserRecord,
};
use gatehouse_proto::graph::AddPasswordInput;
use gatehouse_proto::GRAPH_APP_ID;
use time::OffsetDateTime;

/// Rows per transaction.
const BATCH_APPS: usize = 5_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [flag, location, tenants, apps, clients, clients_file, admins_file] = args.as_slice() else {
        return Err(
            "usage: seed (--data-dir DIR | --database-url URL) TENANTS APPS CLIENTS CLIENTS_FILE ADMINS_FILE"
                .into(),
        );
    };
    let url = match flag.as_str() {
        "--data-dir" => format!("sqlite:{location}/gatehouse.db"),
        _ => location.clone(),
    };
    let (tenants, apps, clients): (usize, usize, usize) = (tenants.parse()?, apps.parse()?, clients.parse()?);
    let store = gatehouse_store::open(&url).await?;
    let now = OffsetDateTime::now_utc();
    let graph_role = graph_role_id("Application.Read.All").ok_or("no such Graph role")?;
    let per_tenant = apps / tenants;
    let users_per_tenant: usize = std::env::var("GATEHOUSE_SEED_USERS").map_or(Ok(0), |n| n.parse())?;
    // Which token clients to write: every `stride`-th service principal holder.
    let holders = apps / 10;
    let stride = (holders / clients.max(1)).max(1);
    let mut clients_out = std::io::BufWriter::new(std::fs::File::create(clients_file)?);
    let mut admins_out = std::io::BufWriter::new(std::fs::File::create(admins_file)?);
    let started = std::time::Instant::now();
    let (mut batch, mut in_batch, mut holder_no, mut written) = (DirectoryData::default(), 0, 0usize, 0usize);
    for t in 0..tenants {
        let (mut rows, admin) = new_tenant(&format!("t{t}.bench.example"), None, now)?;
        if t < 10 {
            writeln!(admins_out, "{}", serde_json::to_string(&admin)?)?;
        }
        let tenant = admin.tenant_id;
        let graph_sp = rows
            .service_principals
            .iter()
            .find(|s| s.sp.app_id.to_string() == GRAPH_APP_ID)
            .map(|s| s.sp.id)
            .ok_or("no Graph service principal")?;
        append(&mut batch, &mut rows);
        for i in 0..users_per_tenant {
            batch.users.push(user(
                tenant,
                &format!("user {t}-{i}"),
                &format!("user{i}@t{t}.bench.example"),
                now,
            ));
        }
        for i in 0..per_tenant {
            let app = new_application(&format!("app {t}-{i}"), None, now);
            let (secret, credential) = new_password(app.id, AddPasswordInput::default(), now)?;
            if i % 10 == 0 {
                let sp = new_service_principal(&app, tenant);
                batch.assignments.push(Assignment {
                    id: assignment_id(sp.id)?,
                    tenant_id: tenant,
                    principal_id: sp.id,
                    principal_type: gatehouse_proto::PrincipalType::ServicePrincipal,
                    resource_id: graph_sp,
                    app_role_id: graph_role,
                    created: now,
                });
                batch.service_principals.push(ServicePrincipalRecord {
                    tenant_id: tenant,
                    sp,
                });
                if holder_no % stride == 0 && written < clients {
                    let value = credential
                        .secret_text
                        .as_ref()
                        .ok_or("no secret")?
                        .expose()
                        .to_string();
                    writeln!(clients_out, "{tenant} {}", form(&app.app_id, &value))?;
                    written += 1;
                }
                holder_no += 1;
            }
            batch.secrets.push(secret);
            batch.applications.push(ApplicationRecord {
                tenant_id: tenant,
                app,
                version: 0,
            });
            in_batch += 1;
            if in_batch >= BATCH_APPS {
                store.create_tenant(&std::mem::take(&mut batch)).await?;
                in_batch = 0;
            }
        }
    }
    store.create_tenant(&batch).await?;
    clients_out.flush()?;
    admins_out.flush()?;
    store.close().await;
    eprintln!(
        "seeded {tenants} tenants, {} applications, {written} token clients in {:.1} s",
        per_tenant * tenants,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn append(batch: &mut DirectoryData, rows: &mut DirectoryData) {
    batch.tenants.append(&mut rows.tenants);
    batch.applications.append(&mut rows.applications);
    batch.secrets.append(&mut rows.secrets);
    batch.service_principals.append(&mut rows.service_principals);
    batch.assignments.append(&mut rows.assignments);
    batch.users.append(&mut rows.users);
}

/// A member without a password.
fn user(tenant: gatehouse_proto::TenantId, name: &str, upn: &str, now: OffsetDateTime) -> UserRecord {
    UserRecord {
        tenant_id: tenant,
        user: gatehouse_proto::graph::User {
            id: gatehouse_proto::ObjectId::new(),
            deleted_date_time: None,
            account_enabled: true,
            business_phones: vec![],
            created_date_time: now,
            display_name: name.to_string(),
            given_name: None,
            job_title: None,
            mail: None,
            mail_nickname: upn.split('@').next().unwrap_or_default().to_string(),
            mobile_phone: None,
            office_location: None,
            preferred_language: None,
            surname: None,
            user_principal_name: upn.to_string(),
            user_type: "Member".into(),
        },
        password: None,
        force_change_password: false,
        password_changed: now,
        version: 0,
    }
}

/// The client-credentials form body for a Graph token.
fn form(client_id: &gatehouse_proto::AppId, secret: &str) -> String {
    let secret: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={secret}\
         &scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
    )
}
