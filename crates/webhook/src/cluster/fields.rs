//! Unknown Instrumentation fields: the CR's JSON walked against the schema of the CRD we ship,
//! so that a misspelt `exportr:` is reported (with the nearest known name) instead of being
//! dropped without a word, as the API server's pruning and our own reader would.

use std::sync::OnceLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray,
};
use serde_json::Value;

/// The `v1alpha1` schema of the CRD, built once.
fn schema() -> Option<&'static JSONSchemaProps> {
    static SCHEMA: OnceLock<Option<JSONSchemaProps>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            otel_inject_lib::crd::crd()
                .spec
                .versions
                .into_iter()
                .find(|v| v.name == "v1alpha1")
                .and_then(|v| v.schema)
                .and_then(|s| s.open_api_v3_schema)
        })
        .as_ref()
}

/// One message per field of `value` (an Instrumentation) that the CRD does not know, e.g.
/// "field `spec.exportr` is unknown (did you mean `exporter`?)".
pub fn unknown_fields(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(schema) = schema() {
        walk(value, schema, "", &mut out);
    }
    out
}

fn walk(value: &Value, schema: &JSONSchemaProps, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            // Free-form maps (labels, resource quantities) and preserved subtrees take anything.
            let Some(properties) = &schema.properties else {
                return;
            };
            if schema.additional_properties.is_some()
                || schema.x_kubernetes_preserve_unknown_fields == Some(true)
            {
                return;
            }
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match properties.get(key) {
                    Some(child_schema) => walk(child, child_schema, &child_path, out),
                    None => {
                        let hint = nearest(key, properties.keys().map(String::as_str))
                            .map(|n| format!(" (did you mean `{n}`?)"))
                            .unwrap_or_default();
                        out.push(format!(
                            "field `{child_path}` is not an Instrumentation field{hint}; it is ignored"
                        ));
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(JSONSchemaPropsOrArray::Schema(item_schema)) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    walk(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The known name closest to `key`, when it is close enough to be a typo.
fn nearest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    known
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= (k.len().max(key.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance on characters where swapping two neighbours counts as one edit (optimal
/// string alignment): `valeu` is one typo away from `value`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_are_named_with_the_nearest_field() {
        let cr = json!({
            "apiVersion": "opentelemetry.io/v1alpha1",
            "kind": "Instrumentation",
            "metadata": {"name": "i", "labels": {"anything": "goes"}},
            "spec": {
                "exportr": {"endpoint": "http://c:4318"},
                "sampler": {"type": "always_on", "argumnet": "1"},
                "dotnet": {"env": [{"name": "A", "valeu": "1"}], "resourceRequirements": {"limits": {"cpu": "1"}}},
                "zzzzzzzz": 1,
            }
        });
        let found = unknown_fields(&cr);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().any(|m| m == "field `spec.exportr` is not an Instrumentation field (did you mean `exporter`?); it is ignored"), "{found:?}");
        assert!(
            found
                .iter()
                .any(|m| m.contains("`spec.sampler.argumnet`") && m.contains("`argument`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.contains("`spec.dotnet.env[0].valeu`") && m.contains("`value`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.contains("`spec.zzzzzzzz`") && !m.contains("did you mean")),
            "{found:?}"
        );
    }

    #[test]
    fn a_valid_cr_has_none() {
        let cr = json!({
            "apiVersion": "opentelemetry.io/v1alpha1",
            "kind": "Instrumentation",
            "metadata": {"name": "i", "namespace": "shop", "annotations": {"a": "b"}},
            "spec": {
                "exporter": {"endpoint": "http://c:4318"},
                "propagators": ["tracecontext"],
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "java": {"image": "j:1", "resources": {"limits": {"memory": "64Mi"}}},
            }
        });
        assert_eq!(unknown_fields(&cr), Vec::<String>::new());
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("exportr", "exporter"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("valeu", "value"), 1);
        assert_eq!(
            nearest("exportr", ["exporter", "env"].into_iter()),
            Some("exporter")
        );
        assert_eq!(nearest("python3", ["java", "go"].into_iter()), None);
    }
}
