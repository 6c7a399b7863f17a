//! Starting a node: open the store, bootstrap it if empty, load the directory, start the watcher and the
//! key maintenance, bind,
//! and serve over HTTPS (or plain HTTP behind a proxy) until told to drain.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::DefaultAcceptor;
use gatehouse_core::admin::bootstrap::{bootstrap_if_empty, BootstrapOutput};
use gatehouse_core::keys::add_signing_key;
use gatehouse_core::store::Store;
use gatehouse_core::Directory;
use gatehouse_jose::kek::Kek;
use gatehouse_proto::{GRAPH_APP_ID, GRAPH_RESOURCE};
use gatehouse_validate::{IssuerPolicy, Validator};
use time::OffsetDateTime;

use crate::federation::FederationKeys;
use crate::limit::ConnectionLimit;
use crate::replay::ReplayLedger;
use crate::routes::graph::keys::DirectoryKeys;
use crate::settings::{load_kek, Listen, Settings, TlsMode};
use crate::{maintenance, routes, watcher, AppState};

/// How long in-flight requests may take to finish after SIGTERM.
pub const DRAIN: Duration = Duration::from_secs(20);

/// A started node.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    /// Set when this start bootstrapped an empty store.
    pub bootstrap: Option<BootstrapOutput>,
    pub state: AppState,
    handle: axum_server::Handle<SocketAddr>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    watcher: tokio::task::JoinHandle<()>,
    prover: tokio::task::JoinHandle<()>,
    maintenance: tokio::task::JoinHandle<()>,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    metrics: Option<MetricsThread>,
    /// Where managed identities get tokens, if anywhere.
    pub identity_addr: Option<SocketAddr>,
    identity: Option<axum_server::Handle<SocketAddr>>,
}

/// Opens the store and bootstraps it if it holds no tenant.
pub async fn open_store(
    settings: &Settings,
    kek: &Kek,
) -> Result<(Arc<dyn Store>, Option<BootstrapOutput>), String> {
    let store: Arc<dyn Store> = Arc::from(
        gatehouse_store::open(&settings.database_url())
            .await
            .map_err(|e| e.to_string())?,
    );
    let out = bootstrap_if_empty(store.as_ref(), &settings.domain, kek, OffsetDateTime::now_utc())
        .await
        .map_err(|e| format!("bootstrap: {e}"))?;
    Ok((store, out))
}

pub async fn start(settings: Settings) -> Result<RunningServer, String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if settings.rotation.prepublish >= settings.rotation.rotate_every {
        return Err("the key pre-publication period must be shorter than the rotation interval".into());
    }
    let kek = load_kek(&settings.data_dir)?;
    // Everything that can fail on the operator's input (the address, the TLS files, the federation CA)
    // is done before the store is touched: a first start that fails leaves an empty store, and the
    // next start bootstraps and prints the one-time secret then.
    let listener = TcpListener::bind(settings.listen).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "another process listens on {}: stop it, or choose another address with --listen",
            settings.listen
        ),
        _ => format!("cannot listen on {}: {e}", settings.listen),
    })?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = settings.base_url(addr);
    let tls = match &settings.tls {
        TlsMode::Insecure => None,
        mode => Some(rustls_config(&settings, mode, &base_url).await?),
    };
    let federation_ca = match &settings.federation_ca {
        Some(p) => Some(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };

    let (store, bootstrap) = open_store(&settings, &kek).await?;
    let directory = Arc::new(
        Directory::load(Arc::clone(&store), kek.clone(), settings.directory_cache_entries)
            .await
            .map_err(|e| format!("directory: {e}"))?
            .with_portal(&base_url),
    );
    let keys = directory.keys();
    let now = OffsetDateTime::now_utc();
    if keys.signing_key(now).is_none() && !keys.unreadable.is_empty() {
        // Adding a key of our own would split the cluster into nodes signing with different keys.
        return Err(
            "this node's key-encryption key cannot unseal the store's signing keys: give every node \
                    the same GATEHOUSE_KEY_ENCRYPTION_KEY (or the same data folder's kek file)"
                .into(),
        );
    }
    if keys.signing_key(now).is_none() {
        add_signing_key(store.as_ref(), &kek, now)
            .await
            .map_err(|e| format!("signing key: {e}"))?;
        directory.sync().await.map_err(|e| format!("directory: {e}"))?;
    }

    let graph_validator = Validator::with_policy(
        IssuerPolicy::Template {
            templates: vec![
                format!("{base_url}/{{tenantid}}/"),
                format!("{base_url}/{{tenantid}}/v2.0"),
            ],
            tenants: None,
        },
        vec![
            GRAPH_APP_ID.into(),
            GRAPH_RESOURCE.into(),
            format!("{GRAPH_RESOURCE}/"),
        ],
        Arc::new(DirectoryKeys(Arc::clone(&directory))),
    );
    let state = AppState {
        store: Arc::clone(&store),
        directory: Arc::clone(&directory),
        base_url: base_url.clone().into(),
        graph_validator: Arc::new(graph_validator),
        accepting: Arc::new(AtomicBool::new(true)),
        policies: settings.policies,
        federation: Arc::new(FederationKeys::new(federation_ca)),
        replay: ReplayLedger::spawn(Arc::clone(&store)),
        passwords: crate::passwords::PasswordPool::new(),
        sealer: Arc::new(crate::routes::signin::FlowSealer::new(&kek)?),
        portal: Arc::new(crate::routes::portal::PortalSealer::new(&kek)?),
        hsts: crate::settings::hsts(&base_url, settings.hsts_max_age).map(Into::into),
        body_timeout: settings.body_timeout,
        admission: Arc::new(crate::admission::Admission::new(&settings.limits)),
        readiness: crate::readiness::StoreReadiness::new(),
        metrics: Arc::default(),
        sign_ins: crate::sign_in_log::SignInLog::spawn(
            Arc::clone(&directory),
            settings.logs.sign_in_days > 0,
        ),
        audit: settings.logs.audit_days > 0,
    };
    let watcher = watcher::spawn(Arc::clone(&store), Arc::clone(&directory));
    let prover = crate::readiness::spawn(Arc::clone(&store), Arc::clone(&state.readiness));
    let maintenance = maintenance::spawn(
        Arc::clone(&store),
        Arc::clone(&directory),
        kek.clone(),
        settings.rotation,
        settings.policies.user_tokens.refresh_idle,
        settings.logs,
    );
    let app = routes::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    // A slow or idle client holds a connection only so long (`limit_http`, and `idle_timeout` for a
    // peer that stalls reading or writing), the TLS handshake takes at most `handshake_timeout`, and
    // no more than `max_connections` are open at once.
    let limit = ConnectionLimit::new(DefaultAcceptor, settings.max_connections, settings.idle_timeout);
    let serving = match tls {
        None => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(|e| e.to_string())?
                .acceptor(limit)
                .handle(handle.clone());
            limit_http(server.http_builder(), &settings);
            tokio::spawn(server.serve(app))
        }
        Some(config) => {
            let handshake_timeout = settings.handshake_timeout;
            let mut server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
                .map_err(|e| e.to_string())?
                .map(|acceptor| acceptor.handshake_timeout(handshake_timeout).acceptor(limit))
                .handle(handle.clone());
            limit_http(server.http_builder(), &settings);
            tokio::spawn(server.serve(app))
        }
    };
    let (metrics_addr, metrics) = serve_metrics(settings.metrics, state.clone())?;
    let (identity_addr, identity) = serve_identity(&settings, state.clone())?;
    tracing::info!(%addr, %base_url, "listening");
    Ok(RunningServer {
        addr,
        base_url,
        bootstrap,
        state,
        handle,
        serving,
        watcher,
        prover,
        maintenance,
        metrics_addr,
        metrics,
        identity_addr,
        identity,
    })
}

/// Binds the metrics listener, if any, and serves `GET /metrics`, `/health/live` and `/health/ready`
/// on it from a thread and runtime of its own: however many requests the main runtime is working
/// through, a probe here waits behind none of them.
fn serve_metrics(
    listen: Listen,
    state: AppState,
) -> Result<(Option<SocketAddr>, Option<MetricsThread>), String> {
    let Some(listener) = bind_side(listen, "metrics", "--metrics-listen")? else {
        return Ok((None, None));
    };
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(crate::metrics::metrics_get))
        .route("/health/live", axum::routing::get(routes::health::live_get))
        .route("/health/ready", axum::routing::get(routes::health::ready_get))
        .with_state(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("gatehouse-metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                if let Err(e) = serving.await {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            })
        })
        .map_err(|e| e.to_string())?;
    tracing::info!(%bound, "metrics at /metrics, health at /health/live and /health/ready");
    Ok((Some(bound), Some(MetricsThread { _stop: stop })))
}

/// Binds a side listener, if it is on: an address the operator chose must bind; the default may be
/// held by another process (a second node on one machine), and then the node goes on without it.
fn bind_side(listen: Listen, what: &str, flag: &str) -> Result<Option<TcpListener>, String> {
    let (at, required) = match listen {
        Listen::Off => return Ok(None),
        Listen::Default(at) => (at, false),
        Listen::At(at) => (at, true),
    };
    match TcpListener::bind(at) {
        Ok(l) => Ok(Some(l)),
        Err(e) if !required => {
            tracing::warn!(%at, error = %e, "{what} not served: give {flag} another address, or off");
            Ok(None)
        }
        Err(e) => Err(format!("cannot serve {what} on {at}: {e}")),
    }
}

/// Binds the managed-identity listener, if any, and serves it on the node's runtime (its requests
/// are tokens, decided like any other), with the protocol listener's connection discipline (header
/// timeout and size, idle timeout, connection cap). Plain HTTP, as Azure's own endpoints are.
fn serve_identity(
    settings: &Settings,
    state: AppState,
) -> Result<(Option<SocketAddr>, Option<axum_server::Handle<SocketAddr>>), String> {
    let Some(listener) = bind_side(settings.identity, "managed identities", "--identity-listen")? else {
        return Ok((None, None));
    };
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let policy = settings.identity_policy;
    let app = routes::identity::router(state, policy).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let limit = ConnectionLimit::new(DefaultAcceptor, settings.max_connections, settings.idle_timeout);
    let mut server = axum_server::from_tcp(listener)
        .map_err(|e| e.to_string())?
        .acceptor(limit)
        .handle(handle.clone());
    limit_http(server.http_builder(), settings);
    tokio::spawn(async move {
        if let Err(e) = server.serve(app).await {
            tracing::warn!(error = %e, "the managed-identity listener stopped");
        }
    });
    tracing::info!(%bound, imds = policy.imds, "managed identities at /msi/token");
    Ok((Some(bound), Some(handle)))
}

/// Stops the metrics listener's thread when dropped.
struct MetricsThread {
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The headers of each request (and the wait for the next one on a kept-alive connection) within
/// `header_read_timeout`; headers beyond `max_header_bytes` are answered 431.
fn limit_http(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    settings: &Settings,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(settings.max_header_bytes);
}

async fn rustls_config(
    settings: &Settings,
    mode: &TlsMode,
    base_url: &str,
) -> Result<axum_server::tls_rustls::RustlsConfig, String> {
    use axum_server::tls_rustls::RustlsConfig;
    match mode {
        TlsMode::Files { cert, key } => {
            let (cert_pem, key_pem) = crate::tls::own_files(cert, key)?;
            RustlsConfig::from_pem(cert_pem, key_pem)
                .await
                .map_err(|e| format!("TLS files: {e}"))
        }
        _ => {
            let host = url::Url::parse(base_url)
                .ok()
                .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()));
            let c = crate::tls::local_ca_certificate(
                &settings.data_dir,
                host.as_deref(),
                OffsetDateTime::now_utc(),
            )?;
            RustlsConfig::from_pem(c.cert_pem, c.key_pem)
                .await
                .map_err(|e| format!("TLS: {e}"))
        }
    }
}

impl RunningServer {
    /// Stops taking work (readiness turns 503), lets in-flight requests finish, then stops.
    pub async fn shutdown(self) {
        self.state.accepting.store(false, Ordering::Release);
        self.handle.graceful_shutdown(Some(DRAIN));
        if let Some(identity) = &self.identity {
            identity.graceful_shutdown(Some(DRAIN));
        }
        let _ = self.serving.await;
        self.state.sign_ins.flush().await;
        self.watcher.abort();
        self.prover.abort();
        drop(self.metrics);
        self.maintenance.abort();
        self.state.store.close().await;
    }

    /// Runs until the serving task ends (it ends after [`RunningServer::shutdown`] is requested).
    pub async fn wait_for_signal_then_drain(self) {
        shutdown_signal().await;
        tracing::info!("draining");
        self.shutdown().await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
