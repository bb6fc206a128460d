//! The span side of the layer tests: one in-memory exporter behind the process-wide tracer
//! provider (the global one is process-wide, so one per test binary; each test finds its own
//! spans), with the W3C propagator, and attribute lookup.

use std::sync::OnceLock;

use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use otel_inject_lib::sdk_values::Propagator;
use otel_inject_sdk::propagation::build_propagator;

/// The exporter every span of this test binary ends in.
pub fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider);
        opentelemetry::global::set_text_map_propagator(build_propagator(&[
            Propagator::TraceContext,
        ]));
        exporter
    })
}

/// The value of `span`'s attribute `key`, as a string.
pub fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}
