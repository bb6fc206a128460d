//! The offline commands: `inject` (rewrite a manifest stream as the webhook would mutate the
//! pods it creates), `review` (the exact AdmissionReview response for each pod) and `explain`
//! (what would be injected where, or why not). They share the webhook's decision code and a
//! static cluster view built from the stream itself plus `--cluster` files.

use std::{sync::Arc, time::Duration};

use otel_inject_lib::{mutate, InjectOptions, InjectionDecision, PodContext};
use serde_json::{json, Value};

mod argo;
mod warnings;

use argo::{argo_step_pods, is_argo_workflow, note_argo_workflow};
use warnings::{misplaced_annotations, Warnings};

use crate::{
    admission::Admission,
    cluster::{
        lookup, static_view::default_instrumentation, ClusterObjects, ClusterView, StaticView,
    },
    manifest::{parse_stream, Document, ManifestError, Stream, StreamFormat},
    metrics::Metrics,
    yaml,
};

/// Options shared by the offline commands.
#[derive(Debug, Clone)]
pub struct OfflineOptions {
    /// Files with Instrumentations, Namespaces, ReplicaSets, Jobs.
    pub cluster_files: Vec<String>,
    /// Namespace of objects that name none (as `kubectl apply` without `-n`).
    pub default_namespace: String,
    /// Decision options.
    pub inject: InjectOptions,
}

impl Default for OfflineOptions {
    fn default() -> Self {
        Self {
            cluster_files: Vec::new(),
            default_namespace: "default".to_string(),
            inject: InjectOptions::default(),
        }
    }
}

/// Output syntax of `inject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// `---`-separated YAML.
    Yaml,
    /// Pretty JSON, one value per document.
    Json,
}

/// Failure of an offline command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    /// A document or cluster file is invalid.
    #[error(transparent)]
    Input(#[from] ManifestError),
    /// Something unexpected (internal error).
    #[error("{0}")]
    Internal(String),
}

/// What an offline command produced: its output, and the warnings it prints on standard error
/// (one line each). `--strict` turns any warning into a failure, for CI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfflineReport {
    /// What goes to standard output: bytes, since `inject` hands back a stream whose comments
    /// are not UTF-8 as it was.
    pub output: Vec<u8>,
    /// One line each, without the `otel-inject: warning: ` prefix.
    pub warnings: Vec<String>,
    /// What was left to the webhook on purpose (Argo workflows), one line each, without the
    /// `otel-inject: note: ` prefix; never a failure.
    pub notes: Vec<String>,
}

/// Where a pod spec sits in a workload.
#[derive(Debug, Clone, Copy)]
struct PodSpecSite {
    /// JSON pointer of the pod template (`""` for a Pod itself).
    template: &'static str,
    /// Whether the object's pods carry an owner reference to it (a PodTemplate's do not).
    owned: bool,
}

/// The kinds whose pods the offline commands inject, as kubectl would list them.
const TEMPLATE_KINDS: &str = "Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate or Argo Rollout";

fn pod_spec_site(value: &Value) -> Option<PodSpecSite> {
    let kind = value.get("kind").and_then(Value::as_str)?;
    let api = value.get("apiVersion").and_then(Value::as_str)?;
    let (template, owned) = match (api, kind) {
        ("v1", "Pod") => ("", false),
        ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("v1", "ReplicationController")
        | ("argoproj.io/v1alpha1", "Rollout")
        | ("batch/v1", "Job") => ("/spec/template", true),
        ("batch/v1", "CronJob") => ("/spec/jobTemplate/spec/template", true),
        // Pods made from a PodTemplate (by hand or a controller) are not owned by it.
        ("v1", "PodTemplate") => ("/template", false),
        _ => return None,
    };
    Some(PodSpecSite { template, owned })
}

/// A pod the offline commands decide for: the pod itself, or one built from a template.
struct PodTarget {
    /// "Deployment shop/web".
    label: String,
    namespace: String,
    pod: Value,
    site: PodSpecSite,
}

fn meta_str<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value
        .get("metadata")?
        .get(field)?
        .as_str()
        .filter(|s| !s.is_empty())
}

fn pod_target(
    value: &Value,
    default_namespace: &str,
    source: &str,
    number: usize,
    warnings: &mut Warnings,
) -> Result<Option<PodTarget>, ManifestError> {
    let Some(site) = pod_spec_site(value) else {
        return Ok(None);
    };
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let namespace = meta_str(value, "namespace")
        .unwrap_or(default_namespace)
        .to_string();
    let name = meta_str(value, "name")
        .or_else(|| meta_str(value, "generateName"))
        .unwrap_or("")
        .to_string();
    let label = format!("{kind} {namespace}/{name}");
    if site.template.is_empty() {
        return Ok(Some(PodTarget {
            label,
            namespace,
            pod: value.clone(),
            site,
        }));
    }
    let Some(template) = value.pointer(site.template).filter(|t| !t.is_null()) else {
        // Valid for some (a Rollout with `workloadRef`), and a broken object is the API
        // server's to refuse: pass it through, said once.
        if kind == "Rollout" && value.pointer("/spec/workloadRef").is_some() {
            warnings.notes.push(format!(
                "{source}: document {number}: {label}: left unchanged: its pods come from the Deployment its spec.workloadRef names; inject that one"
            ));
        } else {
            warnings.push(format!(
                "{source}: document {number}: {label}: left unchanged: field `{}` is missing, so there is no pod template to inject",
                dotted(site.template)
            ));
        }
        return Ok(None);
    };
    if !template.is_object() {
        return Err(ManifestError::new(
            source,
            number,
            format!(
                "{label}: field `{}` must be a mapping",
                dotted(site.template)
            ),
        ));
    }
    misplaced_annotations(value, template, &label, site, source, number, warnings);
    let mut metadata = match template.get("metadata") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ManifestError::new(
                source,
                number,
                format!(
                    "{label}: field `{}.metadata` must be a mapping",
                    dotted(site.template)
                ),
            ))
        }
    };
    metadata.insert("namespace".into(), json!(namespace));
    // The controller's pods carry an owner reference to it; that is what makes the workload's
    // name show up in the resource attributes.
    if site.owned {
        metadata.insert(
            "ownerReferences".into(),
            json!([{
                "apiVersion": value.get("apiVersion").cloned().unwrap_or(Value::Null),
                "kind": kind,
                "name": name,
                "uid": meta_str(value, "uid").unwrap_or(""),
                "controller": true,
                "blockOwnerDeletion": true,
            }]),
        );
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    Ok(Some(PodTarget {
        label,
        namespace,
        pod,
        site,
    }))
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// A parsed input stream and the view built from it.
struct Input {
    stream: Stream,
    view: StaticView,
    source: String,
    /// The built-in default Instrumentation's endpoint, when it is in use.
    default_endpoint: Option<String>,
}

fn load(text: &[u8], source: &str, options: &OfflineOptions) -> Result<Input, OfflineError> {
    let stream = parse_stream(text, source)?;
    let mut objects = ClusterObjects::default();
    for file in &options.cluster_files {
        objects.load_file(file, &options.default_namespace)?;
    }
    // Objects in the stream win over files: the stream is what is about to be applied.
    for doc in &stream.docs {
        objects.add(&doc.value, &options.default_namespace, source, doc.number)?;
    }
    let view = StaticView::with_default_instrumentation(objects).map_err(OfflineError::Internal)?;
    let default_endpoint = if view.uses_default_instrumentation() {
        let default = default_instrumentation().map_err(OfflineError::Internal)?;
        Some(
            default
                .spec
                .exporter
                .and_then(|e| e.endpoint)
                .unwrap_or_else(|| "the SDK's default endpoint".to_string()),
        )
    } else {
        None
    };
    Ok(Input {
        stream,
        view,
        source: source.to_string(),
        default_endpoint,
    })
}

/// The pods `value` makes (one for a Pod or a pod template, those of every item of a `List`).
fn pod_targets(
    value: &Value,
    options: &OfflineOptions,
    source: &str,
    number: usize,
    warnings: &mut Warnings,
) -> Result<Vec<PodTarget>, OfflineError> {
    if value.get("kind").and_then(Value::as_str) == Some("List") {
        let mut targets = Vec::new();
        for item in value
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            targets.extend(pod_targets(item, options, source, number, warnings)?);
        }
        return Ok(targets);
    }
    note_argo_workflow(value, options, source, number, warnings);
    Ok(
        pod_target(value, &options.default_namespace, source, number, warnings)?
            .into_iter()
            .collect(),
    )
}

async fn decide(
    view: &StaticView,
    target: &PodTarget,
    options: &InjectOptions,
) -> InjectionDecision {
    let found = lookup(view, &target.pod, &target.namespace, Duration::ZERO).await;
    let ctx = PodContext {
        pod: &target.pod,
        namespace: &found.namespace,
        instrumentations: &found.instrumentations,
        owners: &found.owners,
        options,
    };
    mutate(&ctx)
}

/// Moves every path of `patch` under `prefix` (`/spec/template`).
fn rebase_patch(patch: &json_patch::Patch, prefix: &str) -> Result<json_patch::Patch, String> {
    let mut ops = serde_json::to_value(patch).map_err(|e| e.to_string())?;
    if let Some(ops) = ops.as_array_mut() {
        for op in ops {
            for field in ["path", "from"] {
                if let Some(Value::String(p)) = op.get_mut(field) {
                    *p = format!("{prefix}{p}");
                }
            }
        }
    }
    serde_json::from_value(ops).map_err(|e| e.to_string())
}

/// Applies a decision's patch to the document in place.
fn apply(doc: &mut Value, target: &PodTarget, decision: &InjectionDecision) -> Result<(), String> {
    if decision.patch.is_empty() {
        return Ok(());
    }
    let patch = if target.site.template.is_empty() {
        decision.patch.to_json_patch()
    } else {
        // The pod built from the template always has metadata; the template may not.
        if let Some(Value::Object(t)) = doc.pointer_mut(target.site.template) {
            t.entry("metadata").or_insert_with(|| json!({}));
        }
        rebase_patch(&decision.patch.to_json_patch(), target.site.template)?
    };
    json_patch::patch(doc, &patch).map_err(|e| e.to_string())
}

/// `otel-inject inject`: the stream with every pod and pod template injected.
pub async fn inject_stream(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
    output: OutputFormat,
) -> Result<String, OfflineError> {
    let report = inject_report(text, source, options, output).await?;
    // Lossy only where the input's comments were not UTF-8; `inject_report` has the bytes.
    Ok(String::from_utf8_lossy(&report.output).into_owned())
}

/// [`inject_stream`], with the warnings.
pub async fn inject_report(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
    output: OutputFormat,
) -> Result<OfflineReport, OfflineError> {
    let input = load(text.as_ref(), source, options)?;
    let mut warnings = Warnings::new(&input);
    let mut out_docs: Vec<(bool, Value)> = Vec::new();
    for doc in &input.stream.docs {
        let mut value = doc.value.clone();
        let mut changed = false;
        if doc.kind() == "List" {
            // Items are patched one by one, each at its own index.
            if let Some(items) = value.get_mut("items").and_then(Value::as_array_mut) {
                for item in items.iter_mut() {
                    note_argo_workflow(item, options, &input.source, doc.number, &mut warnings);
                    if let Some(target) = pod_target(
                        item,
                        &options.default_namespace,
                        &input.source,
                        doc.number,
                        &mut warnings,
                    )? {
                        changed |=
                            inject_target(&input, doc, item, &target, options, &mut warnings)
                                .await?;
                    }
                }
            }
        } else {
            let targets = pod_targets(
                &doc.value,
                options,
                &input.source,
                doc.number,
                &mut warnings,
            )?;
            for target in targets {
                changed |=
                    inject_target(&input, doc, &mut value, &target, options, &mut warnings).await?;
            }
        }
        out_docs.push((changed, value));
    }
    let output = render(&input, &out_docs, output, &mut warnings)?;
    let (warnings, notes) = warnings.finish(&input);
    Ok(OfflineReport {
        output,
        warnings,
        notes,
    })
}

/// Decides for one pod of `doc` and applies the patch to `value` (the document or the `List`
/// item it came from); whether anything changed.
async fn inject_target(
    input: &Input,
    doc: &Document,
    value: &mut Value,
    target: &PodTarget,
    options: &OfflineOptions,
    warnings: &mut Warnings,
) -> Result<bool, OfflineError> {
    let decision = decide(&input.view, target, &options.inject).await;
    warnings.decision(&at(&input.source, doc.number, target), &decision);
    apply(value, target, &decision).map_err(|e| {
        ManifestError::new(
            &input.source,
            doc.number,
            format!("{}: cannot apply the patch: {e}", target.label),
        )
    })?;
    Ok(!decision.patch.is_empty())
}

/// Where a warning is about: "app.yaml: document 2: Deployment shop/web".
fn at(source: &str, number: usize, target: &PodTarget) -> String {
    format!("{source}: document {number}: {}", target.label)
}

/// The output stream. In the input's syntax, the input's bytes with each changed document
/// edited in place (YAML) or written anew (JSON); everything else (untouched documents,
/// separators, comments between documents, trailing lines) byte for byte. In the other syntax,
/// every document written anew.
fn render(
    input: &Input,
    docs: &[(bool, Value)],
    output: OutputFormat,
    warnings: &mut Warnings,
) -> Result<Vec<u8>, OfflineError> {
    let stream = &input.stream;
    match (stream.format, output) {
        (StreamFormat::Yaml, OutputFormat::Yaml) => {
            let mut out = Vec::with_capacity(stream.bytes.len() + 4096);
            let mut at = 0;
            for (doc, (changed, value)) in stream.docs.iter().zip(docs) {
                if !changed {
                    continue;
                }
                let original = &stream.bytes[doc.range.clone()];
                let text = match yaml::edit(&doc.text, &doc.value, value) {
                    Ok(yaml::EditOutcome::Unchanged) => continue,
                    Ok(yaml::EditOutcome::Edited(splices)) => splices.apply(original),
                    Ok(yaml::EditOutcome::Rewritten { text, why }) => {
                        warnings.notes.push(format!(
                            "{}: document {}: written anew, without its comments and formatting: {why}",
                            input.source, doc.number
                        ));
                        text.into_bytes()
                    }
                    Err(e) => {
                        return Err(OfflineError::Internal(format!(
                            "{}: document {}: cannot write the injected document: {e}",
                            input.source, doc.number
                        )))
                    }
                };
                out.extend_from_slice(&stream.bytes[at..doc.range.start]);
                out.extend_from_slice(&text);
                at = doc.range.end;
            }
            out.extend_from_slice(&stream.bytes[at..]);
            Ok(out)
        }
        (StreamFormat::Json, OutputFormat::Json) => {
            let mut parts = Vec::new();
            for (doc, (changed, value)) in stream.docs.iter().zip(docs) {
                if *changed {
                    parts.push(
                        serde_json::to_string_pretty(value).map_err(|e| {
                            OfflineError::Internal(format!("cannot write JSON: {e}"))
                        })?,
                    );
                } else {
                    parts.push(doc.text.clone());
                }
            }
            Ok(format!("{}\n", parts.join("\n")).into_bytes())
        }
        (_, OutputFormat::Yaml) => {
            let mut out = String::new();
            for (_, value) in docs.iter().filter(|(_, v)| !v.is_null()) {
                out.push_str("---\n");
                out.push_str(&yaml::render(value));
            }
            Ok(out.into_bytes())
        }
        (_, OutputFormat::Json) => {
            let mut parts = Vec::new();
            for (_, value) in docs.iter().filter(|(_, v)| !v.is_null()) {
                parts.push(
                    serde_json::to_string_pretty(value)
                        .map_err(|e| OfflineError::Internal(format!("cannot write JSON: {e}")))?,
                );
            }
            Ok(format!("{}\n", parts.join("\n")).into_bytes())
        }
    }
}

/// `otel-inject explain`: per pod and container, what would be injected or why not.
pub async fn explain_stream(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
) -> Result<String, OfflineError> {
    Ok(String::from_utf8_lossy(&explain_report(text, source, options).await?.output).into_owned())
}

/// [`explain_stream`], with the warnings.
pub async fn explain_report(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
) -> Result<OfflineReport, OfflineError> {
    let input = load(text.as_ref(), source, options)?;
    let mut warnings = Warnings::new(&input);
    let mut out = String::new();
    if input.view.uses_default_instrumentation() {
        out.push_str(
            "(no Instrumentation given: using the built-in default, which exports to \
             http://jaeger-collector.monitoring.svc.cluster.local:4318)\n\n",
        );
    }
    let mut count = 0;
    for doc in &input.stream.docs {
        let mut targets = pod_targets(
            &doc.value,
            options,
            &input.source,
            doc.number,
            &mut warnings,
        )?;
        if is_argo_workflow(&doc.value) {
            count += 1;
            let steps = argo_step_pods(&doc.value, &options.default_namespace);
            let label = steps
                .first()
                .map(|(_, t)| t.label.clone())
                .unwrap_or_else(|| doc.kind().to_string());
            out.push_str(&format!(
                "{label} (document {}, Argo workflow): left unchanged; the webhook instruments its step pods at admission, as below\n",
                doc.number
            ));
            for (step, target) in &steps {
                // Not warned about: the webhook decides again when the step pod exists.
                let decision = decide(&input.view, target, &options.inject).await;
                out.push_str(&format!("  step pods of template {step}:\n"));
                for line in decision.explain().lines() {
                    out.push_str("    ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            if steps.is_empty() {
                out.push_str("  no template that runs a pod\n");
            }
            out.push('\n');
        }
        // A review the API server sent (e.g. saved from the webhook's log): its pod.
        let is_review = doc.kind() == "AdmissionReview";
        if is_review {
            targets.extend(reviewed_pod(&doc.value, &options.default_namespace));
        }
        for target in targets {
            count += 1;
            let decision = decide(&input.view, &target, &options.inject).await;
            warnings.decision(&at(&input.source, doc.number, &target), &decision);
            let what = if is_review {
                "pod of an AdmissionReview"
            } else if target.site.template.is_empty() {
                "pod"
            } else {
                "pod template"
            };
            out.push_str(&format!(
                "{} (document {}, {what}):\n",
                target.label, doc.number
            ));
            for line in decision.explain().lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
    }
    if count == 0 {
        out.push_str(&format!(
            "no {TEMPLATE_KINDS}, nor Argo workflow or AdmissionReview, in the input\n"
        ));
    }
    let (warnings, notes) = warnings.finish(&input);
    Ok(OfflineReport {
        output: out.into_bytes(),
        warnings,
        notes,
    })
}

/// `otel-inject review`: for each AdmissionReview in the input (or each pod / pod template,
/// wrapped in the review the API server would send for its creation), the response.
pub async fn review_stream(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
) -> Result<String, OfflineError> {
    Ok(String::from_utf8_lossy(&review_report(text, source, options).await?.output).into_owned())
}

/// [`review_stream`], with the warnings.
pub async fn review_report(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
) -> Result<OfflineReport, OfflineError> {
    let input = load(text.as_ref(), source, options)?;
    let mut warnings = Warnings::new(&input);
    let view: Arc<dyn ClusterView> = Arc::new(input.view.clone());
    let admission = Admission::new(
        view,
        options.inject.clone(),
        Arc::new(Metrics::new()),
        Duration::ZERO,
    );
    let mut out = String::new();
    for doc in &input.stream.docs {
        let mut reviews = Vec::new();
        let mut targets = Vec::new();
        if doc.kind() == "AdmissionReview" {
            reviews.push(doc.value.clone());
            targets.extend(reviewed_pod(&doc.value, &options.default_namespace));
        } else {
            targets = pod_targets(
                &doc.value,
                options,
                &input.source,
                doc.number,
                &mut warnings,
            )?;
            reviews.extend(
                targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| synthetic_review(t, doc.number, i)),
            );
        }
        // The same decision the admission makes, for the warnings.
        for target in &targets {
            let decision = decide(&input.view, target, &options.inject).await;
            warnings.decision(&at(&input.source, doc.number, target), &decision);
        }
        for review in reviews {
            let (response, _) = admission
                .review_value(&review)
                .await
                .map_err(|e| ManifestError::new(&input.source, doc.number, e.to_string()))?;
            out.push_str(
                &serde_json::to_string_pretty(&response)
                    .map_err(|e| OfflineError::Internal(e.to_string()))?,
            );
            out.push('\n');
        }
    }
    let (warnings, notes) = warnings.finish(&input);
    Ok(OfflineReport {
        output: out.into_bytes(),
        warnings,
        notes,
    })
}

/// `otel-inject validate`: every Instrumentation in the stream read as the other commands read
/// it (an error stops at the first invalid one); one line each on standard output.
pub fn validate_report(
    text: impl AsRef<[u8]>,
    source: &str,
    options: &OfflineOptions,
) -> Result<OfflineReport, OfflineError> {
    let stream = parse_stream(text.as_ref(), source)?;
    let mut objects = ClusterObjects::default();
    let mut output = String::new();
    for doc in &stream.docs {
        let before = objects.instrumentations.clone();
        let warned = objects.warnings.len();
        objects.add(&doc.value, &options.default_namespace, source, doc.number)?;
        for (namespace, name) in objects.instrumentations.keys().filter(|k| {
            before
                .get(*k)
                .is_none_or(|i| !Arc::ptr_eq(i, &objects.instrumentations[*k]))
        }) {
            let unknown = objects.warnings.len() - warned;
            let verdict = if unknown == 0 {
                "ok".to_string()
            } else {
                format!("read, {unknown} unknown field(s) ignored (see the warnings)")
            };
            output.push_str(&format!(
                "Instrumentation {namespace}/{name} (document {}): {verdict}\n",
                doc.number
            ));
        }
    }
    let mut warnings = std::mem::take(&mut objects.warnings);
    if objects.instrumentations.is_empty() {
        warnings.push(format!(
            "{source}: no Instrumentation (opentelemetry.io/v1alpha1) in the input"
        ));
    }
    Ok(OfflineReport {
        output: output.into_bytes(),
        warnings,
        notes: Vec::new(),
    })
}

/// The pod a Pod-creating AdmissionReview carries, as a target.
fn reviewed_pod(review: &Value, default_namespace: &str) -> Option<PodTarget> {
    let request = review.get("request")?;
    let pod = request.get("object").filter(|o| o.is_object())?;
    if pod
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k != "Pod")
    {
        return None;
    }
    let namespace = request
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| meta_str(pod, "namespace"))
        .unwrap_or(default_namespace)
        .to_string();
    let name = meta_str(pod, "name")
        .or_else(|| meta_str(pod, "generateName"))
        .unwrap_or("");
    Some(PodTarget {
        label: format!("Pod {namespace}/{name}"),
        namespace,
        pod: pod.clone(),
        site: PodSpecSite {
            template: "",
            owned: false,
        },
    })
}

/// The review the API server sends when a pod is created (user and uid made up, stable).
fn synthetic_review(target: &PodTarget, number: usize, index: usize) -> Value {
    let name = meta_str(&target.pod, "name").unwrap_or("");
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("00000000-0000-0000-0000-{:06}{:06}", number, index),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": name,
            "namespace": target.namespace,
            "operation": "CREATE",
            "userInfo": {"username": "otel-inject-review"},
            "object": target.pod,
            "oldObject": null,
            "dryRun": true,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        }
    })
}
