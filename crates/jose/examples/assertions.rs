//! Writes COUNT client assertions (RS256 with `x5t`, each with its own `jti`), one form body per line,
//! for the certificate benchmark. The key and certificate come from a PEM file such as
//! `gatehouse app credential reset --create-cert` writes.
//! Usage: `assertions PEM CLIENT_ID TOKEN_ENDPOINT SCOPE COUNT > bodies.txt`

use std::io::Write;

use gatehouse_jose::jws::{sign_rs256, JwsHeader};
use gatehouse_jose::{pem_decode, SigningKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let [_, pem, client_id, aud, scope, count] = a.as_slice() else {
        return Err("usage: assertions PEM CLIENT_ID TOKEN_ENDPOINT SCOPE COUNT".into());
    };
    let pem = std::fs::read_to_string(pem)?;
    let key = SigningKey::from_parts(
        &pem_decode(&pem, "PRIVATE KEY").ok_or("no private key")?,
        pem_decode(&pem, "CERTIFICATE").ok_or("no certificate")?,
    )?;
    let header = JwsHeader {
        typ: Some("JWT".into()),
        x5t: Some(key.kid().into()),
        ..JwsHeader::default()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let (kind, scope) = (
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        enc(scope),
    );
    let count: u64 = count.parse()?;
    let threads: u64 = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    // Signing dominates; split it across the cores, each thread with its own range of jti values.
    let parts: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (key, header, kind, scope) = (&key, &header, &kind, &scope);
                s.spawn(move || {
                    (t..count)
                        .step_by(threads as usize)
                        .filter_map(|i| {
                            let claims = serde_json::json!({"aud": aud, "iss": client_id, "sub": client_id,
                                "jti": format!("bench-{now}-{i}"), "iat": now, "nbf": now, "exp": now + 3000});
                            let assertion = sign_rs256(key, header.clone(), &claims).ok()?;
                            Some(format!(
                                "grant_type=client_credentials&client_id={client_id}&client_assertion_type={kind}&client_assertion={assertion}&scope={scope}"
                            ))
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in parts.iter().flatten() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
