//! The inputs every mutation benchmark measures: a realistic Deployment pod (three containers,
//! twenty env vars each) in an AdmissionReview, its Instrumentation, owner and namespace; and a
//! pod listing many containers for the scaling group.
#![allow(dead_code, clippy::expect_used)]

use std::sync::Arc;

use otel_inject_lib::{
    mutate, InjectOptions, Instrumentation, NamespaceInfo, OwnerObject, PodContext,
};
use serde_json::{json, Value};

/// The review's bytes, with these pod annotations.
pub fn review_bytes(annotations: Value) -> Vec<u8> {
    serde_json::to_vec(&review(annotations)).expect("serialise")
}

/// .NET into two of the three containers.
pub fn dotnet_annotations() -> Value {
    json!({
        "instrumentation.opentelemetry.io/inject-dotnet": "true",
        "instrumentation.opentelemetry.io/dotnet-container-names": "api,worker"})
}

/// Three agent languages, one container each.
pub fn three_agents_annotations() -> Value {
    json!({
        "instrumentation.opentelemetry.io/inject-java": "true",
        "instrumentation.opentelemetry.io/java-container-names": "api",
        "instrumentation.opentelemetry.io/inject-python": "true",
        "instrumentation.opentelemetry.io/python-container-names": "worker",
        "instrumentation.opentelemetry.io/inject-nodejs": "true",
        "instrumentation.opentelemetry.io/nodejs-container-names": "metrics"})
}

/// One language into one container.
pub fn one_language_annotations(lang: &str) -> Value {
    json!({
        format!("instrumentation.opentelemetry.io/inject-{lang}"): "true",
        "instrumentation.opentelemetry.io/container-names": "api"})
}

pub fn review(annotations: Value) -> Value {
    let containers: Vec<Value> = ["api", "worker", "metrics"]
        .iter()
        .map(|name| {
            let env: Vec<Value> = (0..20)
                .map(|i| json!({"name": format!("APP_SETTING_{i}"), "value": format!("value-{i}-{name}")}))
                .collect();
            json!({"name": name, "image": format!("registry.example.com/shop/{name}:1.4.2"),
                   "ports": [{"containerPort": 8080, "protocol": "TCP"}], "env": env,
                   "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                   "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]})
        })
        .collect();
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "shop", "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": "checkout-7d4b9c8f6-", "namespace": "shop",
                    "labels": {"app": "checkout", "pod-template-hash": "7d4b9c8f6"},
                    "annotations": annotations,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-7d4b9c8f6", "uid": "rs-uid", "controller": true}]},
                "spec": {"containers": containers, "volumes": [{"name": "kube-api-access", "projected": {"sources": []}}]}
            },
            "oldObject": null, "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

/// Everything but the pod: the shop namespace, its Instrumentation and the pod's ReplicaSet.
pub struct World {
    pub insts: Vec<Arc<Instrumentation>>,
    pub owners: Vec<OwnerObject>,
    pub ns: NamespaceInfo,
    pub options: InjectOptions,
}

impl World {
    pub fn shop() -> Self {
        let inst: Arc<Instrumentation> = Arc::new(
            serde_json::from_value(json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
                "metadata": {"name": "dotnet", "namespace": "shop"},
                "spec": {"exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
                         "propagators": ["tracecontext", "baggage"], "sampler": {"type": "parentbased_always_on"}}}))
            .expect("instrumentation"),
        );
        let owners = vec![OwnerObject {
            kind: "ReplicaSet".into(),
            name: "checkout-7d4b9c8f6".into(),
            uid: "rs-uid".into(),
            owner_references: vec![serde_json::from_value(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout", "uid": "d"}),
            )
            .expect("ref")],
        }];
        Self {
            insts: vec![inst],
            owners,
            ns: NamespaceInfo::named("shop"),
            options: InjectOptions::default(),
        }
    }

    /// What the webhook does with a review: parse it, decide, write the patch's JSON.
    pub fn mutate_review(&self, body: &[u8]) -> Vec<u8> {
        let v: Value = serde_json::from_slice(body).expect("parse");
        let d = mutate(&PodContext {
            pod: &v["request"]["object"],
            namespace: &self.ns,
            instrumentations: &self.insts,
            owners: &self.owners,
            options: &self.options,
        });
        assert!(d.has_patch());
        d.patch_json()
    }
}

/// The floor: parse the same review and serialise it again.
pub fn floor(body: &[u8]) -> Vec<u8> {
    let v: Value = serde_json::from_slice(body).expect("parse");
    serde_json::to_vec(&v).expect("serialise")
}

/// A pod with `n` containers, every one listed for `inject-sdk`.
pub fn many_containers(n: usize) -> Value {
    let names: Vec<String> = (0..n).map(|i| format!("c{i:05}")).collect();
    let containers: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "image": "acme/app:1", "env": [{"name": "A", "value": "b"}]}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "wide", "namespace": "shop",
            "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true",
                            "instrumentation.opentelemetry.io/container-names": names.join(",")}},
        "spec": {"containers": containers}
    })
}
