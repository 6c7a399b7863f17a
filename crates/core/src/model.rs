//! The records of the directory as core keeps them. Applications and service principals are held in
//! their Graph shape (`gatehouse_proto::graph`), which is also what the store persists; secret hashes
//! live beside them and never in that shape.

use gatehouse_proto::graph::{AppRole, Application, FederatedIdentityCredential, ServicePrincipal};
use gatehouse_proto::{AppId, ObjectId, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    /// Verified domains, lower-cased; the first is the default.
    pub domains: Vec<String>,
    pub created: OffsetDateTime,
    /// Whether users may consent to applications themselves (Graph's authorizationPolicy).
    pub user_consent: gatehouse_proto::UserConsent,
    /// Whether users without a directory role may register applications (Graph's
    /// `defaultUserRolePermissions.allowedToCreateApps`; on by default, as in Entra).
    pub users_can_register_apps: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationRecord {
    pub tenant_id: TenantId,
    /// The Graph shape without password credentials; those are filled in from [`PasswordSecret`]s.
    pub app: Application,
    /// Goes up by one with every stored change; an update names the version it read, so two
    /// concurrent read-modify-writes cannot overwrite each other (optimistic concurrency).
    pub version: i64,
}

/// A client secret as stored: its metadata and the SHA-256 of its value, never the value.
#[derive(Clone, PartialEq)]
pub struct PasswordSecret {
    pub key_id: Uuid,
    pub application_id: ObjectId,
    pub display_name: Option<String>,
    pub hint: String,
    pub hash: [u8; 32],
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl std::fmt::Debug for PasswordSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ApplicationRecord {
    /// The resource names this application holds in its tenant: its identifier URIs.
    pub fn claimed_names(&self) -> Vec<(String, &str)> {
        self.app
            .identifier_uris
            .iter()
            .map(|u| (name_key(u), u.as_str()))
            .collect()
    }

    /// Whether users (and, after an admin's consent, the application itself) of `tenant` may use it:
    /// its own tenant always, others when it is multi-tenant.
    pub fn serves(&self, tenant: TenantId) -> bool {
        self.tenant_id == tenant || self.app.sign_in_audience.is_multi_organization()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePrincipalRecord {
    pub tenant_id: TenantId,
    pub sp: ServicePrincipal,
}

impl ServicePrincipalRecord {
    /// The resource names this service principal holds in its tenant: its service principal names
    /// other than its appId. For the service principal of an application of the same tenant these are
    /// the application's identifier URIs, held by the same appId already.
    pub fn claimed_names(&self) -> Vec<(String, &str)> {
        let own = self.sp.app_id.to_string();
        let mut names: Vec<(String, &str)> = self
            .sp
            .service_principal_names
            .iter()
            .filter(|n| !n.eq_ignore_ascii_case(&own))
            .map(|n| (name_key(n), n.as_str()))
            .collect();
        names.sort();
        names.dedup_by(|a, b| a.0 == b.0);
        names
    }

    /// Its claims as [`ResourceName`]s, for building a directory without a store.
    pub fn resource_names(&self) -> impl Iterator<Item = ResourceName> + '_ {
        self.claimed_names().into_iter().map(|(key, _)| ResourceName {
            tenant_id: self.tenant_id,
            key,
            app_id: self.sp.app_id,
        })
    }
}

/// A user of a tenant: the Graph object, and its password (hashed) with whether it must be changed at
/// the next sign-in. `version` guards updates as an application's does.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub tenant_id: TenantId,
    pub user: gatehouse_proto::graph::User,
    pub password: Option<crate::passwords::PasswordHash>,
    pub force_change_password: bool,
    pub password_changed: OffsetDateTime,
    pub version: i64,
}

/// A delegated permission grant (Graph's `oAuth2PermissionGrant`): the scopes of a resource a client
/// may use on behalf of every user of the tenant (`AllPrincipals`, admin consent) or of one
/// (`Principal`). Consent is data: delegated flows read it.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionGrant {
    pub id: String,
    pub tenant_id: TenantId,
    pub client_id: ObjectId,
    pub resource_id: ObjectId,
    pub consent: Consent,
    /// Scope values, in the order given, without repeats.
    pub scopes: Vec<String>,
}

/// For whom a delegated grant holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    AllPrincipals,
    Principal(ObjectId),
}

impl Consent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AllPrincipals => "AllPrincipals",
            Self::Principal(_) => "Principal",
        }
    }

    pub fn principal(&self) -> Option<ObjectId> {
        match self {
            Self::AllPrincipals => None,
            Self::Principal(p) => Some(*p),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub id: String,
    pub tenant_id: TenantId,
    pub principal_id: ObjectId,
    pub principal_type: gatehouse_proto::PrincipalType,
    pub resource_id: ObjectId,
    pub app_role_id: Uuid,
    pub created: OffsetDateTime,
}

/// A signing key as stored: the private key sealed under the key-encryption key.
#[derive(Clone, PartialEq)]
pub struct StoredKey {
    pub kid: String,
    pub sealed_private_key: Vec<u8>,
    pub certificate_der: Vec<u8>,
    pub created: OffsetDateTime,
    /// When it starts signing; until then it is only published (pre-publication).
    pub activates: OffsetDateTime,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Every row the in-memory directory is built from, read in one consistent pass.
#[derive(Debug, Clone, Default)]
pub struct DirectoryData {
    /// The change feed's position when the rows were read.
    pub position: i64,
    pub tenants: Vec<Tenant>,
    pub applications: Vec<ApplicationRecord>,
    pub secrets: Vec<PasswordSecret>,
    pub service_principals: Vec<ServicePrincipalRecord>,
    pub assignments: Vec<Assignment>,
    pub keys: Vec<StoredKey>,
    pub federated: Vec<FederatedCredentialRecord>,
    pub names: Vec<ResourceName>,
    /// Written with a new tenant (its administrator) and read by whole-directory reads; nodes read
    /// users by key, not from here.
    pub users: Vec<UserRecord>,
    /// The directory roles those users hold (the administrator's Global Administrator).
    pub role_assignments: Vec<DirectoryRoleAssignment>,
}

/// A directory role a user holds in their tenant (Graph's `unifiedRoleAssignment` at directory scope
/// `/`). `role_id` is the built-in role's template id ([`crate::admin::directory_roles::DirectoryRole`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRoleAssignment {
    pub id: String,
    pub tenant_id: TenantId,
    pub principal_id: ObjectId,
    pub role_id: Uuid,
}

/// A name that identifies a resource in a tenant (an application's identifier URI, or a name of a
/// service principal whose application lives elsewhere, such as Microsoft Graph's), held by one appId.
/// The store keeps these unique per tenant, so a token request names exactly one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceName {
    pub tenant_id: TenantId,
    /// The name as [`name_key`] normalises it.
    pub key: String,
    pub app_id: AppId,
}

/// The form in which resource names are compared: ASCII lower case, trailing slashes dropped, so
/// `https://Contoso.com/api/` and `https://contoso.com/api` are one name, as they are one resource
/// when a scope is resolved. (Migration 0003 computes the same with SQL `lower(rtrim(x, '/'))`.)
pub fn name_key(name: &str) -> String {
    name.trim_end_matches('/').to_ascii_lowercase()
}

/// A federated identity credential of an application (by object id).
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedCredentialRecord {
    pub application_id: ObjectId,
    pub credential: FederatedIdentityCredential,
}

/// The app roles that apply to a service principal: its application's when the application is known,
/// else its own (a resource such as Microsoft Graph has no application object in the tenant).
pub fn effective_app_roles<'a>(sp: &'a ServicePrincipal, app: Option<&'a Application>) -> &'a [AppRole] {
    match app {
        Some(a) => &a.app_roles,
        None => &sp.app_roles,
    }
}

/// One entry of the change feed: what a committed write changed, so that every node drops just that
/// from its caches (ARCHITECTURE.md "Scale-out").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// A tenant was created, deleted, or its domains changed.
    Tenant(TenantId),
    /// An application (by appId) or its secrets, certificates or federated credentials changed.
    Application(AppId),
    /// The service principal of an appId in a tenant was created or deleted.
    ServicePrincipal { tenant: TenantId, app_id: AppId },
    /// The app roles a principal (service principal object id) holds changed.
    Assignments(ObjectId),
    /// Who holds a resource name in a tenant changed.
    Name { tenant: TenantId, key: String },
    /// The signing keys changed.
    Keys,
}

/// Changes after a position, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeBatch {
    /// (position, change).
    pub changes: Vec<(i64, Change)>,
    /// False when changes after the asked position were pruned: the reader must drop all it cached.
    pub complete: bool,
}

/// What answering a token request for a client needs of its application: the application, its
/// secrets and its federated credentials, read together.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub app: ApplicationRecord,
    pub secrets: Vec<PasswordSecret>,
    pub federated: Vec<FederatedIdentityCredential>,
}

/// The tokens one sign-in gave one client (security-requirements.md §5.1 "Refresh-token families"):
/// every refresh token rotated from the first belongs to it, and revoking it revokes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub user_id: ObjectId,
    /// The client (appId) the tokens are bound to.
    pub client_id: AppId,
    /// The scopes asked for at sign-in, space-separated, as the client spelled them.
    pub scopes: String,
    /// When the user proved who they are; a later password change ends the family.
    pub auth_time: OffsetDateTime,
    /// The absolute end of the family, however often its tokens are used.
    pub expires_at: OffsetDateTime,
    /// Issued through a single-page application's redirect URI (24 h, and redeemed cross-origin).
    pub spa: bool,
    /// The sign-in session the family came from, ended with it at sign-out.
    pub session_id: Option<String>,
    pub revoked: bool,
}

/// One refresh token as stored: its SHA-256, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefreshToken {
    pub hash: [u8; 32],
    pub family_id: Uuid,
    pub issued_at: OffsetDateTime,
    /// When it was exchanged for its successor.
    pub used_at: Option<OffsetDateTime>,
}

/// A browser's sign-in session: the cookie holds a random value, the store only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: [u8; 32],
    /// The public session id (`sid` in ID tokens); refresh tokens issued in the session carry it.
    pub sid: Uuid,
    pub tenant_id: TenantId,
    pub user_id: ObjectId,
    pub auth_time: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// The applications signed in to through this session (sign-out reaches each one's logout URL).
    pub clients: Vec<AppId>,
}

/// What an authorization code stands for, fixed when the user finished at `/authorize` (RFC 6749
/// §4.1.2: bound to the client, the redirect URI and the PKCE challenge).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "CodeGrantDoc", into = "CodeGrantDoc")]
pub struct CodeGrant {
    pub client_id: AppId,
    pub redirect_uri: String,
    /// Issued through a single-page application's redirect URI: redeemed cross-origin only.
    pub spa: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `S256` or `plain`.
    pub code_challenge_method: Option<String>,
    pub user_id: ObjectId,
    pub auth_time: OffsetDateTime,
    pub sid: Option<Uuid>,
    /// The refresh-token family the redemption starts; a second redemption revokes it.
    pub family_id: Uuid,
    /// Whether the `/authorize` request had `client_info=1`.
    pub client_info: bool,
}

/// A [`CodeGrant`] as the store keeps it. `auth_time` is whole seconds (what earlier versions wrote
/// and read); `auth_time_us` the same instant in microseconds, as the store keeps every other time, so
/// that a password set in the same second as the sign-in does not look newer than it (which would end
/// the code's refresh tokens at once). Nodes of either version read what the other writes.
#[derive(serde::Serialize, serde::Deserialize)]
struct CodeGrantDoc {
    client_id: AppId,
    redirect_uri: String,
    spa: bool,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    user_id: ObjectId,
    auth_time: i64,
    #[serde(default)]
    auth_time_us: Option<i64>,
    sid: Option<Uuid>,
    family_id: Uuid,
    client_info: bool,
}

impl From<CodeGrant> for CodeGrantDoc {
    fn from(g: CodeGrant) -> Self {
        Self {
            client_id: g.client_id,
            redirect_uri: g.redirect_uri,
            spa: g.spa,
            scope: g.scope,
            nonce: g.nonce,
            code_challenge: g.code_challenge,
            code_challenge_method: g.code_challenge_method,
            user_id: g.user_id,
            auth_time: g.auth_time.unix_timestamp(),
            auth_time_us: i64::try_from(g.auth_time.unix_timestamp_nanos() / 1000).ok(),
            sid: g.sid,
            family_id: g.family_id,
            client_info: g.client_info,
        }
    }
}

impl From<CodeGrantDoc> for CodeGrant {
    fn from(d: CodeGrantDoc) -> Self {
        let precise = d
            .auth_time_us
            .and_then(|us| OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).ok());
        Self {
            client_id: d.client_id,
            redirect_uri: d.redirect_uri,
            spa: d.spa,
            scope: d.scope,
            nonce: d.nonce,
            code_challenge: d.code_challenge,
            code_challenge_method: d.code_challenge_method,
            user_id: d.user_id,
            auth_time: precise
                .or_else(|| OffsetDateTime::from_unix_timestamp(d.auth_time).ok())
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            sid: d.sid,
            family_id: d.family_id,
            client_info: d.client_info,
        }
    }
}

/// An authorization code as stored: its SHA-256, never the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub hash: [u8; 32],
    pub tenant_id: TenantId,
    pub grant: CodeGrant,
    pub expires_at: OffsetDateTime,
    pub redeemed: bool,
}

/// A device code (RFC 8628): what the device polls with (stored as its SHA-256) and what the user
/// types at `/devicelogin` (the user code, stored normalised), and where the sign-in has got to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    pub device_hash: [u8; 32],
    /// Upper case, letters only (what [`crate::device::normalize_user_code`] makes of what was typed).
    pub user_code: String,
    pub tenant_id: TenantId,
    pub client_id: AppId,
    pub scope: String,
    pub expires_at: OffsetDateTime,
    pub interval_secs: i64,
    pub state: DeviceState,
    /// The refresh-token family the redemption starts.
    pub family_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    /// The user signed in and consented on the device page.
    Approved {
        user_id: ObjectId,
        auth_time: OffsetDateTime,
        sid: Uuid,
    },
    Declined,
    /// The device got its tokens.
    Redeemed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codes_sign_in_time_keeps_its_microseconds_and_earlier_documents_still_read() {
        let auth_time = OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_000).unwrap();
        let grant = CodeGrant {
            client_id: AppId::default(),
            redirect_uri: "https://app.example/cb".into(),
            spa: false,
            scope: "openid".into(),
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            user_id: ObjectId::default(),
            auth_time,
            sid: None,
            family_id: Uuid::nil(),
            client_info: false,
        };
        let mut doc = serde_json::to_value(&grant).unwrap();
        assert_eq!(doc["auth_time"], 1_790_000_000, "what earlier versions read");
        assert_eq!(serde_json::from_value::<CodeGrant>(doc.clone()).unwrap(), grant);
        doc.as_object_mut().unwrap().remove("auth_time_us");
        let earlier: CodeGrant = serde_json::from_value(doc).unwrap();
        assert_eq!(earlier.auth_time.unix_timestamp(), 1_790_000_000);
    }
}

/// A user-assigned managed identity (issue #12): a service principal of type `ManagedIdentity` with no
/// application, named in its tenant. `client_id` is its service principal's appId, `principal_id` its
/// object id. Processes prove they may use it with a header secret (`IDENTITY_HEADER`), stored hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentity {
    pub tenant_id: TenantId,
    pub principal_id: ObjectId,
    pub client_id: AppId,
    pub name: String,
    pub created: OffsetDateTime,
}

impl ManagedIdentity {
    /// Its Azure resource id, the `mi_res_id` / `msi_res_id` a client may select it by. Gatehouse has
    /// no subscriptions: the tenant id stands in for one, in a resource group named `gatehouse`.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/gatehouse/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
            self.tenant_id, self.name
        )
    }
}

/// How a managed identity is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKey {
    ClientId(AppId),
    PrincipalId(ObjectId),
    /// By name in a tenant (any case).
    Name(TenantId, String),
    /// By the SHA-256 of a header secret it was given.
    Header([u8; 32]),
}
