//! Certificates & secrets: client secrets (the value shown once, on the answer to adding it),
//! certificates (uploaded as PEM, CER or CRT), and federated credentials, each written through
//! Graph's operations as the signed-in user.

use askama::Template;
use axum::extract::Multipart;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::admin::applications::{self, AppKey};
use gatehouse_core::admin::{federated, AdminError};
use gatehouse_proto::graph::{
    AddPasswordInput, Application, ApplicationInput, FederatedIdentityCredential,
    FederatedIdentityCredentialInput, KeyCredentialInput, PasswordCredentialInput,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::shared::{failed, key, patch, read, status_for, Posted};
use super::views::Chrome;
use super::{redirect, Portal};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/applications/{id}/credentials", get(credentials))
        .route("/portal/applications/{id}/credentials/secrets", post(add_secret))
        .route(
            "/portal/applications/{id}/credentials/secrets/{key}/delete",
            post(delete_secret),
        )
        .route(
            "/portal/applications/{id}/credentials/certificates",
            post(upload_certificate),
        )
        .route(
            "/portal/applications/{id}/credentials/certificates/{key}/delete",
            post(delete_certificate),
        )
        .route(
            "/portal/applications/{id}/credentials/federated",
            post(add_federated),
        )
        .route(
            "/portal/applications/{id}/credentials/federated/{credential}/delete",
            post(delete_federated),
        )
}

/// A certificate as the page lists it: the SHA-1 thumbprint in hex, as Entra's portal shows it.
struct CertificateRow {
    key_id: String,
    thumbprint: String,
    description: String,
    start: String,
    end: String,
}

fn certificate_rows(app: &Application) -> Vec<CertificateRow> {
    app.key_credentials
        .iter()
        .map(|k| CertificateRow {
            key_id: k.key_id.to_string(),
            thumbprint: k
                .custom_key_identifier
                .as_deref()
                .and_then(gatehouse_jose::b64std_decode)
                .map(|b| gatehouse_jose::hex_upper(&b))
                .unwrap_or_default(),
            description: k.display_name.clone().unwrap_or_default(),
            start: k.start_date_time.date().to_string(),
            end: k.end_date_time.date().to_string(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal/app_credentials.html")]
struct Credentials<'a> {
    c: Chrome<'a>,
    app: Application,
    page: &'static str,
    certificates: Vec<CertificateRow>,
    federated: Vec<FederatedIdentityCredential>,
    error: Option<String>,
    adding: bool,
    /// A secret's value, on the one page that shows it: the answer to adding it.
    new_value: Option<String>,
}

async fn credentials(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    credentials_page(&st, &p, &id, None, None).await
}

async fn credentials_page(
    st: &AppState,
    p: &Portal,
    id: &str,
    error: Option<String>,
    new_value: Option<String>,
) -> Response {
    let app = match read(st, &p.caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(p, &e),
    };
    let federated = federated::list(st.store.as_ref(), &p.caller, AppKey::Id(app.id))
        .await
        .unwrap_or_default();
    let status = status_for(&error);
    p.render_status(
        status,
        &Credentials {
            c: p.chrome("apps"),
            adding: error.is_some(),
            certificates: certificate_rows(&app),
            app,
            page: "credentials",
            federated,
            error,
            new_value,
        },
    )
}

/// `POST …/credentials/secrets`: New client secret. Its value is on this one response only.
async fn add_secret(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let now = OffsetDateTime::now_utc();
    let months: i64 = f
        .field("months")
        .and_then(|m| m.parse().ok())
        .unwrap_or(24)
        .clamp(1, 24);
    let description = f.field("description").map(str::trim).filter(|d| !d.is_empty());
    let input = AddPasswordInput {
        password_credential: Some(PasswordCredentialInput {
            display_name: description.map(str::to_string),
            end_date_time: Some(now + time::Duration::days(months * 365 / 12)),
            ..PasswordCredentialInput::default()
        }),
    };
    let path = format!("/applications/{id}/addPassword");
    let add = async {
        let k = key(&id)?;
        applications::add_password(st.store.as_ref(), &p.caller, k, input, now).await
    };
    let added = p
        .write(&st, (Method::POST, &path, &["passwordCredential"]), add)
        .await;
    match added {
        Ok(cred) => {
            let value = cred.secret_text.map(|s| s.expose().to_string());
            credentials_page(&st, &p, &id, None, value).await
        }
        Err(AdminError::BadRequest(why)) => credentials_page(&st, &p, &id, Some(why), None).await,
        Err(e) => failed(&p, &e),
    }
}

async fn delete_secret(
    State(st): State<AppState>,
    p: Portal,
    Path((id, key_id)): Path<(String, String)>,
    _: Posted,
) -> Response {
    let path = format!("/applications/{id}/removePassword");
    let remove = async {
        let k = key(&id)?;
        let key_id =
            Uuid::parse_str(&key_id).map_err(|_| AdminError::BadRequest("No such client secret.".into()))?;
        applications::remove_password(st.store.as_ref(), &p.caller, k, key_id).await
    };
    let removed = p.write(&st, (Method::POST, &path, &["keyId"]), remove).await;
    match removed {
        Ok(()) => redirect(&format!("/portal/applications/{id}/credentials")),
        Err(AdminError::BadRequest(why)) => credentials_page(&st, &p, &id, Some(why), None).await,
        Err(e) => failed(&p, &e),
    }
}

/// The largest certificate file the page takes (a chain in PEM fits easily).
const MAX_CERTIFICATE: usize = 64 * 1024;

/// `POST …/credentials/certificates` (multipart): Upload certificate. The file (PEM, CER or CRT) is
/// added to `keyCredentials` by a PATCH that keeps the others, as Graph's rule for the collection is.
async fn upload_certificate(
    State(st): State<AppState>,
    headers: HeaderMap,
    p: Portal,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let (mut canary, mut description, mut file) = (None, None, None);
    while let Ok(Some(part)) = form.next_field().await {
        let name = part.name().unwrap_or_default().to_string();
        let Ok(bytes) = part.bytes().await else {
            return credentials_page(&st, &p, &id, Some("The upload could not be read.".into()), None).await;
        };
        match name.as_str() {
            "canary" => canary = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "description" => description = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            "certificate" => file = Some(bytes),
            _ => {}
        }
    }
    if !crate::routes::signin::csrf_ok(&st, &headers, canary.as_deref()) {
        return crate::routes::signin::forbidden();
    }
    let file = match file.filter(|f| !f.is_empty()) {
        Some(f) if f.len() <= MAX_CERTIFICATE => f,
        Some(_) => {
            return credentials_page(
                &st,
                &p,
                &id,
                Some("The certificate file is too large.".into()),
                None,
            )
            .await
        }
        None => {
            return credentials_page(
                &st,
                &p,
                &id,
                Some("Choose a certificate file to upload.".into()),
                None,
            )
            .await
        }
    };
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let mut keys = kept_certificates(&app);
    keys.push(KeyCredentialInput {
        custom_key_identifier: None,
        display_name: description.filter(|d| !d.is_empty()),
        key: Some(gatehouse_jose::b64std(&file)),
        key_id: None,
        type_: Some("AsymmetricX509Cert".into()),
        usage: Some("Verify".into()),
        start_date_time: None,
        end_date_time: None,
    });
    save_certificates(&st, &p, &id, &app, keys).await
}

async fn delete_certificate(
    State(st): State<AppState>,
    p: Portal,
    Path((id, key_id)): Path<(String, String)>,
    _: Posted,
) -> Response {
    let app = match read(&st, &p.caller, &id).await {
        Ok(a) => a,
        Err(e) => return failed(&p, &e),
    };
    let mut keys = kept_certificates(&app);
    keys.retain(|k| k.key_id.map(|k| k.to_string()) != Some(key_id.clone()));
    save_certificates(&st, &p, &id, &app, keys).await
}

/// The application's certificates as a PATCH keeps them: by `keyId` alone.
fn kept_certificates(app: &Application) -> Vec<KeyCredentialInput> {
    app.key_credentials
        .iter()
        .map(|k| KeyCredentialInput {
            custom_key_identifier: None,
            display_name: None,
            key: None,
            key_id: Some(k.key_id),
            type_: None,
            usage: None,
            start_date_time: None,
            end_date_time: None,
        })
        .collect()
}

async fn save_certificates(
    st: &AppState,
    p: &Portal,
    id: &str,
    app: &Application,
    keys: Vec<KeyCredentialInput>,
) -> Response {
    let input = ApplicationInput {
        key_credentials: Some(keys),
        ..ApplicationInput::default()
    };
    match patch(st, p, app.id, input, &["keyCredentials"]).await {
        Ok(()) => redirect(&format!("/portal/applications/{id}/credentials")),
        Err(AdminError::BadRequest(why)) => credentials_page(st, p, id, Some(why), None).await,
        Err(e) => failed(p, &e),
    }
}

/// `POST …/credentials/federated`: Add credential (issuer, subject identifier, name, audience).
async fn add_federated(State(st): State<AppState>, p: Portal, Path(id): Path<String>, f: Posted) -> Response {
    let input = FederatedIdentityCredentialInput {
        odata_type: None,
        name: f.text("name"),
        issuer: f.text("issuer"),
        subject: f.text("subject"),
        description: Some(f.text("description")),
        audiences: Some(vec![f
            .text("audience")
            .unwrap_or_else(|| "api://AzureADTokenExchange".into())]),
    };
    let path = format!("/applications/{id}/federatedIdentityCredentials");
    let create = async { federated::create(st.store.as_ref(), &p.caller, key(&id)?, input).await };
    let set = ["name", "issuer", "subject", "audiences", "description"];
    match p.write(&st, (Method::POST, &path, &set), create).await {
        Ok(_) => redirect(&format!("/portal/applications/{id}/credentials")),
        Err(AdminError::Denied) => failed(&p, &AdminError::Denied),
        Err(AdminError::NotFound(why)) => failed(&p, &AdminError::NotFound(why)),
        Err(e) => credentials_page(&st, &p, &id, Some(e.to_string()), None).await,
    }
}

async fn delete_federated(
    State(st): State<AppState>,
    p: Portal,
    Path((id, credential)): Path<(String, String)>,
    _: Posted,
) -> Response {
    let path = format!("/applications/{id}/federatedIdentityCredentials/{credential}");
    let delete = async { federated::delete(st.store.as_ref(), &p.caller, key(&id)?, &credential).await };
    match p.write(&st, (Method::DELETE, &path, &[]), delete).await {
        Ok(()) => redirect(&format!("/portal/applications/{id}/credentials")),
        Err(e) => failed(&p, &e),
    }
}
