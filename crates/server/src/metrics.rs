//! Prometheus metrics, served on their own listener (`--metrics-listen`, loopback by default) so that
//! they are never exposed where the protocol endpoints are: requests by route and status with latency
//! histograms, token grants by grant type and outcome, admission (in flight, waiting, refused), the
//! store's pool and readiness, the change feed's lag, the directory caches' hit rates, and the signing
//! keys' rotation state. Written in the text exposition format by hand: a few maps behind one lock each.
//!
//! Also the request id: every request gets one, sent back as `x-ms-request-id` (Entra's header; Graph
//! clients read `request-id`), carried by every log line of the request, and used as the trace id of
//! the request's error bodies, so a user's error report finds the log lines.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_core::keys::KeyState;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::admission::Class;
use crate::AppState;

tokio::task_local! {
    static REQUEST_ID: Uuid;
}

/// The id of the request being served (a new one outside any request).
pub fn request_id() -> Uuid {
    REQUEST_ID.try_with(|id| *id).unwrap_or_else(|_| Uuid::new_v4())
}

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// The most route labels kept; past it, requests count under "other" (a client cannot grow memory by
/// inventing paths).
const MAX_ROUTES: usize = 200;

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The counters requests and grants add to.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    grants: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Metrics {
    fn observe(&self, route: String, status: u16, seconds: f64) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let route = if routes.len() >= MAX_ROUTES && !routes.contains_key(&route) {
            "other".to_string()
        } else {
            route
        };
        let r = routes.entry(route).or_default();
        *r.by_status.entry(status).or_default() += 1;
        for (bucket, le) in r.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= le {
                *bucket += 1;
            }
        }
        r.count += 1;
        r.sum += seconds;
    }

    /// Counts one token request: its grant type and `issued` or the OAuth error it got.
    pub fn grant(&self, grant: &'static str, outcome: &str) {
        if let Ok(mut grants) = self.grants.lock() {
            *grants.entry((grant, outcome.to_string())).or_default() += 1;
        }
    }
}

/// The route label of a request: the route it matched (`/{tenant}/oauth2/v2.0/token`), or for Graph
/// the collection it names (`/v1.0/applications`).
fn route_of(req: &Request) -> String {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/v1.0/") {
        let segment: String = rest
            .split(['/', '('])
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        return format!("/v1.0/{segment}");
    }
    match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_string(),
        None => "unmatched".into(),
    }
}

/// The middleware: gives the request its id, times it, and counts it by route and status.
pub async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let id = Uuid::new_v4();
    let route = route_of(&req);
    let started = Instant::now();
    let mut resp = REQUEST_ID.scope(id, next.run(req)).await;
    st.metrics
        .observe(route, resp.status().as_u16(), started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        resp.headers_mut().insert("x-ms-request-id", v.clone());
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

/// `GET /metrics` on the metrics listener.
pub async fn metrics_get(State(st): State<AppState>) -> Response {
    let mut resp = Response::new(axum::body::Body::from(render(&st)));
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// A label value, escaped as the exposition format asks.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Everything, in Prometheus's text format.
pub fn render(st: &AppState) -> String {
    let mut out = String::new();
    let m = &st.metrics;
    if let Ok(routes) = m.routes.lock() {
        family(
            &mut out,
            "gatehouse_http_requests_total",
            "counter",
            "Requests answered, by route and status.",
        );
        for (route, r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "gatehouse_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    label(route)
                );
            }
        }
        family(
            &mut out,
            "gatehouse_http_request_duration_seconds",
            "histogram",
            "Time to answer, by route.",
        );
        for (route, r) in routes.iter() {
            let route = label(route);
            for (n, le) in r.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 gatehouse_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 gatehouse_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                r.count, r.sum, r.count
            );
        }
    }
    if let Ok(grants) = m.grants.lock() {
        family(
            &mut out,
            "gatehouse_token_grants_total",
            "counter",
            "Token requests, by grant type and outcome (issued, or the OAuth error).",
        );
        for ((grant, outcome), n) in grants.iter() {
            let _ = writeln!(
                out,
                "gatehouse_token_grants_total{{grant=\"{grant}\",outcome=\"{}\"}} {n}",
                label(outcome)
            );
        }
    }
    render_admission(&mut out, st);
    render_store(&mut out, st);
    render_keys(&mut out, st, OffsetDateTime::now_utc());
    out
}

/// A family of one series without labels.
fn single(out: &mut String, (name, kind, help): (&str, &str, &str), value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// One family whose series differ by one label: `name{label="value"} n` for each of `series`.
fn labelled<V: std::fmt::Display>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    label_name: &str,
    series: impl IntoIterator<Item = (&'static str, V)>,
) {
    family(out, name, kind, help);
    for (value, n) in series {
        let _ = writeln!(out, "{name}{{{label_name}=\"{value}\"}} {n}");
    }
}

fn render_admission(out: &mut String, st: &AppState) {
    let loads: Vec<_> = [Class::Token, Class::GraphRead, Class::GraphWrite, Class::SignIn]
        .into_iter()
        .map(|c| (c.name(), st.admission.load(c)))
        .collect();
    let each = |f: fn(&crate::admission::Load) -> u64| loads.iter().map(move |(c, l)| (*c, f(l)));
    labelled(
        out,
        (
            "gatehouse_requests_in_flight",
            "gauge",
            "Requests running, by class.",
        ),
        "class",
        each(|l| l.running as u64),
    );
    labelled(
        out,
        (
            "gatehouse_requests_waiting",
            "gauge",
            "Requests waiting for their turn, by class.",
        ),
        "class",
        each(|l| l.waiting as u64),
    );
    labelled(
        out,
        (
            "gatehouse_requests_capacity",
            "gauge",
            "Requests a class runs at once.",
        ),
        "class",
        each(|l| l.capacity as u64),
    );
    family(
        out,
        "gatehouse_requests_refused_total",
        "counter",
        "Requests refused by admission control: busy (503) or rate_limited (429).",
    );
    for (class, load) in &loads {
        for (reason, n) in [("busy", load.refused_busy), ("rate_limited", load.refused_rate)] {
            let _ = writeln!(
                out,
                "gatehouse_requests_refused_total{{class=\"{class}\",reason=\"{reason}\"}} {n}"
            );
        }
    }
}

fn render_store(out: &mut String, st: &AppState) {
    let pool = st.store.pool_state();
    labelled(
        out,
        (
            "gatehouse_store_connections",
            "gauge",
            "Store connections open, and of them idle.",
        ),
        "state",
        [("open", pool.open as usize), ("idle", pool.idle)],
    );
    single(
        out,
        (
            "gatehouse_store_connections_max",
            "gauge",
            "The most store connections a node opens.",
        ),
        pool.max,
    );
    single(
        out,
        (
            "gatehouse_store_ready",
            "gauge",
            "1 while the store answers and takes writes (readiness).",
        ),
        u8::from(st.readiness.ready()),
    );
    single(
        out,
        (
            "gatehouse_sign_in_log_dropped_total",
            "counter",
            "Sign-in records dropped because the log's writer was behind (alert on any increase).",
        ),
        st.sign_ins.dropped(),
    );
    let d = &st.directory;
    single(
        out,
        (
            "gatehouse_directory_unconfirmed_seconds",
            "gauge",
            "Seconds since the store last confirmed this node's change-feed position (fails closed past 3).",
        ),
        d.unconfirmed_for().as_secs_f64(),
    );
    single(
        out,
        (
            "gatehouse_directory_position",
            "gauge",
            "The change-feed position this node has applied.",
        ),
        d.position(),
    );
    let caches = d.cache_stats();
    labelled(
        out,
        (
            "gatehouse_directory_cache_entries",
            "gauge",
            "Entries held, by cache.",
        ),
        "cache",
        caches.iter().map(|c| (c.name, c.entries as u64)),
    );
    labelled(
        out,
        (
            "gatehouse_directory_cache_hits_total",
            "counter",
            "Lookups answered from memory, by cache.",
        ),
        "cache",
        caches.iter().map(|c| (c.name, c.hits)),
    );
    labelled(
        out,
        (
            "gatehouse_directory_cache_misses_total",
            "counter",
            "Lookups that read the store, by cache.",
        ),
        "cache",
        caches.iter().map(|c| (c.name, c.misses)),
    );
}

fn render_keys(out: &mut String, st: &AppState, now: OffsetDateTime) {
    let ring = st.directory.keys();
    let mut counts: HashMap<&'static str, u32> = HashMap::new();
    let mut active_since = None;
    let mut next_activation = None;
    for (k, state) in ring.states(now) {
        let name = match state {
            KeyState::Pending => "pending",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Retired => "retired",
        };
        *counts.entry(name).or_default() += 1;
        match state {
            KeyState::Active => active_since = Some(k.activates),
            KeyState::Pending => next_activation = Some(k.activates),
            _ => {}
        }
    }
    labelled(
        out,
        (
            "gatehouse_signing_keys",
            "gauge",
            "Signing keys, by rotation state.",
        ),
        "state",
        ["pending", "active", "retiring", "retired"].map(|name| (name, *counts.get(name).unwrap_or(&0))),
    );
    if let Some(t) = active_since {
        single(
            out,
            (
                "gatehouse_signing_key_active_age_seconds",
                "gauge",
                "Seconds the active signing key has signed (no active key: absent).",
            ),
            (now - t).whole_seconds(),
        );
    }
    if let Some(t) = next_activation {
        single(
            out,
            (
                "gatehouse_signing_key_next_activation_seconds",
                "gauge",
                "Seconds until the pending key starts signing (none pending: absent).",
            ),
            (t - now).whole_seconds(),
        );
    }
}
