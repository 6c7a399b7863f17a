//! Where the server keeps its data and how it is reached: data folder, database URL, key-encryption
//! key, listen address, public URL, TLS. Read from flags and `GATEHOUSE_*` variables by the CLI.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::flows::Policies;
use gatehouse_core::keys::RotationPolicy;
use gatehouse_jose::kek::Kek;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Holds the SQLite file, the TLS material and the key-encryption key.
    pub data_dir: PathBuf,
    /// `postgres://…`; `None` means the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    /// The URL clients use; `None` means `https://localhost:{port}` (or `http://` when insecure).
    pub public_url: Option<String>,
    pub tls: TlsMode,
    /// Domain of the first tenant, when the store is empty.
    pub domain: String,
    /// When signing keys rotate.
    pub rotation: RotationPolicy,
    /// How client assertions, password sign-ins and a user's tokens are judged.
    pub policies: Policies,
    /// An extra CA (PEM) trusted when fetching federated issuers' discovery documents and keys.
    pub federation_ca: Option<PathBuf>,
    /// How many entries each of the directory's caches holds (applications, service principals,
    /// resource names, role assignments).
    pub directory_cache_entries: usize,
    /// `Strict-Transport-Security` max-age in seconds; `None` for the default (a year, under HTTPS on
    /// a public URL whose host is not loopback), `Some(0)` for never.
    pub hsts_max_age: Option<u64>,
    /// How long a connection may take to send a request's headers, and how long a kept-alive
    /// connection may wait for its next request, before it is closed.
    pub header_read_timeout: std::time::Duration,
    /// How long a TLS handshake may take before the connection is closed.
    pub handshake_timeout: std::time::Duration,
    /// The most bytes a request's line and headers may take (431 beyond; at least 8192).
    pub max_header_bytes: usize,
    /// The most connections open at once; one beyond is closed at once.
    pub max_connections: usize,
    /// How long a request body may pause between its parts before the request is refused (408).
    pub body_timeout: std::time::Duration,
    /// How long a connection's peer may stall (send nothing while awaited, or read nothing while
    /// written to) before the connection is closed.
    pub idle_timeout: std::time::Duration,
    /// Where `/metrics` is served, if anywhere (`Listen::Off` in tests).
    pub metrics: Listen,
    /// Where the managed-identity protocols are served, if anywhere, and to whom.
    pub identity: Listen,
    pub identity_policy: crate::routes::identity::IdentityPolicy,
    /// How much work of each kind is taken on at once, and how fast a client may ask (`admission`).
    pub limits: crate::admission::Limits,
    /// How long the audit and sign-in logs keep their records.
    pub logs: LogRetention,
}

/// Days each log keeps its records; 0 turns that log off (nothing is recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    pub audit_days: u32,
    pub sign_in_days: u32,
}

impl Default for LogRetention {
    /// 30 days, as Entra keeps both logs with a P1 licence.
    fn default() -> Self {
        Self {
            audit_days: 30,
            sign_in_days: 30,
        }
    }
}

/// The default of `--body-timeout`.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The default of `--idle-timeout`.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The default of `--max-connections`.
pub const MAX_CONNECTIONS: usize = 10_000;

/// The default of `--max-header-bytes`: room for a long token and cookies, not for megabytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The default of `--header-read-timeout` (hyper's own default).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The default of `--handshake-timeout`.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `Strict-Transport-Security` value to send, if any (RFC 6797): only under HTTPS; by default a
/// year, but not for a loopback host, where browsers would then force HTTPS on every local port
/// (other development servers on `http://localhost` included); an explicit max-age applies anywhere.
pub fn hsts(public_url: &str, max_age: Option<u64>) -> Option<String> {
    let url = url::Url::parse(public_url).ok()?;
    if url.scheme() != "https" {
        return None;
    }
    let loopback = match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match max_age {
        Some(0) => None,
        Some(secs) => Some(format!("max-age={secs}")),
        None if loopback => None,
        None => Some("max-age=31536000".into()),
    }
}

#[cfg(test)]
mod hsts_tests {
    use super::hsts;

    #[test]
    fn hsts_is_sent_under_https_off_loopback_or_when_asked() {
        assert_eq!(
            hsts("https://login.contoso.com", None).as_deref(),
            Some("max-age=31536000")
        );
        assert_eq!(hsts("https://localhost:8443", None), None);
        assert_eq!(hsts("https://127.0.0.1:8443", None), None);
        assert_eq!(hsts("https://[::1]:8443", None), None);
        assert_eq!(
            hsts("https://localhost:8443", Some(600)).as_deref(),
            Some("max-age=600")
        );
        assert_eq!(hsts("https://login.contoso.com", Some(0)), None);
        assert_eq!(
            hsts("http://login.contoso.com", Some(600)),
            None,
            "never over plain HTTP"
        );
    }
}

/// Where a side listener (metrics, managed identities) binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    Off,
    /// The default address: if another process holds it (a second node on one machine), the node
    /// serves without that listener and says so.
    Default(SocketAddr),
    /// An address the operator chose: failing to bind it fails the start.
    At(SocketAddr),
}

/// The default of `--identity-listen`: loopback only, the port of Azure Arc's identity endpoint.
pub const IDENTITY_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40342);

/// The default of `--metrics-listen`: loopback only, the port of OpenTelemetry's Prometheus exporter.
pub const METRICS_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

#[derive(Debug, Clone)]
pub enum TlsMode {
    /// A local CA in `data_dir/tls`, made on first start.
    LocalCa,
    /// The operator's certificate chain and key (PEM files).
    Files { cert: PathBuf, key: PathBuf },
    /// Plain HTTP, for use behind a TLS-terminating proxy.
    Insecure,
}

impl Settings {
    /// The per-user data folder (`~/.local/share/gatehouse` on Linux).
    pub fn default_data_dir() -> PathBuf {
        directories::ProjectDirs::from("", "", "gatehouse")
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".gatehouse"))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("gatehouse.db").display()))
    }

    /// The public base URL without a trailing slash, given the port actually bound.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let scheme = if matches!(self.tls, TlsMode::Insecure) {
                    "http"
                } else {
                    "https"
                };
                format!("{scheme}://localhost:{}", bound.port())
            }
        }
    }
}

/// The key-encryption key: `GATEHOUSE_KEY_ENCRYPTION_KEY` (base64 of 32 bytes) if set, else the file
/// `data_dir/kek`, generated with mode 0600 on first use.
pub fn load_kek(data_dir: &Path) -> Result<Kek, String> {
    if let Ok(v) = std::env::var("GATEHOUSE_KEY_ENCRYPTION_KEY") {
        let bytes = STANDARD
            .decode(v.trim())
            .map_err(|_| "GATEHOUSE_KEY_ENCRYPTION_KEY is not base64".to_string())?;
        return Kek::from_bytes(&bytes).map_err(|e| format!("GATEHOUSE_KEY_ENCRYPTION_KEY: {e}"));
    }
    let path = data_dir.join("kek");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = STANDARD
                .decode(text.trim())
                .map_err(|_| format!("{} is not base64", path.display()))?;
            Kek::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let kek = Kek::generate().map_err(|e| e.to_string())?;
            write_private(&path, STANDARD.encode(kek.as_bytes()).as_bytes())?;
            Ok(kek)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes a file readable by its owner only (created with mode 0600, never widened).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.sync_all().map_err(|e| format!("{}: {e}", path.display()))
}
