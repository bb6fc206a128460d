//! The assembled pipeline: the guard flushes on drop inside a current-thread runtime (against
//! the in-test OTLP receiver, both protocols), never hangs on an unreachable collector,
//! `OTEL_SDK_DISABLED` and `OTEL_TRACES_EXPORTER=none` keep logs working, and log lines carry the
//! trace and span ids.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/capture.rs"]
mod capture;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/serial.rs"]
mod serial;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use capture::Capture;
use otel_inject_sdk::resource::{resource_attributes, Detected};
use otel_inject_sdk::{EnvConfig, Telemetry};
use receiver::Receiver;
use rstest::rstest;

/// The variables, with metrics and log records off unless a test sets them: these tests are
/// about spans and log lines, and must not send anything to a collector on the machine.
fn env(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let mut map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for k in ["OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"] {
        map.entry(k.into()).or_insert_with(|| "none".into());
    }
    move |k| map.get(k).cloned()
}

#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn guard_drop_flushes_inside_a_current_thread_runtime(#[case] protocol: &str) {
    let _serial = serial::telemetry_lock();
    let receiver = Receiver::start();
    let endpoint = if protocol == "grpc" {
        receiver.grpc_endpoint()
    } else {
        receiver.http_endpoint()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (dispatch, guard) = Telemetry::builder()
            .service_name("flush-test")
            .log_writer(Capture::default())
            .env_lookup(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme".into()),
                // Far longer than the test: only the guard's flush can deliver the spans.
                ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
            ]))
            .build();
        assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());
        tracing::dispatcher::with_default(&dispatch, || {
            let outer = tracing::info_span!("outer");
            outer.in_scope(|| {
                tracing::info_span!("inner").in_scope(|| tracing::info!("work"));
            });
        });
        tokio::task::yield_now().await;
        let start = Instant::now();
        drop(guard);
        assert!(start.elapsed() < Duration::from_secs(5));
    });
    let spans = receiver.store.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
    assert!(
        names.contains(&"outer") && names.contains(&"inner"),
        "{names:?}"
    );
    let outer = spans.iter().find(|s| s.span.name == "outer").unwrap();
    let inner = spans.iter().find(|s| s.span.name == "inner").unwrap();
    assert_eq!(inner.parent_id(), outer.span_id());
    assert_eq!(outer.service(), "flush-test");
    assert!(
        outer
            .headers
            .iter()
            .any(|(k, v)| k == "x-tenant" && v == "acme"),
        "{:?}",
        outer.headers
    );
}

#[test]
fn async_shutdown_flushes_on_a_multi_thread_runtime() {
    let _serial = serial::telemetry_lock();
    let receiver = Receiver::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (dispatch, guard) = Telemetry::builder()
            .log_writer(Capture::default())
            .env_lookup(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
                ("OTEL_SERVICE_NAME", "async-shutdown".into()),
                ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
            ]))
            .build();
        tracing::dispatcher::with_default(&dispatch, || tracing::info_span!("one").in_scope(|| {}));
        guard.shutdown().await;
    });
    assert!(receiver
        .store
        .spans()
        .iter()
        .any(|s| s.span.name == "one" && s.service() == "async-shutdown"));
}

#[test]
fn guard_drop_is_bounded_when_the_collector_is_unreachable() {
    let _serial = serial::telemetry_lock();
    // A listener that accepts and never answers.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = blackhole.local_addr().unwrap();
    let (dispatch, guard) = Telemetry::builder()
        .shutdown_timeout(Duration::from_millis(500))
        .log_writer(Capture::default())
        .env_lookup(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "30000".into()),
        ]))
        .build();
    tracing::dispatcher::with_default(&dispatch, || tracing::info_span!("lost").in_scope(|| {}));
    let start = Instant::now();
    drop(guard);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    drop(blackhole);
}

#[test]
fn async_shutdown_is_bounded_by_the_same_limit() {
    let _serial = serial::telemetry_lock();
    // A listener that accepts and never answers, and an OTLP timeout longer than the limit.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = blackhole.local_addr().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let elapsed = rt.block_on(async {
        let (dispatch, guard) = Telemetry::builder()
            .shutdown_timeout(Duration::from_millis(500))
            .log_writer(Capture::default())
            .env_lookup(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "30000".into()),
            ]))
            .build();
        assert_eq!(guard.shutdown_timeout(), Duration::from_millis(500));
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info_span!("lost").in_scope(|| {})
        });
        let start = Instant::now();
        assert!(!guard.flush(), "a flush that cannot finish says so");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "flush took {:?}",
            start.elapsed()
        );
        let start = Instant::now();
        guard.shutdown().await;
        start.elapsed()
    });
    assert!(
        elapsed < Duration::from_millis(1500),
        "shutdown took {elapsed:?}"
    );
    drop(blackhole);
}

#[test]
fn sdk_disabled_exports_nothing_but_logs_work() {
    let _serial = serial::telemetry_lock();
    let receiver = Receiver::start();
    let logs = Capture::default();
    let (dispatch, guard) = Telemetry::builder()
        .log_writer(logs.clone())
        .env_lookup(env(&[
            ("OTEL_SDK_DISABLED", "true".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ]))
        .build();
    assert!(guard.tracer_provider().is_none());
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("ignored").in_scope(|| tracing::info!("still logged"));
    });
    drop(guard);
    assert!(logs.text().contains("still logged"), "{}", logs.text());
    assert!(!logs.text().contains("trace_id="));
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.store.spans().is_empty());
}

#[test]
fn traces_exporter_none_keeps_ids_in_logs() {
    let _serial = serial::telemetry_lock();
    let logs = Capture::default();
    let (dispatch, guard) = Telemetry::builder()
        .log_writer(logs.clone())
        .env_lookup(env(&[("OTEL_TRACES_EXPORTER", "none".into())]))
        .build();
    assert!(guard.tracer_provider().is_some());
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("s").in_scope(|| tracing::info!("inside"));
        tracing::info!("outside");
    });
    let text = logs.text();
    let inside = text.lines().find(|l| l.contains("inside")).unwrap();
    let outside = text.lines().find(|l| l.contains("outside")).unwrap();
    assert!(
        inside.contains("trace_id=") && inside.contains("span_id="),
        "{inside}"
    );
    assert!(!outside.contains("trace_id="), "{outside}");
}

#[test]
fn json_log_lines_carry_trace_and_span_ids() {
    let _serial = serial::telemetry_lock();
    let logs = Capture::default();
    let (dispatch, _guard) = Telemetry::builder()
        .log_writer(logs.clone())
        .env_lookup(env(&[
            ("OTEL_TRACES_EXPORTER", "none".into()),
            ("OTEL_INJECT_LOG_FORMAT", "json".into()),
            (
                "TRACEPARENT",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            ),
        ]))
        .build();
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("job");
        let cx = otel_inject_sdk::propagation::parent_context_from(&_guard.config().parent);
        use otel_inject_sdk::tracing_opentelemetry::OpenTelemetrySpanExt;
        let _ = span.set_parent(cx);
        span.in_scope(|| tracing::info!(rows = 3, "loaded"));
    });
    let line = logs.text();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(v["message"], "loaded");
    assert_eq!(v["rows"], 3);
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(v["span_id"].as_str().map(str::len), Some(16));
}

#[test]
fn malformed_values_are_reported_once_and_init_goes_on() {
    let _serial = serial::telemetry_lock();
    let (_dispatch, guard) = Telemetry::builder()
        .log_writer(Capture::default())
        .env_lookup(env(&[
            ("OTEL_TRACES_SAMPLER", "bogus".into()),
            // One warning for the CA file, though all three exporters need it.
            ("OTEL_METRICS_EXPORTER", "otlp".into()),
            ("OTEL_LOGS_EXPORTER", "otlp".into()),
            ("RUST_LOG", "info,[[[".into()),
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                "/nonexistent/ca.pem".into(),
            ),
        ]))
        .build();
    let w: Vec<String> = guard.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 3, "{w:#?}");
    assert!(
        w[0].starts_with("OTEL_TRACES_SAMPLER=\"bogus\" is invalid"),
        "{}",
        w[0]
    );
    assert!(
        w[1].starts_with("RUST_LOG=\"info,[[[\" is invalid") && w[1].ends_with("using info"),
        "{}",
        w[1]
    );
    assert!(
        w[2].contains("OTEL_EXPORTER_OTLP_CERTIFICATE=\"/nonexistent/ca.pem\"")
            && w[2].ends_with("using no exporter (traces, metrics, logs are not sent)"),
        "{}",
        w[2]
    );
    assert!(guard.tracer_provider().is_some());
}

#[rstest]
#[case::env_service_name_beats_resource_attributes(
    &[("OTEL_SERVICE_NAME", "svc-env"), ("OTEL_RESOURCE_ATTRIBUTES", "service.name=svc-attr")], "service.name", Some("svc-env"))]
#[case::resource_attributes_beat_code(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=svc-attr")], "service.name", Some("svc-attr"))]
#[case::code_when_nothing_else(&[], "service.name", Some("svc-code"))]
#[case::env_namespace_beats_file(&[("OTEL_RESOURCE_ATTRIBUTES", "k8s.namespace.name=from-env")], "k8s.namespace.name", Some("from-env"))]
#[case::namespace_from_file(&[], "k8s.namespace.name", Some("from-file"))]
#[case::pod_name_from_downward_env(&[], "k8s.pod.name", Some("pod-downward"))]
#[case::node_from_downward_env(&[], "k8s.node.name", Some("node-9"))]
#[case::pid(&[], "process.pid", Some("42"))]
#[case::executable_name(&[], "process.executable.name", Some("orders-api"))]
#[case::host_name_from_the_system(&[], "host.name", Some("node-host"))]
#[case::host_name_from_env(&[("OTEL_RESOURCE_ATTRIBUTES", "host.name=set")], "host.name", Some("set"))]
fn resource_precedence(
    #[case] vars: &[(&str, &str)],
    #[case] key: &str,
    #[case] expected: Option<&str>,
) {
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    let config = EnvConfig::from_lookup_with(
        |k| map.get(k).map(|v| v.to_string()),
        &otel_inject_sdk::CodeDefaults {
            service_name: Some("svc-code".into()),
            ..Default::default()
        },
    );
    let detected = Detected {
        namespace_file: Some("from-file".into()),
        hostname: Some("host-pod".into()),
        system_hostname: Some("node-host".into()),
        in_kubernetes: true,
        pod_name: Some("pod-downward".into()),
        pod_uid: None,
        node_name: Some("node-9".into()),
        pid: 42,
        executable_path: Some("/app/orders-api".into()),
    };
    let attrs = resource_attributes(&config, &detected);
    assert_eq!(
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str()),
        expected
    );
}

#[test]
fn telemetry_sdk_version_is_the_one_built_with() {
    let v = otel_inject_sdk::resource::sdk_version();
    // The version opentelemetry_sdk reports for itself: 0.33.x, not a hand-written "0.33".
    let parts: Vec<&str> = v.split('.').collect();
    assert_eq!(parts.len(), 3, "{v}");
    assert_eq!(&parts[..2], ["0", "33"], "{v}");
    assert!(parts[2].parse::<u32>().is_ok(), "{v}");
}

#[test]
fn detected_host_name_is_the_kernels() {
    let d = Detected::from_process(|_| Some("from-env".into()));
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        assert_eq!(d.system_hostname.as_deref(), Some(h.trim()));
    }
}

#[test]
fn startup_summary_says_what_each_signal_does() {
    let config = EnvConfig::from_lookup(|k| {
        match k {
            "OTEL_SERVICE_NAME" => Some("orders"),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4317"),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=secret"),
            "OTEL_LOGS_EXPORTER" => Some("console"),
            "OTEL_METRIC_EXPORT_INTERVAL" => Some("15000"),
            "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio"),
            "OTEL_TRACES_SAMPLER_ARG" => Some("0.25"),
            _ => None,
        }
        .map(String::from)
    });
    let attrs = resource_attributes(&config, &Detected::default());
    let line = otel_inject_sdk::startup_summary(&config, &attrs);
    assert_eq!(
        line,
        "otel-inject-sdk: service.name=orders; traces: otlp grpc http://collector:4317 (protocol from port 4317) headers [api-key]; metrics: otlp grpc http://collector:4317 (protocol from port 4317) headers [api-key] every 15s; logs: console; sampler parentbased_traceidratio(0.25); propagators tracecontext,baggage"
    );
    assert!(!line.contains("secret"));
}

#[test]
fn pod_name_falls_back_to_hostname_only_in_kubernetes() {
    let config = EnvConfig::from_lookup(|_| None);
    let mut d = Detected {
        hostname: Some("web-7f9c".into()),
        pid: 1,
        ..Default::default()
    };
    let get = |d: &Detected, k: &str| {
        resource_attributes(&config, d)
            .into_iter()
            .find(|(ek, _)| ek == k)
            .map(|(_, v)| v)
    };
    assert_eq!(get(&d, "k8s.pod.name"), None);
    assert_eq!(get(&d, "host.name").as_deref(), Some("web-7f9c"));
    d.in_kubernetes = true;
    assert_eq!(get(&d, "k8s.pod.name").as_deref(), Some("web-7f9c"));
    assert_eq!(
        get(&d, "service.name").as_deref(),
        Some("unknown_service:rust")
    );
}

#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn gzip_compression_reaches_the_collector(#[case] protocol: &str) {
    let _serial = serial::telemetry_lock();
    let receiver = Receiver::start();
    let endpoint = if protocol == "grpc" {
        receiver.grpc_endpoint()
    } else {
        receiver.http_endpoint()
    };
    let (dispatch, guard) = Telemetry::builder()
        .service_name("gzip-test")
        .log_writer(Capture::default())
        .env_lookup(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
        ]))
        .build();
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("compressed").in_scope(|| tracing::info!("work"));
    });
    drop(guard);
    let spans = receiver.store.spans();
    let span = spans
        .iter()
        .find(|s| s.span.name == "compressed")
        .expect("the compressed export arrived");
    let encoding = if protocol == "grpc" {
        "grpc-encoding"
    } else {
        "content-encoding"
    };
    assert!(
        span.headers
            .iter()
            .any(|(k, v)| k == encoding && v == "gzip"),
        "{encoding}: gzip expected in {:?}",
        span.headers
    );
}
