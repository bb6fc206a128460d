//! Property tests over generated pods: the patch always applies, a second mutation changes
//! nothing, nothing outside what we own changes, the user's env entries, volume mounts, volumes
//! and init containers survive byte for byte (but for the documented joins), and names stay
//! unique.

mod common;

use std::collections::BTreeSet;

use otel_inject_lib::lang::dotnet;
use otel_inject_lib::names::env as envn;
use otel_inject_lib::resource_attributes::existing_keys;
use otel_inject_lib::InjectionDecision;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

const ENV_NAMES: &[&str] = &[
    "PATH",
    "LOG_LEVEL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "DOTNET_STARTUP_HOOKS",
    "DOTNET_ADDITIONAL_DEPS",
    "DOTNET_SHARED_STORE",
    "CORECLR_PROFILER",
    "CORECLR_PROFILER_PATH",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "TRACEPARENT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_DOTNET_AUTO_HOME",
    "OTEL_POD_IP",
    "OTEL_NODE_IP",
    "OTEL_RESOURCE_ATTRIBUTES_POD_NAME",
];
/// Values that mean something to the injection (resource attributes it would add, lists it
/// joins), next to random ones.
const MEANINGFUL_VALUES: &[&str] = &[
    "",
    "team=a,",
    "k8s.pod.name=p-0",
    "k8s.node.name=n1,team=a",
    "k8s.pod.uid=u-1,k8s.pod.name=p",
    "service.version=9",
    "/app/Hook.dll",
    "/a:/b",
];
const CONTAINERS: &[&str] = &["app", "worker", "sidecar", "main", "wait", "migrate"];

fn env_entry() -> impl Strategy<Value = (String, Value)> {
    (
        prop::sample::select(ENV_NAMES),
        prop_oneof![
            "[a-z0-9=,./:]{0,12}",
            prop::sample::select(MEANINGFUL_VALUES).prop_map(String::from),
        ],
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
        any::<bool>(),
    )
        .prop_map(move |(env, unknown, image, sc, mounts)| {
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
            if mounts {
                // The user's own mount, which must stay first and untouched.
                c.insert(
                    "volumeMounts".into(),
                    json!([{"name": "data", "mountPath": format!("/data/{name}")}]),
                );
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

/// The env vars the .NET injection joins as `<user>:<ours>`, with ours.
const JOINED_WITH_COLON: &[(&str, &str)] = &[
    (dotnet::DOTNET_STARTUP_HOOKS, dotnet::STARTUP_HOOK),
    (dotnet::DOTNET_ADDITIONAL_DEPS, dotnet::ADDITIONAL_DEPS),
    (dotnet::DOTNET_SHARED_STORE, dotnet::SHARED_STORE),
];

fn without_value(e: &Value) -> Value {
    let mut e = e.clone();
    if let Some(o) = e.as_object_mut() {
        o.remove("value");
    }
    e
}

fn has_value_from(e: &Value) -> bool {
    e.get("valueFrom").is_some_and(|v| !v.is_null())
}

/// One user env entry `before` and what became of it, `after`: identical, but for the
/// documented joins, where the user's value comes first and as it was.
fn check_env_entry(before: &Value, after: &Value) -> Result<(), TestCaseError> {
    let name = before["name"].as_str().unwrap_or("");
    let user = before.get("value").and_then(Value::as_str);
    let got = after.get("value").and_then(Value::as_str);
    if has_value_from(before) {
        prop_assert_eq!(after, before, "user's {} (valueFrom) changed", name);
        return Ok(());
    }
    if let (Some((_, ours)), Some(user)) =
        (JOINED_WITH_COLON.iter().find(|(n, _)| *n == name), user)
    {
        prop_assert_eq!(without_value(after), without_value(before));
        let joined = format!("{user}:{ours}");
        prop_assert!(
            got == Some(user) || got == Some(joined.as_str()),
            "{} was {:?}, became {:?}",
            name,
            user,
            got
        );
        return Ok(());
    }
    if name == envn::OTEL_RESOURCE_ATTRIBUTES {
        let user = user.unwrap_or("");
        let got = got.unwrap_or("");
        prop_assert_eq!(without_value(after), without_value(before));
        prop_assert!(
            got.starts_with(user),
            "OTEL_RESOURCE_ATTRIBUTES was {:?}, became {:?}",
            user,
            got
        );
        let added = &got[user.len()..];
        let added = if added.is_empty() || user.is_empty() || user.ends_with(',') {
            added
        } else {
            prop_assert!(
                added.starts_with(','),
                "no separator after the user's {:?} in {:?}",
                user,
                got
            );
            &added[1..]
        };
        prop_assert!(!added.starts_with(','), "empty entry added in {:?}", got);
        let theirs: BTreeSet<&str> = existing_keys(user).into_iter().collect();
        for key in existing_keys(added) {
            prop_assert!(
                !theirs.contains(key),
                "{} was the user's and was added again: {:?}",
                key,
                got
            );
        }
        return Ok(());
    }
    prop_assert_eq!(after, before, "user's {} changed", name);
    Ok(())
}

/// Containers some language reports as injected (the only ones allowed to change).
fn injected_containers(decision: &InjectionDecision) -> BTreeSet<String> {
    decision
        .languages
        .iter()
        .flat_map(|l| l.containers.iter())
        .filter(|c| c.injected())
        .map(|c| c.container.clone())
        .collect()
}

/// What the user wrote in each container survives: every env entry, byte for byte (but for
/// the documented joins), in the same relative order (but `OTEL_RESOURCE_ATTRIBUTES`, which
/// moves to the end so its `$(VAR)` references resolve, as the operator does); the user's
/// volume mounts first and unchanged; every other field unchanged; and a container no language
/// injected is entirely unchanged, init containers included. The user's volumes come first.
fn check_user_parts(
    before: &Value,
    after: &Value,
    decision: &InjectionDecision,
) -> Result<(), TestCaseError> {
    let injected = injected_containers(decision);
    for list in ["containers", "initContainers"] {
        for c in before["spec"][list].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("");
            let Some(m) = after["spec"][list]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["name"] == name))
            else {
                return Err(TestCaseError::fail(format!("{list} {name} disappeared")));
            };
            if !injected.contains(name) {
                prop_assert_eq!(m, c, "{} {} was not injected, yet changed", list, name);
                continue;
            }
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(o) = v.as_object_mut() {
                    o.remove("env");
                    o.remove("volumeMounts");
                }
                v
            };
            prop_assert_eq!(strip(m), strip(c));
            let before_mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
            let after_mounts = m["volumeMounts"].as_array().cloned().unwrap_or_default();
            prop_assert_eq!(
                &after_mounts[..before_mounts.len().min(after_mounts.len())],
                &before_mounts[..],
                "user mounts of {} changed",
                name
            );
            let after_env = m["env"].as_array().cloned().unwrap_or_default();
            let mut last = None;
            for e in c["env"].as_array().into_iter().flatten() {
                let n = e["name"].as_str().unwrap_or("");
                let Some(pos) = after_env.iter().position(|x| x["name"] == n) else {
                    return Err(TestCaseError::fail(format!(
                        "env {n} of {name} disappeared"
                    )));
                };
                check_env_entry(e, &after_env[pos])?;
                if n != envn::OTEL_RESOURCE_ATTRIBUTES {
                    prop_assert!(
                        last.is_none_or(|l| l < pos),
                        "env {} of {} moved before an earlier user entry",
                        n,
                        name
                    );
                    last = Some(pos);
                }
            }
        }
    }
    let before_vols = before["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let after_vols = after["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    prop_assert_eq!(
        &after_vols[..before_vols.len().min(after_vols.len())],
        &before_vols[..]
    );
    Ok(())
}

/// The fixture plus what makes the SDK step write more: UID attributes, resource attributes,
/// and `env` / `dotnet.env` entries whose names users also set.
fn rich_instrumentation() -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    common::instrumentation(
        "shop",
        "dotnet",
        json!({
            "exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
            "propagators": ["tracecontext", "baggage"],
            "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
            "resource": {"addK8sUIDAttributes": true,
                         "resourceAttributes": {"team": "platform", "k8s.node.name": "from-cr"}},
            "env": [{"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "TRACEPARENT", "value": "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01"}],
            "dotnet": {"env": [{"name": "PATH", "value": "/cr"},
                               {"name": "OTEL_TRACES_SAMPLER", "value": "always_off"}]}
        }),
    )
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
    fn mutation_is_safe_idempotent_and_contained(pod in pod_strategy(), rich in any::<bool>()) {
        let insts = [if rich { rich_instrumentation() } else { common::dotnet_instrumentation("shop") }];
        // `run` applies the patch (must not fail) and asserts a second mutation is empty.
        let out = common::run(&pod, "shop", &insts, &[]);
        prop_assert_eq!(outside_our_fields(&out.mutated), outside_our_fields(&pod));
        check_user_parts(&pod, &out.mutated, &out.decision)?;
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
