//! What every Graph handler extracts, each parsed once with Graph's error on failure: the caller (set by
//! the authentication layer), an entity key (`{id}` or the alternate key `(appId='…')`), and a JSON
//! body. The OData query options have a module of their own, `query`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use gatehouse_core::admin::applications::AppKey;
use gatehouse_core::admin::Caller;
use gatehouse_proto::{AppId, ObjectId};
use serde::de::DeserializeOwned;

use super::errors::GraphFailure;

/// The prefix the key-syntax rewrite gives an alternate key: `applications(appId='X')` is routed as
/// `applications/appId=X`.
const APP_ID_KEY: &str = "appId=";

/// The entity sets Gatehouse serves, in Graph's spelling.
const SETS: &[&str] = &[
    "applications",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "organization",
    "policies",
    "roleManagement",
    "users",
];

/// The path with its entity set spelled as Graph spells it, when the request spelled it in another
/// case (`/oAuth2PermissionGrants/…`); `None` when nothing changes. Runs before routing.
pub fn canonical_set(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let (first, tail) = rest.split_at(rest.find(['/', '(']).unwrap_or(rest.len()));
    let set = SETS
        .iter()
        .find(|s| s.eq_ignore_ascii_case(first) && **s != first)?;
    Some(format!("/{set}{tail}"))
}

/// Rewrites Graph's alternate-key segments (`set(appId='…')`) into a segment of their own, so the
/// router can match them like ids. Runs before routing.
pub fn rewrite_alternate_keys(path: &str) -> Option<String> {
    if !path.contains('(') {
        return None;
    }
    let segments: Vec<String> = path
        .split('/')
        .map(|seg| match seg.split_once('(') {
            Some((set, rest)) => match rest.strip_suffix(')').and_then(|k| k.strip_prefix(APP_ID_KEY)) {
                Some(value) => format!("{set}/{APP_ID_KEY}{}", value.trim_matches('\'')),
                None => seg.to_string(),
            },
            None => seg.to_string(),
        })
        .collect();
    Some(segments.join("/"))
}

/// The value of the path parameter `name` (empty if the route has none).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The request's path parameters, refused as an unknown segment if they cannot be read.
pub async fn path_params(parts: &mut Parts) -> Result<Vec<(String, String)>, GraphFailure> {
    Path::<Vec<(String, String)>>::from_request_parts(parts, &())
        .await
        .map(|Path(p)| p)
        .map_err(|_| GraphFailure::NoSuchSegment(String::new()))
}

/// The authenticated caller, put in the request by the authentication layer.
pub struct GraphCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for GraphCaller {
    type Rejection = GraphFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Self)
            .ok_or(GraphFailure::Auth(gatehouse_validate::ValidationError::Missing))
    }
}

/// The `{key}` path parameter: an object id, or an appId given as `(appId='…')`.
pub struct EntityKey(pub AppKey);

impl EntityKey {
    fn parse(raw: &str) -> Result<AppKey, GraphFailure> {
        let bad = || {
            GraphFailure::BadInput(format!(
                "Invalid object identifier '{}'.",
                raw.chars().take(100).collect::<String>()
            ))
        };
        match raw.strip_prefix(APP_ID_KEY) {
            Some(app_id) => AppId::parse(app_id).map(AppKey::AppId).ok_or_else(bad),
            None => ObjectId::parse(raw).map(AppKey::Id).ok_or_else(bad),
        }
    }

    /// The object id, for navigation properties that Graph addresses by id only.
    pub fn object_id(&self) -> Result<ObjectId, GraphFailure> {
        match self.0 {
            AppKey::Id(id) => Ok(id),
            AppKey::AppId(a) => Err(GraphFailure::NoSuchSegment(format!("(appId='{a}')"))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for EntityKey {
    type Rejection = GraphFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::parse(param(&path_params(parts).await?, "key")).map(Self)
    }
}

/// A JSON request body, refused in Graph's shape when it does not parse. An empty body reads as `{}`,
/// for actions whose body is optional (`addPassword`).
pub struct GraphJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for GraphJson<T> {
    type Rejection = GraphFailure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                GraphFailure::TooLarge
            } else if crate::routes::body_timed_out(&r) {
                GraphFailure::BodyTimeout
            } else {
                GraphFailure::BadInput("The request body cannot be read.".into())
            }
        })?;
        let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
        serde_json::from_slice(body)
            .map(Self)
            .map_err(|e| GraphFailure::BadInput(format!("Invalid request body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "03ef14b0-ca33-4840-8f4f-d6e91916010e";

    #[test]
    fn alternate_keys_become_their_own_segment() {
        assert_eq!(rewrite_alternate_keys("/applications"), None);
        assert_eq!(
            rewrite_alternate_keys(&format!("/applications(appId='{ID}')/addPassword")).as_deref(),
            Some(format!("/applications/appId={ID}/addPassword").as_str())
        );
        assert_eq!(
            rewrite_alternate_keys("/applications(displayName='x')").as_deref(),
            Some("/applications(displayName='x')"),
            "other keys are left for the router to refuse"
        );
    }

    #[test]
    fn entity_sets_match_in_any_case() {
        assert_eq!(
            canonical_set("/oAuth2PermissionGrants/abc").as_deref(),
            Some("/oauth2PermissionGrants/abc")
        );
        assert_eq!(
            canonical_set(&format!("/ServicePrincipals(appId='{ID}')")).as_deref(),
            Some(format!("/servicePrincipals(appId='{ID}')").as_str())
        );
        assert_eq!(canonical_set("/applications"), None);
        assert_eq!(canonical_set("/users"), None);
    }

    #[test]
    fn keys_are_object_ids_or_app_ids() {
        assert_eq!(
            EntityKey::parse(ID).unwrap(),
            AppKey::Id(ObjectId::parse(ID).unwrap())
        );
        assert_eq!(
            EntityKey::parse(&format!("appId={ID}")).unwrap(),
            AppKey::AppId(AppId::parse(ID).unwrap())
        );
        assert!(EntityKey::parse("not-a-guid").is_err());
        assert!(EntityKey::parse("appId=x").is_err());
    }
}
