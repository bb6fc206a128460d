//! The exporter stack's own spans and events (h2, hyper, tonic, reqwest, opentelemetry...)
//! never become spans or log records, even with `RUST_LOG=trace`: exporting them would feed
//! the export with itself; their events still reach the log lines. Everything else does, a
//! crate whose name merely starts the same (`hyperx`, `tower_http`) included, and so do the
//! user's spans inside an internal one.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/capture.rs"]
mod capture;

use capture::Capture;
use opentelemetry_sdk::logs::InMemoryLogExporter;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use otel_inject_sdk::Telemetry;

#[test]
fn internal_targets_are_kept_out_of_spans_and_log_records() {
    let spans = InMemorySpanExporter::default();
    let logs = InMemoryLogExporter::default();
    let lines = Capture::default();
    let (dispatch, guard) = Telemetry::builder()
        .service_name("internals")
        .env_lookup(|k| match k {
            "RUST_LOG" => Some("trace".into()),
            "OTEL_METRICS_EXPORTER" => Some("none".into()),
            _ => None,
        })
        .without_detection()
        .log_writer(lines.clone())
        .span_exporter(spans.clone())
        .log_exporter(logs.clone())
        .build();
    // Targets are constants in `tracing`'s macros: one expansion per target.
    macro_rules! internal {
        ($target:literal) => {{
            let internal = tracing::span!(target: $target, tracing::Level::INFO, "internal");
            let _in = internal.enter();
            tracing::event!(target: $target, tracing::Level::WARN, "internal event");
            // The user's work inside an internal span is the user's.
            let work = tracing::info_span!("work", inside = $target);
            let _w = work.enter();
            tracing::info!(inside = $target, "user event");
        }};
    }
    macro_rules! lookalike {
        ($target:literal) => {{
            let _s = tracing::span!(target: $target, tracing::Level::INFO, "lookalike").entered();
            tracing::event!(target: $target, tracing::Level::INFO, "lookalike event");
        }};
    }
    tracing::dispatcher::with_default(&dispatch, || {
        internal!("h2::proto");
        internal!("hyper_util::client::legacy");
        internal!("tonic");
        internal!("opentelemetry_sdk");
        lookalike!("hyperx");
        lookalike!("tower_http::trace::on_request");
        lookalike!("h2o_client");
    });
    assert!(guard.flush(), "flush within the timeout");

    let mut names: Vec<String> = spans
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "lookalike",
            "lookalike",
            "lookalike",
            "work",
            "work",
            "work",
            "work"
        ],
        "no span of h2, hyper_util, tonic or opentelemetry_sdk; every other one"
    );

    let records = logs.get_emitted_logs().unwrap();
    let mut bodies: Vec<String> = records
        .iter()
        .map(|r| format!("{:?}", r.record.body().unwrap()))
        .collect();
    bodies.sort();
    assert_eq!(bodies.len(), 7, "{bodies:?}");
    assert!(
        bodies.iter().all(|b| !b.contains("internal event")),
        "{bodies:?}"
    );
    assert_eq!(
        bodies.iter().filter(|b| b.contains("user event")).count(),
        4
    );
    // The log lines keep them all: an exporter warning is what a user needs to see.
    let text = lines.text();
    assert_eq!(text.matches("internal event").count(), 4, "{text}");
    assert_eq!(text.matches("user event").count(), 4, "{text}");
}
