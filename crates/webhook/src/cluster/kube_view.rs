//! The cluster view fed by the Kubernetes API: a reflector cache of Instrumentations (full
//! objects, all namespaces; there are few) and a [`MetadataCache`] of Namespaces, ReplicaSets
//! and Jobs, fed by metadata-only watches and keeping only the fields a decision reads, so that
//! memory stays flat on big clusters. A ReplicaSet created a moment ago may not have reached the
//! cache when its first pods arrive, so an owner miss falls back to one direct GET.

use std::{
    fmt::Debug,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use futures::{future::BoxFuture, StreamExt};
use k8s_openapi::{
    api::{apps::v1::ReplicaSet, batch::v1::Job, core::v1::Namespace},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    api::Api,
    runtime::{
        reflector::{self, Store},
        watcher, WatchStreamExt,
    },
    Client, Resource,
};
use otel_inject_lib::instrumentation::StoredInstrumentation;
use otel_inject_lib::{Instrumentation, NamespaceInfo, OwnerKey, OwnerObject};
use tokio::task::JoinHandle;

use super::{
    metadata_cache::{Applied, Cache, MetadataCache, OwnerKind},
    slim_meta::{SlimKind, SlimMeta},
    ClusterView,
};

type OnError = Arc<dyn Fn(&'static str, String) + Send + Sync>;

/// Watch-backed view. Cheap to share behind an `Arc`.
pub struct KubeView {
    client: Client,
    /// Read leniently: a CR without `spec` (the CRD allows it) must not stop the cache.
    instrumentations: Store<StoredInstrumentation>,
    metadata: Arc<MetadataCache>,
    synced: Arc<[(&'static str, AtomicBool); 4]>,
}

impl Debug for KubeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeView")
            .field("sizes", &self.cache_sizes())
            .finish()
    }
}

/// Indexes into `synced`, in the order `readiness` names them.
const INSTRUMENTATIONS: usize = 0;
const NAMESPACES: usize = 1;
const REPLICASETS: usize = 2;
const JOBS: usize = 3;

impl KubeView {
    /// Starts the watches. Errors are passed to `on_error` (for logs and metrics) and the
    /// watches retry with backoff; the view reports ready once every cache has listed once.
    pub fn start(client: Client, on_error: OnError) -> (Arc<Self>, Vec<JoinHandle<()>>) {
        let synced = Arc::new([
            ("instrumentations", AtomicBool::new(false)),
            ("namespaces", AtomicBool::new(false)),
            ("replicasets", AtomicBool::new(false)),
            ("jobs", AtomicBool::new(false)),
        ]);
        let metadata = Arc::new(MetadataCache::new());
        let mut tasks = Vec::new();

        let (instrumentations, writer) = reflector::store();
        let stream = watcher(
            Api::<StoredInstrumentation>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .modify(|i| i.meta_mut().managed_fields = None)
        .reflect(writer);
        tasks.push(drive_reflector(
            synced[INSTRUMENTATIONS].0,
            stream,
            on_error.clone(),
        ));
        let (store, flags) = (instrumentations.clone(), synced.clone());
        tasks.push(tokio::spawn(async move {
            if store.wait_until_ready().await.is_ok() {
                flags[INSTRUMENTATIONS].1.store(true, Ordering::Release);
            }
        }));

        let feed = |cache, index| Feed {
            cache,
            index,
            metadata: metadata.clone(),
            synced: synced.clone(),
            on_error: on_error.clone(),
        };
        tasks.push(watch_metadata::<Namespace>(
            &client,
            feed(Cache::Namespaces, NAMESPACES),
        ));
        tasks.push(watch_metadata::<ReplicaSet>(
            &client,
            feed(Cache::Owners(OwnerKind::ReplicaSet), REPLICASETS),
        ));
        tasks.push(watch_metadata::<Job>(
            &client,
            feed(Cache::Owners(OwnerKind::Job), JOBS),
        ));

        let view = Arc::new(Self {
            client,
            instrumentations,
            metadata,
            synced,
        });
        (view, tasks)
    }
}

fn drive_reflector<S, K, E>(name: &'static str, stream: S, on_error: OnError) -> JoinHandle<()>
where
    S: futures::Stream<Item = Result<watcher::Event<K>, E>> + Send + 'static,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                on_error(name, e.to_string());
            }
        }
    })
}

/// Where one metadata watch delivers.
struct Feed {
    cache: Cache,
    index: usize,
    metadata: Arc<MetadataCache>,
    synced: Arc<[(&'static str, AtomicBool); 4]>,
    on_error: OnError,
}

/// A metadata-only list and watch of every `K` (the API server sends `PartialObjectMetadata`),
/// each object parsed straight into the few fields kept ([`SlimMeta`]) and reduced to a cache
/// entry as it arrives.
fn watch_metadata<K: SlimKind>(client: &Client, feed: Feed) -> JoinHandle<()> {
    let stream = watcher(
        Api::<SlimMeta<K>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff();
    tokio::spawn(async move {
        let name = feed.synced[feed.index].0;
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => {
                    if feed.metadata.apply(feed.cache, metadata_event(event)) == Applied::Listed {
                        feed.synced[feed.index].1.store(true, Ordering::Release);
                    }
                }
                Err(e) => (feed.on_error)(name, e.to_string()),
            }
        }
    })
}

fn metadata_event<K>(event: watcher::Event<SlimMeta<K>>) -> watcher::Event<ObjectMeta> {
    use watcher::Event::*;
    match event {
        Apply(o) => Apply(o.metadata),
        Delete(o) => Delete(o.metadata),
        Init => Init,
        InitApply(o) => InitApply(o.metadata),
        InitDone => InitDone,
    }
}

fn owner_from_meta(kind: OwnerKind, meta: ObjectMeta) -> OwnerObject {
    OwnerObject {
        kind: kind.as_str().to_string(),
        name: meta.name.unwrap_or_default(),
        uid: meta.uid.unwrap_or_default(),
        owner_references: meta.owner_references.unwrap_or_default(),
    }
}

impl ClusterView for KubeView {
    fn reads_never_block(&self) -> bool {
        // The caches are in memory; their lock is held for one map operation at a time (a relist
        // sweep at most).
        true
    }

    fn readiness(&self) -> Result<(), String> {
        let pending: Vec<&str> = self
            .synced
            .iter()
            .filter(|(_, done)| !done.load(Ordering::Acquire))
            .map(|(name, _)| *name)
            .collect();
        if pending.is_empty() {
            Ok(())
        } else {
            Err(format!("caches not synced yet: {}", pending.join(", ")))
        }
    }

    fn namespace(&self, name: &str) -> Option<NamespaceInfo> {
        self.metadata.namespace(name)
    }

    fn instrumentations(&self, namespace: &str) -> Vec<Arc<Instrumentation>> {
        self.instrumentations
            .state()
            .into_iter()
            .filter(|i| i.0.metadata.namespace.as_deref() == Some(namespace))
            .map(|i| Arc::clone(&i.0))
            .collect()
    }

    fn owner(&self, namespace: &str, key: &OwnerKey) -> Option<OwnerObject> {
        self.metadata
            .owner(OwnerKind::parse(&key.kind)?, namespace, &key.name)
    }

    fn fetch_owner<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a OwnerKey,
    ) -> BoxFuture<'a, Result<Option<OwnerObject>, String>> {
        Box::pin(async move {
            let Some(kind) = OwnerKind::parse(&key.kind) else {
                return Ok(None);
            };
            let found = match kind {
                OwnerKind::ReplicaSet => {
                    Api::<ReplicaSet>::namespaced(self.client.clone(), namespace)
                        .get_metadata_opt(&key.name)
                        .await
                        .map(|o| o.map(|r| r.metadata))
                }
                OwnerKind::Job => Api::<Job>::namespaced(self.client.clone(), namespace)
                    .get_metadata_opt(&key.name)
                    .await
                    .map(|o| o.map(|j| j.metadata)),
            };
            found
                .map(|o| o.map(|meta| owner_from_meta(kind, meta)))
                .map_err(|e| e.to_string())
        })
    }

    fn cache_sizes(&self) -> Vec<(&'static str, usize)> {
        let [namespaces, replicasets, jobs] = self.metadata.sizes();
        vec![
            ("instrumentations", self.instrumentations.len()),
            ("namespaces", namespaces),
            ("replicasets", replicasets),
            ("jobs", jobs),
        ]
    }
}
