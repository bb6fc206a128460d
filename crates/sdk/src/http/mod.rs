//! HTTP propagation: a tower layer that makes the server span of each incoming request (its
//! parent extracted with the global propagator) and helpers that make a client span and inject
//! its context into outgoing requests.

mod client;
mod server;

pub use client::{send_traced, RequestBuilderExt};
pub use server::{HttpServerTrace, HttpServerTraceLayer};

pub use crate::propagation::{
    extract_context, inject_context, inject_current_context, HeaderMapCarrier,
};

/// The instrumentation scope of the spans this module makes.
pub const SCOPE: &str = "otel-inject-sdk/http";
