#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Password sign-in against both stores (issue #9): smart lockout per account and per address, counted
//! atomically across two handles on one database (two nodes), answered before the password is checked,
//! cleared by a success; unknown users answered as wrong passwords unless the policy says otherwise.

use async_trait::async_trait;
use gatehouse_core::admin::bootstrap::{first_tenant, BootstrapOutput};
use gatehouse_core::admin::AdminError;
use gatehouse_core::passwords::{hash_blocking, verify_blocking, Hasher, PasswordHash};
use gatehouse_core::signin::{authenticate, Attempt, SignInError, SignInPolicy};
use gatehouse_core::store::Store;
use gatehouse_jose::kek::Kek;
use gatehouse_proto::token::Secret;
use gatehouse_store::testing::PgDatabase;
use gatehouse_store::SqlStore;
use time::{Duration, OffsetDateTime};

/// Hashes on the test's own thread (the server's pool is not what is tested here).
struct Inline;

#[async_trait]
impl Hasher for Inline {
    async fn hash(&self, password: Secret) -> Result<PasswordHash, AdminError> {
        hash_blocking(&password)
    }
    async fn verify(&self, hash: Option<PasswordHash>, password: Secret) -> bool {
        verify_blocking(hash.as_ref(), &password)
    }
}

fn attempt(out: &BootstrapOutput, upn: &str, password: &str, address: &str) -> Attempt {
    Attempt {
        tenant: out.tenant_id,
        upn: upn.into(),
        password: Secret::new(password),
        client_address: address.into(),
    }
}

async fn suite(a: &dyn Store, b: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let (data, out) = first_tenant("contoso.example", &Kek::generate().unwrap(), now).unwrap();
    a.bootstrap(&data).await.unwrap();
    let admin = out.admin_user_principal_name.clone().unwrap();
    let right = out.admin_password.clone().unwrap();
    let policy = SignInPolicy::default();
    let sign_in = |store: &'static str, upn: &str, pw: &str, addr: &str, at: OffsetDateTime| {
        let store: &dyn Store = if store == "a" { a } else { b };
        let attempt = attempt(&out, upn, pw, addr);
        async move { authenticate(store, &Inline, &policy, attempt, at).await }
    };

    // The right password signs in, whatever the case of the name.
    let ok = sign_in("a", &admin.to_uppercase(), right.expose(), "10.0.0.1", now)
        .await
        .unwrap();
    assert_eq!(ok.user.user_principal_name, admin);

    // Ten concurrent failures through two nodes lock the account: each counted once, atomically.
    let fails = (0..10).map(|i| {
        sign_in(
            if i % 2 == 0 { "a" } else { "b" },
            &admin,
            "Wrong-Pass-1",
            "10.0.0.2",
            now,
        )
    });
    for r in futures_util::future::join_all(fails).await {
        assert_eq!(r.unwrap_err(), SignInError::InvalidCredentials);
    }
    let key = format!("account:{}:{admin}", out.tenant_id);
    assert_eq!(
        b.sign_in_failures(std::slice::from_ref(&key)).await.unwrap()[0].0,
        10
    );
    // Locked: even the right password is refused, before it is checked, on either node.
    let locked = sign_in(
        "b",
        &admin,
        right.expose(),
        "10.0.0.3",
        now + Duration::seconds(30),
    )
    .await;
    assert!(matches!(locked, Err(SignInError::Locked { .. })), "{locked:?}");
    // After the lockout the right password works and clears the account's count.
    sign_in(
        "a",
        &admin,
        right.expose(),
        "10.0.0.3",
        now + Duration::seconds(61),
    )
    .await
    .unwrap();
    assert_eq!(a.sign_in_failures(&[key]).await.unwrap()[0].0, 0);

    // An address that fails for many accounts is locked too; unknown users look like wrong passwords.
    for i in 0..10 {
        let r = sign_in("a", &format!("nobody{i}@contoso.example"), "x", "10.9.9.9", now).await;
        assert_eq!(r.unwrap_err(), SignInError::InvalidCredentials);
    }
    let r = sign_in("b", &admin, right.expose(), "10.9.9.9", now).await;
    assert!(matches!(r, Err(SignInError::Locked { .. })), "{r:?}");
    let reveal = SignInPolicy {
        reveal_unknown_users: true,
        ..policy
    };
    let r = authenticate(
        a,
        &Inline,
        &reveal,
        attempt(&out, "ghost@contoso.example", "x", "10.1.1.1"),
        now,
    )
    .await;
    assert_eq!(r.unwrap_err(), SignInError::UnknownUser);

    // A disabled account, and one that must change its password, say so once the password is right.
    let mut rec = a.find_user_by_upn(out.tenant_id, &admin).await.unwrap().unwrap();
    rec.force_change_password = true;
    assert!(a.update_user(&rec).await.unwrap());
    let r = sign_in("b", &admin, right.expose(), "10.0.0.4", now).await;
    assert_eq!(r.unwrap_err(), SignInError::PasswordChangeRequired);
    let mut rec = a.find_user_by_upn(out.tenant_id, &admin).await.unwrap().unwrap();
    rec.user.account_enabled = false;
    assert!(a.update_user(&rec).await.unwrap());
    let r = sign_in("a", &admin, right.expose(), "10.0.0.4", now).await;
    assert_eq!(r.unwrap_err(), SignInError::Disabled);
    let r = sign_in("a", &admin, "Wrong-Pass-1", "10.0.0.4", now).await;
    assert_eq!(
        r.unwrap_err(),
        SignInError::InvalidCredentials,
        "a wrong password says nothing more"
    );

    // Old failures are forgotten.
    assert!(a.prune_sign_in_failures(now + Duration::hours(1)).await.unwrap() > 0);
    assert_eq!(a.tenant_count().await.unwrap(), 1);
}

#[tokio::test]
async fn sqlite_sign_in_locks_out_across_handles() {
    let dir = std::env::temp_dir().join(format!("gatehouse-signin-{}", uuid::Uuid::new_v4()));
    let path = dir.join("gatehouse.db");
    let a = SqlStore::sqlite(&path).await.unwrap();
    let b = SqlStore::sqlite(&path).await.unwrap();
    suite(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_sign_in_locks_out_across_handles() {
    let db = PgDatabase::create().await;
    let a = SqlStore::postgres(&db.url).await.unwrap();
    let b = SqlStore::postgres(&db.url).await.unwrap();
    suite(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
}
