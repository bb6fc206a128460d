//! The webhook's read-only view of the cluster: Namespaces, Instrumentations and the owner
//! objects (ReplicaSets, Jobs) a decision needs. One trait, two implementations: caches fed by
//! watches of the Kubernetes API ([`kube_view`], [`metadata_cache`]) and objects loaded from
//! files ([`static_view`]).

pub mod fields;
pub mod kube_view;
pub mod metadata_cache;
pub mod objects;
pub mod slim_meta;
pub mod static_view;

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use otel_inject_lib::{
    instrumentation_namespaces, owner_lookups, Instrumentation, NamespaceInfo, OwnerKey,
    OwnerObject,
};
use serde_json::Value;

pub use objects::ClusterObjects;
pub use static_view::StaticView;

/// Read-only lookups a decision needs. Cache reads are synchronous; only the fallback for an
/// owner missing from the cache may go to the network.
pub trait ClusterView: Send + Sync {
    /// `Ok` once every cache has its first full list; otherwise what is still missing.
    fn readiness(&self) -> Result<(), String>;
    /// The namespace, when known.
    fn namespace(&self, name: &str) -> Option<NamespaceInfo>;
    /// Every Instrumentation in `namespace`.
    fn instrumentations(&self, namespace: &str) -> Vec<Arc<Instrumentation>>;
    /// A ReplicaSet or Job from the cache.
    fn owner(&self, namespace: &str, key: &OwnerKey) -> Option<OwnerObject>;
    /// A direct read for an owner the cache does not have yet (a ReplicaSet created a few
    /// milliseconds before its pods). The caller bounds it with a timeout.
    fn fetch_owner<'a>(
        &'a self,
        _namespace: &'a str,
        _key: &'a OwnerKey,
    ) -> BoxFuture<'a, Result<Option<OwnerObject>, String>> {
        Box::pin(futures::future::ready(Ok(None)))
    }
    /// Object counts per cache, for the metrics.
    fn cache_sizes(&self) -> Vec<(&'static str, usize)>;
    /// Whether every synchronous read above returns from memory within microseconds (no I/O,
    /// no lock held across I/O). Only then may the server decide a small review on the
    /// connection's own worker thread; a view that may wait keeps the default, and each of its
    /// decisions runs on the blocking pool, where it holds up no other request.
    fn reads_never_block(&self) -> bool {
        false
    }
}

/// `why` of an owner that simply does not exist (as opposed to a failed lookup).
pub const OWNER_NOT_FOUND: &str = "was not found";

/// What the view could tell about one pod.
#[derive(Debug, Default)]
pub struct Lookup {
    /// The pod's namespace (just its name when the view does not know it).
    pub namespace: NamespaceInfo,
    /// Candidate Instrumentations.
    pub instrumentations: Vec<Arc<Instrumentation>>,
    /// Owners found.
    pub owners: Vec<OwnerObject>,
    /// Lookups that failed; the decision goes on without them.
    pub problems: Vec<LookupProblem>,
    /// Where each owner came from: `cache`, `api` (direct GET after a cache miss) or `missing`.
    pub owner_sources: Vec<&'static str>,
}

/// A lookup that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupProblem {
    /// The namespace is in no cache.
    NamespaceUnknown(String),
    /// An owner could not be found or read within the budget.
    OwnerMissing {
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
        /// Not found, timed out, or the API error.
        why: String,
    },
}

impl LookupProblem {
    /// Short snake_case label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NamespaceUnknown(_) => "namespace_unknown",
            Self::OwnerMissing { why, .. } if why.contains("timed out") => "owner_lookup_timeout",
            Self::OwnerMissing { .. } => "owner_not_found",
        }
    }

    /// The admission warning (kept well under the 256 characters the API server keeps).
    pub fn warning(&self) -> String {
        match self {
            Self::NamespaceUnknown(ns) => format!(
                "otel-inject: namespace {ns} not in the webhook's cache yet; namespace annotations were not considered"
            ),
            Self::OwnerMissing { kind, name, why } => format!(
                "otel-inject: owner {kind} {name} {why}; workload resource attributes may be incomplete"
            ),
        }
    }
}

/// Gathers everything `mutate` needs for `pod` in `namespace`. Owner misses fall back to a
/// direct read; all of those reads together get `owner_budget`.
pub async fn lookup(
    view: &dyn ClusterView,
    pod: &Value,
    namespace: &str,
    owner_budget: Duration,
) -> Lookup {
    let mut out = Lookup::default();
    out.namespace = match view.namespace(namespace) {
        Some(ns) => ns,
        None => {
            out.problems
                .push(LookupProblem::NamespaceUnknown(namespace.to_string()));
            NamespaceInfo::named(namespace)
        }
    };
    for ns in instrumentation_namespaces(pod, &out.namespace) {
        out.instrumentations.extend(view.instrumentations(&ns));
    }
    let deadline = tokio::time::Instant::now() + owner_budget;
    for key in owner_lookups(pod) {
        if let Some(owner) = view.owner(namespace, &key) {
            out.owners.push(owner);
            out.owner_sources.push("cache");
            continue;
        }
        let fetched = tokio::time::timeout_at(deadline, view.fetch_owner(namespace, &key)).await;
        out.owner_sources.push(match &fetched {
            Ok(Ok(Some(_))) => "api",
            _ => "missing",
        });
        match fetched {
            Ok(Ok(Some(owner))) => out.owners.push(owner),
            Ok(Ok(None)) => out.problems.push(LookupProblem::OwnerMissing {
                kind: key.kind.clone(),
                name: key.name.clone(),
                why: OWNER_NOT_FOUND.to_string(),
            }),
            Ok(Err(e)) => out.problems.push(LookupProblem::OwnerMissing {
                kind: key.kind.clone(),
                name: key.name.clone(),
                why: format!("could not be read ({e})"),
            }),
            Err(_) => out.problems.push(LookupProblem::OwnerMissing {
                kind: key.kind.clone(),
                name: key.name.clone(),
                why: format!("lookup timed out after {} ms", owner_budget.as_millis()),
            }),
        }
    }
    out
}
