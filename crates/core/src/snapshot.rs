//! What a decision is made from: an immutable set of directory entries. A node builds one per token
//! request holding just the entries that request reads (from its caches, or the store on a miss, see
//! [`crate::Directory`]); tests build a whole one from [`DirectoryData`]. Its lookups are the same
//! either way, so the grants are pure functions of it.

use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_jose::ClientCertificate;
use gatehouse_proto::graph::FederatedIdentityCredential;
use gatehouse_proto::tenant::TenantSegment;
use gatehouse_proto::{AppId, ObjectId, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::KeyRing;
use crate::model::{
    name_key, ApplicationRecord, ClientRecord, DirectoryData, PasswordSecret, ServicePrincipalRecord, Tenant,
};

/// Every tenant, by id and by verified domain. Small enough to hold whole (a hundred thousand tenants
/// are a few tens of megabytes), so resolving a tenant never waits on the store.
#[derive(Debug, Default, Clone)]
pub struct TenantIndex {
    by_id: HashMap<TenantId, Arc<Tenant>>,
    /// Lower-cased verified domain → tenant id.
    by_domain: HashMap<String, TenantId>,
}

impl TenantIndex {
    pub fn new(tenants: impl IntoIterator<Item = Tenant>) -> Self {
        let mut index = Self::default();
        for t in tenants {
            index.upsert(t);
        }
        index
    }

    /// Adds a tenant, or replaces it (and its domains).
    pub fn upsert(&mut self, t: Tenant) {
        self.remove(t.id);
        for d in &t.domains {
            self.by_domain.insert(d.to_ascii_lowercase(), t.id);
        }
        self.by_id.insert(t.id, Arc::new(t));
    }

    pub fn remove(&mut self, id: TenantId) {
        if let Some(old) = self.by_id.remove(&id) {
            for d in &old.domains {
                self.by_domain.remove(&d.to_ascii_lowercase());
            }
        }
    }

    pub fn get(&self, id: TenantId) -> Option<&Tenant> {
        self.by_id.get(&id).map(|t| t.as_ref())
    }

    /// The tenant a GUID or verified domain names; `None` for aliases and unknown tenants.
    pub fn resolve(&self, seg: &TenantSegment) -> Option<&Tenant> {
        match seg {
            TenantSegment::Id(id) => self.get(TenantId(*id)),
            TenantSegment::Domain(d) => self.by_domain.get(d).and_then(|id| self.get(*id)),
            _ => None,
        }
    }

    /// The tenant holding the domain of a user's name (`alice@contoso.com`), as Entra finds a user's
    /// home at `organizations`.
    pub fn of_user(&self, username: &str) -> Option<&Tenant> {
        let (_, domain) = username.rsplit_once('@')?;
        self.by_domain
            .get(&domain.to_ascii_lowercase())
            .and_then(|id| self.get(*id))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// An application with what authenticating it needs: its secrets, its certificates (parsed once) and
/// its federated credentials.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    pub app: ApplicationRecord,
    pub secrets: Vec<PasswordSecret>,
    pub certificates: Vec<RegisteredCertificate>,
    pub federated: Vec<FederatedIdentityCredential>,
}

impl From<ClientRecord> for ClientEntry {
    fn from(r: ClientRecord) -> Self {
        let certificates = r
            .app
            .app
            .key_credentials
            .iter()
            .filter_map(RegisteredCertificate::from_credential)
            .collect();
        Self {
            app: r.app,
            secrets: r.secrets,
            certificates,
            federated: r.federated,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub keys: Arc<KeyRing>,
    tenants: Arc<TenantIndex>,
    /// appId → application entry (appIds are unique across tenants, as in Entra).
    clients: HashMap<AppId, Arc<ClientEntry>>,
    /// application object id → appId.
    object_ids: HashMap<ObjectId, AppId>,
    /// (tenant id, appId) → service principal.
    service_principals: HashMap<(TenantId, AppId), Arc<ServicePrincipalRecord>>,
    /// (tenant id, resource name as [`name_key`] forms it) → appId.
    names: HashMap<(TenantId, String), AppId>,
    /// (principal SP id, resource SP id) → app role ids assigned.
    roles: HashMap<(ObjectId, ObjectId), Vec<Uuid>>,
}

impl Snapshot {
    /// A snapshot with every tenant and key and no other entry yet.
    pub fn new(tenants: Arc<TenantIndex>, keys: Arc<KeyRing>) -> Self {
        Self {
            keys,
            tenants,
            ..Self::default()
        }
    }

    /// The whole directory as one snapshot (tests, and tools that read everything).
    pub fn build(data: DirectoryData, keys: KeyRing) -> Self {
        let mut s = Self::new(Arc::new(TenantIndex::new(data.tenants)), Arc::new(keys));
        let mut secrets: HashMap<ObjectId, Vec<PasswordSecret>> = HashMap::new();
        for sec in data.secrets {
            secrets.entry(sec.application_id).or_default().push(sec);
        }
        let mut federated: HashMap<ObjectId, Vec<FederatedIdentityCredential>> = HashMap::new();
        for f in data.federated {
            federated.entry(f.application_id).or_default().push(f.credential);
        }
        for app in data.applications {
            let id = app.app.id;
            s.add_client(Arc::new(ClientEntry::from(ClientRecord {
                app,
                secrets: secrets.remove(&id).unwrap_or_default(),
                federated: federated.remove(&id).unwrap_or_default(),
            })));
        }
        for n in data.names {
            s.names.insert((n.tenant_id, n.key), n.app_id);
        }
        for sp in data.service_principals {
            s.add_service_principal(Arc::new(sp));
        }
        for a in data.assignments {
            s.roles
                .entry((a.principal_id, a.resource_id))
                .or_default()
                .push(a.app_role_id);
        }
        s
    }

    pub fn add_client(&mut self, entry: Arc<ClientEntry>) {
        self.object_ids.insert(entry.app.app.id, entry.app.app.app_id);
        self.clients.insert(entry.app.app.app_id, entry);
    }

    pub fn add_service_principal(&mut self, sp: Arc<ServicePrincipalRecord>) {
        self.service_principals.insert((sp.tenant_id, sp.sp.app_id), sp);
    }

    pub fn add_name(&mut self, tenant: TenantId, key: String, app_id: AppId) {
        self.names.insert((tenant, key), app_id);
    }

    /// The roles `principal` holds, as (resource SP id, app role id) pairs.
    pub fn add_roles(&mut self, principal: ObjectId, held: &[(ObjectId, Uuid)]) {
        for (resource, role) in held {
            self.roles.entry((principal, *resource)).or_default().push(*role);
        }
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenants.get(id)
    }

    /// The tenant a GUID or verified domain names; `None` for aliases and unknown tenants.
    pub fn resolve_tenant(&self, seg: &TenantSegment) -> Option<&Tenant> {
        self.tenants.resolve(seg)
    }

    /// The tenant holding the domain of a user's name.
    pub fn tenant_of_user(&self, username: &str) -> Option<&Tenant> {
        self.tenants.of_user(username)
    }

    pub fn application(&self, app_id: AppId) -> Option<&ApplicationRecord> {
        self.clients.get(&app_id).map(|c| &c.app)
    }

    pub fn service_principal(&self, tenant: TenantId, app_id: AppId) -> Option<&ServicePrincipalRecord> {
        self.service_principals.get(&(tenant, app_id)).map(|s| s.as_ref())
    }

    /// The service principal a resource identifier (appId, identifier URI or service principal name, in
    /// any case, with or without a trailing slash) names in a tenant.
    pub fn resource(&self, tenant: TenantId, name: &str) -> Option<&ServicePrincipalRecord> {
        let app_id = resource_app_id(name).or_else(|| self.names.get(&(tenant, name_key(name))).copied())?;
        self.service_principal(tenant, app_id)
    }

    /// The entry of the application with this object id.
    fn by_object_id(&self, application_id: ObjectId) -> Option<&ClientEntry> {
        let app_id = self.object_ids.get(&application_id)?;
        self.clients.get(app_id).map(|c| c.as_ref())
    }

    pub fn secrets(&self, application_id: ObjectId) -> &[PasswordSecret] {
        self.by_object_id(application_id)
            .map(|c| c.secrets.as_slice())
            .unwrap_or(&[])
    }

    pub fn certificates(&self, application_id: ObjectId) -> &[RegisteredCertificate] {
        self.by_object_id(application_id)
            .map(|c| c.certificates.as_slice())
            .unwrap_or(&[])
    }

    pub fn federated_credentials(&self, application_id: ObjectId) -> &[FederatedIdentityCredential] {
        self.by_object_id(application_id)
            .map(|c| c.federated.as_slice())
            .unwrap_or(&[])
    }

    pub fn roles_held(&self, principal: ObjectId, resource: ObjectId) -> &[Uuid] {
        self.roles
            .get(&(principal, resource))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// A resource named by its appId (a GUID in its hyphenated form) rather than by a name.
pub fn resource_app_id(name: &str) -> Option<AppId> {
    let key = name_key(name);
    (key.len() == 36).then(|| AppId::parse(&key)).flatten()
}

/// A certificate credential of an application, ready to verify client assertions with.
#[derive(Debug, Clone)]
pub struct RegisteredCertificate {
    pub certificate: Arc<ClientCertificate>,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl RegisteredCertificate {
    /// `None` for a stored credential whose key does not parse (it was checked when it was added).
    fn from_credential(k: &gatehouse_proto::graph::KeyCredential) -> Option<Self> {
        let der = gatehouse_jose::b64std_decode(k.key.as_deref()?)?;
        let certificate = ClientCertificate::parse(&der).ok()?;
        Some(Self {
            certificate: Arc::new(certificate),
            start: k.start_date_time,
            end: k.end_date_time,
        })
    }
}
