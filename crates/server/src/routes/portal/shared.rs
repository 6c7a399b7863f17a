//! What the portal's pages share: reading a posted form and its CSRF token, the page for a refusal,
//! and the application operations most pages start or end with, as the signed-in user.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::response::Response;
use gatehouse_core::admin::applications::{self, AppKey};
use gatehouse_core::admin::{AdminError, Caller};
use gatehouse_core::store::NamePage;
use gatehouse_proto::graph::{Application, ApplicationInput, ServicePrincipalInput};
use gatehouse_proto::ObjectId;
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{refusal, Portal};
use crate::routes::signin::csrf_ok;
use crate::AppState;

/// A posted form that carried this browser's CSRF token: its fields (a name may repeat, as checkboxes
/// do). A post without the token is refused before the handler runs (403, the sign-in pages'
/// `forbidden`), so nothing changes. It reads the body: a handler takes it last.
pub struct Posted(Vec<(String, String)>);

impl Posted {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The field trimmed, if it is not empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.field(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Every value of a repeated field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, st)
            .await
            .map_err(|e| e.into_response())?;
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
        let posted = Posted(fields);
        match csrf_ok(st, &headers, posted.field("canary")) {
            true => Ok(posted),
            false => Err(crate::routes::signin::forbidden()),
        }
    }
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
fn page_position(raw: &str) -> Option<(String, ObjectId)> {
    let (name, id) = raw.rsplit_once('\u{1f}')?;
    Some((name.to_string(), ObjectId::parse(id)?))
}

/// A list's query string: what was typed in its search box, and where the previous page ended.
#[derive(Deserialize)]
pub struct ListQuery {
    search: Option<String>,
    /// The last row of the previous page ([`next_position`]), for keyset paging.
    after: Option<String>,
}

impl ListQuery {
    /// The search, trimmed (empty for none).
    pub fn search(&self) -> String {
        self.search.as_deref().unwrap_or_default().trim().to_string()
    }

    /// The store page this query asks for: `limit` rows after the previous page, by name prefix.
    pub fn page(&self, limit: usize) -> NamePage {
        NamePage {
            prefix: Some(self.search()).filter(|s| !s.is_empty()),
            after: self.after.as_deref().and_then(page_position),
            limit,
            owner: None,
        }
    }
}

/// Rows on one page of a portal list.
pub const PAGE: usize = 50;

/// A page read with one row more than it shows: the rows to show, and the "next page" position when
/// there are more (`position` of the last row shown).
pub fn paged<T>(mut rows: Vec<T>, position: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    let more = rows.len() > PAGE;
    rows.truncate(PAGE);
    let next = more.then(|| rows.last().map(&position)).flatten();
    (rows, next)
}

/// A form page's status: 400 when it is shown again with Graph's refusal.
pub fn status_for(error: &Option<String>) -> StatusCode {
    match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    }
}
