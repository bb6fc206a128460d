//! Carrying out a plan: one JSON merge patch per action on the workload (its metadata and its
//! pod template in the same write, conditional on the resourceVersion the decision saw, so a
//! decision made on a stale cache is refused with a conflict and made again), then an Event on
//! the workload and a metric.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::DynamicObject;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::Client;
use serde_json::{json, Value};

use super::decide::{humantime, names, Action, Failed, InProgress, Previous, WorkloadKey};
use super::metrics::{ActionLabels, ControllerMetrics, KindLabels};
use super::watch::workload_resource;

/// Our field manager on every patch.
pub const FIELD_MANAGER: &str = "otel-inject-controller";

/// A time as `kubectl rollout restart` writes it (RFC 3339, whole seconds, UTC).
pub fn restart_time(now: Timestamp) -> String {
    Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

fn json_string<T: serde::Serialize>(v: &T) -> Value {
    Value::String(serde_json::to_string(v).unwrap_or_default())
}

/// The patch that restarts a workload for `target`.
pub fn start_patch(rv: &str, target: &str, previous: &Previous, now: Timestamp) -> Value {
    let started = restart_time(now);
    let record = InProgress {
        target: target.to_string(),
        started: started.clone(),
        previous: previous.clone(),
    };
    json!({
        "metadata": {
            "resourceVersion": rv,
            "annotations": {names::IN_PROGRESS: json_string(&record), names::FAILED: null},
        },
        "spec": {"template": {"metadata": {"annotations": {
            names::RESTARTED_AT: started,
            names::ROLLOUT_FOR: target,
        }}}},
    })
}

/// The patch that drops the record of a completed rollout.
pub fn complete_patch(rv: &str) -> Value {
    json!({"metadata": {"resourceVersion": rv, "annotations": {names::IN_PROGRESS: null}}})
}

/// The patch that undoes our restart: the template's two annotations back as they were (so its
/// hash is the previous ReplicaSet's again, which the Deployment controller scales back up, as
/// `kubectl rollout undo` does), the record dropped, the failure marked.
pub fn undo_patch(rv: &str, previous: &Previous, failed: &Failed) -> Value {
    json!({
        "metadata": {
            "resourceVersion": rv,
            "annotations": {names::IN_PROGRESS: null, names::FAILED: json_string(failed)},
        },
        "spec": {"template": {"metadata": {"annotations": {
            names::RESTARTED_AT: previous.restarted_at,
            names::ROLLOUT_FOR: previous.rollout_for,
        }}}},
    })
}

/// What executing an action came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the workload's new resourceVersion.
    Done(String),
    /// The object changed since the decision (or is gone): decided again next round.
    Conflict,
    /// The API server refused.
    Error(String),
}

/// Executes actions against the cluster.
pub struct Executor {
    client: Client,
    recorder: Recorder,
    metrics: Arc<ControllerMetrics>,
    timeout: Duration,
}

impl Executor {
    /// An executor whose Events name `recorder`'s reporter.
    pub fn new(
        client: Client,
        recorder: Recorder,
        metrics: Arc<ControllerMetrics>,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            recorder,
            metrics,
            timeout,
        }
    }

    async fn patch(&self, key: &WorkloadKey, body: &Value) -> Result<DynamicObject, kube::Error> {
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &key.namespace,
            &workload_resource(key.kind),
        );
        api.patch(
            &key.name,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            },
            &Patch::Merge(body),
        )
        .await
    }

    /// Carries out `action` on the workload at resourceVersion `rv`; reports it as an Event,
    /// a metric and a log line.
    pub async fn execute(&self, action: &Action, rv: &str, uid: &str) -> Outcome {
        let now = Timestamp::now();
        let key = action.key();
        let kind = KindLabels {
            kind: key.kind.as_str(),
        };
        let (label, body, event) = match action {
            Action::Start {
                target,
                previous,
                why,
                ..
            } => (
                "start",
                start_patch(rv, target, previous, now),
                Event {
                    type_: EventType::Normal,
                    reason: "RolloutStarted".into(),
                    note: Some(format!(
                        "otel-inject restarted the {} ({why}) so that its pods are injected with {target}; it is undone if they are not ready within {}",
                        key.kind,
                        humantime(self.timeout)
                    )),
                    action: "Restart".into(),
                    secondary: None,
                },
            ),
            Action::Complete { took, .. } => (
                "complete",
                complete_patch(rv),
                Event {
                    type_: EventType::Normal,
                    reason: "RolloutCompleted".into(),
                    note: Some(format!(
                        "the rollout otel-inject started completed in {}: every replica runs the restarted template",
                        humantime(*took)
                    )),
                    action: "Restart".into(),
                    secondary: None,
                },
            ),
            Action::Undo {
                target,
                previous,
                reason,
                ..
            } => {
                let failed = Failed {
                    target: target.clone(),
                    reason: reason.clone(),
                    at: restart_time(now),
                };
                (
                    "undo",
                    undo_patch(rv, previous, &failed),
                    Event {
                        type_: EventType::Warning,
                        reason: "RolloutUndone".into(),
                        note: Some(shorten_note(&format!(
                            "otel-inject undid its restart for {target}: {reason}. Not retried until the Instrumentation changes (annotation {} on the {})",
                            names::FAILED,
                            key.kind
                        ))),
                        action: "Undo".into(),
                        secondary: None,
                    },
                )
            }
        };
        let outcome = match self.patch(key, &body).await {
            Ok(obj) => Outcome::Done(obj.metadata.resource_version.unwrap_or_default()),
            Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => Outcome::Conflict,
            Err(e) => Outcome::Error(e.to_string()),
        };
        match &outcome {
            Outcome::Done(_) => {
                match action {
                    Action::Start { .. } => self.metrics.started.get_or_create(&kind).inc(),
                    Action::Complete { .. } => self.metrics.completed.get_or_create(&kind).inc(),
                    Action::Undo { .. } => self.metrics.undone.get_or_create(&kind).inc(),
                };
                let note = event.note.clone().unwrap_or_default();
                if matches!(action, Action::Undo { .. }) {
                    tracing::warn!(workload = %key, action = label, "{note}");
                } else {
                    tracing::info!(workload = %key, action = label, "{note}");
                }
                let reference = ObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: Some(key.kind.as_str().into()),
                    namespace: Some(key.namespace.clone()),
                    name: Some(key.name.clone()),
                    uid: Some(uid.to_string()),
                    ..ObjectReference::default()
                };
                if let Err(e) = self.recorder.publish(&event, &reference).await {
                    tracing::warn!(workload = %key, "cannot record the Event {}: {e}", event.reason);
                }
            }
            Outcome::Conflict => {
                tracing::debug!(workload = %key, action = label, "changed since the decision; deciding again");
                self.metrics
                    .action_failures
                    .get_or_create(&ActionLabels {
                        action: label,
                        result: "conflict",
                    })
                    .inc();
            }
            Outcome::Error(e) => {
                tracing::warn!(workload = %key, action = label, "the API server refused the patch: {e}");
                self.metrics
                    .action_failures
                    .get_or_create(&ActionLabels {
                        action: label,
                        result: "error",
                    })
                    .inc();
            }
        }
        outcome
    }
}

/// An Event's note is at most 1 kB.
fn shorten_note(text: &str) -> String {
    const MAX: usize = 1000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
