//! The Argon2id ceiling for `bench/users.sh`: password verifications per second with the server's own
//! parameters and code (`passwords::verify_blocking`), on THREADS threads at once (each hash holds
//! 19 MiB, so parallel hashes also share the memory bandwidth). Prints one number: all threads' total.
//! Usage: hash_rate [SECONDS] [THREADS]
use std::time::{Duration, Instant};

use gatehouse_core::passwords::{hash_blocking, verify_blocking};
use gatehouse_proto::token::Secret;

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let threads: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let password = Secret::new("Bench-Password-1");
    let Ok(hash) = hash_blocking(&password) else {
        eprintln!("hashing failed");
        std::process::exit(1);
    };
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < Duration::from_secs(secs) {
                        assert!(verify_blocking(Some(&hash), &password));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    println!("{:.1}", total as f64 / start.elapsed().as_secs_f64());
}
