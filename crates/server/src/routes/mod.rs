//! The HTTP surface: protocol endpoints under `/{tenant}/…`, the Graph API under `/v1.0`, health.

pub mod compat;
pub mod discovery;
pub mod graph;
pub mod health;
pub mod identity;
pub mod oauth_error;
pub mod portal;
pub mod signin;
pub mod token;
pub mod userinfo;

use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::AppState;

pub fn router(state: AppState) -> Router {
    let hsts = state.hsts.as_deref().and_then(|v| HeaderValue::from_str(v).ok());
    let body_timeout = state.body_timeout;
    let metrics_state = state.clone();
    let router = Router::new()
        .route("/health/live", get(health::live_get))
        .route("/health/ready", get(health::ready_get))
        .route("/error", get(health::error_page_get))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::v2_get),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::v1_get),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys_v2_get))
        .route("/{tenant}/discovery/keys", get(discovery::keys_v1_get))
        .route("/common/userrealm/{username}", get(discovery::userrealm_get))
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token::token_v2_post)
                .options(token::token_preflight)
                .fallback(token::token_wrong_method),
        )
        .route(
            "/{tenant}/oauth2/token",
            post(token::token_v1_post)
                .options(token::token_preflight)
                .fallback(token::token_wrong_method),
        )
        .merge(signin::routes())
        .merge(portal::routes())
        .merge(userinfo::routes())
        .merge(compat::routes())
        .nest_service("/v1.0", graph::service(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::admission::admit,
        ))
        .with_state(state)
        .layer(
            // Logs method and path only: query strings and bodies may carry secrets.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let request_id = crate::metrics::request_id();
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), %request_id)
            }),
        )
        .layer(axum::middleware::from_fn(uri_too_long))
        // Outside the log span: gives the request its id (`x-ms-request-id`), and counts it.
        .layer(axum::middleware::from_fn_with_state(
            metrics_state,
            crate::metrics::observe,
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        // A body that pauses longer than `--body-timeout` fails to read; each surface answers 408.
        .layer(tower_http::map_request_body::MapRequestBodyLayer::new(
            axum::body::Body::new,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(body_timeout));
    match hsts {
        // Every response under HTTPS, as RFC 6797 asks (`settings::hsts` says when).
        Some(value) => router.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            HeaderName::from_static("strict-transport-security"),
            value,
        )),
        None => router,
    }
}

/// The longest request URL served (path and query); a longer one is answered 414. (A request line
/// and headers beyond `--max-header-bytes` are refused with 431 before this.)
pub const MAX_URI_BYTES: usize = 32 * 1024;

async fn uri_too_long(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if len > MAX_URI_BYTES {
        return (
            axum::http::StatusCode::URI_TOO_LONG,
            format!("The request URL is longer than {MAX_URI_BYTES} bytes."),
        )
            .into_response();
    }
    next.run(req).await
}

/// Whether reading a request body failed because it paused longer than `--body-timeout` (anywhere
/// in the error's chain of causes).
pub fn body_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
