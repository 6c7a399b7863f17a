//! The in-memory directory every node answers protocol requests from. A [`Snapshot`] is an immutable,
//! indexed copy of the store; [`Directory`] swaps in a new one whenever the store's revision moves, and
//! refuses to answer (fail closed) once it has not confirmed the revision for [`STALE_AFTER`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use gatehouse_jose::kek::Kek;
use gatehouse_jose::ClientCertificate;
use gatehouse_proto::graph::FederatedIdentityCredential;
use gatehouse_proto::tenant::TenantSegment;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::KeyRing;
use crate::model::{
    name_key, ApplicationRecord, DirectoryData, PasswordSecret, ServicePrincipalRecord, Tenant,
};
use crate::store::{DirectoryReader, StoreError};
use crate::CoreError;

/// How long a snapshot may go unconfirmed before security decisions stop being made from it.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: i64,
    pub keys: KeyRing,
    tenants: HashMap<Uuid, Arc<Tenant>>,
    /// Lower-cased verified domain → tenant id.
    domains: HashMap<String, Uuid>,
    /// appId → application (appIds are unique across tenants, as in Entra).
    applications: HashMap<Uuid, Arc<ApplicationRecord>>,
    /// application object id → its secrets.
    secrets: HashMap<Uuid, Vec<PasswordSecret>>,
    /// application object id → its certificates, parsed once per snapshot.
    certificates: HashMap<Uuid, Vec<RegisteredCertificate>>,
    /// application object id → its federated identity credentials.
    federated: HashMap<Uuid, Vec<FederatedIdentityCredential>>,
    /// (tenant id, appId) → service principal.
    service_principals: HashMap<(Uuid, Uuid), Arc<ServicePrincipalRecord>>,
    /// (tenant id, resource name as [`name_key`] forms it) → appId. The store keeps names unique per
    /// tenant, so this map has exactly the entries the store holds.
    names: HashMap<(Uuid, String), Uuid>,
    /// (principal SP id, resource SP id) → app role ids assigned.
    roles: HashMap<(Uuid, Uuid), Vec<Uuid>>,
}

impl Snapshot {
    pub fn build(data: DirectoryData, keys: KeyRing) -> Self {
        let mut s = Self {
            revision: data.revision,
            keys,
            ..Self::default()
        };
        for t in data.tenants {
            for d in &t.domains {
                s.domains.insert(d.to_ascii_lowercase(), t.id);
            }
            s.tenants.insert(t.id, Arc::new(t));
        }
        for a in data.applications {
            let certs = a
                .app
                .key_credentials
                .iter()
                .filter_map(RegisteredCertificate::from_credential);
            s.certificates.insert(a.app.id, certs.collect());
            s.applications.insert(a.app.app_id, Arc::new(a));
        }
        for f in data.federated {
            s.federated
                .entry(f.application_id)
                .or_default()
                .push(f.credential);
        }
        for sec in data.secrets {
            s.secrets.entry(sec.application_id).or_default().push(sec);
        }
        for n in data.names {
            s.names.insert((n.tenant_id, n.key), n.app_id);
        }
        for sp in data.service_principals {
            s.service_principals
                .insert((sp.tenant_id, sp.sp.app_id), Arc::new(sp));
        }
        for a in data.assignments {
            s.roles
                .entry((a.principal_id, a.resource_id))
                .or_default()
                .push(a.app_role_id);
        }
        s
    }

    pub fn tenant(&self, id: Uuid) -> Option<&Tenant> {
        self.tenants.get(&id).map(|t| t.as_ref())
    }

    /// The tenant a GUID or verified domain names; `None` for aliases and unknown tenants.
    pub fn resolve_tenant(&self, seg: &TenantSegment) -> Option<&Tenant> {
        match seg {
            TenantSegment::Id(id) => self.tenant(*id),
            TenantSegment::Domain(d) => self.domains.get(d).and_then(|id| self.tenant(*id)),
            _ => None,
        }
    }

    pub fn application(&self, app_id: Uuid) -> Option<&ApplicationRecord> {
        self.applications.get(&app_id).map(|a| a.as_ref())
    }

    pub fn service_principal(&self, tenant: Uuid, app_id: Uuid) -> Option<&ServicePrincipalRecord> {
        self.service_principals.get(&(tenant, app_id)).map(|s| s.as_ref())
    }

    /// The service principal a resource identifier (appId, identifier URI or service principal name, in
    /// any case, with or without a trailing slash) names in a tenant.
    pub fn resource(&self, tenant: Uuid, name: &str) -> Option<&ServicePrincipalRecord> {
        let key = name_key(name);
        let app_id = match Uuid::try_parse(&key) {
            Ok(app_id) if key.len() == 36 => app_id,
            _ => *self.names.get(&(tenant, key))?,
        };
        self.service_principal(tenant, app_id)
    }

    pub fn secrets(&self, application_id: Uuid) -> &[PasswordSecret] {
        self.secrets
            .get(&application_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn certificates(&self, application_id: Uuid) -> &[RegisteredCertificate] {
        self.certificates
            .get(&application_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn federated_credentials(&self, application_id: Uuid) -> &[FederatedIdentityCredential] {
        self.federated
            .get(&application_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn roles_held(&self, principal: Uuid, resource: Uuid) -> &[Uuid] {
        self.roles
            .get(&(principal, resource))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
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

/// The node's current snapshot plus the proof that it is fresh.
pub struct Directory {
    snapshot: ArcSwap<Snapshot>,
    kek: Kek,
    started: Instant,
    /// Milliseconds after `started` at which the store last confirmed the snapshot's revision.
    confirmed_at_ms: AtomicU64,
}

impl Directory {
    /// Loads the first snapshot; fails if the store cannot be read.
    pub async fn load(store: &dyn DirectoryReader, kek: Kek) -> Result<Self, StoreError> {
        let dir = Self {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            kek,
            started: Instant::now(),
            confirmed_at_ms: AtomicU64::new(0),
        };
        dir.reload(store).await?;
        Ok(dir)
    }

    /// The snapshot, if it is fresh enough to decide on.
    pub fn current(&self) -> Result<Arc<Snapshot>, CoreError> {
        let confirmed = Duration::from_millis(self.confirmed_at_ms.load(Ordering::Acquire));
        if self.started.elapsed().saturating_sub(confirmed) > STALE_AFTER {
            return Err(CoreError::Unavailable);
        }
        Ok(self.snapshot.load_full())
    }

    /// The snapshot regardless of freshness, for public material (discovery, JWKS) that may be served
    /// from memory while the store is down.
    pub fn last_known(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Checks the store's revision and reloads if it moved. Returns whether a reload happened.
    pub async fn sync(&self, store: &dyn DirectoryReader) -> Result<bool, StoreError> {
        let rev = store.revision().await?;
        if rev == self.snapshot.load().revision {
            self.confirm();
            return Ok(false);
        }
        self.reload(store).await?;
        Ok(true)
    }

    /// Reloads unconditionally (after this node's own writes, so it reads them at once).
    pub async fn reload(&self, store: &dyn DirectoryReader) -> Result<(), StoreError> {
        let data = store.load_directory().await?;
        let previous = self.snapshot.load_full();
        let keys = KeyRing::build(&data.keys, &self.kek, &previous.keys);
        for kid in &keys.unreadable {
            tracing::error!(
                kid,
                "a signing key cannot be unsealed with this node's key-encryption key"
            );
        }
        self.snapshot.store(Arc::new(Snapshot::build(data, keys)));
        self.confirm();
        Ok(())
    }

    fn confirm(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.confirmed_at_ms.store(ms, Ordering::Release);
    }
}
