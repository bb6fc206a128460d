//! Argo Workflows' kinds in a manifest stream: left unchanged (their step pods exist only at run
//! time, and the webhook instruments them at admission), but explained: each template that runs
//! a pod, built as Argo builds its step pod, goes through the same decision.

use serde_json::{json, Value};

use super::{meta_str, OfflineOptions, PodSpecSite, PodTarget, Warnings};

/// Argo Workflows' kinds: their step pods are made at run time from `templates`.
pub(super) fn is_argo_workflow(value: &Value) -> bool {
    value.get("apiVersion").and_then(Value::as_str) == Some("argoproj.io/v1alpha1")
        && matches!(
            value.get("kind").and_then(Value::as_str),
            Some("Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow")
        )
}

/// The line that says an Argo workflow is left to the webhook.
pub(super) fn note_argo_workflow(
    value: &Value,
    options: &OfflineOptions,
    source: &str,
    number: usize,
    warnings: &mut Warnings,
) {
    if !is_argo_workflow(value) {
        return;
    }
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let namespace = meta_str(value, "namespace").unwrap_or(&options.default_namespace);
    let name = meta_str(value, "name")
        .or_else(|| meta_str(value, "generateName"))
        .unwrap_or("");
    warnings.notes.push(format!(
        "{source}: document {number}: {kind} {namespace}/{name}: left unchanged: Argo Workflows makes its step pods at run time, and the webhook instruments them at admission (in container `main`); `otel-inject explain` shows each step"
    ));
}

/// An Argo workflow's step pods as Argo makes them, one per template that runs a pod: the
/// workflow's `podMetadata` and the template's `metadata` merged, the executor's `init` and
/// `wait` containers beside `main` (or the `containerSet`'s), the workflow label.
pub(super) fn argo_step_pods(value: &Value, default_namespace: &str) -> Vec<(String, PodTarget)> {
    let spec = if value.get("kind").and_then(Value::as_str) == Some("CronWorkflow") {
        value.pointer("/spec/workflowSpec")
    } else {
        value.get("spec")
    };
    let Some(spec) = spec else {
        return Vec::new();
    };
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let namespace = meta_str(value, "namespace")
        .unwrap_or(default_namespace)
        .to_string();
    let name = meta_str(value, "name")
        .or_else(|| meta_str(value, "generateName"))
        .unwrap_or("")
        .to_string();
    let merged = |field: &str, template: &Value| {
        let mut map = serde_json::Map::new();
        for source in [spec.pointer("/podMetadata"), template.get("metadata")] {
            if let Some(Value::Object(m)) = source.and_then(|s| s.get(field)) {
                map.extend(m.clone());
            }
        }
        map
    };
    let mut out = Vec::new();
    for template in spec
        .get("templates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let step = template.get("name").and_then(Value::as_str).unwrap_or("");
        let mut containers = vec![json!({"name": "wait", "image": "quay.io/argoproj/argoexec"})];
        if let Some(main) = template.get("container").or_else(|| template.get("script")) {
            let mut main = main.clone();
            if let Value::Object(m) = &mut main {
                m.insert("name".into(), json!("main"));
                m.remove("source");
            }
            containers.push(main);
        } else if let Some(set) = template
            .pointer("/containerSet/containers")
            .and_then(Value::as_array)
        {
            containers.extend(set.iter().cloned());
        } else {
            // steps, dag, suspend, resource, http: no pod of the template's own.
            continue;
        }
        let mut labels = merged("labels", template);
        labels.insert("workflows.argoproj.io/workflow".into(), json!(name));
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": format!("{}-{step}-", name.trim_end_matches('-')),
                "namespace": namespace,
                "labels": labels,
                "annotations": merged("annotations", template),
            },
            "spec": {
                "initContainers": [{"name": "init", "image": "quay.io/argoproj/argoexec"}],
                "containers": containers,
            },
        });
        out.push((
            step.to_string(),
            PodTarget {
                label: format!("{kind} {namespace}/{name}"),
                namespace: namespace.clone(),
                pod,
                site: PodSpecSite {
                    template: "",
                    owned: false,
                },
            },
        ));
    }
    out
}
