//! The password hasher: Argon2id runs on a few threads of its own, one per core, so sign-ins and user
//! writes never stall the async runtime and a burst queues instead of taking all memory (each hash
//! holds 19 MiB).
//!
//! Why not tokio's blocking pool: it hands each hash to whichever of its threads is free, and with more
//! threads than cores taking turns, every hash ran about a fifth slower than the same hashes on as many
//! steady threads as cores (bench/users.sh measures the difference). The same threads, each reusing
//! its memory, keep Argon2id at the machine's ceiling.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use gatehouse_core::admin::AdminError;
use gatehouse_core::passwords::{hash_blocking, verify_blocking, Hasher, PasswordHash};
use gatehouse_proto::token::Secret;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
}

impl PasswordPool {
    /// One thread per core. Jobs wait in order when all are busy.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..cores {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2id-{i}"))
                .spawn(move || loop {
                    // The lock is held only to take the next job; a poisoned lock or a closed
                    // channel (the pool dropped) ends the thread.
                    let next = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match next {
                        // A job that panics loses its answer (the caller sees `None`), not the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        Self { jobs }
    }

    /// Runs `work` on a hashing thread; `None` if no thread took it (none could start, or it panicked).
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
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
