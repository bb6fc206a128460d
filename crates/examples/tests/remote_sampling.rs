//! `jaeger_remote` against the real Jaeger v2, with deploy/'s own configuration and sampling
//! strategies: every overlay's Jaeger serves each service the strategy its strategies file
//! says (and the default to any other service); inventory-api, with the sampler its Deployment
//! sets, samples nothing at first (initial rate 0) and every request once the dev strategy
//! (probability 1) arrives; and a per-operation strategy keeps its health checks out.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::time::Duration;

use otel_inject_test_peers::jaeger::{self, deploy_config, Jaeger};
use otel_inject_test_peers::repo_root;
use serde::Deserialize;
use serde_json::{json, Value};

mod common;
use common::*;

const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Jaeger's `default_sampling_probability` when a config leaves it out (file.DefaultSamplingProbability).
const JAEGER_DEFAULT_PROBABILITY: f64 = 0.001;

/// Each environment's Jaeger as deploy/ ships it: (environment, config, strategies JSON).
/// An overlay without its own file uses its base's. Elasticsearch (prod's storage) is not
/// provisioned here, so prod runs the base's in-memory config with prod's own remote_sampling
/// section put in: what is under test is that section and the strategies, not the storage.
fn environments() -> Vec<(String, String, String)> {
    let shipped = jaeger::shipped().unwrap();
    let base = shipped.iter().find(|s| s.overlay == "base").unwrap();
    let base_config = base.config.clone().unwrap();
    let envs: Vec<_> = shipped
        .iter()
        .filter(|s| s.overlay != "base")
        .map(|s| {
            let file = s.config.clone().unwrap_or_else(|| base_config.clone());
            let mut config = deploy_config(&file).unwrap();
            if file.contains("elasticsearch") {
                let own: serde_yaml::Value = serde_yaml::from_str(&config).unwrap();
                let mut doc: serde_yaml::Value =
                    serde_yaml::from_str(&deploy_config(&base_config).unwrap()).unwrap();
                doc["extensions"]["remote_sampling"] = own["extensions"]["remote_sampling"].clone();
                doc["service"]["extensions"] = own["service"]["extensions"].clone();
                config = serde_yaml::to_string(&doc).unwrap();
            }
            (
                s.overlay.clone(),
                config,
                deploy_config(&s.strategies).unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = envs.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(names, ["dev", "prod", "staging"], "overlays changed");
    envs
}

/// What Jaeger's file provider serves `service` from a strategies file (its `parseStrategies`),
/// in the shape of its HTTP answer; `None` for a service the file does not name (the default).
fn expected(strategies: &Value, service: Option<&str>) -> Value {
    let default = &strategies["default_strategy"];
    let entry = service
        .and_then(|name| {
            strategies["service_strategies"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["service"] == name)
        })
        .unwrap_or(default);
    let param = entry["param"].as_f64().unwrap();
    let mut answer = match entry["type"].as_str().unwrap() {
        "probabilistic" => {
            json!({"strategyType": 0, "probabilisticSampling": {"samplingRate": param}})
        }
        "ratelimiting" => json!({"strategyType": 1,
                                 "rateLimitingSampling": {"maxTracesPerSecond": param.trunc()}}),
        other => panic!("{other}: not a strategy type Jaeger knows"),
    };
    // A service's own operations, then the default's that it does not override.
    let mut ops: Vec<(String, f64)> = Vec::new();
    for list in [
        &entry["operation_strategies"],
        &default["operation_strategies"],
    ] {
        for op in list.as_array().into_iter().flatten() {
            let name = op["operation"].as_str().unwrap().to_string();
            assert_eq!(
                op["type"], "probabilistic",
                "Jaeger ignores other operation types: {op}"
            );
            if !ops.iter().any(|(n, _)| *n == name) {
                ops.push((name, op["param"].as_f64().unwrap()));
            }
        }
    }
    if !ops.is_empty() {
        assert_eq!(
            entry["type"], "probabilistic",
            "{service:?}: a rate-limited service with operation strategies (its own or the \
             default's) is served them, and clients then sample per operation: the rate limit \
             never applies"
        );
        answer["operationSampling"] = json!({
            "defaultSamplingProbability": param,
            "perOperationStrategies": ops.iter().map(|(name, p)| json!({
                "operation": name, "probabilisticSampling": {"samplingRate": p}})).collect::<Vec<_>>(),
        });
    }
    answer
}

/// The parts of Jaeger's answer that [`expected`] describes (absent, null and zero-valued
/// optional fields dropped), so the two compare as values.
fn served(answer: &Value) -> Value {
    let number = |v: &Value| v.as_f64().unwrap_or(0.0);
    let mut out = json!({"strategyType": answer["strategyType"].as_i64().unwrap_or_else(
        || panic!("strategyType is not a number: {answer}"))});
    match out["strategyType"].as_i64() {
        Some(0) => {
            out["probabilisticSampling"] =
                json!({"samplingRate": number(&answer["probabilisticSampling"]["samplingRate"])})
        }
        _ => {
            out["rateLimitingSampling"] = json!({"maxTracesPerSecond":
                number(&answer["rateLimitingSampling"]["maxTracesPerSecond"])})
        }
    }
    let ops = &answer["operationSampling"];
    if !ops.is_null() {
        out["operationSampling"] = json!({
            "defaultSamplingProbability": number(&ops["defaultSamplingProbability"]),
            "perOperationStrategies": ops["perOperationStrategies"].as_array().into_iter().flatten()
                .map(|o| json!({"operation": o["operation"],
                    "probabilisticSampling": {"samplingRate": number(&o["probabilisticSampling"]["samplingRate"])}}))
                .collect::<Vec<_>>(),
        });
    }
    out
}

/// deploy/workloads' Deployments whose container asks Jaeger for its strategy
/// (`OTEL_TRACES_SAMPLER=*jaeger_remote`), by name (the service name the webhook gives them).
fn services_that_ask() -> Vec<String> {
    let mut out = Vec::new();
    let root = repo_root().join("deploy/workloads");
    for w in std::fs::read_dir(&root).unwrap() {
        let base = w.unwrap().path().join("base");
        for f in std::fs::read_dir(&base).into_iter().flatten() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap_or_default();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let Ok(doc) = Value::deserialize(doc) else {
                    continue;
                };
                if doc["kind"] != "Deployment" {
                    continue;
                }
                let containers = doc["spec"]["template"]["spec"]["containers"].as_array();
                if containers.into_iter().flatten().any(|c| {
                    c["env"].as_array().into_iter().flatten().any(|e| {
                        e["name"] == "OTEL_TRACES_SAMPLER"
                            && e["value"].as_str().unwrap_or("").ends_with("jaeger_remote")
                    })
                }) {
                    out.push(doc["metadata"]["name"].as_str().unwrap().to_string());
                }
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_environment_serves_the_strategies_its_file_says() {
    let asking = services_that_ask();
    assert!(
        !asking.is_empty(),
        "no workload under deploy/workloads asks for a strategy"
    );
    for (env, config, strategies) in environments() {
        let file: Value = serde_json::from_str(&strategies)
            .unwrap_or_else(|e| panic!("{env}: the strategies file is not JSON: {e}"));
        let jaeger = Jaeger::start_with_strategies(&config, &strategies, LOOPBACK)
            .await
            .unwrap_or_else(|e| panic!("{env}: Jaeger does not start: {e:#}"));
        let services: Vec<&str> = file["service_strategies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["service"].as_str().unwrap())
            .collect();
        for service in &services {
            // A strategy for a service that never asks would be read by nobody.
            assert!(
                asking.iter().any(|a| a == service),
                "{env}: {service} has a strategy but no workload of that name asks for one \
                 (those that do: {asking:?})"
            );
            let answer = jaeger.sampling_strategy(service).await.unwrap();
            assert_eq!(
                served(&answer),
                expected(&file, Some(service)),
                "{env}: {service}: Jaeger served {answer}"
            );
        }
        let unknown = "a-service-with-no-strategy";
        let answer = jaeger.sampling_strategy(unknown).await.unwrap();
        assert_eq!(
            served(&answer),
            expected(&file, None),
            "{env}: the default: Jaeger served {answer}"
        );
        // What a file without a default would fall back to is Jaeger's own default, not ours.
        assert!(
            !file["default_strategy"].is_null(),
            "{env}: no default_strategy: every other service would get {JAEGER_DEFAULT_PROBABILITY}"
        );
        eprintln!(
            "jaeger {env}: {} service strategies and the default served as the file says",
            services.len()
        );
    }
}

/// The env inventory-api's process gets in deploy/: its Deployment's own container env, run
/// through the webhook's mutation with an Instrumentation whose sampler is another (the
/// platform's ratio), so the container's own sampler must survive it. Its sampler argument is
/// then pointed at `jaeger` (the Deployment's names a Service in the cluster), polled every
/// 200 ms, with an initial rate of 0.
fn inventory_api_env(jaeger: &Jaeger) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/workloads/shop/base/inventory-api.yaml"))
            .unwrap();
    let deployment = serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    let own_env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].clone();
    let (mut pod, owners) = deployment_pod("inventory-api", "inventory-api");
    pod["spec"]["containers"][0]["env"] = own_env;
    let inst = instrumentation_with(
        jaeger,
        Proto::Http,
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ],
    );
    let mut env = injected_env(&pod, &owners, inst, "inventory-api", "inventory-api-0");
    assert_eq!(
        env_value(&env, "OTEL_TRACES_SAMPLER"),
        Some("parentbased_jaeger_remote"),
        "{env:?}"
    );
    let endpoint = jaeger.sampling_endpoint().unwrap();
    for (k, v) in env.iter_mut() {
        if k == "OTEL_TRACES_SAMPLER_ARG" {
            assert!(
                v.starts_with(
                    "endpoint=http://jaeger-collector.monitoring.svc.cluster.local:5778/sampling,"
                ),
                "not the Deployment's own sampler argument: {v}"
            );
            *v = format!("endpoint={endpoint},pollingIntervalMs=200,initialSamplingRate=0");
        }
    }
    env
}

async fn request(client: &reqwest::Client, base: &str, method: &str, path: &str) {
    let res = match method {
        "POST" => client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(r#"{"sku": "kb-42", "quantity": 1}"#),
        _ => client.get(format!("{base}{path}")),
    }
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{method} {path}");
}

/// Sends POST /reserve until one is sampled, that is until the strategy from Jaeger applies
/// (the initial rate, 0, samples none).
async fn until_a_reserve_is_sampled(jaeger: &Jaeger, client: &reqwest::Client, base: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        request(client, base, "POST", "/reserve").await;
        let spans = jaeger
            .find_traces("inventory-api")
            .await
            .unwrap_or_default();
        if spans.iter().any(|s| s.name == "POST /reserve") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no request was ever sampled: the strategy from Jaeger never applied\nJaeger's log:\n{}",
            jaeger.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn start_inventory_api(jaeger: &Jaeger) -> (Proc, String) {
    let port = free_port();
    let env = inventory_api_env(jaeger);
    let server = spawn(
        env!("CARGO_BIN_EXE_inventory-api"),
        &["--listen", &format!("127.0.0.1:{port}")],
        &env,
        "inventory-api-0",
    );
    (server, format!("http://127.0.0.1:{port}"))
}

/// The operations deploy/'s strategies name for `service`, over every environment.
fn operations_in_deploy(service: &str) -> Vec<String> {
    let mut ops = Vec::new();
    for (_, _, strategies) in environments() {
        let file: Value = serde_json::from_str(&strategies).unwrap();
        for s in file["service_strategies"].as_array().into_iter().flatten() {
            if s["service"] != service {
                continue;
            }
            for op in s["operation_strategies"].as_array().into_iter().flatten() {
                let name = op["operation"].as_str().unwrap().to_string();
                if !ops.contains(&name) {
                    ops.push(name);
                }
            }
        }
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_strategies_decide_sampling_and_name_real_operations() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // deploy/'s dev Jaeger: the in-memory config and the base's strategies (sample everything).
    let jaeger = jaeger().await;
    let (_server, base) = start_inventory_api(&jaeger);
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    until_a_reserve_is_sampled(&jaeger, &client, &base).await;

    // Every operation the other environments' strategies name is a span name the service
    // really produces: a name that matches none would leave its strategy unused.
    let ops = operations_in_deploy("inventory-api");
    assert!(
        !ops.is_empty(),
        "no per-operation strategy for inventory-api in deploy/"
    );
    for op in &ops {
        let (method, path) = op
            .split_once(' ')
            .unwrap_or_else(|| panic!("{op:?} is not METHOD /path"));
        request(&client, &base, method, path).await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let spans = jaeger.find_traces("inventory-api").await.unwrap();
        let missing: Vec<_> = ops
            .iter()
            .filter(|op| !spans.iter().any(|s| s.name == **op))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no span named {missing:?}: deploy/'s operation strategies name operations \
             inventory-api does not have; its spans: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_operation_strategy_keeps_health_checks_out() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // staging's strategies with inventory-api's probability raised to 1 and its operations'
    // lowered to 0 (deploy/ says 0.25 and 0.001: not something a test can count on).
    let (_, config, strategies) = environments()
        .into_iter()
        .find(|(env, _, _)| env == "staging")
        .unwrap();
    let mut file: Value = serde_json::from_str(&strategies).unwrap();
    let entry = file["service_strategies"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["service"] == "inventory-api")
        .expect("staging has a strategy for inventory-api");
    entry["param"] = json!(1.0);
    let ops: Vec<String> = entry["operation_strategies"]
        .as_array_mut()
        .expect("inventory-api's staging strategy has per-operation strategies")
        .iter_mut()
        .map(|op| {
            op["param"] = json!(0.0);
            op["operation"].as_str().unwrap().to_string()
        })
        .collect();
    let jaeger = Jaeger::start_with_strategies(&config, &file.to_string(), LOOPBACK)
        .await
        .expect("Jaeger starts with staging's config");
    let (_server, base) = start_inventory_api(&jaeger);
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    until_a_reserve_is_sampled(&jaeger, &client, &base).await;

    for _ in 0..20 {
        for op in &ops {
            let (method, path) = op.split_once(' ').unwrap();
            request(&client, &base, method, path).await;
        }
    }
    // One more sampled request after them: once it is in Jaeger, so would they be.
    let before = jaeger.find_traces("inventory-api").await.unwrap().len();
    request(&client, &base, "POST", "/reserve").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans = jaeger.find_traces("inventory-api").await.unwrap();
        if spans.len() > before {
            break spans;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the last POST /reserve never arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let sampled: Vec<_> = spans
        .iter()
        .filter(|s| ops.contains(&s.name))
        .map(|s| &s.name)
        .collect();
    assert!(
        sampled.is_empty(),
        "operations at probability 0 were sampled: {sampled:?}"
    );
}
