//! HTTP propagation: a tower layer that makes the server span of each incoming request (its
//! parent extracted with the global propagator) and helpers that make a client span and inject
//! its context into outgoing requests.

use opentelemetry::global;

mod client;
mod server;

pub use client::{send_traced, RequestBuilderExt, TracedRequest};
pub use server::{HttpServerTrace, HttpServerTraceLayer};

pub use crate::propagation::{
    extract_context, inject_context, inject_current_context, HeaderMapCarrier,
};

/// The instrumentation scope of the spans this module makes.
pub const SCOPE: &str = "otel-inject-sdk/http";

/// The semantic conventions' bucket boundaries (seconds) for HTTP request durations.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn duration_histogram(
    name: &'static str,
    description: &'static str,
) -> opentelemetry::metrics::Histogram<f64> {
    global::meter(SCOPE)
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build()
}
