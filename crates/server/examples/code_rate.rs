//! Full authorization-code round trips for `bench/users.sh`: a signed-in browser session asks
//! `/authorize` (PKCE S256) and gets a code by redirect, then the web app redeems it at the token
//! endpoint with its secret. `CONNS` tasks loop for `SECONDS`; prints round trips per second and the
//! count of failures.
//! Usage: code_rate BASE TENANT CLIENT_ID SECRET REDIRECT SESSION_COOKIE CA_PEM SECONDS CONNS
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [base, tenant, client_id, secret, redirect, cookie, ca, secs, conns] = a.as_slice() else {
        eprintln!(
            "usage: code_rate BASE TENANT CLIENT_ID SECRET REDIRECT SESSION_COOKIE CA_PEM SECONDS CONNS"
        );
        std::process::exit(2);
    };
    let Ok(ca) = std::fs::read(ca)
        .map_err(|e| e.to_string())
        .and_then(|pem| reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string()))
    else {
        eprintln!("cannot read the CA");
        std::process::exit(2);
    };
    let Ok(http) = reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        std::process::exit(2);
    };
    let secs: u64 = secs.parse().unwrap_or(10);
    let conns: usize = conns.parse().unwrap_or(8);
    let authorize = format!(
        "{base}/{tenant}/oauth2/v2.0/authorize?client_id={client_id}&response_type=code&scope=User.Read%20openid&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&nonce=n&state=s",
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let token = format!("{base}/{tenant}/oauth2/v2.0/token");
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (http, authorize, token, cookie) =
            (http.clone(), authorize.clone(), token.clone(), cookie.clone());
        let (client_id, secret, redirect) = (client_id.clone(), secret.clone(), redirect.clone());
        let (ok, failed) = (ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let round = async {
                    let r = http.get(&authorize).header("cookie", &cookie).send().await.ok()?;
                    let location = r.headers().get("location")?.to_str().ok()?.to_string();
                    let code = url::Url::parse(&location)
                        .ok()?
                        .query_pairs()
                        .find(|(k, _)| k == "code")?
                        .1
                        .into_owned();
                    let form = [
                        ("grant_type", "authorization_code"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.as_str()),
                        ("code", code.as_str()),
                        ("redirect_uri", redirect.as_str()),
                        ("code_verifier", VERIFIER),
                    ];
                    let t = http.post(&token).form(&form).send().await.ok()?;
                    t.status().is_success().then_some(())
                };
                match round.await {
                    Some(()) => ok.fetch_add(1, Ordering::Relaxed),
                    None => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{:.1} {}",
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
}
