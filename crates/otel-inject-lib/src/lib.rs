//! otel-inject-lib: the decision engine of otel-inject.
//!
//! Given a pod (as raw JSON), its namespace, the Instrumentations that may apply and the pod's
//! owners, [`mutate`] decides what OpenTelemetry auto-instrumentation to inject and returns an
//! RFC 6902 JSON Patch that touches only what it adds, plus a per-container explanation.
//! It is pure and synchronous: no I/O, no async, no Kubernetes client.
//!
//! Without the default `k8s` feature only the shared names and encodings are built
//! ([`names`], [`resource_attributes`], [`sdk_values`]); the SDK crate uses them that way.
#![warn(missing_docs)]

pub mod names;
pub mod resource_attributes;
pub mod sdk_values;
