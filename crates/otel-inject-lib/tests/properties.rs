//! Property tests over generated pods asking for any mix of Java, Node.js, Python, .NET, Go
//! and the SDK mode: the patch always applies, a second mutation changes nothing, the patch
//! only names what we inject (and nothing outside it changes), the user's env entries, volume
//! mounts, volumes and init containers survive byte for byte (but for the documented joins),
//! and the pod stays valid: unique env names per container, unique mount paths and names,
//! mounted volumes that exist, uniquely named containers, volumes and init containers. And
//! `mutate` never panics, whatever JSON it is given.

mod common;

use std::collections::BTreeSet;

use otel_inject_lib::lang::{apache_httpd, dotnet, go, java, nginx, nodejs, python};
use otel_inject_lib::names::env as envn;
use otel_inject_lib::resource_attributes::existing_keys;
use otel_inject_lib::{InjectOptions, InjectionDecision, Language, NamespaceInfo};
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
    "JAVA_TOOL_OPTIONS",
    "NODE_OPTIONS",
    "PYTHONPATH",
    "OTEL_GO_AUTO_TARGET_EXE",
    "OTEL_METRICS_EXPORTER",
    "OTEL_TRACES_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
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
/// joins, markers of an earlier injection), next to random ones.
const MEANINGFUL_VALUES: &[&str] = &[
    "",
    "team=a,",
    "k8s.pod.name=p-0",
    "k8s.node.name=n1,team=a",
    "k8s.pod.uid=u-1,k8s.pod.name=p",
    "service.version=9",
    "/app/Hook.dll",
    "/a:/b",
    "-Xmx1g",
    " -javaagent:/otel-auto-instrumentation-java-app/javaagent.jar",
    "--max-old-space-size=512",
    " --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js",
    "/app/lib",
    "/otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python",
    "none",
];
const CONTAINERS: &[&str] = &["app", "worker", "sidecar", "main", "wait", "migrate"];

/// The agent languages and the SDK mode, with the annotation suffix of each.
const LANGS: &[(Language, &str)] = &[
    (Language::Java, "java"),
    (Language::NodeJs, "nodejs"),
    (Language::Python, "python"),
    (Language::DotNet, "dotnet"),
    (Language::Go, "go"),
    (Language::ApacheHttpd, "apache-httpd"),
    (Language::Nginx, "nginx"),
    (Language::Sdk, "sdk"),
];

fn env_entry() -> impl Strategy<Value = (String, Value)> {
    (
        prop::sample::select(ENV_NAMES),
        prop_oneof![
            "[a-z0-9=,./: -]{0,12}",
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
    let inject = || {
        prop::option::of(prop::sample::select(vec![
            "true",
            "false",
            "inst",
            "nope",
            "shop/inst",
            "Bad Value",
        ]))
    };
    let names = || {
        prop::option::of(prop::sample::select(vec![
            "app",
            "app,worker",
            "migrate",
            "main",
            "worker,migrate",
            "x,,app",
            "a b",
        ]))
    };
    (
        prop::collection::vec((inject(), names()), LANGS.len()),
        names(),
        prop::option::of(prop::sample::select(vec![
            "linux-x64",
            "linux-musl-x64",
            "bogus",
        ])),
        prop::option::of(prop::sample::select(vec!["glibc", "musl", "alpine"])),
        prop::option::of(prop::sample::select(vec!["/app/server", ""])),
        any::<bool>(),
    )
        .prop_map(
            |(per_lang, common_names, runtime, platform, exe, default_container)| {
                let mut m = Map::new();
                m.insert("example.com/keep".into(), json!("me"));
                let mut put = |k: &str, v: Option<&str>| {
                    if let Some(v) = v {
                        m.insert(format!("instrumentation.opentelemetry.io/{k}"), json!(v));
                    }
                };
                for ((_, key), (inject, list)) in LANGS.iter().zip(per_lang) {
                    put(&format!("inject-{key}"), inject);
                    put(&format!("{key}-container-names"), list);
                }
                put("container-names", common_names);
                put("otel-dotnet-auto-runtime", runtime);
                put("otel-python-platform", platform);
                put("otel-go-auto-target-exe", exe);
                if default_container {
                    m.insert(
                        "kubectl.kubernetes.io/default-container".into(),
                        json!("worker"),
                    );
                }
                m
            },
        )
}

fn pod_strategy() -> impl Strategy<Value = Value> {
    (
        prop::sample::subsequence(CONTAINERS.to_vec(), 1..4),
        prop::bool::ANY,
        annotation_strategy(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of("[a-z]{1,5}"),
        prop::option::of(any::<bool>()),
    )
        .prop_flat_map(
            |(names, with_init, annotations, argo, volumes, node, share)| {
                let (init, regular): (Vec<&str>, Vec<&str>) = if with_init && names.len() > 1 {
                    (names[..1].to_vec(), names[1..].to_vec())
                } else {
                    (vec![], names)
                };
                let regular_s: Vec<_> = regular.iter().map(|n| container(n)).collect();
                let init_s: Vec<_> = init.iter().map(|n| container(n)).collect();
                (
                    regular_s,
                    init_s,
                    Just(annotations),
                    Just(argo),
                    Just(volumes),
                    Just(node),
                    Just(share),
                )
            },
        )
        .prop_map(
            |(regular, init, annotations, argo, volumes, node, share)| {
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
                if let Some(s) = share {
                    spec["shareProcessNamespace"] = json!(s);
                }
                json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"generateName": "web-", "labels": labels, "annotations": annotations,
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u"}]},
                    "spec": spec,
                })
            },
        )
}

/// The deployment's switches: Go and nginx on or off, multi-instrumentation on or off, one
/// language switched off or none.
fn options_strategy() -> impl Strategy<Value = InjectOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.85),
        prop::option::of(prop::sample::select(vec![
            Language::Java,
            Language::NodeJs,
            Language::Python,
            Language::DotNet,
            Language::ApacheHttpd,
        ])),
    )
        .prop_map(|(go_on, nginx_on, multi, off)| {
            let mut o = InjectOptions {
                multi_instrumentation: multi,
                ..InjectOptions::default()
            };
            o.set_enabled(Language::Go, go_on);
            o.set_enabled(Language::Nginx, nginx_on);
            if let Some(l) = off {
                o.set_enabled(l, false);
            }
            o
        })
}

/// The init containers we may add.
fn ours_init(name: &str) -> bool {
    [
        java::INIT_CONTAINER,
        nodejs::INIT_CONTAINER,
        python::INIT_CONTAINER,
        dotnet::INIT_CONTAINER,
        apache_httpd::CLONE,
        apache_httpd::ATTACH_CONTAINER,
        nginx::ATTACH_CONTAINER,
    ]
    .contains(&name)
        || name.starts_with(java::EXTENSION_INIT_CONTAINER_PREFIX)
}

/// The pod with everything we may touch removed: init containers and volumes, the containers'
/// env and mounts, Go's sidecar and the process-namespace sharing it needs (when the input
/// had neither), the status annotation.
fn outside_our_fields(pod: &Value, input: &Value) -> Value {
    let mut p = pod.clone();
    let had_sidecar = input["spec"]["containers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["name"] == go::SIDECAR));
    let had_share = input["spec"].get("shareProcessNamespace").is_some();
    if let Some(spec) = p.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("initContainers");
        spec.remove("volumes");
        if !had_share {
            spec.remove("shareProcessNamespace");
        }
        if let Some(cs) = spec.get_mut("containers").and_then(Value::as_array_mut) {
            if !had_sidecar {
                cs.retain(|c| c["name"] != go::SIDECAR);
            }
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
        a.remove("otel-inject.dev/injected");
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

/// One user env entry `before` of container `c` and what became of it, `after`: identical,
/// but for the documented joins, where the user's value is kept whole and ours is added
/// around it (.NET's `:` lists, `JAVA_TOOL_OPTIONS` and `NODE_OPTIONS` appended to,
/// `PYTHONPATH` wrapped, `OTEL_RESOURCE_ATTRIBUTES` extended).
fn check_env_entry(c: &str, before: &Value, after: &Value) -> Result<(), TestCaseError> {
    let name = before["name"].as_str().unwrap_or("");
    let user = before.get("value").and_then(Value::as_str);
    let got = after.get("value").and_then(Value::as_str);
    if has_value_from(before) {
        prop_assert_eq!(after, before, "user's {} (valueFrom) changed", name);
        return Ok(());
    }
    let joins: Vec<String> = match (name, user) {
        (_, None) => Vec::new(),
        (n, Some(u)) if JOINED_WITH_COLON.iter().any(|(j, _)| *j == n) => {
            let ours = JOINED_WITH_COLON
                .iter()
                .find(|(j, _)| *j == n)
                .map(|(_, o)| *o)
                .unwrap_or("");
            vec![format!("{u}:{ours}")]
        }
        (java::JAVA_TOOL_OPTIONS, Some(u)) => vec![
            format!("{u}{}", java::jvm_argument(c, false)),
            format!("{u}{}", java::jvm_argument(c, true)),
        ],
        (nodejs::NODE_OPTIONS, Some(u)) => vec![format!("{u}{}", nodejs::REQUIRE_ARGUMENT)],
        (python::PYTHONPATH, Some(u)) => vec![format!(
            "{}:{u}:{}",
            python::PYTHONPATH_PREFIX,
            python::PYTHONPATH_SUFFIX
        )],
        _ => Vec::new(),
    };
    if !joins.is_empty() {
        prop_assert_eq!(without_value(after), without_value(before));
        prop_assert!(
            got == user || joins.iter().any(|j| got == Some(j.as_str())),
            "{} of {} was {:?}, became {:?}",
            name,
            c,
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
/// injected is entirely unchanged, init containers included. The user's volumes come first,
/// the user's init containers keep their order, the containers theirs.
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
                check_env_entry(name, e, &after_env[pos])?;
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
    let user_inits: Vec<String> = names_of(&after["spec"]["initContainers"])
        .into_iter()
        .filter(|n| !ours_init(n))
        .collect();
    prop_assert_eq!(user_inits, names_of(&before["spec"]["initContainers"]));
    let user_containers: Vec<String> = names_of(&after["spec"]["containers"])
        .into_iter()
        .take(before["spec"]["containers"].as_array().map_or(0, Vec::len))
        .collect();
    prop_assert_eq!(user_containers, names_of(&before["spec"]["containers"]));
    Ok(())
}

/// Every operation of the patch names something we inject: a container's env or mounts, an
/// init container, a volume, Go's sidecar and process-namespace sharing, the status
/// annotation. Anything else would rewrite what the user wrote.
fn check_patch_paths(patch: &json_patch::Patch, before: &Value) -> Result<(), TestCaseError> {
    let regular = before["spec"]["containers"].as_array().map_or(0, Vec::len);
    for op in &patch.0 {
        let path = match op {
            json_patch::PatchOperation::Add(o) => o.path.to_string(),
            json_patch::PatchOperation::Remove(o) => o.path.to_string(),
            json_patch::PatchOperation::Replace(o) => o.path.to_string(),
            other => {
                return Err(TestCaseError::fail(format!(
                    "unexpected operation {other:?}"
                )))
            }
        };
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        let ok = match parts.as_slice() {
            ["metadata", "annotations"]
            | ["metadata", "annotations", "otel-inject.dev~1status"]
            | ["metadata", "annotations", "otel-inject.dev~1injected"] => true,
            ["spec", "volumes", ..] | ["spec", "shareProcessNamespace"] => true,
            ["spec", "initContainers"] | ["spec", "initContainers", _] => true,
            ["spec", "initContainers", _, "env" | "volumeMounts", ..] => true,
            // A whole container only past the user's: Go's sidecar.
            ["spec", "containers", i] => i.parse::<usize>().is_ok_and(|i| i >= regular),
            ["spec", "containers", _, "env" | "volumeMounts", ..] => true,
            _ => false,
        };
        prop_assert!(ok, "the patch touches {} ({:?})", path, op);
    }
    Ok(())
}

/// The fixture plus what makes every step write more: UID attributes, resource attributes,
/// `env` and per-language `env` entries whose names users also set, Java extensions.
fn rich_instrumentation() -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    common::instrumentation(
        "shop",
        "inst",
        json!({
            "exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
            "propagators": ["tracecontext", "baggage"],
            "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
            "resource": {"addK8sUIDAttributes": true,
                         "resourceAttributes": {"team": "platform", "k8s.node.name": "from-cr"}},
            "env": [{"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "TRACEPARENT", "value": "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01"}],
            "dotnet": {"env": [{"name": "PATH", "value": "/cr"},
                               {"name": "OTEL_TRACES_SAMPLER", "value": "always_off"}]},
            "java": {"env": [{"name": "JAVA_TOOL_OPTIONS", "value": "-Dfrom=cr"}],
                     "extensions": [{"image": "acme/ext:1", "dir": "/ext"}]},
            "nodejs": {"env": [{"name": "OTEL_METRICS_EXPORTER", "value": "none"}]},
            "python": {"env": [{"name": "PYTHONPATH", "value": "/cr/lib"},
                               {"name": "OTEL_LOGS_EXPORTER", "value": "none"}]},
            "go": {"env": [{"name": "OTEL_GO_AUTO_TARGET_EXE", "value": "/cr/server"}]}
        }),
    )
}

fn plain_instrumentation() -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    common::instrumentation(
        "shop",
        "inst",
        json!({"exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
               "propagators": ["tracecontext", "baggage"]}),
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

fn mount_field(c: &Value, field: &str) -> Vec<String> {
    c["volumeMounts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m[field].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The mutated pod is one the API server accepts, as far as we can break it: unique names of
/// containers (regular and init together), volumes, env per container, mount names and paths
/// per container, and every mount we added names a volume of the pod.
fn check_valid(before: &Value, after: &Value) -> Result<(), TestCaseError> {
    let mut all = names_of(&after["spec"]["containers"]);
    all.extend(names_of(&after["spec"]["initContainers"]));
    prop_assert!(unique(all), "container names repeat");
    let volumes = names_of(&after["spec"]["volumes"]);
    prop_assert!(unique(volumes.clone()), "volume names repeat");
    // Mounts of volumes the input pod did not have either were the user's (a clone of a
    // container copies its mounts as they are): not ours to fix.
    let user_mounted: Vec<String> = ["containers", "initContainers"]
        .iter()
        .flat_map(|l| before["spec"][*l].as_array().into_iter().flatten())
        .flat_map(|c| mount_field(c, "name"))
        .collect();
    for list in ["containers", "initContainers"] {
        for c in after["spec"][list].as_array().into_iter().flatten() {
            prop_assert!(unique(names_of(&c["env"])), "duplicate env in {}", c);
            prop_assert!(
                unique(mount_field(c, "name")),
                "duplicate mount names in {}",
                c
            );
            prop_assert!(
                unique(mount_field(c, "mountPath")),
                "duplicate mount paths in {}",
                c
            );
            let user_mounts: Vec<String> = before["spec"][list]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["name"] == c["name"]))
                .map(|x| mount_field(x, "name"))
                .unwrap_or_default();
            for m in mount_field(c, "name") {
                prop_assert!(
                    user_mounts.contains(&m)
                        || volumes.contains(&m)
                        || (ours_init(c["name"].as_str().unwrap_or_default())
                            && user_mounted.contains(&m)),
                    "{} of {} mounts {}, which is no volume of the pod",
                    list,
                    c["name"],
                    m
                );
            }
            for e in c["env"].as_array().into_iter().flatten() {
                prop_assert!(
                    !(e.get("value").is_some() && has_value_from(e)),
                    "env with both value and valueFrom: {}",
                    e
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn mutation_is_safe_idempotent_and_contained(
        pod in pod_strategy(),
        rich in any::<bool>(),
        options in options_strategy(),
    ) {
        let insts = [if rich { rich_instrumentation() } else { plain_instrumentation() }];
        // `run_with` applies the patch (must not fail) and asserts a second mutation is empty.
        let out = common::run_with(&pod, &NamespaceInfo::named("shop"), &insts, &[], &options);
        check_patch_paths(&out.decision.patch.to_json_patch(), &pod)?;
        prop_assert_eq!(outside_our_fields(&out.mutated, &pod), outside_our_fields(&pod, &pod));
        check_user_parts(&pod, &out.mutated, &out.decision)?;
        check_valid(&pod, &out.mutated)?;
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9/=,.: -]{0,8}".prop_map(Value::String),
        prop::sample::select(vec!["true", "app", "main", "shop/inst", "musl"])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "name",
                    "value",
                    "valueFrom",
                    "env",
                    "image",
                    "securityContext",
                    "volumeMounts",
                    "mountPath",
                    "x"
                ]),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Wrong types anywhere a pod has structure (env entries, containers, annotations, the
    /// security contexts) never make `mutate` panic, for any language; whatever patch it gives
    /// applies to the input.
    #[test]
    fn mutate_never_panics_on_any_json(
        env in any_json(),
        c2 in any_json(),
        init in any_json(),
        sc in any_json(),
        pod_sc in any_json(),
        volumes in any_json(),
        ann in any_json(),
        lang in prop::sample::select(LANGS.to_vec()),
    ) {
        let (_, key) = lang;
        let mut annotations = json!({
            format!("instrumentation.opentelemetry.io/inject-{key}"): "true",
            "instrumentation.opentelemetry.io/otel-go-auto-target-exe": "/app/server",
            "instrumentation.opentelemetry.io/container-names": "app,c2,init",
        });
        annotations["instrumentation.opentelemetry.io/otel-python-platform"] = ann;
        let pod = json!({
            "metadata": {"name": "p", "annotations": annotations},
            "spec": {"containers": [{"name": "app", "env": env, "securityContext": sc}, c2],
                     "initContainers": [init], "securityContext": pod_sc, "volumes": volumes}
        });
        let mut options = InjectOptions::default();
        options.set_enabled(Language::Go, true);
        let insts = [rich_instrumentation()];
        let ctx = otel_inject_lib::PodContext {
            pod: &pod,
            namespace: &NamespaceInfo::named("shop"),
            instrumentations: &insts,
            owners: &[],
            options: &options,
        };
        let decision = otel_inject_lib::mutate(&ctx);
        let mut applied = pod.clone();
        prop_assert!(decision.patch.apply(&mut applied).is_ok());
    }
}
