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
    /// Served as is when set, instead of a probabilistic strategy at `rate`.
    body: Arc<Mutex<Option<String>>>,
    queries: Arc<Mutex<Vec<String>>>,
}

async fn sampling(
    axum::extract::State(s): axum::extract::State<Strategies>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> (axum::http::StatusCode, String) {
    s.queries.lock().unwrap().push(q.unwrap_or_default());
    if let Some(body) = s.body.lock().unwrap().clone() {
        return (axum::http::StatusCode::OK, body);
    }
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

/// The pipeline of service `service` with `sampler` fetching from the collector at `addr`
/// (`arg`: the rest of `OTEL_TRACES_SAMPLER_ARG`), exporting nothing.
fn remote_pipeline(
    service: &str,
    sampler: &'static str,
    addr: std::net::SocketAddr,
    arg: &str,
) -> (tracing::Dispatch, otel_inject_sdk::TelemetryGuard) {
    let arg = format!("endpoint=http://{addr}/sampling,{arg}");
    Telemetry::builder()
        .service_name(service)
        .env_lookup(move |k| match k {
            "OTEL_TRACES_SAMPLER" => Some(sampler.into()),
            "OTEL_TRACES_SAMPLER_ARG" => Some(arg.clone()),
            "OTEL_TRACES_EXPORTER" | "OTEL_METRICS_EXPORTER" | "OTEL_LOGS_EXPORTER" => {
                Some("none".into())
            }
            _ => None,
        })
        .log_writer(std::io::sink)
        .build()
}

#[test]
fn strategies_from_the_collector_replace_the_initial_rate() {
    let strategies = Strategies::default();
    let addr = serve(strategies.clone());
    let (_dispatch, guard) = remote_pipeline(
        "remote-test",
        "jaeger_remote",
        addr,
        "pollingIntervalMs=100,initialSamplingRate=1",
    );
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
        Ok(Strategy::Probabilistic(0.25))
    );
    // By name, and without the type at all.
    assert_eq!(
        parse_strategy(
            r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}"#
        ),
        Ok(Strategy::Probabilistic(1.0))
    );
    assert_eq!(
        parse_strategy(r#"{"probabilisticSampling":{"samplingRate":0}}"#),
        Ok(Strategy::Probabilistic(0.0))
    );
    // Per operation, with the lower bound Jaeger sends, which takes precedence over the type.
    assert_eq!(
        parse_strategy(
            r#"{"strategyType":0,"probabilisticSampling":{"samplingRate":1},
                "operationSampling":{"defaultSamplingProbability":0.5,"defaultLowerBoundTracesPerSecond":0.2,
                  "perOperationStrategies":[{"operation":"GET /healthz","probabilisticSampling":{"samplingRate":0}}]}}"#,
        ),
        Ok(Strategy::PerOperation {
            default_probability: 0.5,
            lower_bound_per_second: 0.2,
            operations: vec![("GET /healthz".to_string(), 0.0)],
        })
    );
    // Rate limiting, by number and by name.
    for body in [
        r#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":5}}"#,
        r#"{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":5}}"#,
    ] {
        assert_eq!(
            parse_strategy(body),
            Ok(Strategy::RateLimiting {
                max_traces_per_second: 5.0
            }),
            "{body}"
        );
    }
    // Nonsense is an error that says what was wrong (the current strategy stays).
    for (body, says) in [
        (
            r#"{"probabilisticSampling":{"samplingRate":7}}"#,
            "samplingRate in [0, 1]",
        ),
        (
            r#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":-1}}"#,
            "maxTracesPerSecond >= 0",
        ),
        (r#"{"strategyType":1}"#, "maxTracesPerSecond"),
        (
            r#"{"strategyType":7}"#,
            "neither probabilistic (0) nor rate limiting (1)",
        ),
        (
            r#"{"operationSampling":{"defaultSamplingProbability":0.1,"defaultLowerBoundTracesPerSecond":"x"}}"#,
            "defaultLowerBoundTracesPerSecond",
        ),
        ("<html>", "not a sampling strategy"),
    ] {
        let e = parse_strategy(body).unwrap_err();
        assert!(e.contains(says), "{body}: {e}");
    }
}

/// A rate-limiting strategy from the collector: a burst of new traces gets at most the rate's
/// credits, whatever their trace ids.
#[test]
fn a_rate_limiting_strategy_caps_new_traces_per_second() {
    let strategies = Strategies::default();
    *strategies.body.lock().unwrap() =
        Some(r#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":2}}"#.into());
    let addr = serve(strategies.clone());
    let (_dispatch, guard) = remote_pipeline(
        "remote-rate",
        "parentbased_jaeger_remote",
        addr,
        "pollingIntervalMs=50,initialSamplingRate=0",
    );
    let provider = guard.tracer_provider().unwrap().clone();
    // Initial rate 0 until the strategy arrives: the first sampled root says it has.
    let start = Instant::now();
    while !sampled(&provider) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the rate-limiting strategy was never applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Polls keep the same strategy and so the same bucket: over 1.5 s of a tight loop, about
    // 2/s (plus what was left of the starting 2 credits), never thousands.
    let start = Instant::now();
    let mut n = 0;
    let mut roots = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        roots += 1;
        n += usize::from(sampled(&provider));
    }
    assert!(roots > 1000, "only {roots} roots started");
    assert!((2..=5).contains(&n), "{n} of {roots} sampled at 2 traces/s");
}
