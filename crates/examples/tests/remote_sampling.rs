//! `jaeger_remote` against the real Jaeger v2: its remote_sampling extension serves per-service
//! strategies from a file; inventory-api starts with an initial rate of 0 (nothing sampled) and
//! samples every request once it has fetched its strategy (probability 1) from Jaeger.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::time::Duration;

use otel_inject_test_peers::jaeger::{deploy_config, Jaeger};

mod common;
use common::*;

/// deploy/'s in-memory configuration plus the remote_sampling extension, serving `file`.
fn config_with_remote_sampling(file: &std::path::Path) -> String {
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&deploy_config("base/config-memory.yaml").unwrap()).unwrap();
    let ext: serde_yaml::Value = serde_yaml::from_str(&format!(
        "file: {{path: {}, reload_interval: 1s}}\nhttp: {{endpoint: 127.0.0.1:5778}}\ngrpc: {{endpoint: 127.0.0.1:5779}}",
        file.display()
    ))
    .unwrap();
    doc["extensions"]["remote_sampling"] = ext;
    doc["service"]["extensions"]
        .as_sequence_mut()
        .unwrap()
        .push("remote_sampling".into());
    serde_yaml::to_string(&doc).unwrap()
}

/// Where Jaeger's log says the sampling HTTP server listens (the helper moved every endpoint).
fn sampling_endpoint(jaeger: &Jaeger) -> Option<String> {
    let log = jaeger.log();
    log.lines()
        .filter(|l| l.contains("remote_sampling") && l.to_ascii_lowercase().contains("http"))
        .find_map(|l| {
            let i = l.find("127.0.0.1:")?;
            let rest = &l[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                .unwrap_or(rest.len());
            Some(format!("http://{}/sampling", &rest[..end]))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_served_by_jaeger_decide_sampling() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let strategies = dir.path().join("strategies.json");
    std::fs::write(
        &strategies,
        r#"{"service_strategies": [{"service": "inventory-api", "type": "probabilistic", "param": 1.0}],
            "default_strategy": {"type": "probabilistic", "param": 0.0}}"#,
    )
    .unwrap();
    let jaeger = Jaeger::start(
        &config_with_remote_sampling(&strategies),
        std::net::Ipv4Addr::LOCALHOST.into(),
    )
    .await
    .expect("Jaeger starts with the remote_sampling extension");
    let endpoint = sampling_endpoint(&jaeger)
        .unwrap_or_else(|| panic!("no sampling endpoint in Jaeger's log:\n{}", jaeger.log()));

    let client = reqwest::Client::new();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let arg = format!("endpoint={endpoint},pollingIntervalMs=200,initialSamplingRate=0");
    let env: Vec<(String, String)> = [
        ("OTEL_SERVICE_NAME", "inventory-api"),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            jaeger.http_endpoint().as_str(),
        ),
        ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
        ("OTEL_TRACES_SAMPLER_ARG", arg.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let _server = spawn(
        env!("CARGO_BIN_EXE_inventory-api"),
        &["--listen", &format!("127.0.0.1:{port}")],
        &env,
        "inventory-api-0",
    );
    wait_healthy(&client, &base).await;

    // Until the strategy arrives the initial rate (0) applies; then every request is sampled.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let res = client
            .post(format!("{base}/reserve"))
            .header("content-type", "application/json")
            .body(r#"{"sku": "kb-42", "quantity": 1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let spans = jaeger
            .find_traces("inventory-api")
            .await
            .unwrap_or_default();
        if spans.iter().any(|s| s.name == "POST /reserve") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no request was ever sampled: the strategy from Jaeger never applied\nJaeger's log:\n{}",
            jaeger.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
