//! A bounded load generator for `bench/overload.sh`: CONCURRENCY workers send one request after
//! another for SECONDS, each on its own connection (a refused one waits its `Retry-After` first, as
//! the SDKs do), while probers read each readiness URL (by default the server's `/health/ready`)
//! every 50 ms.
//! Prints one JSON object: counts by status, p50/p99/max of admitted (2xx) and refused (429/503)
//! requests, and the readiness probe's latency.
//!
//! Usage: overload URL METHOD CONCURRENCY SECONDS [BODY] [BEARER] [CA_PEM] [READY_URL,…]
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
                let (status, retry_after) = match req.send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let wait = r
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok());
                        let _ = r.bytes().await;
                        (s, wait)
                    }
                    Err(_) => (0, None),
                };
                seen.push((status, started.elapsed().as_secs_f64() * 1000.0));
                // A refused client backs off as told, as Azure's SDKs and MSAL do.
                match (status, retry_after) {
                    (429 | 503, Some(secs)) => tokio::time::sleep(Duration::from_secs(secs)).await,
                    (0, _) => tokio::time::sleep(Duration::from_millis(10)).await,
                    _ => {}
                }
            }
            seen
        }));
    }
    // Each readiness URL has a prober with a thread and a runtime of its own, so that it does not
    // wait behind the workers.
    let ready_urls: Vec<String> = match args.get(8) {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => vec![url::Url::parse(&url)
            .unwrap()
            .join("/health/ready")
            .unwrap()
            .to_string()],
    };
    let probers: Vec<_> = ready_urls
        .iter()
        .map(|ready_url| {
            let (prober, ready_url) = (client(), ready_url.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let (mut ms, mut failed) = (Vec::new(), 0);
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        match prober.get(&ready_url).send().await {
                            Ok(r) if r.status() == 200 => ms.push(started.elapsed().as_secs_f64() * 1000.0),
                            _ => failed += 1,
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    (ms, failed)
                })
            })
        })
        .collect();
    let mut ready = serde_json::Map::new();
    for (url, prober) in ready_urls.iter().zip(probers) {
        let (ms, failed) = prober.join().unwrap();
        let mut s = summary(ms);
        s["failed"] = failed.into();
        ready.insert(url.clone(), s);
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
            "ready": ready,
        })
    );
}
