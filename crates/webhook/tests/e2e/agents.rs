//! The real agents in real pods: for Java, Node.js and Python, a Deployment annotated
//! `inject-<lang>` is created through the API server, injected by our webhook, and run by
//! k8s-local's kubelet: the init container copies the agent out of its image (the operator's
//! layout, built from Maven Central, npm and PyPI: `otel_inject_test_peers::agents`), and the app
//! (`tests/apps/<lang>`, which knows nothing of OpenTelemetry) starts with the injected env.
//! Requests go in from the host to the pod IP; what the agent sent is read back from a real
//! Jaeger v2 on the host (the bridge address pods reach it at) through its query API.
//!
//! 12. Java 13. Node.js 14. Python: each request gives one server span of `service.name` = the
//!     Deployment's name, with the pod and node names the real downward API gave, and a request
//!     carrying a `traceparent` continues that trace (same trace id, parent = the caller's span).
//!     The pod runs as a non-root user, so the copied agent must be readable by it.

use super::*;

use kube::api::LogParams;
use otel_inject_test_peers::agents::{self, Agent};
use otel_inject_test_peers::images::HOST_IP;
use otel_inject_test_peers::jaeger::{Jaeger, Span};

use crate::pods::run_deployment;

const PORT: u16 = 8080;
/// A value of the user's own for the variable that loads the agent, where one is set: the
/// injection appends to it, and the JVM says what it finally got.
const USER_JAVA_TOOL_OPTIONS: &str = "-Xmx192m";
/// Requests that carry a `traceparent`, and one that does not.
const TRACED_REQUESTS: usize = 3;

pub async fn scenario_agent_in_pod(
    cluster: &mut Cluster,
    node: &str,
    agent: Agent,
) -> Result<String> {
    let started = Instant::now();
    let lang = agent.lang();
    let agent_image = agent.image()?;
    let app_image = agents::app_image()?;
    let built = started.elapsed();
    let jaeger = Jaeger::memory(HOST_IP).await?;
    let ns = cluster
        .namespace_with_instrumentation(
            &format!("agent-{lang}"),
            true,
            json!({}),
            "default",
            json!({
                // Java and Node.js default to http/protobuf, Python is made to: Jaeger's
                // OTLP/HTTP receiver.
                "exporter": {"endpoint": jaeger.http_endpoint()},
                "propagators": ["tracecontext", "baggage"],
                "sampler": {"type": "parentbased_always_on"},
                "env": [{"name": "OTEL_BSP_SCHEDULE_DELAY", "value": "200"}],
                lang: {"image": agent_image}
            }),
        )
        .await?;
    let name = format!("hello-{lang}");
    let result = exercise(cluster, &ns, &name, node, agent, &app_image, &jaeger).await;
    match result {
        Ok(detail) => Ok(format!(
            "{detail}; {:.1}s in all, {:.1}s of it building images",
            started.elapsed().as_secs_f64(),
            built.as_secs_f64()
        )),
        Err(e) => Err(e.context(diagnostics(cluster, &ns, &name, lang, &jaeger).await)),
    }
}

async fn exercise(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    node: &str,
    agent: Agent,
    app_image: &str,
    jaeger: &Jaeger,
) -> Result<String> {
    let lang = agent.lang();
    let mut env = vec![json!({"name": "PORT", "value": PORT.to_string()})];
    if agent == Agent::Java {
        env.push(json!({"name": "JAVA_TOOL_OPTIONS", "value": USER_JAVA_TOOL_OPTIONS}));
    }
    let pod = run_deployment(
        cluster,
        ns,
        name,
        json!({
            "metadata": {"labels": {"app": name},
                         "annotations": {format!("instrumentation.opentelemetry.io/inject-{lang}"): "true"}},
            "spec": {"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 2,
                     "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000},
                     "containers": [{"name": "app", "image": app_image, "imagePullPolicy": "Never",
                                     "command": agent.app_command(), "env": env}]}
        }),
    )
    .await?;
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let pod_ip = pod["status"]["podIP"].as_str().unwrap_or_default();
    ensure!(
        !pod_ip.is_empty(),
        "{pod_name} has no IP: {}",
        pod["status"]
    );

    // The agent really came from the agent image, by the init container's copy.
    let init = &pod["status"]["initContainerStatuses"][0];
    ensure!(
        init["name"] == format!("opentelemetry-auto-instrumentation-{lang}")
            && init["state"]["terminated"]["exitCode"] == 0
            && init["image"]
                .as_str()
                .is_some_and(|i| i.contains(&format!("{lang}-agent"))),
        "the agent copy did not run from the agent image: {init}"
    );
    // The variables that load the agent are the ones the host test (agents_on_host) runs with.
    let app = container(&pod, "app")?;
    let mount = if agent == Agent::Java {
        "/otel-auto-instrumentation-java-app".to_string()
    } else {
        format!("/otel-auto-instrumentation-{lang}")
    };
    for (k, want) in agent.loader_env(Path::new(&mount)) {
        let want = if k == "JAVA_TOOL_OPTIONS" {
            format!("{USER_JAVA_TOOL_OPTIONS}{want}")
        } else {
            want
        };
        let got = env_value(app, &k);
        ensure!(
            got == Some(want.as_str()),
            "{k} in the injected pod is {got:?}, not {want:?}"
        );
    }

    let base = format!("http://{pod_ip}:{PORT}");
    let up = wait_for(
        Duration::from_secs(90),
        &format!("the {lang} app at {base} to answer"),
        || {
            let url = format!("{base}/healthz");
            async move { Ok(pods::http("GET", &url, None).await?.0 == 200) }
        },
    )
    .await?;
    if agent == Agent::Java {
        // The JVM's own word that it got the user's options and the agent, in that order.
        let want = format!(
            "Picked up JAVA_TOOL_OPTIONS: {USER_JAVA_TOOL_OPTIONS} -javaagent:{mount}/javaagent.jar"
        );
        let log = app_log(cluster, ns, pod_name, "app").await;
        ensure!(
            log.lines().any(|l| l == want),
            "the JVM did not say {want:?}:\n{log}"
        );
    }

    let mut traced = Vec::new();
    for _ in 0..TRACED_REQUESTS {
        let (trace_id, parent, header) = agents::traceparent();
        get_hello(&base, Some(&header), lang).await?;
        traced.push((trace_id, parent));
    }
    get_hello(&base, None, lang).await?;

    let service = name;
    let check = |s: &Span| -> Result<()> {
        for (k, v) in [
            ("service.name", service),
            ("k8s.pod.name", pod_name),
            ("k8s.node.name", node),
            ("k8s.namespace.name", ns),
            ("k8s.container.name", "app"),
            ("k8s.deployment.name", name),
            ("telemetry.sdk.language", agent.sdk_language()),
        ] {
            ensure!(s.res(k) == Some(v), "{k} is {:?}, not {v}: {s:?}", s.res(k));
        }
        if let Some((k, v)) = agent.version_attribute() {
            ensure!(s.res(k) == Some(v), "{k} is {:?}, not {v}", s.res(k));
        }
        Ok(())
    };
    for (trace_id, parent) in &traced {
        let spans = jaeger
            .wait_for_trace(trace_id, Duration::from_secs(30), |s| {
                !agents::server_spans(s, "/hello").is_empty()
            })
            .await?;
        let server = agents::server_spans(&spans, "/hello");
        ensure!(
            server.len() == 1,
            "one request in trace {trace_id}, server spans: {server:?}"
        );
        ensure!(
            server[0].parent_span_id == *parent,
            "the server span in trace {trace_id} has parent {:?}, not the caller's {parent}",
            server[0].parent_span_id
        );
        check(server[0])?;
    }
    // Every request, the untraced one too, gave exactly one server span of the service.
    let total = TRACED_REQUESTS + 1;
    let start = Instant::now();
    let all = loop {
        let spans = jaeger.find_traces(service).await?;
        let n = agents::server_spans(&spans, "/hello").len();
        if n >= total || start.elapsed() > Duration::from_secs(30) {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let hello = agents::server_spans(&all, "/hello");
    ensure!(
        hello.len() == total,
        "{total} requests, {} server spans of {service} for GET /hello: {hello:?}",
        hello.len()
    );
    let roots: Vec<&&Span> = hello
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    ensure!(
        roots.len() == 1,
        "the request without traceparent should start the one root trace: {roots:?}"
    );
    for s in &hello {
        check(s)?;
    }
    Ok(format!(
        "{pod_name} ({pod_ip}) on {node}: {lang} agent {} copied by the init container, app \
         answering {:.1}s after the pod started; {total} requests, {total} server spans in Jaeger, \
         {TRACED_REQUESTS} continuing the caller's traceparent",
        agent.version(),
        up.as_secs_f64()
    ))
}

/// The value of a plain (`value`) env var of a container spec.
fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?
        .get("value")?
        .as_str()
}

async fn get_hello(base: &str, traceparent: Option<&str>, lang: &str) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut req = client.get(format!("{base}/hello"));
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    let r = req.send().await?;
    let status = r.status().as_u16();
    let body = r.text().await?;
    ensure!(
        status == 200 && body == format!("hello from {lang}\n"),
        "GET {base}/hello: {status} {body:?}"
    );
    Ok(())
}

async fn app_log(cluster: &Cluster, ns: &str, pod: &str, container: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let params = LogParams {
        container: Some(container.into()),
        ..LogParams::default()
    };
    pods.logs(pod, &params)
        .await
        .unwrap_or_else(|e| format!("<no log: {e}>"))
}

/// What to read when a scenario fails: the pod as the API server has it, the logs of the init
/// container and the app, and Jaeger's log.
async fn diagnostics(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    lang: &str,
    jaeger: &Jaeger,
) -> String {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let mut out = String::new();
    let list = pods
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await;
    for p in list.map(|l| l.items).unwrap_or_default() {
        let pod_name = p.metadata.name.clone().unwrap_or_default();
        let status = serde_json::to_string(&p.status).unwrap_or_default();
        out.push_str(&format!("--- pod {pod_name} status: {status}\n"));
        let init = format!("opentelemetry-auto-instrumentation-{lang}");
        for c in [init.as_str(), "app"] {
            let log = app_log(cluster, ns, &pod_name, c).await;
            out.push_str(&format!("--- {pod_name}/{c} log:\n{log}\n"));
        }
    }
    out.push_str(&format!("--- Jaeger log:\n{}", jaeger.log()));
    out
}
