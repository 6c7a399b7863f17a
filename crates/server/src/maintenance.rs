//! Each node's housekeeping, once a second: start a scheduled signing-key rotation when it is due,
//! delete keys that are no longer published, and (once a minute) forget expired assertion ids,
//! changes older than an hour, old sign-in failures, refresh tokens past their lifetimes, and audit
//! and sign-in records past their retention. The decisions are core's (`keys::maintenance`); two
//! nodes acting at once add one key between them, because the store adds a key only if none is
//! pending.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::audit::LogKind;
use gatehouse_core::keys::{self, RotationPolicy};

use crate::settings::LogRetention;
use gatehouse_core::store::{Rotation, Store};
use gatehouse_core::Directory;
use gatehouse_jose::kek::Kek;
use time::OffsetDateTime;

const TICK: Duration = Duration::from_secs(1);
const PRUNE_EVERY: u32 = 60;
/// How long the change feed keeps a change: a node that falls further behind drops its caches.
const CHANGES_KEPT: time::Duration = time::Duration::hours(1);
/// How long failed sign-ins count after the last one: past the longest lockout (64 minutes), a day.
const SIGN_IN_FAILURES_KEPT: time::Duration = time::Duration::days(1);

pub fn spawn(
    store: Arc<dyn Store>,
    directory: Arc<Directory>,
    kek: Kek,
    policy: RotationPolicy,
    refresh_idle: time::Duration,
    logs: LogRetention,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks: u32 = 0;
        loop {
            tokio::time::sleep(TICK).await;
            ticks = ticks.wrapping_add(1);
            let now = OffsetDateTime::now_utc();
            if let Err(e) = pass(store.as_ref(), &directory, &kek, &policy, now).await {
                tracing::warn!(error = %e, "key maintenance failed; retrying");
            }
            if ticks % PRUNE_EVERY == 0 {
                if let Err(e) = store.prune_assertions(now).await {
                    tracing::warn!(error = %e, "pruning used assertion ids failed");
                }
                if let Err(e) = store.prune_changes(now - CHANGES_KEPT).await {
                    tracing::warn!(error = %e, "pruning the change feed failed");
                }
                if let Err(e) = store.prune_sign_in_failures(now - SIGN_IN_FAILURES_KEPT).await {
                    tracing::warn!(error = %e, "pruning sign-in failures failed");
                }
                if let Err(e) = store.prune_refresh_tokens(now, now - refresh_idle).await {
                    tracing::warn!(error = %e, "pruning refresh tokens failed");
                }
                prune_logs(store.as_ref(), logs, now).await;
                // A day late, so that a second redemption of an expired code still finds it and
                // revokes what the first one issued.
                if let Err(e) = store
                    .prune_sessions_and_codes(now - time::Duration::days(1))
                    .await
                {
                    tracing::warn!(error = %e, "pruning sessions and codes failed");
                }
            }
        }
    })
}

/// Records pruned per statement, so that writers never wait long behind it.
const LOG_PRUNE_BATCH: i64 = 10_000;

/// Deletes the log records older than their retention, a batch at a time, at most a minute's worth of
/// batches per pass (a node that was down a long time catches up over several passes).
async fn prune_logs(store: &dyn Store, logs: LogRetention, now: OffsetDateTime) {
    for (kind, days) in [
        (LogKind::Audit, logs.audit_days),
        (LogKind::SignIn, logs.sign_in_days),
    ] {
        let before = now - time::Duration::days(i64::from(days));
        for _ in 0..60 {
            match store.prune_log(kind, before, LOG_PRUNE_BATCH).await {
                Ok(n) if n < LOG_PRUNE_BATCH as u64 => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, log = ?kind, "pruning a log failed");
                    break;
                }
            }
        }
    }
}

async fn pass(
    store: &dyn Store,
    directory: &Directory,
    kek: &Kek,
    policy: &RotationPolicy,
    now: OffsetDateTime,
) -> Result<(), gatehouse_core::store::StoreError> {
    directory
        .fresh()
        .map_err(|_| gatehouse_core::store::StoreError::Unavailable("the directory is stale".into()))?;
    let plan = keys::maintenance(&directory.keys(), policy, now);
    let mut changed = false;
    if plan.rotate {
        let (kid, outcome) = keys::rotate(store, kek, policy, false, now).await?;
        if outcome == Rotation::Added {
            tracing::info!(
                kid,
                activates_in_s = policy.prepublish.whole_seconds(),
                "signing key rotation started"
            );
        }
        changed = true;
    }
    if !plan.retired.is_empty() {
        let n = store.delete_keys(&plan.retired).await?;
        tracing::info!(removed = n, "retired signing keys deleted");
        changed = true;
    }
    if changed {
        directory.sync().await?;
    }
    Ok(())
}
