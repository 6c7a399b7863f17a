#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A node's directory over a real store: its caches answer until the change feed says otherwise, and
//! then exactly what changed is read again (issue #7). Writes go through a second handle, as another
//! node's would.

use std::sync::Arc;

use gatehouse_core::admin::applications::{new_application, new_password};
use gatehouse_core::admin::bootstrap::{first_tenant, new_tenant};
use gatehouse_core::admin::service_principals::new_service_principal;
use gatehouse_core::model::{ApplicationRecord, Assignment, ServicePrincipalRecord};
use gatehouse_core::store::{
    ApplicationStore, AssignmentStore, SecretStore, ServicePrincipalStore, Store, TenantStore,
};
use gatehouse_core::Directory;
use gatehouse_jose::kek::Kek;
use gatehouse_proto::graph::AddPasswordInput;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_store::SqlStore;
use time::OffsetDateTime;
use uuid::Uuid;

#[tokio::test]
async fn the_directory_answers_from_its_caches_until_the_feed_names_a_change() {
    let dir = std::env::temp_dir().join(format!("gatehouse-directory-{}", Uuid::new_v4()));
    let path = dir.join("gatehouse.db");
    let node: Arc<dyn Store> = Arc::new(SqlStore::sqlite(&path).await.unwrap());
    let other = SqlStore::sqlite(&path).await.unwrap();
    let kek = Kek::generate().unwrap();
    let now = OffsetDateTime::now_utc();
    let (data, out) = first_tenant("contoso.example", &kek, now).unwrap();
    other.bootstrap(&data).await.unwrap();
    let tenant = out.tenant_id;
    let directory = Directory::load(Arc::clone(&node), kek, 16).await.unwrap();
    assert!(directory.keys().signing_key(now).is_some());

    // An application that does not exist yet is remembered as missing, until the feed says it came.
    let mut app = new_application("api", None, now);
    app.identifier_uris = vec!["api://reports".into()];
    assert!(directory.client(app.app_id).await.unwrap().is_none());
    assert_eq!(
        directory.resource_name(tenant, "api://reports").await.unwrap(),
        None
    );
    let rec = ApplicationRecord {
        tenant_id: tenant,
        app: app.clone(),
        version: 0,
    };
    other.insert_application(&rec).await.unwrap();
    assert!(
        directory.client(app.app_id).await.unwrap().is_none(),
        "cached until the feed is read"
    );
    assert!(directory.sync().await.unwrap());
    assert!(directory.client(app.app_id).await.unwrap().is_some());
    assert_eq!(
        directory.resource_name(tenant, "api://reports").await.unwrap(),
        Some(app.app_id)
    );

    // A new secret, a service principal and an assignment reach the node through the feed.
    let (secret, _) = new_password(app.id, AddPasswordInput::default(), now).unwrap();
    other.insert_secret(&secret).await.unwrap();
    let sp = ServicePrincipalRecord {
        tenant_id: tenant,
        sp: new_service_principal(&app, tenant),
    };
    assert!(directory
        .service_principal(tenant, app.app_id)
        .await
        .unwrap()
        .is_none());
    other.insert_service_principal(&sp).await.unwrap();
    let graph_sp = data.service_principals[0].sp.id;
    let role = Uuid::new_v4();
    assert!(directory.roles_held(sp.sp.id).await.unwrap().is_empty());
    let assignment = Assignment {
        id: "a-1".into(),
        tenant_id: tenant,
        principal_id: sp.sp.id,
        principal_type: gatehouse_proto::PrincipalType::ServicePrincipal,
        resource_id: graph_sp,
        app_role_id: role,
        created: now,
    };
    other.insert_assignment(&assignment).await.unwrap();
    directory.sync().await.unwrap();
    assert_eq!(
        directory.client(app.app_id).await.unwrap().unwrap().secrets.len(),
        1
    );
    assert!(directory
        .service_principal(tenant, app.app_id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        *directory.roles_held(sp.sp.id).await.unwrap(),
        vec![(graph_sp, role)]
    );

    // Removals too.
    other.delete_secret(app.id, secret.key_id).await.unwrap();
    other.delete_assignment(tenant, "a-1").await.unwrap();
    directory.sync().await.unwrap();
    assert!(directory
        .client(app.app_id)
        .await
        .unwrap()
        .unwrap()
        .secrets
        .is_empty());
    assert!(directory.roles_held(sp.sp.id).await.unwrap().is_empty());

    // Tenants are held whole: a new one and a deleted one are seen after the next read of the feed.
    let (rows, second) = new_tenant("fabrikam.example", None, now).unwrap();
    other.create_tenant(&rows).await.unwrap();
    directory.sync().await.unwrap();
    let seg = TenantSegment::parse("fabrikam.example").unwrap();
    assert_eq!(
        directory.tenants().resolve(&seg).map(|t| t.id),
        Some(second.tenant_id)
    );
    other.delete_tenant(tenant).await.unwrap();
    directory.sync().await.unwrap();
    assert!(directory.tenants().get(tenant).is_none());
    assert!(
        directory.client(app.app_id).await.unwrap().is_none(),
        "its applications went with it"
    );

    // The caches stay bounded: many more lookups than entries.
    for _ in 0..200 {
        directory.client(gatehouse_proto::AppId::new()).await.unwrap();
    }
    assert!(directory.fresh().is_ok());
    other.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
