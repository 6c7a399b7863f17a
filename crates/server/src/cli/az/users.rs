//! `user …`, as `az ad user`: create with a password, list, show, update and delete, through Graph.

use reqwest::Method;
use serde_json::{json, Value};

use super::graph::{quoted, Graph};
use super::{filters, UserCommand};

/// A path segment that names a user: object ids and principal names go in as they are, encoded.
fn user_path(id: &str) -> String {
    format!(
        "users/{}",
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
    )
}

pub(super) async fn run(g: &Graph, cmd: UserCommand) -> Result<Value, String> {
    match cmd {
        UserCommand::Create {
            display_name,
            user_principal_name,
            password,
            mail_nickname,
            force_change_password_next_sign_in,
        } => {
            let nickname = mail_nickname.unwrap_or_else(|| {
                user_principal_name
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            let body = json!({
                "accountEnabled": true,
                "displayName": display_name,
                "mailNickname": nickname,
                "userPrincipalName": user_principal_name,
                "passwordProfile": {"password": password,
                                    "forceChangePasswordNextSignIn": force_change_password_next_sign_in},
            });
            g.call(Method::POST, "users", Some(body)).await
        }
        UserCommand::List {
            display_name,
            upn,
            filter,
        } => {
            let filter = filters([
                display_name.map(|d| format!("startswith(displayName,'{}')", quoted(&d))),
                upn.map(|u| format!("userPrincipalName eq '{}'", quoted(&u))),
                filter,
            ]);
            g.list("users", filter).await
        }
        UserCommand::Show(a) => g.call(Method::GET, &user_path(&a.id), None).await,
        UserCommand::Update {
            id,
            display_name,
            password,
            force_change_password_next_sign_in,
            account_enabled,
            mail_nickname,
        } => {
            let mut body = json!({});
            if let Some(v) = display_name {
                body["displayName"] = json!(v);
            }
            if let Some(v) = account_enabled {
                body["accountEnabled"] = json!(v);
            }
            if let Some(v) = mail_nickname {
                body["mailNickname"] = json!(v);
            }
            if password.is_some() || force_change_password_next_sign_in.is_some() {
                let mut profile = json!({});
                if let Some(p) = password {
                    profile["password"] = json!(p);
                    profile["forceChangePasswordNextSignIn"] =
                        json!(force_change_password_next_sign_in.unwrap_or(false));
                } else if let Some(f) = force_change_password_next_sign_in {
                    profile["forceChangePasswordNextSignIn"] = json!(f);
                }
                body["passwordProfile"] = profile;
            }
            if body.as_object().is_some_and(|b| b.is_empty()) {
                return Err("nothing to update: give at least one option (see --help)".into());
            }
            g.call(Method::PATCH, &user_path(&id), Some(body)).await?;
            Ok(Value::Null)
        }
        UserCommand::Delete(a) => {
            g.call(Method::DELETE, &user_path(&a.id), None).await?;
            Ok(Value::Null)
        }
    }
}
