//! Each agent (Java, Node.js, Python, as the operator's images carry them) with its app from
//! `tests/apps/`, on this machine and without Kubernetes: the app runs with exactly the variables
//! the injection writes (the agent's volume being the built artifacts), its agent sends spans
//! over OTLP/HTTP to a real Jaeger, and a request carrying a `traceparent` continues that trace.
//! This separates "the agent works" from "the injection works", which the e2e suite proves in
//! pods (crates/webhook/tests/e2e/agents.rs).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use otel_inject_test_peers::agents::{self, Agent};
use otel_inject_test_peers::free_port;
use otel_inject_test_peers::jaeger::Jaeger;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The app process; killed when dropped. Its output goes to a file for failure messages.
struct App {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl App {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_app(agent: Agent, port: u16, service: &str, jaeger: &Jaeger) -> Result<App> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("app.log");
    let out = std::fs::File::create(&log)?;
    let mut cmd = agent.host_app()?;
    // Only what a pod's container would have: none of this machine's own JAVA_TOOL_OPTIONS,
    // NODE_OPTIONS, PYTHONPATH or OTEL_* reach the app.
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("PORT", port.to_string());
    for (k, v) in agent.loader_env(&agent.volume_contents()?) {
        cmd.env(k, v);
    }
    // The rest of what the injection writes, in its order (values as for a pod).
    cmd.env("OTEL_SERVICE_NAME", service)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", jaeger.http_endpoint())
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            format!("k8s.container.name=app,k8s.namespace.name=host,k8s.pod.name={service}-0"),
        )
        .env("OTEL_PROPAGATORS", "tracecontext,baggage")
        .env("OTEL_TRACES_SAMPLER", "parentbased_always_on")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200");
    let child = cmd
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting the {} app", agent.lang()))?;
    Ok(App {
        child,
        log,
        _dir: dir,
    })
}

async fn get(url: &str, traceparent: Option<&str>) -> Result<(u16, String)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut req = client.get(url);
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    let r = req.send().await?;
    Ok((r.status().as_u16(), r.text().await?))
}

async fn agent_on_host(agent: Agent) -> Result<()> {
    let jaeger = Jaeger::memory(LOOPBACK).await?;
    let port = free_port(LOOPBACK)?;
    let service = format!("hello-{}-host", agent.lang());
    let mut app = start_app(agent, port, &service, &jaeger)?;
    let base = format!("http://127.0.0.1:{port}");
    let fail = |what: String, app: &App| {
        anyhow::anyhow!(
            "{what}\n--- app log:\n{}\n--- Jaeger log:\n{}",
            app.log(),
            jaeger.log()
        )
    };

    // Java's agent takes a few seconds to start on 2 cores.
    let started = Instant::now();
    loop {
        if let Some(status) = app.child.try_wait()? {
            return Err(fail(
                format!("the {} app exited: {status}", agent.lang()),
                &app,
            ));
        }
        if matches!(get(&format!("{base}/healthz"), None).await, Ok((200, _))) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(fail("the app did not answer /healthz in 60 s".into(), &app));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let up = started.elapsed();

    let (trace_id, parent, header) = agents::traceparent();
    let (status, body) = get(&format!("{base}/hello"), Some(&header)).await?;
    ensure!(
        status == 200 && body == format!("hello from {}\n", agent.lang()),
        "GET /hello: {status} {body:?}"
    );
    let spans = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(30), |s| {
            !agents::server_spans(s, "/hello").is_empty()
        })
        .await
        .map_err(|e| fail(format!("{e:#}"), &app))?;
    let server = agents::server_spans(&spans, "/hello");
    ensure!(server.len() == 1, "one request, server spans {server:?}");
    let s = server[0];
    ensure!(
        s.parent_span_id == parent,
        "the server span's parent is {:?}, not the caller's {parent}",
        s.parent_span_id
    );
    for (k, v) in [
        ("service.name", service.as_str()),
        ("telemetry.sdk.language", agent.sdk_language()),
        ("k8s.pod.name", &format!("{service}-0")),
        ("k8s.namespace.name", "host"),
    ] {
        ensure!(s.res(k) == Some(v), "{k} is {:?}, not {v}: {s:?}", s.res(k));
    }
    if let Some((k, v)) = agent.version_attribute() {
        ensure!(s.res(k) == Some(v), "{k} is {:?}, not {v}", s.res(k));
    }
    if app.child.try_wait()?.is_some() {
        bail!("the app exited after the request:\n{}", app.log());
    }
    eprintln!(
        "{} agent {} on the host: answering after {:.1}s, server span {} in trace {trace_id}",
        agent.lang(),
        agent.version(),
        up.as_secs_f64(),
        s.span_id
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_agent_traces_the_jdk_http_server() -> Result<()> {
    agent_on_host(Agent::Java).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodejs_agent_traces_node_http() -> Result<()> {
    agent_on_host(Agent::NodeJs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_agent_traces_flask() -> Result<()> {
    agent_on_host(Agent::Python).await
}
