//! The SDK's whole configuration, read from a map of environment variables by one pure function
//! ([`EnvConfig::from_lookup`]). Every malformed value becomes one [`ConfigWarning`] that names
//! the variable, the value and the fallback; nothing here reads the process environment.

use std::fmt;
use std::time::Duration;

use otel_inject_lib::names::env;
use otel_inject_lib::sdk_values::{OtlpProtocol, Propagator, SamplerKind};

mod read;

pub use read::is_valid_traceparent;
use read::Reader;

/// Log line format of the SDK's `tracing` subscriber.
pub const OTEL_INJECT_LOG_FORMAT: &str = "OTEL_INJECT_LOG_FORMAT";

/// Default OTLP export timeout (specification: 10 s).
pub const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);

/// A value that could not be used, and what is used instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The environment variable.
    pub variable: &'static str,
    /// The value as written.
    pub value: String,
    /// Why it was rejected.
    pub problem: String,
    /// What the SDK uses instead.
    pub fallback: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is invalid: {}; using {}",
            self.variable, self.value, self.problem, self.fallback
        )
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// Which span exporter to use (`OTEL_TRACES_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracesExporter {
    /// OTLP (the default).
    Otlp,
    /// No exporter: spans are created (so contexts propagate) but not sent.
    None,
}

/// OTLP compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
}

/// The resolved OTLP trace exporter settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// Transport.
    pub protocol: OtlpProtocol,
    /// The full URL spans are sent to (`/v1/traces` already appended where the spec says so).
    pub endpoint: String,
    /// Where the endpoint came from (a variable name, `"code"` or `"default"`).
    pub endpoint_source: &'static str,
    /// Headers (gRPC metadata), percent-decoded.
    pub headers: Vec<(String, String)>,
    /// Per-export timeout.
    pub timeout: Duration,
    /// Compression.
    pub compression: Compression,
    /// PEM file with the CA certificates that verify the collector.
    pub ca_file: Option<String>,
    /// PEM client certificate and key for mutual TLS; both or neither.
    pub client_identity: Option<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_INSECURE`: a schemeless gRPC endpoint uses plaintext.
    pub insecure: bool,
}

impl OtlpConfig {
    /// Whether the endpoint uses TLS.
    pub fn uses_tls(&self) -> bool {
        self.endpoint.starts_with("https://")
    }
}

/// The sampler (`OTEL_TRACES_SAMPLER` + `_ARG`), restricted to the ones this SDK implements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerConfig {
    /// The sampler.
    pub kind: SamplerKind,
    /// The ratio for the ratio samplers (1.0 otherwise).
    pub ratio: f64,
}

/// Batch span processor settings (`OTEL_BSP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Delay between two exports.
    pub schedule_delay: Duration,
    /// Maximum time one export may take.
    pub export_timeout: Duration,
    /// Spans kept in memory before new ones are dropped.
    pub max_queue_size: usize,
    /// Spans per export.
    pub max_export_batch_size: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            schedule_delay: Duration::from_millis(5000),
            export_timeout: Duration::from_millis(30000),
            max_queue_size: 2048,
            max_export_batch_size: 512,
        }
    }
}

/// The process's parent trace context (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`), as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentEnv {
    /// A valid W3C `traceparent` value.
    pub traceparent: Option<String>,
    /// The `tracestate` value (only kept with a valid `traceparent`).
    pub tracestate: Option<String>,
    /// The W3C `baggage` value.
    pub baggage: Option<String>,
}

/// Values a program sets in code. They are defaults: every environment variable beats them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeDefaults {
    /// `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` set one.
    pub service_name: Option<String>,
    /// Resource attributes the environment may override.
    pub resource_attributes: Vec<(String, String)>,
    /// Base endpoint, treated like `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: Option<String>,
    /// Protocol used when no variable sets one.
    pub protocol: Option<OtlpProtocol>,
    /// Log format used when `OTEL_INJECT_LOG_FORMAT` is not set.
    pub log_format: Option<LogFormat>,
}

/// Everything the SDK reads from the environment, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvConfig {
    /// `OTEL_SDK_DISABLED=true`: no provider, no exporter; logs still work.
    pub disabled: bool,
    /// `OTEL_SERVICE_NAME` (a code default lands in `resource_attributes` instead).
    pub service_name: Option<String>,
    /// Resource attributes from code defaults then `OTEL_RESOURCE_ATTRIBUTES` (later wins),
    /// `$(VAR)` references expanded.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_TRACES_EXPORTER`.
    pub traces_exporter: TracesExporter,
    /// OTLP settings.
    pub otlp: OtlpConfig,
    /// Sampler.
    pub sampler: SamplerConfig,
    /// Propagators, in order; empty means none.
    pub propagators: Vec<Propagator>,
    /// Batch span processor.
    pub batch: BatchConfig,
    /// The parent context of the process.
    pub parent: ParentEnv,
    /// Log format.
    pub log_format: LogFormat,
    /// Every value that was rejected, in the order variables were read.
    pub warnings: Vec<ConfigWarning>,
}

impl EnvConfig {
    /// Reads the configuration through `lookup` (e.g. `|k| std::env::var(k).ok()`) with no
    /// code defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self::from_lookup_with(lookup, &CodeDefaults::default())
    }

    /// Reads the process environment.
    pub fn from_env(defaults: &CodeDefaults) -> Self {
        Self::from_lookup_with(|k| std::env::var(k).ok(), defaults)
    }

    /// Reads the configuration through `lookup`, with `defaults` set in code.
    pub fn from_lookup_with(
        lookup: impl Fn(&str) -> Option<String>,
        defaults: &CodeDefaults,
    ) -> Self {
        let mut r = Reader {
            lookup: &lookup,
            warnings: Vec::new(),
        };
        let disabled = r.bool(env::OTEL_SDK_DISABLED, false);
        let service_name = r.get(env::OTEL_SERVICE_NAME);
        // A service name set in code is the weakest setting: `service.name` in
        // OTEL_RESOURCE_ATTRIBUTES beats it, and OTEL_SERVICE_NAME beats both.
        let mut code_attrs = defaults.resource_attributes.clone();
        if let Some(name) = &defaults.service_name {
            code_attrs.retain(|(k, _)| k != otel_inject_lib::names::attr::SERVICE_NAME);
            code_attrs.insert(
                0,
                (
                    otel_inject_lib::names::attr::SERVICE_NAME.into(),
                    name.clone(),
                ),
            );
        }
        let resource_attributes = r.resource_attributes(&code_attrs);
        let traces_exporter = r.traces_exporter();
        let otlp = r.otlp(defaults);
        let sampler = r.sampler();
        let propagators = r.propagators();
        let batch = r.batch();
        let parent = r.parent();
        let log_format = r.log_format(defaults.log_format);
        EnvConfig {
            disabled,
            service_name,
            resource_attributes,
            traces_exporter,
            otlp,
            sampler,
            propagators,
            batch,
            parent,
            log_format,
            warnings: r.warnings,
        }
    }
}
