//! One handler for `/v1.0/{*path}`: authenticate, parse the target, call the core operation, wrap the
//! result in Graph's OData envelope.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::admin::applications;
use gatehouse_core::admin::{assignments, federated, organization, service_principals, Caller};
use gatehouse_validate::extract::bearer_token;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::errors::GraphFailure;
use super::path::{self, Target};
use crate::AppState;

pub async fn dispatch(
    State(st): State<AppState>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&st, &method, &path, query.as_deref(), &headers, &body).await {
        Ok(r) => r,
        Err(f) => f.into_response(&headers),
    }
}

async fn handle(
    st: &AppState,
    method: &Method,
    raw_path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphFailure> {
    let caller = authenticate(st, headers).await?;
    let target = path::parse(raw_path).ok_or_else(|| {
        GraphFailure::NoSuchSegment(
            raw_path
                .split('/')
                .next()
                .unwrap_or("")
                .chars()
                .take(100)
                .collect(),
        )
    })?;
    let store = st.store.as_ref();
    let now = OffsetDateTime::now_utc();
    let filter = Filter::parse(query)?;
    use Target as T;
    let resp = match (method.clone(), target) {
        (Method::GET, T::Applications) => {
            let apps = applications::list(store, &caller).await?;
            collection(
                st,
                "applications",
                apps.into_iter()
                    .filter(|a| filter.matches(&a.app_id, &a.display_name)),
            )
        }
        (Method::POST, T::Applications) => {
            let publisher = st.directory.current().ok().and_then(|s| {
                s.tenant(caller.tenant_id)
                    .and_then(|t| t.domains.first().cloned())
            });
            let app = applications::create(store, &caller, read_json(body)?, publisher, now).await?;
            st.refresh().await;
            created(entity(st, "applications", &app))
        }
        (Method::GET, T::Application(k)) => ok(entity(
            st,
            "applications",
            &applications::get(store, &caller, k).await?,
        )),
        (Method::PATCH, T::Application(k)) => {
            applications::update(store, &caller, k, read_json(body)?, now).await?;
            st.refresh().await;
            no_content()
        }
        (Method::DELETE, T::Application(k)) => {
            applications::delete(store, &caller, k).await?;
            st.refresh().await;
            no_content()
        }
        (Method::POST, T::AddPassword(k)) => {
            let input = if body.is_empty() {
                Default::default()
            } else {
                read_json(body)?
            };
            let cred = applications::add_password(store, &caller, k, input, now).await?;
            st.refresh().await;
            ok(with_context(st, "microsoft.graph.passwordCredential", &cred))
        }
        (Method::POST, T::RemovePassword(k)) => {
            let input: gatehouse_proto::graph::RemovePasswordInput = read_json(body)?;
            applications::remove_password(store, &caller, k, input.key_id).await?;
            st.refresh().await;
            no_content()
        }
        (Method::GET, T::FederatedCredentials(k)) => {
            let list = federated::list(store, &caller, k).await?;
            collection(st, "applications/federatedIdentityCredentials", list.into_iter())
        }
        (Method::POST, T::FederatedCredentials(k)) => {
            let fic = federated::create(store, &caller, k, read_json(body)?).await?;
            st.refresh().await;
            created(entity(st, "applications/federatedIdentityCredentials", &fic))
        }
        (Method::GET, T::FederatedCredential(k, f)) => ok(entity(
            st,
            "applications/federatedIdentityCredentials",
            &federated::get(store, &caller, k, &f).await?,
        )),
        (Method::PATCH, T::FederatedCredential(k, f)) => {
            federated::update(store, &caller, k, &f, read_json(body)?).await?;
            st.refresh().await;
            no_content()
        }
        (Method::DELETE, T::FederatedCredential(k, f)) => {
            federated::delete(store, &caller, k, &f).await?;
            st.refresh().await;
            no_content()
        }
        (Method::GET, T::ServicePrincipals) => {
            let sps = service_principals::list(store, &caller, None).await?;
            collection(
                st,
                "servicePrincipals",
                sps.into_iter()
                    .filter(|s| filter.matches(&s.app_id, &s.display_name)),
            )
        }
        (Method::POST, T::ServicePrincipals) => {
            let sp = service_principals::create(store, &caller, read_json(body)?).await?;
            st.refresh().await;
            created(entity(st, "servicePrincipals", &sp))
        }
        (Method::GET, T::ServicePrincipal(k)) => ok(entity(
            st,
            "servicePrincipals",
            &service_principals::get(store, &caller, k).await?,
        )),
        (Method::DELETE, T::ServicePrincipal(k)) => {
            service_principals::delete(store, &caller, k).await?;
            st.refresh().await;
            no_content()
        }
        (Method::GET, T::Assignments(sp, side)) => {
            let list = assignments::list(store, &caller, side, sp).await?;
            collection(st, &assignment_set(sp, side), list.into_iter())
        }
        (Method::POST, T::Assignments(sp, side)) => {
            let a = assignments::create(store, &caller, side, sp, read_json(body)?, now).await?;
            st.refresh().await;
            created(entity(st, &assignment_set(sp, side), &a))
        }
        (Method::DELETE, T::Assignment(sp, side, id)) => {
            assignments::delete(store, &caller, side, sp, &id).await?;
            st.refresh().await;
            no_content()
        }
        (Method::GET, T::Organization) => {
            let snap = st
                .directory
                .current()
                .map_err(|_| gatehouse_core::admin::AdminError::Unavailable)?;
            let org = organization::get(&snap, &caller)?;
            collection(st, "organization", std::iter::once(org))
        }
        _ => return Err(GraphFailure::MethodNotAllowed),
    };
    Ok(resp)
}

/// Validates the bearer token (a Gatehouse token for Microsoft Graph) and names the caller.
async fn authenticate(st: &AppState, headers: &HeaderMap) -> Result<Caller, GraphFailure> {
    let token = bearer_token(headers).map_err(GraphFailure::Auth)?;
    let claims = st
        .graph_validator
        .validate(token, OffsetDateTime::now_utc())
        .await
        .map_err(GraphFailure::Auth)?;
    let tenant_id = claims
        .tid
        .as_deref()
        .and_then(|t| Uuid::parse_str(t).ok())
        .ok_or(GraphFailure::Auth(gatehouse_validate::ValidationError::Issuer))?;
    let snap = st
        .directory
        .current()
        .map_err(|_| gatehouse_core::admin::AdminError::Unavailable)?;
    if snap.tenant(tenant_id).is_none() {
        return Err(GraphFailure::Auth(gatehouse_validate::ValidationError::Issuer));
    }
    Ok(Caller {
        tenant_id,
        roles: claims.roles,
    })
}

/// The one `$filter` form Gatehouse answers: `appId eq '…'` or `displayName eq '…'`.
#[derive(Debug, Default)]
struct Filter {
    app_id: Option<Uuid>,
    display_name: Option<String>,
}

impl Filter {
    fn parse(query: Option<&str>) -> Result<Self, GraphFailure> {
        let Some(q) = query else {
            return Ok(Self::default());
        };
        let Some((_, f)) = url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "$filter") else {
            return Ok(Self::default());
        };
        let unsupported = || {
            GraphFailure::BadInput(format!(
                "Unsupported filter: {f}. Use appId eq '…' or displayName eq '…'."
            ))
        };
        let (prop, value) = f.split_once(" eq ").ok_or_else(unsupported)?;
        let value = value
            .trim()
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .ok_or_else(unsupported)?;
        match prop.trim() {
            "appId" => Ok(Self {
                app_id: Some(Uuid::parse_str(value).map_err(|_| unsupported())?),
                display_name: None,
            }),
            "displayName" => Ok(Self {
                app_id: None,
                display_name: Some(value.replace("''", "'")),
            }),
            _ => Err(unsupported()),
        }
    }

    fn matches(&self, app_id: &Uuid, display_name: &str) -> bool {
        self.app_id.is_none_or(|a| &a == app_id)
            && self.display_name.as_deref().is_none_or(|d| d == display_name)
    }
}

fn assignment_set(sp: Uuid, side: gatehouse_core::admin::assignments::Side) -> String {
    let nav = match side {
        gatehouse_core::admin::assignments::Side::Resource => "appRoleAssignedTo",
        gatehouse_core::admin::assignments::Side::Principal => "appRoleAssignments",
    };
    format!("servicePrincipals('{sp}')/{nav}")
}

fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, GraphFailure> {
    serde_json::from_slice(body).map_err(|e| GraphFailure::BadInput(format!("Invalid request body: {e}")))
}

fn with_context<T: Serialize>(st: &AppState, context: &str, v: &T) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#{context}", st.base_url)),
    );
    if let Ok(Value::Object(m)) = serde_json::to_value(v) {
        out.extend(m);
    }
    Value::Object(out)
}

fn entity<T: Serialize>(st: &AppState, set: &str, v: &T) -> Value {
    with_context(st, &format!("{set}/$entity"), v)
}

fn collection<T: Serialize>(st: &AppState, set: &str, items: impl Iterator<Item = T>) -> Response {
    let value: Vec<Value> = items.filter_map(|i| serde_json::to_value(i).ok()).collect();
    ok(json!({"@odata.context": format!("{}/v1.0/$metadata#{set}", st.base_url), "value": value}))
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, Json(v)).into_response()
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
