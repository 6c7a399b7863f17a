//! `GET|POST /{tenant}/oauth2/v2.0/logout` (entra-protocol.md §1.8; OIDC RP-Initiated Logout): ends the
//! browser's session (and the refresh tokens issued in it), then sends the browser to
//! `post_logout_redirect_uri` only if the application named by `client_id` or by a verified
//! `id_token_hint` registered it; otherwise shows the signed-out page.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_proto::AppId;
use time::OffsetDateTime;

use super::pages::{self, page};
use super::{cookie, with_cookie, CookieNames};
use crate::AppState;

pub async fn logout(State(st): State<AppState>, Path(_tenant): Path<String>, req: Request) -> Response {
    let now = OffsetDateTime::now_utc();
    let (parts, body) = req.into_parts();
    let bytes = if parts.method == Method::POST {
        axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default()
    } else {
        axum::body::Bytes::from(parts.uri.query().unwrap_or_default().to_string())
    };
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&bytes).into_owned().collect();

    let names = CookieNames::for_base(&st.base_url);
    if let Some(value) = cookie(&parts.headers, names.session) {
        if let Err(e) = st
            .store
            .end_session(&gatehouse_jose::sha256(value.as_bytes()))
            .await
        {
            tracing::warn!(error = %e, "ending a session at sign-out failed");
        }
    }
    let clear = names.set(names.session, "", "Lax", 0);

    let hinted = params
        .get("id_token_hint")
        .and_then(|t| gatehouse_core::authorize::id_token_hint(&st.directory.keys(), t, now))
        .map(|h| h.client_id);
    let client = params.get("client_id").and_then(|c| AppId::parse(c)).or(hinted);
    let target = match (params.get("post_logout_redirect_uri"), client) {
        (Some(uri), Some(app_id)) => match st.directory.client(app_id).await {
            Ok(Some(entry)) => {
                let a = &entry.app.app;
                let registered = gatehouse_core::authorize::registered(a, uri).is_some()
                    || a.web.logout_url.as_deref() == Some(uri.as_str());
                registered.then(|| uri.clone())
            }
            _ => None,
        },
        _ => None,
    };
    let resp = match target {
        Some(uri) => {
            let mut location = uri;
            if let Some(state) = params.get("state") {
                let sep = if location.contains('?') { '&' } else { '?' };
                let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
                location = format!("{location}{sep}state={encoded}");
            }
            match HeaderValue::from_str(&location) {
                Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
                Err(_) => page(StatusCode::OK, &pages::SignedOut),
            }
        }
        None => page(StatusCode::OK, &pages::SignedOut),
    };
    with_cookie(resp, clear)
}
