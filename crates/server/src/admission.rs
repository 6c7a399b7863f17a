//! Admission control: how much work a node takes on at once, and how fast one client may ask.
//!
//! - Each class of request (token grants, Graph reads, Graph writes, sign-in pages) has its own gate:
//!   so many in flight, four times as many waiting, each waiting at most `queue_timeout`. Past that
//!   the request is answered at once with 503 and `Retry-After` in its surface's own error shape, so
//!   that admitted requests keep a bounded latency and the excess retries elsewhere or later. A flood
//!   of Graph writes never holds up token grants, and health, discovery and keys are never queued.
//! - Rate limits (a token bucket per key, GCRA): per client on the token endpoint, per client address
//!   on the token endpoint and the sign-in forms; beyond them 429 with `Retry-After`, so one noisy
//!   client is refused without slowing any other.
//!
//! Both are per node: behind a balancer, a cluster admits the sum of its nodes.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_core::CoreError;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::routes::graph::errors::GraphFailure;
use crate::AppState;

/// What an operator sets (`serve --help` names each flag).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Token grants (and device-code requests) in flight at once.
    pub token_concurrency: usize,
    /// Graph reads (and UserInfo) in flight at once.
    pub graph_read_concurrency: usize,
    /// Graph writes in flight at once.
    pub graph_write_concurrency: usize,
    /// Sign-in page requests in flight at once.
    pub sign_in_concurrency: usize,
    /// The longest a request waits for its turn before it is answered 503.
    pub queue_timeout: Duration,
    /// Token requests per client id (and address).
    pub per_client: Rate,
    /// Token requests and sign-in form posts per client address.
    pub per_address: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            token_concurrency: 128,
            graph_read_concurrency: 64,
            graph_write_concurrency: 16,
            sign_in_concurrency: 64,
            queue_timeout: Duration::from_secs(2),
            per_client: Rate::new(200, 400),
            per_address: Rate::new(500, 1000),
        }
    }
}

/// Requests per second with a burst; a rate of 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }
}

/// The kinds of request that have a gate of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Token,
    GraphRead,
    GraphWrite,
    SignIn,
}

impl Class {
    /// The class's metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::GraphRead => "graph_read",
            Self::GraphWrite => "graph_write",
            Self::SignIn => "sign_in",
        }
    }

    /// The class of a request, from its method and path; `None` for what is served from memory
    /// (health, discovery, keys, static files), which no gate holds up.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        if path.starts_with("/v1.0/") || path == "/v1.0" {
            return Some(if matches!(*method, Method::GET | Method::HEAD) {
                Self::GraphRead
            } else {
                Self::GraphWrite
            });
        }
        if path.starts_with("/health/")
            || path.starts_with("/static/")
            || path.contains("/.well-known/")
            || path.contains("/discovery/")
            || path.starts_with("/common/userrealm/")
            || path == "/error"
        {
            return None;
        }
        let last = path.rsplit('/').next().unwrap_or_default();
        match last {
            "token" | "devicecode" => Some(Self::Token),
            "userinfo" => Some(Self::GraphRead),
            _ => Some(Self::SignIn),
        }
    }

    /// The largest body a request of this class may have (its surface's own limit).
    fn max_body(self) -> usize {
        match self {
            Self::GraphRead | Self::GraphWrite => crate::routes::graph::MAX_BODY,
            Self::Token | Self::SignIn => crate::routes::token::MAX_BODY,
        }
    }

    /// Whether requests of this class count against the per-address rate limit: the token endpoint
    /// and the sign-in forms (not the pages a browser merely loads).
    fn rate_limited(self, method: &Method) -> bool {
        match self {
            Self::Token => true,
            Self::SignIn => *method == Method::POST,
            Self::GraphRead | Self::GraphWrite => false,
        }
    }
}

/// A class's gate: `running` permits, a bounded waiting room, a bounded wait.
struct Gate {
    running: Semaphore,
    capacity: usize,
    waiting: AtomicUsize,
    queue: usize,
    max_wait: Duration,
    refused_busy: AtomicU64,
    refused_rate: AtomicU64,
}

/// A class's load, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub capacity: usize,
    pub running: usize,
    pub waiting: usize,
    pub refused_busy: u64,
    pub refused_rate: u64,
}

impl Gate {
    fn new(concurrency: usize, max_wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            running: Semaphore::new(concurrency),
            capacity: concurrency,
            waiting: AtomicUsize::new(0),
            queue: concurrency * 4,
            max_wait,
            refused_busy: AtomicU64::new(0),
            refused_rate: AtomicU64::new(0),
        }
    }

    fn load(&self) -> Load {
        Load {
            capacity: self.capacity,
            running: self.capacity.saturating_sub(self.running.available_permits()),
            waiting: self.waiting.load(Ordering::Relaxed),
            refused_busy: self.refused_busy.load(Ordering::Relaxed),
            refused_rate: self.refused_rate.load(Ordering::Relaxed),
        }
    }

    /// A permit to run, or `None` when the waiting room is full or the wait ran out.
    async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(p) = self.running.try_acquire() {
            return Some(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        // Leaves the waiting room however the wait ends (the client may also hang up).
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _waiting = Waiting(&self.waiting);
        tokio::time::timeout(self.max_wait, self.running.acquire())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

/// The most keys a rate limiter tracks; past it, keys whose bucket has refilled are forgotten, and
/// if none has, a new key goes untracked (the gates still bound the work it can cause).
const MAX_KEYS: usize = 100_000;
const SHARDS: usize = 16;

/// Token buckets by key, as GCRA keeps them: each key's "theoretical arrival time".
pub struct RateLimiter<K> {
    rate: Rate,
    start: Instant,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<K, Duration>>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            start: Instant::now(),
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Counts one request from `key` at `now`: `Err(wait)` when it is over the rate, with how long
    /// until one more would be allowed.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.rate.per_second == 0 {
            return Ok(());
        }
        let interval = Duration::from_secs(1) / self.rate.per_second;
        let tolerance = interval * self.rate.burst.max(1);
        let now = now.saturating_duration_since(self.start);
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let Ok(mut buckets) = shard.lock() else {
            return Ok(());
        };
        let tat = buckets.get(key).copied().unwrap_or(now).max(now);
        let next = tat + interval;
        if next > now + tolerance {
            return Err(next - tolerance - now);
        }
        if buckets.len() >= MAX_KEYS / SHARDS && !buckets.contains_key(key) {
            buckets.retain(|_, tat| *tat > now);
            if buckets.len() >= MAX_KEYS / SHARDS {
                return Ok(());
            }
        }
        buckets.insert(key.clone(), next);
        Ok(())
    }
}

/// A node's gates and rate limiters.
pub struct Admission {
    token: Gate,
    graph_read: Gate,
    graph_write: Gate,
    sign_in: Gate,
    per_client: RateLimiter<(String, String)>,
    per_address: RateLimiter<IpAddr>,
}

impl Admission {
    pub fn new(limits: &Limits) -> Self {
        let wait = limits.queue_timeout;
        Self {
            token: Gate::new(limits.token_concurrency, wait),
            graph_read: Gate::new(limits.graph_read_concurrency, wait),
            graph_write: Gate::new(limits.graph_write_concurrency, wait),
            sign_in: Gate::new(limits.sign_in_concurrency, wait),
            per_client: RateLimiter::new(limits.per_client),
            per_address: RateLimiter::new(limits.per_address),
        }
    }

    fn gate(&self, class: Class) -> &Gate {
        match class {
            Class::Token => &self.token,
            Class::GraphRead => &self.graph_read,
            Class::GraphWrite => &self.graph_write,
            Class::SignIn => &self.sign_in,
        }
    }

    /// A turn at `class`'s gate for a request that does not pass the middleware (the managed-identity
    /// listener's tokens take the token endpoint's turns); `None` when the node is at capacity.
    pub async fn turn(&self, class: Class) -> Option<SemaphorePermit<'_>> {
        let gate = self.gate(class);
        let permit = gate.enter().await;
        if permit.is_none() {
            gate.refused_busy.fetch_add(1, Ordering::Relaxed);
        }
        permit
    }

    /// Counts a token request of `client_id` from `address` (checked once the form is read, before
    /// the client is authenticated). Keyed by both, so that a caller elsewhere who names someone
    /// else's client id spends its own budget, not that client's.
    pub fn check_client(&self, client_id: &str, address: &str) -> Result<(), CoreError> {
        // A client id is a GUID or a short name: a longer one is cut, so that made-up ids cannot
        // make the limiter's keys large.
        let client_id: String = client_id.chars().take(64).collect();
        self.per_client
            .check(&(client_id, address.to_string()), Instant::now())
            .map_err(|retry_after| {
                self.token.refused_rate.fetch_add(1, Ordering::Relaxed);
                CoreError::Throttled { retry_after }
            })
    }

    /// How loaded a class is, for metrics.
    pub fn load(&self, class: Class) -> Load {
        self.gate(class).load()
    }
}

/// The middleware: rate-limits by address, then waits for the class's gate, then runs the request;
/// a refusal is written by the surface's own error mapping.
pub async fn admit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(class) = Class::of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    if class.rate_limited(req.method()) {
        let address = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(address) = address {
            if let Err(retry_after) = st.admission.per_address.check(&address, Instant::now()) {
                st.admission
                    .gate(class)
                    .refused_rate
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(%address, ?class, "a request over the per-address rate limit was refused");
                return refuse(&st, class, req.headers(), CoreError::Throttled { retry_after });
            }
        }
    }
    // The body is read before the request takes a turn: a client that trickles its body holds a
    // connection (for at most --body-timeout), never a turn another request could use.
    let req = match buffered(req, class.max_body()).await {
        Ok(req) => req,
        Err((headers, e)) => return refuse(&st, class, &headers, e),
    };
    let admission = std::sync::Arc::clone(&st.admission);
    let Some(_permit) = admission.gate(class).enter().await else {
        admission.gate(class).refused_busy.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(?class, "a request beyond this node's capacity was refused (503)");
        return refuse(&st, class, req.headers(), CoreError::Busy);
    };
    next.run(req).await
}

/// The request with its body read into memory (at most `limit` bytes), or why it could not be.
async fn buffered(req: Request, limit: usize) -> Result<Request, (HeaderMap, CoreError)> {
    use axum::body::HttpBody;
    if req.body().size_hint().exact() == Some(0) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(e) if crate::routes::body_timed_out(&e) => Err((parts.headers, CoreError::BodyTimeout)),
        Err(_) => Err((parts.headers, CoreError::BodyTooLarge { limit })),
    }
}

/// A refusal in the request's surface's own shape.
fn refuse(st: &AppState, class: Class, headers: &HeaderMap, e: CoreError) -> Response {
    match class {
        Class::Token => crate::routes::oauth_error::oauth_error_response(&e, headers, &st.base_url),
        Class::GraphRead | Class::GraphWrite => match e {
            CoreError::BodyTimeout => GraphFailure::BodyTimeout,
            CoreError::BodyTooLarge { .. } => GraphFailure::TooLarge,
            _ => GraphFailure::Busy,
        }
        .render(headers),
        Class::SignIn => crate::routes::signin::error_page(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classed_by_surface() {
        let c = |m: Method, p: &str| Class::of(&m, p);
        assert_eq!(c(Method::POST, "/t/oauth2/v2.0/token"), Some(Class::Token));
        assert_eq!(c(Method::POST, "/t/oauth2/token"), Some(Class::Token));
        assert_eq!(c(Method::POST, "/t/oauth2/v2.0/devicecode"), Some(Class::Token));
        assert_eq!(c(Method::GET, "/v1.0/applications"), Some(Class::GraphRead));
        assert_eq!(c(Method::POST, "/v1.0/applications"), Some(Class::GraphWrite));
        assert_eq!(c(Method::PATCH, "/v1.0/users/x"), Some(Class::GraphWrite));
        assert_eq!(c(Method::GET, "/oidc/userinfo"), Some(Class::GraphRead));
        assert_eq!(c(Method::GET, "/t/oauth2/v2.0/authorize"), Some(Class::SignIn));
        assert_eq!(c(Method::POST, "/t/login"), Some(Class::SignIn));
        assert_eq!(c(Method::GET, "/health/ready"), None);
        assert_eq!(c(Method::GET, "/t/v2.0/.well-known/openid-configuration"), None);
        assert_eq!(c(Method::GET, "/t/discovery/v2.0/keys"), None);
        assert_eq!(c(Method::GET, "/static/gatehouse.css"), None);
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(Rate::new(10, 5));
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(limiter.check(&"a", t0).is_ok(), "request {i} of the burst");
        }
        let wait = limiter.check(&"a", t0).expect_err("the sixth at once is over");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(limiter.check(&"b", t0).is_ok(), "another key has its own bucket");
        assert!(limiter.check(&"a", t0 + wait).is_ok(), "after the wait, one more");
        assert!(limiter.check(&"a", t0 + wait).is_err());
        assert!(
            (0..5).all(|_| limiter.check(&"a", t0 + Duration::from_secs(2)).is_ok()),
            "an idle key refills to its burst"
        );
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limiter = RateLimiter::new(Rate::new(0, 0));
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.check(&1u8, t0).is_ok()));
    }

    #[tokio::test]
    async fn a_full_gate_refuses_at_once_past_its_waiting_room() {
        let gate = std::sync::Arc::new(Gate::new(1, Duration::from_secs(30)));
        let held = gate.enter().await.expect("the first runs");
        let mut waiters = Vec::new();
        for _ in 0..4 {
            let g = std::sync::Arc::clone(&gate);
            waiters.push(tokio::spawn(async move { g.enter().await.is_some() }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        assert!(gate.enter().await.is_none(), "the waiting room (4) is full");
        assert!(started.elapsed() < Duration::from_millis(50), "refused at once");
        drop(held);
        for w in waiters {
            assert!(w.await.unwrap(), "each waiter runs in turn");
        }
        let short = Gate::new(1, Duration::from_millis(20));
        let _held = short.enter().await.unwrap();
        assert!(
            short.enter().await.is_none(),
            "a wait beyond queue_timeout is refused"
        );
    }
}
