//! The cluster view fed by the Kubernetes API: reflector caches of Instrumentations (full
//! objects, all namespaces) and of Namespaces, ReplicaSets and Jobs (metadata only, and only
//! the fields a decision reads, to keep memory flat on big clusters). A ReplicaSet created a
//! moment ago may not have reached the cache when its first pods arrive, so an owner miss
//! falls back to one direct GET.

use std::{
    collections::BTreeMap,
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
    api::{Api, PartialObjectMeta},
    runtime::{
        reflector::{self, ObjectRef, Store},
        watcher, WatchStreamExt,
    },
    Client, Resource,
};
use otel_inject_lib::instrumentation::StoredInstrumentation;
use otel_inject_lib::{Instrumentation, NamespaceInfo, OwnerKey, OwnerObject};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::ClusterView;

/// Reflector-backed view. Cheap to share behind an `Arc`.
pub struct KubeView {
    client: Client,
    /// Read leniently: a CR without `spec` (the CRD allows it) must not stop the cache.
    instrumentations: Store<StoredInstrumentation>,
    namespaces: Store<PartialObjectMeta<Namespace>>,
    replicasets: Store<PartialObjectMeta<ReplicaSet>>,
    jobs: Store<PartialObjectMeta<Job>>,
    synced: Arc<[(&'static str, AtomicBool); 4]>,
}

impl Debug for KubeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeView")
            .field("sizes", &self.cache_sizes())
            .finish()
    }
}

/// Drops what no decision reads from cached metadata (managed fields, labels, annotations of
/// owners): on a cluster with thousands of ReplicaSets this is most of the memory.
fn slim_owner_meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    meta.annotations = None;
    meta.labels = None;
    meta.finalizers = None;
}

fn slim_namespace_meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    meta.finalizers = None;
}

impl KubeView {
    /// Starts the watches. Errors are passed to `on_error` (for logs and metrics) and the
    /// watches retry with backoff; the view reports ready once every cache has listed once.
    pub fn start(
        client: Client,
        on_error: Arc<dyn Fn(&'static str, String) + Send + Sync>,
    ) -> (Arc<Self>, Vec<JoinHandle<()>>) {
        let synced = Arc::new([
            ("instrumentations", AtomicBool::new(false)),
            ("namespaces", AtomicBool::new(false)),
            ("replicasets", AtomicBool::new(false)),
            ("jobs", AtomicBool::new(false)),
        ]);
        let mut tasks = Vec::new();
        let config = watcher::Config::default();

        let (instrumentations, writer) = reflector::store();
        let stream = watcher(
            Api::<StoredInstrumentation>::all(client.clone()),
            config.clone(),
        )
        .default_backoff()
        .modify(|i| i.meta_mut().managed_fields = None)
        .reflect(writer);
        tasks.push(drive("instrumentations", stream, on_error.clone()));

        let (namespaces, writer) = reflector::store();
        let stream = watcher(
            Api::<PartialObjectMeta<Namespace>>::all(client.clone()),
            config.clone(),
        )
        .default_backoff()
        .modify(|n: &mut PartialObjectMeta<Namespace>| slim_namespace_meta(&mut n.metadata))
        .reflect(writer);
        tasks.push(drive("namespaces", stream, on_error.clone()));

        let (replicasets, writer) = reflector::store();
        let stream = watcher(
            Api::<PartialObjectMeta<ReplicaSet>>::all(client.clone()),
            config.clone(),
        )
        .default_backoff()
        .modify(|r: &mut PartialObjectMeta<ReplicaSet>| slim_owner_meta(&mut r.metadata))
        .reflect(writer);
        tasks.push(drive("replicasets", stream, on_error.clone()));

        let (jobs, writer) = reflector::store();
        let stream = watcher(Api::<PartialObjectMeta<Job>>::all(client.clone()), config)
            .default_backoff()
            .modify(|j: &mut PartialObjectMeta<Job>| slim_owner_meta(&mut j.metadata))
            .reflect(writer);
        tasks.push(drive("jobs", stream, on_error));

        tasks.push(mark_ready(instrumentations.clone(), synced.clone(), 0));
        tasks.push(mark_ready(namespaces.clone(), synced.clone(), 1));
        tasks.push(mark_ready(replicasets.clone(), synced.clone(), 2));
        tasks.push(mark_ready(jobs.clone(), synced.clone(), 3));

        let view = Arc::new(Self {
            client,
            instrumentations,
            namespaces,
            replicasets,
            jobs,
            synced,
        });
        (view, tasks)
    }
}

fn drive<S, K, E>(
    name: &'static str,
    stream: S,
    on_error: Arc<dyn Fn(&'static str, String) + Send + Sync>,
) -> JoinHandle<()>
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

fn mark_ready<K>(
    store: Store<K>,
    synced: Arc<[(&'static str, AtomicBool); 4]>,
    index: usize,
) -> JoinHandle<()>
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    tokio::spawn(async move {
        if store.wait_until_ready().await.is_ok() {
            synced[index].1.store(true, Ordering::Release);
        }
    })
}

fn owner_from_meta(kind: &str, meta: &ObjectMeta) -> OwnerObject {
    OwnerObject {
        kind: kind.to_string(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        owner_references: meta.owner_references.clone().unwrap_or_default(),
    }
}

fn get_meta<K>(
    store: &Store<PartialObjectMeta<K>>,
    namespace: &str,
    name: &str,
) -> Option<Arc<PartialObjectMeta<K>>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + 'static,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

impl ClusterView for KubeView {
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
        let ns = self.namespaces.get(&ObjectRef::new(name))?;
        let to_map = |m: &Option<BTreeMap<String, String>>| m.clone().unwrap_or_default();
        Some(NamespaceInfo {
            name: name.to_string(),
            labels: to_map(&ns.metadata.labels),
            annotations: to_map(&ns.metadata.annotations),
        })
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
        if key.kind.eq_ignore_ascii_case("ReplicaSet") {
            get_meta(&self.replicasets, namespace, &key.name)
                .map(|r| owner_from_meta("ReplicaSet", &r.metadata))
        } else if key.kind.eq_ignore_ascii_case("Job") {
            get_meta(&self.jobs, namespace, &key.name).map(|j| owner_from_meta("Job", &j.metadata))
        } else {
            None
        }
    }

    fn fetch_owner<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a OwnerKey,
    ) -> BoxFuture<'a, Result<Option<OwnerObject>, String>> {
        Box::pin(async move {
            let result = if key.kind.eq_ignore_ascii_case("ReplicaSet") {
                Api::<ReplicaSet>::namespaced(self.client.clone(), namespace)
                    .get_metadata_opt(&key.name)
                    .await
                    .map(|o| o.map(|r| owner_from_meta("ReplicaSet", &r.metadata)))
            } else if key.kind.eq_ignore_ascii_case("Job") {
                Api::<Job>::namespaced(self.client.clone(), namespace)
                    .get_metadata_opt(&key.name)
                    .await
                    .map(|o| o.map(|j| owner_from_meta("Job", &j.metadata)))
            } else {
                Ok(None)
            };
            result.map_err(|e| e.to_string())
        })
    }

    fn cache_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("instrumentations", self.instrumentations.len()),
            ("namespaces", self.namespaces.len()),
            ("replicasets", self.replicasets.len()),
            ("jobs", self.jobs.len()),
        ]
    }
}
