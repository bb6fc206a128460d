//! The operator's own test material, read as the operator's tests read it: its e2e manifests
//! (`01-install-app.yaml`, `00-install-instrumentation.yaml`) pasted verbatim and turned into
//! the pod the API server would send, and its assert files (`01-assert.yaml`) checked the way
//! chainsaw checks them. Its Go unit tests' expected pods are written as JSON and checked the
//! same way.

use std::sync::Arc;

use otel_inject_lib::{InjectOptions, Instrumentation, NamespaceInfo, OwnerObject};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{instrumentation, run_with, Outcome};

/// The `pod-template-hash` every Deployment pod of these tests carries.
pub const TEMPLATE_HASH: &str = "5d8f7b9c6d";

/// Every YAML document of `yaml`, as JSON.
pub fn yaml_docs(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .filter_map(|d| Value::deserialize(d).ok())
        .filter(|v| !v.is_null())
        .collect()
}

fn doc_of_kind(yaml: &str, kind: &str) -> Value {
    yaml_docs(yaml)
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

/// The Instrumentation of an `00-install-instrumentation.yaml`, in `ns` unless it names its own.
pub fn manifest_instrumentation(yaml: &str, ns: &str) -> Arc<Instrumentation> {
    let doc = doc_of_kind(yaml, "Instrumentation");
    let in_ns = doc["metadata"]["namespace"].as_str().unwrap_or(ns);
    let name = doc["metadata"]["name"].as_str().unwrap_or("unnamed");
    instrumentation(in_ns, name, doc["spec"].clone())
}

/// The pod the API server sends the webhook for an `01-install-app.yaml`: a bare Pod as
/// written (in `ns`), or a Deployment's template as its ReplicaSet creates it (generated name,
/// `pod-template-hash` label, owner reference), with the ReplicaSet the owner lookup finds.
pub fn manifest_pod(yaml: &str, ns: &str) -> (Value, Vec<OwnerObject>) {
    let docs = yaml_docs(yaml);
    if let Some(pod) = docs.iter().find(|d| d["kind"] == "Pod") {
        let mut pod = pod.clone();
        pod["metadata"]["namespace"] = json!(ns);
        return (pod, Vec::new());
    }
    let dep = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Pod or a Deployment in the manifest");
    let name = dep["metadata"]["name"].as_str().unwrap_or("app");
    let rs = format!("{name}-{TEMPLATE_HASH}");
    let template = &dep["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    labels["pod-template-hash"] = json!(TEMPLATE_HASH);
    let mut metadata = json!({
        "generateName": format!("{rs}-"),
        "namespace": ns,
        "labels": labels,
    });
    if let Some(a) = template["metadata"].get("annotations") {
        metadata["annotations"] = a.clone();
    }
    metadata["ownerReferences"] = json!([{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
        "uid": format!("uid-{rs}"), "controller": true, "blockOwnerDeletion": true
    }]);
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": metadata,
        "spec": template["spec"].clone(),
    });
    (pod, vec![super::replicaset(&rs, name)])
}

/// What the API server and the kubelet add to a pod, which the assert files list although no
/// webhook writes it: the service-account token mount, `fieldRef.apiVersion`, a port's
/// `protocol`, and the pod's `status`. Taken out of an expected pod before it is compared.
fn without_api_server_additions(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("status");
            if let Some(Value::Object(f)) = map.get_mut("fieldRef") {
                f.remove("apiVersion");
            }
            if let Some(Value::Array(ports)) = map.get_mut("ports") {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    p.remove("protocol");
                }
            }
            if let Some(Value::Array(mounts)) = map.get_mut("volumeMounts") {
                mounts
                    .retain(|m| m["mountPath"] != "/var/run/secrets/kubernetes.io/serviceaccount");
            }
            for child in map.values_mut() {
                without_api_server_additions(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_api_server_additions),
        _ => {}
    }
}

/// The expected Pod of an assert file (its first Pod document), without what the API server
/// and the kubelet add (see [`without_api_server_additions`]).
pub fn assert_file_pod(yaml: &str) -> Value {
    let mut pod = doc_of_kind(yaml, "Pod");
    without_api_server_additions(&mut pod);
    pod
}

fn contains_at(actual: &Value, expected: &Value, path: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => contains_at(av, ev, &format!("{path}/{k}"), errors),
                    // A list that only held what the API server adds (the service-account
                    // mount) stands for a container with none of its own.
                    None if ev.as_array().is_some_and(Vec::is_empty) => {}
                    None => errors.push(format!("{path}/{k}: missing, expected {ev}")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!(
                    "{path}: {} items, expected {}:\n  got      {}\n  expected {}",
                    a.len(),
                    e.len(),
                    summary(actual),
                    summary(expected)
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                contains_at(av, ev, &format!("{path}/{i}"), errors);
            }
        }
        _ if expected == actual => {}
        _ => errors.push(format!("{path}: got {actual}, expected {expected}")),
    }
}

/// An array by its items' names when they have one (env, containers, mounts, volumes).
fn summary(v: &Value) -> String {
    match v.as_array() {
        Some(items) if items.iter().all(|i| i.get("name").is_some()) => {
            let names: Vec<&str> = items
                .iter()
                .map(|i| i["name"].as_str().unwrap_or("?"))
                .collect();
            format!("[{}]", names.join(", "))
        }
        _ => v.to_string(),
    }
}

/// Asserts that `actual` holds `expected` as a chainsaw assert file means it: every field of
/// an expected object is in the actual one with a matching value, arrays match item by item
/// and have the same length, scalars are equal. Fields we add beyond it pass; the callers
/// check those on their own (and the snapshots show them).
pub fn assert_contains(actual: &Value, expected: &Value) {
    let mut errors = Vec::new();
    contains_at(actual, expected, "", &mut errors);
    assert!(
        errors.is_empty(),
        "the pod differs from the operator's expected pod:\n{}\n\nthe pod:\n{}",
        errors.join("\n"),
        serde_yaml::to_string(actual).unwrap_or_default()
    );
}

/// An e2e step: the app manifest and the Instrumentation manifest, run through `mutate` in
/// namespace `ns` (the patch applied with json-patch, a second pass checked to be empty).
pub fn run_manifests(app: &str, instrumentations: &[&str], ns: &str) -> Outcome {
    run_manifests_with(app, instrumentations, ns, &InjectOptions::default())
}

/// [`run_manifests`] with options.
pub fn run_manifests_with(
    app: &str,
    instrumentations: &[&str],
    ns: &str,
    options: &InjectOptions,
) -> Outcome {
    let (pod, owners) = manifest_pod(app, ns);
    let insts: Vec<Arc<Instrumentation>> = instrumentations
        .iter()
        .map(|i| manifest_instrumentation(i, ns))
        .collect();
    run_with(&pod, &NamespaceInfo::named(ns), &insts, &owners, options)
}

/// A `fieldRef` env entry, as the operator's expected pods write it.
pub fn field_ref(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// A literal env entry.
pub fn lit(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// `OTEL_NODE_IP` and `OTEL_POD_IP`, first in every injected container.
pub fn ip_env() -> Vec<Value> {
    vec![
        field_ref("OTEL_NODE_IP", "status.hostIP"),
        field_ref("OTEL_POD_IP", "status.podIP"),
    ]
}

/// `OTEL_RESOURCE_ATTRIBUTES_POD_NAME` and `_NODE_NAME`, the downward-API entries the SDK step
/// adds before `OTEL_RESOURCE_ATTRIBUTES`.
pub fn downward_env() -> Vec<Value> {
    vec![
        field_ref("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "metadata.name"),
        field_ref("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "spec.nodeName"),
    ]
}

/// The `OTEL_RESOURCE_ATTRIBUTES` of a pod without owner, name or node in namespace `ns`, for
/// container `c`, with `extra` attributes (already `k=v`), in the operator's sorted order.
pub fn bare_pod_attributes(ns: &str, c: &str, extra: &[&str]) -> String {
    let mut attrs: Vec<String> = vec![
        format!("k8s.container.name={c}"),
        format!("k8s.namespace.name={ns}"),
        "k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)".into(),
        "k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)".into(),
        format!("service.instance.id={ns}.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).{c}"),
        format!("service.namespace={ns}"),
    ];
    attrs.extend(extra.iter().map(|s| s.to_string()));
    attrs.sort();
    attrs.join(",")
}

/// The operator's `testResourceRequirements` (sdk_test.go).
pub fn test_resource_requirements() -> Value {
    json!({"limits": {"cpu": "500m", "memory": "128Mi"},
           "requests": {"cpu": "500m", "memory": "128Mi"}})
}

/// The names of a list of named items (containers, volumes, env, mounts), in order.
pub fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The pod's init containers, by name, in order.
pub fn init_names(pod: &Value) -> Vec<String> {
    names(&pod["spec"]["initContainers"])
}

/// The pod's volumes, by name, in order.
pub fn volume_names(pod: &Value) -> Vec<String> {
    names(&pod["spec"]["volumes"])
}

/// The pod with each container's env cut down to the variables in `keep`: what the operator's
/// per-language unit tests compare (they run the language's step alone, without the common
/// and SDK env).
pub fn only_env(pod: &Value, keep: &[&str]) -> Value {
    let mut pod = pod.clone();
    for list in ["containers", "initContainers"] {
        for c in pod["spec"][list].as_array_mut().into_iter().flatten() {
            if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
                env.retain(|e| keep.iter().any(|k| e["name"] == *k));
            }
        }
    }
    pod
}
