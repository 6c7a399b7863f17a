//! The token endpoint's request form, its success bodies and the claims of the tokens it issues: access
//! tokens (app-only and a user's) and ID tokens (entra-protocol.md §2.0–§2.8, §1.12, §3.2–§3.5).

use serde::{Deserialize, Serialize};

/// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form fields Gatehouse reads. Everything else (MSAL's `client_info`, telemetry, `claims`) is ignored,
/// as Entra ignores it (real-clients.md §10). Each field may appear once.
#[derive(Debug, Default, Clone)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub client_assertion: Option<Secret>,
    pub client_assertion_type: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
    /// ROPC.
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub refresh_token: Option<Secret>,
    /// The authorization code (MSAL's device-code poll also sends the device code here).
    pub code: Option<Secret>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<Secret>,
    pub device_code: Option<Secret>,
    /// `1` asks for `client_info` in the response.
    pub client_info: Option<String>,
    /// On-behalf-of: the user's access token the caller received.
    pub assertion: Option<Secret>,
    /// On-behalf-of: `on_behalf_of`.
    pub requested_token_use: Option<String>,
}

/// A form parameter sent more than once (RFC 6749 §3.2: "MUST NOT be included more than once").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedParameter(pub String);

impl TokenForm {
    /// Builds the form from decoded `key=value` pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, RepeatedParameter> {
        let mut form = Self::default();
        for (k, v) in pairs {
            let slot: &mut Option<String> = match k.as_str() {
                "grant_type" => &mut form.grant_type,
                "client_id" => &mut form.client_id,
                "client_assertion_type" => &mut form.client_assertion_type,
                "scope" => &mut form.scope,
                "resource" => &mut form.resource,
                "username" => &mut form.username,
                "redirect_uri" => &mut form.redirect_uri,
                "client_info" => &mut form.client_info,
                "requested_token_use" => &mut form.requested_token_use,
                _ => {
                    let slot = match k.as_str() {
                        "client_secret" => &mut form.client_secret,
                        "client_assertion" => &mut form.client_assertion,
                        "password" => &mut form.password,
                        "refresh_token" => &mut form.refresh_token,
                        "code" => &mut form.code,
                        "code_verifier" => &mut form.code_verifier,
                        "device_code" => &mut form.device_code,
                        "assertion" => &mut form.assertion,
                        _ => continue,
                    };
                    set_secret(slot, k, v)?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(RepeatedParameter(k));
            }
            *slot = Some(v);
        }
        Ok(form)
    }
}

fn set_secret(slot: &mut Option<Secret>, k: String, v: String) -> Result<(), RepeatedParameter> {
    if slot.is_some() {
        return Err(RepeatedParameter(k));
    }
    *slot = Some(Secret::new(v));
    Ok(())
}

/// A value that must never reach a log: client secrets, assertions, tokens. `Debug` prints a
/// placeholder; the value is reached only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// v2.0 success body (entra-protocol.md §2.0, §2.5). Client credentials send the first four members;
/// a user's flows add `scope`, and `refresh_token`, `id_token`, `client_info` when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponseV2 {
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: u64,
    pub ext_expires_in: u64,
    pub access_token: Secret,
    #[serde(flatten)]
    pub user: UserTokens,
}

/// v1 success body: numbers as strings plus `expires_on`, `not_before`, `resource` (§1.12).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponseV1 {
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: String,
    pub ext_expires_in: String,
    pub expires_on: String,
    pub not_before: String,
    pub resource: String,
    pub access_token: Secret,
    #[serde(flatten)]
    pub user: UserTokens,
}

/// What a user's flows add to a token response, each member only when it was asked for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserTokens {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    /// base64url(`{"uid":oid,"utid":tid}`), when the request had `client_info=1` (§3.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

/// Claims of an app-only access token. One struct for both versions: the members that exist only in
/// one version are `None` in the other and are left out (entra-protocol.md §3.2, §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aio: Option<String>,
    /// v1 only: the client's appId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// v1 only: `"1"` secret, `"2"` certificate or assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<String>,
    /// v2 only: the client's appId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// v2 only: `"1"` secret, `"2"` certificate or assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azpacr: Option<String>,
    /// v1 app-only tokens name the tenant's issuer here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    pub oid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rh: Option<String>,
    /// Present only when at least one app role is assigned (§4.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Delegated scopes, space-separated (user tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
    /// The signed-in user, in a user's tokens (all empty in app-only tokens).
    #[serde(flatten)]
    pub user: UserClaims,
}

/// Who the user is, in a user's access tokens (§3.2): `name` always, `preferred_username` in v2, and in
/// v1 `upn`, `unique_name`, the name parts and the authentication method.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// v1: `"1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// v1: how the user signed in (`["pwd"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

/// An ID token's claims (§3.4): `aud` is the client, `sub` is pairwise per client, `nonce` echoes the
/// authorization request's byte for byte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aio: Option<String>,
    /// When the user proved who they are (OIDC Core §2; a refreshed ID token keeps the sign-in's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// From `/authorize` with a code beside the ID token: half the code's SHA-256 (OIDC Core §3.3.2.11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    /// With the `email` scope, when the user has a mail address (or a UPN, as Entra falls back to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub oid: String,
    /// v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    /// v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rh: Option<String>,
    /// The sign-in session (a sign-in page's session; absent for ROPC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
}

/// `client_info` (§3.5): base64url without padding of `{"uid":oid,"utid":tid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub uid: String,
    pub utid: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn known_fields_are_read_and_unknown_ones_ignored() {
        let f = TokenForm::from_pairs(pairs(&[
            ("grant_type", "client_credentials"),
            ("client_id", "a"),
            ("client_secret", "s"),
            ("client_info", "1"),
            ("x-client-SKU", "msal.js.node"),
        ]))
        .unwrap();
        assert_eq!(f.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(f.client_secret.unwrap().expose(), "s");
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let e = TokenForm::from_pairs(pairs(&[("scope", "a"), ("scope", "b")])).unwrap_err();
        assert_eq!(e, RepeatedParameter("scope".into()));
        assert!(TokenForm::from_pairs(pairs(&[("client_secret", "a"), ("client_secret", "b")])).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let f = TokenForm::from_pairs(pairs(&[("client_secret", "canary-value")])).unwrap();
        assert!(!format!("{f:?}").contains("canary-value"));
    }
}
