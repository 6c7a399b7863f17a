//! `app credential …` and `app federated-credential …`: client secrets (printed once), certificates
//! (registered or made here), and federated identity credentials, through Graph.

use reqwest::Method;
use serde_json::{json, Value};

use super::graph::{str_of, Graph};
use super::json_arg;
use super::FederatedCommand;

/// Removes one secret (removePassword) or one certificate (keyCredentials without it).
pub(super) async fn delete_credential(
    g: &Graph,
    id: &str,
    key_id: &str,
    cert: bool,
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let object_id = str_of(&app, "id")?;
    let kind = if cert {
        "keyCredentials"
    } else {
        "passwordCredentials"
    };
    let held: Vec<Value> = app[kind].as_array().cloned().unwrap_or_default();
    if !held.iter().any(|c| {
        c["keyId"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(key_id))
    }) {
        let what = if cert { "certificate" } else { "client secret" };
        return Err(format!(
            "the application has no {what} with key id '{key_id}' (see `credential list`)"
        ));
    }
    if cert {
        let kept: Vec<Value> = held
            .iter()
            .filter(|c| {
                !c["keyId"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key_id))
            })
            .map(|c| json!({"keyId": c["keyId"]}))
            .collect();
        let body = json!({"keyCredentials": kept});
        g.call(Method::PATCH, &format!("applications/{object_id}"), Some(body))
            .await?;
    } else {
        let body = json!({"keyId": key_id});
        g.call(
            Method::POST,
            &format!("applications/{object_id}/removePassword"),
            Some(body),
        )
        .await?;
    }
    Ok(Value::Null)
}

/// Prints `{"appId","password","tenant"}` as `az ad app credential reset` does.
pub(super) async fn reset_credential(
    g: &Graph,
    id: &str,
    append: bool,
    display_name: Option<String>,
    years: i64,
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let object_id = str_of(&app, "id")?;
    if !append {
        for cred in app["passwordCredentials"].as_array().into_iter().flatten() {
            let key = json!({"keyId": cred["keyId"]});
            g.call(
                Method::POST,
                &format!("applications/{object_id}/removePassword"),
                Some(key),
            )
            .await?;
        }
    }
    let end = time::OffsetDateTime::now_utc() + time::Duration::days(365 * years.clamp(1, 2));
    let body = json!({"passwordCredential": {"displayName": display_name, "endDateTime": gatehouse_proto::timefmt::graph_datetime(end)}});
    let cred = g
        .call(
            Method::POST,
            &format!("applications/{object_id}/addPassword"),
            Some(body),
        )
        .await?;
    Ok(json!({"appId": app["appId"], "password": cred["secretText"], "tenant": g.session.tenant}))
}

/// Registers a certificate (PATCH keyCredentials, keeping the existing ones by keyId if --append).
pub(super) async fn add_certificate(g: &Graph, id: &str, append: bool, cert: &[u8]) -> Result<Value, String> {
    let parsed = gatehouse_jose::ClientCertificate::parse(cert).map_err(|e| e.to_string())?;
    let app = g.application(id).await?;
    let object_id = str_of(&app, "id")?;
    let mut keys: Vec<Value> = Vec::new();
    if append {
        for k in app["keyCredentials"].as_array().into_iter().flatten() {
            keys.push(json!({"keyId": k["keyId"]}));
        }
    }
    keys.push(
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": gatehouse_jose::b64std(&parsed.der)}),
    );
    g.call(
        Method::PATCH,
        &format!("applications/{object_id}"),
        Some(json!({"keyCredentials": keys})),
    )
    .await?;
    Ok(
        json!({"appId": app["appId"], "password": null, "tenant": g.session.tenant, "thumbprint": parsed.thumbprint_hex()}),
    )
}

/// `--create-cert`: a self-signed RSA-2048 certificate, written with its key, then registered.
pub(super) async fn create_certificate(
    g: &Graph,
    id: &str,
    append: bool,
    file: Option<std::path::PathBuf>,
    years: i64,
) -> Result<Value, String> {
    let app = g.application(id).await?;
    let app_id = str_of(&app, "appId")?;
    let now = time::OffsetDateTime::now_utc();
    let key = gatehouse_jose::SigningKey::generate(&app_id, now - time::Duration::MINUTE, years.clamp(1, 5))
        .map_err(|e| e.to_string())?;
    let pem = format!(
        "{}{}",
        gatehouse_jose::pem_encode("PRIVATE KEY", key.private_pkcs8()),
        gatehouse_jose::pem_encode("CERTIFICATE", key.certificate_der())
    );
    let path = file.unwrap_or_else(|| std::path::PathBuf::from(format!("gatehouse-{app_id}.pem")));
    crate::settings::write_private(&path, pem.as_bytes())?;
    let mut out = add_certificate(g, id, append, key.certificate_der()).await?;
    out["fileWithCertAndPrivateKey"] = json!(path.display().to_string());
    Ok(out)
}

pub(super) async fn federated(g: &Graph, cmd: FederatedCommand) -> Result<Value, String> {
    match cmd {
        FederatedCommand::Create { id, parameters } => {
            let body = json_arg("parameters", &parameters)?;
            g.call(Method::POST, &fic_base(g, &id).await?, Some(body)).await
        }
        FederatedCommand::List { id } => {
            Ok(g.call(Method::GET, &fic_base(g, &id).await?, None).await?["value"].clone())
        }
        FederatedCommand::Show {
            id,
            federated_credential_id: f,
        } => {
            g.call(Method::GET, &format!("{}/{f}", fic_base(g, &id).await?), None)
                .await
        }
        FederatedCommand::Delete {
            id,
            federated_credential_id: f,
        } => {
            g.call(Method::DELETE, &format!("{}/{f}", fic_base(g, &id).await?), None)
                .await?;
            Ok(Value::Null)
        }
    }
}

pub(super) async fn fic_base(g: &Graph, id: &str) -> Result<String, String> {
    let app = g.application(id).await?;
    Ok(format!(
        "applications/{}/federatedIdentityCredentials",
        str_of(&app, "id")?
    ))
}
