//! The Microsoft-Graph-compatible management API under `/v1.0` (entra-protocol.md §5). Only Gatehouse
//! access tokens for Microsoft Graph are accepted, validated by `gatehouse-validate`; the caller's
//! tenant is the token's `tid` and its permissions are the token's `roles`.
//!
//! One module per resource registers its routes; each handler extracts (caller, key, query, body),
//! calls one core operation and returns an envelope or a [`GraphFailure`]. What every request shares
//! runs once, around them all, in this order:
//! 1. entity set names are matched in any case (Graph's are case-insensitive: az writes
//!    `oAuth2PermissionGrants`), and alternate keys `set(appId='…')` are rewritten to a segment of
//!    their own, before routing;
//! 2. errors are rendered in Graph's envelope, with the request's `client-request-id`;
//! 3. the bearer token is validated and the caller put in the request;
//! 4. every write is audited (`audit.rs`): its record is stored with the change, or on its own when
//!    nothing was changed;
//! 5. after a successful write, this node re-reads the directory, so its next request sees the write.

mod applications;
mod assignments;
mod audit;
pub use audit::audit_write;
mod envelope;
pub(crate) mod errors;
mod extract;
mod federated;
mod filter;
mod grants;
pub mod keys;
pub(crate) mod logs;
mod organization;
mod query;
mod roles;
mod service_principals;
mod users;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use gatehouse_core::admin::{AdminError, Caller};
use gatehouse_validate::extract::bearer_token;
use gatehouse_validate::ValidationError;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::AppState;

pub use errors::{render as render_errors, GraphFailure};

/// Parses a collection's query string as `/v1.0/applications` would, and applies it to `items`, then
/// as the audit logs would (the fuzz target's entry; nothing else calls it).
#[doc(hidden)]
pub fn fuzz_query(raw: &str, items: Vec<gatehouse_proto::graph::Application>) {
    use gatehouse_proto::graph::Resource;
    let properties = gatehouse_proto::graph::Application::PROPERTIES;
    if let Ok(q) = query::Query::parse("/v1.0/applications", Some(raw), true, properties) {
        let _ = q.page(items);
    }
    logs::fuzz(raw);
}

/// The largest request body `/v1.0` reads (axum's default limit, which `GraphJson` applies).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The `/v1.0` service, to nest under that prefix.
pub fn service(state: AppState) -> axum::routing::Router {
    let api = Router::new()
        .merge(applications::routes())
        .merge(federated::routes())
        .merge(service_principals::routes())
        .merge(assignments::routes())
        .merge(grants::routes())
        .merge(users::routes())
        .merge(organization::routes())
        .merge(roles::routes())
        .merge(logs::routes())
        .fallback(unknown_segment)
        .method_not_allowed_fallback(|| async { GraphFailure::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), refresh_after_write))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit::record_writes,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(errors::render))
        .with_state(state);
    Router::new().fallback_service(tower::service_fn(move |mut req: Request| {
        let api = api.clone();
        async move {
            let canonical = extract::canonical_set(req.uri().path());
            let keyed = extract::rewrite_alternate_keys(canonical.as_deref().unwrap_or(req.uri().path()));
            if let Some(path) = keyed.or(canonical) {
                let rewritten = match req.uri().query() {
                    Some(q) => format!("{path}?{q}"),
                    None => path,
                };
                if let Ok(uri) = rewritten.parse() {
                    *req.uri_mut() = uri;
                }
            }
            api.oneshot(req).await
        }
    }))
}

async fn unknown_segment(req: Request) -> GraphFailure {
    let first = req.uri().path().trim_matches('/').split('/').next().unwrap_or("");
    GraphFailure::NoSuchSegment(first.chars().take(100).collect())
}

/// Validates the bearer token (a Gatehouse token for Microsoft Graph) and puts the [`Caller`] in the
/// request; every `/v1.0` request passes here first, known path or not.
async fn authenticate(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, GraphFailure> {
    let caller = caller(&st, req.headers()).await?;
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

/// The caller a bearer token for Microsoft Graph names, refused as Graph refuses it.
pub async fn caller(st: &AppState, headers: &HeaderMap) -> Result<Caller, GraphFailure> {
    let token = bearer_token(headers).map_err(GraphFailure::Auth)?;
    token_caller(st, token).await
}

/// The caller a Graph access token names (the portal's too): its tenant, its application permissions
/// or its user's delegated ones, and that user's directory roles, read now.
pub async fn token_caller(st: &AppState, token: &str) -> Result<Caller, GraphFailure> {
    let claims = st
        .graph_validator
        .validate(token, OffsetDateTime::now_utc())
        .await
        .map_err(GraphFailure::Auth)?;
    let tenant_id = claims
        .tid
        .as_deref()
        .and_then(gatehouse_proto::TenantId::parse)
        .ok_or(GraphFailure::Auth(ValidationError::Issuer))?;
    st.directory.fresh().map_err(|_| AdminError::Unavailable)?;
    if st.directory.tenants().get(tenant_id).is_none() {
        return Err(GraphFailure::Auth(ValidationError::Issuer));
    }
    // A user's token names its user (`idtyp` user, with `scp`); an app's names its service principal.
    let delegated = claims.scp.is_some();
    let user = claims
        .oid
        .as_deref()
        .and_then(gatehouse_proto::ObjectId::parse)
        .filter(|_| delegated);
    let directory_roles = match user {
        Some(u) => gatehouse_core::admin::directory_roles::roles_of(st.store.as_ref(), tenant_id, u).await?,
        None => vec![],
    };
    Ok(Caller {
        tenant_id,
        user,
        directory_roles,
        scopes: claims
            .scp
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        roles: claims.roles,
        client: claims
            .azp
            .as_deref()
            .or(claims.appid.as_deref())
            .and_then(gatehouse_proto::AppId::parse),
    })
}

/// The one after-write step: a successful write is read back into this node's directory at once
/// (other nodes see it through their watchers).
async fn refresh_after_write(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let resp = next.run(req).await;
    if write && resp.status().is_success() {
        st.refresh().await;
    }
    resp
}
