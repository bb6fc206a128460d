//! The self-signed install converges in the order Argo CD applies it (deploy/README.md: the
//! Deployment in wave 0 must be Ready before the MutatingWebhookConfiguration of wave 1 exists).
//! Against a real API server (k8s-local), the real `otel-inject serve --self-signed` starts
//! with no configuration, under exactly the RBAC deploy/ grants it (the ClusterRoles of
//! `otel-inject/base/rbac.yaml` and `components/self-signed/rbac-self-signed.yaml`, bound to a
//! ServiceAccount it impersonates), and must turn ready; then the configuration is applied
//! without a caBundle, as git has it, and the webhook must write it and be called by the API
//! server; deleted and applied again, it must get its caBundle back.
//!
//! Runs when `OTEL_INJECT_E2E_KUBECONFIG` names a kubeconfig, as the e2e suite does; without
//! one it fails and says how to get one, unless `OTEL_INJECT_E2E_SKIP=1` skips it knowingly.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{json, Value};

const MANAGER: &str = "otel-inject-deploy-test";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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

/// The rules of the one ClusterRole in a deploy/ file, with `resourceNames` pointed at `mwc`
/// (deploy/ names its configuration `otel-inject`; this run's is unique).
fn deploy_cluster_role_rules(file: &str, mwc: &str) -> Result<Value> {
    let text = std::fs::read_to_string(repo_root().join(file)).context(file.to_string())?;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let doc: Value = serde::Deserialize::deserialize(doc)?;
        if doc["kind"] == "ClusterRole" {
            let mut rules = doc["rules"].clone();
            for rule in rules.as_array_mut().into_iter().flatten() {
                if let Some(names) = rule.get_mut("resourceNames") {
                    ensure!(
                        names == &json!(["otel-inject"]),
                        "{file}: resourceNames {names}"
                    );
                    *names = json!([mwc]);
                }
            }
            return Ok(rules);
        }
    }
    bail!("{file} has no ClusterRole")
}

struct Run {
    client: Client,
    kubeconfig: PathBuf,
    id: String,
    dir: PathBuf,
}

impl Run {
    fn mwc(&self) -> String {
        format!("otel-inject-order-{}", self.id)
    }
    fn ns(&self) -> String {
        format!("e2e-order-{}", self.id)
    }

    async fn cleanup(&self) {
        let dp = DeleteParams::default();
        let _ = Api::<MutatingWebhookConfiguration>::all(self.client.clone())
            .delete(&self.mwc(), &dp)
            .await;
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.ns(), &dp)
            .await;
        for suffix in ["read", "ca"] {
            let name = format!("{}-{suffix}", self.mwc());
            let _ = Api::<ClusterRoleBinding>::all(self.client.clone())
                .delete(&name, &dp)
                .await;
            let _ = Api::<ClusterRole>::all(self.client.clone())
                .delete(&name, &dp)
                .await;
        }
    }

    /// The namespace (selected by the configuration), its ServiceAccount `otel-inject`, and
    /// deploy/'s two ClusterRoles bound to it.
    async fn setup(&self) -> Result<()> {
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": self.ns(), "labels": {"otel-inject-order": self.id}}
        }))?;
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await?;
        let sas: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &self.ns());
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": "otel-inject"}}))?;
        sas.create(&PostParams::default(), &sa).await?;
        wait_for(
            Duration::from_secs(30),
            "the default ServiceAccount",
            || {
                let sas = sas.clone();
                async move { Ok(sas.get_opt("default").await?.is_some()) }
            },
        )
        .await?;
        for (suffix, file) in [
            ("read", "deploy/otel-inject/base/rbac.yaml"),
            (
                "ca",
                "deploy/otel-inject/components/self-signed/rbac-self-signed.yaml",
            ),
        ] {
            let name = format!("{}-{suffix}", self.mwc());
            let role: ClusterRole = serde_json::from_value(json!({
                "metadata": {"name": name},
                "rules": deploy_cluster_role_rules(file, &self.mwc())?,
            }))?;
            Api::<ClusterRole>::all(self.client.clone())
                .create(&PostParams::default(), &role)
                .await
                .with_context(|| format!("ClusterRole from {file}"))?;
            let binding: ClusterRoleBinding = serde_json::from_value(json!({
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": "otel-inject", "namespace": self.ns()}],
            }))?;
            Api::<ClusterRoleBinding>::all(self.client.clone())
                .create(&PostParams::default(), &binding)
                .await?;
        }
        // The Instrumentation watch needs the CRD; the generated one, as deploy/ ships it.
        let crds = Api::<CustomResourceDefinition>::all(self.client.clone());
        if crds
            .get_opt("instrumentations.opentelemetry.io")
            .await?
            .is_none()
        {
            let crd: CustomResourceDefinition =
                serde_yaml::from_str(&otel_inject::commands::crd_yaml()?)?;
            crds.create(&PostParams::default(), &crd).await?;
        }
        Ok(())
    }

    /// A kubeconfig that acts as the ServiceAccount (impersonation by the admin credentials).
    fn impersonating_kubeconfig(&self) -> Result<PathBuf> {
        let mut kc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&self.kubeconfig)?)?;
        let user = format!("system:serviceaccount:{}:otel-inject", self.ns());
        for u in kc["users"].as_sequence_mut().into_iter().flatten() {
            u["user"]["as"] = serde_yaml::Value::String(user.clone());
        }
        let path = self.dir.join("kubeconfig-as-sa");
        std::fs::write(&path, serde_yaml::to_string(&kc)?)?;
        Ok(path)
    }

    /// The configuration as deploy/ has it (no caBundle), but with a loopback URL and a
    /// namespaceSelector of this run's namespace only.
    async fn apply_mwc(&self, port: u16) -> Result<()> {
        let mwc: MutatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": self.mwc()},
            "webhooks": [{
                "name": "pods.order.otel-inject.dev",
                "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Ignore", "timeoutSeconds": 5,
                "clientConfig": {"url": format!("https://127.0.0.1:{port}/mutate")},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["pods"], "scope": "Namespaced"}],
                "namespaceSelector": {"matchLabels": {"otel-inject-order": self.id}},
            }]
        }))?;
        Api::<MutatingWebhookConfiguration>::all(self.client.clone())
            .patch(
                &self.mwc(),
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&mwc),
            )
            .await?;
        Ok(())
    }

    async fn ca_bundle(&self) -> Result<Option<Vec<u8>>> {
        Ok(
            Api::<MutatingWebhookConfiguration>::all(self.client.clone())
                .get_opt(&self.mwc())
                .await?
                .and_then(|m| m.webhooks?.into_iter().next()?.client_config.ca_bundle)
                .map(|b| b.0),
        )
    }

    /// Creates pods until one comes back with the webhook's status annotation.
    async fn wait_until_called(&self) -> Result<Duration> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.ns());
        let mut n = 0;
        wait_for(Duration::from_secs(60), "the API server to call the webhook", || {
            n += 1;
            let pods = pods.clone();
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("probe-{n}"),
                                 "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"}},
                    // Never scheduled: only admission matters here.
                    "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}],
                             "automountServiceAccountToken": false,
                             "nodeSelector": {"otel-inject-e2e/no-node": "true"}}
                }))?;
                let created = pods.create(&PostParams::default(), &pod).await?;
                Ok(created
                    .metadata
                    .annotations
                    .is_some_and(|a| a.contains_key("otel-inject.dev/status")))
            }
        })
        .await
    }
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

impl Webhook {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn http_status(port: u16, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        s.read_to_string(&mut buf).await
    })
    .await
    .ok()?
    .ok()?;
    buf.split(' ').nth(1)?.parse().ok()
}

async fn scenario(run: &Run) -> Result<String> {
    run.setup().await?;
    let (port, metrics_port) = (free_port()?, free_port()?);
    let log = run.dir.join("webhook.log");
    let out = std::fs::File::create(&log)?;
    let child = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args(["serve", "--self-signed", "--webhook-config", &run.mwc()])
        .args(["--san", "127.0.0.1", "--log-format", "json"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .env("KUBECONFIG", run.impersonating_kubeconfig()?)
        .env_remove("OTEL_INJECT_STANDALONE")
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .context("starting otel-inject serve")?;
    let mut webhook = Webhook { child, log };

    // 1. Wave 0: no configuration yet. The server must stay up and turn ready.
    let started = Instant::now();
    loop {
        if let Some(status) = webhook.child.try_wait()? {
            bail!(
                "serve --self-signed exited ({status}) while its MutatingWebhookConfiguration does \
                 not exist yet: Argo CD would never apply it (wave 1 waits for the Deployment). Log:\n{}",
                webhook.log()
            );
        }
        if http_status(metrics_port, "/readyz").await == Some(200) {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "not ready 60 s after start without its configuration; log:\n{}",
            webhook.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = started.elapsed();
    // Still up a moment later (a deferred exit would fail the rollout as surely).
    tokio::time::sleep(Duration::from_secs(2)).await;
    ensure!(
        webhook.child.try_wait()?.is_none(),
        "exited after turning ready; log:\n{}",
        webhook.log()
    );

    // 2. Wave 1: the configuration, as git has it. The caBundle must follow, then the calls.
    let applied = Instant::now();
    run.apply_mwc(port).await?;
    wait_for(
        Duration::from_secs(30),
        "the caBundle to be written",
        || async {
            Ok(run
                .ca_bundle()
                .await?
                .is_some_and(|b| b.starts_with(b"-----BEGIN CERTIFICATE-----")))
        },
    )
    .await
    .with_context(|| webhook.log())?;
    let published = applied.elapsed();
    run.wait_until_called()
        .await
        .with_context(|| webhook.log())?;
    let called = applied.elapsed();

    // 3. Deleted and applied again (a prune and re-sync): the caBundle comes back.
    Api::<MutatingWebhookConfiguration>::all(run.client.clone())
        .delete(&run.mwc(), &DeleteParams::default())
        .await?;
    wait_for(
        Duration::from_secs(10),
        "the configuration to go",
        || async {
            Ok(Api::<MutatingWebhookConfiguration>::all(run.client.clone())
                .get_opt(&run.mwc())
                .await?
                .is_none())
        },
    )
    .await?;
    let reapplied = Instant::now();
    run.apply_mwc(port).await?;
    wait_for(
        Duration::from_secs(30),
        "the caBundle after re-creation",
        || async { Ok(run.ca_bundle().await?.is_some()) },
    )
    .await
    .with_context(|| webhook.log())?;
    let republished = reapplied.elapsed();
    ensure!(
        webhook.child.try_wait()?.is_none(),
        "the webhook exited; log:\n{}",
        webhook.log()
    );
    Ok(format!(
        "ready without its configuration in {:.1}s; caBundle {:.1}s after the configuration was applied, \
         API server calls {:.1}s after; re-created: caBundle again in {:.1}s",
        ready.as_secs_f64(),
        published.as_secs_f64(),
        called.as_secs_f64(),
        republished.as_secs_f64()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_webhook_serves_before_its_configuration_and_publishes_when_it_appears(
) -> Result<()> {
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG") else {
        ensure!(
            matches!(
                std::env::var("OTEL_INJECT_E2E_SKIP").as_deref(),
                Ok("1" | "all")
            ),
            "this test needs a throwaway cluster: run ../shared/k8s-local/up.sh, then set \
             OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig (.ci/run does this); \
             or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
        eprintln!("self-signed ordering: NOT RUN (OTEL_INJECT_E2E_SKIP=1)");
        return Ok(());
    };
    let kubeconfig = PathBuf::from(kubeconfig);
    let kc = Kubeconfig::read_from(&kubeconfig).context("reading the e2e kubeconfig")?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let id = format!("{:x}", std::process::id() ^ nanos);
    let dir = std::env::temp_dir().join(format!("otel-inject-order-{id}"));
    std::fs::create_dir_all(&dir)?;
    let run = Run {
        client: Client::try_from(config)?,
        kubeconfig,
        id,
        dir,
    };
    let result = scenario(&run).await;
    run.cleanup().await;
    let detail = result?;
    eprintln!(
        "self-signed ordering: ok ({detail}); logs in {}",
        run.dir.display()
    );
    Ok(())
}
