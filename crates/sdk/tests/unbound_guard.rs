//! `let _ = init();` drops the guard at once. The pipeline `init` installed belongs to the
//! process, so telemetry stays on, log lines keep their ids, and since nothing is left to flush
//! at exit each finished trace is exported before its last span's `drop` returns. (Its own
//! test binary: `init` installs process-wide state.)
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/capture.rs"]
mod capture;
#[path = "support/receiver.rs"]
mod receiver;

use capture::Capture;
use receiver::Receiver;

#[test]
fn an_unbound_guard_keeps_telemetry_on_and_loses_nothing() {
    let receiver = Receiver::start();
    let logs = Capture::default();
    let endpoint = receiver.http_endpoint();
    #[allow(let_underscore_drop)]
    let _ = otel_inject_sdk::Telemetry::builder()
        .service_name("unbound")
        .log_writer(logs.clone())
        .env_lookup(move |k| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            // Ten minutes: only the guardless flush can deliver within the test.
            "OTEL_BSP_SCHEDULE_DELAY" => Some("600000".into()),
            _ => None,
        })
        .init();

    let request = tracing::info_span!("request");
    request.in_scope(|| {
        tracing::info_span!("query").in_scope(|| tracing::info!("handled"));
    });
    assert!(
        receiver.store.spans().is_empty(),
        "nothing is exported before the trace's local root ends"
    );
    drop(request);

    // No waiting: the local root's end flushed the pipeline before `drop` returned.
    let spans = receiver.store.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
    assert!(
        names.contains(&"request") && names.contains(&"query"),
        "{names:?}"
    );
    assert!(spans.iter().all(|s| s.service() == "unbound"));

    let text = logs.text();
    let line = text.lines().find(|l| l.contains("handled")).unwrap();
    assert!(
        line.contains("trace_id="),
        "log lines keep their trace id: {line}"
    );
}
