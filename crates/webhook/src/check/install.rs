//! The install itself: the Instrumentation CRD against ours, the MutatingWebhookConfiguration's
//! options, whether its namespaceSelector keeps the webhook's own namespace out, and whether its
//! Service has ready endpoints. Pure: typed objects in, findings out.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use k8s_openapi::api::admissionregistration::v1::{MutatingWebhook, MutatingWebhookConfiguration};
use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::finding::Finding;

/// The fix for a missing or stale CRD.
const APPLY_CRD: &str = "otel-inject crd | kubectl apply --server-side -f - (or deploy/otel-inject/base/crd-instrumentation.yaml)";

/// The paths the API server answers on (`server.rs`).
pub const WEBHOOK_PATHS: [&str; 2] = ["/mutate", "/mutate-v1-pod"];

/// The CRD named `name` as the cluster has it (`None`: not installed), against `ours`.
pub fn crd(
    name: &str,
    cluster: Option<&CustomResourceDefinition>,
    ours: &CustomResourceDefinition,
) -> Vec<Finding> {
    const C: &str = "crd";
    let Some(theirs) = cluster else {
        return vec![Finding::fail(
            C,
            format!("CRD {name} is not installed: no Instrumentation can be created, so no pod is injected"),
            APPLY_CRD,
        )];
    };
    let mut out = Vec::new();
    let established = theirs
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
    if !established {
        out.push(Finding::fail(
            C,
            format!("CRD {name} is not Established: the API server does not serve Instrumentations yet"),
            format!("kubectl describe crd {name} (its conditions say why: a name conflict, a schema the API server refused)"),
        ));
    }
    let served: Vec<&str> = theirs
        .spec
        .versions
        .iter()
        .filter(|v| v.served)
        .map(|v| v.name.as_str())
        .collect();
    let mut pruned = Vec::new();
    for version in ours.spec.versions.iter().filter(|v| v.served) {
        let Some(their_version) = theirs
            .spec
            .versions
            .iter()
            .find(|v| v.name == version.name && v.served)
        else {
            out.push(Finding::fail(
                C,
                format!(
                    "CRD {name} does not serve {} (it serves: {}): otel-inject reads only opentelemetry.io/{} Instrumentations",
                    version.name,
                    if served.is_empty() { "nothing".to_string() } else { served.join(", ") },
                    version.name
                ),
                APPLY_CRD,
            ));
            continue;
        };
        let schema = |v: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinitionVersion| {
            v.schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok())
        };
        match (schema(version), schema(their_version)) {
            (Some(ours), Some(theirs)) => {
                let mut missing = Vec::new();
                missing_paths(&ours, &theirs, "", &mut missing);
                pruned.extend(missing.into_iter().map(|p| format!("{}: {p}", version.name)));
            }
            (_, None) => out.push(Finding::warn(
                C,
                format!("CRD {name} has no schema for {}: the API server checks nothing and `kubectl explain` knows nothing", version.name),
                APPLY_CRD,
            )),
            (None, Some(_)) => {}
        }
    }
    if !pruned.is_empty() {
        let shown: Vec<&str> = pruned.iter().take(8).map(String::as_str).collect();
        out.push(Finding::warn(
            C,
            format!(
                "CRD {name} differs from otel-inject's: {} field(s) otel-inject reads are not in its schema, so the API server drops them from every Instrumentation: {}{}",
                pruned.len(),
                shown.join(", "),
                if pruned.len() > shown.len() { ", ..." } else { "" }
            ),
            APPLY_CRD,
        ));
    }
    if out.is_empty() {
        out.push(Finding::ok(
            C,
            format!(
                "CRD {name} is installed, Established, serves {}, and its schema keeps every field otel-inject reads",
                served.join(", ")
            ),
        ));
    }
    out
}

/// Paths of properties in `ours` that `theirs` neither declares nor preserves.
fn missing_paths(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    if theirs["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true) {
        return;
    }
    if let Some(props) = ours["properties"].as_object() {
        for (key, child) in props {
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match theirs["properties"].get(key) {
                Some(their_child) => missing_paths(child, their_child, &child_path, out),
                // A free-form map on their side takes anything.
                None if theirs.get("additionalProperties").is_some() => {}
                None => out.push(child_path),
            }
        }
    }
    if ours["items"].is_object() && theirs["items"].is_object() {
        missing_paths(&ours["items"], &theirs["items"], &format!("{path}[]"), out);
    }
}

/// Which webhook configurations are ours: the one named `name` when given, else those with a
/// webhook whose Service is `service` (namespace, name), else those whose name or webhook names
/// contain `otel-inject`.
pub fn ours<'a>(
    all: &'a [MutatingWebhookConfiguration],
    name: Option<&str>,
    service: (&str, &str),
) -> Vec<&'a MutatingWebhookConfiguration> {
    if let Some(name) = name {
        return all
            .iter()
            .filter(|c| c.metadata.name.as_deref() == Some(name))
            .collect();
    }
    let by_service: Vec<_> = all
        .iter()
        .filter(|c| {
            webhooks(c).iter().any(|w| {
                w.client_config
                    .service
                    .as_ref()
                    .is_some_and(|s| (s.namespace.as_str(), s.name.as_str()) == service)
            })
        })
        .collect();
    if !by_service.is_empty() {
        return by_service;
    }
    all.iter()
        .filter(|c| {
            c.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.contains("otel-inject"))
                || webhooks(c).iter().any(|w| w.name.contains("otel-inject"))
        })
        .collect()
}

/// The configuration's webhooks (none when it has no list).
pub fn webhooks(c: &MutatingWebhookConfiguration) -> &[MutatingWebhook] {
    c.webhooks.as_deref().unwrap_or_default()
}

/// Where the API server sends a webhook's reviews, for messages.
pub fn destination(w: &MutatingWebhook) -> String {
    match (&w.client_config.service, &w.client_config.url) {
        (Some(s), _) => format!(
            "service {}/{}:{}{}",
            s.namespace,
            s.name,
            s.port.unwrap_or(443),
            s.path.as_deref().unwrap_or("")
        ),
        (None, Some(url)) => url.clone(),
        (None, None) => "nowhere (clientConfig has neither service nor url)".into(),
    }
}

/// The options of one webhook of configuration `config`.
pub fn webhook_options(config: &str, w: &MutatingWebhook) -> Vec<Finding> {
    const C: &str = "webhook-configuration";
    let id = format!("MutatingWebhookConfiguration {config}, webhook {}", w.name);
    let mut out = Vec::new();
    let covers = |list: &Option<Vec<String>>, want: &str| {
        list.as_ref()
            .is_some_and(|l| l.iter().any(|x| x == want || x == "*"))
    };
    let pods_create = w.rules.as_deref().unwrap_or_default().iter().any(|r| {
        covers(&r.operations, "CREATE")
            && covers(&r.api_groups, "")
            && covers(&r.api_versions, "v1")
            && r.resources
                .as_ref()
                .is_some_and(|l| l.iter().any(|x| x == "pods" || x == "*" || x == "*/*"))
    });
    if !pods_create {
        out.push(Finding::fail(
            C,
            format!("{id}: its rules do not send pod CREATE to the webhook: no pod is injected"),
            "add the rule {operations: [CREATE], apiGroups: [\"\"], apiVersions: [v1], resources: [pods]} (deploy/otel-inject/base/mutatingwebhook.yaml)",
        ));
    }
    if !w.admission_review_versions.iter().any(|v| v == "v1") {
        out.push(Finding::fail(
            C,
            format!(
                "{id}: admissionReviewVersions is [{}]: otel-inject answers admission.k8s.io/v1 only",
                w.admission_review_versions.join(", ")
            ),
            "set admissionReviewVersions: [v1]",
        ));
    }
    let path = match (&w.client_config.service, &w.client_config.url) {
        (Some(s), _) => s.path.clone().unwrap_or_default(),
        (None, Some(url)) => url_path(url).to_string(),
        (None, None) => {
            out.push(Finding::fail(
                C,
                format!("{id}: clientConfig has neither service nor url"),
                "set clientConfig.service to the otel-inject Service",
            ));
            String::new()
        }
    };
    if (w.client_config.service.is_some() || w.client_config.url.is_some())
        && !WEBHOOK_PATHS.contains(&path.as_str())
    {
        out.push(Finding::fail(
            C,
            format!(
                "{id}: it calls path {:?}, where otel-inject answers 404",
                if path.is_empty() { "/" } else { path.as_str() }
            ),
            "set the path to /mutate (or /mutate-v1-pod, the operator's)",
        ));
    }
    if w.failure_policy.as_deref().unwrap_or("Fail") == "Fail" {
        out.push(Finding::warn(
            C,
            format!("{id}: failurePolicy is Fail: while the webhook is down or slow, every pod creation in the selected namespaces is refused"),
            "set failurePolicy: Ignore (otel-inject never needs to block a pod; deploy/ does this)",
        ));
    }
    if !matches!(w.side_effects.as_str(), "None" | "NoneOnDryRun") {
        out.push(Finding::warn(
            C,
            format!(
                "{id}: sideEffects is {:?}: dry-run requests (kubectl apply --dry-run=server) skip the webhook",
                w.side_effects
            ),
            "set sideEffects: None (otel-inject has none)",
        ));
    }
    let timeout = w.timeout_seconds.unwrap_or(10);
    if timeout > 10 {
        out.push(Finding::warn(
            C,
            format!("{id}: timeoutSeconds is {timeout}: a slow webhook holds every pod creation that long"),
            "set timeoutSeconds: 5 (a decision takes milliseconds)",
        ));
    }
    if w.reinvocation_policy.as_deref().unwrap_or("Never") != "IfNeeded" {
        out.push(Finding::warn(
            C,
            format!("{id}: reinvocationPolicy is not IfNeeded: containers that a later webhook adds (a service mesh's) are never instrumented"),
            "set reinvocationPolicy: IfNeeded (the injection is idempotent)",
        ));
    }
    if out.is_empty() {
        out.push(Finding::ok(
            C,
            format!(
                "{id}: pod CREATE goes to {} (failurePolicy {}, timeout {timeout}s)",
                destination(w),
                w.failure_policy.as_deref().unwrap_or("Fail")
            ),
        ));
    }
    out
}

/// The path of an `https://host:port/path` URL ("" when it has none).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| {
        let p = &rest[i..];
        p.split(['?', '#']).next().unwrap_or(p)
    })
}

/// Whether `selector` selects an object with `labels` (an absent selector selects everything).
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(s) = selector else { return true };
    let labels_ok = s
        .match_labels
        .as_ref()
        .is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let exprs_ok = s
        .match_expressions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                // An operator the API server would have refused: match nothing, as it would.
                _ => false,
            }
        });
    labels_ok && exprs_ok
}

/// Whether the webhook's namespaceSelector keeps the webhook's own namespace out. `labels` is
/// `None` when that namespace does not exist.
pub fn namespace_exclusion(
    w: &MutatingWebhook,
    own_namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> Finding {
    const C: &str = "namespace-exclusion";
    let Some(labels) = labels else {
        return Finding::ok(
            C,
            format!(
                "webhook {}: the webhook's namespace {own_namespace} does not exist in this cluster (it runs elsewhere), nothing to exclude",
                w.name
            ),
        );
    };
    if !selects(w.namespace_selector.as_ref(), labels) {
        return Finding::ok(
            C,
            format!(
                "webhook {}: its namespaceSelector excludes the webhook's own namespace {own_namespace}",
                w.name
            ),
        );
    }
    let fix = format!(
        "kubectl label namespace {own_namespace} otel-inject.dev/admission-webhooks=disabled, with a namespaceSelector expression {{key: otel-inject.dev/admission-webhooks, operator: NotIn, values: [disabled]}} (Kubernetes before 1.21 does not label namespaces with kubernetes.io/metadata.name, so a NotIn on that label excludes nothing there)"
    );
    let object_selector = w.object_selector.as_ref().is_some_and(|s| {
        s.match_labels.as_ref().is_some_and(|m| !m.is_empty())
            || s.match_expressions.as_ref().is_some_and(|m| !m.is_empty())
    });
    if w.failure_policy.as_deref().unwrap_or("Fail") == "Fail" && !object_selector {
        Finding::fail(
            C,
            format!(
                "webhook {}: its namespaceSelector selects the webhook's own namespace {own_namespace} and failurePolicy is Fail: when no replica runs, none can start again",
                w.name
            ),
            fix,
        )
    } else {
        Finding::warn(
            C,
            format!(
                "webhook {}: its namespaceSelector selects the webhook's own namespace {own_namespace}: its own pods are sent to it{}",
                w.name,
                if object_selector { " (only its objectSelector keeps them out)" } else { ", and wait for its timeout while it is down" }
            ),
            fix,
        )
    }
}

/// The Service a webhook calls and its endpoints: a finding, and the ready addresses to
/// connect to (with the port the pods listen on).
pub fn service_endpoints(
    w: &MutatingWebhook,
    service: Option<&Service>,
    endpoints: Option<&Endpoints>,
) -> (Finding, Vec<SocketAddr>) {
    const C: &str = "endpoints";
    let Some(svc_ref) = &w.client_config.service else {
        return (
            Finding::ok(
                C,
                format!(
                    "webhook {}: called by URL ({}), not through a Service: no endpoints to check",
                    w.name,
                    w.client_config.url.as_deref().unwrap_or("")
                ),
            ),
            Vec::new(),
        );
    };
    let id = format!("Service {}/{}", svc_ref.namespace, svc_ref.name);
    let Some(service) = service else {
        return (
            Finding::fail(
                C,
                format!("{id}, which webhook {} calls, does not exist: no pod is injected", w.name),
                "create the Service (deploy/otel-inject/base/service.yaml) or fix clientConfig.service",
            ),
            Vec::new(),
        );
    };
    let port = svc_ref.port.unwrap_or(443);
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default();
    let Some(svc_port) = ports.iter().find(|p| p.port == port) else {
        return (
            Finding::fail(
                C,
                format!("{id} has no port {port}, which webhook {} calls", w.name),
                format!("add port {port} to the Service, or set clientConfig.service.port to one of its ports"),
            ),
            Vec::new(),
        );
    };
    let subsets = endpoints
        .and_then(|e| e.subsets.as_deref())
        .unwrap_or_default();
    let mut ready = Vec::new();
    let mut not_ready = 0;
    for subset in subsets {
        // The endpoint port of this Service port: by name (unnamed when the Service has one port).
        let Some(ep_port) = subset
            .ports
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|p| p.name.as_deref().unwrap_or("") == svc_port.name.as_deref().unwrap_or(""))
        else {
            continue;
        };
        for a in subset.addresses.as_deref().unwrap_or_default() {
            if let Ok(ip) = a.ip.parse() {
                ready.push(SocketAddr::new(
                    ip,
                    u16::try_from(ep_port.port).unwrap_or(0),
                ));
            }
        }
        not_ready += subset.not_ready_addresses.as_ref().map_or(0, Vec::len);
    }
    let target = match &svc_port.target_port {
        Some(IntOrString::Int(p)) => p.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => port.to_string(),
    };
    let finding = if ready.is_empty() && not_ready > 0 {
        Finding::fail(
            C,
            format!("{id}: {not_ready} endpoint(s), none ready: the API server cannot reach the webhook, pods are created without injection"),
            format!("kubectl -n {} describe pods of the Service (readiness: /readyz on the metrics port) and read their logs", svc_ref.namespace),
        )
    } else if ready.is_empty() {
        Finding::fail(
            C,
            format!("{id} has no endpoints for port {port} (target {target}): no webhook pod matches its selector, or none is running"),
            format!("kubectl -n {} get pods,endpoints: start the webhook Deployment, or fix the Service's selector", svc_ref.namespace),
        )
    } else if not_ready > 0 {
        Finding::warn(
            C,
            format!(
                "{id}: {} ready endpoint(s), {not_ready} not ready",
                ready.len()
            ),
            format!(
                "kubectl -n {} describe pods of the Service: some replicas are not ready",
                svc_ref.namespace
            ),
        )
    } else {
        Finding::ok(
            C,
            format!("{id}: {} ready endpoint(s) on port {target}", ready.len()),
        )
    };
    (finding, ready)
}

/// The namespaces named by a webhook's Service (for lookups).
pub fn service_keys(configs: &[&MutatingWebhookConfiguration]) -> BTreeSet<(String, String)> {
    configs
        .iter()
        .flat_map(|c| webhooks(c))
        .filter_map(|w| w.client_config.service.as_ref())
        .map(|s| (s.namespace.clone(), s.name.clone()))
        .collect()
}
