//! `app permission …`: the API permissions an application requests (requiredResourceAccess, each id
//! checked against what the API offers), admin consent to its application permissions (app role
//! assignments), and delegated permission grants, through Graph.

use reqwest::Method;
use serde_json::{json, Value};

use super::graph::{str_of, Graph};

/// Adds ID=Role / ID=Scope entries to the application's requiredResourceAccess for one API, after
/// checking each id against the API's app roles or delegated scopes in this tenant.
pub(super) async fn add_permissions(
    g: &Graph,
    id: &str,
    api: &str,
    perms: &[String],
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let resource = g.service_principal(api).await?.ok_or_else(|| {
        format!("the API {api} has no service principal in this tenant (`sp create --id {api}`)")
    })?;
    let mut wanted = Vec::new();
    for p in perms {
        let (pid, kind) = p
            .split_once('=')
            .ok_or_else(|| format!("'{p}' is not ID=Role or ID=Scope"))?;
        let offered = match kind {
            "Role" => &resource["appRoles"],
            "Scope" => &resource["oauth2PermissionScopes"],
            _ => return Err(format!("'{p}': the type must be Role or Scope")),
        };
        let known = offered.as_array().into_iter().flatten();
        let names: Vec<String> = known
            .clone()
            .map(|o| {
                format!(
                    "{} ({})",
                    o["value"].as_str().unwrap_or("?"),
                    o["id"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !known
            .clone()
            .any(|o| o["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(pid)))
        {
            let what = if kind == "Role" {
                "app role"
            } else {
                "delegated scope"
            };
            return Err(format!(
                "{pid} is not an {what} of {api}; it offers: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
        wanted.push(json!({"id": pid.to_ascii_lowercase(), "type": kind}));
    }
    let mut rra = requested(&app);
    let idx = match rra.iter().position(|r| same_id(&r["resourceAppId"], api)) {
        Some(i) => i,
        None => {
            rra.push(json!({"resourceAppId": api, "resourceAccess": []}));
            rra.len() - 1
        }
    };
    let list = rra[idx]["resourceAccess"]
        .as_array_mut()
        .ok_or("malformed requiredResourceAccess")?;
    for entry in wanted {
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    set_requested(g, &app, &rra).await?;
    Ok(json!(rra))
}

/// Removes one API's entry from requiredResourceAccess, or only the named permission ids of it.
pub(super) async fn delete_permissions(
    g: &Graph,
    id: &str,
    api: &str,
    ids: &[String],
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let mut rra = requested(&app);
    let before = rra.clone();
    if ids.is_empty() {
        rra.retain(|r| !same_id(&r["resourceAppId"], api));
    } else {
        for r in rra.iter_mut().filter(|r| same_id(&r["resourceAppId"], api)) {
            if let Some(list) = r["resourceAccess"].as_array_mut() {
                list.retain(|a| !ids.iter().any(|i| same_id(&a["id"], i)));
            }
        }
        rra.retain(|r| r["resourceAccess"].as_array().is_some_and(|l| !l.is_empty()));
    }
    if rra == before {
        return Err(format!(
            "the application requests no such permission of {api} (see `permission list`)"
        ));
    }
    set_requested(g, &app, &rra).await?;
    Ok(Value::Null)
}

fn requested(app: &Value) -> Vec<Value> {
    app["requiredResourceAccess"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub(super) async fn set_requested(g: &Graph, app: &Value, rra: &[Value]) -> Result<Value, String> {
    g.call(
        Method::PATCH,
        &format!("applications/{}", str_of(app, "id")?),
        Some(json!({"requiredResourceAccess": rra})),
    )
    .await
}

fn same_id(v: &Value, id: &str) -> bool {
    v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(id))
}

/// Replaces the client's grant for the API with one for these scopes (AllPrincipals): the existing
/// grant is re-scoped in one PATCH, so a refused scope leaves it as it was.
pub(super) async fn grant(g: &Graph, id: &str, api: &str, scopes: &[String]) -> Result<Value, String> {
    let client = str_of(&g.find_service_principal(id).await?, "id")?;
    let resource = str_of(&g.find_service_principal(api).await?, "id")?;
    set_grant(g, &client, &resource, scopes).await
}

/// The client's AllPrincipals grant on the resource (service principal ids), if it has one.
async fn tenant_wide_grant(g: &Graph, client: &str, resource: &str) -> Result<Option<Value>, String> {
    let held = g
        .list("oauth2PermissionGrants", Some(format!("clientId eq '{client}'")))
        .await?;
    Ok(held.as_array().into_iter().flatten().find_map(|old| {
        (old["resourceId"] == resource && old["consentType"] == "AllPrincipals").then(|| old.clone())
    }))
}

async fn set_grant(g: &Graph, client: &str, resource: &str, scopes: &[String]) -> Result<Value, String> {
    if let Some(old) = tenant_wide_grant(g, client, resource).await? {
        let path = format!("oauth2PermissionGrants/{}", str_of(&old, "id")?);
        g.call(Method::PATCH, &path, Some(json!({"scope": scopes.join(" ")})))
            .await?;
        return g.call(Method::GET, &path, None).await;
    }
    let body = json!({"clientId": client, "consentType": "AllPrincipals", "principalId": null,
                      "resourceId": resource, "scope": scopes.join(" ")});
    g.call(Method::POST, "oauth2PermissionGrants", Some(body)).await
}

/// Grants, as an administrator, everything the application requests (as the portal's "Grant admin
/// consent" does), creating the client's service principal if needed: each application permission
/// (type Role) as an app role assignment, and the delegated ones (type Scope) of each API as its
/// AllPrincipals grant, keeping what that grant held. Prints what was written.
pub(super) async fn admin_consent(g: &Graph, id: &str) -> Result<Value, String> {
    let app = g.application(id).await?;
    let app_id = str_of(&app, "appId")?;
    let client = match g.service_principal(&app_id).await? {
        Some(sp) => sp,
        None => {
            g.call(Method::POST, "servicePrincipals", Some(json!({"appId": app_id})))
                .await?
        }
    };
    let client_id = str_of(&client, "id")?;
    let mut granted = Vec::new();
    for rra in app["requiredResourceAccess"].as_array().into_iter().flatten() {
        let resource_app = rra["resourceAppId"].as_str().unwrap_or_default();
        let resource = g
            .service_principal(resource_app)
            .await?
            .ok_or_else(|| format!("the API {resource_app} has no service principal in this tenant"))?;
        let resource_id = str_of(&resource, "id")?;
        let held = g
            .call(
                Method::GET,
                &format!("servicePrincipals/{client_id}/appRoleAssignments"),
                None,
            )
            .await?;
        let mut scopes = Vec::new();
        for access in rra["resourceAccess"].as_array().into_iter().flatten() {
            if access["type"] == "Scope" {
                let value = resource["oauth2PermissionScopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["id"] == access["id"])
                    .and_then(|s| s["value"].as_str())
                    .ok_or_else(|| {
                        format!("{resource_app} offers no delegated permission {}", access["id"])
                    })?;
                scopes.push(value.to_string());
                continue;
            }
            let already = held["value"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["resourceId"] == resource_id.as_str() && a["appRoleId"] == access["id"]);
            if already {
                continue;
            }
            let body =
                json!({"principalId": client_id, "resourceId": resource_id, "appRoleId": access["id"]});
            granted.push(
                g.call(
                    Method::POST,
                    &format!("servicePrincipals/{resource_id}/appRoleAssignedTo"),
                    Some(body),
                )
                .await?,
            );
        }
        if !scopes.is_empty() {
            let before = tenant_wide_grant(g, &client_id, &resource_id).await?;
            let mut all: Vec<String> = before
                .as_ref()
                .and_then(|b| b["scope"].as_str())
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            for s in scopes {
                if !all.iter().any(|a| a.eq_ignore_ascii_case(&s)) {
                    all.push(s);
                }
            }
            granted.push(set_grant(g, &client_id, &resource_id, &all).await?);
        }
    }
    Ok(json!(granted))
}
