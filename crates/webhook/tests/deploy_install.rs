//! deploy/ installed for real on k8s-local's node: the kustomize dev overlay with self-signed TLS
//! and the Helm chart (ci/dev-self-signed-values.yaml), each rendered by the real kubectl/helm,
//! applied, and run from an image of this build's binary; Jaeger v2's memory overlay beside them,
//! from its Go module. For each install: the webhook pod turns Ready; the API server calls it
//! through its Service (`clientConfig.service`, resolved to the ClusterIP, which kube-proxy in
//! iptables mode leads to the pod: tests/deploy/kube-proxy); an annotated Deployment's pod comes
//! up injected with the installed Instrumentation and running; its request's span reaches the
//! Jaeger pod (through the collector's Service) and is read back through the query Service.
//!
//! What differs from deploy/, and why, is all in tests/deploy/install/test-only (images built
//! offline, a kubeconfig for the pod because k8s-local's API server is on loopback only, the
//! webhook limited to this run's namespace); besides that the test only renames: namespaces and
//! cluster-scoped objects get this run's id, so that runs never collide on a shared cluster.
//! The Helm chart is rendered with `helm template` and applied, as Argo CD installs a chart.
//! Everything created is deleted at the end, on failure too; the shared Instrumentation CRD is
//! created when missing and never deleted (other tests use it).
//!
//! Runs when `OTEL_INJECT_E2E_KUBECONFIG` names a kubeconfig, as the e2e suite does; without
//! one it fails and says how to get one, unless `OTEL_INJECT_E2E_SKIP=1` (or `node`) skips it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use otel_inject_test_peers::images::{Image, HOST_IP};
use otel_inject_test_peers::{jaeger, poll, repo_root};
use serde_json::{json, Value};

#[path = "e2e/node.rs"]
mod node;

/// The test-only changes (tests/deploy/install/test-only) leave this for the run's id.
const RUN_ID: &str = "RUN_ID";
const KUBECONFIG_MAP: &str = "otel-inject-test-kubeconfig";
const INSTALL_LABEL: &str = "otel-inject.dev/install-test";
/// What deploy/ names once per cluster, and the images its manifests name.
const DEPLOY_NAMESPACE: &str = "otel-inject-system";
const JAEGER_NAMESPACE: &str = "monitoring";
const DEPLOY_IMAGE: &str = "ghcr.io/otel-inject/otel-inject:0.1.0";
const CLUSTER_SCOPED: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
];
const POD_READY: Duration = Duration::from_secs(120);

/// This run's names for what deploy/ names once per cluster.
struct Isolation {
    /// Appended to the names of cluster-scoped objects; the value of [`RUN_ID`].
    id: String,
    namespaces: BTreeMap<&'static str, String>,
    images: BTreeMap<String, String>,
}

impl Isolation {
    fn string(&self, s: &str) -> String {
        if let Some(new) = self.images.get(s) {
            return new.clone();
        }
        if s == RUN_ID {
            return self.id.clone();
        }
        if let Some(new) = self.namespaces.get(s) {
            return new.clone();
        }
        // Flags of the webhook's command line.
        if let Some(name) = s.strip_prefix("--webhook-config=") {
            return format!("--webhook-config={name}-{}", self.id);
        }
        if let Some((flag, value)) = s.split_once('=') {
            if let Some(new) = self.namespaces.get(value) {
                return format!("{flag}={new}");
            }
        }
        // Service host names in URLs (the Instrumentation's exporter endpoint).
        let mut out = s.to_string();
        for (old, new) in &self.namespaces {
            out = out.replace(&format!(".{old}.svc"), &format!(".{new}.svc"));
        }
        out
    }

    fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.string(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.value(x)),
            _ => {}
        }
    }

    /// The object with this run's names: string values (never keys) renamed, and cluster-scoped
    /// names, with what refers to them, suffixed with the run id.
    fn object(&self, mut doc: Value) -> Value {
        self.value(&mut doc);
        let suffix = |v: &mut Value| {
            if let Some(s) = v.as_str() {
                *v = Value::String(format!("{s}-{}", self.id));
            }
        };
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        if CLUSTER_SCOPED.contains(&kind.as_str()) {
            suffix(&mut doc["metadata"]["name"]);
        }
        match kind.as_str() {
            "ClusterRoleBinding" => suffix(&mut doc["roleRef"]["name"]),
            "ClusterRole" => {
                for rule in doc["rules"].as_array_mut().into_iter().flatten() {
                    for name in rule
                        .get_mut("resourceNames")
                        .and_then(Value::as_array_mut)
                        .into_iter()
                        .flatten()
                    {
                        suffix(name);
                    }
                }
            }
            "Deployment" => {
                let spec = &mut doc["spec"]["template"]["spec"];
                if spec.get("priorityClassName").is_some() {
                    suffix(&mut spec["priorityClassName"]);
                }
            }
            _ => {}
        }
        doc
    }
}

fn yaml_docs(text: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc)?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn to_yaml(docs: &[Value]) -> Result<String> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(d)?);
    }
    Ok(out)
}

/// Runs a command; its stdout, or an error with what it printed.
fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// A `tests/` or `tests/deploy` script's last line of output (the path it prints).
fn script(path: &str) -> Result<String> {
    let out = run(Command::new("bash").arg(repo_root().join(path)))?;
    out.lines()
        .last()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{path} printed nothing"))
}

/// `dir` as a path relative to `from` (kustomize refuses absolute paths to components).
fn relative(from: &Path, dir: &Path) -> Result<PathBuf> {
    let (from, dir) = (from.canonicalize()?, dir.canonicalize()?);
    let mut up = PathBuf::new();
    for _ in from.components().skip(1) {
        up.push("..");
    }
    Ok(up.join(dir.strip_prefix("/")?))
}

/// Relays the host's pod-bridge address to the API server on loopback, for the webhook pod
/// (test-only change 2). Stops when dropped.
struct Relay {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    async fn start(api_server: SocketAddr) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind((HOST_IP, 0))
            .await
            .context("binding the API server relay on the pod bridge's host address")?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(api_server).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Ok(Self { port, task })
    }

    /// The kubeconfig the webhook pod reads (KUBECONFIG): this relay, the pod's own token and CA.
    fn kubeconfig(&self) -> String {
        let sa = "/var/run/secrets/kubernetes.io/serviceaccount";
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: k8s-local, cluster: {{server: \"https://{HOST_IP}:{}\", \
             certificate-authority: {sa}/ca.crt, tls-server-name: kubernetes.default.svc}}}}]\n\
             users: [{{name: sa, user: {{tokenFile: {sa}/token}}}}]\n\
             contexts: [{{name: sa, context: {{cluster: k8s-local, user: sa}}}}]\n\
             current-context: sa\n",
            self.port
        )
    }
}

struct Cluster {
    client: Client,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
    /// Files applied, deleted again (in reverse) when the run ends.
    applied: std::sync::Mutex<Vec<PathBuf>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let applied = std::mem::take(&mut *self.applied.lock().unwrap_or_else(|e| e.into_inner()));
        for file in applied.iter().rev() {
            // Namespaces take their objects with them; cluster-scoped objects go by name.
            if let Err(e) = run(self
                .kubectl()
                .args(["delete", "--ignore-not-found", "--wait=false", "-f"])
                .arg(file))
            {
                eprintln!("deploy install: cleanup of {}: {e:#}", file.display());
            }
        }
    }
}

impl Cluster {
    fn kubectl(&self) -> Command {
        let mut c = Command::new("kubectl");
        c.env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// Applies `docs` (server-side); they are deleted when the run ends.
    fn apply(&self, name: &str, docs: &[Value]) -> Result<()> {
        let file = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, to_yaml(docs)?)?;
        self.applied
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .push(file.clone());
        run(self
            .kubectl()
            .args(["apply", "--server-side", "--force-conflicts"])
            .args(["--field-manager", "otel-inject-install-test", "-f"])
            .arg(&file))
        .with_context(|| format!("applying {name}"))?;
        Ok(())
    }

    /// Drops the Instrumentation CRD from `docs` when the cluster has it (it is shared), and
    /// creates it otherwise, never to be deleted.
    async fn shared_crd(&self, docs: Vec<Value>) -> Result<Vec<Value>> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let mut rest = Vec::new();
        for doc in docs {
            if doc["kind"] != "CustomResourceDefinition" {
                rest.push(doc);
                continue;
            }
            let name = doc["metadata"]["name"].as_str().unwrap_or_default();
            if crds.get_opt(name).await?.is_none() {
                let crd: CustomResourceDefinition = serde_json::from_value(doc.clone())?;
                crds.create(&PostParams::default(), &crd).await?;
                poll(Duration::from_secs(30), "the CRD to be established", || {
                    let crds = crds.clone();
                    let name = name.to_string();
                    async move {
                        let crd = crds.get(&name).await?;
                        let established = crd.status.and_then(|s| s.conditions).is_some_and(|c| {
                            c.iter()
                                .any(|c| c.type_ == "Established" && c.status == "True")
                        });
                        Ok(established.then_some(()))
                    }
                })
                .await?;
            }
        }
        Ok(rest)
    }

    /// What the API server and the kubelet say about the pods of `selector` in `ns`: for a
    /// failure message.
    fn diagnostics(&self, ns: &str, selector: &str) -> String {
        let mut out = String::new();
        for args in [
            vec!["describe", "pods", "-n", ns, "-l", selector],
            vec!["get", "events", "-n", ns, "--sort-by=.lastTimestamp"],
            vec![
                "logs",
                "-n",
                ns,
                "-l",
                selector,
                "--all-containers",
                "--tail=40",
            ],
        ] {
            let text = run(self.kubectl().args(&args)).unwrap_or_else(|e| format!("{e:#}"));
            out.push_str(&format!("\n== kubectl {}\n{text}", args.join(" ")));
        }
        out
    }

    /// The first pod of `selector` in `ns` once it is Ready, else an error naming `what` with
    /// the pods' status, events and logs.
    async fn ready_pod(&self, ns: &str, selector: &str, what: &str) -> Result<Value> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let found = poll(POD_READY, &format!("{what} to be Ready"), || {
            let pods = pods.clone();
            async move {
                let list = pods.list(&ListParams::default().labels(selector)).await?;
                Ok(list.items.into_iter().find_map(|p| {
                    let ready = p
                        .status
                        .as_ref()?
                        .conditions
                        .as_ref()?
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True");
                    ready.then(|| serde_json::to_value(p).ok()).flatten()
                }))
            }
        })
        .await;
        found.map_err(|e| e.context(self.diagnostics(ns, selector)))
    }

    async fn cluster_ip(&self, ns: &str, name: &str) -> Result<String> {
        let svc = Api::<Service>::namespaced(self.client.clone(), ns)
            .get(name)
            .await
            .with_context(|| format!("Service {ns}/{name}"))?;
        svc.spec
            .and_then(|s| s.cluster_ip)
            .filter(|ip| !ip.is_empty() && ip != "None")
            .ok_or_else(|| anyhow!("Service {ns}/{name} has no ClusterIP"))
    }
}

/// The run's images: this build's binary on a Debian base (it links glibc), Jaeger v2 from its
/// Go module (static: busybox base), and the SDK example that the injected Deployment runs.
struct Images {
    webhook: String,
    jaeger: String,
    app: String,
}

fn stripped(bin: &Path, dir: &Path) -> Result<PathBuf> {
    let name = bin
        .file_name()
        .ok_or_else(|| anyhow!("{} has no file name", bin.display()))?;
    let out = dir.join(name);
    run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&out)
        .arg(bin))?;
    Ok(out)
}

fn images(dir: &Path) -> Result<Images> {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_otel-inject"));
    let webhook = Image::debian("otel-inject", &[])?
        .copy("/usr/local/bin/otel-inject", &stripped(&ours, dir)?)?
        .entrypoint(&["/usr/local/bin/otel-inject"])
        .build()?;
    let jaeger = Image::busybox("jaeger")?
        .copy("/usr/local/bin/jaeger", &jaeger::binary()?)?
        .entrypoint(&["/usr/local/bin/jaeger"])
        .build()?;
    let inventory = ours
        .parent()
        .ok_or_else(|| anyhow!("no target dir"))?
        .join("inventory-api");
    ensure!(
        inventory.is_file(),
        "{} is missing: run the workspace's tests (cargo test --workspace), or build it with \
         cargo build -p otel-inject-examples --bin inventory-api",
        inventory.display()
    );
    let app = Image::debian("inventory-api", &["ca-certificates"])?
        .copy("/usr/local/bin/inventory-api", &stripped(&inventory, dir)?)?
        .build()?;
    Ok(Images {
        webhook,
        jaeger,
        app,
    })
}

/// How the webhook was installed.
#[derive(Clone, Copy, PartialEq)]
enum Install {
    Kustomize,
    Helm,
}

impl Install {
    fn name(self) -> &'static str {
        match self {
            Install::Kustomize => "kustomize dev-self-signed overlay",
            Install::Helm => "Helm chart (ci/dev-self-signed-values.yaml)",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Install::Kustomize => "k",
            Install::Helm => "h",
        }
    }
}

/// The rendering, by the real kubectl (kustomize) or helm, with the test-only component.
fn render(install: Install, cluster: &Cluster, namespace: &str) -> Result<Vec<Value>> {
    let install_dir = repo_root().join("tests/deploy/install");
    let text = match install {
        Install::Kustomize => run(cluster
            .kubectl()
            .arg("kustomize")
            .arg(install_dir.join("kustomize")))?,
        Install::Helm => {
            let helm = script("tests/deploy/helm/build.sh")?;
            let chart = repo_root().join("deploy/charts/otel-inject");
            let rendered = run(Command::new(helm)
                .args(["template", "otel-inject"])
                .arg(&chart)
                .args(["--namespace", namespace, "-f"])
                .arg(chart.join("ci/dev-self-signed-values.yaml")))?;
            let dir = cluster.dir.path().join("helm");
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("chart.yaml"), rendered)?;
            let component = relative(&dir, &install_dir.join("test-only"))?;
            std::fs::write(
                dir.join("kustomization.yaml"),
                format!(
                    "resources: [chart.yaml]\ncomponents: [{}]\n",
                    component.display()
                ),
            )?;
            run(cluster.kubectl().arg("kustomize").arg(&dir))?
        }
    };
    yaml_docs(&text)
}

struct Jaeger {
    namespace: String,
    collector: String,
    query: String,
}

impl Jaeger {
    /// `GET /api/v3/traces/{id}` through the jaeger-query Service: its spans, once it has any.
    async fn trace(&self, trace_id: &str) -> Result<Option<Vec<jaeger::Span>>> {
        let url = format!("http://{}:16686/api/v3/traces/{trace_id}", self.query);
        let r = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
            .await?;
        match r.status().as_u16() {
            200 => Ok(Some(jaeger::spans_of(&serde_json::from_str(
                &r.text().await?,
            )?)?)),
            404 => Ok(None),
            s => bail!("GET {url}: {s} {}", r.text().await?),
        }
    }
}

async fn install_jaeger(cluster: &Cluster, id: &str, images: &Images) -> Result<(Jaeger, f64)> {
    let started = Instant::now();
    let namespace = format!("oi-{id}-monitoring");
    let iso = Isolation {
        id: id.to_string(),
        namespaces: BTreeMap::from([(JAEGER_NAMESPACE, namespace.clone())]),
        images: BTreeMap::from([(
            format!("jaegertracing/jaeger:{}", jaeger::VERSION),
            images.jaeger.clone(),
        )]),
    };
    let docs: Vec<Value> = yaml_docs(&run(cluster
        .kubectl()
        .arg("kustomize")
        .arg(repo_root().join("tests/deploy/install/jaeger")))?)?
    .into_iter()
    .map(|d| iso.object(d))
    .collect();
    cluster.apply("jaeger", &docs)?;
    cluster
        .ready_pod(
            &namespace,
            "app.kubernetes.io/name=jaeger",
            "the Jaeger pod",
        )
        .await?;
    let jaeger = Jaeger {
        collector: cluster.cluster_ip(&namespace, "jaeger-collector").await?,
        query: cluster.cluster_ip(&namespace, "jaeger-query").await?,
        namespace,
    };
    sampling_served(&jaeger).await?;
    Ok((jaeger, started.elapsed().as_secs_f64()))
}

/// The dev overlay's default sampling strategy, served by the Jaeger pod through the
/// jaeger-collector Service on 5778: the strategies ConfigMap is mounted where the config reads
/// it, and the port is on the pod and the Service (issue 17).
async fn sampling_served(jaeger: &Jaeger) -> Result<()> {
    let file: Value = serde_json::from_str(&jaeger::deploy_strategies("base")?)?;
    let want = file["default_strategy"]["param"].clone();
    let url = format!(
        "http://{}:5778/sampling?service=deploy-install-probe",
        jaeger.collector
    );
    poll(
        Duration::from_secs(20),
        "the dev sampling strategy from jaeger-collector:5778",
        || {
            let url = url.clone();
            let want = want.clone();
            async move {
                let r = reqwest::Client::new()
                    .get(&url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await?;
                let status = r.status().as_u16();
                let v: Value = serde_json::from_str(&r.text().await?)?;
                ensure!(status == 200, "GET {url}: {status} {v}");
                ensure!(
                    v["strategyType"] == 0
                        && v["probabilisticSampling"]["samplingRate"].as_f64() == want.as_f64(),
                    "GET {url}: {v}, not the dev default (probability {want})"
                );
                Ok(Some(()))
            }
        },
    )
    .await
}

/// Creates pods that are never scheduled until one comes back with the webhook's status
/// annotation: the API server has the caBundle and calls the webhook (a pod created before that
/// would pass unmutated, failurePolicy Ignore).
async fn wait_until_called(cluster: &Cluster, ns: &str, instrumentation: &str) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let mut n = 0;
    poll(
        Duration::from_secs(60),
        "the API server to call the webhook through its Service (a probe pod with the status annotation)",
        || {
            n += 1;
            let pods = pods.clone();
            let instrumentation = instrumentation.to_string();
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("probe-{n}"),
                                 "annotations": {"instrumentation.opentelemetry.io/inject-sdk": instrumentation}},
                    "spec": {"containers": [{"name": "app", "image": "probe", "imagePullPolicy": "Never"}],
                             "automountServiceAccountToken": false,
                             "nodeSelector": {"otel-inject-e2e/no-node": "true"}}
                }))?;
                let created = pods.create(&PostParams::default(), &pod).await?;
                let _ = pods.delete(&format!("probe-{n}"), &Default::default()).await;
                Ok(created
                    .metadata
                    .annotations
                    .is_some_and(|a| a.contains_key("otel-inject.dev/status"))
                    .then_some(()))
            }
        },
    )
    .await
}

/// The webhook's `otel_inject_admissions_total` (all outcomes), read through its Service.
async fn admissions(service_ip: &str) -> Result<f64> {
    let body = reqwest::Client::new()
        .get(format!("http://{service_ip}:9090/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await?
        .text()
        .await?;
    Ok(body
        .lines()
        .filter(|l| l.starts_with("otel_inject_admissions_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

fn env_of(pod: &Value, name: &str) -> Option<String> {
    pod["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?["value"]
        .as_str()
        .map(String::from)
}

async fn install_webhook(
    install: Install,
    cluster: &Cluster,
    run_id: &str,
    images: &Images,
    jaeger: &Jaeger,
    relay: &Relay,
) -> Result<String> {
    let id = format!("{run_id}{}", install.short());
    let ns = format!("oi-{id}-system");
    let app_ns = format!("oi-{id}-app");
    let started = Instant::now();
    let iso = Isolation {
        id: id.clone(),
        namespaces: BTreeMap::from([
            (DEPLOY_NAMESPACE, ns.clone()),
            (JAEGER_NAMESPACE, jaeger.namespace.clone()),
        ]),
        images: BTreeMap::from([(DEPLOY_IMAGE.to_string(), images.webhook.clone())]),
    };
    let docs = render(install, cluster, &ns)?;
    let docs: Vec<Value> = cluster
        .shared_crd(docs)
        .await?
        .into_iter()
        .map(|d| iso.object(d))
        .collect();
    let rendered = started.elapsed();
    // The namespace first (the chart, like `helm install`, leaves it to the installer), with
    // the pod's kubeconfig in it, then the rest; the app's namespace, selected by the webhook.
    let mut namespaces: Vec<Value> = docs
        .iter()
        .filter(|d| d["kind"] == "Namespace")
        .cloned()
        .collect();
    if namespaces.is_empty() {
        namespaces.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    namespaces.push(json!({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": app_ns, "labels": {INSTALL_LABEL: id}}}));
    namespaces.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": KUBECONFIG_MAP, "namespace": ns},
                           "data": {"kubeconfig": relay.kubeconfig()}}));
    cluster.apply(&format!("{id}-namespaces"), &namespaces)?;
    let rest: Vec<Value> = docs
        .into_iter()
        .filter(|d| d["kind"] != "Namespace")
        .collect();
    cluster.apply(&format!("{id}-install"), &rest)?;
    let applied = started.elapsed();

    let selector = "app.kubernetes.io/name=otel-inject";
    let webhook_pod = cluster.ready_pod(&ns, selector, "the webhook pod").await?;
    let ready = started.elapsed();
    let service_ip = cluster.cluster_ip(&ns, "otel-inject").await?;
    // The MutatingWebhookConfiguration names the Service, never a URL: the API server can only
    // reach the pod through the ClusterIP (kube-proxy's rules).
    let mwc_name = format!("otel-inject-{id}");
    let mwc = Api::<MutatingWebhookConfiguration>::all(cluster.client.clone())
        .get(&mwc_name)
        .await?;
    let client_config = serde_json::to_value(&mwc)?["webhooks"][0]["clientConfig"].clone();
    ensure!(
        client_config["url"].is_null() && client_config["service"]["name"] == "otel-inject",
        "{mwc_name} does not call the webhook by its Service: {client_config}"
    );
    let instrumentation = format!("{ns}/default");
    wait_until_called(cluster, &app_ns, &instrumentation)
        .await
        .map_err(|e| e.context(cluster.diagnostics(&ns, selector)))?;
    let called = started.elapsed();

    // An annotated Deployment, as a team writes it; hostAliases only because k8s-local has no
    // cluster DNS: the Instrumentation's endpoint names the collector's Service.
    let endpoint = env_of(&webhook_pod, "OTEL_EXPORTER_OTLP_ENDPOINT");
    ensure!(endpoint.is_none(), "the webhook's own pod was injected");
    let collector_host = format!("jaeger-collector.{}.svc.cluster.local", jaeger.namespace);
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "inventory-api", "namespace": app_ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "inventory-api"}},
                 "template": {
            "metadata": {"labels": {"app": "inventory-api"},
                         "annotations": {"instrumentation.opentelemetry.io/inject-sdk": instrumentation}},
            "spec": {"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 2,
                     "hostAliases": [{"ip": jaeger.collector, "hostnames": [collector_host]}],
                     "containers": [{"name": "inventory", "image": images.app, "imagePullPolicy": "Never",
                                     "command": ["/usr/local/bin/inventory-api"],
                                     "args": ["--listen", "0.0.0.0:8080"],
                                     "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                        "periodSeconds": 1}}]}}}
    });
    cluster.apply(&format!("{id}-app"), &[deployment])?;
    let pod = cluster
        .ready_pod(
            &app_ns,
            "app=inventory-api",
            "the injected Deployment's pod",
        )
        .await?;
    let running = started.elapsed();
    let status = pod["metadata"]["annotations"]["otel-inject.dev/status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ensure!(
        status.contains("injected") && status.contains(&instrumentation),
        "the Deployment's pod is not injected with {instrumentation}: status {status:?}, pod {}",
        pod["metadata"]
    );
    let want_endpoint = format!("http://{collector_host}:4318");
    ensure!(
        env_of(&pod, "OTEL_EXPORTER_OTLP_ENDPOINT").as_deref() == Some(want_endpoint.as_str()),
        "the pod's exporter endpoint is {:?}, not the installed Instrumentation's {want_endpoint}",
        env_of(&pod, "OTEL_EXPORTER_OTLP_ENDPOINT")
    );
    let reviews = admissions(&service_ip).await?;
    ensure!(
        reviews >= 2.0,
        "the webhook's metrics (through its Service) count {reviews} admissions"
    );

    // One request with a known trace id; its server span must reach the Jaeger pod.
    let pod_ip = pod["status"]["podIP"].as_str().unwrap_or_default();
    let trace_id = otel_inject_test_peers::otlp::new_trace_id();
    let r = reqwest::Client::new()
        .post(format!("http://{pod_ip}:8080/reserve"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .header("content-type", "application/json")
        .body(json!({"sku": "kb-42", "quantity": 1}).to_string())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .context("POST /reserve to the injected pod")?;
    ensure!(r.status().is_success(), "POST /reserve: {}", r.status());
    let spans = poll(
        Duration::from_secs(60),
        &format!("trace {trace_id} of inventory-api in the Jaeger pod"),
        || async {
            Ok(jaeger
                .trace(&trace_id)
                .await?
                .filter(|s| s.iter().any(|s| s.service() == "inventory-api")))
        },
    )
    .await
    .map_err(|e| {
        e.context(format!(
            "{}{}",
            cluster.diagnostics(&app_ns, "app=inventory-api"),
            cluster.diagnostics(&jaeger.namespace, "app.kubernetes.io/name=jaeger")
        ))
    })?;
    let server = spans
        .iter()
        .find(|s| s.service() == "inventory-api" && s.kind == jaeger::SERVER)
        .ok_or_else(|| anyhow!("no server span of inventory-api in {spans:?}"))?;
    for (k, v) in [
        ("k8s.namespace.name", app_ns.as_str()),
        ("k8s.deployment.name", "inventory-api"),
        // From the installed Instrumentation (the dev overlay's resource attributes).
        ("deployment.environment.name", "dev"),
    ] {
        ensure!(
            server.res(k) == Some(v),
            "the span's {k} is {:?}, not {v}",
            server.res(k)
        );
    }
    let traced = started.elapsed();
    Ok(format!(
        "rendered {:.1}s, applied {:.1}s, webhook pod Ready {:.1}s, called by the API server \
         through Service {service_ip} {:.1}s, injected pod running {:.1}s, its span in Jaeger \
         {:.1}s (after the start of the install); {reviews} admissions",
        rendered.as_secs_f64(),
        applied.as_secs_f64(),
        ready.as_secs_f64(),
        called.as_secs_f64(),
        running.as_secs_f64(),
        traced.as_secs_f64(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_installs_for_real_by_kustomize_and_helm_and_injects_a_deployment() -> Result<()> {
    let skip = std::env::var("OTEL_INJECT_E2E_SKIP").unwrap_or_default();
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG") else {
        ensure!(
            matches!(skip.as_str(), "1" | "all"),
            "this test needs a throwaway cluster with a node: run ../shared/k8s-local/up.sh and \
             node.sh, then set OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig \
             (.ci/run does this); or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
        eprintln!("deploy install: NOT RUN (OTEL_INJECT_E2E_SKIP={skip})");
        return Ok(());
    };
    if skip == "node" {
        eprintln!("deploy install: NOT RUN (OTEL_INJECT_E2E_SKIP=node: it needs the node)");
        return Ok(());
    }
    let started = Instant::now();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = PathBuf::from(kubeconfig);
    let kc = Kubeconfig::read_from(&kubeconfig).context("reading the e2e kubeconfig")?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    let api_server: SocketAddr = {
        let (host, port) = (config.cluster_url.host(), config.cluster_url.port_u16());
        format!("{}:{}", host.unwrap_or_default(), port.unwrap_or(443))
            .parse()
            .with_context(|| format!("the API server address {}", config.cluster_url))?
    };
    let client = Client::try_from(config)?;
    ensure!(
        node::ready_node(&client).await?.is_some(),
        "k8s-local has no Ready node: run ../shared/k8s-local/node.sh"
    );
    // kube-proxy, so that the API server reaches a webhook by its Service. If this machine
    // could not run it, this is where the test stops, with kube-proxy's own words.
    let proxy = script("tests/deploy/kube-proxy/run.sh").context(
        "kube-proxy (tests/deploy/kube-proxy/run.sh) does not run: the API server cannot reach \
         a webhook registered by Service",
    )?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let run_id = format!("{:x}", (std::process::id() ^ nanos) & 0xff_ffff);
    let cluster = Cluster {
        client,
        kubeconfig,
        dir: tempfile::Builder::new()
            .prefix("otel-inject-install-")
            .tempdir()?,
        applied: Default::default(),
    };
    let images = images(cluster.dir.path())?;
    let built = started.elapsed();
    eprintln!(
        "deploy install {run_id}: kube-proxy healthy ({proxy}); images in {:.1}s: {}, {}, {}",
        built.as_secs_f64(),
        images.webhook,
        images.jaeger,
        images.app
    );
    let relay = Relay::start(api_server).await?;
    let (jaeger, jaeger_s) = install_jaeger(&cluster, &run_id, &images).await?;
    eprintln!(
        "deploy install {run_id}: Jaeger v2 memory overlay Ready in {jaeger_s:.1}s (collector {}, query {})",
        jaeger.collector, jaeger.query
    );
    let mut failures = Vec::new();
    for install in [Install::Kustomize, Install::Helm] {
        let t = Instant::now();
        match install_webhook(install, &cluster, &run_id, &images, &jaeger, &relay).await {
            Ok(detail) => eprintln!(
                "deploy install {run_id}: {}: ok in {:.1}s ({detail})",
                install.name(),
                t.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!(
                    "deploy install {run_id}: {}: FAILED after {:.1}s: {e:#}",
                    install.name(),
                    t.elapsed().as_secs_f64()
                );
                failures.push(install.name());
            }
        }
    }
    drop(cluster);
    drop(relay);
    eprintln!(
        "deploy install {run_id}: total {:.1}s",
        started.elapsed().as_secs_f64()
    );
    ensure!(failures.is_empty(), "failed: {}", failures.join(", "));
    Ok(())
}
