#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Transactions that read, then write, while other connections write (two handles on one database,
//! as two nodes, and each handle's own pool). In SQLite a transaction that began as a reader cannot
//! become a writer once another connection has committed: it fails at once with "database is locked",
//! without waiting out the busy timeout. A device's poll and a sign-out are such transactions, so a
//! busy node answered a device's poll with 503 `temporarily_unavailable`; every one of these must wait
//! its turn instead.

use gatehouse_core::admin::bootstrap::first_tenant;
use gatehouse_core::model::{DeviceCode, DeviceState, Session};
use gatehouse_core::store::Store;
use gatehouse_jose::kek::Kek;
use gatehouse_proto::AppId;
use gatehouse_store::testing::PgDatabase;
use gatehouse_store::SqlStore;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const ROUNDS: usize = 40;

async fn suite(a: &dyn Store, b: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let (data, out) = first_tenant("contoso.example", &Kek::generate().unwrap(), now).unwrap();
    a.bootstrap(&data).await.unwrap();
    let user = data.users[0].user.id;
    let device = DeviceCode {
        device_hash: [9; 32],
        user_code: "CONTENDS".into(),
        tenant_id: out.tenant_id,
        client_id: AppId::from(Uuid::new_v4()),
        scope: "User.Read".into(),
        expires_at: now + Duration::minutes(15),
        interval_secs: 5,
        state: DeviceState::Pending,
        family_id: Uuid::new_v4(),
    };
    a.insert_device_code(&device).await.unwrap();
    let sessions: Vec<Session> = (0..ROUNDS)
        .map(|i| Session {
            id_hash: [u8::try_from(i).unwrap(); 32],
            sid: Uuid::new_v4(),
            tenant_id: out.tenant_id,
            user_id: user,
            auth_time: now,
            expires_at: now + Duration::days(1),
            clients: vec![],
        })
        .collect();
    for s in &sessions {
        a.insert_session(s).await.unwrap();
    }

    // Polls and sign-outs (read, then write) race sign-in failures (writes) on both handles.
    let polls = (0..ROUNDS).map(|i| {
        let store = if i % 2 == 0 { a } else { b };
        async move { store.poll_device_code(&[9; 32], now).await.map(|f| f.is_some()) }
    });
    let sign_outs = sessions.iter().enumerate().map(|(i, s)| {
        let store = if i % 2 == 0 { b } else { a };
        async move { store.end_session(&s.id_hash).await.map(|s| s.is_some()) }
    });
    let failures = (0..ROUNDS).map(|i| {
        let store = if i % 2 == 0 { a } else { b };
        let key = format!("address:10.0.0.{i}");
        async move { store.record_sign_in_failure(&[key], now).await.map(|_| true) }
    });
    let (polls, sign_outs, failures) = tokio::join!(
        futures_util::future::join_all(polls),
        futures_util::future::join_all(sign_outs),
        futures_util::future::join_all(failures),
    );
    for (what, results) in [("poll", polls), ("sign-out", sign_outs), ("failure", failures)] {
        for r in results {
            assert!(
                r.as_ref().is_ok_and(|found| *found),
                "a {what} failed under contention: {r:?}"
            );
        }
    }
    for s in &sessions {
        assert!(a.find_session(&s.id_hash).await.unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_that_then_write_wait_for_other_writers() {
    let dir = std::env::temp_dir().join(format!("gatehouse-contention-{}", Uuid::new_v4()));
    let path = dir.join("gatehouse.db");
    let a = SqlStore::sqlite(&path).await.unwrap();
    let b = SqlStore::sqlite(&path).await.unwrap();
    suite(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reads_that_then_write_wait_for_other_writers() {
    let db = PgDatabase::create().await;
    let a = SqlStore::postgres(&db.url).await.unwrap();
    let b = SqlStore::postgres(&db.url).await.unwrap();
    suite(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
}
