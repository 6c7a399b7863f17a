//! The directory as one node sees it (ARCHITECTURE.md "Scale-out"). Tenants and signing keys are held
//! whole; applications, service principals, resource names and role assignments are held in bounded
//! caches that fill from the store on a miss, so a million applications never mean a million entries
//! in memory, and a warm client's token needs no store round trip.
//!
//! Freshness comes from the store's change feed: [`Directory::sync`] reads the changes after this
//! node's position and drops exactly those entries (or reloads the tenant or the keys they name). A
//! node that has not confirmed its position for [`STALE_AFTER`] refuses to decide (fail closed).
//!
//! A fill that raced an invalidation must not put back what was just dropped: fills and invalidations
//! pass through one gate, and a fill is cached only if no invalidation came between its read and its
//! insert (the epoch it saw is still current).

use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use gatehouse_jose::kek::Kek;
use gatehouse_proto::{AppId, ObjectId, TenantId};
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::keys::KeyRing;
use crate::model::{Change, ServicePrincipalRecord};
use crate::snapshot::{ClientEntry, Snapshot, TenantIndex};
use crate::store::{Store, StoreError};
use crate::CoreError;

/// How long the directory may go unconfirmed before security decisions stop being made from it.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// Changes read per round trip while catching up.
const CHANGES_PER_READ: i64 = 1000;

/// How many entries each cache holds (`--directory-cache-entries`).
pub const DEFAULT_CACHE_ENTRIES: usize = 50_000;

type Epoch = Mutex<u64>;

/// A bounded cache of store lookups, including "not there" answers.
struct Lookups<K, V> {
    entries: Cache<K, V>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Eq + Hash + Clone, V: Clone> Lookups<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            entries: Cache::new(capacity.max(16)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn stats(&self, name: &'static str) -> CacheStats {
        CacheStats {
            name,
            entries: self.entries.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The cached value, or `fetch`'s, cached unless an invalidation came in between.
    async fn get_or_fetch<F>(&self, gate: &Epoch, key: K, fetch: F) -> Result<V, StoreError>
    where
        F: std::future::Future<Output = Result<V, StoreError>>,
    {
        if let Some(v) = self.entries.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let seen = *gate.lock().map_err(|_| poisoned())?;
        let v = fetch.await?;
        let now = gate.lock().map_err(|_| poisoned())?;
        if *now == seen {
            self.entries.insert(key, v.clone());
        }
        Ok(v)
    }
}

fn poisoned() -> StoreError {
    StoreError::Unavailable("the directory cache lock was poisoned".into())
}

/// One cache's counters, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct CacheStats {
    pub name: &'static str,
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
}

/// The node's directory: whole tenants and keys, cached lookups, and the proof that they are fresh.
pub struct Directory {
    store: Arc<dyn Store>,
    kek: Kek,
    tenants: ArcSwap<TenantIndex>,
    keys: ArcSwap<KeyRing>,
    clients: Lookups<AppId, Option<Arc<ClientEntry>>>,
    /// (tenant, appId) → service principal.
    principals: Lookups<(TenantId, AppId), Option<Arc<ServicePrincipalRecord>>>,
    /// (tenant, name key) → appId.
    names: Lookups<(TenantId, String), Option<AppId>>,
    /// principal SP id → (resource SP id, app role id) pairs it holds.
    roles: Lookups<ObjectId, Arc<Vec<(ObjectId, Uuid)>>>,
    /// Gatehouse's own first-party client, served for every tenant (`first_party`), when this node
    /// serves the portal.
    portal: Option<Arc<ClientEntry>>,
    /// Bumped by every invalidation; see the module docs.
    epoch: Epoch,
    /// The change-feed position every cached entry reflects.
    position: AtomicI64,
    started: Instant,
    /// Milliseconds after `started` at which the store last confirmed the position.
    confirmed_at_ms: AtomicU64,
}

impl Directory {
    /// Reads the tenants and keys; fails if the store cannot be read.
    pub async fn load(store: Arc<dyn Store>, kek: Kek, cache_entries: usize) -> Result<Self, StoreError> {
        let dir = Self {
            store,
            kek,
            tenants: ArcSwap::from_pointee(TenantIndex::default()),
            keys: ArcSwap::from_pointee(KeyRing::default()),
            clients: Lookups::new(cache_entries),
            principals: Lookups::new(cache_entries),
            names: Lookups::new(cache_entries),
            roles: Lookups::new(cache_entries),
            portal: None,
            epoch: Mutex::new(0),
            position: AtomicI64::new(0),
            started: Instant::now(),
            confirmed_at_ms: AtomicU64::new(0),
        };
        dir.reload_all().await?;
        Ok(dir)
    }

    /// Serves the portal's first-party client, whose redirect URI is under `base_url`
    /// ([`crate::first_party`]).
    pub fn with_portal(mut self, base_url: &str) -> Self {
        self.portal = Some(Arc::new(crate::first_party::portal_client(base_url)));
        self
    }

    /// The store behind the directory, for what is read by key on every request and never cached
    /// (refresh tokens, users at sign-in, consent).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Fails when the directory has not been confirmed fresh for [`STALE_AFTER`].
    pub fn fresh(&self) -> Result<(), CoreError> {
        if self.unconfirmed_for() > STALE_AFTER {
            return Err(CoreError::Unavailable);
        }
        Ok(())
    }

    /// An empty snapshot with every tenant and key, if the directory is fresh; a grant adds the
    /// entries it reads.
    pub fn snapshot(&self) -> Result<Snapshot, CoreError> {
        self.fresh()?;
        Ok(Snapshot::new(self.tenants.load_full(), self.keys.load_full()))
    }

    /// The tenants regardless of freshness, for public material (discovery) served while the store is
    /// down.
    pub fn tenants(&self) -> Arc<TenantIndex> {
        self.tenants.load_full()
    }

    /// The signing keys regardless of freshness (JWKS, and checking tokens Gatehouse signed).
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.load_full()
    }

    /// The change-feed position this node has applied.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// How long since the store last confirmed this node's position (the change feed's lag, as far
    /// as this node can tell: past [`STALE_AFTER`] it fails closed).
    pub fn unconfirmed_for(&self) -> Duration {
        let confirmed = Duration::from_millis(self.confirmed_at_ms.load(Ordering::Acquire));
        self.started.elapsed().saturating_sub(confirmed)
    }

    /// Each cache's size and hit counters.
    pub fn cache_stats(&self) -> [CacheStats; 4] {
        [
            self.clients.stats("clients"),
            self.principals.stats("service_principals"),
            self.names.stats("resource_names"),
            self.roles.stats("roles"),
        ]
    }

    pub async fn client(&self, app_id: AppId) -> Result<Option<Arc<ClientEntry>>, StoreError> {
        if let Some(portal) = self.portal.as_ref().filter(|p| p.app.app.app_id == app_id) {
            return Ok(Some(Arc::clone(portal)));
        }
        let store = &self.store;
        self.clients
            .get_or_fetch(&self.epoch, app_id, async move {
                Ok(store
                    .client(app_id)
                    .await?
                    .map(|r| Arc::new(ClientEntry::from(r))))
            })
            .await
    }

    pub async fn service_principal(
        &self,
        tenant: TenantId,
        app_id: AppId,
    ) -> Result<Option<Arc<ServicePrincipalRecord>>, StoreError> {
        if let Some(portal) = self.portal.as_ref().filter(|p| p.app.app.app_id == app_id) {
            let known = self.tenants.load().get(tenant).is_some();
            return Ok(known.then(|| Arc::new(crate::first_party::portal_service_principal(portal, tenant))));
        }
        let store = &self.store;
        self.principals
            .get_or_fetch(&self.epoch, (tenant, app_id), async move {
                Ok(store
                    .find_service_principal_by_app_id(tenant, app_id)
                    .await?
                    .map(Arc::new))
            })
            .await
    }

    /// The appId holding a resource name (as [`crate::model::name_key`] forms it) in a tenant.
    pub async fn resource_name(&self, tenant: TenantId, key: &str) -> Result<Option<AppId>, StoreError> {
        let store = &self.store;
        self.names
            .get_or_fetch(&self.epoch, (tenant, key.to_string()), async move {
                store.resource_name(tenant, key).await
            })
            .await
    }

    /// The (resource SP id, app role id) pairs a principal holds.
    pub async fn roles_held(&self, principal: ObjectId) -> Result<Arc<Vec<(ObjectId, Uuid)>>, StoreError> {
        let store = &self.store;
        self.roles
            .get_or_fetch(&self.epoch, principal, async move {
                Ok(Arc::new(store.roles_held(principal).await?))
            })
            .await
    }

    /// Applies the changes after this node's position (all of them, in pages) and confirms freshness.
    /// Returns whether anything changed.
    pub async fn sync(&self) -> Result<bool, StoreError> {
        let mut moved = false;
        loop {
            let after = self.position();
            let batch = self.store.changes_since(after, CHANGES_PER_READ).await?;
            if !batch.complete {
                tracing::warn!(
                    position = after,
                    "the change feed was pruned past this node: dropping every cache"
                );
                self.reload_all().await?;
                return Ok(true);
            }
            let Some(&(last, _)) = batch.changes.last() else {
                break;
            };
            self.apply(batch.changes.iter().map(|(_, c)| c)).await?;
            self.position.store(last, Ordering::Release);
            moved = true;
            if (batch.changes.len() as i64) < CHANGES_PER_READ {
                break;
            }
        }
        self.confirm();
        Ok(moved)
    }

    /// Drops what the changes name, then reloads the tenants and keys they name.
    async fn apply<'a>(&self, changes: impl Iterator<Item = &'a Change>) -> Result<(), StoreError> {
        let mut tenants = Vec::new();
        let mut keys = false;
        {
            let mut epoch = self.epoch.lock().map_err(|_| poisoned())?;
            *epoch += 1;
            for c in changes {
                match c {
                    Change::Application(a) => drop(self.clients.entries.remove(a)),
                    Change::ServicePrincipal { tenant, app_id } => {
                        drop(self.principals.entries.remove(&(*tenant, *app_id)))
                    }
                    Change::Assignments(p) => drop(self.roles.entries.remove(p)),
                    Change::Name { tenant, key } => drop(self.names.entries.remove(&(*tenant, key.clone()))),
                    Change::Tenant(t) => tenants.push(*t),
                    Change::Keys => keys = true,
                }
            }
        }
        if !tenants.is_empty() {
            let mut index = TenantIndex::clone(&self.tenants.load());
            let mut deleted = false;
            for id in tenants {
                match self.store.get_tenant(id).await? {
                    Some(t) => index.upsert(t),
                    None => {
                        index.remove(id);
                        deleted = true;
                    }
                }
            }
            self.tenants.store(Arc::new(index));
            if deleted {
                // A deleted tenant takes its applications and principals with it: start over.
                self.clear_caches()?;
            }
        }
        if keys {
            self.reload_keys().await?;
        }
        Ok(())
    }

    /// Reads the position, every tenant and key, and drops every cached entry.
    async fn reload_all(&self) -> Result<(), StoreError> {
        let position = self.store.change_position().await?;
        let tenants = self.store.list_tenants().await?;
        self.tenants.store(Arc::new(TenantIndex::new(tenants)));
        self.reload_keys().await?;
        self.clear_caches()?;
        self.position.store(position, Ordering::Release);
        self.confirm();
        Ok(())
    }

    async fn reload_keys(&self) -> Result<(), StoreError> {
        let rows = self.store.list_keys().await?;
        let keys = KeyRing::build(&rows, &self.kek, &self.keys.load());
        for kid in &keys.unreadable {
            tracing::error!(
                kid,
                "a signing key cannot be unsealed with this node's key-encryption key"
            );
        }
        self.keys.store(Arc::new(keys));
        Ok(())
    }

    fn clear_caches(&self) -> Result<(), StoreError> {
        let mut epoch = self.epoch.lock().map_err(|_| poisoned())?;
        *epoch += 1;
        self.clients.entries.clear();
        self.principals.entries.clear();
        self.names.entries.clear();
        self.roles.entries.clear();
        Ok(())
    }

    fn confirm(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.confirmed_at_ms.store(ms, Ordering::Release);
    }
}
