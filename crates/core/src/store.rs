//! The storage interface core needs, as narrow async traits composed into [`Store`]. Each write is one
//! transaction that also appends what it changed to the change feed, which every node follows to drop
//! just that from its caches.
//! Implementations live in `gatehouse-store` (SQLite and PostgreSQL) and pass one conformance suite.

use async_trait::async_trait;
use gatehouse_proto::graph::FederatedIdentityCredential;
use gatehouse_proto::{AppId, ObjectId, TenantId, UserConsent};
use uuid::Uuid;

use crate::audit::{AuditEntry, LogKind, LogQuery, SignInEntry};
use crate::model::{
    ApplicationRecord, Assignment, ChangeBatch, ClientRecord, DeviceCode, DeviceState, DirectoryData,
    DirectoryRoleAssignment, FederatedCredentialRecord, IdentityKey, ManagedIdentity, PasswordSecret,
    PermissionGrant, RefreshFamily, ServicePrincipalRecord, Session, StoredCode, StoredKey,
    StoredRefreshToken, Tenant, UserRecord,
};

/// A page of a tenant's applications, service principals or users in display-name order (lower-cased,
/// then object id): those after `after`, whose name starts with `prefix` if given, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamePage {
    pub prefix: Option<String>,
    /// Only the applications this user owns (ignored for service principals and users).
    pub owner: Option<ObjectId>,
    /// The last row of the previous page: its name key and id.
    pub after: Option<(String, ObjectId)>,
    pub limit: usize,
}

/// The key a name sorts and is searched by.
pub fn name_key(display_name: &str) -> String {
    display_name.to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or timed out; callers fail closed (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken: which one, never the database's words.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A row references something that does not exist. The text is the database's, for the log only.
    #[error("missing reference: {0}")]
    MissingReference(String),
    /// The record changed after it was read (optimistic concurrency): read it again and retry.
    #[error("the record changed since it was read")]
    Stale,
    /// A stored row could not be read back (the store is damaged or from a newer version).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// A uniqueness rule a write would break. Stores report which rule; each surface maps it to its own
/// shape once (Graph: `crates/server/src/routes/graph/errors.rs`). The texts are Graph's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another application or service principal of the tenant holds this identifier URI or name.
    #[error("Another object with the same value for property identifierUris already exists: '{0}'.")]
    IdentifierUri(String),
    /// The application already has a service principal in the tenant (its appId is the taken name).
    #[error("The service principal cannot be created, updated, or restored because the service principal name {0} is already in use.")]
    ServicePrincipal(AppId),
    #[error("Permission being assigned already exists on the object.")]
    Assignment,
    /// The user holds this directory role already.
    #[error(
        "A conflicting object with one or more of the specified property values is present in the directory."
    )]
    RoleAssignment,
    /// Another user of the tenant has this userPrincipalName.
    #[error("Another object with the same value for property userPrincipalName already exists.")]
    UserPrincipalName(String),
    /// The client holds a grant of this kind for this resource already (change its scope instead).
    #[error("Permission entry already exists.")]
    PermissionGrant,
    #[error("A federated identity credential named '{0}' already exists.")]
    FederatedCredentialName(String),
    #[error("A federated identity credential with this issuer and subject already exists.")]
    FederatedCredentialSubject,
    /// The application holds as many federated credentials as it may (the limit is in the text).
    #[error("An application can hold at most {0} federated identity credentials.")]
    TooManyFederatedCredentials(usize),
    /// Another managed identity of the tenant has this name.
    #[error("A managed identity named '{0}' already exists in the tenant.")]
    IdentityName(String),
    /// A verified domain belongs to a tenant already.
    #[error("The domain '{0}' is already verified by a tenant.")]
    Domain(String),
    /// The store was bootstrapped already (by this node or another).
    #[error("The store already holds a tenant.")]
    Bootstrapped,
    /// Other writes kept changing the object while this one retried.
    #[error("The object was changed by other requests while this one was applied; retry the request.")]
    Contended,
    /// Any other unique key (an object id or appId that already exists).
    #[error("Another object with the same key already exists.")]
    Key,
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Writes a tenant's rows (a new tenant with its domains, or more rows of one: applications,
    /// secrets, service principals, assignments; names follow from them) in one transaction:
    /// `Conflict::Domain` if one of its domains is verified by another tenant already.
    async fn create_tenant(&self, rows: &DirectoryData) -> Result<(), StoreError>;
    /// The tenant with its verified domains, read from the store (not a node's snapshot), for checks
    /// that guard a write.
    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant that verified `domain` (any case).
    async fn find_tenant_by_domain(&self, domain: &str) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Adds a verified domain; `false` if the tenant does not exist, `Conflict::Domain` if any tenant
    /// has it already.
    async fn add_domain(&self, tenant_id: TenantId, domain: &str) -> Result<bool, StoreError>;
    /// Deletes the tenant and everything in it; `false` if it does not exist.
    /// Sets whether users may consent themselves; `false` if the tenant does not exist. Every node
    /// sees it within a second (a tenant change).
    async fn set_user_consent(&self, tenant_id: TenantId, setting: UserConsent) -> Result<bool, StoreError>;
    /// Sets whether users without a role may register applications; as [`TenantStore::set_user_consent`].
    async fn set_users_can_register_apps(
        &self,
        tenant_id: TenantId,
        allowed: bool,
    ) -> Result<bool, StoreError>;
    async fn delete_tenant(&self, id: TenantId) -> Result<bool, StoreError>;
    async fn tenant_count(&self) -> Result<i64, StoreError>;
    /// Writes a first directory (the rows of [`TenantStore::create_tenant`] and signing keys) in one
    /// transaction, only while the store holds no tenant (`Conflict::Bootstrapped` otherwise, so two
    /// nodes starting at once bootstrap exactly once).
    async fn bootstrap(&self, data: &DirectoryData) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Stores a new application and claims its identifier URIs in its tenant, in one transaction
    /// (`Conflict::IdentifierUri` if another object of the tenant holds one).
    async fn insert_application(&self, app: &ApplicationRecord) -> Result<(), StoreError>;
    /// [`ApplicationStore::insert_application`] with `owner` (a user of its tenant) as its first owner,
    /// in the same transaction.
    async fn insert_owned_application(
        &self,
        app: &ApplicationRecord,
        owner: ObjectId,
    ) -> Result<(), StoreError>;
    /// Adds a user as an owner of an application; `false` if they already are one. A user or
    /// application that does not exist is `MissingReference`.
    async fn add_owner(
        &self,
        tenant_id: TenantId,
        application: ObjectId,
        user: ObjectId,
    ) -> Result<bool, StoreError>;
    /// `false` if the user was not an owner.
    async fn remove_owner(
        &self,
        tenant_id: TenantId,
        application: ObjectId,
        user: ObjectId,
    ) -> Result<bool, StoreError>;
    /// The users owning an application.
    async fn owners(&self, application: ObjectId) -> Result<Vec<ObjectId>, StoreError>;
    async fn is_owner(&self, application: ObjectId, user: ObjectId) -> Result<bool, StoreError>;
    /// Replaces the stored application if it is still at `app.version` (else `Stale`), and its
    /// identifier URI claims with it; `false` if it does not exist. The stored version goes up by one.
    async fn update_application(&self, app: &ApplicationRecord) -> Result<bool, StoreError>;
    /// Deletes the application, its secrets, its service principals and their assignments, and frees
    /// its identifier URIs.
    async fn delete_application(&self, tenant_id: TenantId, id: ObjectId) -> Result<bool, StoreError>;
    async fn get_application(
        &self,
        tenant_id: TenantId,
        id: ObjectId,
    ) -> Result<Option<ApplicationRecord>, StoreError>;
    async fn list_applications(&self, tenant_id: TenantId) -> Result<Vec<ApplicationRecord>, StoreError>;
    /// One page of the tenant's applications (an index range, not the whole list).
    async fn application_page(
        &self,
        tenant_id: TenantId,
        page: &NamePage,
    ) -> Result<Vec<ApplicationRecord>, StoreError>;
    async fn count_applications(&self, tenant_id: TenantId) -> Result<u64, StoreError>;
    async fn find_application_by_app_id(
        &self,
        tenant_id: TenantId,
        app_id: AppId,
    ) -> Result<Option<ApplicationRecord>, StoreError>;
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn insert_secret(&self, secret: &PasswordSecret) -> Result<(), StoreError>;
    async fn delete_secret(&self, application_id: ObjectId, key_id: Uuid) -> Result<bool, StoreError>;
    async fn list_secrets(&self, application_id: ObjectId) -> Result<Vec<PasswordSecret>, StoreError>;
    /// The secrets of every application of a tenant, in one read.
    async fn list_tenant_secrets(&self, tenant_id: TenantId) -> Result<Vec<PasswordSecret>, StoreError>;
}

#[async_trait]
pub trait ServicePrincipalStore: Send + Sync {
    /// Stores a service principal (`Conflict::ServicePrincipal` if its application has one in the
    /// tenant already). Its names are claimed in the tenant beside its application's identifier URIs;
    /// a name held by another appId is `Conflict::IdentifierUri`.
    async fn insert_service_principal(&self, sp: &ServicePrincipalRecord) -> Result<(), StoreError>;
    /// Applies `update` to the stored service principal inside the write's transaction (writers are
    /// serialised, so nothing read in it can change before the write); `None` if there is none.
    async fn update_service_principal(
        &self,
        tenant_id: TenantId,
        id: ObjectId,
        update: &gatehouse_proto::graph::ServicePrincipalUpdate,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError>;
    /// Deletes the service principal and every assignment it holds or grants.
    async fn delete_service_principal(&self, tenant_id: TenantId, id: ObjectId) -> Result<bool, StoreError>;
    async fn get_service_principal(
        &self,
        tenant_id: TenantId,
        id: ObjectId,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError>;
    async fn list_service_principals(
        &self,
        tenant_id: TenantId,
    ) -> Result<Vec<ServicePrincipalRecord>, StoreError>;
    async fn find_service_principal_by_app_id(
        &self,
        tenant_id: TenantId,
        app_id: AppId,
    ) -> Result<Option<ServicePrincipalRecord>, StoreError>;
    /// One page of the tenant's service principals (an index range, not the whole list).
    async fn service_principal_page(
        &self,
        tenant_id: TenantId,
        page: &NamePage,
    ) -> Result<Vec<ServicePrincipalRecord>, StoreError>;
}

/// Users. Their principal names are unique per tenant in any case (the store keeps them lower-cased in
/// its key).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Conflict::UserPrincipalName` if the tenant has a user with that name.
    async fn insert_user(&self, u: &UserRecord) -> Result<(), StoreError>;
    /// Replaces the user if it is still at `u.version` (else `Stale`); `false` if it does not exist.
    async fn update_user(&self, u: &UserRecord) -> Result<bool, StoreError>;
    /// Deletes the user and the delegated grants made for it alone.
    async fn delete_user(&self, tenant_id: TenantId, id: ObjectId) -> Result<bool, StoreError>;
    async fn get_user(&self, tenant_id: TenantId, id: ObjectId) -> Result<Option<UserRecord>, StoreError>;
    async fn find_user_by_upn(
        &self,
        tenant_id: TenantId,
        upn: &str,
    ) -> Result<Option<UserRecord>, StoreError>;
    async fn list_users(&self, tenant_id: TenantId) -> Result<Vec<UserRecord>, StoreError>;
    /// One page of the tenant's users by display name; the prefix matches the display name or the
    /// user principal name (the page's `owner` is ignored).
    async fn user_page(&self, tenant_id: TenantId, page: &NamePage) -> Result<Vec<UserRecord>, StoreError>;
    async fn count_users(&self, tenant_id: TenantId) -> Result<u64, StoreError>;
}

/// Delegated permission grants. Delegated flows read them from the store on every request (not from a
/// node's cache), so a revoked consent holds at once; their rows go with either service principal
/// (foreign keys) and with the tenant.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a grant (`Conflict::PermissionGrant` if the client holds one of the same kind, for the
    /// same principal, on the same resource).
    async fn insert_grant(&self, g: &PermissionGrant) -> Result<(), StoreError>;
    /// Replaces a grant's scopes; `false` if it does not exist.
    async fn update_grant_scopes(
        &self,
        tenant_id: TenantId,
        id: &str,
        scopes: &[String],
    ) -> Result<bool, StoreError>;
    async fn delete_grant(&self, tenant_id: TenantId, id: &str) -> Result<bool, StoreError>;
    async fn list_grants(&self, tenant_id: TenantId) -> Result<Vec<PermissionGrant>, StoreError>;
    /// The grant of one kind a client holds on a resource: tenant-wide (`principal` `None`) or for one
    /// user.
    async fn find_grant(
        &self,
        tenant_id: TenantId,
        client_id: ObjectId,
        resource_id: ObjectId,
        principal: Option<ObjectId>,
    ) -> Result<Option<PermissionGrant>, StoreError>;
    /// The scope values a client may use on a resource for a user: its tenant-wide grant's and its
    /// grant for that user, with repeats.
    async fn consented_scopes(
        &self,
        tenant_id: TenantId,
        client_id: ObjectId,
        resource_id: ObjectId,
        user_id: ObjectId,
    ) -> Result<Vec<String>, StoreError>;
}

#[async_trait]
pub trait AssignmentStore: Send + Sync {
    async fn insert_assignment(&self, a: &Assignment) -> Result<(), StoreError>;
    async fn delete_assignment(&self, tenant_id: TenantId, id: &str) -> Result<bool, StoreError>;
    async fn list_assignments(&self, tenant_id: TenantId) -> Result<Vec<Assignment>, StoreError>;
    /// The tenant's assignments one principal holds, or in one resource's roles, oldest first (by
    /// index, not the tenant's whole list).
    async fn list_assignments_of(
        &self,
        tenant_id: TenantId,
        of: AssignmentsOf,
    ) -> Result<Vec<Assignment>, StoreError>;
}

/// Whose app role assignments to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentsOf {
    /// Those the principal (a service principal or a user) holds.
    Principal(ObjectId),
    /// Those in the roles of this resource's service principal.
    Resource(ObjectId),
}

/// What a rotation request did (see [`KeyStore::rotate_keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The new key was stored.
    Added,
    /// A key already waiting to activate was kept and the new one discarded: its kid.
    AlreadyPending(String),
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// In one write transaction: a normal rotation stores `key` only if no stored key activates after
    /// `now` (so two nodes rotating at once add one key between them); an emergency rotation deletes
    /// every other key and stores `key`.
    async fn rotate_keys(
        &self,
        key: &StoredKey,
        now: time::OffsetDateTime,
        emergency: bool,
    ) -> Result<Rotation, StoreError>;
    /// Removes retired keys; returns how many were removed.
    async fn delete_keys(&self, kids: &[String]) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait FederatedCredentialStore: Send + Sync {
    /// Stores a new credential, checking in the same transaction that its application holds fewer
    /// than `limit` (`Conflict::TooManyFederatedCredentials`), that no other holds its name
    /// (`Conflict::FederatedCredentialName`) or its issuer and subject
    /// (`Conflict::FederatedCredentialSubject`).
    async fn insert_federated(&self, rec: &FederatedCredentialRecord, limit: usize)
        -> Result<(), StoreError>;
    /// Replaces a credential if it is still `read` (else `Stale`), checking issuer and subject as
    /// [`FederatedCredentialStore::insert_federated`] does; `false` if it does not exist.
    async fn update_federated(
        &self,
        rec: &FederatedCredentialRecord,
        read: &FederatedIdentityCredential,
    ) -> Result<bool, StoreError>;
    async fn delete_federated(&self, application_id: ObjectId, id: Uuid) -> Result<bool, StoreError>;
    async fn list_federated(
        &self,
        application_id: ObjectId,
    ) -> Result<Vec<FederatedCredentialRecord>, StoreError>;
}

/// Failed password sign-ins, counted per key (an account, a client address) for smart lockout. Not part
/// of the directory: a failure bumps no revision. Counting is one atomic statement per key, so two
/// nodes failing the same account at once both count.
#[async_trait]
pub trait SignInStore: Send + Sync {
    /// The failures recorded for each key (0 and `None` for a key never seen).
    async fn sign_in_failures(
        &self,
        keys: &[String],
    ) -> Result<Vec<(u32, Option<time::OffsetDateTime>)>, StoreError>;
    /// Adds one failure at `now` to each key; returns each key's new count.
    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        now: time::OffsetDateTime,
    ) -> Result<Vec<u32>, StoreError>;
    /// Forgets a key's failures (after a successful sign-in).
    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError>;
    /// Forgets keys whose last failure was before `before`.
    async fn prune_sign_in_failures(&self, before: time::OffsetDateTime) -> Result<u64, StoreError>;
}

/// Refresh tokens, by their SHA-256 (security-requirements.md §5.1). Not part of the directory. Rotation
/// is one conditional update, so of two nodes redeeming one token at once exactly the rules below hold.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Starts a family with its first token.
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &StoredRefreshToken,
    ) -> Result<(), StoreError>;
    /// A token and its family.
    async fn find_refresh_token(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(StoredRefreshToken, RefreshFamily)>, StoreError>;
    /// Exchanges `old` for `new` (same family) in one transaction. It succeeds when `old` is unused, or
    /// was used at or after `grace_from` (a client retrying because it never saw the answer), and its
    /// family is not revoked. Otherwise the token is being reused: the family is revoked, and `false`.
    async fn rotate_refresh_token(
        &self,
        old: &[u8; 32],
        new: &StoredRefreshToken,
        grace_from: time::OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Revokes every family of a user; returns how many were live.
    async fn revoke_user_refresh_tokens(
        &self,
        tenant_id: TenantId,
        user_id: ObjectId,
    ) -> Result<u64, StoreError>;
    /// Forgets families past their absolute end, and tokens issued before `idle_before`.
    async fn prune_refresh_tokens(
        &self,
        now: time::OffsetDateTime,
        idle_before: time::OffsetDateTime,
    ) -> Result<u64, StoreError>;
}

/// Browser sessions and authorization codes, by their SHA-256. Not part of the directory.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError>;
    async fn find_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError>;
    /// Ends a session (sign-out): deletes it and revokes the refresh tokens issued in it. Returns it.
    async fn end_session(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError>;
    /// Records that `client` signed in through the session (once; again changes nothing).
    async fn add_session_client(&self, id_hash: &[u8; 32], client: AppId) -> Result<(), StoreError>;
    async fn insert_code(&self, code: &StoredCode) -> Result<(), StoreError>;
    async fn find_code(&self, hash: &[u8; 32]) -> Result<Option<StoredCode>, StoreError>;
    /// Marks a code redeemed, once (RFC 6749 §4.1.2). A second redemption returns `false` and
    /// revokes the refresh-token family the first one started (RFC 6819 §5.2.1.1).
    async fn redeem_code(&self, hash: &[u8; 32], now: time::OffsetDateTime) -> Result<bool, StoreError>;
    /// Forgets sessions and codes that expired before `now`.
    async fn prune_sessions_and_codes(&self, now: time::OffsetDateTime) -> Result<u64, StoreError>;
}

/// Device codes (RFC 8628), by the device code's SHA-256 and by the user code. Not part of the directory.
/// Each change of state is one conditional update.
#[async_trait]
pub trait DeviceCodeStore: Send + Sync {
    /// `Conflict` if the user code is taken (the caller draws another).
    async fn insert_device_code(&self, d: &DeviceCode) -> Result<(), StoreError>;
    /// Records a poll at `now`; the code and when it was polled before.
    async fn poll_device_code(
        &self,
        device_hash: &[u8; 32],
        now: time::OffsetDateTime,
    ) -> Result<Option<(DeviceCode, Option<time::OffsetDateTime>)>, StoreError>;
    async fn find_device_code(&self, user_code: &str) -> Result<Option<DeviceCode>, StoreError>;
    /// Approves or declines a pending code (`state` is `Approved` or `Declined`); `false` if it was no
    /// longer pending.
    async fn settle_device_code(&self, user_code: &str, state: &DeviceState) -> Result<bool, StoreError>;
    /// Marks an approved code redeemed, once.
    async fn redeem_device_code(&self, device_hash: &[u8; 32]) -> Result<bool, StoreError>;
    async fn prune_device_codes(&self, before: time::OffsetDateTime) -> Result<u64, StoreError>;
}

/// Managed identities (issue #12). An identity is deleted with its service principal
/// ([`ServicePrincipalStore::delete_service_principal`]), which takes its header secrets with it.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Its service principal and the identity, in one transaction; `Conflict::IdentityName` if the
    /// tenant has one of that name.
    async fn insert_identity(
        &self,
        identity: &ManagedIdentity,
        sp: &ServicePrincipalRecord,
    ) -> Result<(), StoreError>;
    /// The identities of one tenant, or of all, oldest first.
    async fn list_identities(&self, tenant_id: Option<TenantId>) -> Result<Vec<ManagedIdentity>, StoreError>;
    async fn find_identity(&self, key: &IdentityKey) -> Result<Option<ManagedIdentity>, StoreError>;
    /// Adds a header secret's hash to the identity, keeping its newest `keep`; `false` if the identity
    /// is gone.
    async fn add_identity_header(
        &self,
        principal_id: ObjectId,
        hash: &[u8; 32],
        now: time::OffsetDateTime,
        keep: usize,
    ) -> Result<bool, StoreError>;
}

/// Single-use client assertion ids (OIDC Core §9). Not part of the directory: recording one bumps no
/// change, so no node drops anything.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records each assertion id (client id, `jti`, remembered until) in one transaction; for each,
    /// `false` if it was already recorded, earlier or in this batch (a replay). Committed before it
    /// returns, so a token is never handed out on an unrecorded assertion. One commit for many
    /// requests is what keeps the durable write off the critical path under load.
    async fn record_assertions(
        &self,
        batch: &[(String, String, time::OffsetDateTime)],
    ) -> Result<Vec<bool>, StoreError>;
    /// Forgets ids whose assertions expired before `now`.
    async fn prune_assertions(&self, now: time::OffsetDateTime) -> Result<u64, StoreError>;
}

/// What every node's directory reads: the change feed, and the few rows a token request needs, by key.
#[async_trait]
pub trait DirectoryReader: Send + Sync {
    /// The position of the newest change (0 before the first).
    async fn change_position(&self) -> Result<i64, StoreError>;
    /// Up to `limit` changes after position `after`, oldest first.
    async fn changes_since(&self, after: i64, limit: i64) -> Result<ChangeBatch, StoreError>;
    /// Forgets changes recorded before `before` (nodes further behind drop their caches).
    async fn prune_changes(&self, before: time::OffsetDateTime) -> Result<u64, StoreError>;
    /// A client's application, secrets and federated credentials, by appId.
    async fn client(&self, app_id: AppId) -> Result<Option<ClientRecord>, StoreError>;
    /// The appId holding a resource name (as [`crate::model::name_key`] forms it) in a tenant.
    async fn resource_name(&self, tenant_id: TenantId, key: &str) -> Result<Option<AppId>, StoreError>;
    /// The (resource service principal, app role) pairs a principal holds.
    async fn roles_held(&self, principal_id: ObjectId) -> Result<Vec<(ObjectId, Uuid)>, StoreError>;
    /// Every row, read in one transaction so that it is consistent (for tests and offline tools; nodes
    /// read by key).
    async fn load_directory(&self) -> Result<DirectoryData, StoreError>;
    /// A cheap round trip that writes (one row of its own), for readiness: it fails while the store
    /// cannot be reached or cannot take a write (a full disk, a read-only file).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Flushes and closes (SQLite checkpoints its WAL); called once on graceful shutdown.
    async fn close(&self);
    /// Resolves when another writer may have changed the directory (PostgreSQL: a NOTIFY). Stores
    /// without change notifications never resolve; watchers poll the feed as well either way.
    async fn changed(&self) {
        std::future::pending::<()>().await
    }
    /// The connection pool's size and idle connections, for metrics.
    fn pool_state(&self) -> PoolState {
        PoolState::default()
    }
}

/// How many connections a store holds open, and how many of them wait unused.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolState {
    pub open: u32,
    pub idle: usize,
    pub max: u32,
}

/// Everything core needs from storage.
/// The directory roles users hold.
#[async_trait]
pub trait DirectoryRoleStore: Send + Sync {
    /// Stores an assignment (`Conflict::RoleAssignment` if the user holds the role already; a missing
    /// user is `MissingReference`).
    async fn insert_role_assignment(&self, a: &DirectoryRoleAssignment) -> Result<(), StoreError>;
    async fn delete_role_assignment(&self, tenant_id: TenantId, id: &str) -> Result<bool, StoreError>;
    /// The tenant's assignments, or one user's.
    async fn list_role_assignments(
        &self,
        tenant_id: TenantId,
        principal: Option<ObjectId>,
    ) -> Result<Vec<DirectoryRoleAssignment>, StoreError>;
}

/// The audit and sign-in logs (`crate::audit`). A successful Graph write's audit record is not
/// written here: the store adds it in the write's own transaction.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// A record of its own: a refused write, which has no transaction to join.
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Sign-in records, in one transaction.
    async fn record_sign_ins(&self, entries: &[SignInEntry]) -> Result<(), StoreError>;
    async fn audits(&self, query: &LogQuery) -> Result<Vec<AuditEntry>, StoreError>;
    async fn sign_ins(&self, query: &LogQuery) -> Result<Vec<SignInEntry>, StoreError>;
    /// Deletes up to `limit` of a log's records older than `before`; returns how many it deleted.
    async fn prune_log(
        &self,
        kind: LogKind,
        before: time::OffsetDateTime,
        limit: i64,
    ) -> Result<u64, StoreError>;
}

pub trait Store:
    TenantStore
    + ApplicationStore
    + SecretStore
    + ServicePrincipalStore
    + AssignmentStore
    + GrantStore
    + UserStore
    + DirectoryRoleStore
    + SignInStore
    + RefreshTokenStore
    + SessionStore
    + DeviceCodeStore
    + KeyStore
    + FederatedCredentialStore
    + IdentityStore
    + ReplayStore
    + DirectoryReader
    + LogStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: TenantStore
        + ApplicationStore
        + SecretStore
        + ServicePrincipalStore
        + AssignmentStore
        + GrantStore
        + UserStore
        + DirectoryRoleStore
        + SignInStore
        + RefreshTokenStore
        + SessionStore
        + DeviceCodeStore
        + KeyStore
        + FederatedCredentialStore
        + IdentityStore
        + ReplayStore
        + DirectoryReader
        + LogStore
        + Send
        + Sync
{
}
