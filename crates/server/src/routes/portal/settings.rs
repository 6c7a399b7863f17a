//! An application's Authentication page (platforms and redirect URIs, front-channel logout URL,
//! implicit-grant token issuance, supported account types, public client flows) and its Manifest (the
//! Graph JSON, saved through the same validation as a PATCH). Both save with one PATCH.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_core::admin::AdminError;
use gatehouse_proto::graph::{
    Application, ApplicationInput, ImplicitGrantSettings, RedirectUris, WebApplication,
};

use super::apps::AUDIENCES;
use super::shared::{failed, patch, read, status_for, Posted};
use super::views::Chrome;
use super::Portal;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/portal/applications/{id}/authentication",
            get(authentication).post(save_authentication),
        )
        .route(
            "/portal/applications/{id}/manifest",
            get(manifest).post(save_manifest),
        )
}

#[derive(Template)]
#[template(path = "portal/app_authentication.html")]
struct Authentication<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    audience: String,
    audiences: [(&'static str, &'static str); 4],
    public_flows: bool,
    error: Option<String>,
    saved: bool,
}

async fn authentication(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    authentication_page(&st, &p, &id, None, false).await
}

async fn authentication_page(
    st: &AppState,
    p: &Portal,
    id: &str,
    error: Option<String>,
    saved: bool,
) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let status = status_for(&error);
    p.render_status(
        status,
        &Authentication {
            c: p.chrome("apps"),
            audience: wire(&app.sign_in_audience),
            public_flows: app.is_fallback_public_client == Some(true),
            app,
            page: "authentication",
            audiences: AUDIENCES,
            error,
            saved,
        },
    )
}

/// A value as Graph writes it (an enum's name).
fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The non-empty lines of a text box.
fn lines(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn save_authentication(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    f: Posted,
) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let logout = f.field("logout_url").map(str::trim).filter(|u| !u.is_empty());
    let input = ApplicationInput {
        web: Some(WebApplication {
            redirect_uris: lines(f.field("web")),
            home_page_url: app.web.home_page_url.clone(),
            logout_url: logout.map(str::to_string),
            implicit_grant_settings: ImplicitGrantSettings {
                enable_id_token_issuance: f.field("id_tokens") == Some("yes"),
                enable_access_token_issuance: f.field("access_tokens") == Some("yes"),
            },
        }),
        spa: Some(RedirectUris {
            redirect_uris: lines(f.field("spa")),
        }),
        public_client: Some(RedirectUris {
            redirect_uris: lines(f.field("public_client")),
        }),
        sign_in_audience: f.field("audience").map(str::to_string),
        is_fallback_public_client: Some(Some(f.field("public_flows") == Some("yes"))),
        ..ApplicationInput::default()
    };
    let set = [
        "web",
        "spa",
        "publicClient",
        "signInAudience",
        "isFallbackPublicClient",
    ];
    match patch(&st, &p, app.id, input, &set).await {
        Ok(()) => authentication_page(&st, &p, &id, None, true).await,
        Err(AdminError::Denied) => failed(&p, &AdminError::Denied),
        Err(e) => authentication_page(&st, &p, &id, Some(e.to_string()), false).await,
    }
}

#[derive(Template)]
#[template(path = "portal/app_manifest.html")]
struct Manifest<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    json: String,
    error: Option<String>,
    saved: bool,
}

/// Properties the manifest shows but a save leaves alone: what Graph sets, and the credentials, which
/// have pages of their own (a certificate's key is never shown, so it could not round-trip).
const READ_ONLY: &[&str] = &[
    "id",
    "appId",
    "createdDateTime",
    "deletedDateTime",
    "publisherDomain",
    "applicationTemplateId",
    "passwordCredentials",
    "keyCredentials",
];

async fn manifest(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let json = serde_json::to_string_pretty(&app).unwrap_or_default();
    manifest_page(&p, app, json, None, false)
}

fn manifest_page(p: &Portal, app: Application, json: String, error: Option<String>, saved: bool) -> Response {
    let status = status_for(&error);
    p.render_status(
        status,
        &Manifest {
            c: p.chrome("apps"),
            app,
            page: "manifest",
            json,
            error,
            saved,
        },
    )
}

/// `POST …/manifest`: the edited JSON without its read-only properties, as a PATCH. A refusal shows
/// Graph's message beside the text as it was posted.
async fn save_manifest(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let posted = f.field("manifest").unwrap_or_default().to_string();
    let input = match editable(&posted) {
        Ok(input) => input,
        Err(why) => return manifest_page(&p, app, posted, Some(why), false),
    };
    let (input, set) = input;
    let set: Vec<&str> = set.iter().map(String::as_str).collect();
    match patch(&st, &p, app.id, input, &set).await {
        Ok(()) => match read(&st, &p.caller, &id).await {
            Ok(app) => {
                let json = serde_json::to_string_pretty(&app).unwrap_or_default();
                manifest_page(&p, app, json, None, true)
            }
            Err(e) => failed(&p, &e),
        },
        Err(AdminError::Denied) => failed(&p, &AdminError::Denied),
        Err(e) => manifest_page(&p, app, posted, Some(e.to_string()), false),
    }
}

/// The manifest's writable properties as Graph's PATCH body, and their names; or why it is not one.
fn editable(posted: &str) -> Result<(ApplicationInput, Vec<String>), String> {
    let value: serde_json::Value =
        serde_json::from_str(posted).map_err(|e| format!("The manifest is not valid JSON: {e}"))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err("The manifest must be a JSON object.".into());
    };
    fields.retain(|k, _| !READ_ONLY.contains(&k.as_str()) && !k.starts_with('@'));
    let set: Vec<String> = fields.keys().cloned().collect();
    let input = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| format!("Invalid manifest: {e}"))?;
    Ok((input, set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_saves_its_writable_properties_only() {
        let (input, set) = editable(
            r#"{"id": "x", "appId": "y", "@odata.context": "z", "displayName": "n", "notes": null}"#,
        )
        .unwrap();
        assert_eq!(input.display_name.as_deref(), Some("n"));
        assert_eq!(set, vec!["displayName".to_string(), "notes".to_string()]);
        assert!(editable("[1]").is_err());
        assert!(editable("{").unwrap_err().contains("not valid JSON"));
        assert!(editable(r#"{"unknownThing": 1}"#)
            .unwrap_err()
            .contains("unknownThing"));
    }
}
