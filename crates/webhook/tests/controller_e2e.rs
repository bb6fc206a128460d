//! The rollout controller end to end, against k8s-local's real API server and controller-manager,
//! with pods that really run on its node (`../shared/k8s-local/node.sh`) from images built
//! offline. The real `otel-inject serve` injects (self-signed, registered by URL as
//! e2e_cluster.rs does it), two real `otel-inject controller` processes contend for one Lease,
//! and the test asserts on what the API server holds:
//!
//! 1. Deployments annotated before their Instrumentation exists run uninjected; once it exists,
//!    `status` says why, and the controller restarts them (new ReplicaSets whose pods are
//!    injected), never more than `--max-concurrent-rollouts` at a time, each with its Events.
//! 2. The leader is killed; the other replica takes the Lease over.
//! 3. The Instrumentation's endpoint changes: the pods are outdated and rolled out again.
//! 4. An Instrumentation whose agent image is absent (`imagePullPolicy: Never`): the restart's
//!    pods never become ready, the restart is undone within `--rollout-timeout` (template
//!    back, the old pod still serving), reported in an Event and a marker, and not retried.
//!
//! Same switches as e2e_cluster.rs: `OTEL_INJECT_E2E_KUBECONFIG` names the cluster; without it
//! the test fails and says how to get one, unless `OTEL_INJECT_E2E_SKIP=1` (or `node`: this
//! whole file needs the node) skips it knowingly.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::{Client, Config, ResourceExt};
use otel_inject::controller::decide::names;
use otel_inject_lib::injected::spec_hash;
use otel_inject_lib::InstrumentationSpec;
use otel_inject_test_peers::images::Image;
use serde_json::{json, Value};

const SELECTOR_LABEL: &str = "otel-inject-controller-e2e";
const FIELD_MANAGER: &str = "otel-inject-controller-e2e";
const JAVA: &str = "instrumentation.opentelemetry.io/inject-java";
const INJECTED: &str = "otel-inject.dev/injected";
/// Short, so the undo scenario is quick; long enough for a busybox pod to start on a node that
/// other tests keep busy (rollouts took close to 20 s each under such load).
const ROLLOUT_TIMEOUT: &str = "30s";
const MAX_CONCURRENT: usize = 2;

struct Proc {
    child: Child,
    log: PathBuf,
    metrics_port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

struct Cluster {
    client: Client,
    kubeconfig: PathBuf,
    run_id: String,
    namespaces: Vec<String>,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn inst_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "opentelemetry.io",
        "v1alpha1",
        "Instrumentation",
    ))
}

async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_err = None;
    while start.elapsed() < timeout {
        match check().await {
            Ok(true) => return Ok(start.elapsed()),
            Ok(false) => {}
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(anyhow!(
        "timed out after {timeout:?} waiting for {what} (last error: {last_err:?})"
    ))
}

async fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        s.read_to_string(&mut buf).await
    })
    .await
    .map_err(|_| anyhow!("GET {path} on port {port}: no answer in 10 s"))??;
    let code = buf
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, buf.split("\r\n\r\n").nth(1).unwrap_or("").to_string()))
}

/// One sample of a metric family, summed over its labels.
async fn metric(p: &Proc, name: &str) -> Result<f64> {
    let (_, body) = http_get(p.metrics_port, "/metrics").await?;
    Ok(body
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

impl Cluster {
    async fn connect(kubeconfig: &Path) -> Result<Self> {
        let kc = Kubeconfig::read_from(kubeconfig).context("reading the e2e kubeconfig")?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        Ok(Self {
            client: Client::try_from(config)?,
            kubeconfig: kubeconfig.to_path_buf(),
            run_id: format!("{:x}", std::process::id() ^ nanos),
            namespaces: Vec::new(),
        })
    }

    fn mwc(&self) -> String {
        format!("otel-inject-controller-e2e-{}", self.run_id)
    }

    /// A namespace the webhook is called for, opted in to the controller.
    async fn namespace(&mut self, scenario: &str) -> Result<String> {
        let name = format!("ctl-{scenario}-{}", self.run_id);
        let ns: Namespace = serde_json::from_value(json!({"metadata": {
            "name": name, "labels": {SELECTOR_LABEL: self.run_id},
            "annotations": {names::OPT_IN: "true"}}}))?;
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await?;
        self.namespaces.push(name.clone());
        let sas: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &name);
        wait_for(
            Duration::from_secs(30),
            "the default ServiceAccount",
            || async { Ok(sas.get_opt("default").await?.is_some()) },
        )
        .await?;
        Ok(name)
    }

    async fn apply_instrumentation(&self, ns: &str, name: &str, spec: Value) -> Result<()> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &inst_resource());
        let obj = json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
                         "metadata": {"name": name, "namespace": ns}, "spec": spec});
        api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&obj),
        )
        .await?;
        Ok(())
    }

    async fn cleanup(&self) {
        let api = Api::<Namespace>::all(self.client.clone());
        for ns in &self.namespaces {
            let _ = api.delete(ns, &DeleteParams::default()).await;
        }
        let _ = Api::<MutatingWebhookConfiguration>::all(self.client.clone())
            .delete(&self.mwc(), &DeleteParams::default())
            .await;
    }

    fn spawn(&self, dir: &Path, what: &str, args: &[String], metrics_port: u16) -> Result<Proc> {
        let log = dir.join(format!("{what}.log"));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("OTEL_INJECT_LOG", "info,otel_inject=debug")
            .env_remove("OTEL_INJECT_STANDALONE")
            .stdout(out.try_clone()?)
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting otel-inject {what}"))?;
        Ok(Proc {
            child,
            log,
            metrics_port,
        })
    }
}

async fn wait_ready(p: &mut Proc) -> Result<()> {
    let start = Instant::now();
    loop {
        if let Some(status) = p.child.try_wait()? {
            bail!("otel-inject exited with {status}; log:\n{}", p.log());
        }
        if let Ok((200, _)) = http_get(p.metrics_port, "/readyz").await {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("otel-inject not ready after 60s; log:\n{}", p.log());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The CRD (as e2e_cluster.rs applies it), the webhook on the host registered by URL, and
/// pods created in `probe_ns` until the API server calls it.
async fn start_webhook(cluster: &Cluster, dir: &Path, probe_ns: &str) -> Result<Proc> {
    let crd: CustomResourceDefinition = serde_yaml::from_str(&otel_inject::commands::crd_yaml()?)?;
    let crds = Api::<CustomResourceDefinition>::all(cluster.client.clone());
    crds.patch(
        "instrumentations.opentelemetry.io",
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await?;
    wait_for(
        Duration::from_secs(30),
        "the CRD to be Established",
        || async {
            let c = crds.get("instrumentations.opentelemetry.io").await?;
            Ok(c.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"))
        },
    )
    .await?;

    let port = free_port()?;
    let mwc: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": cluster.mwc()},
        "webhooks": [{
            "name": "pods.controller-e2e.otel-inject.dev",
            "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Ignore", "timeoutSeconds": 5, "reinvocationPolicy": "IfNeeded",
            "clientConfig": {"url": format!("https://127.0.0.1:{port}/mutate")},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["pods"], "scope": "Namespaced"}],
            "namespaceSelector": {"matchLabels": {SELECTOR_LABEL: cluster.run_id}}
        }]
    }))?;
    Api::<MutatingWebhookConfiguration>::all(cluster.client.clone())
        .patch(
            &cluster.mwc(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&mwc),
        )
        .await?;
    let metrics_port = free_port()?;
    let args: Vec<String> = [
        "serve",
        "--self-signed",
        "--webhook-config",
        &cluster.mwc(),
        "--san",
        "127.0.0.1",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--metrics-listen",
        &format!("127.0.0.1:{metrics_port}"),
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut webhook = cluster.spawn(dir, "webhook", &args, metrics_port)?;
    wait_ready(&mut webhook).await?;
    // The API server picks the caBundle up within seconds: probe with pods kept off the node.
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), probe_ns);
    let mut n = 0;
    wait_for(
        Duration::from_secs(60),
        "the API server to call the webhook",
        || {
            n += 1;
            let pods = pods.clone();
            async move {
                let p: Pod = serde_json::from_value(json!({"metadata": {
                    "name": format!("probe-{n}"), "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"}},
                    "spec": {"nodeSelector": {"otel-inject-e2e/no-node": "true"},
                             "containers": [{"name": "app", "image": "probe:1"}]}}))?;
                let p = pods.create(&PostParams::default(), &p).await?;
                Ok(p.annotations().contains_key("otel-inject.dev/status"))
            }
        },
    )
    .await?;
    let _ = pods
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await;
    Ok(webhook)
}

fn start_controller(cluster: &Cluster, dir: &Path, identity: &str, lease_ns: &str) -> Result<Proc> {
    let metrics_port = free_port()?;
    let args: Vec<String> = [
        "controller",
        "--kubeconfig",
        &cluster.kubeconfig.display().to_string(),
        "--max-concurrent-rollouts",
        &MAX_CONCURRENT.to_string(),
        "--rollout-timeout",
        ROLLOUT_TIMEOUT,
        "--resync-interval",
        "1s",
        "--metrics-listen",
        &format!("127.0.0.1:{metrics_port}"),
        "--lease-namespace",
        lease_ns,
        "--lease-name",
        "otel-inject-controller",
        "--lease-duration",
        "3s",
        "--identity",
        identity,
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    cluster.spawn(dir, &format!("controller-{identity}"), &args, metrics_port)
}

/// A one-replica Deployment of busybox asking for Java.
async fn deployment(cluster: &Cluster, ns: &str, name: &str, image: &str) -> Result<()> {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                 "template": {
                     "metadata": {"labels": {"app": name}, "annotations": {JAVA: "true"}},
                     "spec": {"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 1,
                              "containers": [{"name": "app", "image": image, "imagePullPolicy": "Never",
                                              "command": ["/bin/sh", "-c", "exec sleep 3600"]}]}}}
    }))?;
    Api::<Deployment>::namespaced(cluster.client.clone(), ns)
        .create(&PostParams::default(), &d)
        .await?;
    Ok(())
}

/// The pods of Deployment `name`: (running and ready, the injected record) of each.
async fn pods_of(cluster: &Cluster, ns: &str, name: &str) -> Result<Vec<(bool, Option<String>)>> {
    let pods = Api::<Pod>::namespaced(cluster.client.clone(), ns)
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await?;
    Ok(pods
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            (ready, p.annotations().get(INJECTED).cloned())
        })
        .collect())
}

/// Whether every live pod of `name` is ready and carries exactly `record`.
async fn all_pods(cluster: &Cluster, ns: &str, name: &str, record: Option<&str>) -> Result<bool> {
    let pods = pods_of(cluster, ns, name).await?;
    Ok(!pods.is_empty()
        && pods
            .iter()
            .all(|(ready, r)| *ready && r.as_deref() == record))
}

async fn events(cluster: &Cluster, ns: &str) -> Result<Vec<(String, String, String)>> {
    let list = Api::<Event>::namespaced(cluster.client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter(|e| e.reporting_controller.as_deref() == Some("otel-inject-controller"))
        .map(|e| {
            (
                e.regarding.and_then(|r| r.name).unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect())
}

/// The record a pod injected from Instrumentation `otel` now carries, from the spec as the API
/// server stored it (with whatever the CRD defaults).
async fn record_of(cluster: &Cluster, ns: &str) -> Result<String> {
    let stored =
        Api::<DynamicObject>::namespaced_with(cluster.client.clone(), ns, &inst_resource())
            .get("otel")
            .await?;
    let spec: InstrumentationSpec = serde_json::from_value(stored.data["spec"].clone())?;
    Ok(format!("java={ns}/otel@{}", spec_hash(&spec)))
}

/// What the API server has for Deployment `name`, for a failure message: its status, its
/// ReplicaSets, its pods and what holds them up.
async fn describe(cluster: &Cluster, ns: &str, name: &str) -> String {
    let d = Api::<Deployment>::namespaced(cluster.client.clone(), ns)
        .get(name)
        .await
        .map(|d| serde_json::to_string(&d.status).unwrap_or_default());
    let rss = Api::<ReplicaSet>::namespaced(cluster.client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .map(|rs| {
                    format!(
                        "{} {:?}",
                        rs.name_any(),
                        rs.status.as_ref().map(|s| s.replicas)
                    )
                })
                .collect::<Vec<_>>()
        });
    let pods = Api::<Pod>::namespaced(cluster.client.clone(), ns)
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .map(|l| {
            l.items
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p.name_any(),
                        serde_json::to_string(&p.status).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
        });
    format!("Deployment status: {d:?}; ReplicaSets: {rss:?}; pods: {pods:?}")
}

/// How many of `names` carry our in-progress record now.
async fn in_progress(cluster: &Cluster, ns: &str, names_: &[&str]) -> Result<usize> {
    let api = Api::<Deployment>::namespaced(cluster.client.clone(), ns);
    let mut n = 0;
    for name in names_ {
        if api
            .get(name)
            .await?
            .annotations()
            .contains_key(names::IN_PROGRESS)
        {
            n += 1;
        }
    }
    Ok(n)
}

fn report(name: &str, result: &Result<String>) {
    match result {
        Ok(detail) => eprintln!("controller e2e {name}: ok ({detail})"),
        Err(e) => eprintln!("controller e2e {name}: FAILED: {e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_rolls_out_outdated_workloads_on_a_real_cluster() -> Result<()> {
    let skip = std::env::var("OTEL_INJECT_E2E_SKIP").unwrap_or_default();
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG") else {
        ensure!(
            matches!(skip.as_str(), "1" | "all" | "node"),
            "the controller's end-to-end test needs a throwaway cluster with a node: run \
             ../shared/k8s-local/up.sh and node.sh, then set \
             OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig (.ci/run does this); \
             or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
        eprintln!("controller e2e: NOT RUN (OTEL_INJECT_E2E_SKIP)");
        return Ok(());
    };
    if matches!(skip.as_str(), "1" | "all" | "node") {
        eprintln!("controller e2e: NOT RUN (OTEL_INJECT_E2E_SKIP={skip}: its pods must run)");
        return Ok(());
    }
    let started = Instant::now();
    let mut cluster = Cluster::connect(Path::new(&kubeconfig)).await?;
    let nodes = Api::<Node>::all(cluster.client.clone())
        .list(&ListParams::default())
        .await?;
    let node_ready = nodes.items.iter().any(|n| {
        n.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    ensure!(
        node_ready,
        "the cluster has no Ready node: run ../shared/k8s-local/node.sh, or set \
         OTEL_INJECT_E2E_SKIP=node to skip the tests whose pods must run"
    );
    let dir = std::env::temp_dir().join(format!("otel-inject-controller-e2e-{}", cluster.run_id));
    std::fs::create_dir_all(&dir)?;
    let result = scenarios(&mut cluster, &dir).await;
    cluster.cleanup().await;
    eprintln!(
        "controller e2e: total {:.1}s, logs in {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    result
}

async fn scenarios(cluster: &mut Cluster, dir: &Path) -> Result<()> {
    let app = Image::busybox("ctl-app")?.build()?;
    let agent = Image::busybox("ctl-java-agent")?
        .file("/javaagent.jar", b"stand-in for the Java agent\n", 0o644)?
        .build()?;
    let ns = cluster.namespace("rollout").await?;
    let broken_ns = cluster.namespace("undo").await?;
    let webhook = start_webhook(cluster, dir, &ns).await?;

    let mut failures = Vec::new();
    let mut controllers = Vec::new();
    let r = scenario_rollout(cluster, dir, &ns, &app, &agent, &mut controllers).await;
    report(
        "1 annotated-before-instrumentation-rolled-out-n-at-a-time",
        &r,
    );
    let rolled = r.is_ok();
    if r.is_err() {
        failures.push("1");
    }
    if rolled {
        let r = scenario_takeover(cluster, &ns, &mut controllers).await;
        report("2 leader-killed-lease-taken-over", &r);
        if r.is_err() {
            failures.push("2");
        }
        let r = scenario_update(cluster, &ns, &agent).await;
        report("3 endpoint-changed-rolled-out-again", &r);
        if r.is_err() {
            failures.push("3");
        }
        let r = scenario_undo(cluster, &broken_ns, &app).await;
        report("4 pods-never-ready-undone-and-reported", &r);
        if r.is_err() {
            failures.push("4");
        }
    }
    ensure!(
        failures.is_empty(),
        "failed scenarios: {failures:?}; logs: webhook {}, controllers {:?}",
        webhook.log.display(),
        controllers
            .iter()
            .map(|c: &Proc| c.log.display().to_string())
            .collect::<Vec<_>>()
    );
    Ok(())
}

const ROLLED: [&str; 3] = ["cart", "orders", "payments"];

fn spec(agent: &str, endpoint: &str) -> Value {
    json!({"exporter": {"endpoint": endpoint}, "imagePullPolicy": "Never",
           "java": {"image": agent}})
}

async fn scenario_rollout(
    cluster: &Cluster,
    dir: &Path,
    ns: &str,
    app: &str,
    agent: &str,
    controllers: &mut Vec<Proc>,
) -> Result<String> {
    for name in ROLLED {
        deployment(cluster, ns, name, app).await?;
    }
    for name in ROLLED {
        let waited = wait_for(
            Duration::from_secs(90),
            &format!("{name}'s uninjected pod to run"),
            || all_pods(cluster, ns, name, None),
        )
        .await;
        if let Err(e) = waited {
            bail!("{e}; {}", describe(cluster, ns, name).await);
        }
    }
    let spec1 = spec(agent, "http://collector-1.monitoring:4318");
    cluster
        .apply_instrumentation(ns, "otel", spec1.clone())
        .await?;
    let record1 = record_of(cluster, ns).await?;

    // status, before any controller: not injected, and why.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let out = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args(["status", "-n", ns, "-o", "json", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .output()?;
    let rows: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| String::from_utf8_lossy(&out.stderr).to_string())?;
    ensure!(
        out.status.code() == Some(6),
        "status exit code {:?}",
        out.status.code()
    );
    for name in ROLLED {
        let row = rows
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .ok_or_else(|| anyhow!("status has no {name}: {rows}"))?;
        ensure!(row["pods"]["notInjected"] == 1, "{row}");
        ensure!(
            row["reasons"].to_string().contains("restart the workload"),
            "{row}"
        );
    }

    // Two replicas, one Lease: only the leader acts.
    for id in ["a", "b"] {
        let mut c = start_controller(cluster, dir, id, ns)?;
        wait_ready(&mut c).await?;
        controllers.push(c);
    }
    let max_seen = std::sync::atomic::AtomicUsize::new(0);
    let took = wait_for(
        Duration::from_secs(120),
        "every Deployment rolled out and injected",
        || {
            let record1 = record1.clone();
            let max_seen = &max_seen;
            async move {
                let n = in_progress(cluster, ns, &ROLLED).await?;
                max_seen.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
                ensure!(
                    n <= MAX_CONCURRENT,
                    "{n} rollouts in flight at once (max {MAX_CONCURRENT})"
                );
                for name in ROLLED {
                    if !all_pods(cluster, ns, name, Some(&record1)).await? {
                        return Ok(false);
                    }
                }
                Ok(in_progress(cluster, ns, &ROLLED).await? == 0)
            }
        },
    )
    .await?;
    // New ReplicaSets made the injected pods; the first ones are scaled to zero.
    let rss = Api::<ReplicaSet>::namespaced(cluster.client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    for name in ROLLED {
        let mine: Vec<&ReplicaSet> = rss
            .items
            .iter()
            .filter(|rs| {
                rs.metadata
                    .owner_references
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|o| o.name == name))
            })
            .collect();
        ensure!(mine.len() == 2, "{name} has {} ReplicaSets", mine.len());
    }
    let evs = events(cluster, ns).await?;
    for name in ROLLED {
        for reason in ["RolloutStarted", "RolloutCompleted"] {
            ensure!(
                evs.iter().any(|(n, r, _)| n == name && r == reason),
                "no {reason} Event on {name}: {evs:?}"
            );
        }
    }
    let mut leaders = Vec::new();
    for (id, c) in ["a", "b"].into_iter().zip(controllers.iter()) {
        if metric(c, "otel_inject_controller_leader").await? == 1.0 {
            leaders.push(id);
        }
    }
    ensure!(leaders.len() == 1, "leaders by their metrics: {leaders:?}");
    let mut started_total = 0.0;
    for c in controllers.iter() {
        started_total += metric(c, "otel_inject_controller_rollouts_started_total").await?;
    }
    ensure!(
        started_total == 3.0,
        "rollouts started, by the metrics: {started_total}"
    );
    Ok(format!(
        "3 Deployments rolled out in {:.1}s by {}, at most {} at a time (limit {MAX_CONCURRENT})",
        took.as_secs_f64(),
        leaders[0],
        max_seen.load(std::sync::atomic::Ordering::Relaxed)
    ))
}

async fn holder(cluster: &Cluster, ns: &str) -> Result<String> {
    let lease = Api::<Lease>::namespaced(cluster.client.clone(), ns)
        .get("otel-inject-controller")
        .await?;
    Ok(lease
        .spec
        .and_then(|s| s.holder_identity)
        .unwrap_or_default())
}

async fn scenario_takeover(
    cluster: &Cluster,
    ns: &str,
    controllers: &mut [Proc],
) -> Result<String> {
    let first = holder(cluster, ns).await?;
    let (killed, other) = match first.as_str() {
        "a" => (0, "b"),
        "b" => (1, "a"),
        h => bail!("the Lease is held by {h:?}, not by a or b"),
    };
    // SIGKILL: no release; the other waits the lease duration out.
    controllers[killed].child.kill()?;
    let took = wait_for(
        Duration::from_secs(30),
        "the other replica to take over",
        || async { Ok(holder(cluster, ns).await? == other) },
    )
    .await?;
    let survivor = &controllers[1 - killed];
    wait_for(
        Duration::from_secs(10),
        "the survivor to say it leads",
        || async { Ok(metric(survivor, "otel_inject_controller_leader").await? == 1.0) },
    )
    .await?;
    Ok(format!(
        "{first} killed, {other} holds the Lease {:.1}s later",
        took.as_secs_f64()
    ))
}

async fn scenario_update(cluster: &Cluster, ns: &str, agent: &str) -> Result<String> {
    let spec2 = spec(agent, "http://collector-2.monitoring:4318");
    cluster
        .apply_instrumentation(ns, "otel", spec2.clone())
        .await?;
    let record2 = record_of(cluster, ns).await?;
    let took = wait_for(
        Duration::from_secs(120),
        "every Deployment rolled out again",
        || {
            let record2 = record2.clone();
            async move {
                let n = in_progress(cluster, ns, &ROLLED).await?;
                ensure!(n <= MAX_CONCURRENT, "{n} rollouts in flight at once");
                for name in ROLLED {
                    if !all_pods(cluster, ns, name, Some(&record2)).await? {
                        return Ok(false);
                    }
                }
                Ok(n == 0)
            }
        },
    )
    .await?;
    Ok(format!(
        "endpoint changed: 3 Deployments re-injected with {record2} in {:.1}s",
        took.as_secs_f64()
    ))
}

async fn scenario_undo(cluster: &Cluster, ns: &str, app: &str) -> Result<String> {
    deployment(cluster, ns, "broken", app).await?;
    wait_for(
        Duration::from_secs(90),
        "broken's uninjected pod to run",
        || all_pods(cluster, ns, "broken", None),
    )
    .await?;
    let api = Api::<Deployment>::namespaced(cluster.client.clone(), ns);
    let before = api.get("broken").await?;
    let template_before = before
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    // An agent image that is not on the node, and may not be pulled.
    let bad = spec(
        "otel-inject-e2e.invalid/absent-agent:1",
        "http://collector.monitoring:4318",
    );
    cluster
        .apply_instrumentation(ns, "otel", bad.clone())
        .await?;
    let target = record_of(cluster, ns).await?;
    let start = Instant::now();
    wait_for(
        Duration::from_secs(30),
        "the controller to restart broken",
        || async {
            Ok(api
                .get("broken")
                .await?
                .annotations()
                .contains_key(names::IN_PROGRESS))
        },
    )
    .await?;
    let undone = wait_for(
        Duration::from_secs(60),
        "the restart to be undone",
        || async {
            let d = api.get("broken").await?;
            Ok(d.annotations().contains_key(names::FAILED)
                && !d.annotations().contains_key(names::IN_PROGRESS))
        },
    )
    .await?;
    let d = api.get("broken").await?;
    let failed: otel_inject::controller::decide::Failed = serde_json::from_str(
        d.annotations()
            .get(names::FAILED)
            .ok_or_else(|| anyhow!("no marker"))?,
    )?;
    ensure!(failed.target == target, "{failed:?}");
    ensure!(failed.reason.contains("ErrImageNeverPull"), "{failed:?}");
    let template_after: BTreeMap<String, String> = d
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    ensure!(
        template_after == template_before,
        "the template is not back as it was:\nbefore {template_before:?}\nafter  {template_after:?}"
    );
    // Back on the old ReplicaSet: the uninjected pod serves, the broken one goes.
    wait_for(
        Duration::from_secs(60),
        "broken back on its old pod alone",
        || all_pods(cluster, ns, "broken", None),
    )
    .await?;
    let evs = events(cluster, ns).await?;
    let note = evs
        .iter()
        .find(|(n, r, _)| n == "broken" && r == "RolloutUndone")
        .map(|(_, _, note)| note.clone())
        .ok_or_else(|| anyhow!("no RolloutUndone Event: {evs:?}"))?;
    ensure!(note.contains("ErrImageNeverPull"), "{note}");
    // Not retried for the same Instrumentation.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let starts = events(cluster, ns)
        .await?
        .iter()
        .filter(|(n, r, _)| n == "broken" && r == "RolloutStarted")
        .count();
    ensure!(starts == 1, "broken was restarted {starts} times");
    ensure!(
        !api.get("broken")
            .await?
            .annotations()
            .contains_key(names::IN_PROGRESS),
        "restarted again"
    );
    Ok(format!(
        "undone {:.1}s after the Instrumentation appeared ({:.1}s waiting for it): {note}",
        start.elapsed().as_secs_f64(),
        undone.as_secs_f64()
    ))
}
