//! What the kubelet makes of a container's env: downward-API `fieldRef`s resolved and
//! `$(VAR)` references expanded against the variables defined before them. `otel-inject
//! explain` and the end-to-end tests use it to show and run exactly what a pod would see.

use std::collections::HashMap;

use serde_json::Value;

use crate::json::Field;
use crate::pod::{container, PodView};
use crate::resource_attributes::expand_references;

/// The values the downward API would give a running pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Downward {
    /// `metadata.name`
    pub pod_name: String,
    /// `metadata.namespace`
    pub namespace: String,
    /// `metadata.uid`
    pub pod_uid: String,
    /// `spec.nodeName`
    pub node_name: String,
    /// `status.podIP`
    pub pod_ip: String,
    /// `status.hostIP`
    pub host_ip: String,
}

/// An env entry the kubelet would resolve from somewhere we cannot see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No such container.
    #[error("the pod has no container named {0}")]
    NoContainer(String),
}

fn field(pod: &PodView<'_>, d: &Downward, path: &str) -> Option<String> {
    Some(match path {
        "metadata.name" => d.pod_name.clone(),
        "metadata.namespace" => d.namespace.clone(),
        "metadata.uid" => d.pod_uid.clone(),
        "spec.nodeName" => d.node_name.clone(),
        "status.podIP" => d.pod_ip.clone(),
        "status.hostIP" => d.host_ip.clone(),
        p => {
            let (map, key) = p
                .strip_prefix("metadata.labels['")
                .map(|k| ("labels", k))
                .or_else(|| {
                    p.strip_prefix("metadata.annotations['")
                        .map(|k| ("annotations", k))
                })?;
            let key = key.strip_suffix("']")?;
            match map {
                "labels" => pod.label(key)?.to_string(),
                _ => pod.annotation(key)?.to_string(),
            }
        }
    })
}

/// The container's env as the process would see it, in order. Entries resolved from
/// Secrets, ConfigMaps or resource fields are left out.
pub fn resolve_env(
    pod: &Value,
    container_name: &str,
    downward: &Downward,
) -> Result<Vec<(String, String)>, ResolveError> {
    let view = PodView::new(pod);
    let (_, _, c) = view
        .find_container(container_name)
        .ok_or_else(|| ResolveError::NoContainer(container_name.to_string()))?;
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for e in container::env(c) {
        let Some(name) = e.str_field("name") else {
            continue;
        };
        let value = if let Some(path) = e
            .field("valueFrom")
            .and_then(|v| v.field("fieldRef"))
            .and_then(|f| f.field("fieldPath"))
            .and_then(Value::as_str)
        {
            match field(&view, downward, path) {
                Some(v) => v,
                None => continue,
            }
        } else if e.field("valueFrom").is_some_and(|v| !v.is_null()) {
            continue;
        } else {
            let raw = e.str_field("value").unwrap_or("");
            expand_references(raw, |r| seen.get(r).cloned())
        };
        seen.insert(name.to_string(), value.clone());
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name.to_string(), value)),
        }
    }
    Ok(out)
}
