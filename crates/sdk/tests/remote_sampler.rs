//! `jaeger_remote`: strategies come from the collector's sampling endpoint (here an in-test
//! HTTP server speaking Jaeger's `/sampling?service=` JSON), are refreshed every polling
//! interval, and the initial rate applies until one arrives or while none can be fetched.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use otel_inject_sdk::Telemetry;

#[derive(Clone, Default)]
struct Strategies {
    rate: Arc<Mutex<Option<f64>>>,
    queries: Arc<Mutex<Vec<String>>>,
}

async fn sampling(
    axum::extract::State(s): axum::extract::State<Strategies>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> (axum::http::StatusCode, String) {
    s.queries.lock().unwrap().push(q.unwrap_or_default());
    match *s.rate.lock().unwrap() {
        Some(rate) => (
            axum::http::StatusCode::OK,
            format!(
                r#"{{"strategyType":"PROBABILISTIC","probabilisticSampling":{{"samplingRate":{rate}}}}}"#
            ),
        ),
        None => (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new()),
    }
}

fn serve(s: Strategies) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            let app = axum::Router::new()
                .route("/sampling", axum::routing::get(sampling))
                .with_state(s);
            axum::serve(l, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn sampled(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> bool {
    let mut span = provider.tracer("t").start("probe");
    let s = span.span_context().is_sampled();
    span.end();
    s
}

#[test]
fn strategies_from_the_collector_replace_the_initial_rate() {
    let strategies = Strategies::default();
    let addr = serve(strategies.clone());
    let endpoint = format!("http://{addr}/sampling");
    let (_dispatch, guard) = Telemetry::builder()
        .service_name("remote-test")
        .env_lookup(move |k| match k {
            "OTEL_TRACES_SAMPLER" => Some("jaeger_remote".into()),
            "OTEL_TRACES_SAMPLER_ARG" => Some(format!(
                "endpoint={endpoint},pollingIntervalMs=100,initialSamplingRate=1"
            )),
            "OTEL_TRACES_EXPORTER" | "OTEL_METRICS_EXPORTER" | "OTEL_LOGS_EXPORTER" => {
                Some("none".into())
            }
            _ => None,
        })
        .log_writer(std::io::sink)
        .build();
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());
    let provider = guard.tracer_provider().unwrap().clone();

    // The collector has no strategy yet (503): the initial rate, 1, applies.
    let start = Instant::now();
    while strategies.queries.lock().unwrap().len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the sampler never polled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        sampled(&provider),
        "initial rate 1 while no strategy can be fetched"
    );
    assert!(
        strategies.queries.lock().unwrap()[0].contains("service=remote-test"),
        "{:?}",
        strategies.queries.lock().unwrap()
    );

    // Then the collector says 0: within a few polls nothing is sampled.
    *strategies.rate.lock().unwrap() = Some(0.0);
    let start = Instant::now();
    while sampled(&provider) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the strategy from the collector was never applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // And back to 1.
    *strategies.rate.lock().unwrap() = Some(1.0);
    let start = Instant::now();
    while !sampled(&provider) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the new strategy was never applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn strategies_are_read_as_jaeger_v2_and_older_servers_write_them() {
    use otel_inject_sdk::remote_sampler::{parse_strategy, Strategy};
    // Jaeger v2's /sampling: the type as a number.
    assert_eq!(
        parse_strategy(r#"{"strategyType":0,"probabilisticSampling":{"samplingRate":0.25}}"#),
        Ok(Strategy {
            default_probability: 0.25,
            per_operation: vec![]
        })
    );
    // By name, and without the type at all.
    assert_eq!(
        parse_strategy(
            r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}"#
        )
        .map(|s| s.default_probability),
        Ok(1.0)
    );
    // Per operation.
    let s = parse_strategy(
        r#"{"strategyType":0,"probabilisticSampling":{"samplingRate":1},
            "operationSampling":{"defaultSamplingProbability":0.5,
              "perOperationStrategies":[{"operation":"GET /healthz","probabilisticSampling":{"samplingRate":0}}]}}"#,
    )
    .unwrap();
    assert_eq!(s.default_probability, 0.5);
    assert_eq!(s.per_operation, vec![("GET /healthz".to_string(), 0.0)]);
    // Rate limiting and nonsense are errors (the current strategy stays).
    assert!(parse_strategy(
        r#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":5}}"#
    )
    .unwrap_err()
    .contains("rate limiting"));
    assert!(parse_strategy(r#"{"probabilisticSampling":{"samplingRate":7}}"#).is_err());
    assert!(parse_strategy("<html>").is_err());
}
