//! `gatehouse login`: a Graph token for a service principal, cached in the user's config folder (mode
//! 0600) with the server and tenant it is for. The secret itself is not kept; log in again when the
//! token expires, as the message says.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub tenant: String,
    pub client_id: String,
    pub access_token: String,
    pub expires_on: i64,
    pub ca_file: Option<PathBuf>,
}

pub fn session_path() -> PathBuf {
    if let Ok(p) = std::env::var("GATEHOUSE_CONFIG_DIR") {
        return PathBuf::from(p).join("session.json");
    }
    directories::ProjectDirs::from("", "", "gatehouse")
        .map(|d| d.config_dir().join("session.json"))
        .unwrap_or_else(|| PathBuf::from(".gatehouse-session.json"))
}

/// An HTTP client that trusts `ca_file` in addition to the system roots.
pub fn http_client(ca_file: Option<&PathBuf>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        b = b.add_root_certificate(
            reqwest::Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    b.build().map_err(|e| e.to_string())
}

/// The CA to trust: the flag, else the local CA of the default data folder when talking to localhost.
/// Why a request to the server failed, said so that the user knows what to do: an untrusted
/// certificate names `--ca-file`, a refused connection asks whether the server runs.
pub fn unreachable(server: &str, e: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        chain.push_str(&s.to_string());
        chain.push(' ');
        source = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        format!(
            "{server} answers, but its TLS certificate is not trusted: pass --ca-file with the CA the \
             server printed when it started (DATA_DIR/tls/ca.pem)"
        )
    } else if e.is_connect() {
        format!("nothing answers at {server}: is the server running, and is --server right?")
    } else {
        format!("cannot reach {server}: {e}")
    }
}

pub fn default_ca(flag: Option<PathBuf>, server: &str) -> Option<PathBuf> {
    flag.or_else(|| {
        let local = url::Url::parse(server)
            .ok()?
            .host_str()
            .is_some_and(|h| h == "localhost" || h == "127.0.0.1");
        let ca = crate::settings::Settings::default_data_dir()
            .join("tls")
            .join("ca.pem");
        (local && ca.exists()).then_some(ca)
    })
}

pub async fn login(
    server: &str,
    tenant: &str,
    client_id: &str,
    secret: &str,
    ca_file: Option<PathBuf>,
) -> Result<Value, String> {
    let http = http_client(ca_file.as_ref())?;
    let url = format!("{}/{tenant}/oauth2/v2.0/token", server.trim_end_matches('/'));
    let resp = http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .map_err(|e| unreachable(server, &e))?;
    let body: Value = resp
        .json()
        .await
        .map_err(|e| format!("unexpected answer from {server}: {e}"))?;
    let Some(token) = body["access_token"].as_str() else {
        let d = body["error_description"].as_str().unwrap_or("login failed");
        return Err(d.split(" Trace ID:").next().unwrap_or(d).to_string());
    };
    let expires_in = body["expires_in"].as_i64().unwrap_or(3599);
    let session = Session {
        server: server.trim_end_matches('/').to_string(),
        tenant: tenant.to_string(),
        client_id: client_id.to_string(),
        access_token: token.to_string(),
        expires_on: time::OffsetDateTime::now_utc().unix_timestamp() + expires_in,
        // Absolute, so that the next command finds it from any folder.
        ca_file: ca_file.map(|p| std::fs::canonicalize(&p).unwrap_or(p)),
    };
    let path = session_path();
    let _ = std::fs::remove_file(&path);
    let text = serde_json::to_vec_pretty(&session).map_err(|e| e.to_string())?;
    crate::settings::write_private(&path, &text)?;
    Ok(
        serde_json::json!([{"cloudName": "Gatehouse", "server": session.server, "tenantId": tenant, "user": {"name": client_id, "type": "servicePrincipal"}}]),
    )
}

/// The saved session, expired or not (a new login reuses its server and CA).
pub fn load_any() -> Result<Session, String> {
    let path = session_path();
    let text = std::fs::read(&path)
        .map_err(|_| "not logged in: run `gatehouse login --service-principal …` first".to_string())?;
    serde_json::from_slice(&text).map_err(|_| format!("{} is damaged; log in again", path.display()))
}

/// The saved session, if its token is still good for a minute.
pub fn load() -> Result<Session, String> {
    let s = load_any()?;
    if s.expires_on <= time::OffsetDateTime::now_utc().unix_timestamp() + 60 {
        return Err("the login has expired: run `gatehouse login --service-principal …` again".into());
    }
    Ok(s)
}
