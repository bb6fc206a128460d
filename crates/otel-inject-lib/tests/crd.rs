//! The checked-in CRD must be what the types generate, and must accept every CR the
//! OpenTelemetry Operator's CRD accepts. The library writes no YAML: the binary's writer renders
//! the file (`otel-inject crd`; regenerate with `UPDATE_CRD=1 cargo test -p otel-inject --test
//! crd`, which also pins it byte for byte). Here an independent reader checks that the file
//! means exactly what [`crd()`] builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use otel_inject_lib::crd::{crd, CRD_HEADER};
use serde_json::Value;

fn crd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/otel-inject/base/crd-instrumentation.yaml")
}

/// What the library builds, as JSON.
fn ours() -> Value {
    serde_json::to_value(crd()).expect("the CRD is JSON")
}

#[test]
fn checked_in_crd_means_what_the_types_generate() {
    let path = crd_path();
    let on_disk = std::fs::read_to_string(&path).expect("the checked-in CRD");
    assert!(
        on_disk.starts_with(CRD_HEADER),
        "{} lost its generated-file header",
        path.display()
    );
    assert!(
        yaml_file(&on_disk) == ours(),
        "{} is stale: run `UPDATE_CRD=1 cargo test -p otel-inject --test crd` and commit it",
        path.display()
    );
}

#[test]
fn crd_is_the_operators_resource() {
    let crd = ours();
    assert_eq!(crd["metadata"]["name"], "instrumentations.opentelemetry.io");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["kind"], "Instrumentation");
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        serde_json::json!(["otelinst", "otelinsts"])
    );
    let v = &crd["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha1");
    let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for field in [
        "exporter",
        "resource",
        "propagators",
        "sampler",
        "defaults",
        "env",
        "java",
        "nodejs",
        "python",
        "dotnet",
        "go",
        "apacheHttpd",
        "nginx",
        "imagePullPolicy",
        "initContainerSecurityContext",
    ] {
        assert!(
            spec.get(field).is_some(),
            "spec.{field} missing from the CRD schema"
        );
    }
    assert!(spec["exporter"]["properties"]["tls"]["properties"]
        .get("ca_file")
        .is_some());
    assert!(spec["resource"]["properties"]
        .get("addK8sUIDAttributes")
        .is_some());
    assert!(spec["java"]["properties"].get("resources").is_some());
    assert!(spec["dotnet"]["properties"]
        .get("resourceRequirements")
        .is_some());
    assert!(spec["dotnet"]["properties"]
        .get("volumeLimitSize")
        .is_some());
}

// ---------------------------------------------------------------------------------------------
// Ours against the operator's CRD (tests/fixtures/operator-crd, 0.158.0).
//
// An Instrumentation written for the operator must never be rejected or pruned by our CRD. The
// API server prunes what a structural schema does not declare and rejects what it declares
// stricter, so the comparison walks every schema node, through `properties`, `items` (`[]` in a
// path) and `additionalProperties` (`{}`), and compares what decides pruning and rejection: the
// node's existence, `required`, `x-kubernetes-preserve-unknown-fields`,
// `x-kubernetes-int-or-string`, `type` and `enum` (both ways), and any other validating keyword
// that ours has and the operator's has not (format, pattern, lengths, list types, CEL rules).
// Keywords only the operator's has (its quantity patterns, `maxLength: 256` on nginx/httpd
// paths, `x-kubernetes-map-type: atomic`) make the operator stricter than us, which the goal
// allows; `nullable: true` (ours, kube's rendering of `Option`) only ever accepts more.

/// Differences we keep on purpose: (path, what differs exactly as the comparison words it, why).
/// A new difference fails the test until it is closed (usually in `src/crd.rs`) or listed here;
/// an entry that no longer matches anything fails it too, so the table stays true.
const ALLOWED: &[(&str, &str, &str)] = &[(
    ".spec.sampler.type",
    "enum: only ours accepts \"parentbased_jaeger_remote\"",
    "`SamplerKind` also parses this value of the SDK spec's OTEL_TRACES_SAMPLER; accepting one \
     more value than the operator never rejects an operator CR",
)];

fn operator_crd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/operator-crd/opentelemetry.io_instrumentations.yaml")
}

/// What one schema node says about pruning and rejection.
#[derive(Debug, Default)]
struct Node {
    required: BTreeSet<String>,
    preserve_unknown_fields: bool,
    int_or_string: bool,
    type_: Option<String>,
    enum_: Option<BTreeSet<String>>,
    /// Other validating keywords, by name.
    constraints: BTreeMap<String, Value>,
}

/// Keywords that can make the API server reject a value (besides type, enum and required).
const CONSTRAINTS: &[&str] = &[
    "format",
    "pattern",
    "maxLength",
    "minLength",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "multipleOf",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-validations",
    "x-kubernetes-embedded-resource",
    "not",
    "oneOf",
    "allOf",
];

fn flatten(schema: &Value, path: String, out: &mut BTreeMap<String, Node>) {
    let flag = |k: &str| schema[k].as_bool().unwrap_or(false);
    let node = Node {
        required: schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
        preserve_unknown_fields: flag("x-kubernetes-preserve-unknown-fields"),
        int_or_string: flag("x-kubernetes-int-or-string"),
        type_: schema["type"].as_str().map(str::to_string),
        enum_: schema["enum"]
            .as_array()
            .map(|e| e.iter().map(Value::to_string).collect()),
        constraints: CONSTRAINTS
            .iter()
            .filter_map(|k| schema.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect(),
    };
    out.insert(path.clone(), node);
    if let Some(props) = schema["properties"].as_object() {
        for (key, child) in props {
            flatten(child, format!("{path}.{key}"), out);
        }
    }
    if schema["items"].is_object() {
        flatten(&schema["items"], format!("{path}[]"), out);
    }
    if schema["additionalProperties"].is_object() {
        flatten(&schema["additionalProperties"], format!("{path}{{}}"), out);
    }
}

fn schema_nodes(crd: &Value) -> BTreeMap<String, Node> {
    let version = crd["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == "v1alpha1"))
        .expect("a v1alpha1 version");
    let mut nodes = BTreeMap::new();
    flatten(
        &version["schema"]["openAPIV3Schema"],
        String::new(),
        &mut nodes,
    );
    nodes
}

fn yaml_file(text: &str) -> Value {
    serde_yaml::from_str(text).expect("a CRD in YAML")
}

fn show_set(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Every difference between the two schemas, as (path, what differs).
fn differences(ours: &Value, operator: &Value) -> Vec<(String, String)> {
    let (ours, theirs) = (schema_nodes(ours), schema_nodes(operator));
    let mut found = Vec::new();
    let mut differ = |path: &str, what: String| found.push((path.to_string(), what));
    for path in theirs.keys().filter(|p| !ours.contains_key(*p)) {
        differ(
            path,
            "only the operator's declares it: we would prune it".into(),
        );
    }
    for path in ours.keys().filter(|p| !theirs.contains_key(*p)) {
        differ(path, "only ours declares it: the operator prunes it".into());
    }
    for (path, o) in &ours {
        let Some(t) = theirs.get(path) else { continue };
        for field in o.required.difference(&t.required) {
            differ(path, format!("required: only ours requires {field:?}"));
        }
        for field in t.required.difference(&o.required) {
            differ(
                path,
                format!("required: only the operator's requires {field:?}"),
            );
        }
        if o.preserve_unknown_fields != t.preserve_unknown_fields {
            differ(
                path,
                format!(
                    "x-kubernetes-preserve-unknown-fields: ours {}, the operator's {}",
                    o.preserve_unknown_fields, t.preserve_unknown_fields
                ),
            );
        }
        if o.int_or_string != t.int_or_string {
            differ(
                path,
                format!(
                    "x-kubernetes-int-or-string: ours {}, the operator's {}",
                    o.int_or_string, t.int_or_string
                ),
            );
        }
        if o.type_ != t.type_ {
            differ(
                path,
                format!("type: ours {:?}, the operator's {:?}", o.type_, t.type_),
            );
        }
        match (&o.enum_, &t.enum_) {
            (Some(oe), Some(te)) => {
                let only_ours: BTreeSet<_> = oe.difference(te).cloned().collect();
                let only_theirs: BTreeSet<_> = te.difference(oe).cloned().collect();
                if !only_ours.is_empty() {
                    differ(
                        path,
                        format!("enum: only ours accepts {}", show_set(&only_ours)),
                    );
                }
                if !only_theirs.is_empty() {
                    differ(
                        path,
                        format!(
                            "enum: only the operator's accepts {}",
                            show_set(&only_theirs)
                        ),
                    );
                }
            }
            (Some(_), None) => differ(path, "enum: only ours restricts the values".into()),
            (None, Some(_)) => differ(
                path,
                "enum: only the operator's restricts the values".into(),
            ),
            (None, None) => {}
        }
        for (key, value) in &o.constraints {
            if t.constraints.get(key) != Some(value) {
                differ(
                    path,
                    format!(
                        "{key}: ours {value}, the operator's {}",
                        t.constraints
                            .get(key)
                            .map_or("none".into(), Value::to_string)
                    ),
                );
            }
        }
    }
    found
}

fn show_path(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}

#[test]
fn crd_accepts_everything_the_operators_crd_accepts() {
    let operator = yaml_file(
        &std::fs::read_to_string(operator_crd_path()).expect("the operator's CRD fixture"),
    );
    let ours = ours();
    let found = differences(&ours, &operator);

    let unlisted: Vec<String> = found
        .iter()
        .filter(|(path, what)| !ALLOWED.iter().any(|(p, w, _)| p == path && w == what))
        .map(|(path, what)| format!("  {}: {what}", show_path(path)))
        .collect();
    let stale: Vec<String> = ALLOWED
        .iter()
        .filter(|(p, w, _)| !found.iter().any(|(path, what)| path == p && what == w))
        .map(|(p, w, _)| format!("  {}: {w}", show_path(p)))
        .collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "our CRD and the operator's (tests/fixtures/operator-crd) differ:\n{}\n\
         close each difference in crates/otel-inject-lib/src/crd.rs, or list it with its reason \
         in ALLOWED in this file{}",
        unlisted.join("\n"),
        if stale.is_empty() {
            String::new()
        } else {
            format!(
                "\nALLOWED entries that no longer match anything (remove them):\n{}",
                stale.join("\n")
            )
        }
    );

    // Outside the schema: the same resource, served the same way.
    let (o, t) = (&ours["spec"], &operator["spec"]);
    for field in ["group", "scope"] {
        assert_eq!(o[field], t[field], "spec.{field}");
    }
    for field in ["kind", "plural", "singular", "shortNames"] {
        assert_eq!(o["names"][field], t["names"][field], "spec.names.{field}");
    }
    let version = |crd: &Value| {
        let mut v = crd["spec"]["versions"][0].clone();
        v.as_object_mut().map(|v| v.remove("schema"));
        v
    };
    assert_eq!(
        version(&ours),
        version(&operator),
        "served, storage, subresources and printer columns of v1alpha1"
    );
}

/// The comparison itself: a difference is named by its path.
#[test]
fn the_comparison_names_the_path_of_each_difference() {
    let crd = |schema: Value| {
        serde_json::json!({"spec": {"versions": [{"name": "v1alpha1",
            "schema": {"openAPIV3Schema": schema}}]}})
    };
    let operator = crd(serde_json::json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "env": {"type": "array", "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "fileKeyRef": {"type": "object"}}
            }},
            "attrs": {
                "type": "object",
                "additionalProperties": {"x-kubernetes-int-or-string": true}
            }
        }}
    }}));
    let ours = crd(
        serde_json::json!({"type": "object", "required": ["spec"], "properties": {
            "spec": {"type": "object", "properties": {
                "env": {"type": "array", "items": {
                    "type": "object",
                    "required": ["name", "value"],
                    "properties": {
                        "name": {"type": "string", "format": "byte"},
                        "value": {"type": "string"}
                    }
                }},
                "attrs": {"type": "object", "additionalProperties": {"type": "string"}}
            }}
        }}),
    );
    let found: Vec<String> = differences(&ours, &operator)
        .into_iter()
        .map(|(p, w)| format!("{}: {w}", show_path(&p)))
        .collect();
    assert_eq!(
        found,
        [
            ".spec.env[].fileKeyRef: only the operator's declares it: we would prune it",
            ".spec.env[].value: only ours declares it: the operator prunes it",
            "(root): required: only ours requires \"spec\"",
            ".spec.attrs{}: x-kubernetes-int-or-string: ours false, the operator's true",
            ".spec.attrs{}: type: ours Some(\"string\"), the operator's None",
            ".spec.env[]: required: only ours requires \"value\"",
            ".spec.env[].name: format: ours \"byte\", the operator's none",
        ]
    );
}
