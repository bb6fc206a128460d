//! Scenarios whose pods really run, on k8s-local's node (`../shared/k8s-local/node.sh`: a
//! kube-scheduler, a kubelet, containerd and runc). Images are built offline and imported into
//! the node's containerd (`otel_inject_test_peers::images`); nothing is pulled.
//!
//! 10. A Deployment injected through the API server: the agent init container really copies the
//!     agent image's files into the shared volume, and the app container (busybox) sees them at
//!     the paths its env names (and starts although the exporter's TLS Secret does not exist), with that env resolved by the real kubelet (pod name, UID, node
//!     name, pod IP, `$(VAR)` references inside `OTEL_RESOURCE_ATTRIBUTES`).
//! 11. The SDK examples (orders-api -> inventory-api) as pods on a Debian base image, injected by
//!     the webhook with `inject-sdk`, exporting to a real Jaeger on the host (the bridge address
//!     pods reach it at); the trace is read back from Jaeger's query API.

use super::*;

use kube::api::LogParams;
use otel_inject_test_peers::images::{Image, HOST_IP};
use otel_inject_test_peers::jaeger::{Jaeger, SERVER};

/// Where the real .NET agent image keeps what the CLR loads (`/autoinstrumentation/...`,
/// copied to `/otel-auto-instrumentation-dotnet`): the paths that `CORECLR_PROFILER_PATH`,
/// `DOTNET_STARTUP_HOOKS`, `DOTNET_ADDITIONAL_DEPS` and `DOTNET_SHARED_STORE` point into. The
/// .NET agent is published on NuGet and as an image, neither of which this machine reaches, so
/// the stand-in has the same layout and tells its files apart by content.
const DOTNET_AGENT_FILES: &[&str] = &[
    "linux/OpenTelemetry.AutoInstrumentation.Native.so",
    "linux-musl/OpenTelemetry.AutoInstrumentation.Native.so",
    "net/OpenTelemetry.AutoInstrumentation.StartupHook.dll",
    "AdditionalDeps/shared/Microsoft.NETCore.App/8.0.0/OpenTelemetry.AutoInstrumentation.AdditionalDeps.deps.json",
    "store/x64/net8.0/opentelemetry.api/1.12.0/lib/net8.0/OpenTelemetry.Api.dll",
];

/// Creates a one-replica Deployment and waits until its pod runs with every container started;
/// returns that pod as the API server has it.
pub(crate) async fn run_deployment(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    template: Value,
) -> Result<Value> {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": template}
    }))?;
    deployments.create(&PostParams::default(), &d).await?;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let selector = format!("app={name}");
    let start = Instant::now();
    loop {
        let list = pods.list(&ListParams::default().labels(&selector)).await?;
        if let Some(p) = list.items.into_iter().next() {
            let p = serde_json::to_value(p)?;
            let running = p["status"]["phase"] == "Running";
            let started = p["status"]["containerStatuses"]
                .as_array()
                .is_some_and(|cs| cs.iter().all(|c| c["started"] == true));
            if running && started {
                return Ok(p);
            }
            if start.elapsed() > Duration::from_secs(90) {
                bail!("{name}'s pod does not run after 90 s; the API server has: {p}");
            }
        } else if start.elapsed() > Duration::from_secs(90) {
            bail!("{name} has no pod after 90 s");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The container's log once it contains `marker`.
async fn log_with(
    cluster: &Cluster,
    ns: &str,
    pod: &str,
    container: &str,
    marker: &str,
) -> Result<String> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let params = LogParams {
        container: Some(container.into()),
        ..LogParams::default()
    };
    let start = Instant::now();
    loop {
        let log = pods.logs(pod, &params).await.unwrap_or_default();
        if log.contains(marker) {
            return Ok(log);
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("no {marker} in {pod}/{container}'s log after 30 s; it logged:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `KEY=value` lines of an `env` dump between `== env` and the next `==` line.
fn logged_env(log: &str) -> BTreeMap<String, String> {
    log.lines()
        .skip_while(|l| *l != "== env")
        .skip(1)
        .take_while(|l| !l.starts_with("=="))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub async fn scenario_agent_copy(cluster: &mut Cluster, node: &str) -> Result<String> {
    // The agent image: busybox for `cp`, and the agent's files under /autoinstrumentation.
    let mut agent = Image::busybox("dotnet-agent-standin")?;
    for f in DOTNET_AGENT_FILES {
        agent = agent.file(
            &format!("/autoinstrumentation/{f}"),
            format!("stand-in for {f}\n").as_bytes(),
            0o644,
        )?;
    }
    let agent = agent.build()?;
    let app = Image::busybox("app-shell")?.build()?;

    let ns = cluster
        .namespace_with_instrumentation(
            "running",
            true,
            json!({}),
            "dotnet",
            json!({
                // The TLS Secret does not exist: its volume is optional, so the pod still
                // starts (a required one holds it in ContainerCreating).
                "exporter": {"endpoint": "https://jaeger-collector.monitoring:4318",
                             "tls": {"secretName": "absent-client-certs", "ca_file": "ca.crt"}},
                "sampler": {"type": "parentbased_always_on"},
                "resource": {"addK8sUIDAttributes": true},
                "dotnet": {"image": agent}
            }),
        )
        .await?;
    // The app prints what its process sees, then which agent files are where the env says.
    // (No `$$` in it: the kubelet turns `$$` into `$` in commands, as it expands `$(VAR)`.)
    let script = r#"echo "== env"; env | sort; echo "== files"
cd /otel-auto-instrumentation-dotnet && find . -type f | sed 's|^\./||' | sort
echo "== checks"
test -f "$CORECLR_PROFILER_PATH" && echo "file CORECLR_PROFILER_PATH"
test -f "$DOTNET_STARTUP_HOOKS" && echo "file DOTNET_STARTUP_HOOKS"
test -d "$DOTNET_ADDITIONAL_DEPS" && echo "dir DOTNET_ADDITIONAL_DEPS"
test -d "$DOTNET_SHARED_STORE" && echo "dir DOTNET_SHARED_STORE"
test -d "$OTEL_DOTNET_AUTO_HOME" && echo "dir OTEL_DOTNET_AUTO_HOME"
test -d /otel-auto-instrumentation-secret-absent-client-certs && echo "dir TLS mount"
test -e "$OTEL_EXPORTER_OTLP_CERTIFICATE" || echo "no CA file"
echo "== done"; exec sleep 3600"#;
    let pod = run_deployment(
        cluster,
        &ns,
        "shop-dotnet",
        json!({
            "metadata": {"labels": {"app": "shop-dotnet"},
                         "annotations": {"instrumentation.opentelemetry.io/inject-dotnet": "true"}},
            "spec": {"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "app", "image": app, "imagePullPolicy": "Never",
                                     "command": ["/bin/sh", "-c", script]}]}
        }),
    )
    .await?;
    let pod_name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let init = &pod["status"]["initContainerStatuses"][0];
    ensure!(
        init["name"] == "opentelemetry-auto-instrumentation-dotnet"
            && init["state"]["terminated"]["exitCode"] == 0
            && init["image"]
                .as_str()
                .is_some_and(|i| i.contains("dotnet-agent-standin")),
        "the agent copy did not run from the agent image: {init}"
    );
    let log = log_with(cluster, &ns, &pod_name, "app", "== done").await?;
    let env = logged_env(&log);
    let get = |k: &str| env.get(k).map(String::as_str).unwrap_or("<unset>");

    // The agent's files, copied by the init container into the volume the app mounts.
    let files: Vec<&str> = log
        .lines()
        .skip_while(|l| *l != "== files")
        .skip(1)
        .take_while(|l| !l.starts_with("=="))
        .collect();
    let mut want: Vec<&str> = DOTNET_AGENT_FILES.to_vec();
    want.sort_unstable();
    ensure!(files == want, "agent files in the app container: {files:?}");
    for check in [
        "file CORECLR_PROFILER_PATH",
        "file DOTNET_STARTUP_HOOKS",
        "dir DOTNET_ADDITIONAL_DEPS",
        "dir DOTNET_SHARED_STORE",
        "dir OTEL_DOTNET_AUTO_HOME",
        // The missing Secret's mount is there, empty: the pod started without it.
        "dir TLS mount",
        "no CA file",
    ] {
        ensure!(log.lines().any(|l| l == check), "{check} missing:\n{log}");
    }
    ensure!(get("CORECLR_ENABLE_PROFILING") == "1", "{env:?}");

    // The downward API and $(VAR) expansion, as the real kubelet did them.
    let pod_ip = pod["status"]["podIP"].as_str().unwrap_or_default();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    ensure!(
        get("OTEL_RESOURCE_ATTRIBUTES_POD_NAME") == pod_name,
        "{env:?}"
    );
    ensure!(get("OTEL_RESOURCE_ATTRIBUTES_POD_UID") == uid, "{env:?}");
    ensure!(get("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME") == node, "{env:?}");
    ensure!(
        get("OTEL_POD_IP") == pod_ip && !pod_ip.is_empty(),
        "{env:?}"
    );
    ensure!(get("OTEL_NODE_IP") == HOST_IP.to_string(), "{env:?}");
    ensure!(get("OTEL_SERVICE_NAME") == "shop-dotnet", "{env:?}");
    let attrs: BTreeMap<&str, &str> = get("OTEL_RESOURCE_ATTRIBUTES")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let rs = pod["metadata"]["ownerReferences"][0]["name"]
        .as_str()
        .unwrap_or_default();
    for (k, v) in [
        ("k8s.pod.name", pod_name.as_str()),
        ("k8s.pod.uid", uid),
        ("k8s.node.name", node),
        ("k8s.namespace.name", ns.as_str()),
        ("k8s.container.name", "app"),
        ("k8s.deployment.name", "shop-dotnet"),
        ("k8s.replicaset.name", rs),
    ] {
        ensure!(
            attrs.get(k) == Some(&v),
            "{k} is {:?}, not {v}: {attrs:?}",
            attrs.get(k)
        );
    }
    let instance = attrs
        .get("service.instance.id")
        .copied()
        .unwrap_or_default();
    ensure!(
        instance == format!("{ns}.{pod_name}.app"),
        "service.instance.id {instance}"
    );
    ensure!(
        !log.contains("$("),
        "an unexpanded reference reached the process:\n{log}"
    );
    Ok(format!(
        "{pod_name} ran on {node}: {} agent files copied by the init container, env resolved by the kubelet (pod IP {pod_ip})",
        files.len()
    ))
}

/// A host file of this build (the example binaries sit beside the otel-inject binary under
/// target/; `cargo test --workspace` builds them).
fn example_binary(name: &str) -> Result<PathBuf> {
    let dir = Path::new(env!("CARGO_BIN_EXE_otel-inject"))
        .parent()
        .ok_or_else(|| anyhow!("no target dir"))?;
    let bin = dir.join(name);
    ensure!(
        bin.is_file(),
        "{} is missing: run the workspace's tests (cargo test --workspace), or build it with \
         cargo build -p otel-inject-examples",
        bin.display()
    );
    Ok(bin)
}

pub(crate) async fn http(method: &str, url: &str, body: Option<&str>) -> Result<(u16, String)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut req = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    };
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await?;
    Ok((r.status().as_u16(), r.text().await?))
}

pub async fn scenario_sdk_pods_to_jaeger(cluster: &mut Cluster, node: &str) -> Result<String> {
    let jaeger = Jaeger::memory(HOST_IP).await?;
    // A Debian base (glibc, CA certificates) and the two services, stripped of debug info.
    let dir = tempfile::tempdir()?;
    let mut image = Image::debian("shop", &["ca-certificates"])?;
    for bin in ["orders-api", "inventory-api"] {
        let stripped = dir.path().join(bin);
        let status = Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(&stripped)
            .arg(example_binary(bin)?)
            .status()?;
        ensure!(status.success(), "strip {bin}: {status}");
        image = image.copy(&format!("/usr/local/bin/{bin}"), &stripped)?;
    }
    let image = image.build()?;

    let ns = cluster
        .namespace_with_instrumentation(
            "sdkpods",
            true,
            json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
            "default",
            json!({
                "exporter": {"endpoint": jaeger.grpc_endpoint()},
                "propagators": ["tracecontext", "baggage"],
                "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
                "env": [{"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"},
                        {"name": "OTEL_BSP_SCHEDULE_DELAY", "value": "100"}]
            }),
        )
        .await?;
    let template = |name: &str, container: &str, args: Vec<String>| {
        json!({
            "metadata": {"labels": {"app": name}},
            "spec": {"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": container, "image": image, "imagePullPolicy": "Never",
                                     "command": [format!("/usr/local/bin/{name}")], "args": args,
                                     "env": [{"name": "RUST_LOG", "value": "info"}],
                                     "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                                        "periodSeconds": 1}}]}
        })
    };
    let listen = || vec!["--listen".to_string(), "0.0.0.0:8080".to_string()];
    let inventory = run_deployment(
        cluster,
        &ns,
        "inventory-api",
        template("inventory-api", "inventory", listen()),
    )
    .await?;
    let inv_ip = inventory["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut args = listen();
    args.extend([
        "--inventory-url".to_string(),
        format!("http://{inv_ip}:8080"),
    ]);
    let orders = run_deployment(
        cluster,
        &ns,
        "orders-api",
        template("orders-api", "orders", args),
    )
    .await?;
    let orders_ip = orders["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let base = format!("http://{orders_ip}:8080");
    wait_for(Duration::from_secs(30), "orders-api to answer", || {
        let url = format!("{base}/healthz");
        async move { Ok(http("GET", &url, None).await?.0 == 200) }
    })
    .await?;
    let (status, body) = http(
        "POST",
        &format!("{base}/orders"),
        Some(r#"{"sku": "kb-42", "quantity": 2}"#),
    )
    .await?;
    ensure!(status == 201, "POST /orders: {status} {body}");
    let trace_id = serde_json::from_str::<Value>(&body)?["trace_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let spans = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(30), |s| {
            let has =
                |svc: &str, name: &str| s.iter().any(|x| x.service() == svc && x.name == name);
            has("orders-api", "POST /orders") && has("inventory-api", "POST /reserve")
        })
        .await
        .with_context(|| format!("Jaeger's log:\n{}", jaeger.log()))?;
    let server = |svc: &str| {
        spans
            .iter()
            .find(|s| s.service() == svc && s.kind == SERVER)
            .ok_or_else(|| anyhow!("no server span of {svc}"))
    };
    for (svc, pod) in [("orders-api", &orders), ("inventory-api", &inventory)] {
        let s = server(svc)?;
        let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
        for (k, v) in [
            ("k8s.pod.name", pod_name),
            ("k8s.node.name", node),
            ("k8s.namespace.name", ns.as_str()),
            ("k8s.deployment.name", svc),
        ] {
            ensure!(s.res(k) == Some(v), "{svc}: {k} is {:?}, not {v}", s.res(k));
        }
    }
    ensure!(
        server("inventory-api")?.parent_span_id
            == spans
                .iter()
                .find(|s| s.service() == "orders-api"
                    && s.kind == otel_inject_test_peers::jaeger::CLIENT)
                .map(|s| s.span_id.clone())
                .unwrap_or_default(),
        "inventory's server span is not the child of orders' client span"
    );
    Ok(format!(
        "orders-api ({orders_ip}) -> inventory-api ({inv_ip}) on {node}: one trace of {} spans in Jaeger at {HOST_IP}",
        spans.len()
    ))
}
