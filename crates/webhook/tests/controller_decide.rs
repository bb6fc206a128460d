//! The rollout controller's decisions, without a cluster and with a fake clock: which workloads
//! are restarted, at most N at a time, never while a rollout of theirs is incomplete, a
//! rollout that runs out of time undone (and not retried for the same Instrumentation), and
//! the facts those decisions are made from, read from JSON as the API server returns it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use otel_inject::controller::act::{complete_patch, restart_time, start_patch, undo_patch};
use otel_inject::controller::decide::{
    names, plan, Action, Failed, Hold, InProgress, Limits, Previous, Progress, Workload,
    WorkloadKey, WorkloadKind,
};
use otel_inject::controller::facts::{self, not_ready, progress};
use otel_inject::status::{PodCounts, Snapshot};
use otel_inject_lib::injected::spec_hash;
use otel_inject_lib::{InjectOptions, Instrumentation, NamespaceInfo};
use serde_json::{json, Value};

const T0: &str = "2026-12-02T16:00:00Z";

fn t(offset_secs: i64) -> Timestamp {
    let t0: Timestamp = T0.parse().expect("test time");
    Timestamp::from_second(t0.as_second() + offset_secs).expect("test time")
}

fn key(name: &str) -> WorkloadKey {
    WorkloadKey {
        namespace: "shop".into(),
        kind: WorkloadKind::Deployment,
        name: name.into(),
    }
}

/// An opted-in Deployment with one pod not injected, whose template would now be injected
/// with `java=shop/otel@v1`, and no rollout in flight.
fn stale(name: &str) -> Workload {
    Workload {
        key: key(name),
        opted_in: true,
        pods: PodCounts {
            injected: 0,
            outdated: 0,
            not_injected: 1,
        },
        target: Some("java=shop/otel@v1".into()),
        template: Previous::default(),
        in_progress: None,
        failed_for: None,
        progress: Progress::Complete,
        not_restartable: None,
        not_ready: String::new(),
    }
}

fn limits(n: usize) -> Limits {
    Limits {
        max_concurrent: n,
        timeout: Duration::from_secs(120),
    }
}

fn started(p: &otel_inject::controller::decide::Plan) -> Vec<String> {
    p.actions
        .iter()
        .filter(|a| matches!(a, Action::Start { .. }))
        .map(|a| a.key().name.clone())
        .collect()
}

fn held<'a>(p: &'a otel_inject::controller::decide::Plan, name: &str) -> Option<&'a Hold> {
    p.held.iter().find(|(k, _)| k.name == name).map(|(_, h)| h)
}

fn none() -> HashSet<WorkloadKey> {
    HashSet::new()
}

#[test]
fn only_opted_in_workloads_whose_restart_would_inject_them_are_restarted() {
    let mut healthy = stale("healthy");
    healthy.pods = PodCounts {
        injected: 2,
        outdated: 0,
        not_injected: 0,
    };
    let mut outdated = stale("outdated");
    outdated.pods = PodCounts {
        injected: 0,
        outdated: 2,
        not_injected: 0,
    };
    let mut not_opted = stale("not-opted-in");
    not_opted.opted_in = false;
    let mut hopeless = stale("no-instrumentation-now");
    hopeless.target = None;
    let mut paused = stale("paused");
    paused.not_restartable = Some("the Deployment is paused".into());
    let p = plan(
        &[
            healthy,
            outdated,
            not_opted,
            hopeless,
            paused,
            stale("not-injected"),
        ],
        &none(),
        t(0),
        limits(10),
    );
    assert_eq!(started(&p), ["not-injected", "outdated"]);
    assert_eq!(
        held(&p, "healthy"),
        None,
        "healthy workloads are not even held"
    );
    assert_eq!(held(&p, "not-opted-in"), Some(&Hold::NotOptedIn));
    assert_eq!(
        held(&p, "no-instrumentation-now"),
        Some(&Hold::RestartCannotHelp)
    );
    assert!(matches!(held(&p, "paused"), Some(Hold::NotRestartable(_))));
    match &p.actions[1] {
        Action::Start {
            target,
            previous,
            why,
            ..
        } => {
            assert_eq!(target, "java=shop/otel@v1");
            assert_eq!(previous, &Previous::default());
            assert!(why.contains("older version"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.in_flight, 2);
}

#[test]
fn at_most_n_rollouts_at_a_time_cluster_wide() {
    let all: Vec<Workload> = ["a", "b", "c", "d"].into_iter().map(stale).collect();
    let p = plan(&all, &none(), t(0), limits(2));
    assert_eq!(started(&p), ["a", "b"]);
    assert_eq!(held(&p, "c"), Some(&Hold::WaitingForSlot));
    assert_eq!(p.in_flight, 2);

    // Next round: a and b are in flight (the cache shows our record): nothing more starts.
    let mut round2 = all.clone();
    for w in &mut round2[..2] {
        w.in_progress = Some(InProgress {
            target: "java=shop/otel@v1".into(),
            started: T0.into(),
            previous: Previous::default(),
        });
        w.progress = Progress::Waiting("0 of 1 updated replicas are available".into());
    }
    let p = plan(&round2, &none(), t(10), limits(2));
    assert!(started(&p).is_empty(), "{p:?}");
    assert_eq!(p.in_flight, 2);

    // A start the cache does not show yet still takes its slot.
    let p = plan(
        &all[2..],
        &HashSet::from([key("a"), key("b")]),
        t(1),
        limits(2),
    );
    assert!(started(&p).is_empty(), "{p:?}");
    let p = plan(&all, &HashSet::from([key("a")]), t(1), limits(2));
    assert_eq!(started(&p), ["b"], "a is not started twice");

    // a completes: its slot goes to c in the same round.
    round2[0].progress = Progress::Complete;
    let p = plan(&round2, &none(), t(20), limits(2));
    assert!(
        matches!(&p.actions[0], Action::Complete { key, took } if key.name == "a" && *took == Duration::from_secs(20))
    );
    assert_eq!(started(&p), ["c"]);
    assert_eq!(held(&p, "d"), Some(&Hold::WaitingForSlot));
}

#[test]
fn never_a_workload_whose_previous_rollout_has_not_completed() {
    let mut busy = stale("busy");
    busy.progress = Progress::Waiting("1 old replicas are pending termination".into());
    let p = plan(&[busy.clone()], &none(), t(0), limits(5));
    assert!(started(&p).is_empty());
    assert_eq!(
        held(&p, "busy"),
        Some(&Hold::RolloutIncomplete(
            "1 old replicas are pending termination".into()
        ))
    );
    busy.progress = Progress::Complete;
    assert_eq!(started(&plan(&[busy], &none(), t(0), limits(5))), ["busy"]);
}

#[test]
fn a_rollout_whose_pods_are_not_ready_in_time_is_undone_once() {
    let previous = Previous {
        restarted_at: Some("2026-11-30T09:00:00Z".into()),
        rollout_for: None,
    };
    let mut ours = stale("ours");
    ours.in_progress = Some(InProgress {
        target: "java=shop/otel@v1".into(),
        started: T0.into(),
        previous: previous.clone(),
    });
    ours.template = Previous {
        restarted_at: Some(T0.into()),
        rollout_for: Some("java=shop/otel@v1".into()),
    };
    ours.progress = Progress::Waiting("0 of 1 updated replicas are available".into());
    ours.not_ready =
        "pod ours-2: init container opentelemetry-auto-instrumentation-java: ErrImageNeverPull"
            .into();

    // Within the window: it waits, and holds its slot.
    let p = plan(&[ours.clone(), stale("next")], &none(), t(119), limits(1));
    assert!(p.actions.is_empty(), "{p:?}");
    assert_eq!(held(&p, "next"), Some(&Hold::WaitingForSlot));

    // Past it: undone, template back as it was, and the slot is free again.
    let p = plan(&[ours.clone(), stale("next")], &none(), t(120), limits(1));
    match &p.actions[0] {
        Action::Undo {
            key,
            target,
            previous: back,
            reason,
        } => {
            assert_eq!(key.name, "ours");
            assert_eq!(target, "java=shop/otel@v1");
            assert_eq!(back, &previous);
            assert!(reason.contains("within 2m"), "{reason}");
            assert!(reason.contains("ErrImageNeverPull"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started(&p), ["next"]);

    // Completion wins over the clock.
    let mut done = ours.clone();
    done.progress = Progress::Complete;
    let p = plan(&[done], &none(), t(500), limits(1));
    assert!(matches!(&p.actions[..], [Action::Complete { .. }]), "{p:?}");

    // After the undo: the marker keeps it from being restarted again for the same record...
    let mut after = stale("ours");
    after.template = previous.clone();
    after.failed_for = Some("java=shop/otel@v1".into());
    let p = plan(&[after.clone()], &none(), t(130), limits(1));
    assert_eq!(
        held(&p, "ours"),
        Some(&Hold::FailedBefore("java=shop/otel@v1".into()))
    );
    // ...until the Instrumentation changes.
    after.target = Some("java=shop/otel@v2".into());
    assert_eq!(
        started(&plan(&[after], &none(), t(130), limits(1))),
        ["ours"]
    );

    // A Deployment past its progress deadline is undone at once.
    let mut stuck = ours;
    stuck.progress =
        Progress::Failed("the Deployment exceeded its progress deadline (600s)".into());
    assert!(matches!(
        &plan(&[stuck], &none(), t(5), limits(1)).actions[..],
        [Action::Undo { .. }]
    ));
}

#[test]
fn a_restart_that_did_not_inject_is_not_repeated_for_the_same_record() {
    // Restarted for v1 and done, but the pods are still not injected (the webhook was down):
    // restarting again would not help; a new Instrumentation version would.
    let mut w = stale("again");
    w.template.rollout_for = Some("java=shop/otel@v1".into());
    let p = plan(&[w.clone()], &none(), t(0), limits(1));
    assert_eq!(
        held(&p, "again"),
        Some(&Hold::AlreadyRestartedFor("java=shop/otel@v1".into()))
    );
    w.target = Some("java=shop/otel@v2".into());
    assert_eq!(started(&plan(&[w], &none(), t(0), limits(1))), ["again"]);
}

#[test]
fn a_mangled_record_times_out_instead_of_holding_a_slot_for_ever() {
    let mut w = stale("mangled");
    w.in_progress = Some(InProgress {
        target: "java=shop/otel@v1".into(),
        started: "not a time".into(),
        previous: Previous::default(),
    });
    w.progress = Progress::Waiting("0 of 1".into());
    assert!(matches!(
        &plan(&[w], &none(), t(0), limits(1)).actions[..],
        [Action::Undo { .. }]
    ));
}

// --- rollout status, as kubectl rollout status judges it -------------------------------------

#[test]
fn deployment_progress() {
    let d = |gen: i64, status: Value| json!({"metadata": {"generation": gen}, "spec": {"replicas": 2}, "status": status});
    let p = |v: Value| progress(WorkloadKind::Deployment, &v);
    assert!(matches!(
        p(d(3, json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}))),
        Progress::Waiting(w) if w.contains("not been observed")
    ));
    assert!(matches!(
        p(d(3, json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}))),
        Progress::Waiting(w) if w == "1 of 2 new replicas have been updated"
    ));
    assert!(matches!(
        p(d(3, json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}))),
        Progress::Waiting(w) if w == "1 old replicas are pending termination"
    ));
    assert!(matches!(
        p(d(3, json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}))),
        Progress::Waiting(w) if w == "1 of 2 updated replicas are available"
    ));
    assert_eq!(
        p(d(
            3,
            json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
        )),
        Progress::Complete
    );
    assert!(matches!(
        p(d(
            3,
            json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 1,
                      "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]})
        )),
        Progress::Failed(_)
    ));
    // spec.replicas defaults to 1.
    assert_eq!(
        progress(
            WorkloadKind::Deployment,
            &json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}})
        ),
        Progress::Complete
    );
}

#[test]
fn statefulset_and_daemonset_progress() {
    let s = |status: Value| {
        progress(
            WorkloadKind::StatefulSet,
            &json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": status}),
        )
    };
    assert!(
        matches!(s(json!({})), Progress::Waiting(_)),
        "never observed"
    );
    assert!(matches!(
        s(json!({"observedGeneration": 2, "readyReplicas": 1})),
        Progress::Waiting(_)
    ));
    assert!(matches!(
        s(
            json!({"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 1,
                 "currentRevision": "a", "updateRevision": "b"})
        ),
        Progress::Waiting(_)
    ));
    assert_eq!(
        s(
            json!({"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2,
                 "currentRevision": "b", "updateRevision": "b"})
        ),
        Progress::Complete
    );
    let ds = |status: Value| {
        progress(
            WorkloadKind::DaemonSet,
            &json!({"metadata": {"generation": 4}, "status": status}),
        )
    };
    assert!(matches!(
        ds(
            json!({"observedGeneration": 4, "desiredNumberScheduled": 3, "updatedNumberScheduled": 2, "numberAvailable": 3})
        ),
        Progress::Waiting(_)
    ));
    assert!(matches!(
        ds(
            json!({"observedGeneration": 4, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2})
        ),
        Progress::Waiting(_)
    ));
    assert_eq!(
        ds(
            json!({"observedGeneration": 4, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3})
        ),
        Progress::Complete
    );
}

#[test]
fn on_delete_and_paused_workloads_are_not_restartable() {
    assert!(facts::not_restartable(
        WorkloadKind::StatefulSet,
        &json!({"spec": {"updateStrategy": {"type": "OnDelete"}}})
    )
    .is_some());
    assert!(facts::not_restartable(
        WorkloadKind::DaemonSet,
        &json!({"spec": {"updateStrategy": {"type": "RollingUpdate"}}})
    )
    .is_none());
    assert!(
        facts::not_restartable(WorkloadKind::Deployment, &json!({"spec": {"paused": true}}))
            .is_some()
    );
}

#[test]
fn why_pods_are_not_ready_names_the_container_that_holds_them_up() {
    let never = json!({"metadata": {"name": "shop-2"}, "status": {"phase": "Pending",
        "conditions": [{"type": "Ready", "status": "False"}],
        "initContainerStatuses": [{"name": "opentelemetry-auto-instrumentation-java",
            "state": {"waiting": {"reason": "ErrImageNeverPull",
                "message": "Container image \"absent:1\" is not present with pull policy of Never"}}}],
        "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}]}});
    let crash = json!({"metadata": {"name": "shop-3"}, "status": {"phase": "Pending",
        "initContainerStatuses": [{"name": "opentelemetry-auto-instrumentation-java",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}});
    let ready = json!({"metadata": {"name": "shop-1"}, "status": {"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}]}});
    let text = not_ready(&[&ready, &never, &crash]);
    assert_eq!(
        text,
        "pod shop-2: init container opentelemetry-auto-instrumentation-java: ErrImageNeverPull \
         (Container image \"absent:1\" is not present with pull policy of Never); \
         pod shop-3: init container opentelemetry-auto-instrumentation-java exited with code 3 (Error)"
    );
}

// --- the patches --------------------------------------------------------------------------

#[test]
fn a_restart_is_what_kubectl_rollout_restart_writes_plus_our_record_and_undo_puts_it_back() {
    let now = t(0);
    let previous = Previous {
        restarted_at: Some("2026-11-30T09:00:00Z".into()),
        rollout_for: None,
    };
    let p = start_patch("42", "java=shop/otel@v1", &previous, now);
    assert_eq!(
        p["metadata"]["resourceVersion"], "42",
        "conditional on what was decided on"
    );
    let template = &p["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(template[names::RESTARTED_AT], T0);
    assert_eq!(template[names::ROLLOUT_FOR], "java=shop/otel@v1");
    let record: InProgress = serde_json::from_str(
        p["metadata"]["annotations"][names::IN_PROGRESS]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        record,
        InProgress {
            target: "java=shop/otel@v1".into(),
            started: T0.into(),
            previous: previous.clone()
        }
    );
    assert_eq!(p["metadata"]["annotations"][names::FAILED], Value::Null);

    let failed = Failed {
        target: "java=shop/otel@v1".into(),
        reason: "pods not ready".into(),
        at: restart_time(now),
    };
    let u = undo_patch("43", &previous, &failed);
    let template = &u["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(template[names::RESTARTED_AT], "2026-11-30T09:00:00Z");
    // Absent before: removed again (null in a merge patch), so the template hashes as before.
    assert!(template
        .as_object()
        .unwrap()
        .get(names::ROLLOUT_FOR)
        .is_some_and(Value::is_null));
    assert_eq!(
        u["metadata"]["annotations"][names::IN_PROGRESS],
        Value::Null
    );
    let marker: Failed = serde_json::from_str(
        u["metadata"]["annotations"][names::FAILED]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(marker, failed);
    assert_eq!(
        complete_patch("44"),
        json!({"metadata": {"resourceVersion": "44", "annotations": {names::IN_PROGRESS: null}}})
    );
    // Whole seconds, as kubectl writes it.
    assert_eq!(
        restart_time(Timestamp::from_millisecond(t(0).as_millisecond() + 999).unwrap()),
        T0
    );
}

// --- from cluster objects to decisions ------------------------------------------------------

fn inst(endpoint: &str) -> Arc<Instrumentation> {
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "otel", "namespace": "shop", "creationTimestamp": "2026-12-02T15:00:00Z"},
            "spec": {"exporter": {"endpoint": endpoint}}
        }))
        .expect("test data"),
    )
}

fn cluster(insts: Vec<Arc<Instrumentation>>, ns_opt_in: bool, pod_annotations: Value) -> Snapshot {
    let template = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-java": "true"}},
                          "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
    let mut s = Snapshot {
        instrumentations: insts,
        workloads: vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "cart", "namespace": "shop", "uid": "d-cart", "generation": 1,
                                "resourceVersion": "10"},
                   "spec": {"replicas": 1, "template": template},
                   "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": "cart-1", "namespace": "shop", "uid": "rs-cart",
                                "ownerReferences": [{"kind": "Deployment", "name": "cart", "uid": "d-cart", "controller": true}]},
                   "spec": {"template": template}}),
        ],
        pods: vec![json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "cart-1-x", "namespace": "shop", "creationTimestamp": "2026-12-02T14:00:00Z",
                         "annotations": pod_annotations,
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "cart-1", "uid": "rs-cart", "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})],
        ..Snapshot::default()
    };
    let mut ns = NamespaceInfo::named("shop");
    if ns_opt_in {
        ns.annotations.insert(names::OPT_IN.into(), "true".into());
    }
    s.namespaces.insert("shop".into(), ns);
    s
}

#[test]
fn a_deployment_created_before_its_instrumentation_is_restarted_once_it_exists() {
    let java = json!({"instrumentation.opentelemetry.io/inject-java": "true"});
    let options = InjectOptions::default();

    // No Instrumentation yet: not injected, and a restart would not help.
    let w = facts::workloads(&cluster(vec![], true, java.clone()), &options);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].pods.not_injected, 1);
    assert_eq!(w[0].target, None);
    let p = plan(&w, &none(), t(0), limits(1));
    assert_eq!(held(&p, "cart"), Some(&Hold::RestartCannotHelp));

    // It exists: a new pod would be injected from it, so the Deployment is restarted for it.
    let v1 = inst("http://collector:4318");
    let want = format!("java=shop/otel@{}", spec_hash(&v1.spec));
    let w = facts::workloads(&cluster(vec![v1.clone()], true, java.clone()), &options);
    assert_eq!(w[0].target.as_deref(), Some(want.as_str()));
    assert!(w[0].opted_in);
    assert_eq!(w[0].progress, Progress::Complete);
    assert!(matches!(&plan(&w, &none(), t(0), limits(1)).actions[..],
        [Action::Start { target, .. }] if *target == want));

    // Not opted in (namespace without the annotation, workload without it): not even looked at.
    let w = facts::workloads(&cluster(vec![v1.clone()], false, java.clone()), &options);
    assert!(w.is_empty(), "{w:?}");

    // Injected from v1, then the endpoint changes: outdated, restarted for v2.
    let mut injected = java.clone();
    injected["otel-inject.dev/injected"] = json!(want);
    let w = facts::workloads(&cluster(vec![v1], true, injected.clone()), &options);
    assert_eq!(w[0].pods.injected, 1);
    assert!(plan(&w, &none(), t(0), limits(1)).actions.is_empty());
    let v2 = inst("http://collector-2:4318");
    let w = facts::workloads(&cluster(vec![v2.clone()], true, injected), &options);
    assert_eq!(w[0].pods.outdated, 1);
    let want2 = format!("java=shop/otel@{}", spec_hash(&v2.spec));
    assert!(matches!(&plan(&w, &none(), t(0), limits(1)).actions[..],
        [Action::Start { target, .. }] if *target == want2));
}

#[test]
fn only_namespaces_with_an_opted_in_workload_or_a_rollout_of_ours_are_read() {
    let java = json!({"instrumentation.opentelemetry.io/inject-java": "true"});
    let mut s = cluster(vec![inst("http://c:4318")], false, java);
    assert!(facts::relevant(&s).workloads.is_empty());
    assert!(facts::relevant(&s).pods.is_empty());
    // A rollout of ours in flight is followed even after the opt-in is gone.
    s.workloads[0]["metadata"]["annotations"] = json!({names::IN_PROGRESS: "{}"});
    let r = facts::relevant(&s);
    assert_eq!((r.workloads.len(), r.pods.len()), (2, 1));
    assert_eq!(r.instrumentations.len(), 1);
}

#[test]
fn the_workloads_own_annotation_wins_over_its_namespaces() {
    let ns = |v: Option<&str>| {
        let mut n = NamespaceInfo::named("shop");
        if let Some(v) = v {
            n.annotations.insert(names::OPT_IN.into(), v.into());
        }
        n
    };
    let w = |v: Option<&str>| match v {
        Some(v) => json!({"metadata": {"annotations": {names::OPT_IN: v}}}),
        None => json!({"metadata": {}}),
    };
    assert!(facts::opted_in(Some(&ns(Some("true"))), &w(None)));
    assert!(!facts::opted_in(Some(&ns(Some("true"))), &w(Some("false"))));
    assert!(facts::opted_in(Some(&ns(None)), &w(Some("true"))));
    assert!(facts::opted_in(None, &w(Some("True"))));
    assert!(!facts::opted_in(Some(&ns(None)), &w(None)));
    assert!(!facts::opted_in(Some(&ns(Some("yes please"))), &w(None)));
}
