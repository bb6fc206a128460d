//! From what the cluster holds (the same [`Snapshot`] `otel-inject status` reads) to what the
//! rollout decision needs per workload: its pods as `status` counts them, whether it opted in,
//! what a pod created from its template now would be injected with, how far its rollout is.
//! Pure: the objects come in as JSON.

use std::collections::HashMap;

use otel_inject_lib::{mutate, InjectOptions, NamespaceInfo, PodContext};
use serde_json::{json, Value};

use super::decide::{
    names, Failed, InProgress, Previous, Progress, Workload, WorkloadKey, WorkloadKind,
};
use crate::status::{report, Filter, PodCounts, Snapshot};

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or_default()
}

fn int_at(v: &Value, path: &str) -> Option<i64> {
    v.pointer(path).and_then(Value::as_i64)
}

fn annotation<'a>(v: &'a Value, path: &str, key: &str) -> Option<&'a str> {
    v.pointer(path)?.get(key)?.as_str()
}

fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == Value::Bool(true))?
        .get("uid")?
        .as_str()
}

/// Whether the workload opted in: its own [`names::OPT_IN`], else its namespace's.
pub fn opted_in(namespace: Option<&NamespaceInfo>, workload: &Value) -> bool {
    let own = annotation(workload, "/metadata/annotations", names::OPT_IN);
    let ns = namespace.and_then(|n| n.annotations.get(names::OPT_IN).map(String::as_str));
    own.or(ns)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The injected record a pod created from `workload`'s template now would carry, decided by
/// the webhook's own decision function.
pub fn template_target(
    workload: &Value,
    namespace: &NamespaceInfo,
    snapshot: &Snapshot,
    options: &InjectOptions,
) -> Option<String> {
    let template = workload.pointer("/spec/template")?;
    let mut metadata = template.get("metadata").cloned().unwrap_or(json!({}));
    metadata["namespace"] = Value::String(namespace.name.clone());
    metadata["generateName"] = Value::String(format!("{}-", str_at(workload, "/metadata/name")));
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    });
    mutate(&PodContext {
        pod: &pod,
        namespace,
        instrumentations: &snapshot.instrumentations,
        owners: &[],
        options,
    })
    .injected_record()
}

/// How far the workload's rollout is, as `kubectl rollout status` judges it.
pub fn progress(kind: WorkloadKind, w: &Value) -> Progress {
    let generation = int_at(w, "/metadata/generation").unwrap_or(0);
    let observed = int_at(w, "/status/observedGeneration").unwrap_or(0);
    let status = |f: &str| int_at(w, &format!("/status/{f}")).unwrap_or(0);
    let replicas = int_at(w, "/spec/replicas").unwrap_or(1);
    match kind {
        WorkloadKind::Deployment => {
            if generation > observed {
                return Progress::Waiting(
                    "the Deployment's new spec has not been observed yet".into(),
                );
            }
            let deadline = w
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"
                    })
                });
            if deadline {
                return Progress::Failed(format!(
                    "the Deployment exceeded its progress deadline ({}s)",
                    int_at(w, "/spec/progressDeadlineSeconds").unwrap_or(600)
                ));
            }
            let (updated, total, available) = (
                status("updatedReplicas"),
                status("replicas"),
                status("availableReplicas"),
            );
            if updated < replicas {
                Progress::Waiting(format!(
                    "{updated} of {replicas} new replicas have been updated"
                ))
            } else if total > updated {
                Progress::Waiting(format!(
                    "{} old replicas are pending termination",
                    total - updated
                ))
            } else if available < updated {
                Progress::Waiting(format!(
                    "{available} of {updated} updated replicas are available"
                ))
            } else {
                Progress::Complete
            }
        }
        WorkloadKind::StatefulSet => {
            if observed == 0 || generation > observed {
                return Progress::Waiting(
                    "the StatefulSet's new spec has not been observed yet".into(),
                );
            }
            let ready = status("readyReplicas");
            if ready < replicas {
                return Progress::Waiting(format!("{ready} of {replicas} pods are ready"));
            }
            let partition = int_at(w, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);
            if partition > 0 {
                let updated = status("updatedReplicas");
                let want = replicas - partition;
                return if updated < want {
                    Progress::Waiting(format!("{updated} of {want} pods have been updated"))
                } else {
                    Progress::Complete
                };
            }
            if str_at(w, "/status/updateRevision") != str_at(w, "/status/currentRevision") {
                return Progress::Waiting(format!(
                    "{} of {replicas} pods run the update revision",
                    status("updatedReplicas")
                ));
            }
            Progress::Complete
        }
        WorkloadKind::DaemonSet => {
            if generation > observed {
                return Progress::Waiting(
                    "the DaemonSet's new spec has not been observed yet".into(),
                );
            }
            let desired = status("desiredNumberScheduled");
            let updated = status("updatedNumberScheduled");
            let available = status("numberAvailable");
            if updated < desired {
                Progress::Waiting(format!("{updated} of {desired} pods have been updated"))
            } else if available < desired {
                Progress::Waiting(format!("{available} of {desired} pods are available"))
            } else {
                Progress::Complete
            }
        }
    }
}

/// Why a restart annotation would not roll the workload, if it would not.
pub fn not_restartable(kind: WorkloadKind, w: &Value) -> Option<String> {
    match kind {
        WorkloadKind::Deployment if w.pointer("/spec/paused") == Some(&Value::Bool(true)) => {
            Some("the Deployment is paused".into())
        }
        WorkloadKind::StatefulSet | WorkloadKind::DaemonSet
            if str_at(w, "/spec/updateStrategy/type") == "OnDelete" =>
        {
            Some(format!(
                "its update strategy is OnDelete: the {kind} replaces a pod only when it is deleted"
            ))
        }
        _ => None,
    }
}

/// Why the pods are not ready, in a few plain words per pod: the waiting reason or the exit
/// code of the container that holds each one up (init containers first). At most three pods,
/// and short enough for an Event's note.
pub fn not_ready(pods: &[&Value]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut more = 0usize;
    for pod in pods {
        let ready = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        if ready
            || !pod
                .pointer("/metadata/deletionTimestamp")
                .is_none_or(Value::is_null)
        {
            continue;
        }
        let mut why = None;
        for (list, what) in [
            ("initContainerStatuses", "init container"),
            ("containerStatuses", "container"),
        ] {
            for c in pod
                .pointer(&format!("/status/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = str_at(c, "/name");
                let waiting = c.pointer("/state/waiting");
                let terminated = c
                    .pointer("/state/terminated")
                    .or_else(|| c.pointer("/lastState/terminated"))
                    .filter(|t| int_at(t, "/exitCode").unwrap_or(0) != 0);
                let text = match (waiting, terminated) {
                    (_, Some(t)) => Some(format!(
                        "{what} {name} exited with code {}{}",
                        int_at(t, "/exitCode").unwrap_or(0),
                        match str_at(t, "/reason") {
                            "" => String::new(),
                            r => format!(" ({r})"),
                        }
                    )),
                    (Some(w), None)
                        if !matches!(
                            str_at(w, "/reason"),
                            "" | "PodInitializing" | "ContainerCreating"
                        ) =>
                    {
                        let msg = str_at(w, "/message");
                        Some(format!(
                            "{what} {name}: {}{}",
                            str_at(w, "/reason"),
                            if msg.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", shorten(msg, 160))
                            }
                        ))
                    }
                    _ => None,
                };
                if text.is_some() {
                    why = text;
                    break;
                }
            }
            if why.is_some() {
                break;
            }
        }
        let why = why.unwrap_or_else(|| match str_at(pod, "/status/phase") {
            "" => "not ready".to_string(),
            phase => format!("{phase}, not ready"),
        });
        if out.len() < 3 {
            out.push(format!("pod {}: {why}", str_at(pod, "/metadata/name")));
        } else {
            more += 1;
        }
    }
    let mut text = out.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more pod(s)"));
    }
    shorten(&text, 700)
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The part of `snapshot` the decision can act on: the namespaces with a workload that opted in
/// or carries a rollout of ours, whole (their pods, ReplicaSets, everything `status` groups);
/// other namespaces are left out before `status`'s report, which would otherwise decide about
/// every pod of the cluster on every round. Namespaces and Instrumentations stay whole (an
/// annotation may name an Instrumentation in another namespace).
pub fn relevant(snapshot: &Snapshot) -> Snapshot {
    let namespace = |v: &Value| str_at(v, "/metadata/namespace").to_string();
    let keep: std::collections::HashSet<String> = snapshot
        .workloads
        .iter()
        .filter(|w| WorkloadKind::parse(str_at(w, "/kind")).is_some())
        .filter(|w| {
            opted_in(snapshot.namespaces.get(str_at(w, "/metadata/namespace")), w)
                || annotation(w, "/metadata/annotations", names::IN_PROGRESS).is_some()
        })
        .map(namespace)
        .collect();
    Snapshot {
        namespaces: snapshot.namespaces.clone(),
        instrumentations: snapshot.instrumentations.clone(),
        workloads: snapshot
            .workloads
            .iter()
            .filter(|w| keep.contains(str_at(w, "/metadata/namespace")))
            .cloned()
            .collect(),
        pods: snapshot
            .pods
            .iter()
            .filter(|p| keep.contains(str_at(p, "/metadata/namespace")))
            .cloned()
            .collect(),
    }
}

/// Every Deployment, StatefulSet and DaemonSet that asks for instrumentation or carries a
/// rollout of ours, with what the decision needs.
pub fn workloads(snapshot: &Snapshot, options: &InjectOptions) -> Vec<Workload> {
    let relevant = relevant(snapshot);
    let snapshot = &relevant;
    let rows: HashMap<(String, String, String), PodCounts> = report(snapshot, &Filter::default())
        .into_iter()
        .map(|r| ((r.namespace, r.kind, r.name), r.pods))
        .collect();
    // Pods by the uid of the workload they belong to (through their ReplicaSet for Deployments).
    let rs_owner: HashMap<&str, &str> = snapshot
        .workloads
        .iter()
        .filter(|w| str_at(w, "/kind") == "ReplicaSet")
        .filter_map(|rs| Some((str_at(rs, "/metadata/uid"), controller_uid(rs)?)))
        .collect();
    let mut pods_of: HashMap<&str, Vec<&Value>> = HashMap::new();
    for pod in &snapshot.pods {
        if let Some(owner) = controller_uid(pod) {
            let top = rs_owner.get(owner).copied().unwrap_or(owner);
            pods_of.entry(top).or_default().push(pod);
        }
    }
    let mut out = Vec::new();
    for w in &snapshot.workloads {
        let Some(kind) = WorkloadKind::parse(str_at(w, "/kind")) else {
            continue;
        };
        let namespace = str_at(w, "/metadata/namespace").to_string();
        let name = str_at(w, "/metadata/name").to_string();
        let pods = rows
            .get(&(namespace.clone(), kind.as_str().to_string(), name.clone()))
            .cloned();
        let meta_annotation = |key: &str| annotation(w, "/metadata/annotations", key);
        let in_progress: Option<InProgress> =
            meta_annotation(names::IN_PROGRESS).and_then(|v| serde_json::from_str(v).ok());
        if pods.is_none() && in_progress.is_none() {
            continue;
        }
        let ns = snapshot.namespaces.get(&namespace);
        let fallback = NamespaceInfo::named(namespace.clone());
        let ns_info = ns.unwrap_or(&fallback);
        let template_annotation =
            |key: &str| annotation(w, "/spec/template/metadata/annotations", key).map(String::from);
        out.push(Workload {
            key: WorkloadKey {
                namespace,
                kind,
                name,
            },
            opted_in: opted_in(ns, w),
            pods: pods.unwrap_or_default(),
            target: template_target(w, ns_info, snapshot, options),
            template: Previous {
                restarted_at: template_annotation(names::RESTARTED_AT),
                rollout_for: template_annotation(names::ROLLOUT_FOR),
            },
            in_progress,
            failed_for: meta_annotation(names::FAILED)
                .and_then(|v| serde_json::from_str::<Failed>(v).ok())
                .map(|f| f.target),
            progress: progress(kind, w),
            not_restartable: not_restartable(kind, w),
            not_ready: not_ready(
                pods_of
                    .get(str_at(w, "/metadata/uid"))
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            ),
        });
    }
    out
}
