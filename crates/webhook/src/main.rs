//! The `otel-inject` binary.
fn main() {}
