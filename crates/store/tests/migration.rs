#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Upgrading a store written before resource names were unique (migration 0003, issue #7): a tenant
//! whose application had claimed Microsoft Graph's identifier gets Graph's names back for Graph, and
//! the older of two applications sharing a URI keeps it. Later migrations run over the same rows
//! (0017 adds Azure's resources to the old tenant).

use std::path::{Path, PathBuf};

use gatehouse_core::admin::applications::new_application;
use gatehouse_core::admin::azure_resources::AZURE_RESOURCES;
use gatehouse_core::admin::graph_resource::graph_service_principal;
use gatehouse_core::admin::service_principals::new_service_principal;
use gatehouse_core::store::Store;
use gatehouse_core::Snapshot;
use gatehouse_proto::graph::{Application, ServicePrincipal};
use gatehouse_proto::AppId;
use gatehouse_store::testing::PgDatabase;
use gatehouse_store::SqlStore;
use sqlx::migrate::Migrator;
use time::OffsetDateTime;
use uuid::Uuid;

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// A folder holding only the migrations of `backend` numbered below `first_left_out`.
fn migrations_before(backend: &str, first_left_out: u32) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = std::env::temp_dir().join(format!("gatehouse-old-migrations-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let number: u32 = name[..4].parse().unwrap();
        if number < first_left_out {
            std::fs::copy(src.join(&name), dir.join(&name)).unwrap();
        }
    }
    dir
}

/// Brings the schema at `pool` up to (not including) migration `first_left_out`.
async fn migrate_before(pool: &sqlx::AnyPool, backend: &str, first_left_out: u32) {
    let dir = migrations_before(backend, first_left_out);
    Migrator::new(dir.as_path())
        .await
        .unwrap()
        .run(pool)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// The rows of a tenant as the old schema held them: Graph with its three old names, an impostor
/// application (made first) claiming Graph's identifier, with a service principal, and two
/// applications sharing `api://shared`, the older first.
struct OldRows {
    tenant: gatehouse_proto::TenantId,
    statements: Vec<(String, Vec<String>)>,
    older: Application,
}

fn old_rows() -> OldRows {
    let tenant = gatehouse_proto::TenantId::new();
    let t0 = OffsetDateTime::now_utc();
    let mut graph: ServicePrincipal = graph_service_principal(gatehouse_proto::ObjectId::new(), tenant);
    graph.service_principal_names = vec![
        GRAPH_APP_ID.into(),
        "https://graph.microsoft.com".into(),
        "https://graph.microsoft.com/".into(),
    ];
    let mut impostor = new_application("impostor", None, t0 - time::Duration::DAY);
    impostor.identifier_uris = vec!["https://graph.microsoft.com".into()];
    let impostor_sp = new_service_principal(&impostor, tenant);
    let mut older = new_application("older", None, t0 - time::Duration::HOUR);
    older.identifier_uris = vec!["api://shared".into()];
    let mut newer = new_application("newer", None, t0);
    newer.identifier_uris = vec!["API://Shared/".into()];
    let t = tenant.to_string();
    let mut statements = vec![(
        "INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, 0)".to_string(),
        vec![t.clone(), "old".into()],
    )];
    // The newer application is written first, so that row order cannot decide who keeps the URI.
    for app in [&impostor, &newer, &older] {
        statements.push((
            "INSERT INTO applications (id, tenant_id, app_id, doc) VALUES ($1, $2, $3, $4)".into(),
            vec![
                app.id.to_string(),
                t.clone(),
                app.app_id.to_string(),
                serde_json::to_string(app).unwrap(),
            ],
        ));
    }
    for sp in [&impostor_sp, &graph] {
        statements.push((
            "INSERT INTO service_principals (id, tenant_id, app_id, doc) VALUES ($1, $2, $3, $4)".into(),
            vec![
                sp.id.to_string(),
                t.clone(),
                sp.app_id.to_string(),
                serde_json::to_string(sp).unwrap(),
            ],
        ));
    }
    OldRows {
        tenant,
        statements,
        older,
    }
}

async fn check_upgraded(store: &dyn Store, rows: &OldRows) {
    let data = store.load_directory().await.unwrap();
    let snap = Snapshot::build(data.clone(), Default::default());
    for name in [
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "https://graph.microsoft.us",
    ] {
        let sp = snap.resource(rows.tenant, name).expect(name);
        assert_eq!(sp.sp.app_id.to_string(), GRAPH_APP_ID, "{name}");
    }
    // Migration 0017: Azure's resources join a tenant made before them, whole when read.
    for r in AZURE_RESOURCES {
        for name in r.names {
            let sp = snap.resource(rows.tenant, name).expect(name);
            assert_eq!(sp.sp.app_id.to_string(), r.app_id, "{name}");
            assert_eq!(sp.sp.display_name, r.display_name);
        }
    }
    // Migration 0019: rows written before it are paged by name like new ones.
    let page = gatehouse_core::store::NamePage {
        prefix: Some("NEW".into()),
        after: None,
        limit: 10,
        owner: None,
    };
    let found = store.application_page(rows.tenant, &page).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|a| a.app.display_name.as_str())
            .collect::<Vec<_>>(),
        vec!["newer"]
    );
    let page = gatehouse_core::store::NamePage {
        prefix: Some("Azure Key".into()),
        after: None,
        limit: 10,
        owner: None,
    };
    assert_eq!(
        store
            .service_principal_page(rows.tenant, &page)
            .await
            .unwrap()
            .len(),
        1
    );
    // Migration 0021: so are users, by display name or principal name.
    for prefix in ["adele", "ADELEV@"] {
        let page = gatehouse_core::store::NamePage {
            prefix: Some(prefix.into()),
            after: None,
            limit: 10,
            owner: None,
        };
        let found = store.user_page(rows.tenant, &page).await.unwrap();
        assert_eq!(found.len(), 1, "{prefix}");
        assert_eq!(found[0].user.display_name, "Adele Vance");
    }
    let vault = AppId::parse(AZURE_RESOURCES[1].app_id).unwrap();
    let vault = store
        .find_service_principal_by_app_id(rows.tenant, vault)
        .await
        .unwrap()
        .expect("Key Vault's service principal");
    assert_eq!(vault.sp.oauth2_permission_scopes[0].value, "user_impersonation");
    assert_eq!(vault.sp.service_principal_names[1], "https://vault.azure.net");
    assert_eq!(vault.sp.app_owner_organization_id, Some(rows.tenant));
    assert!(Uuid::parse_str(&vault.sp.id.to_string()).is_ok());
    let shared = data
        .names
        .iter()
        .find(|n| n.key == "api://shared")
        .expect("the shared URI is held");
    assert_eq!(shared.app_id, rows.older.app_id, "the older application keeps it");
    let apps = store.list_applications(rows.tenant).await.unwrap();
    assert_eq!(apps.len(), 3, "nothing is deleted");
    assert!(apps.iter().all(|a| a.version == 0));
}

/// Builds `backend`'s schema as it was before migration 0003 at `url` and writes [`old_rows`] into it;
/// then, as it was before 0021, a user.
async fn write_old_store(url: &str, backend: &str) -> OldRows {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    migrate_before(&pool, backend, 3).await;
    let rows = old_rows();
    for (sql, args) in &rows.statements {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(a);
        }
        q.execute(&pool).await.unwrap();
    }
    migrate_before(&pool, backend, 21).await;
    let user = gatehouse_proto::graph::User {
        id: gatehouse_proto::ObjectId::new(),
        deleted_date_time: None,
        account_enabled: true,
        business_phones: vec![],
        created_date_time: OffsetDateTime::now_utc(),
        display_name: "Adele Vance".into(),
        given_name: None,
        job_title: None,
        mail: None,
        mail_nickname: "AdeleV".into(),
        mobile_phone: None,
        office_location: None,
        preferred_language: None,
        surname: None,
        user_principal_name: "AdeleV@old.example".into(),
        user_type: "Member".into(),
    };
    sqlx::query(
        "INSERT INTO users (id, tenant_id, upn_key, doc, password_changed_at) VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(user.id.to_string())
    .bind(rows.tenant.to_string())
    .bind(user.user_principal_name.to_lowercase())
    .bind(serde_json::to_string(&user).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn sqlite_upgrade_gives_graphs_names_back_to_graph() {
    let dir = std::env::temp_dir().join(format!("gatehouse-upgrade-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gatehouse.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let rows = write_old_store(&url, "sqlite").await;
    let store = SqlStore::sqlite(&path).await.unwrap();
    check_upgraded(&store, &rows).await;
    store.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_upgrade_gives_graphs_names_back_to_graph() {
    let db = PgDatabase::create().await;
    let rows = write_old_store(&db.url, "postgres").await;
    let store = SqlStore::postgres(&db.url).await.unwrap();
    check_upgraded(&store, &rows).await;
    store.shutdown().await;
    db.drop_now().await;
}
