//! What the examples' end-to-end tests share: the env the webhook injects (computed by the
//! core's `mutate`, resolved as the kubelet would), the real binaries as child processes, and
//! a real Jaeger v2 to receive their telemetry.
#![allow(dead_code, clippy::unwrap_used)] // each test binary uses a part; a panic is the report

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use otel_inject_lib::kubelet::{resolve_env, Downward};
use otel_inject_lib::{
    mutate, InjectOptions, Instrumentation, NamespaceInfo, OwnerObject, PodContext,
};
use otel_inject_test_peers::jaeger::{Jaeger, Span};
use serde_json::{json, Value};

pub const NS: &str = "shop";
pub const NODE: &str = "node-7";

#[derive(Debug, Clone, Copy)]
pub enum Proto {
    Grpc,
    Http,
}

pub fn instrumentation(jaeger: &Jaeger, proto: Proto) -> Arc<Instrumentation> {
    instrumentation_with(jaeger, proto, &[("OTEL_BSP_SCHEDULE_DELAY", "100")])
}

/// The Instrumentation pointing at `jaeger`, with `env` added to its `spec.env`.
pub fn instrumentation_with(
    jaeger: &Jaeger,
    proto: Proto,
    env: &[(&str, &str)],
) -> Arc<Instrumentation> {
    let (endpoint, protocol) = match proto {
        Proto::Grpc => (jaeger.grpc_endpoint(), "grpc"),
        Proto::Http => (jaeger.http_endpoint(), "http/protobuf"),
    };
    let mut extra_env = vec![json!({"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": protocol})];
    extra_env.extend(env.iter().map(|(k, v)| json!({"name": k, "value": v})));
    Arc::new(
        serde_json::from_value(json!({
            "apiVersion": "opentelemetry.io/v1alpha1",
            "kind": "Instrumentation",
            "metadata": {"name": "default", "namespace": NS},
            "spec": {
                "exporter": {"endpoint": endpoint},
                "propagators": ["tracecontext", "baggage"],
                "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
                "env": extra_env

            }
        }))
        .expect("valid Instrumentation"),
    )
}

/// A Deployment's pod: owned by a ReplicaSet of `deployment`, annotated for `inject-sdk`.
pub fn deployment_pod(deployment: &str, container: &str) -> (Value, Vec<OwnerObject>) {
    let rs = format!("{deployment}-6b8d9c7f5d");
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": format!("{rs}-"),
            "namespace": NS,
            "labels": {"app": deployment},
            "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": format!("uid-{rs}"), "controller": true}]
        },
        "spec": {"containers": [{"name": container, "image": format!("ghcr.io/otel-inject/{deployment}:0.1.0")}]}
    });
    let owner = OwnerObject {
        kind: "ReplicaSet".into(),
        name: rs.clone(),
        uid: format!("uid-{rs}"),
        owner_references: vec![serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment,
            "uid": format!("uid-{deployment}"), "controller": true
        }))
        .expect("owner reference")],
    };
    (pod, vec![owner])
}

/// An Argo Workflows step pod: `wait` and `main` containers, `TRACEPARENT` set on `main`.
pub fn argo_step_pod(traceparent: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "ml-pipeline-x7k2p-train-1234567890",
            "namespace": NS,
            "labels": {"workflows.argoproj.io/workflow": "ml-pipeline-x7k2p"},
            "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"}
        },
        "spec": {"containers": [
            {"name": "wait", "image": "quay.io/argoproj/argoexec:v4.1.0"},
            {"name": "main", "image": "ghcr.io/otel-inject/ml-train:0.1.0",
             "env": [{"name": "TRACEPARENT", "value": traceparent}]}
        ]}
    })
}

/// The env the container's process sees once the webhook has mutated the pod and the kubelet
/// has resolved it.
pub fn injected_env(
    pod: &Value,
    owners: &[OwnerObject],
    inst: Arc<Instrumentation>,
    container: &str,
    pod_name: &str,
) -> Vec<(String, String)> {
    let ns = NamespaceInfo::named(NS);
    let insts = [inst];
    let options = InjectOptions::default();
    let decision = mutate(&PodContext {
        pod,
        namespace: &ns,
        instrumentations: &insts,
        owners,
        options: &options,
    });
    assert!(
        decision.has_patch(),
        "nothing injected: {}",
        decision.explain()
    );
    let mut mutated = pod.clone();
    decision.patch.apply(&mut mutated).expect("patch applies");
    let downward = Downward {
        pod_name: pod_name.into(),
        namespace: NS.into(),
        pod_uid: format!("uid-{pod_name}"),
        node_name: NODE.into(),
        pod_ip: "10.1.2.3".into(),
        host_ip: "192.0.2.7".into(),
    };
    let env = resolve_env(&mutated, container, &downward).expect("container exists");
    assert!(
        env.iter().any(|(k, _)| k == "OTEL_RESOURCE_ATTRIBUTES"),
        "{env:?}"
    );
    env
}

pub fn env_value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .stderr(Stdio::null())
            .status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn(bin: &str, args: &[&str], env: &[(String, String)], hostname: &str) -> Proc {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("HOSTNAME", hostname)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    Proc(cmd.spawn().expect("binary starts"))
}

pub async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become healthy");
}

pub fn find<'a>(spans: &'a [Span], service: &str, name: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| s.service() == service && s.name == name)
        .unwrap_or_else(|| {
            let all: Vec<_> = spans
                .iter()
                .map(|s| (s.service().to_string(), s.name.clone()))
                .collect();
            panic!("no span {name} from {service}; got {all:?}")
        })
}

pub async fn jaeger() -> Jaeger {
    Jaeger::memory(std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .expect("Jaeger starts with deploy/'s in-memory config")
}

/// Like [`spawn`], with the child's standard output readable (`proc.0.stdout`).
pub fn spawn_reading_stdout(
    bin: &str,
    args: &[&str],
    env: &[(String, String)],
    hostname: &str,
) -> Proc {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("HOSTNAME", hostname)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Proc(cmd.spawn().expect("binary starts"))
}

/// Sends `signal` (`TERM`, `INT`) to the child, as the kubelet or a terminal would.
pub fn send_signal(proc: &Proc, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(proc.0.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits at most `timeout` for the child to exit.
pub fn wait_exit(proc: &mut Proc, timeout: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = proc.0.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            start.elapsed() < timeout,
            "the process did not exit within {timeout:?} of the signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
