//! `otel-inject controller`: the opt-in rollout controller. A pod is injected only when it is
//! created, so after an Instrumentation changes (or a namespace starts asking for
//! instrumentation) the running pods stay as they were. The controller restarts the opted-in
//! Deployments, StatefulSets and DaemonSets whose pods `otel-inject status` would report outdated
//! or not injected, the way `kubectl rollout restart` does, a few at a time, and undoes a
//! restart whose pods do not become ready in time.
//!
//! A separate command rather than `serve --rollout`: the webhook must answer every pod creation
//! in milliseconds from several replicas and only reads the cluster; the controller writes
//! (patches workloads), acts from one replica at a time (a Lease), and watches every pod. Apart,
//! the webhook keeps its read-only ServiceAccount and its latency, a controller bug cannot take
//! admission down, and the controller is installed only where someone opted in to it.

pub mod act;
pub mod decide;
pub mod facts;
pub mod lease;
pub mod metrics;
pub mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::{http::header, routing::get, Router};
use clap::Args;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::events::{Recorder, Reporter};
use kube::{Client, Config};
use tokio::sync::Notify;

use crate::cli::{exit, parse_duration, InjectFlags};
use act::{Executor, Outcome};
use decide::{plan, Action, Hold, Limits, WorkloadKey};
use lease::{Elector, Leadership, LeaseTiming};
use metrics::{ControllerMetrics, ReasonLabels};
use watch::ClusterCaches;

/// `controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account.
    #[arg(long, env = "OTEL_INJECT_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long, env = "OTEL_INJECT_CONTEXT")]
    pub context: Option<String>,
    /// Rollouts started by the controller in flight at once, cluster-wide.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), env = "OTEL_INJECT_MAX_CONCURRENT_ROLLOUTS")]
    pub max_concurrent_rollouts: u32,
    /// How long the pods of a rollout the controller started may take to become ready; past
    /// it the restart is undone and not retried until the Instrumentation changes again.
    #[arg(long, default_value = "10m", value_parser = parse_duration, env = "OTEL_INJECT_ROLLOUT_TIMEOUT")]
    pub rollout_timeout: Duration,
    /// Decide again at least this often, without a change seen (rollout timeouts are noticed
    /// on such a round at the latest).
    #[arg(long, default_value = "15s", value_parser = parse_duration, env = "OTEL_INJECT_RESYNC_INTERVAL")]
    pub resync_interval: Duration,
    /// Address of the plain-HTTP `/metrics`, `/healthz` and `/readyz` endpoint.
    #[arg(
        long,
        default_value = "0.0.0.0:9091",
        env = "OTEL_INJECT_METRICS_LISTEN"
    )]
    pub metrics_listen: SocketAddr,
    /// Act only while holding a coordination.k8s.io/v1 Lease, so that replicas never act at
    /// once. Off only for a single replica.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Name of the Lease.
    #[arg(
        long,
        default_value = "otel-inject-controller",
        env = "OTEL_INJECT_LEASE_NAME"
    )]
    pub lease_name: String,
    /// Namespace of the Lease. Default: the pod's own namespace (its service account's), else
    /// `default`.
    #[arg(long, env = "OTEL_INJECT_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// How long a leader's Lease lasts unrenewed before another replica takes over.
    #[arg(long, default_value = "15s", value_parser = parse_duration, env = "OTEL_INJECT_LEASE_DURATION")]
    pub lease_duration: Duration,
    /// This replica's name in the Lease and in Events. Default: the host name and process id.
    #[arg(long, env = "OTEL_INJECT_IDENTITY")]
    pub identity: Option<String>,
    /// Must match the webhook's injection flags: the controller asks the webhook's decision
    /// whether a new pod would be injected before it restarts a workload.
    #[command(flatten)]
    pub inject: InjectFlags,
}

/// Exit codes of `controller`, also in its `--help`.
pub const CONTROLLER_EXIT_CODES_HELP: &str = "\
Opt in per namespace or per workload (the workload's own metadata wins):
  otel-inject.dev/rollout: \"true\"     restart it when its pods are outdated or not injected
  otel-inject.dev/rollout: \"false\"    never (in a namespace that opted in)
Every action is an Event on the workload (RolloutStarted, RolloutCompleted, RolloutUndone) and a
metric (otel_inject_controller_*). An undone rollout is marked otel-inject.dev/rollout-failed on
the workload and not retried until its Instrumentation changes.

Exit codes:
  0  stopped by SIGTERM/SIGINT
  4  could not start: no usable kubeconfig, or cannot listen on --metrics-listen";

fn identity(args: &ControllerArgs) -> String {
    args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "otel-inject".into());
        format!("{host}_{}", std::process::id())
    })
}

fn lease_namespace(args: &ControllerArgs) -> String {
    args.lease_namespace.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|_| "default".into())
    })
}

async fn client(args: &ControllerArgs) -> anyhow::Result<Client> {
    use anyhow::Context as _;
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .with_context(|| format!("the kubeconfig {} is not usable", path.display()))?
        }
        None if args.context.is_some() => Config::from_kubeconfig(&options)
            .await
            .context("no usable kubeconfig for --context (set --kubeconfig or KUBECONFIG)")?,
        None => Config::infer().await.context(
            "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run inside a cluster",
        )?,
    };
    Client::try_from(config).context("cannot build a Kubernetes client from the kubeconfig")
}

fn fail(code: u8, message: impl std::fmt::Display) -> u8 {
    tracing::error!("{message}");
    eprintln!("otel-inject: controller: {message}");
    code
}

fn admin_router(
    metrics: Arc<ControllerMetrics>,
    ready: Arc<std::sync::atomic::AtomicBool>,
) -> Router {
    use std::sync::atomic::Ordering;
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.load(Ordering::Relaxed);
                async move {
                    if ready {
                        (http::StatusCode::OK, "ok\n")
                    } else {
                        (
                            http::StatusCode::SERVICE_UNAVAILABLE,
                            "caches not synced yet\n",
                        )
                    }
                }
            }),
        )
}

/// What the controller needs to run, built before anything acts.
struct Controller {
    caches: ClusterCaches,
    executor: Executor,
    leadership: Leadership,
    metrics: Arc<ControllerMetrics>,
    changed: Arc<Notify>,
    limits: Limits,
    resync: Duration,
    options: otel_inject_lib::InjectOptions,
}

/// A rollout we started whose watch event has not come back yet.
struct Recent {
    /// The resourceVersion our patch was made against: while the cache still holds it, the
    /// cache has not seen our patch (any later version of the object includes it).
    before: String,
    /// When.
    at: Instant,
}

impl Controller {
    /// One round: snapshot, decide, act.
    async fn round(&self, recent: &mut HashMap<WorkloadKey, Recent>) {
        let snapshot = self.caches.snapshot();
        let workloads = facts::workloads(&snapshot, &self.options);
        // A start counts as in flight until the cache shows it (or for a minute at most).
        recent.retain(|key, r| {
            let cached = self
                .caches
                .resource_version(key.kind, &key.namespace, &key.name);
            cached.as_deref() == Some(r.before.as_str()) && r.at.elapsed() < Duration::from_secs(60)
        });
        let recently_started = recent.keys().cloned().collect();
        let p = plan(&workloads, &recently_started, Timestamp::now(), self.limits);
        self.metrics.reconciles.inc();
        let mut held: HashMap<&'static str, i64> = [
            Hold::NotOptedIn,
            Hold::RestartCannotHelp,
            Hold::AlreadyRestartedFor(String::new()),
            Hold::FailedBefore(String::new()),
            Hold::RolloutIncomplete(String::new()),
            Hold::NotRestartable(String::new()),
            Hold::WaitingForSlot,
        ]
        .iter()
        .map(|h| (h.label(), 0))
        .collect();
        for (key, hold) in &p.held {
            *held.entry(hold.label()).or_default() += 1;
            tracing::debug!(workload = %key, "not restarted: {hold:?}");
        }
        self.metrics.set_held(&held.into_iter().collect::<Vec<_>>());
        let mut in_flight = p.in_flight;
        for action in &p.actions {
            // Leadership can be lost mid-round: check before every write.
            if !self.leadership.is_leader() {
                tracing::info!("lost the lease: stopping this round");
                return;
            }
            let key = action.key();
            let Some(rv) = self
                .caches
                .resource_version(key.kind, &key.namespace, &key.name)
            else {
                continue;
            };
            let uid = snapshot
                .workloads
                .iter()
                .find(|w| {
                    w["kind"] == key.kind.as_str()
                        && w["metadata"]["namespace"] == key.namespace.as_str()
                        && w["metadata"]["name"] == key.name.as_str()
                })
                .and_then(|w| w["metadata"]["uid"].as_str())
                .unwrap_or_default()
                .to_string();
            let outcome = self.executor.execute(action, &rv, &uid).await;
            match (action, outcome) {
                (Action::Start { .. }, Outcome::Done(_)) => {
                    recent.insert(
                        key.clone(),
                        Recent {
                            before: rv.clone(),
                            at: Instant::now(),
                        },
                    );
                }
                (Action::Start { .. }, _) => in_flight = in_flight.saturating_sub(1),
                _ => {}
            }
        }
        self.metrics
            .in_progress
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }

    async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut recent = HashMap::new();
        let mut was_leader = false;
        let mut last_round = Instant::now() - Duration::from_secs(1);
        loop {
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = tokio::time::sleep(self.resync) => {}
                _ = stop.changed() => return,
            }
            // Coalesce a burst of events (a rollout changes many pods) into one round, and
            // never more than a round a second, however busy the cluster.
            tokio::time::sleep(Duration::from_millis(300)).await;
            if let Some(wait) = Duration::from_secs(1).checked_sub(last_round.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            last_round = Instant::now();
            let leader = self.leadership.is_leader();
            self.metrics.leader.set(i64::from(leader));
            if leader != was_leader {
                tracing::info!(leader, "leadership changed");
                was_leader = leader;
            }
            if leader {
                self.round(&mut recent).await;
            } else {
                recent.clear();
            }
        }
    }
}

/// Runs `controller` until SIGTERM/SIGINT; returns the exit code.
pub async fn run(args: ControllerArgs) -> u8 {
    let client = match client(&args).await {
        Ok(c) => c,
        Err(e) => return fail(exit::STARTUP, format!("{e:#}")),
    };
    let metrics = Arc::new(ControllerMetrics::new());
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listener = match tokio::net::TcpListener::bind(args.metrics_listen).await {
        Ok(l) => l,
        Err(e) => {
            return fail(
                exit::STARTUP,
                format!("cannot listen on {}: {e}", args.metrics_listen),
            )
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let admin = {
        let router = admin_router(metrics.clone(), ready.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        })
    };

    let me = identity(&args);
    let timing = LeaseTiming::from_duration(args.lease_duration);
    let mut background = Vec::new();
    let mut election = None;
    let leadership = if args.leader_elect {
        let ns = lease_namespace(&args);
        let leadership = Leadership::elected(Elector::new(me.clone(), timing));
        let api: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let name = args.lease_name.clone();
        tracing::info!(lease = %format!("{ns}/{name}"), identity = %me, "leader election on");
        let m = metrics.clone();
        election = Some(tokio::spawn(lease::run(
            api,
            name,
            leadership.clone(),
            timing,
            stop_rx.clone(),
            move |leader, who| {
                m.leader.set(i64::from(leader));
                tracing::info!(leader, identity = %who, "lease");
            },
        )));
        leadership
    } else {
        Leadership::always()
    };

    let changed = Arc::new(Notify::new());
    let m = metrics.clone();
    let (caches, tasks) = ClusterCaches::start(
        &client,
        changed.clone(),
        Arc::new(move |what, e| {
            tracing::warn!(resource = what, "watch error (retrying): {e}");
            m.watch_errors
                .get_or_create(&ReasonLabels { reason: what })
                .inc();
        }),
    );
    background.extend(tasks);
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: act::FIELD_MANAGER.into(),
            instance: Some(me.clone()),
        },
    );
    let controller = Controller {
        caches,
        executor: Executor::new(client, recorder, metrics.clone(), args.rollout_timeout),
        leadership,
        metrics,
        changed,
        limits: Limits {
            max_concurrent: args.max_concurrent_rollouts as usize,
            timeout: args.rollout_timeout,
        },
        resync: args.resync_interval,
        options: args.inject.options(),
    };
    tracing::info!(
        max_concurrent_rollouts = args.max_concurrent_rollouts,
        rollout_timeout = %decide::humantime(args.rollout_timeout),
        "rollout controller: waiting for the caches, metrics on http://{}/metrics",
        args.metrics_listen
    );
    let signal = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received: stopping");
        let _ = stop_tx.send(true);
    });
    {
        let mut stop = stop_rx.clone();
        tokio::select! {
            _ = controller.caches.wait_ready() => {}
            _ = stop.changed() => {}
        }
    }
    ready.store(true, std::sync::atomic::Ordering::Relaxed);
    if !*stop_rx.borrow() {
        tracing::info!("caches synced; deciding");
        controller.changed.notify_one();
        controller.run(stop_rx.clone()).await;
    }
    // The election releases the Lease on the stop signal; give it a moment.
    if let Some(task) = election {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    for task in background {
        task.abort();
    }
    let _ = admin.await;
    signal.abort();
    tracing::info!("stopped");
    exit::OK
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
