//! The SDK's whole configuration, read from a map of environment variables by one pure function
//! ([`EnvConfig::from_lookup`]). Every malformed value becomes one [`ConfigWarning`] that names
//! the variable, the value and the fallback; nothing here reads the process environment.

use std::fmt;
use std::time::Duration;

use otel_inject_lib::names::env;
use otel_inject_lib::sdk_values::{OtlpProtocol, Propagator, SamplerKind};

mod read;

use read::Reader;
pub use read::{is_valid_traceparent, port_of};

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

/// Which exporter a signal uses (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`,
/// `OTEL_LOGS_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// OTLP (the default).
    Otlp,
    /// One line per span, metric or log record on standard output (for debugging).
    Console,
    /// No exporter: spans are still created (so contexts propagate) but not sent; no metrics
    /// are collected; log lines are only written locally.
    None,
}

impl Exporter {
    /// The variable's value for this exporter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otlp => "otlp",
            Self::Console => "console",
            Self::None => "none",
        }
    }
}

/// The span exporter choice (the name this type had before metrics and logs).
pub type TracesExporter = Exporter;

/// The three signals, each with its own exporter settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric points.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// `traces`, `metrics` or `logs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Metrics => "metrics",
            Self::Logs => "logs",
        }
    }

    /// The variables of this signal.
    pub fn vars(self) -> SignalVars {
        match self {
            Self::Traces => SignalVars {
                exporter: env::OTEL_TRACES_EXPORTER,
                endpoint: env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                protocol: env::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
                headers: env::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
                timeout: env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
                compression: env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
                insecure: vars::OTEL_EXPORTER_OTLP_TRACES_INSECURE,
                certificate: vars::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
                client_certificate: vars::OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
                client_key: vars::OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
            },
            Self::Metrics => SignalVars {
                exporter: vars::OTEL_METRICS_EXPORTER,
                endpoint: vars::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
                protocol: vars::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
                headers: vars::OTEL_EXPORTER_OTLP_METRICS_HEADERS,
                timeout: vars::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
                compression: vars::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
                insecure: vars::OTEL_EXPORTER_OTLP_METRICS_INSECURE,
                certificate: vars::OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
                client_certificate: vars::OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
                client_key: vars::OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
            },
            Self::Logs => SignalVars {
                exporter: vars::OTEL_LOGS_EXPORTER,
                endpoint: vars::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
                protocol: vars::OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
                headers: vars::OTEL_EXPORTER_OTLP_LOGS_HEADERS,
                timeout: vars::OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
                compression: vars::OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
                insecure: vars::OTEL_EXPORTER_OTLP_LOGS_INSECURE,
                certificate: vars::OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
                client_certificate: vars::OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
                client_key: vars::OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
            },
        }
    }

    /// The path the specification appends to a base HTTP endpoint.
    pub fn http_path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
            Self::Logs => "/v1/logs",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The per-signal variable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalVars {
    /// `OTEL_<SIGNAL>_EXPORTER`.
    pub exporter: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`.
    pub endpoint: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`.
    pub protocol: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS`.
    pub headers: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`.
    pub timeout: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_COMPRESSION`.
    pub compression: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_INSECURE`.
    pub insecure: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_CERTIFICATE`.
    pub certificate: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_CLIENT_CERTIFICATE`.
    pub client_certificate: &'static str,
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_CLIENT_KEY`.
    pub client_key: &'static str,
}

/// The metrics and logs variables the SDK reads (the webhook injects none of them, so they
/// live here rather than in the core's names).
pub mod vars {
    #![allow(missing_docs)] // each constant is its own name
    pub const OTEL_EXPORTER_OTLP_TRACES_INSECURE: &str = "OTEL_EXPORTER_OTLP_TRACES_INSECURE";
    pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
    pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: &str =
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
    pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
    pub const OTEL_EXPORTER_OTLP_METRICS_INSECURE: &str = "OTEL_EXPORTER_OTLP_METRICS_INSECURE";
    pub const OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: &str =
        "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE";
    pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: &str =
        "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE";
    pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY";
    pub const OTEL_EXPORTER_OTLP_LOGS_INSECURE: &str = "OTEL_EXPORTER_OTLP_LOGS_INSECURE";
    pub const OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE";
    pub const OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: &str =
        "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE";
    pub const OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY";
    pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
    pub const OTEL_LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
    pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
    pub const OTEL_METRIC_EXPORT_TIMEOUT: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
    pub const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
    pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
    pub const OTEL_EXPORTER_OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
    pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
    pub const OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: &str =
        "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
    pub const OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
    pub const OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
    pub const OTEL_EXPORTER_OTLP_LOGS_HEADERS: &str = "OTEL_EXPORTER_OTLP_LOGS_HEADERS";
    pub const OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
    pub const OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";
    pub const OTEL_BLRP_SCHEDULE_DELAY: &str = "OTEL_BLRP_SCHEDULE_DELAY";
    pub const OTEL_BLRP_EXPORT_TIMEOUT: &str = "OTEL_BLRP_EXPORT_TIMEOUT";
    pub const OTEL_BLRP_MAX_QUEUE_SIZE: &str = "OTEL_BLRP_MAX_QUEUE_SIZE";
    pub const OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE";
}

/// Aggregation temporality the metric exporter asks for
/// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalityPreference {
    /// Sums and histograms accumulate from the start (the default).
    Cumulative,
    /// Counters and histograms reset every export (up-down counters stay cumulative).
    Delta,
    /// Synchronous counters and histograms are delta, the rest cumulative.
    LowMemory,
}

/// Metric reader settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `OTEL_METRIC_EXPORT_INTERVAL`: time between two exports.
    pub interval: Duration,
    /// `OTEL_METRIC_EXPORT_TIMEOUT`: bound of one export.
    pub timeout: Duration,
    /// Temporality preference.
    pub temporality: TemporalityPreference,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(60000),
            timeout: Duration::from_millis(30000),
            temporality: TemporalityPreference::Cumulative,
        }
    }
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
    /// Where the protocol came from (a variable name, `"code"`, `"port 4317"` or `"default"`).
    pub protocol_source: &'static str,
    /// Headers (gRPC metadata), percent-decoded.
    pub headers: Vec<(String, String)>,
    /// Per-export timeout.
    pub timeout: Duration,
    /// Compression.
    pub compression: Compression,
    /// PEM file with the CA certificates that verify the collector.
    pub ca_file: Option<TlsFile>,
    /// PEM client certificate and key for mutual TLS; both or neither.
    pub client_identity: Option<(TlsFile, TlsFile)>,
    /// `OTEL_EXPORTER_OTLP_[<SIGNAL>_]INSECURE`: a schemeless gRPC endpoint uses plaintext.
    pub insecure: bool,
}

/// A TLS file and the variable that named it (the per-signal one or the generic one), so that
/// a file that cannot be read is reported under the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFile {
    /// The variable, e.g. `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`.
    pub variable: &'static str,
    /// Its value: the path of a PEM file.
    pub path: String,
}

impl OtlpConfig {
    /// Whether the endpoint uses TLS.
    pub fn uses_tls(&self) -> bool {
        self.endpoint.starts_with("https://")
    }
}

/// The sampler (`OTEL_TRACES_SAMPLER` + `_ARG`), restricted to the ones this SDK implements.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// The sampler.
    pub kind: SamplerKind,
    /// The ratio for the ratio samplers (1.0 otherwise).
    pub ratio: f64,
    /// The settings of `jaeger_remote` and `parentbased_jaeger_remote`.
    pub remote: Option<RemoteSamplerConfig>,
}

/// Where `jaeger_remote` fetches its sampling strategies (`OTEL_TRACES_SAMPLER_ARG`:
/// `endpoint=...,pollingIntervalMs=...,initialSamplingRate=...`).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSamplerConfig {
    /// Jaeger's HTTP sampling endpoint (the remote_sampling extension's, port 5778);
    /// `?service=<service.name>` is added.
    pub endpoint: String,
    /// Time between two fetches.
    pub polling_interval: Duration,
    /// The ratio used until the first strategy arrives (and while none can be fetched).
    pub initial_sampling_rate: f64,
}

impl Default for RemoteSamplerConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://localhost:5778/sampling".into(),
            polling_interval: Duration::from_millis(60000),
            initial_sampling_rate: 0.001,
        }
    }
}

/// Batch processor settings (`OTEL_BSP_*` for spans, `OTEL_BLRP_*` for log records).
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
    pub traces_exporter: Exporter,
    /// `OTEL_METRICS_EXPORTER`.
    pub metrics_exporter: Exporter,
    /// `OTEL_LOGS_EXPORTER`.
    pub logs_exporter: Exporter,
    /// OTLP settings of the span exporter.
    pub otlp: OtlpConfig,
    /// OTLP settings of the metric exporter (`OTEL_EXPORTER_OTLP_METRICS_*` over the generic ones).
    pub metrics_otlp: OtlpConfig,
    /// OTLP settings of the log exporter (`OTEL_EXPORTER_OTLP_LOGS_*` over the generic ones).
    pub logs_otlp: OtlpConfig,
    /// Metric reader settings.
    pub metrics: MetricsConfig,
    /// Batch log record processor (`OTEL_BLRP_*`).
    pub log_batch: BatchConfig,
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
        let traces_exporter = r.exporter(Signal::Traces);
        let metrics_exporter = r.exporter(Signal::Metrics);
        let logs_exporter = r.exporter(Signal::Logs);
        let otlp = r.otlp(Signal::Traces, defaults);
        let metrics_otlp = r.otlp(Signal::Metrics, defaults);
        let logs_otlp = r.otlp(Signal::Logs, defaults);
        let metrics = r.metrics();
        let log_batch = r.log_batch();
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
            metrics_exporter,
            logs_exporter,
            otlp,
            metrics_otlp,
            logs_otlp,
            metrics,
            log_batch,
            sampler,
            propagators,
            batch,
            parent,
            log_format,
            warnings: r.warnings,
        }
    }
}
