//! Cluster objects read from files or manifest streams: the Instrumentations, Namespaces and
//! owner objects (ReplicaSets, Jobs) that the static view serves. Other kinds are ignored.

use std::{collections::BTreeMap, sync::Arc};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use otel_inject_lib::{Instrumentation, NamespaceInfo, OwnerObject};
use serde_json::Value;

use crate::manifest::{json_type, parse_stream, read_source, ManifestError};

/// Objects by identity. Later documents replace earlier ones with the same identity, as
/// `kubectl apply` of the same stream would.
#[derive(Debug, Default, Clone)]
pub struct ClusterObjects {
    /// By (namespace, name).
    pub instrumentations: BTreeMap<(String, String), Arc<Instrumentation>>,
    /// By name.
    pub namespaces: BTreeMap<String, NamespaceInfo>,
    /// By (namespace, kind, name).
    pub owners: BTreeMap<(String, String, String), OwnerObject>,
    /// What was read but looked wrong (unknown Instrumentation fields), one line each, naming
    /// the file and document.
    pub warnings: Vec<String>,
}

/// The only Instrumentation version read: the OpenTelemetry Operator's served one.
pub const INSTRUMENTATION_API_VERSION: &str = "opentelemetry.io/v1alpha1";

/// Which kind of cluster object a document is, if any.
pub fn is_cluster_object(value: &Value) -> bool {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let api = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    matches!(
        (kind, api),
        ("Instrumentation", a) if a.starts_with("opentelemetry.io/")
    ) || (kind == "Namespace" && api == "v1")
        || (kind == "ReplicaSet" && api == "apps/v1")
        || (kind == "Job" && api == "batch/v1")
}

impl ClusterObjects {
    /// Reads every cluster object in a file ("-" for standard input).
    pub fn load_file(&mut self, path: &str, default_namespace: &str) -> Result<(), ManifestError> {
        let text = read_source(path)
            .map_err(|e| ManifestError::new(path, 0, format!("cannot read the file: {e}")))?;
        for doc in parse_stream(&text, path)?.docs {
            self.add(&doc.value, default_namespace, path, doc.number)?;
        }
        Ok(())
    }

    /// Number of objects of all kinds.
    pub fn len(&self) -> usize {
        self.instrumentations.len() + self.namespaces.len() + self.owners.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `value` when it is an Instrumentation, Namespace, ReplicaSet or Job (a `List` is
    /// walked); returns whether it kept anything. Errors name the document and field.
    pub fn add(
        &mut self,
        value: &Value,
        default_namespace: &str,
        source: &str,
        number: usize,
    ) -> Result<bool, ManifestError> {
        let err = |message: String| ManifestError::new(source, number, message);
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind == "List" {
            let mut kept = false;
            if let Some(items) = value.get("items").and_then(Value::as_array) {
                for item in items {
                    kept |= self.add(item, default_namespace, source, number)?;
                }
            }
            return Ok(kept);
        }
        if !is_cluster_object(value) {
            return Ok(false);
        }
        let name = metadata_str(value, "name")
            .ok_or_else(|| err(format!("{kind}: field `metadata.name` is missing")))?
            .to_string();
        let namespace = metadata_str(value, "namespace")
            .unwrap_or(default_namespace)
            .to_string();
        match kind {
            "Instrumentation" => {
                let api = value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if api != INSTRUMENTATION_API_VERSION {
                    return Err(err(format!(
                        "Instrumentation {namespace}/{name}: apiVersion `{api}` is not read: otel-inject reads only {INSTRUMENTATION_API_VERSION} Instrumentations (the version the OpenTelemetry Operator serves); write `apiVersion: {INSTRUMENTATION_API_VERSION}`"
                    )));
                }
                for unknown in super::fields::unknown_fields(value) {
                    self.warnings.push(format!(
                        "{source}: document {number}: Instrumentation {namespace}/{name}: {unknown}"
                    ));
                }
                let mut value = value.clone();
                Instrumentation::fill_missing_spec(&mut value);
                let mut inst: Instrumentation =
                    serde_path_to_error::deserialize(value).map_err(|e| {
                        err(format!(
                            "Instrumentation {namespace}/{name}: field `{}`: {}",
                            e.path(),
                            e.inner()
                        ))
                    })?;
                // The selection compares namespaces, so objects written without one get the
                // namespace they would be applied to.
                inst.metadata.namespace = Some(namespace.clone());
                self.instrumentations
                    .insert((namespace, name), Arc::new(inst));
            }
            "Namespace" => {
                let info = NamespaceInfo {
                    name: name.clone(),
                    labels: string_map(value, "labels").map_err(&err)?,
                    annotations: string_map(value, "annotations").map_err(&err)?,
                };
                self.namespaces.insert(name, info);
            }
            _ => {
                let owner_references: Vec<OwnerReference> = match value
                    .pointer("/metadata/ownerReferences")
                {
                    None | Some(Value::Null) => Vec::new(),
                    Some(refs) => serde_path_to_error::deserialize(refs.clone()).map_err(|e| {
                        err(format!(
                            "{kind} {namespace}/{name}: field `metadata.ownerReferences{}`: {}",
                            path_suffix(&e.path().to_string()),
                            e.inner()
                        ))
                    })?,
                };
                let owner = OwnerObject {
                    kind: kind.to_string(),
                    name: name.clone(),
                    uid: metadata_str(value, "uid").unwrap_or("").to_string(),
                    owner_references,
                };
                self.owners
                    .insert((namespace, kind.to_string(), name), owner);
            }
        }
        Ok(true)
    }
}

fn path_suffix(path: &str) -> String {
    if path == "." || path.is_empty() {
        String::new()
    } else if path.starts_with('[') {
        path.to_string()
    } else {
        format!(".{path}")
    }
}

fn metadata_str<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn string_map(value: &Value, field: &str) -> Result<BTreeMap<String, String>, String> {
    match value.get("metadata").and_then(|m| m.get(field)) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!(
                    "field `metadata.{field}.{k}` must be a string, found {}",
                    json_type(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "field `metadata.{field}` must be a mapping, found {}",
            json_type(other)
        )),
    }
}
