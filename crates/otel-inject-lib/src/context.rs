//! What the caller (webhook, CLI, tests) hands to [`crate::mutate`]: the raw pod, its namespace,
//! the candidate Instrumentations, the owner objects it could find, and options. The caller
//! does all the I/O; [`instrumentation_namespaces`] and [`owner_lookups`] say what to fetch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::Value;

use crate::annotations::{annotation_value, InjectTarget, Language};
use crate::instrumentation::Instrumentation;
use crate::pod::PodView;

/// The pod's namespace, as far as the decision needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceInfo {
    /// Namespace name (from the admission request, not from the pod, which may have none).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations (namespace-level `instrumentation.opentelemetry.io/*` opt-ins).
    pub annotations: BTreeMap<String, String>,
}

impl NamespaceInfo {
    /// A namespace with a name and nothing else.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }
}

/// Metadata of an owner object (a ReplicaSet or a Job) that the owner chain walks through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnerObject {
    /// `ReplicaSet` or `Job`.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Object UID.
    pub uid: String,
    /// Its own owners (a Deployment, a CronJob).
    pub owner_references: Vec<OwnerReference>,
}

/// An owner object the caller should look up before deciding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OwnerKey {
    /// `ReplicaSet` or `Job`.
    pub kind: String,
    /// Object name, in the pod's namespace.
    pub name: String,
}

/// Switches that a deployment may turn; the defaults are the operator's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectOptions {
    /// Per-language container lists (`dotnet-container-names`, ...) are read (operator default: on).
    pub multi_instrumentation: bool,
    /// The languages switched on, by the operator's `--enable-<language>-instrumentation`
    /// flags (operator defaults: all but Go and nginx). The SDK mode has no switch: it is
    /// always on.
    pub enabled: BTreeSet<Language>,
    /// Argo Workflows step pods target `main` by default and never Argo's own containers.
    pub argo_workflows_aware: bool,
}

impl Default for InjectOptions {
    fn default() -> Self {
        Self {
            multi_instrumentation: true,
            enabled: Language::ALL
                .into_iter()
                .filter(|l| Language::ENABLED_BY_DEFAULT.contains(l))
                .collect(),
            argo_workflows_aware: true,
        }
    }
}

impl InjectOptions {
    /// Whether `lang` is switched on (the SDK mode always is).
    pub fn enabled(&self, lang: Language) -> bool {
        lang == Language::Sdk || self.enabled.contains(&lang)
    }

    /// Switches `lang` on or off.
    pub fn set_enabled(&mut self, lang: Language, on: bool) {
        if on {
            self.enabled.insert(lang);
        } else {
            self.enabled.remove(&lang);
        }
    }
}

/// Everything [`crate::mutate`] decides from.
#[derive(Debug, Clone, Copy)]
pub struct PodContext<'a> {
    /// The pod as the API server sent it (`request.object`), raw.
    pub pod: &'a Value,
    /// The pod's namespace.
    pub namespace: &'a NamespaceInfo,
    /// Instrumentations the caller knows in the namespaces [`instrumentation_namespaces`] names;
    /// others are ignored.
    pub instrumentations: &'a [Arc<Instrumentation>],
    /// Owner objects [`owner_lookups`] asked for that the caller found.
    pub owners: &'a [OwnerObject],
    /// Options.
    pub options: &'a InjectOptions,
}

/// The namespaces whose Instrumentations the decision may need: the pod's own, plus any named
/// by an `ns/name` annotation value.
pub fn instrumentation_namespaces(pod: &Value, ns: &NamespaceInfo) -> BTreeSet<String> {
    let view = PodView::new(pod);
    let pod_annotations = view.annotations();
    let mut out = BTreeSet::from([ns.name.clone()]);
    for lang in Language::ALL {
        let value = annotation_value(&ns.annotations, &pod_annotations, lang.inject_annotation());
        if let Ok(Some(InjectTarget::Named {
            namespace: Some(n), ..
        })) = InjectTarget::parse(value)
        {
            out.insert(n);
        }
    }
    out
}

/// The owner objects to look up: the pod's ReplicaSet and Job owners (their own owners name
/// the Deployment or CronJob). StatefulSet, DaemonSet and CronJob owners need no lookup.
pub fn owner_lookups(pod: &Value) -> Vec<OwnerKey> {
    PodView::new(pod)
        .owner_references()
        .into_iter()
        .filter(|o| o.kind.eq_ignore_ascii_case("ReplicaSet") || o.kind.eq_ignore_ascii_case("Job"))
        .map(|o| OwnerKey {
            kind: o.kind,
            name: o.name,
        })
        .collect()
}
