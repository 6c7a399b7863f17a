//! What the portal's pages share: reading a posted form and its CSRF token, the page for a refusal,
//! and the application operations most pages start or end with, as the signed-in user.

use askama::Template;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use gatehouse_core::admin::applications::{self, AppKey};
use gatehouse_core::admin::{AdminError, Caller};
use gatehouse_proto::graph::{Application, ApplicationInput, ServicePrincipalInput};
use gatehouse_proto::ObjectId;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{refusal, Portal};
use crate::routes::signin::csrf_ok;
use crate::AppState;

/// The fields of a posted form (a name may repeat, as checkboxes do).
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The posted form, if it carries this browser's CSRF token. Without it the handler answers
/// `signin::forbidden()` and changes nothing.
pub fn checked(st: &AppState, headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let f = fields(body);
    csrf_ok(st, headers, field(&f, "canary")).then_some(f)
}

/// A page for a Graph failure, inside the portal's layout.
pub fn failed(p: &Portal, e: &AdminError) -> Response {
    let (status, message) = refusal(e);
    let message = match e {
        AdminError::Denied => "You don't have access to this. Ask an administrator of your organization for a role that allows it (Application Administrator, Cloud Application Administrator or Global Administrator).".to_string(),
        _ => message,
    };
    p.render_status(
        status,
        &Failure {
            c: p.chrome("apps"),
            message,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/failure.html")]
struct Failure<'a> {
    c: Chrome<'a>,
    message: String,
}

/// `POST /servicePrincipals` for an application of this tenant.
pub fn principal_of(app: &Application) -> ServicePrincipalInput {
    ServicePrincipalInput {
        odata_type: None,
        app_id: app.app_id.to_string(),
        account_enabled: None,
        app_role_assignment_required: None,
        tags: None,
    }
}

pub fn key(id: &str) -> Result<AppKey, AdminError> {
    ObjectId::parse(id).map(AppKey::Id).ok_or_else(|| {
        AdminError::NotFound(format!(
            "Resource '{}' does not exist.",
            id.chars().take(64).collect::<String>()
        ))
    })
}

/// `PATCH /applications/{id}` as the user: Graph's validation and retry on a concurrent change,
/// audited as "Update application" with the properties `input` sets.
pub async fn patch(
    st: &AppState,
    p: &Portal,
    id: ObjectId,
    input: ApplicationInput,
    set: &[&str],
) -> Result<(), AdminError> {
    let path = format!("/applications/{id}");
    let now = OffsetDateTime::now_utc();
    let update = applications::update(st.store.as_ref(), &p.caller, AppKey::Id(id), input, now);
    p.write(st, (Method::PATCH, &path, set), update).await
}

pub async fn read(st: &AppState, caller: &Caller, id: &str) -> Result<Application, AdminError> {
    applications::get(st.store.as_ref(), caller, key(id)?).await
}

/// A list's "next page" position: the last row's name key and id, as the link carries it.
pub fn next_position(display_name: &str, id: ObjectId) -> String {
    format!("{}\u{1f}{id}", gatehouse_core::store::name_key(display_name))
}

/// The position a "next page" link carries, if it is one.
pub fn page_position(raw: &str) -> Option<(String, ObjectId)> {
    let (name, id) = raw.rsplit_once('\u{1f}')?;
    Some((name.to_string(), ObjectId::parse(id)?))
}
