//! `otel-inject check` against a real Kubernetes API server (k8s-local) and a real
//! `otel-inject serve --self-signed` on this machine, registered by URL as e2e_cluster.rs does
//! and through a Service with hand-written Endpoints, as deploy/ installs it: the healthy
//! install passes both ways, and each broken case is reported with its fault: the webhook's own
//! namespace selected, an Instrumentation with a typo'd field (applied by kubectl, so the API
//! server prunes it) and one with an exporter host of invalid DNS syntax, annotations that
//! resolve to no Instrumentation or sit on the Deployment's own metadata, a missing CRD, a
//! caBundle of another CA, and the webhook down (killed).
//!
//! The cluster is shared (e2e_cluster.rs, the controller's e2e, other people's runs): every
//! object here is named with this run's id, the namespace-scoped checks run with `-n` on this
//! run's namespaces, and nothing shared is deleted. In particular the missing-CRD case does not
//! delete the CRD, which every other test needs; it points check at a CRD name that does not
//! exist (the hidden `--crd-name`), which is the same code path as a cluster without it.
//!
//! Runs when `OTEL_INJECT_E2E_KUBECONFIG` names a kubeconfig; without one it fails and says how
//! to get one, unless `OTEL_INJECT_E2E_SKIP=1` asks to skip it, as e2e_cluster.rs does.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{json, Value};

const CRD: &str = "instrumentations.opentelemetry.io";
/// The same manager as e2e_cluster.rs: the CRD has one test owner whichever applies it first.
const FIELD_MANAGER: &str = "otel-inject-e2e";
const SELECTOR_LABEL: &str = "otel-inject-e2e";

struct Cluster {
    client: Client,
    kubeconfig: PathBuf,
    run_id: String,
    namespaces: Vec<String>,
    mwcs: Vec<String>,
    rbac: Vec<String>,
}

struct Webhook {
    child: Child,
    log: PathBuf,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One run of `otel-inject check -o json`.
struct CheckRun {
    code: i32,
    findings: Vec<Value>,
    stderr: String,
}

impl CheckRun {
    fn with(&self, check: &str) -> Vec<&Value> {
        self.findings
            .iter()
            .filter(|f| f["check"] == check)
            .collect()
    }

    fn levels(&self, check: &str) -> Vec<&str> {
        self.with(check)
            .iter()
            .filter_map(|f| f["level"].as_str())
            .collect()
    }

    /// The one finding of `check` at `level` whose text contains `text`.
    fn find(&self, check: &str, level: &str, text: &str) -> Result<&Value> {
        self.with(check)
            .into_iter()
            .find(|f| f["level"] == level && f["what"].as_str().is_some_and(|w| w.contains(text)))
            .ok_or_else(|| anyhow!("no {level} {check} line with {text:?} in {self}"))
    }
}

impl std::fmt::Display for CheckRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exit code {}", self.code)?;
        for x in &self.findings {
            writeln!(
                f,
                "  {:<4} [{}] {}",
                x["level"].as_str().unwrap_or(""),
                x["check"].as_str().unwrap_or(""),
                x["what"].as_str().unwrap_or("")
            )?;
        }
        write!(f, "  stderr: {}", self.stderr)
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_err = None;
    while start.elapsed() < timeout {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(anyhow!(
        "timed out after {timeout:?} waiting for {what} (last error: {last_err:?})"
    ))
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
            mwcs: Vec::new(),
            rbac: Vec::new(),
        })
    }

    /// A namespace of this run; `selected` puts it under this run's webhook.
    async fn namespace(&mut self, what: &str, selected: bool) -> Result<String> {
        let name = format!("e2e-check-{what}-{}", self.run_id);
        let mut labels = BTreeMap::new();
        if selected {
            labels.insert(SELECTOR_LABEL.to_string(), self.run_id.clone());
        }
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?;
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

    /// The CRD as ours, applied as e2e_cluster.rs applies it (same content, same manager).
    async fn ensure_crd(&self) -> Result<()> {
        let crd = otel_inject_lib::crd::crd();
        let api = Api::<CustomResourceDefinition>::all(self.client.clone());
        api.patch(
            CRD,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .context("applying the CRD")?;
        wait_for(
            Duration::from_secs(30),
            "the CRD to be Established",
            || async {
                let c = api.get(CRD).await?;
                Ok(c.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True"))
            },
        )
        .await
    }

    /// A MutatingWebhookConfiguration calling `url`, for this run's namespaces (or for
    /// none: `selector_value` that no namespace carries), with `ca_bundle` when given.
    async fn register(
        &mut self,
        name: &str,
        url: &str,
        selector_value: &str,
        ca_bundle: Option<&str>,
    ) -> Result<()> {
        self.register_with(name, json!({"url": url}), selector_value, ca_bundle)
            .await
    }

    async fn register_with(
        &mut self,
        name: &str,
        mut client_config: Value,
        selector_value: &str,
        ca_bundle: Option<&str>,
    ) -> Result<()> {
        if let Some(pem) = ca_bundle {
            client_config["caBundle"] = json!(base64(pem.as_bytes()));
        }
        let mwc: MutatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [{
                "name": "pods.check.e2e.otel-inject.dev",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Ignore",
                "timeoutSeconds": 5,
                "reinvocationPolicy": "IfNeeded",
                "clientConfig": client_config,
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchExpressions": [
                    {"key": SELECTOR_LABEL, "operator": "In", "values": [selector_value]},
                    {"key": "otel-inject.dev/admission-webhooks", "operator": "NotIn", "values": ["disabled"]}
                ]}
            }]
        }))?;
        Api::<MutatingWebhookConfiguration>::all(self.client.clone())
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&mwc),
            )
            .await?;
        self.mwcs.push(name.to_string());
        Ok(())
    }

    async fn cleanup(&self) {
        let api = Api::<Namespace>::all(self.client.clone());
        for ns in &self.namespaces {
            let _ = api.delete(ns, &DeleteParams::default()).await;
        }
        let api = Api::<MutatingWebhookConfiguration>::all(self.client.clone());
        for m in &self.mwcs {
            let _ = api.delete(m, &DeleteParams::default()).await;
        }
        let roles = Api::<ClusterRole>::all(self.client.clone());
        let bindings = Api::<ClusterRoleBinding>::all(self.client.clone());
        for name in &self.rbac {
            let _ = roles.delete(name, &DeleteParams::default()).await;
            let _ = bindings.delete(name, &DeleteParams::default()).await;
        }
    }

    /// A kubeconfig that acts as a user in a group bound to deploy/cluster-tools' ClusterRole
    /// (its rules, under this run's name), so that check and status run with exactly the
    /// permissions the manifest grants. Impersonation (`as`, `as-groups`) rather than a
    /// ServiceAccount token: it does not wait on the controller-manager's token controller,
    /// which a loaded shared machine makes slow.
    async fn readonly_kubeconfig(&mut self) -> Result<PathBuf> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/cluster-tools/rbac-readonly.yaml"
        );
        let text = std::fs::read_to_string(path)?;
        let mut role = None;
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = <Value as serde::Deserialize>::deserialize(doc)?;
            if v["kind"] == "ClusterRole" {
                role = Some(v);
            }
        }
        let mut role = role.ok_or_else(|| anyhow!("no ClusterRole in {path}"))?;
        let name = format!("otel-inject-readonly-e2e-{}", self.run_id);
        role["metadata"] = json!({"name": name});
        self.rbac.push(name.clone());
        Api::<ClusterRole>::all(self.client.clone())
            .create(&PostParams::default(), &serde_json::from_value(role)?)
            .await?;
        Api::<ClusterRoleBinding>::all(self.client.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": name},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}]
                }))?,
            )
            .await?;
        let mut kc: Value = serde_yaml::from_str(&std::fs::read_to_string(&self.kubeconfig)?)?;
        for user in kc["users"]
            .as_array_mut()
            .ok_or_else(|| anyhow!("no users in the e2e kubeconfig"))?
        {
            user["user"]["as"] = json!("otel-inject-check-e2e");
            user["user"]["as-groups"] = json!([name]);
        }
        let out =
            std::env::temp_dir().join(format!("otel-inject-check-e2e-{}.kubeconfig", self.run_id));
        std::fs::write(&out, serde_yaml::to_string(&kc)?)?;
        Ok(out)
    }

    /// `otel-inject check --kubeconfig ... -o json <args>`.
    fn check(&self, args: &[&str]) -> Result<CheckRun> {
        self.check_as(&self.kubeconfig, args)
    }

    fn check_as(&self, kubeconfig: &Path, args: &[&str]) -> Result<CheckRun> {
        let out = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
            .arg("check")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["-o", "json"])
            .args(args)
            .env_remove("KUBECONFIG")
            .env_remove("OTEL_INJECT_WEBHOOK_CONFIG")
            .stdin(Stdio::null())
            .output()
            .context("running otel-inject check")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let findings: Vec<Value> = serde_json::from_str(&stdout).with_context(|| {
            format!(
                "check -o json printed no JSON array: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok(CheckRun {
            code: out.status.code().unwrap_or(-1),
            findings,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `kubectl apply -f -` (client-side: it records last-applied-configuration).
    fn kubectl_apply(&self, manifest: &Value) -> Result<()> {
        self.kubectl_apply_with(manifest, &[])
    }

    fn kubectl_apply_with(&self, manifest: &Value, extra: &[&str]) -> Result<()> {
        use std::io::Write as _;
        let mut child = Command::new("kubectl")
            .args(["apply", "-f", "-"])
            .args(extra)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running kubectl (install Debian's kubectl package)")?;
        child
            .stdin
            .take()
            .ok_or_else(|| anyhow!("no stdin"))?
            .write_all(manifest.to_string().as_bytes())?;
        let out = child.wait_with_output()?;
        ensure!(
            out.status.success(),
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `otel-inject serve --self-signed` on `ip`, writing its CA into `mwc`; its certificate also
/// names the Service `otel-inject` of `service_namespace`.
fn start_webhook(
    cluster: &Cluster,
    mwc: &str,
    ip: &str,
    service_namespace: &str,
    port: u16,
    metrics_port: u16,
) -> Result<Webhook> {
    let log = std::env::temp_dir().join(format!("otel-inject-check-e2e-{}.log", cluster.run_id));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args([
            "serve",
            "--self-signed",
            "--webhook-config",
            mwc,
            "--san",
            ip,
            "--service-namespace",
            service_namespace,
        ])
        .args(["--listen", &format!("{ip}:{port}")])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .args(["--log-format", "json"])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env_remove("OTEL_INJECT_STANDALONE")
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .context("starting otel-inject serve")?;
    Ok(Webhook { child, log })
}

async fn readyz(port: u16) -> Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await?;
    Ok(buf.starts_with("HTTP/1.1 200"))
}

/// This machine's first non-loopback IPv4 address (`hostname -I`).
fn host_ip() -> Result<String> {
    let out = Command::new("hostname")
        .arg("-I")
        .output()
        .context("running hostname -I")?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no non-loopback IPv4 address on this machine (hostname -I)"))
}

fn skip_all() -> bool {
    matches!(
        std::env::var("OTEL_INJECT_E2E_SKIP").as_deref(),
        Ok("1") | Ok("all")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_healthy_install_and_each_broken_one() -> Result<()> {
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG") else {
        ensure!(
            skip_all(),
            "the check end-to-end test needs a throwaway cluster: run ../shared/k8s-local/up.sh, \
             then set OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig \
             (.ci/run does this); or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
        eprintln!("check e2e: NOT RUN (OTEL_INJECT_E2E_SKIP=1)");
        return Ok(());
    };
    let mut cluster = Cluster::connect(Path::new(&kubeconfig)).await?;
    let result = scenarios(&mut cluster).await;
    cluster.cleanup().await;
    result
}

async fn scenarios(cluster: &mut Cluster) -> Result<()> {
    cluster.ensure_crd().await?;
    let run = cluster.run_id.clone();
    // The webhook's "own" namespace: not selected by its configuration.
    let home = cluster.namespace("home", false).await?;
    // Workloads under the webhook, all fine.
    let apps = cluster.namespace("apps", true).await?;
    // The broken objects, out of the webhook's way.
    let broken = cluster.namespace("broken", false).await?;

    let mwc = format!("otel-inject-e2e-check-{run}");
    let port = free_port()?;
    let metrics_port = free_port()?;
    // Not loopback: the API server refuses Endpoints on 127.0.0.0/8, and the Service case below
    // needs one. The URL cases use the same address.
    let ip = host_ip()?;
    let url = format!("https://{ip}:{port}/mutate");
    cluster.register(&mwc, &url, &run, None).await?;
    let mut webhook = start_webhook(cluster, &mwc, &ip, &home, port, metrics_port)?;
    let mwcs = Api::<MutatingWebhookConfiguration>::all(cluster.client.clone());
    let up = wait_for(
        Duration::from_secs(60),
        "the webhook ready and its caBundle written",
        || {
            let mwcs = mwcs.clone();
            let mwc = mwc.clone();
            let exited = webhook.child.try_wait().ok().flatten();
            async move {
                if let Some(status) = exited {
                    bail!("otel-inject serve exited with {status}");
                }
                let written = mwcs
                    .get(&mwc)
                    .await?
                    .webhooks
                    .unwrap_or_default()
                    .first()
                    .is_some_and(|w| w.client_config.ca_bundle.is_some());
                Ok(written && readyz(metrics_port).await.unwrap_or(false))
            }
        },
    )
    .await;
    if let Err(e) = up {
        bail!(
            "{e:#}; webhook log:\n{}",
            std::fs::read_to_string(&webhook.log).unwrap_or_default()
        );
    }

    // A healthy install: a collector Service, an Instrumentation exporting to it and a
    // workload that asks for it.
    cluster.kubectl_apply(&json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "otel-collector", "namespace": home},
        "spec": {"ports": [{"name": "otlp-http", "port": 4318}]}
    }))?;
    cluster.kubectl_apply(&json!({
        "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
        "metadata": {"name": "default", "namespace": apps},
        "spec": {"exporter": {"endpoint": format!("http://otel-collector.{home}:4318")}}
    }))?;
    cluster.kubectl_apply(&deployment(
        &apps,
        "cart",
        json!({}),
        json!({"instrumentation.opentelemetry.io/inject-java": "true"}),
    ))?;
    let healthy = cluster.check(&[
        "--webhook-config",
        &mwc,
        "-n",
        &apps,
        "--webhook-namespace",
        &home,
    ])?;
    eprintln!("check e2e: healthy install:\n{healthy}");
    ensure!(
        healthy.code == 0,
        "a healthy install must exit 0:\n{healthy}"
    );
    for check in [
        "webhook-configuration",
        "endpoints",
        "namespace-exclusion",
        "certificate",
        "certificate-expiry",
        "webhook-answer",
        "instrumentation",
        "annotations",
    ] {
        let levels = healthy.levels(check);
        ensure!(
            !levels.is_empty() && levels.iter().all(|l| *l == "ok"),
            "{check}: expected ok lines only:\n{healthy}"
        );
    }
    // The CRD is ours unless someone installed another one on the shared cluster: never a fail.
    ensure!(healthy.levels("crd") != ["fail"], "crd:\n{healthy}");
    healthy.find(
        "certificate",
        "ok",
        &format!("the caBundle verifies the certificate it presents, for {ip}"),
    )?;
    healthy.find("webhook-answer", "ok", "allowed, same uid")?;
    healthy.find(
        "instrumentation",
        "ok",
        &format!("Instrumentation {apps}/default is valid"),
    )?;

    // Called through a Service, as deploy/ installs it: its Endpoints (written by hand, no pod
    // behind them) point at the webhook; check connects to each with the name the API server
    // verifies, otel-inject.<namespace>.svc. The caBundle is copied over, as cert-manager's
    // cainjector would; the configuration selects no namespace.
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), &home);
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "otel-inject"},
                "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port}]}
            }))?,
        )
        .await?;
    let endpoints: Api<Endpoints> = Api::namespaced(cluster.client.clone(), &home);
    let subset = |ready: &str| {
        json!({"metadata": {"name": "otel-inject"},
               "subsets": [{ready: [{"ip": ip}], "ports": [{"name": "https", "port": port}]}]})
    };
    endpoints
        .create(
            &PostParams::default(),
            &serde_json::from_value(subset("addresses"))?,
        )
        .await?;
    let bundle = mwcs.get(&mwc).await?.webhooks.unwrap_or_default()[0]
        .client_config
        .ca_bundle
        .clone()
        .ok_or_else(|| anyhow!("no caBundle on {mwc}"))?;
    let by_service = format!("otel-inject-e2e-check-svc-{run}");
    cluster
        .register_with(
            &by_service,
            json!({"service": {"namespace": home, "name": "otel-inject", "port": 443, "path": "/mutate"}}),
            &format!("never-{run}"),
            Some(&String::from_utf8(bundle.0)?),
        )
        .await?;
    let service_mode = cluster.check(&["--webhook-config", &by_service, "-n", &apps])?;
    eprintln!("check e2e: through a Service:\n{service_mode}");
    ensure!(service_mode.code == 0, "{service_mode}");
    service_mode.find(
        "endpoints",
        "ok",
        &format!("Service {home}/otel-inject: 1 ready endpoint(s) on port {port}"),
    )?;
    service_mode.find(
        "certificate",
        "ok",
        &format!("at {ip}:{port}: the caBundle verifies the certificate it presents, for otel-inject.{home}.svc"),
    )?;
    service_mode.find("webhook-answer", "ok", "allowed, same uid")?;
    // Its own namespace (the Service's) carries no selected label: excluded.
    service_mode.find(
        "namespace-exclusion",
        "ok",
        &format!("excludes the webhook's own namespace {home}"),
    )?;
    // The same endpoint, not ready.
    endpoints
        .replace("otel-inject", &PostParams::default(), &{
            let mut e: Endpoints = serde_json::from_value(subset("notReadyAddresses"))?;
            e.metadata.resource_version = endpoints
                .get("otel-inject")
                .await?
                .metadata
                .resource_version;
            e
        })
        .await?;
    let not_ready = cluster.check(&["--webhook-config", &by_service, "-n", &apps])?;
    not_ready.find("endpoints", "fail", "1 endpoint(s), none ready")?;
    ensure!(not_ready.code == 8, "{not_ready}");

    // The webhook's own namespace under its namespaceSelector: a warning, 5 with --strict.
    let selected = cluster.check(&[
        "--webhook-config",
        &mwc,
        "-n",
        &apps,
        "--webhook-namespace",
        &apps,
    ])?;
    selected.find(
        "namespace-exclusion",
        "warn",
        &format!("selects the webhook's own namespace {apps}"),
    )?;
    ensure!(selected.code == 0, "warnings alone exit 0:\n{selected}");
    let strict = cluster.check(&[
        "--webhook-config",
        &mwc,
        "-n",
        &apps,
        "--webhook-namespace",
        &apps,
        "--strict",
    ])?;
    ensure!(
        strict.code == 5,
        "--strict with a warning exits 5:\n{strict}"
    );

    // Instrumentations with a typo (pruned by the API server, found in what kubectl applied)
    // and with an exporter host no resolver takes; annotations that resolve to nothing.
    // kubectl's own schema check would refuse the typo when run by hand; what applies without
    // it (--validate=false, Argo CD's Validate=false, a controller) meets only the API server,
    // which, at 1.20, prunes the field without a word.
    cluster.kubectl_apply_with(
        &json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "typo", "namespace": broken},
            "spec": {"exportr": {"endpoint": "http://otel-collector.observability:4318"}}
        }),
        &["--validate=false"],
    )?;
    cluster.kubectl_apply(&json!({
        "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
        "metadata": {"name": "underscore", "namespace": broken},
        "spec": {"exporter": {"endpoint": "http://otel_collector.observability:4317"}}
    }))?;
    cluster.kubectl_apply(&json!({
        "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
        "metadata": {"name": "no-collector", "namespace": broken},
        "spec": {"exporter": {"endpoint": format!("http://missing-collector.{home}.svc:4318")}}
    }))?;
    cluster.kubectl_apply(&deployment(
        &broken,
        "on-metadata",
        json!({"instrumentation.opentelemetry.io/inject-java": "typo"}),
        json!({}),
    ))?;
    cluster.kubectl_apply(&deployment(
        &broken,
        "missing",
        json!({}),
        json!({"instrumentation.opentelemetry.io/inject-python": "nope"}),
    ))?;
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        &broken,
        &kube::discovery::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            "opentelemetry.io",
            "v1alpha1",
            "Instrumentation",
        )),
    );
    let stored = api.get("typo").await?;
    ensure!(
        stored.data["spec"].get("exportr").is_none(),
        "the API server was expected to prune the typo: {}",
        stored.data
    );
    let typos = cluster.check(&[
        "--webhook-config",
        &mwc,
        "-n",
        &broken,
        "--webhook-namespace",
        &home,
    ])?;
    eprintln!("check e2e: broken Instrumentations and annotations:\n{typos}");
    ensure!(typos.code == 8, "a failed check exits 8:\n{typos}");
    typos.find(
        "instrumentation",
        "fail",
        "`spec.exportr` is not an Instrumentation field (did you mean `exporter`?)",
    )?;
    typos.find(
        "instrumentation",
        "fail",
        "\"otel_collector.observability\" is not a valid DNS name",
    )?;
    typos.find(
        "instrumentation",
        "warn",
        &format!("names Service {home}/missing-collector, but namespace {home} has no Service missing-collector"),
    )?;
    typos.find("annotations", "warn", &format!("Deployment {broken}/on-metadata has instrumentation.opentelemetry.io/inject-java on its own metadata"))?;
    typos.find(
        "annotations",
        "warn",
        &format!("Deployment {broken}/missing asks for python"),
    )?;

    // The CRD missing (a name that does not exist: the real one stays for everyone else).
    let missing = format!("instrumentations-{run}.opentelemetry.io");
    let no_crd = cluster.check(&[
        "--webhook-config",
        &mwc,
        "-n",
        &apps,
        "--webhook-namespace",
        &home,
        "--crd-name",
        &missing,
    ])?;
    no_crd.find("crd", "fail", &format!("CRD {missing} is not installed"))?;
    ensure!(no_crd.code == 8, "{no_crd}");

    // A caBundle of another CA, on a second configuration that calls the same webhook but
    // selects no namespace (the API server never uses it).
    let other_ca =
        otel_inject::selfsigned::issue(std::slice::from_ref(&ip), Duration::from_secs(86_400))?;
    let wrong = format!("otel-inject-e2e-check-wrong-{run}");
    cluster
        .register(
            &wrong,
            &url,
            &format!("never-{run}"),
            Some(&other_ca.ca_pem),
        )
        .await?;
    let bad_bundle = cluster.check(&[
        "--webhook-config",
        &wrong,
        "-n",
        &apps,
        "--webhook-namespace",
        &home,
    ])?;
    eprintln!("check e2e: wrong caBundle:\n{bad_bundle}");
    bad_bundle.find(
        "certificate",
        "fail",
        "the caBundle does not verify the certificate the webhook presents",
    )?;
    ensure!(
        bad_bundle.with("webhook-answer").is_empty(),
        "no review is sent to an unverified webhook:\n{bad_bundle}"
    );
    ensure!(bad_bundle.code == 8, "{bad_bundle}");

    // With only the read-only ClusterRole of deploy/cluster-tools: check reads everything it
    // needs (the healthy install again), and so does status.
    let readonly = cluster.readonly_kubeconfig().await?;
    let limited = cluster.check_as(
        &readonly,
        &[
            "--webhook-config",
            &mwc,
            "-n",
            &apps,
            "--webhook-namespace",
            &home,
        ],
    )?;
    ensure!(
        limited.code == 0,
        "check with deploy/cluster-tools' ClusterRole:\n{limited}"
    );
    ensure!(
        limited.findings.len() == healthy.findings.len(),
        "check with deploy/cluster-tools' ClusterRole:\n{limited}\nas admin:\n{healthy}"
    );
    for args in [vec!["status"], vec!["status", "-n", apps.as_str()]] {
        // A shared, loaded cluster can take a while to list every pod.
        let status = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
            .args(&args)
            .args(["--timeout", "120s"])
            .arg("--kubeconfig")
            .arg(&readonly)
            .env_remove("KUBECONFIG")
            .output()?;
        ensure!(
            status.status.code() != Some(7),
            "{args:?} with deploy/cluster-tools' ClusterRole cannot read the cluster: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    // The webhook down.
    webhook.child.kill()?;
    webhook.child.wait()?;
    let down = cluster.check(&[
        "--webhook-config",
        &mwc,
        "-n",
        &apps,
        "--webhook-namespace",
        &home,
    ])?;
    eprintln!("check e2e: webhook down:\n{down}");
    down.find("certificate", "fail", "cannot connect")?;
    ensure!(down.code == 8, "{down}");

    // The human form of the same.
    let text = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args([
            "check",
            "--webhook-config",
            &mwc,
            "-n",
            &apps,
            "--webhook-namespace",
            &home,
            "--kubeconfig",
        ])
        .arg(&cluster.kubeconfig)
        .output()?;
    let stdout = String::from_utf8_lossy(&text.stdout);
    ensure!(
        stdout.lines().any(|l| l.starts_with(&format!(
            "fail  webhook pods.check.e2e.otel-inject.dev at {ip}:"
        )) && l.contains("  — start the webhook")),
        "text output:\n{stdout}"
    );
    ensure!(text.status.code() == Some(8), "{stdout}");
    Ok(())
}

/// A Deployment with no replicas: its annotations matter here, its pods would not.
fn deployment(namespace: &str, name: &str, own: Value, template: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": own},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": template},
                "spec": {"containers": [{"name": "app", "image": "app:1"}]}
            }
        }
    })
}
