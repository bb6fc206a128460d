//! `otel-inject status`'s report, from cluster objects as the API server returns them (JSON),
//! without a cluster: each pod state and each computed reason, and the grouping of pods under
//! their Deployment, CronJob or bare Pod.

use std::sync::Arc;

use otel_inject::status::{report, table, Filter, PodCounts, Snapshot, WorkloadStatus};
use otel_inject_lib::injected::spec_hash;
use otel_inject_lib::{Instrumentation, Language, NamespaceInfo};
use serde_json::{json, Value};

const NS: &str = "shop";

fn inst(name: &str, endpoint: &str, created: &str) -> Arc<Instrumentation> {
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": name, "namespace": NS, "creationTimestamp": created},
            "spec": {"exporter": {"endpoint": endpoint}}
        }))
        .expect("test data"),
    )
}

fn deployment(name: &str, template_ann: Value, own_ann: Value) -> Vec<Value> {
    vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": NS, "uid": format!("d-{name}"),
                            "annotations": own_ann},
               "spec": {"template": {"metadata": {"annotations": template_ann},
                                     "spec": {"containers": [{"name": "app", "image": "a:1"}]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": format!("{name}-1"), "namespace": NS, "uid": format!("rs-{name}"),
                            "ownerReferences": [{"kind": "Deployment", "name": name,
                                                 "uid": format!("d-{name}"), "controller": true}]},
               "spec": {"template": {"metadata": {"annotations": template_ann}}}}),
    ]
}

fn pod(name: &str, owner_rs: Option<&str>, annotations: Value, created: &str) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations,
                     "creationTimestamp": created},
        "spec": {"containers": [{"name": "app", "image": "a:1"}]}});
    if let Some(rs) = owner_rs {
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": format!("{rs}-1"), "uid": format!("rs-{rs}"), "controller": true}]);
    }
    p
}

fn snapshot(insts: Vec<Arc<Instrumentation>>, workloads: Vec<Value>, pods: Vec<Value>) -> Snapshot {
    let mut s = Snapshot {
        instrumentations: insts,
        workloads,
        pods,
        ..Snapshot::default()
    };
    s.namespaces.insert(NS.into(), NamespaceInfo::named(NS));
    s
}

fn row<'a>(rows: &'a [WorkloadStatus], kind: &str, name: &str) -> &'a WorkloadStatus {
    rows.iter()
        .find(|r| r.kind == kind && r.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {rows:#?}"))
}

const JAVA: &str = "instrumentation.opentelemetry.io/inject-java";

#[test]
fn injected_outdated_and_not_injected_pods_of_one_deployment() {
    let current = inst("otel", "http://new:4318", "2026-01-02T00:00:00Z");
    let old = inst("otel", "http://old:4318", "2026-01-02T00:00:00Z");
    let record = |i: &Instrumentation| {
        json!({JAVA: "true", "otel-inject.dev/injected": format!("java=shop/otel@{}", spec_hash(&i.spec)),
               "otel-inject.dev/status": "java: injected into app (instrumentation shop/otel)"})
    };
    let pods = vec![
        pod(
            "fresh",
            Some("api"),
            record(&current),
            "2026-01-03T00:00:00Z",
        ),
        pod("stale", Some("api"), record(&old), "2026-01-03T00:00:00Z"),
        // Seen by the webhook before the Instrumentation existed.
        pod(
            "early",
            Some("api"),
            json!({JAVA: "true",
            "otel-inject.dev/status": "java: not injected: no Instrumentation in namespace shop; create one, or name one with \"<namespace>/<name>\" in the annotation"}),
            "2026-01-01T00:00:00Z",
        ),
        // Never seen by the webhook, and older than the Instrumentation.
        pod(
            "unseen",
            Some("api"),
            json!({JAVA: "true"}),
            "2026-01-01T00:00:00Z",
        ),
    ];
    let rows = report(
        &snapshot(
            vec![current],
            deployment("api", json!({JAVA: "true"}), json!({})),
            pods,
        ),
        &Filter::default(),
    );
    assert_eq!(
        rows.len(),
        1,
        "the ReplicaSet reports under its Deployment: {rows:#?}"
    );
    let r = row(&rows, "Deployment", "api");
    assert_eq!(r.languages, vec!["java"]);
    assert_eq!(
        r.pods,
        PodCounts {
            injected: 1,
            outdated: 1,
            not_injected: 2
        }
    );
    assert!(!r.healthy());
    let reasons: Vec<&str> = r.reasons.iter().map(|c| c.reason.as_str()).collect();
    assert!(
        reasons.contains(&"outdated: java: Instrumentation shop/otel changed since the pod was injected: restart the workload"),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r
            .starts_with("not injected: java: no Instrumentation in namespace shop")
            && r.ends_with("(it would be injected now: restart the workload)")),
        "{reasons:#?}"
    );
    assert!(
        reasons.contains(
            &"not injected: the pod is older than Instrumentation shop/otel: restart the workload"
        ),
        "{reasons:#?}"
    );
    let json = serde_json::to_value(&rows).expect("test data");
    assert_eq!(
        json[0]["pods"],
        json!({"injected": 1, "outdated": 1, "notInjected": 2})
    );
    assert_eq!(json[0]["kind"], "Deployment");
    let text = table(&rows);
    assert!(text.starts_with("KIND"), "{text}");
    assert!(text.contains("Deployment  shop"), "{text}");
}

#[test]
fn computed_reasons_for_pods_the_webhook_never_decided_about() {
    let i = inst("otel", "http://c:4318", "2026-01-01T00:00:00Z");
    let mut workloads = deployment("misplaced", json!({}), json!({JAVA: "true"}));
    workloads.extend(deployment("nothing-here", json!({JAVA: "true"}), json!({})));
    let pods = vec![
        pod("m", Some("misplaced"), json!({}), "2026-01-02T00:00:00Z"),
        // Newer than its Instrumentation and never decided about: the webhook was not called.
        pod("bare", None, json!({JAVA: "true"}), "2026-01-02T00:00:00Z"),
        pod("quiet", None, json!({}), "2026-01-02T00:00:00Z"),
    ];
    let rows = report(
        &snapshot(vec![i], workloads.clone(), pods.clone()),
        &Filter::default(),
    );
    let m = row(&rows, "Deployment", "misplaced");
    assert_eq!(m.pods.not_injected, 1);
    assert!(
        m.reasons[0]
            .reason
            .contains("is on the Deployment's own metadata, not on its pod template"),
        "{m:#?}"
    );
    let bare = row(&rows, "Pod", "bare");
    assert!(
        bare.reasons[0]
            .reason
            .contains("the webhook never decided about this pod"),
        "{bare:#?}"
    );
    // A workload without pods is listed, with nothing counted; a pod that asks nothing is not.
    let empty = row(&rows, "Deployment", "nothing-here");
    assert_eq!(empty.pods, PodCounts::default());
    assert!(empty.healthy());
    assert!(!rows.iter().any(|r| r.name == "quiet"));

    // Without the Instrumentation, the lib's own reason.
    let rows = report(&snapshot(vec![], workloads, pods), &Filter::default());
    let bare = row(&rows, "Pod", "bare");
    assert!(
        bare.reasons[0]
            .reason
            .starts_with("not injected: java: no Instrumentation in namespace shop"),
        "{bare:#?}"
    );
}

#[test]
fn the_language_filter_and_a_namespace_annotation() {
    let mut s = snapshot(
        vec![],
        deployment(
            "py",
            json!({"instrumentation.opentelemetry.io/inject-python": "true"}),
            json!({}),
        ),
        vec![],
    );
    s.workloads
        .extend(deployment("plain", json!({}), json!({})));
    let all = report(&s, &Filter::default());
    assert_eq!(all.len(), 1, "{all:#?}");
    let java = report(
        &s,
        &Filter {
            language: Some(Language::Java),
        },
    );
    assert!(java.is_empty(), "{java:#?}");
    // The namespace asks for Java: every workload in it asks, an explicit "false" opts out.
    s.namespaces
        .get_mut(NS)
        .expect("test data")
        .annotations
        .insert(JAVA.into(), "true".into());
    s.workloads
        .extend(deployment("out", json!({JAVA: "false"}), json!({})));
    let java = report(
        &s,
        &Filter {
            language: Some(Language::Java),
        },
    );
    let names: Vec<&str> = java.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["plain", "py"]);
}

/// A workload whose rollout the controller undid says so, with the controller's reason.
#[test]
fn an_undone_rollout_is_reported_with_its_reason() {
    let mut snapshot = Snapshot::default();
    snapshot.workloads.push(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop", "uid": "d1",
            "annotations": {"otel-inject.dev/rollout-failed":
                "{\"for\":\"java=shop/otel@0123456789ab\",\"reason\":\"pods not ready after 5m: ErrImageNeverPull\",\"at\":\"2026-12-02T10:00:00Z\"}"}},
        "spec": {"template": {"metadata": {"annotations": {
            "instrumentation.opentelemetry.io/inject-java": "true"}}}}
    }));
    let rows = report(&snapshot, &Filter::default());
    let r = row(&rows, "Deployment", "api");
    let undone = r.rollout_undone.as_deref().unwrap_or_default();
    assert!(undone.contains("ErrImageNeverPull"), "{undone}");
    assert!(undone.contains("java=shop/otel@0123456789ab"), "{undone}");
    assert!(undone.contains("2026-12-02T10:00:00Z"), "{undone}");
    let json = serde_json::to_value(&rows).unwrap_or_default();
    assert_eq!(json[0]["rolloutUndone"].as_str(), Some(undone));
    assert!(table(&rows).contains("ErrImageNeverPull"));

    // Without the record, no such field in the JSON.
    snapshot.workloads[0]["metadata"]["annotations"] = serde_json::json!({});
    let rows = report(&snapshot, &Filter::default());
    let json = serde_json::to_value(&rows).unwrap_or_default();
    assert!(json[0].get("rolloutUndone").is_none(), "{json}");
}
