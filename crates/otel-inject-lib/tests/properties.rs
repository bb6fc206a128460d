//! Property tests over generated pods: the patch always applies, a second mutation changes
//! nothing, nothing outside what we own changes, and names stay unique.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

const ENV_NAMES: &[&str] = &[
    "PATH",
    "LOG_LEVEL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "DOTNET_STARTUP_HOOKS",
    "DOTNET_SHARED_STORE",
    "CORECLR_PROFILER",
    "OTEL_TRACES_SAMPLER_ARG",
    "TRACEPARENT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_DOTNET_AUTO_HOME",
    "OTEL_POD_IP",
];
const CONTAINERS: &[&str] = &["app", "worker", "sidecar", "main", "wait", "migrate"];

fn env_entry() -> impl Strategy<Value = (String, Value)> {
    (
        prop::sample::select(ENV_NAMES),
        "[a-z0-9=,./:]{0,12}",
        any::<bool>(),
    )
        .prop_map(|(n, v, from)| {
            let e = if from {
                json!({"name": n, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
            } else {
                json!({"name": n, "value": v})
            };
            (n.to_string(), e)
        })
}

fn container(name: &'static str) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(env_entry(), 0..5),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "acme/app:1.0",
            "app",
            "Reg:5000/x",
            "r/x@sha256:abc",
        ])),
        any::<bool>(),
    )
        .prop_map(move |(env, unknown, image, sc)| {
            let mut seen = BTreeSet::new();
            let env: Vec<Value> = env
                .into_iter()
                .filter(|(n, _)| seen.insert(n.clone()))
                .map(|(_, e)| e)
                .collect();
            let mut c = Map::new();
            c.insert("name".into(), json!(name));
            if let Some(i) = image {
                c.insert("image".into(), json!(i));
            }
            if !env.is_empty() {
                c.insert("env".into(), Value::Array(env));
            }
            if unknown {
                c.insert("futureField".into(), json!({"a": [1, {"b": null}]}));
            }
            if sc {
                c.insert(
                    "securityContext".into(),
                    json!({"runAsNonRoot": true, "runAsUser": 1000}),
                );
            }
            Value::Object(c)
        })
}

fn annotation_strategy() -> impl Strategy<Value = Map<String, Value>> {
    let inject = prop::option::of(prop::sample::select(vec![
        "true",
        "false",
        "dotnet",
        "nope",
        "shop/dotnet",
        "Bad Value",
    ]));
    let names = prop::option::of(prop::sample::select(vec![
        "app",
        "app,worker",
        "migrate",
        "main",
        "x,,app",
        "a b",
    ]));
    (
        inject.clone(),
        inject,
        names.clone(),
        names,
        prop::option::of(prop::sample::select(vec![
            "linux-x64",
            "linux-musl-x64",
            "bogus",
        ])),
    )
        .prop_map(|(dotnet, sdk, common_names, dotnet_names, runtime)| {
            let mut m = Map::new();
            m.insert("example.com/keep".into(), json!("me"));
            let mut put = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    m.insert(format!("instrumentation.opentelemetry.io/{k}"), json!(v));
                }
            };
            put("inject-dotnet", dotnet);
            put("inject-sdk", sdk);
            put("container-names", common_names);
            put("dotnet-container-names", dotnet_names);
            put("otel-dotnet-auto-runtime", runtime);
            m
        })
}

fn pod_strategy() -> impl Strategy<Value = Value> {
    (
        prop::sample::subsequence(CONTAINERS.to_vec(), 1..4),
        prop::bool::ANY,
        annotation_strategy(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of("[a-z]{1,5}"),
    )
        .prop_flat_map(|(names, with_init, annotations, argo, volumes, node)| {
            let (init, regular): (Vec<&str>, Vec<&str>) = if with_init && names.len() > 1 {
                (names[..1].to_vec(), names[1..].to_vec())
            } else {
                (vec![], names)
            };
            let regular_s: Vec<_> = regular.iter().map(|n| container(n)).collect();
            let init_s: Vec<_> = init.iter().map(|n| container(n)).collect();
            (regular_s, init_s, Just(annotations), Just(argo), Just(volumes), Just(node))
        })
        .prop_map(|(regular, init, annotations, argo, volumes, node)| {
            let mut labels = json!({"app": "x"});
            if argo {
                labels["workflows.argoproj.io/workflow"] = json!("wf");
            }
            let mut spec = json!({"containers": regular, "futurePodField": {"x": 1}});
            if !init.is_empty() {
                spec["initContainers"] = json!(init);
            }
            if volumes {
                spec["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
            }
            if let Some(n) = node {
                spec["nodeName"] = json!(n);
            }
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": "web-", "labels": labels, "annotations": annotations,
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u"}]},
                "spec": spec,
            })
        })
}

/// The pod with everything we may touch removed.
fn outside_our_fields(pod: &Value) -> Value {
    let mut p = pod.clone();
    if let Some(spec) = p.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("initContainers");
        spec.remove("volumes");
        if let Some(cs) = spec.get_mut("containers").and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("env");
                c.remove("volumeMounts");
            }
        }
    }
    if let Some(a) = p
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove("otel-inject.dev/status");
    }
    p
}

fn unique(names: impl IntoIterator<Item = String>) -> bool {
    let v: Vec<String> = names.into_iter().collect();
    let s: BTreeSet<&String> = v.iter().collect();
    s.len() == v.len()
}

fn names_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutation_is_safe_idempotent_and_contained(pod in pod_strategy()) {
        let insts = [common::dotnet_instrumentation("shop")];
        // `run` applies the patch (must not fail) and asserts a second mutation is empty.
        let out = common::run(&pod, "shop", &insts, &[]);
        prop_assert_eq!(outside_our_fields(&out.mutated), outside_our_fields(&pod));
        // Init containers of the input survive in order.
        let before = names_of(&pod["spec"]["initContainers"]);
        let after: Vec<String> = names_of(&out.mutated["spec"]["initContainers"])
            .into_iter()
            .filter(|n| n != "opentelemetry-auto-instrumentation-dotnet")
            .collect();
        prop_assert_eq!(before, after);
        prop_assert!(unique(names_of(&out.mutated["spec"]["volumes"])));
        prop_assert!(unique(names_of(&out.mutated["spec"]["initContainers"])));
        for list in ["containers", "initContainers"] {
            for c in out.mutated["spec"][list].as_array().into_iter().flatten() {
                prop_assert!(unique(names_of(&c["env"])), "duplicate env in {}", c);
                prop_assert!(unique(names_of(&c["volumeMounts"])), "duplicate mounts in {}", c);
            }
        }
    }
}
