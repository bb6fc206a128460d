//! One AdmissionReview in, one AdmissionReview out. Parsing and validation of the review, the
//! choice of what to mutate (Pod CREATE only), the cluster lookups, the call into the lib, and
//! the response with its patch and warnings. Anything that goes wrong after the review was
//! understood still admits the pod: instrumentation is never worth blocking a workload for.

use std::{panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures::FutureExt;

use k8s_openapi::ByteString;
use kube::core::{
    admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
    DynamicObject,
};
use otel_inject_lib::{mutate, InjectOptions, InjectionDecision, PodContext};
use serde_json::Value;
use tokio::time::Instant;

use crate::{
    cluster::{lookup, ClusterView},
    manifest::json_type,
    metrics::Metrics,
};

/// The only review version the API server is configured to send (`admissionReviewVersions: [v1]`).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// The most JSON values (scalars, arrays and objects) one review may hold. Parsed, every value
/// costs tens of bytes whatever its size in the text, so a 3 MiB body of `0,0,0,...` would
/// become hundreds of MiB; a real pod, even with dozens of containers and hundreds of env
/// entries, is a few thousand values.
pub const MAX_JSON_VALUES: usize = 100_000;

/// Whether `body` holds at most `max` JSON values, by one pass over its bytes (no allocation):
/// `Err(n)` as soon as more than `max` (`n`) are seen. Commas and openings outside strings are
/// counted; it needs no valid JSON, the parser says what else is wrong.
pub fn check_json_values(body: &[u8], max: usize) -> Result<(), usize> {
    let (mut count, mut in_string, mut escaped) = (1usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b'[' | b'{' => {
                count += 1;
                if count > max {
                    return Err(count);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Why a body is not a review we can answer; the HTTP layer turns it into a 400 whose body is
/// this message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidReview {
    /// Not JSON.
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("expected an AdmissionReview object, found {0}")]
    NotAnObject(&'static str),
    /// Another version (v1beta1, or none).
    #[error("unsupported apiVersion {0:?}: only {API_VERSION} is supported; set admissionReviewVersions: [\"v1\"] in the webhook configuration")]
    ApiVersion(String),
    /// Another kind.
    #[error("unsupported kind {0:?}: expected AdmissionReview")]
    Kind(String),
    /// No `request`.
    #[error("the AdmissionReview has no `request` (is this a response?)")]
    NoRequest,
    /// A field of the request has the wrong shape.
    #[error("invalid AdmissionReview: field `{path}`: {message}")]
    Field {
        /// Dotted path.
        path: String,
        /// What serde said.
        message: String,
    },
    /// Empty uid: the response could not be matched to the request.
    #[error("invalid AdmissionReview: `request.uid` is empty")]
    NoUid,
    /// More JSON values than any pod has (see [`MAX_JSON_VALUES`]).
    #[error("the review holds more than {MAX_JSON_VALUES} JSON values ({0} seen before stopping): no pod is that large")]
    TooManyValues(usize),
}

impl InvalidReview {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Json(_) => "malformed_json",
            Self::NotAnObject(_) => "not_an_object",
            Self::ApiVersion(_) => "unsupported_api_version",
            Self::Kind(_) => "unsupported_kind",
            Self::NoRequest => "no_request",
            Self::Field { .. } => "invalid_field",
            Self::NoUid => "empty_uid",
            Self::TooManyValues(_) => "too_many_values",
        }
    }
}

/// Answers admission reviews.
pub struct Admission {
    view: Arc<dyn ClusterView>,
    options: InjectOptions,
    metrics: Arc<Metrics>,
    owner_budget: Duration,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("options", &self.options)
            .field("owner_budget", &self.owner_budget)
            .finish_non_exhaustive()
    }
}

/// What one review came to, for the log line and tests.
#[derive(Debug, Clone)]
pub struct DecisionRecord {
    /// Request uid.
    pub uid: String,
    /// Namespace.
    pub namespace: String,
    /// Pod name (or generateName followed by `*`).
    pub pod: String,
    /// Outcome label.
    pub outcome: &'static str,
    /// Reason label.
    pub reason: &'static str,
    /// One-line summary.
    pub summary: String,
}

impl Admission {
    /// An admission handler over `view`.
    pub fn new(
        view: Arc<dyn ClusterView>,
        options: InjectOptions,
        metrics: Arc<Metrics>,
        owner_budget: Duration,
    ) -> Self {
        Self {
            view,
            options,
            metrics,
            owner_budget,
        }
    }

    /// The cluster view.
    pub fn view(&self) -> &Arc<dyn ClusterView> {
        &self.view
    }

    /// Parses `body` and answers it. The `Ok` value is the response AdmissionReview as JSON.
    pub async fn review_bytes(
        &self,
        body: &[u8],
    ) -> Result<(Value, DecisionRecord), InvalidReview> {
        check_json_values(body, MAX_JSON_VALUES).map_err(InvalidReview::TooManyValues)?;
        let value: Value =
            serde_json::from_slice(body).map_err(|e| InvalidReview::Json(format!("{e}")))?;
        self.review_value(&value).await
    }

    /// Answers a parsed review.
    pub async fn review_value(
        &self,
        value: &Value,
    ) -> Result<(Value, DecisionRecord), InvalidReview> {
        let started = Instant::now();
        let request = parse_review(value)?;
        let raw_object = value.pointer("/request/object").filter(|o| o.is_object());
        let namespace = request
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| {
                raw_object
                    .and_then(|o| o.pointer("/metadata/namespace"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "default".to_string());
        let pod_name = raw_object.map(pod_display_name).unwrap_or_default();
        let mut record = DecisionRecord {
            uid: request.uid.clone(),
            namespace: namespace.clone(),
            pod: pod_name,
            outcome: "ignored",
            reason: "not_pod_create",
            summary: String::new(),
        };
        let mut response = AdmissionResponse::from(&request);

        let is_pod_create = request.kind.group.is_empty()
            && request.kind.version == "v1"
            && request.kind.kind == "Pod"
            && request.operation == Operation::Create
            && request.sub_resource.as_deref().unwrap_or("").is_empty();

        if !is_pod_create {
            record.summary = format!(
                "{} {} {}: not a pod creation, admitted unchanged",
                operation_name(&request.operation),
                request.kind.kind,
                request.name
            );
            self.metrics
                .admission(record.outcome, "none", record.reason);
        } else if let Some(pod) = raw_object {
            // Lookups and the lib promise not to panic; if either ever does, the pod is
            // still admitted (the API server would otherwise see a broken connection).
            let fallback = response.clone();
            let decided = AssertUnwindSafe(self.decide_pod(pod, &namespace, response, &mut record))
                .catch_unwind()
                .await;
            response = match decided {
                Ok(r) => r,
                Err(_) => {
                    record.outcome = "failed";
                    record.reason = "internal_error";
                    record.summary = "the decision panicked: admitted unchanged".to_string();
                    self.metrics
                        .admission(record.outcome, "none", record.reason);
                    let mut r = fallback;
                    r.warnings = Some(vec![
                        "otel-inject: internal error while deciding; pod admitted without instrumentation"
                            .to_string(),
                    ]);
                    r
                }
            };
        } else {
            // The API server always sends the object on CREATE; a review without one is
            // answered (allowed) rather than rejected, so a tool replaying reviews is not broken.
            record.outcome = "failed";
            record.reason = "no_object";
            record.summary = "pod creation without request.object: admitted unchanged".to_string();
            response.warnings = Some(vec![
                "otel-inject: the review carried no pod object; nothing was injected".to_string(),
            ]);
            self.metrics
                .admission(record.outcome, "none", record.reason);
        }
        self.metrics
            .decision_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok((response_json(response), record))
    }

    async fn decide_pod(
        &self,
        pod: &Value,
        namespace: &str,
        mut response: AdmissionResponse,
        record: &mut DecisionRecord,
    ) -> AdmissionResponse {
        let mut warnings = Vec::new();
        if let Err(why) = self.view.readiness() {
            // Deciding from half-filled caches could pick the wrong Instrumentation (or none
            // where one exists); admitting unchanged and saying so is the honest answer.
            record.outcome = "failed";
            record.reason = "cluster_view_not_ready";
            record.summary = format!("cluster view not ready ({why}): admitted unchanged");
            self.metrics
                .admission(record.outcome, "none", record.reason);
            response.warnings = Some(vec![format!(
                "otel-inject: cluster view not ready ({why}); pod admitted without instrumentation"
            )]);
            return response;
        }
        let found = lookup(self.view.as_ref(), pod, namespace, self.owner_budget).await;
        for source in &found.owner_sources {
            self.metrics
                .owner_lookups
                .get_or_create(&crate::metrics::SourceLabels { source })
                .inc();
        }
        for problem in &found.problems {
            self.metrics
                .lookup_problems
                .get_or_create(&crate::metrics::ReasonLabels {
                    reason: problem.reason(),
                })
                .inc();
            // The lib already explains an owner it was not given; only say more when the
            // lookup itself failed (timeout, API error), which the lib cannot know.
            if !matches!(problem, crate::cluster::LookupProblem::OwnerMissing { why, .. } if why == crate::cluster::OWNER_NOT_FOUND)
            {
                warnings.push(problem.warning());
            }
        }
        let ctx = PodContext {
            pod,
            namespace: &found.namespace,
            instrumentations: &found.instrumentations,
            owners: &found.owners,
            options: &self.options,
        };
        // A panic here is caught around the whole of decide_pod (see `review`).
        let decision = mutate(&ctx);
        self.count(&decision);
        record.outcome = decision.outcome().as_str();
        record.reason = decision.reason();
        record.summary = decision.summary();
        warnings.extend(decision.warnings.iter().cloned());
        if decision.has_patch() {
            let unpatched = response.clone();
            // `with_patch` is what sets the patch type (a private field); the bytes are then the
            // lib's own writer's: the same JSON as serde's, for a fraction of the instructions.
            match response.with_patch(json_patch::Patch::default()) {
                Ok(mut patched) => {
                    patched.patch = Some(decision.patch_json());
                    response = patched;
                }
                Err(e) => {
                    response = unpatched;
                    record.outcome = "failed";
                    record.reason = "patch_serialization";
                    warnings.push(format!(
                        "otel-inject: could not serialise the patch ({e}); pod admitted without instrumentation"
                    ));
                }
            }
        }
        if !warnings.is_empty() {
            response.warnings = Some(warnings);
        }
        response
    }

    fn count(&self, decision: &InjectionDecision) {
        if decision.languages.is_empty() {
            self.metrics
                .admission(decision.outcome().as_str(), "none", decision.reason());
        }
        for lang in &decision.languages {
            self.metrics.admission(
                lang.outcome().as_str(),
                lang.language.as_str(),
                lang.reason.label(),
            );
        }
    }
}

/// Validates the envelope and parses the request.
pub fn parse_review(value: &Value) -> Result<AdmissionRequest<DynamicObject>, InvalidReview> {
    let Value::Object(map) = value else {
        return Err(InvalidReview::NotAnObject(json_type(value)));
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api_version != API_VERSION {
        return Err(InvalidReview::ApiVersion(api_version.to_string()));
    }
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "AdmissionReview" {
        return Err(InvalidReview::Kind(kind.to_string()));
    }
    let request_map = match map.get("request") {
        None | Some(Value::Null) => return Err(InvalidReview::NoRequest),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(InvalidReview::Field {
                path: "request".to_string(),
                message: format!("expected an object, found {}", json_type(other)),
            })
        }
    };
    // The typed request is only needed for its header (uid, kind, operation, ...): the pod is
    // read raw by the lib. Leaving `object` and `oldObject` out of the typed parse saves a full
    // copy of the pod per review (a third of the decision time with them in).
    let mut header = serde_json::Map::with_capacity(request_map.len());
    for (k, v) in request_map {
        if k != "object" && k != "oldObject" {
            header.insert(k.clone(), v.clone());
        }
    }
    let envelope = serde_json::json!({
        "apiVersion": api_version,
        "kind": kind,
        "request": Value::Object(header),
    });
    let review: AdmissionReview<DynamicObject> = serde_path_to_error::deserialize(&envelope)
        .map_err(|e| InvalidReview::Field {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    let request: AdmissionRequest<DynamicObject> =
        review.try_into().map_err(|_| InvalidReview::NoRequest)?;
    if request.uid.is_empty() {
        return Err(InvalidReview::NoUid);
    }
    Ok(request)
}

/// The response review as JSON, with the patch base64-encoded as the API server (and every
/// other webhook) writes it; kube-core would otherwise emit an array of numbers.
pub fn response_json(mut response: AdmissionResponse) -> Value {
    // Taken out before serialising: as `Vec<u8>` it would become thousands of JSON numbers.
    let patch = response.patch.take();
    let review = response.into_review();
    let mut value = serde_json::to_value(&review).unwrap_or(Value::Null);
    if let (Some(bytes), Some(Value::Object(r))) = (patch, value.get_mut("response")) {
        r.insert(
            "patch".to_string(),
            serde_json::to_value(ByteString(bytes)).unwrap_or(Value::Null),
        );
    }
    value
}

fn operation_name(op: &Operation) -> &'static str {
    match op {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}

fn pod_display_name(pod: &Value) -> String {
    let meta = pod.get("metadata");
    if let Some(name) = meta.and_then(|m| m.get("name")).and_then(Value::as_str) {
        if !name.is_empty() {
            return name.to_string();
        }
    }
    meta.and_then(|m| m.get("generateName"))
        .and_then(Value::as_str)
        .map(|g| format!("{g}*"))
        .unwrap_or_default()
}

#[cfg(test)]
mod value_count_tests {
    use super::check_json_values;

    #[test]
    fn values_are_counted_outside_strings_only() {
        assert_eq!(check_json_values(br#"{"a": [1, 2, 3]}"#, 5), Ok(()));
        assert_eq!(check_json_values(br#"{"a": [1, 2, 3]}"#, 4), Err(5));
        // Commas, brackets and escaped quotes inside strings are text.
        assert_eq!(check_json_values(br#"{"a": "x,[{\",,,"}"#, 2), Ok(()));
        let dense = format!("[{}0]", "0,".repeat(1_000_000));
        assert_eq!(check_json_values(dense.as_bytes(), 100_000), Err(100_001));
    }
}
