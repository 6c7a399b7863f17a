//! RS256 verifications per second on one core, with the code the token endpoint verifies client
//! assertions with. Usage: `verify_rate [SECONDS]` (default 5).

use std::time::{Duration, Instant};

use gatehouse_jose::jws::{sign_rs256, JwsHeader};
use gatehouse_jose::{ClientCertificate, ParsedJws, SignatureAlgorithm, SigningKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let key = SigningKey::generate("bench", time::OffsetDateTime::now_utc(), 1)?;
    let cert = ClientCertificate::parse(key.certificate_der())?;
    let claims = serde_json::json!({"aud": "https://localhost/t/oauth2/v2.0/token", "iss": "c", "sub": "c",
        "jti": "j", "exp": 0, "iat": 0});
    let token = sign_rs256(&key, JwsHeader::default(), &claims)?;
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..200 {
            let parsed = ParsedJws::parse(std::hint::black_box(&token))?;
            parsed.verify_rsa(&cert.n, &cert.e, &[SignatureAlgorithm::Rs256])?;
        }
        n += 200;
    }
    println!("{:.0}", n as f64 / start.elapsed().as_secs_f64());
    Ok(())
}
