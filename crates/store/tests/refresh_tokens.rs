#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Refresh-token families against both stores (issue #9): only hashes are stored; a rotation succeeds
//! once, a retry within the grace window succeeds again, a reuse after it revokes the whole family;
//! two handles racing on one token (two nodes) never both rotate it outside the grace window; and
//! revocation and pruning reach every token of a user. Browser sessions remember the applications signed
//! in through them, and ending one revokes the families issued in it; deleting a client's service
//! principal revokes that client's families.

use gatehouse_core::admin::bootstrap::first_tenant;
use gatehouse_core::flows::delegated::new_refresh_token;
use gatehouse_core::model::{RefreshFamily, Session};
use gatehouse_core::store::Store;
use gatehouse_jose::kek::Kek;
use gatehouse_proto::{AppId, ObjectId};
use gatehouse_store::testing::PgDatabase;
use gatehouse_store::SqlStore;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn family(tenant: gatehouse_proto::TenantId, user: ObjectId, now: OffsetDateTime) -> RefreshFamily {
    RefreshFamily {
        id: Uuid::new_v4(),
        tenant_id: tenant,
        user_id: user,
        client_id: AppId::from(Uuid::new_v4()),
        scopes: "User.Read offline_access".into(),
        auth_time: now,
        expires_at: now + Duration::days(1),
        spa: true,
        session_id: Some("session-1".into()),
        revoked: false,
    }
}

async fn suite(a: &dyn Store, b: &dyn Store, db_text: impl Fn() -> String) {
    // Whole seconds: the stores keep microseconds.
    let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let (data, out) = first_tenant("contoso.example", &Kek::generate().unwrap(), now).unwrap();
    a.bootstrap(&data).await.unwrap();
    let user = data.users[0].user.id;
    let f = family(out.tenant_id, user, now);
    let (v1, t1) = new_refresh_token(f.id, now).unwrap();
    a.insert_refresh_family(&f, &t1).await.unwrap();
    assert!(!db_text().contains(&v1.expose()[2..]), "only the hash is stored");

    // Found by hash on the other node, with its family.
    let (found, fam) = b.find_refresh_token(&t1.hash).await.unwrap().unwrap();
    assert_eq!((found.used_at, &fam), (None, &f));

    // Rotated once; again within the grace window (a retry) also succeeds.
    let later = now + Duration::seconds(5);
    let (_, t2) = new_refresh_token(f.id, later).unwrap();
    assert!(a
        .rotate_refresh_token(&t1.hash, &t2, later - Duration::seconds(60))
        .await
        .unwrap());
    let (_, t3) = new_refresh_token(f.id, later).unwrap();
    assert!(b
        .rotate_refresh_token(&t1.hash, &t3, later - Duration::seconds(60))
        .await
        .unwrap());
    let (used, _) = a.find_refresh_token(&t1.hash).await.unwrap().unwrap();
    assert_eq!(
        used.used_at.map(|t| t.unix_timestamp()),
        Some(later.unix_timestamp()),
        "first use kept"
    );

    // After the window, presenting it again is reuse: refused, and the family is revoked.
    let much_later = later + Duration::minutes(5);
    let (_, t4) = new_refresh_token(f.id, much_later).unwrap();
    assert!(!a
        .rotate_refresh_token(&t1.hash, &t4, much_later - Duration::seconds(60))
        .await
        .unwrap());
    let (_, fam) = b.find_refresh_token(&t2.hash).await.unwrap().unwrap();
    assert!(fam.revoked, "every token of the family goes");
    let (_, t5) = new_refresh_token(f.id, much_later).unwrap();
    assert!(!b.rotate_refresh_token(&t2.hash, &t5, much_later).await.unwrap());

    // Two nodes racing on one fresh token with no grace: exactly one rotates it.
    let g = family(out.tenant_id, user, now);
    let (_, first) = new_refresh_token(g.id, now).unwrap();
    a.insert_refresh_family(&g, &first).await.unwrap();
    let (_, x) = new_refresh_token(g.id, later).unwrap();
    let (_, y) = new_refresh_token(g.id, later).unwrap();
    let far = later + Duration::days(1);
    let (rx, ry) = tokio::join!(
        a.rotate_refresh_token(&first.hash, &x, far),
        b.rotate_refresh_token(&first.hash, &y, far)
    );
    assert_eq!(u8::from(rx.unwrap()) + u8::from(ry.unwrap()), 1, "one winner");

    // Revoking a user's tokens reaches a live family; pruning forgets expired ones.
    let h = family(out.tenant_id, user, now);
    let (_, ht) = new_refresh_token(h.id, now).unwrap();
    a.insert_refresh_family(&h, &ht).await.unwrap();
    assert_eq!(
        b.revoke_user_refresh_tokens(out.tenant_id, user).await.unwrap(),
        1
    );
    assert!(a.find_refresh_token(&ht.hash).await.unwrap().unwrap().1.revoked);
    assert!(
        a.prune_refresh_tokens(now + Duration::days(2), now + Duration::days(2))
            .await
            .unwrap()
            > 0
    );
    assert!(a.find_refresh_token(&ht.hash).await.unwrap().is_none());

    // A session records each application once, on either node; ending it returns them, forgets the
    // session and revokes the families issued in it.
    let session = Session {
        id_hash: [7; 32],
        sid: Uuid::new_v4(),
        tenant_id: out.tenant_id,
        user_id: user,
        auth_time: now,
        expires_at: now + Duration::days(1),
        clients: vec![],
    };
    a.insert_session(&session).await.unwrap();
    let (one, two) = (AppId::from(Uuid::new_v4()), AppId::from(Uuid::new_v4()));
    for (store, client) in [(a, one), (b, one), (a, two)] {
        store.add_session_client(&session.id_hash, client).await.unwrap();
    }
    let mut expected = vec![one, two];
    expected.sort_by_key(|c| c.to_string());
    let found = b.find_session(&session.id_hash).await.unwrap().unwrap();
    assert_eq!(found.clients, expected);
    let mut in_session = family(out.tenant_id, user, now);
    in_session.session_id = Some(session.sid.to_string());
    let (_, st) = new_refresh_token(in_session.id, now).unwrap();
    a.insert_refresh_family(&in_session, &st).await.unwrap();
    let ended = b.end_session(&session.id_hash).await.unwrap().unwrap();
    assert_eq!(ended.clients, expected);
    assert!(a.find_session(&session.id_hash).await.unwrap().is_none());
    assert!(a.find_refresh_token(&st.hash).await.unwrap().unwrap().1.revoked);

    // Deleting a client's service principal ends its families in that tenant.
    let mgmt = a
        .find_service_principal_by_app_id(out.tenant_id, out.client_id)
        .await
        .unwrap()
        .unwrap();
    let mut of_client = family(out.tenant_id, user, now);
    of_client.client_id = out.client_id;
    let (_, ct) = new_refresh_token(of_client.id, now).unwrap();
    a.insert_refresh_family(&of_client, &ct).await.unwrap();
    assert!(b
        .delete_service_principal(out.tenant_id, mgmt.sp.id)
        .await
        .unwrap());
    assert!(a.find_refresh_token(&ct.hash).await.unwrap().unwrap().1.revoked);
}

#[tokio::test]
async fn sqlite_refresh_tokens_rotate_once_and_reuse_revokes_the_family() {
    let dir = std::env::temp_dir().join(format!("gatehouse-refresh-{}", Uuid::new_v4()));
    let path = dir.join("gatehouse.db");
    let a = SqlStore::sqlite(&path).await.unwrap();
    let b = SqlStore::sqlite(&path).await.unwrap();
    let text = || {
        let mut all = Vec::new();
        for f in ["gatehouse.db", "gatehouse.db-wal"] {
            all.extend(std::fs::read(dir.join(f)).unwrap_or_default());
        }
        String::from_utf8_lossy(&all).into_owned()
    };
    suite(&a, &b, text).await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_refresh_tokens_rotate_once_and_reuse_revokes_the_family() {
    let db = PgDatabase::create().await;
    let a = SqlStore::postgres(&db.url).await.unwrap();
    let b = SqlStore::postgres(&db.url).await.unwrap();
    suite(&a, &b, String::new).await;
    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
}
