//! One full mutation of a realistic Deployment pod (three containers, twenty env vars each),
//! next to the floor: serde_json parse plus serialize of the same AdmissionReview.
//! Then the scaling group: a pod listing 1,000 and then 4,000 containers in
//! `container-names`, all injected with the SDK settings; linear cost means the 4,000 case
//! takes about four times the 1,000 one (it took ~10x, and ~100x at 8,000, when every container
//! copied every annotation and every listed name was found by a scan of the pod).
//! The same pod with Java, Python and Node.js, one container each, is measured too.
//! Run: `cargo bench -p otel-inject-lib --bench mutation` (`-- containers` for the scaling only).

use std::hint::black_box;

// The allocator the otel-inject binary runs with: what it costs there is what is measured.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use otel_inject_lib::{
    mutate, InjectOptions, Instrumentation, NamespaceInfo, OwnerObject, PodContext,
};
use serde_json::{json, Value};

fn review(annotations: Value) -> Value {
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

fn bench(c: &mut Criterion) {
    let body = serde_json::to_vec(&review(json!({
        "instrumentation.opentelemetry.io/inject-dotnet": "true",
        "instrumentation.opentelemetry.io/dotnet-container-names": "api,worker"})))
    .expect("serialise");
    // Three agent languages, one container each.
    let three = serde_json::to_vec(&review(json!({
        "instrumentation.opentelemetry.io/inject-java": "true",
        "instrumentation.opentelemetry.io/java-container-names": "api",
        "instrumentation.opentelemetry.io/inject-python": "true",
        "instrumentation.opentelemetry.io/python-container-names": "worker",
        "instrumentation.opentelemetry.io/inject-nodejs": "true",
        "instrumentation.opentelemetry.io/nodejs-container-names": "metrics"})))
    .expect("serialise");
    let inst: Arc<Instrumentation> = Arc::new(
        serde_json::from_value(json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "dotnet", "namespace": "shop"},
            "spec": {"exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
                     "propagators": ["tracecontext", "baggage"], "sampler": {"type": "parentbased_always_on"}}}))
        .expect("instrumentation"),
    );
    let insts = [inst];
    let owners = [OwnerObject {
        kind: "ReplicaSet".into(),
        name: "checkout-7d4b9c8f6".into(),
        uid: "rs-uid".into(),
        owner_references: vec![serde_json::from_value(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout", "uid": "d"}),
        )
        .expect("ref")],
    }];
    let ns = NamespaceInfo::named("shop");
    let options = InjectOptions::default();

    c.bench_function("floor: parse + serialize review", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&body)).expect("parse");
            black_box(serde_json::to_vec(&v).expect("serialise"))
        })
    });
    for (name, body) in [
        ("mutation: parse + mutate + serialize patch", &body),
        ("mutation: java + python + nodejs", &three),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let v: Value = serde_json::from_slice(black_box(body)).expect("parse");
                let pod = &v["request"]["object"];
                let d = mutate(&PodContext {
                    pod,
                    namespace: &ns,
                    instrumentations: &insts,
                    owners: &owners,
                    options: &options,
                });
                assert!(d.has_patch());
                black_box(serde_json::to_vec(&d.patch).expect("serialise"))
            })
        });
    }
}

/// A pod with `n` containers, every one listed for `inject-sdk`.
fn many_containers(n: usize) -> Value {
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

fn scaling(c: &mut Criterion) {
    let inst: Arc<Instrumentation> = Arc::new(
        serde_json::from_value(
            json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "sdk", "namespace": "shop"},
            "spec": {"exporter": {"endpoint": "http://jaeger-collector.monitoring:4317"}}}),
        )
        .expect("instrumentation"),
    );
    let insts = [inst];
    let ns = NamespaceInfo::named("shop");
    let options = InjectOptions::default();
    let mut group = c.benchmark_group("containers");
    group.sample_size(10);
    for n in [1_000, 4_000] {
        let pod = many_containers(n);
        group.bench_function(format!("{n} listed, all injected"), |b| {
            b.iter(|| {
                let d = mutate(&PodContext {
                    pod: black_box(&pod),
                    namespace: &ns,
                    instrumentations: &insts,
                    owners: &[],
                    options: &options,
                });
                assert!(d.has_patch());
                black_box(d.patch.0.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, scaling);
criterion_main!(benches);
