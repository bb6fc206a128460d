//! Prometheus metrics of the rollout controller, on its own plain-HTTP port. Names are prefixed
//! `otel_inject_controller_`; every action the controller takes is counted here and is also an
//! Event on the workload.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// A workload kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Deployment, StatefulSet, DaemonSet.
    pub kind: &'static str,
}

/// A reason.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Short snake_case reason.
    pub reason: &'static str,
}

/// An action and its result.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// start, complete, undo.
    pub action: &'static str,
    /// conflict (the object changed under us; retried next round) or error.
    pub result: &'static str,
}

/// Every metric of the controller.
#[derive(Debug)]
pub struct ControllerMetrics {
    registry: Registry,
    /// `otel_inject_controller_rollouts_started_total{kind}`.
    pub started: Family<KindLabels, Counter>,
    /// `otel_inject_controller_rollouts_completed_total{kind}`.
    pub completed: Family<KindLabels, Counter>,
    /// `otel_inject_controller_rollouts_undone_total{kind}`.
    pub undone: Family<KindLabels, Counter>,
    /// `otel_inject_controller_rollouts_in_progress`.
    pub in_progress: Gauge,
    /// `otel_inject_controller_workloads_held{reason}`: workloads with outdated or not injected
    /// pods that are not restarted, by why.
    pub held: Family<ReasonLabels, Gauge>,
    /// `otel_inject_controller_action_failures_total{action,result}`.
    pub action_failures: Family<ActionLabels, Counter>,
    /// `otel_inject_controller_watch_errors_total{reason}` (reason: the resource).
    pub watch_errors: Family<ReasonLabels, Counter>,
    /// `otel_inject_controller_reconciles_total`.
    pub reconciles: Counter,
    /// `otel_inject_controller_leader`: 1 while this replica acts.
    pub leader: Gauge,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ControllerMetrics {
    /// Registers everything.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("otel_inject_controller");
        let started = Family::<KindLabels, Counter>::default();
        registry.register(
            "rollouts_started",
            "Workloads restarted so that their pods are injected from the current Instrumentation",
            started.clone(),
        );
        let completed = Family::<KindLabels, Counter>::default();
        registry.register(
            "rollouts_completed",
            "Rollouts started by the controller that completed",
            completed.clone(),
        );
        let undone = Family::<KindLabels, Counter>::default();
        registry.register(
            "rollouts_undone",
            "Rollouts started by the controller whose pods did not become ready in time, undone",
            undone.clone(),
        );
        let in_progress = Gauge::default();
        registry.register(
            "rollouts_in_progress",
            "Rollouts started by the controller and not finished",
            in_progress.clone(),
        );
        let held = Family::<ReasonLabels, Gauge>::default();
        registry.register(
            "workloads_held",
            "Workloads with outdated or not injected pods that the controller does not restart, by why",
            held.clone(),
        );
        let action_failures = Family::<ActionLabels, Counter>::default();
        registry.register(
            "action_failures",
            "Patches the API server refused: conflict (retried next round) or error",
            action_failures.clone(),
        );
        let watch_errors = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "watch_errors",
            "Errors of the watches feeding the controller, by resource",
            watch_errors.clone(),
        );
        let reconciles = Counter::default();
        registry.register(
            "reconciles",
            "Decision rounds run while leader",
            reconciles.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the lease and acts, else 0",
            leader.clone(),
        );
        Self {
            registry,
            started,
            completed,
            undone,
            in_progress,
            held,
            action_failures,
            watch_errors,
            reconciles,
            leader,
        }
    }

    /// Sets the held gauges from one round's counts (every reason, zero included).
    pub fn set_held(&self, counts: &[(&'static str, i64)]) {
        for (reason, n) in counts {
            self.held.get_or_create(&ReasonLabels { reason }).set(*n);
        }
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
