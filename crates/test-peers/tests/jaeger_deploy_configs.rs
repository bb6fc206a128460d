//! Every Jaeger v2 configuration that deploy/ ships, run by the real Jaeger binary (built from
//! its Go module): the in-memory (dev) and Badger (staging) ones are started, receive a span over
//! OTLP/gRPC and one over OTLP/HTTP, and give both back through the query API; the Elasticsearch
//! one (prod), whose storage cluster is not provisioned here, passes `jaeger validate`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use otel_inject_test_peers::jaeger::{self, Jaeger};
use otel_inject_test_peers::{otlp, repo_root};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The file each kustomization's `jaeger-config` ConfigMap generator puts in `config.yaml`, and
/// the strategies it mounts beside it (its own or its base's), read from the kustomizations
/// themselves, so that a new overlay cannot go unchecked.
fn shipped_configs() -> Result<Vec<(String, String, String)>> {
    Ok(jaeger::shipped()?
        .into_iter()
        .filter_map(|s| Some((s.overlay, s.config?, s.strategies)))
        .collect())
}

async fn spans_arrive_over_both_protocols(
    overlay: &str,
    file: &str,
    strategies: &str,
) -> Result<()> {
    let jaeger = Jaeger::start_with_strategies(
        &jaeger::deploy_config(file)?,
        &jaeger::deploy_config(strategies)?,
        LOOPBACK,
    )
    .await
    .with_context(|| format!("starting Jaeger with {file} and {strategies}"))?;
    let mut sent = Vec::new();
    for proto in ["grpc", "http"] {
        let service = format!("deploy-{overlay}-{proto}");
        let trace_id = otlp::new_trace_id();
        let req = otlp::one_span(&service, "config-check", &trace_id)?;
        match proto {
            "grpc" => otlp::send_grpc(&jaeger.grpc_endpoint(), req).await?,
            _ => otlp::send_http(&jaeger.http_endpoint(), req).await?,
        }
        sent.push((service, trace_id));
    }
    for (service, trace_id) in &sent {
        let spans = jaeger
            .wait_for_trace(trace_id, Duration::from_secs(20), |s| !s.is_empty())
            .await
            .with_context(|| format!("{file}: log:\n{}", jaeger.log()))?;
        ensure!(spans.len() == 1, "{file}: {spans:?}");
        let span = &spans[0];
        ensure!(
            span.service() == service && span.name == "config-check",
            "{span:?}"
        );
        ensure!(
            span.trace_id == *trace_id && span.kind == jaeger::SERVER,
            "{span:?}"
        );
        ensure!(
            span.attr("test.sent_by") == Some("otel-inject-test-peers"),
            "{span:?}"
        );
        let found = jaeger.find_traces(service).await?;
        ensure!(
            found.iter().any(|s| s.trace_id == *trace_id),
            "{file}: search by service {service} misses the trace: {found:?}"
        );
    }
    let services = jaeger.services().await?;
    for (service, _) in &sent {
        ensure!(services.contains(service), "{file}: {services:?}");
    }
    // Metrics and logs (what the SDK and the agents send by default) are accepted, not refused:
    // without a pipeline for them the OTLP receiver answers 404 and every client export fails.
    let client = reqwest::Client::new();
    for signal in ["metrics", "logs"] {
        let status = client
            .post(format!("{}/v1/{signal}", jaeger.http_endpoint()))
            .header("content-type", "application/x-protobuf")
            .body(Vec::new())
            .send()
            .await?
            .status();
        ensure!(
            status.is_success(),
            "{file}: OTLP {signal} answered {status}"
        );
    }
    eprintln!("jaeger {overlay} ({file}): gRPC and HTTP spans stored and queried; metrics and logs accepted");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_jaeger_config_runs_or_validates() -> Result<()> {
    let configs = shipped_configs()?;
    let names: Vec<&str> = configs.iter().map(|(o, _, _)| o.as_str()).collect();
    ensure!(
        names == ["base", "prod", "staging"],
        "overlays changed: {configs:?}"
    );
    for (overlay, file, strategies) in &configs {
        if file.contains("elasticsearch") {
            // No Elasticsearch cluster here: the collector's own validation of every component's
            // configuration, with the URL the overlay's generator sets.
            jaeger::validate(
                &jaeger::deploy_config(file)?,
                &[(
                    "ES_SERVER_URL",
                    "https://elasticsearch.logging.svc.cluster.local:9200",
                )],
            )?;
            eprintln!("jaeger {overlay} ({file}): jaeger validate accepts it");
        } else {
            spans_arrive_over_both_protocols(overlay, file, strategies).await?;
        }
    }
    Ok(())
}

#[test]
fn a_broken_config_is_refused_by_validate() -> Result<()> {
    // The check above is only worth something if validate can say no.
    let mut config = jaeger::deploy_config("base/config-memory.yaml")?;
    config = config.replace(
        "max_traces: 100000",
        "max_traces: 100000\n          no_such_key: 1",
    );
    let err = jaeger::validate(&config, &[]).expect_err("an unknown key must be refused");
    ensure!(format!("{err:#}").contains("no_such_key"), "{err:#}");
    Ok(())
}

#[test]
fn deploy_pins_the_jaeger_release_the_tests_build() -> Result<()> {
    let deployment =
        std::fs::read_to_string(repo_root().join("deploy/jaeger/base/deployment.yaml"))?;
    let image = format!("image: jaegertracing/jaeger:{}", jaeger::VERSION);
    ensure!(
        deployment.contains(&image),
        "deploy/jaeger runs another release than {image}"
    );
    // The Go module's v1.x tag that carries v2.N is v1.(63+N): v2.0.0 came with v1.63.0.
    let minor: u32 = jaeger::VERSION
        .split('.')
        .nth(1)
        .unwrap_or_default()
        .parse()?;
    let go_mod = std::fs::read_to_string(repo_root().join("tests/peers/jaeger/go.mod"))?;
    let pin = format!("github.com/jaegertracing/jaeger v1.{}.0", 63 + minor);
    ensure!(
        go_mod.contains(&pin),
        "tests/peers/jaeger/go.mod does not require {pin}"
    );
    Ok(())
}
