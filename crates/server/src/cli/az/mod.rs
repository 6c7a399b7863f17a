//! az-style commands over the Graph API, for people: `app …`, `sp …` and `user …`. Output is JSON on
//! stdout (or a table or TSV, see `output`); failures are one line on stderr and a non-zero exit.
//!
//! `commands` holds the command lines, `graph` the client, `credentials`, `permissions` and `users`
//! the multi-step commands; this file dispatches.

mod commands;
mod credentials;
mod graph;
mod permissions;
mod users;

use reqwest::Method;
use serde_json::{json, Value};

pub use commands::*;
use credentials::{add_certificate, create_certificate, delete_credential, federated, reset_credential};
use graph::{quoted, str_of, Graph};
use permissions::{add_permissions, admin_consent, delete_permissions, grant};

/// `startswith(displayName,'…')`, `appId eq '…'` and the like, joined with `and`, as az builds them.
fn filters(parts: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// A JSON argument given inline or as `@file.json`.
fn json_arg(name: &str, text: &str) -> Result<Value, String> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| format!("--{name}: not JSON: {e}"))
}

impl AppProperties {
    /// The Graph body these options set. A PATCH replaces a whole complex property, so redirect URIs
    /// and the token version are merged into the application's `current` `web`, `publicClient` and
    /// `api` (their other settings are kept).
    fn body(&self, mut body: Value, current: Option<&Value>) -> Result<Value, String> {
        // Sets `name.key`, keeping what the body or the current application already has in `name`.
        let set = |body: &mut Value, name: &str, key: &str, value: Value| {
            let mut complex = Some(body[name].clone())
                .filter(Value::is_object)
                .or_else(|| current.map(|c| c[name].clone()).filter(Value::is_object))
                .unwrap_or_else(|| json!({}));
            complex[key] = value;
            body[name] = complex;
        };
        if let Some(a) = &self.sign_in_audience {
            body["signInAudience"] = json!(a);
        }
        if let Some(u) = &self.identifier_uris {
            body["identifierUris"] = json!(u);
        }
        if let Some(r) = &self.app_roles {
            let roles = json_arg("app-roles", r)?;
            if !roles.is_array() {
                return Err("--app-roles: give a JSON array of appRole objects".into());
            }
            body["appRoles"] = roles;
        }
        if let Some(u) = &self.web_redirect_uris {
            set(&mut body, "web", "redirectUris", json!(u));
        }
        if let Some(u) = &self.web_home_page_url {
            set(&mut body, "web", "homePageUrl", json!(u));
        }
        if let Some(v) = self.enable_id_token_issuance {
            let mut implicit = Some(body["web"]["implicitGrantSettings"].clone())
                .filter(Value::is_object)
                .or_else(|| current.map(|c| c["web"]["implicitGrantSettings"].clone()))
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            implicit["enableIdTokenIssuance"] = json!(v);
            set(&mut body, "web", "implicitGrantSettings", implicit);
        }
        if let Some(u) = &self.public_client_redirect_uris {
            set(&mut body, "publicClient", "redirectUris", json!(u));
        }
        if let Some(u) = &self.spa_redirect_uris {
            set(&mut body, "spa", "redirectUris", json!(u));
        }
        if let Some(v) = self.is_fallback_public_client {
            body["isFallbackPublicClient"] = json!(v);
        }
        if let Some(v) = self.requested_access_token_version {
            set(&mut body, "api", "requestedAccessTokenVersion", json!(v));
        }
        Ok(body)
    }
}

pub async fn app(cmd: AppCommand) -> Result<Value, String> {
    let g = Graph::connect()?;
    match cmd {
        AppCommand::Create {
            display_name,
            properties,
        } => {
            let body = properties.body(json!({"displayName": display_name}), None)?;
            g.call(Method::POST, "applications", Some(body)).await
        }
        AppCommand::Update {
            id,
            display_name,
            properties,
        } => {
            let app = g.application(&id.id).await?;
            let mut body = properties.body(json!({}), Some(&app))?;
            if let Some(n) = display_name {
                body["displayName"] = json!(n);
            }
            if body.as_object().is_some_and(|b| b.is_empty()) {
                return Err("nothing to update: give at least one property option (see --help)".into());
            }
            let path = format!("applications/{}", str_of(&app, "id")?);
            g.call(Method::PATCH, &path, Some(body)).await?;
            Ok(Value::Null)
        }
        AppCommand::List(a) => {
            let filter = filters([
                a.display_name
                    .map(|d| format!("startswith(displayName,'{}')", quoted(&d))),
                a.app_id.map(|d| format!("appId eq '{}'", quoted(&d))),
                a.identifier_uri
                    .map(|d| format!("identifierUris/any(s:s eq '{}')", quoted(&d))),
                a.filter,
            ]);
            g.list("applications", filter).await
        }
        AppCommand::Show(a) => g.application(&a.id).await,
        AppCommand::Delete(a) => {
            let app = g.application(&a.id).await?;
            g.call(
                Method::DELETE,
                &format!("applications/{}", str_of(&app, "id")?),
                None,
            )
            .await?;
            Ok(Value::Null)
        }
        AppCommand::Credential(CredentialCommand::List { id, cert }) => {
            let app = g.application(&id).await?;
            Ok(app[if cert {
                "keyCredentials"
            } else {
                "passwordCredentials"
            }]
            .clone())
        }
        AppCommand::Credential(CredentialCommand::Delete { id, key_id, cert }) => {
            delete_credential(&g, &id, &key_id, cert).await
        }
        AppCommand::Credential(CredentialCommand::Reset {
            id,
            append,
            cert: Some(cert),
            ..
        }) => {
            let bytes = std::fs::read(cert.trim_start_matches('@')).map_err(|e| format!("{cert}: {e}"))?;
            add_certificate(&g, &id, append, &bytes).await
        }
        AppCommand::Credential(CredentialCommand::Reset {
            id,
            append,
            create_cert: true,
            cert_file,
            years,
            ..
        }) => create_certificate(&g, &id, append, cert_file, years).await,
        AppCommand::Credential(CredentialCommand::Reset {
            id,
            append,
            display_name,
            years,
            ..
        }) => reset_credential(&g, &id, append, display_name, years).await,
        AppCommand::FederatedCredential(cmd) => federated(&g, cmd).await,
        AppCommand::Permission(PermissionCommand::Add {
            id,
            api,
            api_permissions,
        }) => add_permissions(&g, &id, &api, &api_permissions).await,
        AppCommand::Permission(PermissionCommand::List(a)) => {
            Ok(g.application(&a.id).await?["requiredResourceAccess"].clone())
        }
        AppCommand::Permission(PermissionCommand::Delete {
            id,
            api,
            api_permissions,
        }) => delete_permissions(&g, &id, &api, &api_permissions).await,
        AppCommand::Permission(PermissionCommand::AdminConsent(a)) => admin_consent(&g, &a.id).await,
        AppCommand::Permission(PermissionCommand::Grant { id, api, scope }) => {
            grant(&g, &id, &api, &scope).await
        }
        AppCommand::Permission(PermissionCommand::ListGrants(a)) => {
            let client = str_of(&g.find_service_principal(&a.id).await?, "id")?;
            g.list("oauth2PermissionGrants", Some(format!("clientId eq '{client}'")))
                .await
        }
    }
}

pub async fn user(cmd: UserCommand) -> Result<Value, String> {
    users::run(&Graph::connect()?, cmd).await
}

pub async fn sp(cmd: SpCommand) -> Result<Value, String> {
    let g = Graph::connect()?;
    match cmd {
        SpCommand::Create(a) => {
            let app_id = str_of(&g.application(&a.id).await?, "appId")?;
            g.call(Method::POST, "servicePrincipals", Some(json!({"appId": app_id})))
                .await
        }
        SpCommand::List {
            display_name,
            spn,
            filter,
        } => {
            let filter = filters([
                display_name.map(|d| format!("startswith(displayName,'{}')", quoted(&d))),
                spn.map(|d| format!("servicePrincipalNames/any(c:c eq '{}')", quoted(&d))),
                filter,
            ]);
            g.list("servicePrincipals", filter).await
        }
        SpCommand::Show(a) => g.find_service_principal(&a.id).await,
        SpCommand::Delete(a) => {
            let sp = g.find_service_principal(&a.id).await?;
            g.call(
                Method::DELETE,
                &format!("servicePrincipals/{}", str_of(&sp, "id")?),
                None,
            )
            .await?;
            Ok(Value::Null)
        }
    }
}
