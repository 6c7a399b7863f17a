//! Signing-key rotation while tokens are being issued: scheduled rotation on a short policy, a verifier
//! that refetches JWKS only on an unknown `kid` (crates/validate's RemoteKeys), two nodes rotating on
//! one database, and emergency rotation.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::keys::{self, KeyState, RotationPolicy};
use gatehouse_core::store::Rotation;
use gatehouse_server::run::{start, RunningServer};
use gatehouse_server::settings::{Settings, TlsMode};
use gatehouse_store::testing::PgDatabase;
use gatehouse_validate::{RemoteKeys, Validator};
use reqwest::Method as M;
use time::OffsetDateTime;

use crate::helpers::{settings, temp_dir, Journey, TestApp};

/// Rotate every 4 s, publishing each key 2 s before it signs. The verifier's cool-down (1 s) is
/// shorter than the pre-publication, as it must be for any verifier to see no failure. One client
/// asks as fast as it can, so the rate limits are lifted (a load test, not a well-behaved client).
fn fast(mut s: Settings) -> Settings {
    s.limits.per_client = gatehouse_server::admission::Rate::new(0, 0);
    s.limits.per_address = gatehouse_server::admission::Rate::new(0, 0);
    s.rotation = RotationPolicy {
        rotate_every: time::Duration::seconds(4),
        prepublish: time::Duration::seconds(2),
    };
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_rotation_under_load_causes_no_verification_failure() {
    let dir = temp_dir();
    let server = start(fast(settings(dir.clone(), None, TlsMode::Insecure)))
        .await
        .unwrap();
    let app = Arc::new(TestApp::attach(
        server.base_url.clone(),
        server.bootstrap.clone().unwrap(),
        dir.clone(),
    ));
    let j = Arc::new(Journey::create(&app, Some(2)).await);
    let issuer = format!("{}/{}/v2.0", app.base, app.tenant());
    let keys = RemoteKeys::discover(&issuer, None)
        .await
        .unwrap()
        .cool_down(Duration::from_secs(1));
    let validator = Arc::new(Validator::new(issuer, vec![j.api_app_id.clone()], keys));

    let deadline = Instant::now() + Duration::from_secs(9);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (app, j, validator) = (Arc::clone(&app), Arc::clone(&j), Arc::clone(&validator));
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut kids) = (0u32, Vec::new(), BTreeSet::new());
            while Instant::now() < deadline {
                let token = app
                    .token(&j.daemon_app_id, &j.secret, "api://reports/.default")
                    .await;
                let kid = gatehouse_jose::ParsedJws::parse(&token)
                    .unwrap()
                    .header
                    .kid
                    .unwrap();
                match validator.validate(&token, OffsetDateTime::now_utc()).await {
                    Ok(_) => ok += 1,
                    Err(e) => failed.push(format!("{kid}: {e}")),
                }
                kids.insert(kid);
            }
            (ok, failed, kids)
        }));
    }
    let (mut ok, mut failed, mut kids) = (0, Vec::new(), BTreeSet::new());
    for w in workers {
        let (o, f, k) = w.await.unwrap();
        ok += o;
        failed.extend(f);
        kids.extend(k);
    }
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        ok as usize + failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(kids.len() >= 2, "a rotation happened during the run: {kids:?}");
    assert!(ok > 100, "tokens were issued continuously ({ok})");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn node(db: &PgDatabase, dir: std::path::PathBuf) -> RunningServer {
    start(fast(settings(dir, Some(db.url.clone()), TlsMode::Insecure)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_rotating_on_one_database_keep_one_active_key() {
    let db = PgDatabase::create().await;
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    let a = node(&db, dir_a.clone()).await;
    std::fs::create_dir_all(&dir_b).unwrap();
    std::fs::copy(dir_a.join("kek"), dir_b.join("kek")).unwrap();
    let b = node(&db, dir_b.clone()).await;

    // Both nodes run the schedule; sample both every 50 ms for 9 s.
    let start_at = Instant::now();
    let mut activated = BTreeSet::new();
    while start_at.elapsed() < Duration::from_secs(9) {
        let now = OffsetDateTime::now_utc();
        let rows = a.state.store.list_keys().await.unwrap();
        let pending = rows.iter().filter(|k| k.activates > now).count();
        assert!(pending <= 1, "at most one key waits to activate, saw {pending}");
        // Each node's keys with the change-feed position they belong to (read until it holds still).
        let view = |d: &gatehouse_core::Directory| loop {
            let p = d.position();
            let k = d.keys();
            if d.position() == p {
                break (p, k);
            }
        };
        let (pa, sa) = view(&a.state.directory);
        let (pb, sb) = view(&b.state.directory);
        for s in [&sa, &sb] {
            let active = s.states(now).filter(|(_, st)| *st == KeyState::Active).count();
            assert_eq!(active, 1, "exactly one active key per node");
        }
        if pa == pb {
            let (ka, kb) = (sa.signing_key(now).unwrap(), sb.signing_key(now).unwrap());
            assert_eq!(ka.kid(), kb.kid(), "both nodes sign with the same key");
            activated.insert(ka.kid().to_string());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(activated.len() >= 2, "keys rotated during the run: {activated:?}");

    // Two manual rotations racing on the two nodes add one key between them.
    let policy = RotationPolicy {
        rotate_every: time::Duration::days(30),
        prepublish: time::Duration::days(2),
    };
    let kek = gatehouse_server::settings::load_kek(&dir_a).unwrap();
    let now = OffsetDateTime::now_utc();
    let (ra, rb) = tokio::join!(
        keys::rotate(a.state.store.as_ref(), &kek, &policy, false, now),
        keys::rotate(b.state.store.as_ref(), &kek, &policy, false, now),
    );
    let outcomes = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        outcomes.iter().filter(|(_, o)| *o == Rotation::Added).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(outcomes[0].0, outcomes[1].0, "both report the same pending key");

    a.shutdown().await;
    b.shutdown().await;
    db.drop_now().await;
    let _ = std::fs::remove_dir_all(dir_a);
    let _ = std::fs::remove_dir_all(dir_b);
}

#[tokio::test]
async fn emergency_rotation_drops_the_old_key_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    assert_eq!(app.graph(M::GET, "applications", &admin, None).await.0, 200);
    let server = app.server.as_ref().unwrap();
    let kek = gatehouse_server::settings::load_kek(&app.data_dir).unwrap();
    let old = server
        .state
        .directory
        .keys()
        .signing_key(OffsetDateTime::now_utc())
        .unwrap()
        .kid()
        .to_string();
    let (kid, outcome) = keys::rotate(
        server.state.store.as_ref(),
        &kek,
        &RotationPolicy::default(),
        true,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, Rotation::Added);
    server.state.refresh().await;
    // The old token is refused by our own API at once; JWKS holds only the new key.
    assert_eq!(app.graph(M::GET, "applications", &admin, None).await.0, 401);
    let (_, jwks) = app
        .get_json(&format!("/{}/discovery/v2.0/keys", app.tenant()))
        .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![kid.as_str()]);
    assert_ne!(kid, old);
    let fresh = app.admin_token().await;
    assert_eq!(app.graph(M::GET, "applications", &fresh, None).await.0, 200);
    app.stop().await;
}
