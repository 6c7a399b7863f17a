//! `GET|POST /{tenant}/oauth2/v2.0/logout` (entra-protocol.md §1.8; OIDC RP-Initiated Logout and
//! Front-Channel Logout): ends the browser's session (and the refresh tokens issued in it), shows the
//! signed-out page, which loads the logout URL of each application the session signed in to in a hidden
//! frame, then sends the browser to `post_logout_redirect_uri` only if the application named by
//! `client_id` or by a verified `id_token_hint` registered it, or, when neither names one, an
//! application the session signed in to did (core's `signout` rules).

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::signout::{self, LogoutFrame};
use gatehouse_proto::graph::Application;
use gatehouse_proto::AppId;
use time::OffsetDateTime;

use super::pages::{self, page_with_frames};
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
    let mut ended = None;
    if let Some(value) = cookie(&parts.headers, names.session) {
        match st
            .store
            .end_session(&gatehouse_jose::sha256(value.as_bytes()))
            .await
        {
            Ok(s) => ended = s,
            Err(e) => tracing::warn!(error = %e, "ending a session at sign-out failed"),
        }
    }
    let clear = names.set(names.session, "", "Lax", 0);
    // The applications the session signed in to, read once: their frames, and the candidates below.
    let session_apps = match &ended {
        Some(session) => applications(&st, &session.clients).await,
        None => vec![],
    };
    let frames: Vec<LogoutFrame> = match &ended {
        Some(session) => {
            let issuer = gatehouse_proto::discovery::v2_issuer(&st.base_url, &session.tenant_id.to_string());
            session_apps
                .iter()
                .filter_map(|a| signout::front_channel(a, &issuer, session.sid))
                .collect()
        }
        None => vec![],
    };

    let hinted = params
        .get("id_token_hint")
        .and_then(|t| gatehouse_core::authorize::id_token_hint(&st.directory.keys(), t, now))
        .map(|h| h.client_id);
    // The application named, or else (msal-browser names none) those the session signed in to.
    let named = params.get("client_id").and_then(|c| AppId::parse(c)).or(hinted);
    let candidates = match named {
        Some(app_id) => applications(&st, &[app_id]).await,
        None => session_apps,
    };
    let target = params
        .get("post_logout_redirect_uri")
        .filter(|uri| candidates.iter().any(|a| signout::may_return_to(a, uri)))
        .cloned();
    let target = target.map(|mut location| {
        if let Some(state) = params.get("state") {
            let sep = if location.contains('?') { '&' } else { '?' };
            let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
            location = format!("{location}{sep}state={encoded}");
        }
        location
    });
    // Without frames to load, straight on; with them, the page continues once they have loaded.
    let resp = match (target, frames.is_empty()) {
        (Some(location), true) => match HeaderValue::from_str(&location) {
            Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
            Err(_) => signed_out(&frames, None),
        },
        (target, _) => signed_out(&frames, target),
    };
    with_cookie(resp, clear)
}

/// The registrations of `ids` that still exist.
async fn applications(st: &AppState, ids: &[AppId]) -> Vec<Application> {
    let mut out = vec![];
    for id in ids {
        if let Ok(Some(entry)) = st.directory.client(*id).await {
            out.push(entry.app.app.clone());
        }
    }
    out
}

fn signed_out(frames: &[LogoutFrame], next: Option<String>) -> Response {
    let t = pages::SignedOut {
        frames: frames.iter().map(|f| f.url.as_str()).collect(),
        next,
    };
    let origins: Vec<&str> = frames.iter().map(|f| f.origin.as_str()).collect();
    page_with_frames(StatusCode::OK, &t, &origins)
}
