//! Metrics and logs over OTLP, to the in-test receiver, over both protocols: the server layer
//! records `http.server.request.duration`, `tracing` events become log records that carry the
//! trace context of the span they happen in, and the exporter's own logs never loop back.
//! Exports wait ten minutes, so only the guard's shutdown can deliver anything here.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/capture.rs"]
mod capture;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/serial.rs"]
mod serial;

use std::collections::HashMap;

use capture::Capture;
use otel_inject_sdk::http::HttpServerTraceLayer;
use otel_inject_sdk::Telemetry;
use receiver::Receiver;
use rstest::rstest;
use tower::{Layer, ServiceExt};

fn env(vars: Vec<(&str, String)>) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    move |k| map.get(k).cloned()
}

#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn request_durations_and_log_records_reach_the_collector(#[case] protocol: &str) {
    let _serial = serial::telemetry_lock();
    let receiver = Receiver::start();
    let endpoint = if protocol == "grpc" {
        receiver.grpc_endpoint()
    } else {
        receiver.http_endpoint()
    };
    let logs = Capture::default();
    let (dispatch, guard) = Telemetry::builder()
        .service_name("signals-test")
        .log_writer(logs.clone())
        .env_lookup(env(vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
            ("OTEL_BLRP_SCHEDULE_DELAY", "600000".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "600000".into()),
            // The exporter's own debug events must not become log records.
            ("RUST_LOG", "trace".into()),
        ]))
        .build();
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());
    opentelemetry::global::set_tracer_provider(guard.tracer_provider().unwrap().clone());
    opentelemetry::global::set_meter_provider(guard.meter_provider().unwrap().clone());
    assert!(guard.logger_provider().is_some());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let traces: Vec<String> = {
        let _d = tracing::dispatcher::set_default(&dispatch);
        let svc = HttpServerTraceLayer::new().layer(tower::service_fn(
            |req: http::Request<()>| async move {
                tracing::info!(path = req.uri().path(), "handled");
                let trace = otel_inject_sdk::current_trace_id().unwrap_or_default();
                let status = if req.uri().path() == "/boom" {
                    503
                } else {
                    200
                };
                let mut res = http::Response::new(trace);
                *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
                Ok::<_, std::convert::Infallible>(res)
            },
        ));
        rt.block_on(async {
            let mut traces = Vec::new();
            for path in ["/work", "/work", "/boom"] {
                let req = http::Request::builder()
                    .method("POST")
                    .uri(path)
                    .body(())
                    .unwrap();
                traces.push(svc.clone().oneshot(req).await.unwrap().into_body());
            }
            traces
        })
    };
    assert!(receiver.store.points().is_empty() && receiver.store.logs().is_empty());
    drop(guard);

    let points = receiver.store.points();
    let durations: Vec<_> = points
        .iter()
        .filter(|p| p.metric == "http.server.request.duration")
        .collect();
    let ok = durations
        .iter()
        .find(|p| p.attr("http.response.status_code") == Some("200"))
        .unwrap_or_else(|| panic!("no 200 point in {durations:?}"));
    assert_eq!(ok.count, 2, "two requests answered 200");
    assert_eq!(ok.unit, "s");
    assert_eq!(ok.attr("http.request.method"), Some("POST"));
    assert_eq!(ok.res("service.name"), Some("signals-test"));
    let failed = durations
        .iter()
        .find(|p| p.attr("http.response.status_code") == Some("503"))
        .unwrap();
    assert_eq!(failed.count, 1);
    assert_eq!(failed.attr("error.type"), Some("503"));

    let records = receiver.store.logs();
    let handled: Vec<_> = records.iter().filter(|r| r.body == "handled").collect();
    assert_eq!(handled.len(), 3, "{records:?}");
    for (record, trace) in handled.iter().zip(&traces) {
        assert_eq!(
            &record.trace_id, trace,
            "the record carries its request's trace"
        );
        assert_eq!(record.span_id.len(), 16);
        assert_eq!(record.severity, "INFO");
        assert_eq!(record.res("service.name"), Some("signals-test"));
    }
    assert!(
        records.iter().all(|r| r.body == "handled"),
        "only the program's events are log records, not the exporter's: {:?}",
        records.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(
        logs.text().contains("handled"),
        "log lines are still written"
    );
}

#[test]
fn none_exporters_switch_metrics_and_log_records_off() {
    let _serial = serial::telemetry_lock();
    let (_dispatch, guard) = Telemetry::builder()
        .log_writer(Capture::default())
        .env_lookup(env(vec![
            ("OTEL_METRICS_EXPORTER", "none".into()),
            ("OTEL_LOGS_EXPORTER", "none".into()),
        ]))
        .build();
    assert!(guard.meter_provider().is_none());
    assert!(guard.logger_provider().is_none());
    assert!(guard.tracer_provider().is_some());
}
