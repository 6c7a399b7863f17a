//! The password hasher: Argon2id runs on tokio's blocking threads, at most as many at once as there are
//! cores, so sign-ins and user writes never stall the async runtime and a burst queues instead of
//! taking all memory (each hash holds 19 MiB).

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_core::admin::AdminError;
use gatehouse_core::passwords::{hash_blocking, verify_blocking, Hasher, PasswordHash};
use gatehouse_proto::token::Secret;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordPool {
    permits: Arc<Semaphore>,
}

impl PasswordPool {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }
}

impl Default for PasswordPool {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Hasher for PasswordPool {
    async fn hash(&self, password: Secret) -> Result<PasswordHash, AdminError> {
        self.run(move || hash_blocking(&password))
            .await
            .unwrap_or(Err(AdminError::Unavailable))
    }

    async fn verify(&self, hash: Option<PasswordHash>, password: Secret) -> bool {
        self.run(move || verify_blocking(hash.as_ref(), &password))
            .await
            .unwrap_or(false)
    }
}
