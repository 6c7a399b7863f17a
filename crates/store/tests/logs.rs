#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The audit and sign-in logs on both databases: a write inside an audit scope stores its record in
//! its own transaction (and a refused write stores none), queries filter and page newest first per
//! tenant, and pruning deletes by age.

use gatehouse_core::admin::applications::new_application;
use gatehouse_core::admin::bootstrap::first_tenant;
use gatehouse_core::audit::{
    Activity, AuditDraft, AuditEntry, Comparison, Condition, LogField, LogKind, LogPosition, LogQuery,
    LogValue, Outcome, SignInAttempt, SignInEntry, SignInNames,
};
use gatehouse_core::model::ApplicationRecord;
use gatehouse_core::store::{Store, StoreError};
use gatehouse_jose::kek::Kek;
use gatehouse_proto::logs::AuditActivityInitiator;
use gatehouse_proto::TenantId;
use gatehouse_store::logs::audited;
use gatehouse_store::testing::PgDatabase;
use gatehouse_store::SqlStore;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn draft(tenant_id: TenantId, method: &str, path: &str) -> AuditDraft {
    AuditDraft {
        tenant_id,
        activity: Activity::of(method, path),
        correlation_id: Uuid::new_v4(),
        initiated_by: AuditActivityInitiator::default(),
        modified_properties: vec!["displayName".into()],
        target: Activity::target_in(path)
            .map(|id| gatehouse_core::audit::Touched::new("Application", id, None)),
        user_agent: Some("test".into()),
    }
}

fn all(tenant_id: TenantId) -> LogQuery {
    LogQuery {
        tenant_id: Some(tenant_id),
        conditions: Vec::new(),
        before: None,
        limit: 1000,
    }
}

fn with(tenant_id: TenantId, field: LogField, comparison: Comparison, value: LogValue) -> LogQuery {
    LogQuery {
        conditions: vec![Condition {
            field,
            comparison,
            value,
        }],
        ..all(tenant_id)
    }
}

async fn suite(store: &dyn Store) {
    let kek = Kek::generate().unwrap();
    let t0 = OffsetDateTime::now_utc();
    let (data, out) = first_tenant("contoso.example", &kek, t0).unwrap();
    store.bootstrap(&data).await.unwrap();
    let tenant = out.tenant_id;
    // Bootstrapping is not a Graph write: it leaves no record.
    assert!(store.audits(&all(tenant)).await.unwrap().is_empty());

    // A write inside a scope carries its record, naming what it touched.
    let rec = ApplicationRecord {
        tenant_id: tenant,
        app: new_application("audited", None, t0),
        version: 0,
    };
    let d = draft(tenant, "POST", "/applications");
    let (done, recorded) = audited(d.clone(), store.insert_application(&rec)).await;
    done.unwrap();
    assert!(recorded);
    let audits = store.audits(&all(tenant)).await.unwrap();
    assert_eq!(audits.len(), 1);
    let a = &audits[0].record;
    assert_eq!(
        (
            a.activity_display_name.as_str(),
            a.result.as_str(),
            a.category.as_str()
        ),
        ("Add application", "success", "ApplicationManagement")
    );
    assert_eq!(a.correlation_id, d.correlation_id.to_string());
    assert_eq!(a.target_resources[0].id, Some(rec.app.id.to_string()));
    assert_eq!(a.target_resources[0].display_name.as_deref(), Some("audited"));
    assert_eq!(
        a.target_resources[0].modified_properties[0].display_name,
        "displayName"
    );

    // A refused write commits nothing, and so no record.
    let (dup, recorded) = audited(
        draft(tenant, "POST", "/applications"),
        store.insert_application(&rec),
    )
    .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert!(!recorded);
    // Outside a scope (the CLI against the store, bootstrap) nothing is recorded.
    let mut renamed = rec.clone();
    renamed.app.display_name = "renamed".into();
    assert!(store.update_application(&renamed).await.unwrap());
    assert_eq!(store.audits(&all(tenant)).await.unwrap().len(), 1);

    // Records of their own (refused writes), in two tenants, at known times.
    let other = TenantId::new();
    let base = OffsetDateTime::now_utc() - Duration::hours(1);
    for i in 0..10 {
        let t = if i % 5 == 4 { other } else { tenant };
        let d = draft(t, if i % 2 == 0 { "PATCH" } else { "POST" }, "/users/x");
        let mut record = d.finish(
            &[],
            &Outcome::Failure("Authorization_RequestDenied (403)".into()),
            base,
        );
        record.activity_date_time = base + Duration::minutes(i);
        store
            .record_audit(&AuditEntry { tenant_id: t, record })
            .await
            .unwrap();
    }
    let mine = store.audits(&all(tenant)).await.unwrap();
    assert_eq!(mine.len(), 9, "one tenant's log holds only its records");
    assert!(
        mine.windows(2)
            .all(|w| w[0].record.activity_date_time >= w[1].record.activity_date_time),
        "newest first"
    );
    let users = with(
        tenant,
        LogField::Category,
        Comparison::Eq,
        LogValue::Text("USERMANAGEMENT".into()),
    );
    assert_eq!(
        store.audits(&users).await.unwrap().len(),
        8,
        "text compares in any case"
    );
    let recent = with(
        tenant,
        LogField::Time,
        Comparison::Ge,
        LogValue::Time(base + Duration::minutes(5)),
    );
    assert_eq!(store.audits(&recent).await.unwrap().len(), 1 + 4);
    let failed = with(
        tenant,
        LogField::Result,
        Comparison::Eq,
        LogValue::Text("failure".into()),
    );
    assert_eq!(store.audits(&failed).await.unwrap().len(), 8);

    // Paging: each page starts after the last record of the one before, and together they are all.
    let mut seen = Vec::new();
    let mut before: Option<LogPosition> = None;
    loop {
        let page = store
            .audits(&LogQuery {
                before: before.clone(),
                limit: 4,
                ..all(tenant)
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(LogPosition {
            at: last.record.activity_date_time,
            id: last.record.id.clone(),
        });
        seen.extend(page.into_iter().map(|e| e.record.id));
    }
    let mut ids: Vec<_> = mine.iter().map(|e| e.record.id.clone()).collect();
    assert_eq!(seen, ids);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 9);

    // Sign-ins: one statement for a batch; filters on the app, the status and the time.
    let app = |i: i64| format!("{:08}-0000-0000-0000-000000000000", i % 3);
    let attempt = |i: i64, ok: bool| SignInAttempt {
        at: base + Duration::minutes(i),
        correlation_id: Uuid::new_v4(),
        grant: "client_credentials",
        client_id: app(i),
        address: "127.0.0.1".into(),
        username: None,
        tenant: tenant.to_string(),
        outcome: if ok {
            Ok(gatehouse_core::flows::Subject {
                tenant_id: tenant,
                client_id: gatehouse_proto::AppId::parse(&app(i)).unwrap(),
                user_id: None,
                resource_id: gatehouse_proto::ObjectId::new(),
                resource_name: "api".into(),
            })
        } else {
            Err((7_000_215, "Invalid client secret provided.".into()))
        },
    };
    let entries: Vec<SignInEntry> = (0..30)
        .map(|i| SignInEntry {
            tenant_id: tenant,
            record: attempt(i, i % 2 == 0).record(SignInNames::default()),
        })
        .collect();
    store.record_sign_ins(&entries).await.unwrap();
    store.record_sign_ins(&[]).await.unwrap();
    assert_eq!(store.sign_ins(&all(tenant)).await.unwrap().len(), 30);
    let refused = with(
        tenant,
        LogField::ErrorCode,
        Comparison::Eq,
        LogValue::Number(7_000_215),
    );
    assert_eq!(store.sign_ins(&refused).await.unwrap().len(), 15);
    let one_app = with(
        tenant,
        LogField::AppId,
        Comparison::Eq,
        LogValue::Text("00000001-0000-0000-0000-000000000000".into()),
    );
    assert_eq!(store.sign_ins(&one_app).await.unwrap().len(), 10);
    assert!(store.sign_ins(&all(other)).await.unwrap().is_empty());

    // Pruning deletes by age, at most `limit` a statement.
    let cut = base + Duration::minutes(10);
    assert_eq!(store.prune_log(LogKind::SignIn, cut, 4).await.unwrap(), 4);
    assert_eq!(store.prune_log(LogKind::SignIn, cut, 100).await.unwrap(), 6);
    assert_eq!(store.prune_log(LogKind::SignIn, cut, 100).await.unwrap(), 0);
    assert_eq!(store.sign_ins(&all(tenant)).await.unwrap().len(), 20);
    // The audit log: the ten refused-write records are an hour old; the scope's record is new.
    let pruned = store
        .prune_log(
            LogKind::Audit,
            OffsetDateTime::now_utc() - Duration::minutes(30),
            100,
        )
        .await
        .unwrap();
    assert_eq!(pruned, 10);
    assert_eq!(store.audits(&all(tenant)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn sqlite_logs() {
    let dir = std::env::temp_dir().join(format!("gatehouse-logs-{}", Uuid::new_v4()));
    let store = SqlStore::sqlite(&dir.join("gatehouse.db")).await.unwrap();
    suite(&store).await;
    store.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_logs() {
    let db = PgDatabase::create().await;
    let store = SqlStore::postgres(&db.url).await.unwrap();
    suite(&store).await;
    store.shutdown().await;
    db.drop_now().await;
}
