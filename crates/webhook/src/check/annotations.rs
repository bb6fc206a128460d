//! Namespaces and workloads that ask for instrumentation but whose request cannot be resolved
//! to an Instrumentation (none in the namespace, several, a name that does not exist), and the
//! classic mistake: the `inject-*` annotation on the Deployment's own metadata, where the
//! webhook never looks, instead of on its pod template. Pure: the same decision the webhook
//! makes, run on each pod template.

use std::collections::BTreeMap;
use std::sync::Arc;

use otel_inject_lib::annotations::{is_explicit_false, InjectTarget};
use otel_inject_lib::{
    mutate, InjectOptions, Instrumentation, Language, NamespaceInfo, PodContext, Reason,
};
use serde_json::{json, Value};

use super::finding::Finding;

const C: &str = "annotations";

fn annotations_at(v: &Value, path: &str) -> BTreeMap<String, String> {
    v.pointer(path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The languages whose `inject-*` annotation in `annotations` asks for something.
fn asked(annotations: &BTreeMap<String, String>) -> Vec<Language> {
    let none = BTreeMap::new();
    Language::ALL
        .into_iter()
        .filter(|&l| {
            annotations.contains_key(l.inject_annotation())
                && !is_explicit_false(&none, annotations, l)
                && !matches!(InjectTarget::for_language(&none, annotations, l), Ok(None))
        })
        .collect()
}

/// Whether a reason means "the request names no usable Instrumentation".
fn unresolved(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::NoInstrumentation { .. }
            | Reason::SeveralInstrumentations { .. }
            | Reason::InstrumentationNotFound { .. }
            | Reason::InvalidAnnotation(_)
    )
}

/// The resolution failures for `languages` of a pod with `template` (metadata + spec) in `ns`.
fn resolve(
    template: &Value,
    ns: &NamespaceInfo,
    insts: &[Arc<Instrumentation>],
    languages: &[Language],
) -> Vec<(Language, String)> {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": template.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    if !pod["spec"]["containers"].is_array() {
        pod["spec"]["containers"] = json!([{"name": "app", "image": "app"}]);
    }
    // Every language on: whether one is switched off is the webhook's flag, not the install's.
    let mut options = InjectOptions::default();
    for l in Language::ALL {
        options.set_enabled(l, true);
    }
    let decision = mutate(&PodContext {
        pod: &pod,
        namespace: ns,
        instrumentations: insts,
        owners: &[],
        options: &options,
    });
    decision
        .languages
        .iter()
        .filter(|d| languages.contains(&d.language) && unresolved(&d.reason))
        .map(|d| (d.language, d.reason.to_string()))
        .collect()
}

/// Where a workload kind keeps its pod template.
fn template_path(kind: &str) -> &'static str {
    match kind {
        "CronJob" => "/spec/jobTemplate/spec/template",
        "Pod" => "",
        _ => "/spec/template",
    }
}

fn fix_for(ns: &str) -> String {
    format!("create the Instrumentation in {ns} (one per namespace for `true`), or name one: `\"<name>\"` or `\"<namespace>/<name>\"`")
}

/// Findings for every annotated namespace and workload. `workloads` are Deployments,
/// StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Pods, with `kind`; those owned by
/// another controller are skipped (their owner is judged).
pub fn annotations(
    namespaces: &BTreeMap<String, NamespaceInfo>,
    insts: &[Arc<Instrumentation>],
    workloads: &[Value],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut judged = 0usize;
    for (name, ns) in namespaces {
        let languages = asked(&ns.annotations);
        if languages.is_empty() {
            continue;
        }
        judged += 1;
        for (lang, why) in resolve(&json!({}), ns, insts, &languages) {
            out.push(Finding::warn(
                C,
                format!(
                    "Namespace {name} asks for {lang} ({}: {:?}) for all its pods, but {why}",
                    lang.inject_annotation(),
                    ns.annotations
                        .get(lang.inject_annotation())
                        .map(String::as_str)
                        .unwrap_or_default()
                ),
                fix_for(name),
            ));
        }
    }
    let empty = NamespaceInfo::default();
    for w in workloads {
        let owned = w["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["controller"] == Value::Bool(true)));
        if owned {
            continue;
        }
        let kind = w["kind"].as_str().unwrap_or_default();
        let namespace = w["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = w["metadata"]["name"].as_str().unwrap_or_default();
        let id = format!("{kind} {namespace}/{name}");
        let ns = namespaces.get(namespace).unwrap_or(&empty);
        let path = template_path(kind);
        let template = if path.is_empty() {
            w.clone()
        } else {
            w.pointer(path).cloned().unwrap_or(Value::Null)
        };
        let on_template = asked(&annotations_at(&template, "/metadata/annotations"));
        if kind != "Pod" {
            let own = asked(&annotations_at(w, "/metadata/annotations"));
            let misplaced: Vec<Language> = own
                .into_iter()
                .filter(|l| !on_template.contains(l))
                .collect();
            if !misplaced.is_empty() {
                judged += 1;
                out.push(Finding::warn(
                    C,
                    format!(
                        "{id} has {} on its own metadata, where the webhook never looks: its pods are not injected",
                        misplaced.iter().map(|l| l.inject_annotation()).collect::<Vec<_>>().join(", ")
                    ),
                    format!(
                        "move the annotation to {}.metadata.annotations",
                        path.trim_start_matches('/').replace('/', ".")
                    ),
                ));
            }
        }
        if on_template.is_empty() {
            continue;
        }
        judged += 1;
        let mut meta_ns = template.clone();
        if meta_ns.get("metadata").is_none() {
            meta_ns["metadata"] = json!({});
        }
        meta_ns["metadata"]["namespace"] = json!(namespace);
        for (lang, why) in resolve(&meta_ns, ns, insts, &on_template) {
            out.push(Finding::warn(
                C,
                format!(
                    "{id} asks for {lang} on its pod template, but {why}: its pods are not injected"
                ),
                fix_for(namespace),
            ));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            C,
            if judged == 0 {
                "no namespace or workload asks for instrumentation yet".to_string()
            } else {
                format!("{judged} annotated namespace(s) and workload(s): each request resolves to an Instrumentation")
            },
        ));
    }
    out
}
