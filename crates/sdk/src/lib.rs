//! otel-inject-sdk: one call turns the injected `OTEL_*` environment into working traces.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() {
//!     // Code values are defaults: OTEL_SERVICE_NAME and friends override them.
//!     let telemetry = otel_inject_sdk::Telemetry::builder().service_name("orders-api").init();
//!     tracing::info!("started");
//!     // ... axum::serve(..).with_graceful_shutdown(otel_inject_sdk::shutdown_signal()) ...
//!     otel_inject_sdk::shutdown_signal().await;
//!     telemetry.shutdown().await; // bounded by the shutdown timeout (5 s)
//! }
//! ```
//!
//! What it reads, and what it does with malformed values, is listed in the crate's README.
//! The whole configuration is parsed by one pure function, [`EnvConfig::from_lookup`].
#![warn(missing_docs)]

pub mod config;
pub mod exporter;
pub mod grpc;
pub mod http;
mod lifecycle;
pub mod log_format;
pub mod propagation;
pub mod remote_sampler;
pub mod resource;
mod telemetry;

pub use otel_inject_lib::names;

/// The OpenTelemetry API this SDK is built on: use it rather than your own dependency so the
/// global provider and your spans are of the same version.
pub use opentelemetry;
/// The OpenTelemetry SDK this crate configures.
pub use opentelemetry_sdk;
/// The reqwest (0.13) that [`http::send_traced`] takes: a client built from this re-export
/// always matches, and uses rustls with the ring provider `init()` installs (a plain
/// `cargo add reqwest` brings aws-lc-rs too).
pub use reqwest;
/// The `tracing` this crate's subscriber serves (and [`root_span!`] uses, so that macro needs
/// no `tracing` dependency of yours).
pub use tracing;
/// The `tracing` bridge this crate installs.
pub use tracing_opentelemetry;

pub use config::{CodeDefaults, ConfigWarning, EnvConfig, LogFormat};
pub use lifecycle::shutdown_signal;
pub use otel_inject_lib::sdk_values::OtlpProtocol;
pub use propagation::{current_trace_id, join_process_trace, process_parent_context};
pub use telemetry::{
    init, sampler, startup_summary, Telemetry, TelemetryBuilder, TelemetryGuard,
    DEFAULT_LOG_FILTER, DEFAULT_SHUTDOWN_TIMEOUT,
};

/// Creates an `info`-level `tracing` span (same arguments as [`tracing::info_span!`]) that
/// joins the trace the process was started in (`TRACEPARENT`, e.g. an Argo Workflows step or a
/// Kubernetes Job), or starts a new trace when there is none.
///
/// ```no_run
/// let _telemetry = otel_inject_sdk::init();
/// let span = otel_inject_sdk::root_span!("train", model = "logreg");
/// let _entered = span.enter();
/// ```
#[macro_export]
macro_rules! root_span {
    ($($args:tt)+) => {{
        let span = $crate::tracing::info_span!(parent: None, $($args)+);
        $crate::join_process_trace(&span);
        span
    }};
}
