//! `GET /{tenant}/adminconsent` (v1), `GET /{tenant}/v2.0/adminconsent` (v2) and `prompt=admin_consent`
//! (entra-protocol.md §1.10): the request is checked by core, the administrator signs in through the
//! same pages as `/authorize`, and then sees the permissions asked for the whole organisation. Only a
//! directory role that may grant them lets the page appear or the form be accepted (90094 otherwise);
//! accepting writes the client's service principal, an `AllPrincipals` grant per resource and an app
//! role assignment per application permission, then redirects with `admin_consent=True`.

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::admin::{assignments, directory_roles, grants, service_principals};
use gatehouse_core::admin_consent::{self, AdminConsentParams, Requested};
use gatehouse_core::authorize::AuthorizationRequest;
use gatehouse_core::flows::fill;
use gatehouse_core::model::{ApplicationRecord, Assignment, Consent, UserRecord};
use gatehouse_core::store::{Conflict, StoreError};
use gatehouse_core::{CoreError, Snapshot};
use gatehouse_proto::{PrincipalType, Version};
use time::OffsetDateTime;

use super::authorize::{form_page, refuse, send, start, BrowserParams};
use super::pages::{self, error_page};
use crate::AppState;

pub async fn adminconsent_v1(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    adminconsent(st, tenant, req, Version::V1).await
}

pub async fn adminconsent_v2(st: State<AppState>, tenant: Path<String>, req: Request) -> Response {
    adminconsent(st, tenant, req, Version::V2).await
}

async fn adminconsent(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    req: Request,
    endpoint: Version,
) -> Response {
    start(
        &st,
        &tenant,
        req,
        |snap, segment, params: &AdminConsentParams, now| {
            admin_consent::validate(snap, segment, params, endpoint, &st.policies.authorize, now)
        },
    )
    .await
}

impl BrowserParams for AdminConsentParams {
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, CoreError> {
        Self::from_pairs(pairs)
    }

    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

/// Whether the request's sign-in ends in the admin consent page.
pub(super) fn asked(req: &AuthorizationRequest) -> bool {
    req.admin_consent.is_some() || req.prompt == Some(gatehouse_core::authorize::Prompt::AdminConsent)
}

/// The admin consent page, for a signed-in user who may grant what is asked (90094 otherwise).
pub(super) async fn ask(
    st: &AppState,
    headers: &HeaderMap,
    req: &AuthorizationRequest,
    user: &UserRecord,
) -> Response {
    let snap = match snapshot(st, req).await {
        Ok((s, _)) => s,
        Err(e) => return error_page(&e),
    };
    let requested = match grantable(st, &snap, req, user).await {
        Ok(r) => r,
        Err(e @ CoreError::AdminConsentRequired { .. }) => return error_page(&e),
        Err(e) => return refuse(st, req, &e),
    };
    let ctx = match st.sealer.seal(req) {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let Some(client) = snap.application(req.client_id) else {
        return error_page(&CoreError::Internal);
    };
    let organization = snap
        .tenant(req.tenant_id)
        .map(|t| t.display_name.clone())
        .unwrap_or_default();
    let publisher = snap
        .tenant(client.tenant_id)
        .and_then(|t| t.domains.first().cloned())
        .unwrap_or_default();
    let (action, client_id) = (format!("/{}/consent", req.tenant_id), req.client_id.to_string());
    form_page(st, headers, |canary| pages::Consent {
        action: &action,
        ctx: &ctx,
        canary,
        username: &user.user.user_principal_name,
        app_name: &client.app.display_name,
        client_id: &client_id,
        publisher: &publisher,
        organization: Some(&organization),
        scopes: lines(&requested),
    })
}

/// Records what the administrator accepted, after checking again that they may grant it (the form's
/// sealed request is the one every page carries, so it proves nothing about the page).
pub(super) async fn record(
    st: &AppState,
    req: &AuthorizationRequest,
    user: &UserRecord,
    now: OffsetDateTime,
) -> Result<(), CoreError> {
    let store = st.store.as_ref();
    let unavailable = |_| CoreError::Unavailable;
    let (snap, pending) = snapshot(st, req).await?;
    grantable(st, &snap, req, user).await?;
    // The client, and the APIs that come with it (`knownClientApplications`), join the tenant first;
    // then what is granted is read again with their ids.
    let client = snap.application(req.client_id).ok_or(CoreError::Internal)?;
    for app in pending.iter().chain(std::iter::once(client)) {
        service_principals::provision(store, app, req.tenant_id)
            .await
            .map_err(unavailable)?;
    }
    st.refresh().await;
    let (snap, _) = snapshot(st, req).await?;
    let requested = grantable(st, &snap, req, user).await?;
    let client_sp = snap
        .service_principal(req.tenant_id, req.client_id)
        .map(|sp| sp.sp.id)
        .ok_or(CoreError::Unavailable)?;
    let held = store
        .roles_held(client_sp)
        .await
        .map_err(CoreError::unavailable)?;
    for r in &requested {
        if !r.scopes.is_empty() {
            let values: Vec<String> = r.scopes.iter().map(|s| s.value.clone()).collect();
            grants::record_consent(
                store,
                req.tenant_id,
                client_sp,
                r.resource.sp.id,
                Consent::AllPrincipals,
                &values,
            )
            .await
            .map_err(unavailable)?;
        }
        for role in &r.roles {
            if held.contains(&(r.resource.sp.id, role.id)) {
                continue;
            }
            let a = Assignment {
                id: assignments::assignment_id(client_sp).map_err(unavailable)?,
                tenant_id: req.tenant_id,
                principal_id: client_sp,
                principal_type: PrincipalType::ServicePrincipal,
                resource_id: r.resource.sp.id,
                app_role_id: role.id,
                created: now,
            };
            match store.insert_assignment(&a).await {
                Ok(()) | Err(StoreError::Conflict(Conflict::Assignment)) => {}
                Err(_) => return Err(CoreError::Unavailable),
            }
        }
    }
    st.refresh().await;
    Ok(())
}

/// After the administrator accepted at `/adminconsent`: back to the client with `admin_consent=True`.
pub(super) fn granted(st: &AppState, req: &AuthorizationRequest) -> Response {
    send(st, admin_consent::granted(req))
}

/// What the request asks, if the user's directory roles let them grant it.
async fn grantable<'a>(
    st: &AppState,
    snap: &'a Snapshot,
    req: &AuthorizationRequest,
    user: &UserRecord,
) -> Result<Vec<Requested<'a>>, CoreError> {
    let tenant = snap.tenant(req.tenant_id).ok_or(CoreError::Internal)?;
    let client = snap.application(req.client_id).ok_or(CoreError::Internal)?;
    let requested = admin_consent::requested(snap, &st.base_url, tenant, client, &req.scope)?;
    let roles = directory_roles::roles_of(st.store.as_ref(), req.tenant_id, user.user.id)
        .await
        .map_err(CoreError::unavailable)?;
    match admin_consent::may_grant(&roles, &requested) {
        true => Ok(requested),
        false => Err(CoreError::AdminConsentRequired {
            client_id: req.client_id.to_string(),
        }),
    }
}

/// A snapshot holding the client and every resource the request may name: the one in its scope, and
/// those of the client's `requiredResourceAccess`; with the APIs consent would add with the client
/// (returned, to provision).
async fn snapshot(
    st: &AppState,
    req: &AuthorizationRequest,
) -> Result<(Snapshot, Vec<ApplicationRecord>), CoreError> {
    let mut snap = st.directory.snapshot()?;
    let client_id = req.client_id.to_string();
    let dir = &st.directory;
    let fail = |_| CoreError::Unavailable;
    let scoped = gatehouse_core::flows::delegated::UserScopes::parse(&req.scope)
        .ok()
        .map(|s| s.lookup_name(&st.base_url));
    fill(dir, &mut snap, req.tenant_id, &client_id, scoped.as_deref())
        .await
        .map_err(fail)?;
    let required = snap
        .application(req.client_id)
        .map(admin_consent::required_resources)
        .unwrap_or_default();
    for resource in required {
        fill(dir, &mut snap, req.tenant_id, &client_id, Some(&resource))
            .await
            .map_err(fail)?;
    }
    let pending = super::bundled_apis(st, &mut snap, req.tenant_id, req.client_id).await?;
    Ok((snap, pending))
}

/// The page's list: each permission with its resource, and whether it is delegated or the app's own.
fn lines(requested: &[Requested]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in requested {
        let api = &r.resource.sp.display_name;
        for s in &r.scopes {
            let what = s
                .admin_consent_description
                .clone()
                .or_else(|| s.admin_consent_display_name.clone())
                .unwrap_or_default();
            out.push((format!("{} ({api}, delegated)", s.value), what));
        }
        for role in &r.roles {
            let what = role
                .description
                .clone()
                .or_else(|| role.display_name.clone())
                .unwrap_or_default();
            let value = role.value.as_deref().unwrap_or_default();
            out.push((format!("{value} ({api}, application)"), what));
        }
    }
    if out.is_empty() {
        out.push((
            "Sign users in".into(),
            "Lets users of your organization sign in to the app.".into(),
        ));
    }
    out
}
