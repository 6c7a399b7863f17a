#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One conformance suite, run against SQLite and PostgreSQL: every store operation, its error kinds,
//! cascades, revision bumps, and that a second handle on the same database sees the writes.
//! PostgreSQL tests use a fresh database on GATEHOUSE_TEST_DATABASE_URL (default: the local server)
//! and fail, not skip, when it cannot be reached.

use gatehouse_core::admin::applications::{new_application, new_password};
use gatehouse_core::admin::bootstrap::{first_tenant, new_tenant};
use gatehouse_core::admin::directory_roles::{new_assignment, DirectoryRole};
use gatehouse_core::admin::service_principals::new_service_principal;
use gatehouse_core::keys::new_stored_key;
use gatehouse_core::model::{
    ApplicationRecord, Assignment, Change, Consent, FederatedCredentialRecord, PermissionGrant,
    ServicePrincipalRecord, UserRecord,
};
use gatehouse_core::passwords::PasswordHash;
use gatehouse_core::store::{Conflict, Rotation, Store, StoreError, TenantStore};
use gatehouse_jose::kek::Kek;
use gatehouse_proto::graph::{AddPasswordInput, FederatedIdentityCredential};
use gatehouse_proto::{AppId, ObjectId, TenantId};
use gatehouse_store::testing::PgDatabase;
use gatehouse_store::SqlStore;
use time::OffsetDateTime;
use uuid::Uuid;

fn now() -> OffsetDateTime {
    // Microsecond precision, as stored.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap()
}

/// Pages by name: a tenant's applications in name order (case-insensitively, then id), a prefix that
/// matches literally (no wildcards), each page after the last, counts; renaming moves an application.
async fn paging(store: &dyn Store, tenant: TenantId, t0: OffsetDateTime) {
    use gatehouse_core::store::{name_key, NamePage};
    let before = store.count_applications(tenant).await.unwrap();
    for name in ["Zeta", "alpha 2", "Alpha 1", "al%pha", "Beta"] {
        let app = gatehouse_core::admin::applications::new_application(name, None, t0);
        store
            .insert_application(&ApplicationRecord {
                tenant_id: tenant,
                app,
                version: 0,
            })
            .await
            .unwrap();
    }
    assert_eq!(store.count_applications(tenant).await.unwrap(), before + 5);
    let page = |prefix: Option<&str>, after: Option<(String, ObjectId)>, limit| NamePage {
        prefix: prefix.map(str::to_string),
        after,
        limit,
        owner: None,
    };
    let names = |apps: &[ApplicationRecord]| {
        apps.iter()
            .map(|a| a.app.display_name.clone())
            .collect::<Vec<_>>()
    };
    let al = store
        .application_page(tenant, &page(Some("AL"), None, 10))
        .await
        .unwrap();
    assert_eq!(
        names(&al),
        vec!["al%pha", "Alpha 1", "alpha 2"],
        "a prefix in any case, % taken literally"
    );
    let pct = store
        .application_page(tenant, &page(Some("al%"), None, 10))
        .await
        .unwrap();
    assert_eq!(names(&pct), vec!["al%pha"]);
    let first = store
        .application_page(tenant, &page(Some("al"), None, 2))
        .await
        .unwrap();
    let last = first.last().unwrap();
    let after = Some((name_key(&last.app.display_name), last.app.id));
    let rest = store
        .application_page(tenant, &page(Some("al"), after, 2))
        .await
        .unwrap();
    assert_eq!(
        names(&rest),
        vec!["alpha 2"],
        "the next page starts after the last row"
    );
    assert!(store
        .application_page(TenantId::new(), &page(None, None, 10))
        .await
        .unwrap()
        .is_empty());
    let mut beta = store
        .application_page(tenant, &page(Some("beta"), None, 10))
        .await
        .unwrap()
        .remove(0);
    beta.app.display_name = "Omega".into();
    assert!(store.update_application(&beta).await.unwrap());
    assert!(store
        .application_page(tenant, &page(Some("beta"), None, 10))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .application_page(tenant, &page(Some("omega"), None, 10))
            .await
            .unwrap()
            .len(),
        1
    );
    for a in store
        .application_page(tenant, &page(None, None, 1000))
        .await
        .unwrap()
    {
        if ["Zeta", "alpha 2", "Alpha 1", "al%pha", "Omega"].contains(&a.app.display_name.as_str()) {
            store.delete_application(tenant, a.app.id).await.unwrap();
        }
    }
    assert_eq!(store.count_applications(tenant).await.unwrap(), before);
}

async fn suite(store: &dyn Store, second: &dyn Store) {
    let kek = Kek::generate().unwrap();
    let t0 = now();
    assert_eq!(store.tenant_count().await.unwrap(), 0);
    let rev0 = store.change_position().await.unwrap();

    // Bootstrap writes everything at once, and only once.
    let (data, out) = first_tenant("contoso.example", &kek, t0).unwrap();
    store.bootstrap(&data).await.unwrap();
    assert_eq!(
        store.bootstrap(&data).await,
        Err(StoreError::Conflict(Conflict::Bootstrapped))
    );
    assert!(store.change_position().await.unwrap() > rev0);
    let loaded = second.load_directory().await.unwrap();
    let mut names = loaded.names.clone();
    names.sort_by(|a, b| a.key.cmp(&b.key));
    let mut expected = data.names.clone();
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(names, expected, "Microsoft Graph's names are held from the start");
    assert!(names.iter().any(|n| n.key == "https://graph.microsoft.com"));
    assert_eq!(
        store.get_tenant(out.tenant_id).await.unwrap().as_ref(),
        data.tenants.first()
    );
    assert_eq!(store.get_tenant(TenantId::new()).await.unwrap(), None);
    // The user consent setting: stored per tenant, Entra's default until changed.
    assert_eq!(loaded.tenants[0].user_consent, gatehouse_proto::UserConsent::Low);
    let tid = loaded.tenants[0].id;
    assert!(store
        .set_user_consent(tid, gatehouse_proto::UserConsent::Disabled)
        .await
        .unwrap());
    let off = second.get_tenant(tid).await.unwrap().unwrap();
    assert_eq!(off.user_consent, gatehouse_proto::UserConsent::Disabled);
    assert!(!store
        .set_user_consent(TenantId::new(), gatehouse_proto::UserConsent::Legacy)
        .await
        .unwrap());
    assert!(store
        .set_user_consent(tid, gatehouse_proto::UserConsent::Low)
        .await
        .unwrap());
    assert_eq!(loaded.tenants, data.tenants);
    assert_eq!(loaded.applications, data.applications);
    assert_eq!(loaded.secrets, data.secrets);
    assert_eq!(loaded.assignments.len(), data.assignments.len());
    assert_eq!(
        loaded.role_assignments, data.role_assignments,
        "the administrator's role"
    );
    assert_eq!(loaded.role_assignments.len(), 1);
    assert_eq!(loaded.keys, data.keys);
    assert_eq!(loaded.users, data.users, "the tenant's administrator");
    assert_eq!(data.users[0].user.user_principal_name, "admin@contoso.example");
    let tenant = out.tenant_id;

    // A second tenant cannot take a domain that is already verified elsewhere; a refused tenant leaves
    // nothing behind.
    let (clash, _) = new_tenant("Contoso.Example", Some("x"), t0).unwrap();
    assert_eq!(
        store.create_tenant(&clash).await,
        Err(StoreError::Conflict(Conflict::Domain("contoso.example".into())))
    );
    assert_eq!(store.tenant_count().await.unwrap(), 1);
    assert_eq!(
        second
            .find_tenant_by_domain("CONTOSO.example")
            .await
            .unwrap()
            .map(|t| t.id),
        Some(tenant)
    );
    assert_eq!(
        second.find_tenant_by_domain("nobody.example").await.unwrap(),
        None
    );
    assert!(store.add_domain(tenant, "Second.Example").await.unwrap());
    assert_eq!(
        store.add_domain(tenant, "second.example").await,
        Err(StoreError::Conflict(Conflict::Domain("second.example".into())))
    );
    assert!(!store.add_domain(TenantId::new(), "third.example").await.unwrap());
    assert_eq!(
        second.get_tenant(tenant).await.unwrap().unwrap().domains,
        vec!["contoso.example".to_string(), "second.example".to_string()]
    );

    // Applications: insert, get, update, unique appId, list.
    let app = new_application("api", None, t0);
    let rec = ApplicationRecord {
        tenant_id: tenant,
        app: app.clone(),
        version: 0,
    };
    store.insert_application(&rec).await.unwrap();
    assert_eq!(
        store.insert_application(&rec).await,
        Err(StoreError::Conflict(Conflict::Key))
    );
    let mut changed = rec.clone();
    changed.app.identifier_uris = vec!["api://api".into()];
    assert!(store.update_application(&changed).await.unwrap());
    // The version read is the version written against: a second write from the same read is stale.
    let mut stale = rec.clone();
    stale.app.notes = Some("lost".into());
    assert_eq!(second.update_application(&stale).await, Err(StoreError::Stale));
    changed.version = 1;
    assert_eq!(
        second.get_application(tenant, app.id).await.unwrap(),
        Some(changed.clone())
    );

    // Identifier URIs are held once per tenant, Microsoft Graph's names included, in any case and with
    // or without a trailing slash; a refused write changes nothing.
    let mut rival = ApplicationRecord {
        tenant_id: tenant,
        app: new_application("rival", None, t0),
        version: 0,
    };
    for taken in [
        "API://Api/",
        "https://graph.microsoft.com/",
        "https://graph.microsoft.us",
    ] {
        rival.app.identifier_uris = vec!["api://free".into(), taken.into()];
        assert_eq!(
            second.insert_application(&rival).await,
            Err(StoreError::Conflict(Conflict::IdentifierUri(taken.into()))),
            "{taken}"
        );
    }
    assert_eq!(second.get_application(tenant, rival.app.id).await.unwrap(), None);
    rival.app.identifier_uris = vec!["api://free".into()];
    second.insert_application(&rival).await.unwrap();
    let mut grab = changed.clone();
    grab.app.identifier_uris = vec!["api://api".into(), "api://FREE".into()];
    assert_eq!(
        store.update_application(&grab).await,
        Err(StoreError::Conflict(Conflict::IdentifierUri("api://FREE".into())))
    );
    assert_eq!(
        second.get_application(tenant, app.id).await.unwrap(),
        Some(changed.clone()),
        "the refused update left the application and its names as they were"
    );
    assert!(second.delete_application(tenant, rival.app.id).await.unwrap());
    grab.app.identifier_uris = vec!["api://free".into()];
    assert!(
        store.update_application(&grab).await.unwrap(),
        "a deleted application frees its names"
    );
    let keys: Vec<String> = second
        .load_directory()
        .await
        .unwrap()
        .names
        .into_iter()
        .filter(|n| n.app_id == app.app_id)
        .map(|n| n.key)
        .collect();
    assert_eq!(
        keys,
        vec!["api://free".to_string()],
        "an update replaces the names it held"
    );
    changed = store.get_application(tenant, app.id).await.unwrap().unwrap();
    assert_eq!(
        store.get_application(TenantId::new(), app.id).await.unwrap(),
        None,
        "tenant-scoped"
    );
    assert_eq!(store.list_applications(tenant).await.unwrap().len(), 2);
    paging(store, tenant, t0).await;
    assert_eq!(
        second
            .find_application_by_app_id(tenant, app.app_id)
            .await
            .unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        second
            .find_application_by_app_id(TenantId::new(), app.app_id)
            .await
            .unwrap(),
        None
    );

    // Secrets: hashes only, delete takes effect.
    let (secret, cred) = new_password(app.id, AddPasswordInput::default(), t0).unwrap();
    store.insert_secret(&secret).await.unwrap();
    assert_eq!(second.list_secrets(app.id).await.unwrap(), vec![secret.clone()]);
    assert_eq!(
        second.list_tenant_secrets(tenant).await.unwrap().len(),
        2,
        "the bootstrap secret and this one"
    );
    assert!(second
        .list_tenant_secrets(TenantId::new())
        .await
        .unwrap()
        .is_empty());
    let secret_value = cred.secret_text.unwrap();
    let dump = format!("{:?}", second.load_directory().await.unwrap().applications);
    assert!(!dump.contains(secret_value.expose()));
    assert!(store.delete_secret(app.id, secret.key_id).await.unwrap());
    assert!(!store.delete_secret(app.id, secret.key_id).await.unwrap());
    let missing = gatehouse_core::model::PasswordSecret {
        application_id: ObjectId::new(),
        ..secret.clone()
    };
    assert!(matches!(
        store.insert_secret(&missing).await,
        Err(StoreError::MissingReference(_))
    ));

    // Service principals and assignments, with cascades.
    let sp = ServicePrincipalRecord {
        tenant_id: tenant,
        sp: new_service_principal(&app, tenant),
    };
    store.insert_service_principal(&sp).await.unwrap();
    assert_eq!(
        second
            .find_service_principal_by_app_id(tenant, app.app_id)
            .await
            .unwrap(),
        Some(sp.clone())
    );
    let dup = ServicePrincipalRecord {
        sp: gatehouse_proto::graph::ServicePrincipal {
            id: ObjectId::new(),
            ..sp.sp.clone()
        },
        ..sp.clone()
    };
    assert_eq!(
        store.insert_service_principal(&dup).await,
        Err(StoreError::Conflict(Conflict::ServicePrincipal(app.app_id)))
    );
    // A PATCH is applied inside the write, and seen by the other node.
    let pos = store.change_position().await.unwrap();
    let off = gatehouse_proto::graph::ServicePrincipalUpdate {
        account_enabled: Some(false),
        ..Default::default()
    };
    let updated = store
        .update_service_principal(tenant, sp.sp.id, &off)
        .await
        .unwrap()
        .unwrap();
    assert!(!updated.sp.account_enabled && !updated.sp.app_role_assignment_required);
    assert!(
        !second
            .get_service_principal(tenant, sp.sp.id)
            .await
            .unwrap()
            .unwrap()
            .sp
            .account_enabled
    );
    assert!(store.change_position().await.unwrap() > pos, "in the change feed");
    assert_eq!(
        store
            .update_service_principal(tenant, ObjectId::new(), &off)
            .await,
        Ok(None)
    );
    let on = gatehouse_proto::graph::ServicePrincipalUpdate {
        account_enabled: Some(true),
        ..Default::default()
    };
    store
        .update_service_principal(tenant, sp.sp.id, &on)
        .await
        .unwrap();
    let graph_sp = data.service_principals[0].sp.id;
    let a = Assignment {
        id: "assignment-1".into(),
        tenant_id: tenant,
        principal_id: sp.sp.id,
        principal_type: gatehouse_proto::PrincipalType::ServicePrincipal,
        resource_id: graph_sp,
        app_role_id: Uuid::new_v4(),
        created: t0,
    };
    store.insert_assignment(&a).await.unwrap();
    let again = Assignment {
        id: "assignment-2".into(),
        ..a.clone()
    };
    assert_eq!(
        store.insert_assignment(&again).await,
        Err(StoreError::Conflict(Conflict::Assignment))
    );
    assert_eq!(
        second.list_assignments(tenant).await.unwrap().len(),
        data.assignments.len() + 1
    );
    assert!(store.delete_assignment(tenant, "assignment-1").await.unwrap());
    store.insert_assignment(&a).await.unwrap();

    // Users: principal names unique per tenant in any case, updates only over what was read.
    let user = UserRecord {
        tenant_id: tenant,
        user: gatehouse_proto::graph::User {
            id: ObjectId::new(),
            deleted_date_time: None,
            account_enabled: true,
            business_phones: vec![],
            created_date_time: t0,
            display_name: "Alice".into(),
            given_name: None,
            job_title: None,
            mail: None,
            mail_nickname: "alice".into(),
            mobile_phone: None,
            office_location: None,
            preferred_language: None,
            surname: None,
            user_principal_name: "Alice@contoso.example".into(),
            user_type: "Member".into(),
        },
        password: Some(PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$x$y".into())),
        force_change_password: true,
        password_changed: t0,
        version: 0,
    };
    store.insert_user(&user).await.unwrap();
    let mut twin = user.clone();
    twin.user.id = ObjectId::new();
    twin.user.user_principal_name = "ALICE@contoso.example".into();
    assert_eq!(
        second.insert_user(&twin).await,
        Err(StoreError::Conflict(Conflict::UserPrincipalName(
            "ALICE@contoso.example".into()
        )))
    );
    assert_eq!(
        second
            .find_user_by_upn(tenant, "alice@CONTOSO.example")
            .await
            .unwrap(),
        Some(user.clone())
    );
    let mut renamed = user.clone();
    renamed.user.display_name = "Alice B".into();
    renamed.force_change_password = false;
    assert!(second.update_user(&renamed).await.unwrap());
    assert_eq!(
        store.update_user(&renamed).await,
        Err(StoreError::Stale),
        "it read version 0"
    );
    twin.user.user_principal_name = "bob@contoso.example".into();
    store.insert_user(&twin).await.unwrap();
    twin.user.user_principal_name = "alice@contoso.example".into();
    assert_eq!(
        store.update_user(&twin).await,
        Err(StoreError::Conflict(Conflict::UserPrincipalName(
            "alice@contoso.example".into()
        )))
    );
    // Users are paged by display name (a rename moves them) and found by a prefix of either name.
    let user_page =
        |prefix: &str, after: Option<(String, ObjectId)>, limit| gatehouse_core::store::NamePage {
            prefix: Some(prefix.to_string()),
            after,
            limit,
            owner: Some(user.user.id),
        };
    let upns = |found: Vec<UserRecord>| {
        found
            .into_iter()
            .map(|u| u.user.user_principal_name)
            .collect::<Vec<_>>()
    };
    let first = second
        .user_page(tenant, &user_page("ALICE", None, 1))
        .await
        .unwrap();
    assert_eq!(
        upns(first.clone()),
        vec!["bob@contoso.example"],
        "\"Alice\" before \"Alice B\""
    );
    let after = Some((
        gatehouse_core::store::name_key(&first[0].user.display_name),
        first[0].user.id,
    ));
    assert_eq!(
        upns(
            second
                .user_page(tenant, &user_page("alice", after, 10))
                .await
                .unwrap()
        ),
        vec!["Alice@contoso.example"],
        "the next page; an owner in the page changes nothing"
    );
    assert_eq!(
        upns(
            store
                .user_page(tenant, &user_page("Bob@", None, 10))
                .await
                .unwrap()
        ),
        vec!["bob@contoso.example"]
    );
    assert_eq!(
        upns(
            store
                .user_page(tenant, &user_page("alice b", None, 10))
                .await
                .unwrap()
        ),
        vec!["Alice@contoso.example"]
    );
    assert!(store
        .user_page(TenantId::new(), &user_page("", None, 10))
        .await
        .unwrap()
        .is_empty());
    // Owners: a user of the tenant owns an application, seen from the other node; pages of what a
    // user owns; an owner deleted with the user; the tenant's switch for members' registrations.
    let owned = gatehouse_core::admin::applications::new_application("owned", None, t0);
    let owned = ApplicationRecord {
        tenant_id: tenant,
        app: owned,
        version: 0,
    };
    store
        .insert_owned_application(&owned, user.user.id)
        .await
        .unwrap();
    assert!(second.is_owner(owned.app.id, user.user.id).await.unwrap());
    assert!(!second.is_owner(owned.app.id, twin.user.id).await.unwrap());
    assert!(second
        .add_owner(tenant, owned.app.id, twin.user.id)
        .await
        .unwrap());
    assert!(
        !store.add_owner(tenant, owned.app.id, twin.user.id).await.unwrap(),
        "already an owner"
    );
    assert!(matches!(
        store.add_owner(TenantId::new(), owned.app.id, twin.user.id).await,
        Err(StoreError::MissingReference(_))
    ));
    let mut both = vec![user.user.id, twin.user.id];
    both.sort_by_key(|id| id.to_string());
    assert_eq!(store.owners(owned.app.id).await.unwrap(), both);
    let theirs = gatehouse_core::store::NamePage {
        owner: Some(twin.user.id),
        limit: 10,
        ..Default::default()
    };
    let page = store.application_page(tenant, &theirs).await.unwrap();
    assert_eq!(
        page.iter().map(|a| a.app.id).collect::<Vec<_>>(),
        vec![owned.app.id]
    );
    assert!(store
        .remove_owner(tenant, owned.app.id, twin.user.id)
        .await
        .unwrap());
    assert!(!store
        .remove_owner(tenant, owned.app.id, twin.user.id)
        .await
        .unwrap());
    assert!(store.application_page(tenant, &theirs).await.unwrap().is_empty());
    assert!(
        store
            .get_tenant(tenant)
            .await
            .unwrap()
            .unwrap()
            .users_can_register_apps,
        "on by default"
    );
    assert!(store.set_users_can_register_apps(tenant, false).await.unwrap());
    assert!(
        !second
            .get_tenant(tenant)
            .await
            .unwrap()
            .unwrap()
            .users_can_register_apps
    );
    assert!(store.set_users_can_register_apps(tenant, true).await.unwrap());
    store.delete_application(tenant, owned.app.id).await.unwrap();
    let listed = store.list_users(tenant).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|u| (u.user.display_name.as_str(), u.version, u.force_change_password))
            .collect::<Vec<_>>(),
        vec![
            ("Administrator", 0, false),
            ("Alice B", 1, false),
            ("Alice", 0, true)
        ]
    );
    // Directory roles: one assignment per user and role, listed per tenant or user, gone with the user.
    let role = new_assignment(tenant, twin.user.id, DirectoryRole::ApplicationAdministrator);
    store.insert_role_assignment(&role).await.unwrap();
    assert_eq!(
        second.insert_role_assignment(&role).await,
        Err(StoreError::Conflict(Conflict::RoleAssignment))
    );
    let ghost = new_assignment(tenant, ObjectId::new(), DirectoryRole::GlobalAdministrator);
    assert!(matches!(
        store.insert_role_assignment(&ghost).await,
        Err(StoreError::MissingReference(_))
    ));
    assert_eq!(
        second
            .list_role_assignments(tenant, Some(twin.user.id))
            .await
            .unwrap(),
        vec![role.clone()]
    );
    assert_eq!(second.list_role_assignments(tenant, None).await.unwrap().len(), 2);
    assert!(store.delete_role_assignment(tenant, &role.id).await.unwrap());
    assert!(!store.delete_role_assignment(tenant, &role.id).await.unwrap());
    store.insert_role_assignment(&role).await.unwrap();

    // A user's app role: a table of its own, read with the service principals' as one.
    let user_role = Assignment {
        id: "user-assignment-1".into(),
        tenant_id: tenant,
        principal_id: twin.user.id,
        principal_type: gatehouse_proto::PrincipalType::User,
        resource_id: graph_sp,
        app_role_id: Uuid::new_v4(),
        created: t0,
    };
    store.insert_assignment(&user_role).await.unwrap();
    let twice = Assignment {
        id: "user-assignment-2".into(),
        ..user_role.clone()
    };
    assert_eq!(
        second.insert_assignment(&twice).await,
        Err(StoreError::Conflict(Conflict::Assignment))
    );
    assert!(second
        .list_assignments(tenant)
        .await
        .unwrap()
        .contains(&user_role));
    assert_eq!(
        second.roles_held(twin.user.id).await.unwrap(),
        vec![(graph_sp, user_role.app_role_id)]
    );
    // Read by one side: the user's own, and the resource's (service principals' and users' alike,
    // oldest first); nothing of another tenant.
    use gatehouse_core::store::AssignmentsOf;
    assert_eq!(
        second
            .list_assignments_of(tenant, AssignmentsOf::Principal(twin.user.id))
            .await
            .unwrap(),
        vec![user_role.clone()]
    );
    let of_graph = store
        .list_assignments_of(tenant, AssignmentsOf::Resource(graph_sp))
        .await
        .unwrap();
    let whole: Vec<Assignment> = store
        .list_assignments(tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.resource_id == graph_sp)
        .collect();
    assert!(
        of_graph.contains(&user_role) && of_graph.len() > 1,
        "{of_graph:?}"
    );
    assert_eq!(of_graph, whole);
    assert!(store
        .list_assignments_of(TenantId::new(), AssignmentsOf::Resource(graph_sp))
        .await
        .unwrap()
        .is_empty());
    assert!(store.delete_assignment(tenant, &user_role.id).await.unwrap());
    assert!(second.roles_held(twin.user.id).await.unwrap().is_empty());
    store.insert_assignment(&user_role).await.unwrap();

    assert!(store.delete_user(tenant, twin.user.id).await.unwrap());
    assert!(!store.delete_user(tenant, twin.user.id).await.unwrap());
    assert_eq!(store.get_user(TenantId::new(), user.user.id).await.unwrap(), None);
    assert_eq!(
        store
            .list_role_assignments(tenant, Some(twin.user.id))
            .await
            .unwrap(),
        vec![],
        "the user's roles went with them"
    );
    assert!(
        !store.list_assignments(tenant).await.unwrap().contains(&user_role),
        "and their app roles"
    );

    // Delegated grants: one per client, resource and principal; re-scoped in place; gone with the
    // client's service principal (checked below, when its application is deleted).
    let grant = PermissionGrant {
        id: "grant-1".into(),
        tenant_id: tenant,
        client_id: sp.sp.id,
        resource_id: graph_sp,
        consent: Consent::AllPrincipals,
        scopes: vec!["User.Read".into()],
    };
    store.insert_grant(&grant).await.unwrap();
    let twin = PermissionGrant {
        id: "grant-2".into(),
        ..grant.clone()
    };
    assert_eq!(
        second.insert_grant(&twin).await,
        Err(StoreError::Conflict(Conflict::PermissionGrant))
    );
    let for_one = PermissionGrant {
        consent: Consent::Principal(ObjectId::new()),
        ..twin.clone()
    };
    second.insert_grant(&for_one).await.unwrap();
    let scopes = vec!["User.Read".to_string(), "openid".to_string()];
    assert!(second
        .update_grant_scopes(tenant, "grant-1", &scopes)
        .await
        .unwrap());
    assert!(!second
        .update_grant_scopes(TenantId::new(), "grant-1", &scopes)
        .await
        .unwrap());
    assert_eq!(
        store.list_grants(tenant).await.unwrap(),
        vec![
            PermissionGrant {
                scopes,
                ..grant.clone()
            },
            for_one.clone()
        ]
    );
    assert!(store.delete_grant(tenant, "grant-2").await.unwrap());
    assert!(!store.delete_grant(tenant, "grant-2").await.unwrap());

    // What a node reads by key: the client with its secrets, a name's holder, the roles held.
    store.insert_secret(&secret).await.unwrap();
    let client = second.client(app.app_id).await.unwrap().unwrap();
    assert_eq!((client.app.app.id, client.secrets.len()), (app.id, 1));
    assert!(second.client(AppId::new()).await.unwrap().is_none());
    assert_eq!(
        second.resource_name(tenant, "api://free").await.unwrap(),
        Some(app.app_id)
    );
    assert_eq!(
        second.resource_name(TenantId::new(), "api://free").await.unwrap(),
        None
    );
    assert_eq!(
        second.roles_held(sp.sp.id).await.unwrap(),
        vec![(graph_sp, a.app_role_id)]
    );

    // Deleting the application removes its secrets, its service principal and that one's assignments,
    // and the feed names each thing a node may have cached.
    let before = store.change_position().await.unwrap();
    assert!(store.delete_application(tenant, app.id).await.unwrap());
    assert!(store.change_position().await.unwrap() > before);
    assert_eq!(
        second.list_grants(tenant).await.unwrap(),
        vec![],
        "grants go with the client"
    );
    let feed = second.changes_since(before, 100).await.unwrap();
    assert!(feed.complete);
    let changed: Vec<Change> = feed.changes.into_iter().map(|(_, c)| c).collect();
    for expected in [
        Change::Application(app.app_id),
        Change::ServicePrincipal {
            tenant,
            app_id: app.app_id,
        },
        Change::Assignments(sp.sp.id),
        Change::Name {
            tenant,
            key: "api://free".into(),
        },
    ] {
        assert!(changed.contains(&expected), "{expected:?} in {changed:?}");
    }
    assert!(!store.delete_application(tenant, app.id).await.unwrap());
    assert_eq!(
        second.get_service_principal(tenant, sp.sp.id).await.unwrap(),
        None
    );
    assert!(second.list_secrets(app.id).await.unwrap().is_empty());
    assert_eq!(
        second.list_assignments(tenant).await.unwrap().len(),
        data.assignments.len()
    );

    // Signing keys.
    let k = new_stored_key(&kek, t0, t0).unwrap();
    store.insert_key(&k).await.unwrap();
    assert!(matches!(store.insert_key(&k).await, Err(StoreError::Conflict(_))));
    assert_eq!(second.load_directory().await.unwrap().keys.len(), 2);
    second.ping().await.unwrap();

    // A normal rotation adds a pending key only if none is pending; an emergency one replaces all.
    let later = t0 + time::Duration::DAY;
    let pending = new_stored_key(&kek, t0, later).unwrap();
    assert_eq!(
        store.rotate_keys(&pending, t0, false).await.unwrap(),
        Rotation::Added
    );
    let another = new_stored_key(&kek, t0, later).unwrap();
    assert_eq!(
        second.rotate_keys(&another, t0, false).await.unwrap(),
        Rotation::AlreadyPending(pending.kid.clone())
    );
    let keys = second.list_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys.last().unwrap().activates, later);
    assert_eq!(store.delete_keys(std::slice::from_ref(&k.kid)).await.unwrap(), 1);
    let urgent = new_stored_key(&kek, t0, t0).unwrap();
    assert_eq!(
        store.rotate_keys(&urgent, t0, true).await.unwrap(),
        Rotation::Added
    );
    let keys = second.list_keys().await.unwrap();
    assert_eq!(keys.iter().map(|k| &k.kid).collect::<Vec<_>>(), vec![&urgent.kid]);

    // Federated credentials belong to an application and go with it.
    let owner = ApplicationRecord {
        tenant_id: tenant,
        app: new_application("federated", None, t0),
        version: 0,
    };
    store.insert_application(&owner).await.unwrap();
    let mut fic = FederatedCredentialRecord {
        application_id: owner.app.id,
        credential: FederatedIdentityCredential {
            id: Uuid::new_v4(),
            name: "ci".into(),
            issuer: "https://issuer.example".into(),
            subject: "repo:x".into(),
            description: None,
            audiences: vec!["api://AzureADTokenExchange".into()],
        },
    };
    store.insert_federated(&fic, 2).await.unwrap();
    let mut same_name = fic.clone();
    same_name.credential.id = Uuid::new_v4();
    same_name.credential.subject = "repo:other".into();
    assert_eq!(
        store.insert_federated(&same_name, 2).await,
        Err(StoreError::Conflict(Conflict::FederatedCredentialName(
            "ci".into()
        )))
    );
    // Issuer and subject are unique per application, and the limit holds, in the write itself.
    let mut same_subject = fic.clone();
    same_subject.credential.id = Uuid::new_v4();
    same_subject.credential.name = "ci-2".into();
    assert_eq!(
        second.insert_federated(&same_subject, 2).await,
        Err(StoreError::Conflict(Conflict::FederatedCredentialSubject))
    );
    same_subject.credential.subject = "repo:z".into();
    second.insert_federated(&same_subject, 2).await.unwrap();
    let mut third = same_subject.clone();
    third.credential.id = Uuid::new_v4();
    third.credential.name = "ci-3".into();
    third.credential.subject = "repo:third".into();
    assert_eq!(
        store.insert_federated(&third, 2).await,
        Err(StoreError::Conflict(Conflict::TooManyFederatedCredentials(2)))
    );
    // An update applies only over what it read.
    let read = fic.credential.clone();
    fic.credential.subject = "repo:y".into();
    let mut clash = fic.clone();
    clash.credential.subject = "repo:z".into();
    assert_eq!(
        store.update_federated(&clash, &read).await,
        Err(StoreError::Conflict(Conflict::FederatedCredentialSubject))
    );
    assert!(store.update_federated(&fic, &read).await.unwrap());
    let mut late = fic.clone();
    late.credential.description = Some("lost".into());
    assert_eq!(
        second.update_federated(&late, &read).await,
        Err(StoreError::Stale)
    );
    assert!(second
        .delete_federated(owner.app.id, same_subject.credential.id)
        .await
        .unwrap());
    assert_eq!(
        second.list_federated(owner.app.id).await.unwrap(),
        vec![fic.clone()]
    );
    assert_eq!(
        second.load_directory().await.unwrap().federated,
        vec![fic.clone()]
    );
    assert!(store.delete_application(tenant, owner.app.id).await.unwrap());
    assert!(second.list_federated(owner.app.id).await.unwrap().is_empty());

    // Assertion ids are single-use across connections (nodes), without moving the revision.
    let rev = store.change_position().await.unwrap();
    let jti = Uuid::new_v4().to_string();
    let used = |client: &str| (client.to_string(), jti.clone(), later);
    assert_eq!(
        store.record_assertions(&[used("client")]).await.unwrap(),
        vec![true]
    );
    assert_eq!(
        second
            .record_assertions(&[used("client"), used("other-client"), used("other-client")])
            .await
            .unwrap(),
        vec![false, true, false],
        "earlier and in-batch repeats are both replays"
    );
    assert_eq!(store.change_position().await.unwrap(), rev);
    let pruned = store
        .prune_assertions(later + time::Duration::SECOND)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(
        store.record_assertions(&[used("client")]).await.unwrap(),
        vec![true]
    );

    // A second tenant lives beside the first; deleting it takes everything of it and nothing else.
    let (rows, other) = new_tenant("fabrikam.example", None, t0 + time::Duration::SECOND).unwrap();
    second.create_tenant(&rows).await.unwrap();
    let listed: Vec<TenantId> = store.list_tenants().await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(listed, vec![tenant, other.tenant_id]);
    let before = store.load_directory().await.unwrap();
    let graph_names_before = before.names.iter().filter(|n| n.tenant_id == tenant).count();
    assert!(store.delete_tenant(other.tenant_id).await.unwrap());
    assert!(!store.delete_tenant(other.tenant_id).await.unwrap());
    let after = second.load_directory().await.unwrap();
    assert!(after.tenants.iter().all(|t| t.id == tenant));
    assert!(after.applications.iter().all(|a| a.tenant_id == tenant));
    assert!(after.service_principals.iter().all(|s| s.tenant_id == tenant));
    assert!(after.assignments.iter().all(|a| a.tenant_id == tenant));
    assert!(after.names.iter().all(|n| n.tenant_id == tenant));
    assert!(
        after.users.iter().all(|u| u.tenant_id == tenant),
        "its users go too"
    );
    assert_eq!(after.names.len(), graph_names_before);
    let owned: Vec<ObjectId> = after.applications.iter().map(|a| a.app.id).collect();
    assert!(after.secrets.iter().all(|s| owned.contains(&s.application_id)));
    assert_eq!(
        second.find_tenant_by_domain("fabrikam.example").await.unwrap(),
        None
    );

    // The feed: every write above is in it, in order; pruning tells a reader that fell behind.
    let end = store.change_position().await.unwrap();
    let all = second.changes_since(0, 100_000).await.unwrap();
    assert!(all.complete);
    assert_eq!(all.changes.last().map(|(p, _)| *p), Some(end));
    assert!(all.changes.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        all.changes.contains(&(end, Change::Tenant(other.tenant_id))),
        "the deletion is last"
    );
    let pruned = store
        .prune_changes(OffsetDateTime::now_utc() + time::Duration::SECOND)
        .await
        .unwrap();
    assert!(pruned > 0);
    assert!(!second.changes_since(0, 10).await.unwrap().complete);
    let caught_up = second.changes_since(end, 10).await.unwrap();
    assert!(caught_up.complete && caught_up.changes.is_empty());
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = std::env::temp_dir().join(format!("gatehouse-conformance-{}", Uuid::new_v4()));
    let path = dir.join("gatehouse.db");
    let a = SqlStore::sqlite(&path).await.unwrap();
    let b = SqlStore::sqlite(&path).await.unwrap();
    suite(&a, &b).await;
    assert!(
        dir.join("gatehouse.db-wal").exists(),
        "every connection runs in WAL mode"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_store_conforms() {
    let db = PgDatabase::create().await;
    let a = SqlStore::postgres(&db.url).await.unwrap();
    let b = SqlStore::postgres(&db.url).await.unwrap();
    suite(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
}

#[tokio::test]
async fn two_nodes_bootstrapping_at_once_make_one_tenant() {
    let db = PgDatabase::create().await;
    let a = SqlStore::postgres(&db.url).await.unwrap();
    let b = SqlStore::postgres(&db.url).await.unwrap();
    let kek = Kek::generate().unwrap();
    let t0 = now();
    let (r1, r2) = tokio::join!(
        gatehouse_core::admin::bootstrap::bootstrap_if_empty(&a, "a.example", &kek, t0),
        gatehouse_core::admin::bootstrap::bootstrap_if_empty(&b, "b.example", &kek, t0),
    );
    let made = [r1.unwrap(), r2.unwrap()].into_iter().flatten().count();
    assert_eq!(made, 1);
    assert_eq!(a.tenant_count().await.unwrap(), 1);
    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
}
