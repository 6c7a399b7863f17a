//! A bounded load generator for `bench/overload.sh`: CONCURRENCY workers send one request after
//! another for SECONDS, each on its own connection, while a prober reads `/health/ready` every 50 ms.
//! Prints one JSON object: counts by status, p50/p99/max of admitted (2xx) and refused (429/503)
//! requests, and the readiness probe's latency.
//!
//! Usage: overload URL METHOD CONCURRENCY SECONDS [BODY] [BEARER] [CA_PEM]
//! A POST body that starts with `{` is sent as JSON, otherwise as a form.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    serde_json::json!({
        "n": ms.len(),
        "p50_ms": percentile(&ms, 0.50),
        "p99_ms": percentile(&ms, 0.99),
        "max_ms": ms.last().copied().unwrap_or(0.0),
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args[1].clone();
    let method: reqwest::Method = args[2].parse().unwrap();
    let concurrency: usize = args[3].parse().unwrap();
    let secs: u64 = args[4].parse().unwrap();
    let body = args.get(5).cloned().unwrap_or_default();
    let bearer = args.get(6).cloned().filter(|b| !b.is_empty());
    let ca = args
        .get(7)
        .map(|f| reqwest::Certificate::from_pem(&std::fs::read(f).unwrap()).unwrap());
    let client = || {
        let mut builder = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30));
        if let Some(ca) = &ca {
            builder = builder.add_root_certificate(ca.clone());
        }
        builder.build().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let body = Arc::new(body);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        // One client per worker: one connection each, as that many clients would hold.
        let client = client();
        let (url, method, body, bearer) = (url.clone(), method.clone(), Arc::clone(&body), bearer.clone());
        workers.push(tokio::spawn(async move {
            let mut seen: Vec<(u16, f64)> = Vec::new();
            while Instant::now() < deadline {
                let mut req = client.request(method.clone(), &url);
                if let Some(b) = &bearer {
                    req = req.bearer_auth(b);
                }
                if !body.is_empty() {
                    let ctype = if body.starts_with('{') {
                        "application/json"
                    } else {
                        "application/x-www-form-urlencoded"
                    };
                    req = req.header("content-type", ctype).body(body.as_str().to_string());
                }
                let started = Instant::now();
                let status = match req.send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                seen.push((status, started.elapsed().as_secs_f64() * 1000.0));
                if status == 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            seen
        }));
    }
    let ready_url = url::Url::parse(&url).unwrap().join("/health/ready").unwrap();
    let prober = client();
    let mut ready_ms = Vec::new();
    let mut ready_failed = 0;
    while Instant::now() < deadline {
        let started = Instant::now();
        match prober.get(ready_url.clone()).send().await {
            Ok(r) if r.status() == 200 => ready_ms.push(started.elapsed().as_secs_f64() * 1000.0),
            _ => ready_failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let (mut admitted, mut refused) = (Vec::new(), Vec::new());
    for w in workers {
        for (status, ms) in w.await.unwrap() {
            *by_status.entry(status).or_default() += 1;
            match status {
                200..=299 => admitted.push(ms),
                429 | 503 => refused.push(ms),
                _ => {}
            }
        }
    }
    let total: usize = by_status.values().sum();
    println!(
        "{}",
        serde_json::json!({
            "concurrency": concurrency,
            "seconds": secs,
            "requests": total,
            "by_status": by_status,
            "admitted_per_s": admitted.len() as f64 / secs as f64,
            "shed_share": refused.len() as f64 / total.max(1) as f64,
            "admitted": summary(admitted),
            "refused": summary(refused),
            "ready": summary(ready_ms),
            "ready_failed": ready_failed,
        })
    );
}
