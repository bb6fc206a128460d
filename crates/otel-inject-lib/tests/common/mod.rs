//! Fixtures and the checks every scenario runs: the patch applies to the input with
//! `json-patch`, and mutating the result again changes nothing.
#![allow(dead_code)]

pub mod operator;

use std::sync::Arc;

use otel_inject_lib::{
    mutate, InjectOptions, InjectionDecision, Instrumentation, NamespaceInfo, OwnerObject,
    PodContext,
};
use serde_json::{json, Value};

pub fn instrumentation(ns: &str, name: &str, spec: Value) -> Arc<Instrumentation> {
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "opentelemetry.io/v1alpha1",
            "kind": "Instrumentation",
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }))
        .expect("valid Instrumentation"),
    )
}

/// The Instrumentation of the operator's e2e test for .NET, give or take the endpoint.
pub fn dotnet_instrumentation(ns: &str) -> Arc<Instrumentation> {
    instrumentation(
        ns,
        "dotnet",
        json!({
            "exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
            "propagators": ["tracecontext", "baggage"],
            "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
            "dotnet": {"image": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0"}
        }),
    )
}

pub fn replicaset(name: &str, deployment: &str) -> OwnerObject {
    OwnerObject {
        kind: "ReplicaSet".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        owner_references: vec![serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment,
            "uid": format!("uid-{deployment}"), "controller": true
        }))
        .expect("owner reference")],
    }
}

pub fn deployment_pod(ns: &str, annotations: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "my-dotnet-6b8d9c7f5d-",
            "namespace": ns,
            "labels": {"app": "my-dotnet", "pod-template-hash": "6b8d9c7f5d"},
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "my-dotnet-6b8d9c7f5d",
                "uid": "uid-my-dotnet-6b8d9c7f5d", "controller": true, "blockOwnerDeletion": true
            }]
        },
        "spec": {"containers": containers, "restartPolicy": "Always"}
    })
}

pub struct Outcome {
    pub decision: InjectionDecision,
    pub mutated: Value,
}

pub fn run_with(
    pod: &Value,
    ns: &NamespaceInfo,
    insts: &[Arc<Instrumentation>],
    owners: &[OwnerObject],
    options: &InjectOptions,
) -> Outcome {
    let ctx = PodContext {
        pod,
        namespace: ns,
        instrumentations: insts,
        owners,
        options,
    };
    let decision = mutate(&ctx);
    let mut mutated = pod.clone();
    decision
        .patch
        .apply(&mut mutated)
        .expect("the patch applies to the input");
    // Idempotency: the mutated pod gets no patch.
    let again = mutate(&PodContext {
        pod: &mutated,
        ..ctx
    });
    assert!(
        again.patch.is_empty(),
        "second mutation must change nothing, got {}",
        serde_json::to_string_pretty(&again.patch).unwrap_or_default()
    );
    Outcome { decision, mutated }
}

pub fn run(
    pod: &Value,
    ns: &str,
    insts: &[Arc<Instrumentation>],
    owners: &[OwnerObject],
) -> Outcome {
    run_with(
        pod,
        &NamespaceInfo::named(ns),
        insts,
        owners,
        &InjectOptions::default(),
    )
}

pub fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod["spec"][list]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {list} {name}"))
}

pub fn env_names(c: &Value) -> Vec<String> {
    c["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn env_value<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
}

pub fn status(pod: &Value) -> Option<&str> {
    pod["metadata"]["annotations"]["otel-inject.dev/status"].as_str()
}
