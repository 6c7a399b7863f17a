//! The crypto ceiling of the token path: RS256 signatures per second on one core, with the same key type
//! and code path the server signs tokens with. Usage: `sign_rate [SECONDS]` (default 5).

use std::time::{Duration, Instant};

use gatehouse_jose::jws::{sign_rs256, JwsHeader};
use gatehouse_jose::SigningKey;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let key = SigningKey::generate("bench", time::OffsetDateTime::now_utc(), 1)?;
    let claims = serde_json::json!({"aud": "00000000-0000-0000-0000-000000000000", "iss": "https://localhost/x/v2.0",
        "iat": 0, "nbf": 0, "exp": 0, "oid": "o", "sub": "o", "tid": "t", "uti": "u", "ver": "2.0", "roles": ["Reports.Read"]});
    let header = JwsHeader {
        kid: Some(key.kid().into()),
        typ: Some("JWT".into()),
        ..JwsHeader::default()
    };
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..50 {
            std::hint::black_box(sign_rs256(&key, header.clone(), &claims)?);
        }
        n += 50;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!("{rate:.0}");
    Ok(())
}
