//! From what the cluster holds to one line per workload: which of its pods are injected, which
//! were injected from an Instrumentation that has changed since, which are not and why. Pure:
//! the objects come in as JSON (from the API server, or from a test), nothing is fetched here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use otel_inject_lib::annotations::{is_explicit_false, InjectTarget};
use otel_inject_lib::injected::{parse_record, spec_hash};
use otel_inject_lib::names::{annotation, GO_SIDECAR, INJECTED_INIT_CONTAINERS};
use otel_inject_lib::{
    mutate, InjectOptions, Instrumentation, Language, NamespaceInfo, Outcome, PodContext,
};
use serde::Serialize;

use crate::controller::decide::{names::FAILED, Failed};
use serde_json::Value;

/// What the report is made from.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Namespaces by name (their annotations ask for instrumentation too).
    pub namespaces: BTreeMap<String, NamespaceInfo>,
    /// Every Instrumentation, as the webhook reads them.
    pub instrumentations: Vec<Arc<Instrumentation>>,
    /// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs, with `kind`.
    pub workloads: Vec<Value>,
    /// Pods.
    pub pods: Vec<Value>,
}

/// Which workloads to report.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this language (workloads that ask for it).
    pub language: Option<Language>,
}

/// One workload's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet`, `Job`, `CronJob`, `Pod`, or the
    /// kind of another controller that owns pods directly.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Languages its pods ask for.
    pub languages: Vec<String>,
    /// Its pods, by state.
    pub pods: PodCounts,
    /// Why pods are outdated or not injected, with how many pods each.
    pub reasons: Vec<ReasonCount>,
    /// The rollout `otel-inject controller` started here and undid, when it did: why, and
    /// when. Not retried until the Instrumentation changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_undone: Option<String>,
}

/// The controller's record of an undone rollout (`{"for", "reason", "at"}`), in words.
fn rollout_undone(w: &Value) -> Option<String> {
    let raw = annotations_at(w, "/metadata/annotations").remove(FAILED)?;
    let Ok(record) = serde_json::from_str::<Failed>(&raw) else {
        return Some(format!(
            "otel-inject controller undid a rollout (its {FAILED} record does not parse: {raw})"
        ));
    };
    Some(format!(
        "otel-inject controller undid its rollout at {} (for {}): {}; it tries again when the Instrumentation changes",
        record.at, record.target, record.reason
    ))
}

/// Pods by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCounts {
    /// Injected from the current version of their Instrumentation.
    pub injected: usize,
    /// Injected from a version of the Instrumentation that has changed since (or that cannot
    /// be told): a restart re-injects them.
    pub outdated: usize,
    /// Not injected.
    pub not_injected: usize,
}

/// A reason and how many pods it applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// In plain words, with what to do.
    pub reason: String,
    /// How many pods.
    pub pods: usize,
}

impl WorkloadStatus {
    /// Whether every pod is injected and current.
    pub fn healthy(&self) -> bool {
        self.pods.outdated == 0 && self.pods.not_injected == 0
    }
}

/// The state of one pod, with why when it is not simply injected.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PodState {
    Injected,
    Outdated(String),
    NotInjected(String),
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or_default()
}

fn annotations_at(v: &Value, path: &str) -> BTreeMap<String, String> {
    v.pointer(path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The controller's (uid, kind, name), from `ownerReferences`.
fn controller(obj: &Value) -> Option<(String, String, String)> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == Value::Bool(true))
        .map(|r| {
            (
                str_at(r, "/uid").to_string(),
                str_at(r, "/kind").to_string(),
                str_at(r, "/name").to_string(),
            )
        })
}

/// Where a workload keeps its pod template's annotations.
fn template_annotations(w: &Value) -> BTreeMap<String, String> {
    if str_at(w, "/kind") == "CronJob" {
        annotations_at(w, "/spec/jobTemplate/spec/template/metadata/annotations")
    } else {
        annotations_at(w, "/spec/template/metadata/annotations")
    }
}

/// The languages `pod` annotations (with the namespace's) ask for: a value that does not parse
/// asks too (the webhook says why it is wrong); an explicit `false` does not.
fn requested(ns: &BTreeMap<String, String>, pod: &BTreeMap<String, String>) -> Vec<Language> {
    Language::ALL
        .into_iter()
        .filter(|&l| {
            !is_explicit_false(ns, pod, l)
                && !matches!(InjectTarget::for_language(ns, pod, l), Ok(None))
        })
        .collect()
}

struct Workload {
    kind: String,
    namespace: String,
    name: String,
    /// What its pods ask for now (template and namespace).
    languages: Vec<Language>,
    /// Languages asked for on the workload's own metadata instead of its template.
    misplaced: Vec<Language>,
    states: Vec<PodState>,
    rollout_undone: Option<String>,
}

/// The report, one entry per workload that asks for instrumentation, sorted by namespace, kind
/// and name.
pub fn report(snapshot: &Snapshot, filter: &Filter) -> Vec<WorkloadStatus> {
    let empty_ns = NamespaceInfo::default();
    let ns_of = |name: &str| snapshot.namespaces.get(name).unwrap_or(&empty_ns);
    // Workloads by uid; a workload whose controller is itself a known workload (a Deployment's
    // ReplicaSet, a CronJob's Job) reports under it.
    let by_uid: HashMap<&str, &Value> = snapshot
        .workloads
        .iter()
        .map(|w| (str_at(w, "/metadata/uid"), w))
        .collect();
    let top = |uid: &str| -> Option<&Value> {
        let mut w = *by_uid.get(uid)?;
        // Two levels at most in practice (Pod -> ReplicaSet -> Deployment); bounded anyway.
        for _ in 0..4 {
            match controller(w).and_then(|(u, _, _)| by_uid.get(u.as_str()).copied()) {
                Some(owner) => w = owner,
                None => break,
            }
        }
        Some(w)
    };
    let mut workloads: BTreeMap<(String, String, String), Workload> = BTreeMap::new();
    for w in &snapshot.workloads {
        if controller(w).is_some_and(|(u, _, _)| by_uid.contains_key(u.as_str())) {
            continue;
        }
        let namespace = str_at(w, "/metadata/namespace");
        let ns = &ns_of(namespace).annotations;
        let languages = requested(ns, &template_annotations(w));
        let own = requested(
            &BTreeMap::new(),
            &annotations_at(w, "/metadata/annotations"),
        );
        let misplaced: Vec<Language> = own.into_iter().filter(|l| !languages.contains(l)).collect();
        let key = (
            namespace.to_string(),
            str_at(w, "/kind").to_string(),
            str_at(w, "/metadata/name").to_string(),
        );
        workloads.insert(
            key.clone(),
            Workload {
                kind: key.1,
                namespace: key.0,
                name: key.2,
                languages,
                misplaced,
                states: Vec::new(),
                rollout_undone: rollout_undone(w),
            },
        );
    }
    for pod in &snapshot.pods {
        let namespace = str_at(pod, "/metadata/namespace");
        let ns = ns_of(namespace);
        let key = match controller(pod) {
            Some((uid, kind, name)) => match top(&uid) {
                Some(w) => (
                    namespace.to_string(),
                    str_at(w, "/kind").to_string(),
                    str_at(w, "/metadata/name").to_string(),
                ),
                None => (namespace.to_string(), kind, name),
            },
            None => (
                namespace.to_string(),
                "Pod".to_string(),
                str_at(pod, "/metadata/name").to_string(),
            ),
        };
        let entry = workloads.entry(key.clone()).or_insert_with(|| Workload {
            kind: key.1,
            namespace: key.0,
            name: key.2,
            languages: requested(
                &ns.annotations,
                &annotations_at(pod, "/metadata/annotations"),
            ),
            misplaced: Vec::new(),
            states: Vec::new(),
            rollout_undone: None,
        });
        let state = pod_state(pod, ns, &snapshot.instrumentations, entry);
        entry.states.push(state);
    }
    workloads
        .into_values()
        .filter(|w| !w.languages.is_empty() || !w.misplaced.is_empty())
        .filter(|w| {
            filter
                .language
                .is_none_or(|l| w.languages.contains(&l) || w.misplaced.contains(&l))
        })
        .map(summarise)
        .collect()
}

fn summarise(w: Workload) -> WorkloadStatus {
    let mut pods = PodCounts::default();
    let mut reasons: Vec<ReasonCount> = Vec::new();
    for s in &w.states {
        let reason = match s {
            PodState::Injected => {
                pods.injected += 1;
                continue;
            }
            PodState::Outdated(r) => {
                pods.outdated += 1;
                format!("outdated: {r}")
            }
            PodState::NotInjected(r) => {
                pods.not_injected += 1;
                format!("not injected: {r}")
            }
        };
        match reasons.iter_mut().find(|c| c.reason == reason) {
            Some(c) => c.pods += 1,
            None => reasons.push(ReasonCount { reason, pods: 1 }),
        }
    }
    let mut languages: Vec<Language> = w.languages.iter().chain(&w.misplaced).copied().collect();
    languages.sort();
    languages.dedup();
    WorkloadStatus {
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        languages: languages.iter().map(|l| l.to_string()).collect(),
        pods,
        reasons,
        rollout_undone: w.rollout_undone,
    }
}

/// What `pod` got, read from our record and status annotations, or, for a pod the webhook
/// never decided about, worked out now with the same decision the webhook makes.
fn pod_state(
    pod: &Value,
    ns: &NamespaceInfo,
    insts: &[Arc<Instrumentation>],
    workload: &Workload,
) -> PodState {
    let ann = annotations_at(pod, "/metadata/annotations");
    let asked = requested(&ns.annotations, &ann);
    if asked.is_empty() {
        if let Some(l) = workload.misplaced.first() {
            return PodState::NotInjected(format!(
                "{} is on the {}'s own metadata, not on its pod template: move it to {}",
                l.inject_annotation(),
                workload.kind,
                if workload.kind == "CronJob" {
                    "spec.jobTemplate.spec.template.metadata.annotations"
                } else {
                    "spec.template.metadata.annotations"
                }
            ));
        }
        return PodState::NotInjected(
            "created from a pod template without the inject annotation (an older revision): restart the workload".into(),
        );
    }
    let record = ann.get(annotation::INJECTED).map(|r| parse_record(r));
    if let Some(entries) = record.filter(|e| !e.is_empty()) {
        for e in &entries {
            match insts.iter().find(|i| i.key() == e.instrumentation) {
                None => {
                    return PodState::Outdated(format!(
                        "{}: Instrumentation {} no longer exists",
                        e.language, e.instrumentation
                    ))
                }
                Some(i) if spec_hash(&i.spec) != e.spec_hash => {
                    return PodState::Outdated(format!(
                        "{}: Instrumentation {} changed since the pod was injected: restart the workload",
                        e.language, e.instrumentation
                    ))
                }
                Some(_) => {}
            }
        }
        return PodState::Injected;
    }
    let now = decide_now(pod, ns, insts);
    let would_inject = now.outcome() == Outcome::Injected;
    if let Some(status) = ann.get(annotation::STATUS) {
        if status.contains(": injected into ") {
            return PodState::Outdated(
                "injected by an otel-inject that kept no version record: restart the workload to know".into(),
            );
        }
        let mut why = status_reasons(status, &asked);
        if would_inject {
            why.push_str(" (it would be injected now: restart the workload)");
        }
        return PodState::NotInjected(why);
    }
    if injected_by_another(pod) {
        return PodState::Outdated(
            "instrumented by another webhook (the operator's?), with no otel-inject record: restart the workload".into(),
        );
    }
    if would_inject {
        let created = str_at(pod, "/metadata/creationTimestamp");
        let inst_created = now
            .languages
            .iter()
            .filter_map(|l| l.instrumentation.as_deref())
            .filter_map(|k| insts.iter().find(|i| i.key() == k))
            .filter_map(|i| {
                let t = serde_json::to_value(i.metadata.creation_timestamp.as_ref()?).ok()?;
                Some((i.key(), t.as_str()?.to_string()))
            })
            .find(|(_, t)| !created.is_empty() && created < t.as_str());
        return PodState::NotInjected(match inst_created {
            Some((key, _)) => format!(
                "the pod is older than Instrumentation {key}: restart the workload"
            ),
            None => "the webhook never decided about this pod (created before it was installed, while it was down, or in a namespace it excludes): restart the workload once it runs".into(),
        });
    }
    PodState::NotInjected(match &now.pod_reason {
        Some(r) => r.to_string(),
        None => now
            .languages
            .iter()
            .map(|l| format!("{}: {}", l.language, l.reason))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn decide_now(
    pod: &Value,
    ns: &NamespaceInfo,
    insts: &[Arc<Instrumentation>],
) -> otel_inject_lib::InjectionDecision {
    mutate(&PodContext {
        pod,
        namespace: ns,
        instrumentations: insts,
        owners: &[],
        options: &InjectOptions::default(),
    })
}

/// The `<language>: not injected: <reason>` clauses of our status for the asked languages.
fn status_reasons(status: &str, asked: &[Language]) -> String {
    let starts: Vec<(usize, Language)> = Language::ALL
        .into_iter()
        .flat_map(|l| {
            let tag = format!("{l}: not injected: ");
            status
                .match_indices(&tag)
                .filter(|(i, _)| *i == 0 || status[..*i].ends_with("; "))
                .map(move |(i, _)| (i, l))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out = Vec::new();
    for &(start, lang) in &starts {
        if !asked.contains(&lang) {
            continue;
        }
        let body = start + format!("{lang}: not injected: ").len();
        // Up to the next language's clause.
        let end = Language::ALL
            .into_iter()
            .filter_map(|l| {
                let tag = format!("; {l}: ");
                status[body..].find(&tag).map(|i| body + i)
            })
            .min()
            .unwrap_or(status.len());
        let text = status[body..end].trim();
        let text = text
            .rsplit_once(" (instrumentation ")
            .filter(|(_, rest)| rest.ends_with(')'))
            .map_or(text, |(t, _)| t);
        out.push(format!("{lang}: {text}"));
    }
    if out.is_empty() {
        status.to_string()
    } else {
        out.join("; ")
    }
}

/// The operator's markers: its init containers, or Go's sidecar.
fn injected_by_another(pod: &Value) -> bool {
    let names = |list: &str| -> Vec<String> {
        pod.pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .map(|cs| cs.iter().map(|c| str_at(c, "/name").to_string()).collect())
            .unwrap_or_default()
    };
    names("initContainers")
        .iter()
        .any(|n| INJECTED_INIT_CONTAINERS.contains(&n.as_str()))
        || names("containers").iter().any(|n| n == GO_SIDECAR)
}
