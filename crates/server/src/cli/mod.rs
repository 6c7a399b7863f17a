//! The `gatehouse` command line: `serve`, `init`, `keys` and `tenant` run against a store; the az-style
//! commands talk to a running server over its Graph API. Errors print one line and exit non-zero.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod az;
mod identity;
mod keys;
mod logs;
mod output;
mod session;
mod tenant;

use gatehouse_core::admin::bootstrap::BootstrapOutput;
use gatehouse_core::authorize::AuthorizePolicy;
use gatehouse_core::flows::assertion::AssertionPolicy;
use gatehouse_core::flows::delegated::UserTokenPolicy;
use gatehouse_core::flows::Policies;
use gatehouse_core::keys::RotationPolicy;
use gatehouse_core::signin::SignInPolicy;

use crate::admission::{Limits, Rate};
use crate::settings::{Listen, LogRetention, Settings, TlsMode};

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "A self-hosted identity platform that speaks Entra ID's v2.0 dialect"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (bootstrapping an empty store first).
    Serve(Box<ServeArgs>),
    /// Bootstrap an empty store and print the first tenant and management credentials.
    Init(InitArgs),
    /// Sign in to a Gatehouse server as a service principal (the token is cached in the config folder).
    Login(LoginArgs),
    /// Manage applications (az ad app).
    App(az::AppArgs),
    /// Manage service principals (az ad sp).
    Sp(az::SpArgs),
    /// Manage users (az ad user).
    User(az::UserArgs),
    /// List and rotate the token-signing keys (against the store).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Create, list, show and delete tenants, and add verified domains (against the store).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Read the audit and sign-in logs (against the store).
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Create, list, show and delete managed identities, and print the environment that uses one
    /// (against the store).
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
}

/// Where `login` goes when neither the flag nor an earlier login says.
const DEFAULT_SERVER: &str = "https://localhost:8443";

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Sign in as an application (the only kind of login so far).
    #[arg(long, required = true)]
    pub service_principal: bool,
    /// The application (client) id.
    #[arg(short = 'u', long)]
    pub username: String,
    /// The client secret.
    #[arg(short = 'p', long, env = "GATEHOUSE_CLIENT_SECRET", hide_env_values = true)]
    pub password: String,
    /// Tenant id or verified domain.
    #[arg(long)]
    pub tenant: String,
    /// The server's URL (default: the last login's, else https://localhost:8443).
    #[arg(long, env = "GATEHOUSE_SERVER")]
    pub server: Option<String>,
    /// A CA certificate to trust (default: the last login's for the same server, else the local CA
    /// of the default data folder, for localhost).
    #[arg(long, env = "GATEHOUSE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Folder for the SQLite file, TLS material and the key-encryption key.
    #[arg(long, env = "GATEHOUSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); without it, SQLite in the data folder.
    #[arg(long, env = "GATEHOUSE_DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<String>,
}

/// `postgres://…`, `postgresql://…`, `sqlite:PATH`, or a SQLite file path; any other scheme is a
/// mistake (`mysql://`, `postgress://`), not a file name.
fn parse_database_url(s: &str) -> Result<String, String> {
    let scheme = s.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        None | Some("postgres" | "postgresql" | "sqlite") => Ok(s.to_string()),
        Some(other) => Err(format!(
            "'{other}' is not a database Gatehouse uses: give postgres://USER@HOST:PORT/DATABASE, or leave it out for SQLite in --data-dir"
        )),
    }
}

/// An absolute http(s) URL with a host, such as https://id.example.com.
fn parse_public_url(s: &str) -> Result<String, String> {
    let bad = || format!("'{s}' is not an absolute http(s) URL; give one such as https://id.example.com");
    let url = url::Url::parse(s).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    Ok(s.to_string())
}

/// `off`, or HOST:PORT for a side listener (metrics, managed identities).
fn parse_side_listen(s: &str) -> Result<Listen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Listen::Off);
    }
    parse_listen(s).map(Listen::At)
}

/// How many requests of a kind run at once: at least 1.
fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a number of requests from 1 to 100000")),
    }
}

/// HOST:PORT, with an example when it is not one.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not an address to listen on; give HOST:PORT, such as 127.0.0.1:8444"))
}

/// When signing keys rotate.
#[derive(Debug, Args)]
pub struct KeyScheduleArgs {
    /// Seconds a signing key signs before the next one takes over (default 30 days).
    #[arg(long, env = "GATEHOUSE_KEY_ROTATION_INTERVAL", default_value_t = 30 * 86400)]
    pub key_rotation_interval: i64,
    /// Seconds a new signing key is published in JWKS before it signs (default 2 days).
    #[arg(long, env = "GATEHOUSE_KEY_PREPUBLISH", default_value_t = 2 * 86400)]
    pub key_prepublish: i64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Verified domain of the first tenant, when the store is empty.
    #[arg(long, default_value = gatehouse_core::admin::bootstrap::DEFAULT_DOMAIN)]
    pub domain: String,
    #[command(flatten)]
    pub schedule: KeyScheduleArgs,
    /// The address to listen on, HOST:PORT.
    #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:8443", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// The URL clients use (default https://localhost:PORT, or http://localhost:PORT with --insecure-http).
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Your own certificate chain (PEM); with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert's certificate.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP, for use behind a TLS-terminating proxy.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_http: bool,
    /// Seconds of clock skew allowed in client assertions.
    #[arg(long, env = "GATEHOUSE_ASSERTION_CLOCK_SKEW", default_value_t = 60)]
    pub assertion_clock_skew: i64,
    /// Longest client-assertion lifetime accepted, in seconds (Entra sets none).
    #[arg(long, env = "GATEHOUSE_ASSERTION_MAX_LIFETIME", default_value_t = 3600)]
    pub assertion_max_lifetime: i64,
    /// Accept only the issuer as a client assertion's audience, not the token endpoint Entra uses.
    #[arg(long, env = "GATEHOUSE_ASSERTION_STRICT_AUDIENCE")]
    pub assertion_strict_audience: bool,
    /// Failed password sign-ins, per account and per client address, before a lockout (Entra's smart
    /// lockout: 10).
    #[arg(long, env = "GATEHOUSE_LOCKOUT_THRESHOLD", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub lockout_threshold: u32,
    /// Seconds the first lockout lasts; each further failure doubles it, up to 64 times (Entra: 60).
    #[arg(long, env = "GATEHOUSE_LOCKOUT_DURATION", default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..))]
    pub lockout_duration: i64,
    /// Answer an unknown user name with Entra's AADSTS50034 instead of the same AADSTS50126 a wrong
    /// password gets (which reveals which accounts exist).
    #[arg(long, env = "GATEHOUSE_REVEAL_UNKNOWN_USERS")]
    pub reveal_unknown_users: bool,
    /// Seconds a refresh token may go unused before it expires (Entra: 90 days).
    #[arg(long, env = "GATEHOUSE_REFRESH_TOKEN_IDLE_LIFETIME", default_value_t = 90 * 86400, value_parser = clap::value_parser!(i64).range(60..))]
    pub refresh_token_idle_lifetime: i64,
    /// Seconds after a sign-in when its refresh tokens end however often they are used (one year).
    #[arg(long, env = "GATEHOUSE_REFRESH_TOKEN_ABSOLUTE_LIFETIME", default_value_t = 365 * 86400, value_parser = clap::value_parser!(i64).range(60..))]
    pub refresh_token_absolute_lifetime: i64,
    /// Seconds a single-page application's refresh tokens live, fixed (Entra: 24 hours).
    #[arg(long, env = "GATEHOUSE_SPA_REFRESH_TOKEN_LIFETIME", default_value_t = 86400, value_parser = clap::value_parser!(i64).range(60..))]
    pub spa_refresh_token_lifetime: i64,
    /// Seconds a rotated refresh token may be presented again (a retry) before that counts as reuse
    /// and revokes every token of its sign-in.
    #[arg(long, env = "GATEHOUSE_REFRESH_TOKEN_REUSE_GRACE", default_value_t = 60, value_parser = clap::value_parser!(i64).range(0..))]
    pub refresh_token_reuse_grace: i64,
    /// Seconds an authorization code may wait to be redeemed (Entra: about 10 minutes).
    #[arg(long, env = "GATEHOUSE_AUTHORIZATION_CODE_LIFETIME", default_value_t = 600, value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub authorization_code_lifetime: i64,
    /// Seconds a browser's sign-in session lasts.
    #[arg(long, env = "GATEHOUSE_SESSION_LIFETIME", default_value_t = 86400, value_parser = clap::value_parser!(i64).range(60..))]
    pub session_lifetime: i64,
    /// Seconds a device code waits for its user to sign in (Entra: 900).
    #[arg(long, env = "GATEHOUSE_DEVICE_CODE_LIFETIME", default_value_t = 900, value_parser = clap::value_parser!(i64).range(10..=86400))]
    pub device_code_lifetime: i64,
    /// Seconds a device must wait between polls (Entra: 5); faster polls get slow_down.
    #[arg(long, env = "GATEHOUSE_DEVICE_CODE_INTERVAL", default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=60))]
    pub device_code_interval: i64,
    /// Refuse PKCE's `plain` method (and a challenge without a method): S256 only. Entra accepts plain.
    #[arg(long, env = "GATEHOUSE_NO_PKCE_PLAIN")]
    pub no_pkce_plain: bool,
    /// Leave `iss` out of authorization responses, as Entra does. By default every response (code, ID
    /// token or error) carries the issuer, RFC 9207's defence against mix-up attacks.
    #[arg(long, env = "GATEHOUSE_NO_AUTHORIZATION_RESPONSE_ISS")]
    pub no_authorization_response_iss: bool,
    /// Refuse grant_type=password (ROPC), which RFC 9700 says must not be used; Entra serves it to
    /// applications that allow public client flows, and so does Gatehouse unless this is set.
    #[arg(long, env = "GATEHOUSE_NO_PASSWORD_GRANT")]
    pub no_password_grant: bool,
    /// Seconds of Strict-Transport-Security to send under HTTPS (0: never). Default: a year, except when
    /// the public URL's host is loopback, where a browser would force HTTPS on every localhost port.
    #[arg(long, env = "GATEHOUSE_HSTS_MAX_AGE")]
    pub hsts_max_age: Option<u64>,
    /// Seconds a connection may take to send a request's headers, and a kept-alive connection may wait
    /// for its next request, before it is closed (slow or idle clients hold no connection for ever).
    #[arg(long, env = "GATEHOUSE_HEADER_READ_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
    /// Seconds a TLS handshake may take before the connection is closed.
    #[arg(long, env = "GATEHOUSE_HANDSHAKE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub handshake_timeout: u64,
    /// Seconds a request body may pause between its parts before the request is refused (408).
    #[arg(long, env = "GATEHOUSE_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
    /// The most bytes a request's line and headers may take; a larger request is answered 431.
    #[arg(long, env = "GATEHOUSE_MAX_HEADER_BYTES", default_value_t = crate::settings::MAX_HEADER_BYTES, value_parser = parse_header_bytes)]
    pub max_header_bytes: usize,
    /// The most connections open at once; one beyond is closed at once (keep it below the process's
    /// open-file limit, `ulimit -n`).
    #[arg(long, env = "GATEHOUSE_MAX_CONNECTIONS", default_value_t = crate::settings::MAX_CONNECTIONS, value_parser = parse_max_connections)]
    pub max_connections: usize,
    /// Seconds a connection's peer may stall (send nothing while awaited, or read nothing while written
    /// to) before the connection is closed.
    #[arg(long, env = "GATEHOUSE_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
    /// Token grants (and device-code requests) this node runs at once; four times as many wait, each
    /// at most --queue-timeout, and any more are answered 503 with Retry-After.
    #[arg(long, env = "GATEHOUSE_TOKEN_CONCURRENCY", default_value_t = Limits::default().token_concurrency, value_parser = parse_concurrency)]
    pub token_concurrency: usize,
    /// Graph reads (and UserInfo requests) this node runs at once (then as --token-concurrency).
    #[arg(long, env = "GATEHOUSE_GRAPH_READ_CONCURRENCY", default_value_t = Limits::default().graph_read_concurrency, value_parser = parse_concurrency)]
    pub graph_read_concurrency: usize,
    /// Graph writes this node runs at once (then as --token-concurrency).
    #[arg(long, env = "GATEHOUSE_GRAPH_WRITE_CONCURRENCY", default_value_t = Limits::default().graph_write_concurrency, value_parser = parse_concurrency)]
    pub graph_write_concurrency: usize,
    /// Sign-in page requests this node runs at once (then as --token-concurrency).
    #[arg(long, env = "GATEHOUSE_SIGN_IN_CONCURRENCY", default_value_t = Limits::default().sign_in_concurrency, value_parser = parse_concurrency)]
    pub sign_in_concurrency: usize,
    /// Seconds a request may wait for its turn before it is answered 503 with Retry-After.
    #[arg(long, env = "GATEHOUSE_QUEUE_TIMEOUT", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub queue_timeout: u64,
    /// Token requests per second one client (client id, from one address) may make; more are answered
    /// 429 with Retry-After (0: no limit).
    #[arg(long, env = "GATEHOUSE_TOKEN_RATE_LIMIT", default_value_t = Limits::default().per_client.per_second)]
    pub token_rate_limit: u32,
    /// Token requests one client may make at once beyond --token-rate-limit, before it refills.
    #[arg(long, env = "GATEHOUSE_TOKEN_RATE_BURST", default_value_t = Limits::default().per_client.burst)]
    pub token_rate_burst: u32,
    /// Token requests and sign-in form posts per second from one client address (0: no limit; behind a
    /// proxy every client shares the proxy's address).
    #[arg(long, env = "GATEHOUSE_ADDRESS_RATE_LIMIT", default_value_t = Limits::default().per_address.per_second)]
    pub address_rate_limit: u32,
    /// Requests one address may make at once beyond --address-rate-limit, before it refills.
    #[arg(long, env = "GATEHOUSE_ADDRESS_RATE_BURST", default_value_t = Limits::default().per_address.burst)]
    pub address_rate_burst: u32,
    /// Days the audit log (GET /v1.0/auditLogs/directoryAudits) keeps a record; 0 records nothing.
    #[arg(long, env = "GATEHOUSE_AUDIT_LOG_DAYS", default_value_t = LogRetention::default().audit_days, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub audit_log_days: u32,
    /// Days the sign-in log (GET /v1.0/auditLogs/signIns) keeps a record; 0 records nothing.
    #[arg(long, env = "GATEHOUSE_SIGN_IN_LOG_DAYS", default_value_t = LogRetention::default().sign_in_days, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub sign_in_log_days: u32,
    /// Where Prometheus metrics are served (GET /metrics, plain HTTP): HOST:PORT, or `off`. By default
    /// 127.0.0.1:9464, skipped with a warning when another process holds it.
    #[arg(long, env = "GATEHOUSE_METRICS_LISTEN", value_parser = parse_side_listen)]
    pub metrics_listen: Option<Listen>,
    /// Where managed identities get tokens (the App Service protocol at /msi/token, plain HTTP):
    /// HOST:PORT, or `off`. By default 127.0.0.1:40342, skipped with a warning when another process
    /// holds it.
    #[arg(long, env = "GATEHOUSE_IDENTITY_LISTEN", value_parser = parse_side_listen)]
    pub identity_listen: Option<Listen>,
    /// Also serve the instance-metadata protocol (/metadata/identity/oauth2/token) there. It has no
    /// secret: any process that can reach the listener may use any identity, as on an Azure VM.
    #[arg(long, env = "GATEHOUSE_IDENTITY_IMDS")]
    pub identity_imds: bool,
    /// Answer managed-identity requests from other machines too (by default loopback callers only).
    #[arg(long, env = "GATEHOUSE_IDENTITY_ALLOW_REMOTE")]
    pub identity_allow_remote: bool,
    /// A CA certificate (PEM) to trust when fetching federated issuers' keys.
    #[arg(long, env = "GATEHOUSE_FEDERATION_CA_FILE")]
    pub federation_ca_file: Option<PathBuf>,
    /// Entries in each of the directory's caches (applications, service principals, resource names,
    /// role assignments); a miss reads the store.
    #[arg(long, env = "GATEHOUSE_DIRECTORY_CACHE_ENTRIES", default_value_t = gatehouse_core::directory::DEFAULT_CACHE_ENTRIES)]
    pub directory_cache_entries: usize,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Verified domain of the first tenant.
    #[arg(long, default_value = gatehouse_core::admin::bootstrap::DEFAULT_DOMAIN)]
    pub domain: String,
    /// Print one JSON object (tenantId, domain, clientId, clientSecret).
    #[arg(long)]
    pub json: bool,
}

impl StoreArgs {
    fn settings(&self) -> Settings {
        Settings {
            data_dir: self.data_dir.clone().unwrap_or_else(Settings::default_data_dir),
            database_url: self.database_url.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public_url: None,
            tls: TlsMode::LocalCa,
            domain: gatehouse_core::admin::bootstrap::DEFAULT_DOMAIN.into(),
            rotation: RotationPolicy::default(),
            policies: Policies::default(),
            federation_ca: None,
            directory_cache_entries: gatehouse_core::directory::DEFAULT_CACHE_ENTRIES,
            hsts_max_age: None,
            header_read_timeout: crate::settings::HEADER_READ_TIMEOUT,
            handshake_timeout: crate::settings::HANDSHAKE_TIMEOUT,
            max_header_bytes: crate::settings::MAX_HEADER_BYTES,
            max_connections: crate::settings::MAX_CONNECTIONS,
            body_timeout: crate::settings::BODY_TIMEOUT,
            idle_timeout: crate::settings::IDLE_TIMEOUT,
            metrics: Listen::Off,
            identity: Listen::Off,
            identity_policy: Default::default(),
            limits: Limits::default(),
            logs: LogRetention::default(),
        }
    }

    /// Opens the existing store these flags name. A SQLite file that is not there is a mistyped
    /// `--data-dir`, not a store to make: it is refused before anything is written.
    async fn open(&self) -> Result<Box<dyn gatehouse_core::store::Store>, String> {
        let settings = self.settings();
        if settings.database_url.is_none() {
            let file = settings.data_dir.join("gatehouse.db");
            if !file.exists() {
                return Err(format!(
                    "no Gatehouse store in {}: give the server's --data-dir (or --database-url); `gatehouse init` makes a new one",
                    settings.data_dir.display()
                ));
            }
        }
        gatehouse_store::open(&settings.database_url())
            .await
            .map_err(|e| e.to_string())
    }
}

impl KeyScheduleArgs {
    fn policy(&self) -> RotationPolicy {
        RotationPolicy {
            rotate_every: time::Duration::seconds(self.key_rotation_interval),
            prepublish: time::Duration::seconds(self.key_prepublish),
        }
    }
}

impl ServeArgs {
    pub fn settings(&self) -> Settings {
        let tls = match (&self.tls_cert, &self.tls_key, self.insecure_http) {
            (_, _, true) => TlsMode::Insecure,
            (Some(cert), Some(key), _) => TlsMode::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => TlsMode::LocalCa,
        };
        Settings {
            listen: self.listen,
            public_url: self.public_url.clone(),
            tls,
            policies: Policies {
                assertions: AssertionPolicy {
                    clock_skew: time::Duration::seconds(self.assertion_clock_skew),
                    max_lifetime: time::Duration::seconds(self.assertion_max_lifetime),
                    strict_audience: self.assertion_strict_audience,
                },
                sign_in: SignInPolicy {
                    lockout_threshold: self.lockout_threshold,
                    lockout_duration: time::Duration::seconds(self.lockout_duration),
                    reveal_unknown_users: self.reveal_unknown_users,
                },
                authorize: AuthorizePolicy {
                    code_lifetime: time::Duration::seconds(self.authorization_code_lifetime),
                    flow_lifetime: AuthorizePolicy::default().flow_lifetime,
                    pkce_plain: !self.no_pkce_plain,
                    session_lifetime: time::Duration::seconds(self.session_lifetime),
                    device_code_lifetime: time::Duration::seconds(self.device_code_lifetime),
                    device_poll_interval: time::Duration::seconds(self.device_code_interval),
                    response_iss: !self.no_authorization_response_iss,
                },
                user_tokens: UserTokenPolicy {
                    refresh_idle: time::Duration::seconds(self.refresh_token_idle_lifetime),
                    refresh_absolute: time::Duration::seconds(self.refresh_token_absolute_lifetime),
                    spa_refresh: time::Duration::seconds(self.spa_refresh_token_lifetime),
                    refresh_reuse_grace: time::Duration::seconds(self.refresh_token_reuse_grace),
                    password_grant: !self.no_password_grant,
                },
            },
            federation_ca: self.federation_ca_file.clone(),
            directory_cache_entries: self.directory_cache_entries,
            hsts_max_age: self.hsts_max_age,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout),
            handshake_timeout: std::time::Duration::from_secs(self.handshake_timeout),
            max_header_bytes: self.max_header_bytes,
            max_connections: self.max_connections,
            body_timeout: std::time::Duration::from_secs(self.body_timeout),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
            metrics: self
                .metrics_listen
                .unwrap_or(Listen::Default(crate::settings::METRICS_LISTEN)),
            identity: self
                .identity_listen
                .unwrap_or(Listen::Default(crate::settings::IDENTITY_LISTEN)),
            identity_policy: crate::routes::identity::IdentityPolicy {
                imds: self.identity_imds,
                allow_remote: self.identity_allow_remote,
            },
            limits: Limits {
                token_concurrency: self.token_concurrency,
                graph_read_concurrency: self.graph_read_concurrency,
                graph_write_concurrency: self.graph_write_concurrency,
                sign_in_concurrency: self.sign_in_concurrency,
                queue_timeout: std::time::Duration::from_secs(self.queue_timeout),
                per_client: Rate::new(self.token_rate_limit, self.token_rate_burst),
                per_address: Rate::new(self.address_rate_limit, self.address_rate_burst),
            },
            logs: LogRetention {
                audit_days: self.audit_log_days,
                sign_in_days: self.sign_in_log_days,
            },
            domain: self.domain.clone(),
            rotation: self.schedule.policy(),
            ..self.store.settings()
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Init(args) => init(args).await,
        Command::Login(a) => {
            let last = session::load_any().ok();
            let server = a
                .server
                .or_else(|| last.as_ref().map(|s| s.server.clone()))
                .unwrap_or_else(|| DEFAULT_SERVER.to_string());
            let last_ca = last
                .filter(|s| s.server == server.trim_end_matches('/'))
                .and_then(|s| s.ca_file);
            let ca = session::default_ca(a.ca_file.or(last_ca), &server);
            print_json(session::login(&server, &a.tenant, &a.username, &a.password, ca).await)
        }
        Command::App(a) => print(az::app(a.command).await, a.output.output),
        Command::Sp(a) => print(az::sp(a.command).await, a.output.output),
        Command::User(a) => print(az::user(a.command).await, a.output.output),
        Command::Keys(cmd) => print_json(keys::run(cmd).await),
        Command::Tenant(cmd) => tenant::run(cmd).await,
        Command::Logs(cmd) => logs::run(cmd).await,
        Command::Identity(cmd) => identity::run(cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print(r: Result<serde_json::Value, String>, format: output::Format) -> Result<(), String> {
    if let Some(text) = output::render(&r?, format) {
        println!("{text}");
    }
    Ok(())
}

pub(super) fn print_json(r: Result<serde_json::Value, String>) -> Result<(), String> {
    let v = r?;
    if !v.is_null() {
        println!("{}", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?);
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let settings = args.settings();
    if matches!(settings.tls, TlsMode::Insecure) && !settings.listen.ip().is_loopback() {
        tracing::warn!("serving plain HTTP on a non-loopback address: put a TLS-terminating proxy in front");
    }
    let server = crate::run::start(settings.clone()).await?;
    if let Some(out) = &server.bootstrap {
        println!("Bootstrapped a new tenant. The client secret and the administrator password are shown once; keep them now:");
        println!(
            "{}",
            serde_json::to_string_pretty(out).map_err(|e| e.to_string())?
        );
    }
    if !matches!(settings.tls, TlsMode::Insecure) && matches!(settings.tls, TlsMode::LocalCa) {
        println!(
            "Trust this CA in your clients: {}",
            settings.data_dir.join("tls").join("ca.pem").display()
        );
    }
    println!("Gatehouse listening on {} ({})", server.base_url, server.addr);
    println!("Portal: {}/portal/", server.base_url);
    if let Some(at) = server.identity_addr {
        println!("Managed identities: http://{at}/msi/token (gatehouse identity env --name NAME)");
    }
    server.wait_for_signal_then_drain().await;
    Ok(())
}

async fn init(args: InitArgs) -> Result<(), String> {
    let settings = Settings {
        domain: args.domain.clone(),
        ..args.store.settings()
    };
    let kek = crate::settings::load_kek(&settings.data_dir)?;
    let (store, out) = crate::run::open_store(&settings, &kek).await?;
    store.close().await;
    let out = out.ok_or(
        "the store already holds a tenant; init only bootstraps an empty store (add more with `gatehouse tenant create`)",
    )?;
    print_credentials(&out, args.json)
}

/// What `init` and `tenant create` print: one JSON object, or the same as lines.
fn print_credentials(out: &BootstrapOutput, json: bool) -> Result<(), String> {
    if json {
        println!("{}", serde_json::to_string(out).map_err(|e| e.to_string())?);
    } else {
        println!("Tenant {} ({})", out.tenant_id, out.domain);
        println!("Management client id: {}", out.client_id);
        println!(
            "Management client secret (shown once): {}",
            out.client_secret.expose()
        );
        if let (Some(upn), Some(password)) = (&out.admin_user_principal_name, &out.admin_password) {
            println!("Administrator: {upn}");
            println!("Administrator password (shown once): {}", password.expose());
        }
    }
    Ok(())
}

/// `--max-connections`: from 1 to a million.
fn parse_max_connections(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n @ 1..=1_000_000) => Ok(n),
        _ => Err("must be a number from 1 to 1000000".into()),
    }
}

/// `--max-header-bytes`: at least 8192 (the HTTP stack's own minimum), at most 16 MiB.
fn parse_header_bytes(value: &str) -> Result<usize, String> {
    let n: usize = value
        .parse()
        .map_err(|_| format!("'{value}' is not a number of bytes"))?;
    match n {
        8192..=16_777_216 => Ok(n),
        _ => Err("must be from 8192 to 16777216".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and every option of every command says what it is for.
    #[test]
    fn every_command_and_option_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && path != " gatehouse" {
                missing.push(format!("{path} (the command)"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}
