//! A failed export says which signal, endpoint and protocol failed, and what to change; and
//! `init` says in one line what it set up. (Its own test binary: `init` installs the global
//! subscriber that the exporter's threads log through.)
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/capture.rs"]
mod capture;
#[path = "support/receiver.rs"]
mod receiver;

use std::collections::HashMap;

use capture::Capture;
use otel_inject_sdk::Telemetry;
use receiver::Receiver;

fn env(vars: Vec<(&str, String)>) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    move |k| map.get(k).cloned()
}

#[test]
fn an_export_error_names_the_signal_endpoint_and_protocol() {
    // An HTTP endpoint that answers 404 to everything.
    let receiver = Receiver::start();
    let endpoint = format!("{}/nothing-here", receiver.http_endpoint());
    let logs = Capture::default();
    let guard = Telemetry::builder()
        .service_name("errors-test")
        .log_writer(logs.clone())
        .shutdown_timeout(std::time::Duration::from_secs(2))
        .env_lookup(env(vec![
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.clone()),
            ("OTEL_METRICS_EXPORTER", "none".into()),
            ("OTEL_LOGS_EXPORTER", "none".into()),
        ]))
        .init();
    tracing::info_span!("lost").in_scope(|| {});
    assert!(!guard.flush(), "flush says the spans were not delivered");
    let text = logs.text();
    let started = text
        .lines()
        .find(|l| l.contains("otel-inject-sdk: service.name=errors-test;"))
        .unwrap_or_else(|| panic!("no start-up line:\n{text}"));
    assert!(started.contains(" INFO "), "{started}");
    assert!(
        started.contains(&format!(
            "traces: otlp http/protobuf {endpoint} (protocol from default)"
        )),
        "{started}"
    );
    assert!(
        started.contains("metrics: none; logs: none; sampler parentbased_always_on"),
        "{started}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("export to"))
        .unwrap_or_else(|| panic!("no export error logged:\n{text}"));
    assert!(
        line.contains(&format!(
            "OTLP traces export to {endpoint} over http/protobuf failed"
        )),
        "{line}"
    );
    assert!(
        line.contains("the collector does not take traces"),
        "a 404 says what to change: {line}"
    );
}
