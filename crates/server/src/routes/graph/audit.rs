//! Every `/v1.0` write leaves one `directoryAudit`. This layer names the write before it runs (who,
//! which activity, which properties, the correlation id) and runs it inside the store's audit scope,
//! where the write's own transaction stores the record with the change. A write that committed
//! nothing (refused, or failed) is recorded here, as a failure with Graph's error code.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_core::admin::Caller;
use gatehouse_core::audit::{Activity, AuditDraft, AuditEntry, Outcome, Touched};
use gatehouse_proto::logs::{AppIdentity, AuditActivityInitiator, UserIdentity};
use time::OffsetDateTime;

use super::errors::GraphFailure;
use crate::AppState;

/// Runs a write inside the audit scope, and records it when no transaction did.
pub async fn record_writes(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if !st.audit || matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return next.run(req).await;
    };
    // The body was read into memory before admission; its property names are part of the record.
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_BODY).await else {
        return GraphFailure::TooLarge.into_response();
    };
    let draft = draft(
        &st,
        &caller,
        &parts.method,
        parts.uri.path(),
        &parts.headers,
        &bytes,
    )
    .await;
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let (resp, recorded) = gatehouse_store::logs::audited(draft.clone(), next.run(req)).await;
    if !recorded {
        record_alone(&st, &draft, super::errors::failure_of(&resp)).await;
    }
    resp
}

/// Runs a write made elsewhere than `/v1.0` (the portal's) inside the audit scope, named as the Graph
/// request it stands for (`method`, `path`, the properties it sets), so that it leaves the same
/// record; a refusal is recorded as a failure with Graph's code.
pub async fn audit_write<T>(
    st: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    (method, path, properties): (Method, &str, &[&str]),
    write: impl std::future::Future<Output = Result<T, gatehouse_core::admin::AdminError>>,
) -> Result<T, gatehouse_core::admin::AdminError> {
    if !st.audit {
        return write.await;
    }
    let mut draft = draft(st, caller, &method, path, headers, b"").await;
    draft.modified_properties = properties.iter().map(|p| p.to_string()).collect();
    let (result, recorded) = gatehouse_store::logs::audited(draft.clone(), write).await;
    if !recorded {
        let failure = result
            .as_ref()
            .err()
            .map(|e| GraphFailure::from(e.clone()).status_code());
        record_alone(st, &draft, failure).await;
    }
    result
}

/// Stores the record of a write whose transaction stored none: it was refused (`failure`, Graph's
/// status and code) or changed nothing.
async fn record_alone(st: &AppState, draft: &AuditDraft, failure: Option<(axum::http::StatusCode, &str)>) {
    let outcome = match failure {
        Some((status, code)) => Outcome::Failure(format!("{code} ({})", status.as_u16())),
        None => Outcome::Success,
    };
    let entry = AuditEntry {
        tenant_id: draft.tenant_id,
        record: draft.finish(&[], &outcome, OffsetDateTime::now_utc()),
    };
    if let Err(e) = st.store.record_audit(&entry).await {
        tracing::warn!(error = %e, activity = draft.activity.name, "could not record an audit entry");
    }
}

/// What is known of a write before it runs.
async fn draft(
    st: &AppState,
    caller: &Caller,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> AuditDraft {
    let activity = Activity::of(method.as_str(), path);
    let modified_properties = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => {
            m.keys().take(64).map(|k| k.chars().take(100).collect()).collect()
        }
        _ => Vec::new(),
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    AuditDraft {
        tenant_id: caller.tenant_id,
        activity,
        correlation_id: crate::routes::oauth_error::correlation_id(headers),
        initiated_by: initiator(st, caller).await,
        modified_properties,
        target: Activity::target_in(path).map(|id| Touched {
            kind: activity.target_kind,
            id,
            display_name: None,
        }),
        user_agent: header("user-agent").map(str::to_string),
    }
}

/// The user of a delegated token, or the application of an application token, by id and name.
async fn initiator(st: &AppState, caller: &Caller) -> AuditActivityInitiator {
    if let Some(id) = caller.user {
        let user = st.store.get_user(caller.tenant_id, id).await.ok().flatten();
        return AuditActivityInitiator {
            app: None,
            user: Some(UserIdentity {
                id: Some(id.to_string()),
                display_name: user.as_ref().map(|u| u.user.display_name.clone()),
                ip_address: None,
                user_principal_name: user.map(|u| u.user.user_principal_name),
            }),
        };
    }
    let Some(app_id) = caller.client else {
        return AuditActivityInitiator::default();
    };
    let sp = st
        .directory
        .service_principal(caller.tenant_id, app_id)
        .await
        .ok()
        .flatten();
    AuditActivityInitiator {
        app: Some(AppIdentity {
            app_id: Some(app_id.to_string()),
            display_name: sp.as_ref().map(|s| s.sp.display_name.clone()),
            service_principal_id: sp.as_ref().map(|s| s.sp.id.to_string()),
            service_principal_name: None,
        }),
        user: None,
    }
}
