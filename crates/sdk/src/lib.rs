//! otel-inject-sdk: one call turns the injected `OTEL_*` environment into working traces.
#![warn(missing_docs)]

pub use otel_inject_lib::names;
