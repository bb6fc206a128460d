//! What the rollout controller does next, from what the cluster holds and the time: which of our
//! rollouts are done, which ran out of time and are undone, which workloads to restart now.
//! Pure: no client and no clock of its own (the caller passes `now`), so the tests drive it with
//! a fake clock and the decisions can be read without a cluster.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::status::PodCounts;

/// The annotations the controller reads and writes.
pub mod names {
    /// Opt-in, on a Namespace or on a workload's own metadata (the workload's wins): `"true"`
    /// lets the controller restart it, `"false"` keeps it out of a namespace that opted in.
    pub const OPT_IN: &str = "otel-inject.dev/rollout";
    /// What `kubectl rollout restart` sets on the pod template.
    pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
    /// On the pod template, beside [`RESTARTED_AT`]: the injected record (`java=ns/name@hash`)
    /// the restart was for. A workload is never restarted twice for the same record.
    pub const ROLLOUT_FOR: &str = "otel-inject.dev/rollout-for";
    /// On the workload's metadata while a rollout we started runs: JSON [`super::InProgress`].
    /// Written in the same patch as the template, so a new leader knows what is in flight.
    pub const IN_PROGRESS: &str = "otel-inject.dev/rollout-in-progress";
    /// On the workload's metadata after we undid a rollout: JSON [`super::Failed`]. No new
    /// rollout for the same record until the Instrumentation changes.
    pub const FAILED: &str = "otel-inject.dev/rollout-failed";
}

/// The workload kinds the controller restarts (those `kubectl rollout restart` restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
}

impl WorkloadKind {
    /// All of them.
    pub const ALL: [Self; 3] = [Self::Deployment, Self::StatefulSet, Self::DaemonSet];

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
        }
    }

    /// The plural resource name.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Deployment => "deployments",
            Self::StatefulSet => "statefulsets",
            Self::DaemonSet => "daemonsets",
        }
    }

    /// From a `kind` field.
    pub fn parse(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workload, by namespace, kind and name (the order rollouts start in).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadKey {
    /// Namespace.
    pub namespace: String,
    /// Kind.
    pub kind: WorkloadKind,
    /// Name.
    pub name: String,
}

impl fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// What the template's two restart annotations held before we changed them: what an undo
/// puts back (`None`: the annotation was absent and is removed again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Previous {
    /// [`names::RESTARTED_AT`].
    pub restarted_at: Option<String>,
    /// [`names::ROLLOUT_FOR`].
    pub rollout_for: Option<String>,
}

/// A rollout we started and have not seen finish ([`names::IN_PROGRESS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InProgress {
    /// The injected record the restart is for.
    #[serde(rename = "for")]
    pub target: String,
    /// When we patched the template (RFC 3339).
    pub started: String,
    /// What the template held before.
    pub previous: Previous,
}

/// A rollout we undid ([`names::FAILED`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    /// The injected record the undone restart was for.
    #[serde(rename = "for")]
    pub target: String,
    /// Why it was undone, in plain words.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
}

/// How far a workload's current rollout is, judged as `kubectl rollout status` judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Every replica runs the current template and is available.
    Complete,
    /// Still rolling out, and what it waits for.
    Waiting(String),
    /// The rollout cannot finish (a Deployment past its progress deadline).
    Failed(String),
}

/// What the controller knows about one workload, from the cluster (see `facts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Which.
    pub key: WorkloadKey,
    /// Opted in (its own annotation, else its namespace's).
    pub opted_in: bool,
    /// Its pods, as `otel-inject status` counts them.
    pub pods: PodCounts,
    /// The injected record a pod created from its template now would carry (`None`: a new pod
    /// would not be injected, so a restart cannot help).
    pub target: Option<String>,
    /// The template's [`names::RESTARTED_AT`] and [`names::ROLLOUT_FOR`] now.
    pub template: Previous,
    /// Our rollout in flight, if any.
    pub in_progress: Option<InProgress>,
    /// The record whose rollout we undid last, if any.
    pub failed_for: Option<String>,
    /// Its current rollout.
    pub progress: Progress,
    /// Why a restart annotation would not roll it (paused, `OnDelete`).
    pub not_restartable: Option<String>,
    /// Why its pods are not ready, in plain words (for the undo's Event).
    pub not_ready: String,
}

/// The controller's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rollouts of ours in flight at once, cluster-wide.
    pub max_concurrent: usize,
    /// How long a rollout of ours may take before it is undone.
    pub timeout: Duration,
}

/// Something to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Restart: set the template's restart annotations, record the rollout.
    Start {
        /// Which.
        key: WorkloadKey,
        /// The record the restart is for.
        target: String,
        /// What the template held (for the undo).
        previous: Previous,
        /// Why, in plain words.
        why: String,
    },
    /// Our rollout finished: drop the record.
    Complete {
        /// Which.
        key: WorkloadKey,
        /// How long it took.
        took: Duration,
    },
    /// Our rollout did not finish in time: put the template back, mark it failed.
    Undo {
        /// Which.
        key: WorkloadKey,
        /// What the rollout was for.
        target: String,
        /// What to put back.
        previous: Previous,
        /// Why, in plain words.
        reason: String,
    },
}

impl Action {
    /// The workload.
    pub fn key(&self) -> &WorkloadKey {
        match self {
            Self::Start { key, .. } | Self::Complete { key, .. } | Self::Undo { key, .. } => key,
        }
    }
}

/// Why a workload that asks for instrumentation is not restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Not opted in.
    NotOptedIn,
    /// A new pod would not be injected either.
    RestartCannotHelp,
    /// Already restarted for this record; its pods are still not all injected (the webhook
    /// down or not called for them, say): a restart again would not change that.
    AlreadyRestartedFor(String),
    /// Our rollout for this record was undone.
    FailedBefore(String),
    /// Its previous rollout (ours or anyone's) has not completed.
    RolloutIncomplete(String),
    /// A restart annotation would not roll it.
    NotRestartable(String),
    /// Waits for one of the `max_concurrent` slots.
    WaitingForSlot,
}

impl Hold {
    /// Short snake_case label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotOptedIn => "not_opted_in",
            Self::RestartCannotHelp => "restart_cannot_help",
            Self::AlreadyRestartedFor(_) => "already_restarted",
            Self::FailedBefore(_) => "failed_before",
            Self::RolloutIncomplete(_) => "rollout_incomplete",
            Self::NotRestartable(_) => "not_restartable",
            Self::WaitingForSlot => "waiting_for_slot",
        }
    }
}

/// One round's decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What to do, in order: completions and undos first (they free slots), then starts.
    pub actions: Vec<Action>,
    /// Our rollouts in flight after this round (started ones included).
    pub in_flight: usize,
    /// Workloads with outdated or not injected pods that are not restarted, and why.
    pub held: Vec<(WorkloadKey, Hold)>,
}

/// When `since` (RFC 3339) was, as a duration before `now`; unreadable times count as long ago,
/// so that a mangled record times out instead of blocking a slot for ever.
fn elapsed(since: &str, now: Timestamp) -> Duration {
    match since.parse::<Timestamp>() {
        Ok(t) => Duration::try_from(now.duration_since(t)).unwrap_or(Duration::ZERO),
        Err(_) => Duration::MAX,
    }
}

/// The round's plan. `recently_started`: rollouts this controller started that its watch has
/// not shown back yet; they count as in flight and are not started again.
pub fn plan(
    workloads: &[Workload],
    recently_started: &HashSet<WorkloadKey>,
    now: Timestamp,
    limits: Limits,
) -> Plan {
    let mut out = Plan::default();
    let mut sorted: Vec<&Workload> = workloads.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));

    // Starts the cache does not show yet hold their slot (whether or not the workload is in
    // this round's input at all).
    let mut in_flight = recently_started
        .iter()
        .filter(|k| {
            !workloads
                .iter()
                .any(|w| &w.key == *k && w.in_progress.is_some())
        })
        .count();
    // Our rollouts first: done, out of time, or still occupying a slot.
    for w in &sorted {
        let Some(ours) = &w.in_progress else {
            continue;
        };
        let took = elapsed(&ours.started, now);
        match &w.progress {
            Progress::Complete => out.actions.push(Action::Complete {
                key: w.key.clone(),
                took: if took == Duration::MAX {
                    Duration::ZERO
                } else {
                    took
                },
            }),
            Progress::Failed(why) => out.actions.push(Action::Undo {
                key: w.key.clone(),
                target: ours.target.clone(),
                previous: ours.previous.clone(),
                reason: undo_reason(why, &w.not_ready),
            }),
            Progress::Waiting(_) if took >= limits.timeout => out.actions.push(Action::Undo {
                key: w.key.clone(),
                target: ours.target.clone(),
                previous: ours.previous.clone(),
                reason: undo_reason(
                    &format!(
                        "its pods did not become ready within {}",
                        humantime(limits.timeout)
                    ),
                    &w.not_ready,
                ),
            }),
            Progress::Waiting(_) => in_flight += 1,
        }
    }

    // Then what to start, in key order, while slots last.
    for w in &sorted {
        if w.in_progress.is_some() || recently_started.contains(&w.key) {
            continue;
        }
        if w.pods.outdated == 0 && w.pods.not_injected == 0 {
            continue;
        }
        let hold = if !w.opted_in {
            Some(Hold::NotOptedIn)
        } else if let Some(why) = &w.not_restartable {
            Some(Hold::NotRestartable(why.clone()))
        } else {
            match &w.target {
                None => Some(Hold::RestartCannotHelp),
                Some(t) if w.failed_for.as_ref() == Some(t) => Some(Hold::FailedBefore(t.clone())),
                Some(t) if w.template.rollout_for.as_ref() == Some(t) => {
                    Some(Hold::AlreadyRestartedFor(t.clone()))
                }
                Some(_) => match &w.progress {
                    Progress::Complete => None,
                    Progress::Waiting(why) | Progress::Failed(why) => {
                        Some(Hold::RolloutIncomplete(why.clone()))
                    }
                },
            }
        };
        let hold = match hold {
            None if in_flight >= limits.max_concurrent => Some(Hold::WaitingForSlot),
            other => other,
        };
        match (hold, &w.target) {
            (Some(h), _) => out.held.push((w.key.clone(), h)),
            (None, Some(target)) => {
                in_flight += 1;
                out.actions.push(Action::Start {
                    key: w.key.clone(),
                    target: target.clone(),
                    previous: w.template.clone(),
                    why: start_reason(&w.pods),
                });
            }
            (None, None) => {}
        }
    }
    out.in_flight = in_flight;
    out
}

fn start_reason(pods: &PodCounts) -> String {
    match (pods.outdated, pods.not_injected) {
        (0, n) => format!("{n} pod(s) not injected"),
        (o, 0) => format!("{o} pod(s) injected from an older version of their Instrumentation"),
        (o, n) => format!("{o} pod(s) outdated and {n} not injected"),
    }
}

fn undo_reason(why: &str, not_ready: &str) -> String {
    if not_ready.is_empty() {
        why.to_string()
    } else {
        format!("{why}: {not_ready}")
    }
}

/// `90s`, `2m`, `1m30s`.
pub fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, _) if d.subsec_millis() > 0 && s < 10 => format!("{}ms", d.as_millis()),
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_back_as_written() {
        assert_eq!(humantime(Duration::from_secs(90)), "1m30s");
        assert_eq!(humantime(Duration::from_secs(120)), "2m");
        assert_eq!(humantime(Duration::from_secs(7)), "7s");
        assert_eq!(humantime(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn a_mangled_start_time_counts_as_long_ago() {
        let now: Timestamp = "2026-12-02T16:00:00Z".parse().unwrap();
        assert_eq!(elapsed("yesterday", now), Duration::MAX);
        assert_eq!(
            elapsed("2026-12-02T15:59:30Z", now),
            Duration::from_secs(30)
        );
        // A clock behind the one that wrote it: not negative.
        assert_eq!(elapsed("2026-12-02T16:00:30Z", now), Duration::ZERO);
    }
}
