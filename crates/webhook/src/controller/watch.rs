//! The controller's view of the cluster: one reflector per kind the decision reads
//! (Namespaces, Instrumentations, the three workload kinds, ReplicaSets to find a pod's
//! Deployment, Pods), each of which wakes the reconciler on any change. A snapshot of them is
//! exactly the input of `otel-inject status`.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::Api;
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use otel_inject_lib::{Instrumentation, NamespaceInfo};
use serde_json::Value;
use tokio::sync::Notify;

use super::decide::WorkloadKind;
use crate::status::Snapshot;

/// Hears of each watch error, with the resource it concerns (the watch retries with backoff).
pub type WatchErrorHook = Arc<dyn Fn(&'static str, &watcher::Error) + Send + Sync>;

/// A watched kind: what it is and its cache.
struct Watched {
    ar: ApiResource,
    store: Store<DynamicObject>,
}

/// The caches.
pub struct ClusterCaches {
    namespaces: Watched,
    instrumentations: Watched,
    workloads: Vec<Watched>,
    replicasets: Watched,
    pods: Watched,
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// The ApiResource of a workload kind.
pub fn workload_resource(kind: WorkloadKind) -> ApiResource {
    resource("apps", "v1", kind.as_str(), kind.plural())
}

fn as_json(obj: &DynamicObject, ar: &ApiResource) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    v["kind"] = Value::String(ar.kind.clone());
    v["apiVersion"] = Value::String(ar.api_version.clone());
    v
}

impl ClusterCaches {
    /// Starts the watches. `changed` is notified on every event; `on_error` hears of each watch
    /// error (the watch retries with backoff).
    pub fn start(
        client: &Client,
        changed: Arc<Notify>,
        on_error: WatchErrorHook,
    ) -> (Self, Vec<tokio::task::JoinHandle<()>>) {
        let mut tasks = Vec::new();
        let mut watch = |ar: ApiResource, label: &'static str| {
            let writer = reflector::store::Writer::new(ar.clone());
            let store = writer.as_reader();
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let changed = changed.clone();
            let on_error = on_error.clone();
            let stream = watcher(api, watcher::Config::default()).default_backoff();
            tasks.push(tokio::spawn(async move {
                reflector::reflector(writer, stream)
                    .for_each(|event| {
                        match event {
                            Ok(_) => changed.notify_one(),
                            Err(e) => on_error(label, &e),
                        }
                        futures::future::ready(())
                    })
                    .await;
            }));
            Watched { ar, store }
        };
        let namespaces = watch(resource("", "v1", "Namespace", "namespaces"), "namespaces");
        let instrumentations = watch(
            resource(
                "opentelemetry.io",
                "v1alpha1",
                "Instrumentation",
                "instrumentations",
            ),
            "instrumentations",
        );
        let workloads = WorkloadKind::ALL
            .into_iter()
            .map(|k| watch(workload_resource(k), k.plural()))
            .collect();
        let replicasets = watch(
            resource("apps", "v1", "ReplicaSet", "replicasets"),
            "replicasets",
        );
        let pods = watch(resource("", "v1", "Pod", "pods"), "pods");
        (
            Self {
                namespaces,
                instrumentations,
                workloads,
                replicasets,
                pods,
            },
            tasks,
        )
    }

    fn all(&self) -> impl Iterator<Item = &Watched> {
        [
            &self.namespaces,
            &self.instrumentations,
            &self.replicasets,
            &self.pods,
        ]
        .into_iter()
        .chain(self.workloads.iter())
    }

    /// Waits until every cache holds its first full list.
    pub async fn wait_ready(&self) {
        for w in self.all() {
            let _ = w.store.wait_until_ready().await;
        }
    }

    /// The resourceVersion of a workload as cached, if it is.
    pub fn resource_version(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
    ) -> Option<String> {
        let w = self.workloads.iter().find(|w| w.ar.kind == kind.as_str())?;
        let key = ObjectRef::new_with(name, w.ar.clone()).within(namespace);
        w.store.get(&key)?.metadata.resource_version.clone()
    }

    /// Everything cached, as `status` reads it.
    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for n in self.namespaces.store.state() {
            let name = n.metadata.name.clone().unwrap_or_default();
            let mut info = NamespaceInfo::named(name.clone());
            info.labels = n.metadata.labels.clone().unwrap_or_default();
            info.annotations = n.metadata.annotations.clone().unwrap_or_default();
            snapshot.namespaces.insert(name, info);
        }
        for i in self.instrumentations.store.state() {
            let mut v = as_json(&i, &self.instrumentations.ar);
            Instrumentation::fill_missing_spec(&mut v);
            match serde_json::from_value::<Instrumentation>(v) {
                Ok(inst) => snapshot.instrumentations.push(Arc::new(inst)),
                Err(e) => tracing::debug!(
                    namespace = i.metadata.namespace.as_deref().unwrap_or_default(),
                    name = i.metadata.name.as_deref().unwrap_or_default(),
                    "an Instrumentation does not read, left out as the webhook leaves it out: {e}"
                ),
            }
        }
        for w in self.workloads.iter().chain([&self.replicasets]) {
            snapshot
                .workloads
                .extend(w.store.state().iter().map(|o| as_json(o, &w.ar)));
        }
        snapshot.pods = self
            .pods
            .store
            .state()
            .iter()
            .map(|o| as_json(o, &self.pods.ar))
            .collect();
        snapshot
    }
}
