//! Start-up and shutdown: the builder turns [`EnvConfig`] (environment over code defaults) into a
//! tracer provider, a global propagator and a `tracing` subscriber, and returns the guard whose
//! drop flushes within a bounded time on a thread of its own.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanExporter,
};
use otel_inject_lib::sdk_values::{OtlpProtocol, SamplerKind};
use tracing::Dispatch;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::config::{
    CodeDefaults, ConfigWarning, EnvConfig, Exporter, LogFormat, OtlpConfig, SamplerConfig, Signal,
};
use crate::exporter::{ExporterError, OtlpLogExporter, OtlpMetricExporter, OtlpSpanExporter};
use crate::lifecycle::{self, GuardAwareProcessor, LifecycleState, Outcome, Pipeline};
use crate::log_format::CorrelatedFormat;
use crate::propagation::build_propagator;
use crate::remote_sampler::AnySampler;
use crate::resource::{resource_attributes, to_resource, Detected};

/// Default bound on every flush and shutdown (guard drop, `shutdown().await`, signals).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The log filter used when `RUST_LOG` is not set.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Crates whose own spans never become OpenTelemetry spans, nor their events log records: they
/// are what the exporter itself runs on, and exporting them would feed back into the exporter.
/// Their events still reach the log lines.
const EXPORTER_INTERNALS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry-otlp",
    "opentelemetry_http",
];

/// Whether `target` is one of [`EXPORTER_INTERNALS`] or a module of one: its first `::`
/// segment compared with the list (a byte scan: this runs for every span and event).
fn is_exporter_internal(target: &str) -> bool {
    let head = match target.bytes().position(|b| b == b':') {
        Some(i) => &target[..i],
        None => target,
    };
    EXPORTER_INTERNALS.contains(&head)
}

/// Keeps the exporter's own spans from existing at all: a global filter, the first layer
/// over the registry. Nothing shows spans but the OpenTelemetry layer (log lines carry trace
/// and span ids, not span names), so this is the exporter-internals filter of that layer
/// without a per-layer filter's lookup at every enter, exit and close of every other span
/// (one made a span cost 6% more than the same pipeline wired by hand,
/// crates/sdk/benches/instructions.rs). Decided once per callsite. The exporter's events
/// stay: they are log lines, kept out of log records by [`EventsOnly`]; in a span layer they
/// would need a span of the user's around them, which the exporter's threads never have.
struct NoInternalSpans;

impl NoInternalSpans {
    fn allows(meta: &tracing::Metadata<'_>) -> bool {
        !(meta.is_span() && is_exporter_internal(meta.target()))
    }
}

impl<S: tracing::Subscriber> Layer<S> for NoInternalSpans {
    fn register_callsite(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if Self::allows(meta) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        Self::allows(meta)
    }
}

/// The log bridge, given events only and none of the exporter's internals. A wrapper, not a
/// per-layer filter: the bridge has nothing to do with spans, and a filtered layer would pay a
/// lookup at each span's enter, exit and close all the same.
struct EventsOnly<L>(L);

impl<S: tracing::Subscriber, L: Layer<S>> Layer<S> for EventsOnly<L> {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.0.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.0.on_layer(subscriber);
    }

    fn on_event(&self, event: &tracing::Event<'_>, cx: Context<'_, S>) {
        if !is_exporter_internal(event.metadata().target()) {
            self.0.on_event(event, cx);
        }
    }
}

type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
type MetricReaderFactory = Box<
    dyn FnOnce(
            opentelemetry_sdk::metrics::MeterProviderBuilder,
            &crate::config::MetricsConfig,
        ) -> opentelemetry_sdk::metrics::MeterProviderBuilder
        + Send,
>;
type LogProcessorFactory = Box<
    dyn FnOnce(
            opentelemetry_sdk::logs::LoggerProviderBuilder,
            opentelemetry_sdk::logs::BatchConfig,
        ) -> opentelemetry_sdk::logs::LoggerProviderBuilder
        + Send,
>;

/// Entry point of the builder: `Telemetry::builder().service_name("orders").init()`.
#[derive(Debug, Clone, Copy)]
pub struct Telemetry;

impl Telemetry {
    /// A builder with no code defaults, reading the process environment.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }
}

/// Builds the telemetry pipeline. Every value set here is a default that the corresponding
/// environment variable overrides.
#[must_use]
pub struct TelemetryBuilder {
    defaults: CodeDefaults,
    default_log_filter: String,
    shutdown_timeout: Duration,
    lookup: EnvLookup,
    exporter: Option<Box<dyn FnOnce(BatchConfigBuilder) -> BatchSpanProcessor + Send>>,
    metric_exporter: Option<MetricReaderFactory>,
    log_exporter: Option<LogProcessorFactory>,
    writer: Option<BoxMakeWriter>,
    detect: bool,
    exit_on_signal: bool,
}

impl Default for TelemetryBuilder {
    fn default() -> Self {
        Self {
            defaults: CodeDefaults::default(),
            default_log_filter: DEFAULT_LOG_FILTER.into(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            lookup: Arc::new(|k| std::env::var(k).ok()),
            exporter: None,
            metric_exporter: None,
            log_exporter: None,
            writer: None,
            detect: true,
            exit_on_signal: false,
        }
    }
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("defaults", &self.defaults)
            .field("default_log_filter", &self.default_log_filter)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// `service.name`, unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` set one.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.defaults.service_name = Some(name.into());
        self
    }

    /// `service.version`, unless the environment sets it.
    pub fn service_version(self, version: impl Into<String>) -> Self {
        self.resource_attribute(otel_inject_lib::names::attr::SERVICE_VERSION, version)
    }

    /// A resource attribute, unless the environment sets it.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.defaults.resource_attributes.retain(|(k, _)| *k != key);
        self.defaults.resource_attributes.push((key, value.into()));
        self
    }

    /// Base OTLP endpoint (like `OTEL_EXPORTER_OTLP_ENDPOINT`), unless a variable sets one.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.defaults.endpoint = Some(endpoint.into());
        self
    }

    /// OTLP protocol, unless a variable sets one.
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.defaults.protocol = Some(protocol);
        self
    }

    /// Log format, unless `OTEL_INJECT_LOG_FORMAT` sets one.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.defaults.log_format = Some(format);
        self
    }

    /// The `EnvFilter` directives used when `RUST_LOG` is not set (default `info`).
    pub fn default_log_filter(mut self, directives: impl Into<String>) -> Self {
        self.default_log_filter = directives.into();
        self
    }

    /// For programs that do not stop themselves on SIGTERM/SIGINT (jobs, workers, CLIs):
    /// with [`init`](Self::init), the signal flushes telemetry (within the shutdown timeout)
    /// and then ends the process as it would have (exit status 143 / 130). A program that
    /// stops itself uses [`shutdown_signal`](crate::shutdown_signal) instead, which takes
    /// precedence.
    pub fn exit_on_signal(mut self) -> Self {
        self.exit_on_signal = true;
        self
    }

    /// The one bound on every flush and shutdown: the guard's drop,
    /// [`TelemetryGuard::shutdown`], [`TelemetryGuard::flush`] and the flush on a signal
    /// (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Where log lines go (default: standard output).
    pub fn log_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
    {
        self.writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Reads variables through `lookup` instead of the process environment (tests, embedding).
    pub fn env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.lookup = Arc::new(lookup);
        self
    }

    /// Skips Kubernetes and process detection (the resource is then only what is configured).
    pub fn without_detection(mut self) -> Self {
        self.detect = false;
        self
    }

    /// Sends spans to `exporter` instead of OTLP, through the same batch processor and
    /// `OTEL_BSP_*` settings. `OTEL_SDK_DISABLED` and `OTEL_TRACES_EXPORTER=none` still apply.
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.exporter = Some(Box::new(move |batch: BatchConfigBuilder| {
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch.build())
                .build()
        }));
        self
    }

    /// Sends metrics to `exporter` instead of OTLP, through the same periodic reader and
    /// `OTEL_METRIC_EXPORT_INTERVAL`. `OTEL_SDK_DISABLED` and `OTEL_METRICS_EXPORTER=none`
    /// still apply.
    pub fn metric_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::metrics::exporter::PushMetricExporter,
    {
        self.metric_exporter = Some(Box::new(move |b, m| {
            b.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(m.interval)
                    .build(),
            )
        }));
        self
    }

    /// Sends log records to `exporter` instead of OTLP, through the same batch processor and
    /// `OTEL_BLRP_*` settings. `OTEL_SDK_DISABLED` and `OTEL_LOGS_EXPORTER=none` still apply.
    pub fn log_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::logs::LogExporter + 'static,
    {
        self.log_exporter = Some(Box::new(move |b, batch| {
            b.with_log_processor(
                BatchLogProcessor::builder(exporter)
                    .with_batch_config(batch)
                    .build(),
            )
        }));
        self
    }

    /// Builds everything and installs it globally (tracer provider, propagator, `tracing`
    /// subscriber). Never fails: problems are logged as warnings and the program runs on.
    pub fn init(self) -> TelemetryGuard {
        let exit_on_signal = self.exit_on_signal;
        let (dispatch, mut guard, warnings) = self.assemble();
        guard.installed = true;
        if let Some(p) = &guard.pipeline {
            if let Some(provider) = &p.tracer {
                opentelemetry::global::set_tracer_provider(provider.clone());
            }
            if let Some(provider) = &p.meter {
                opentelemetry::global::set_meter_provider(provider.clone());
            }
            lifecycle::install(p.clone());
        }
        if exit_on_signal {
            lifecycle::exit_on_signal();
        }
        opentelemetry::global::set_text_map_propagator(build_propagator(&guard.config.propagators));
        let installed = tracing::dispatcher::set_global_default(dispatch).is_ok();
        if !installed {
            tracing::warn!(
                target: "otel_inject_sdk",
                "a global tracing subscriber was already set; otel-inject-sdk's subscriber is not installed, so tracing spans are not exported (OpenTelemetry API spans still are)"
            );
        }
        report(&warnings, &guard.config, &guard.resource);
        guard
    }

    /// Builds everything without installing anything globally: the `tracing` dispatcher to use
    /// (e.g. with `tracing::dispatcher::with_default`) and the guard. Configuration warnings are
    /// in [`TelemetryGuard::warnings`].
    pub fn build(self) -> (Dispatch, TelemetryGuard) {
        let (dispatch, mut guard, warnings) = self.assemble();
        guard.warnings = warnings;
        (dispatch, guard)
    }

    fn assemble(self) -> (Dispatch, TelemetryGuard, Vec<ConfigWarning>) {
        // The exporters and any reqwest client the program builds use rustls with ring.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let lookup = self.lookup.clone();
        let config = EnvConfig::from_lookup_with(|k| lookup(k), &self.defaults);
        let mut warnings = config.warnings.clone();

        let (filter, filter_warning) = log_filter(lookup("RUST_LOG"), &self.default_log_filter);
        warnings.extend(filter_warning);

        let detected = if self.detect {
            Detected::from_process(|k| lookup(k))
        } else {
            Detected::default()
        };
        let attrs = resource_attributes(&config, &detected);

        let state = Arc::new(LifecycleState::default());
        let resource = to_resource(&attrs);
        let provider = if config.disabled {
            None
        } else {
            let mut b = SdkTracerProvider::builder()
                .with_sampler(build_sampler(&config.sampler, &attrs, &mut warnings))
                .with_resource(resource.clone());
            let batch = BatchConfigBuilder::default()
                .with_scheduled_delay(config.batch.schedule_delay)
                .with_max_queue_size(config.batch.max_queue_size)
                .with_max_export_batch_size(config.batch.max_export_batch_size);
            let processor = match (config.traces_exporter, self.exporter) {
                (Exporter::None, _) => None,
                (Exporter::Otlp, Some(make)) => Some(make(batch)),
                (Exporter::Console, _) => Some(
                    BatchSpanProcessor::builder(opentelemetry_stdout::SpanExporter::default())
                        .with_batch_config(batch.build())
                        .build(),
                ),
                (Exporter::Otlp, None) => {
                    let mut otlp = config.otlp.clone();
                    otlp.timeout = otlp
                        .timeout
                        .min(config.batch.export_timeout.max(Duration::from_millis(1)));
                    match OtlpSpanExporter::build(&otlp) {
                        Ok(exporter) => Some(
                            BatchSpanProcessor::builder(exporter)
                                .with_batch_config(batch.build())
                                .build(),
                        ),
                        Err(e) => {
                            push_exporter_warning(&mut warnings, Signal::Traces, &otlp, e);
                            None
                        }
                    }
                }
            };
            if let Some(inner) = processor {
                b = b.with_span_processor(GuardAwareProcessor {
                    inner,
                    state: state.clone(),
                });
            }
            Some(b.build())
        };
        let meter = if config.disabled {
            None
        } else {
            build_meter(&config, &resource, &mut warnings, self.metric_exporter)
        };
        let logger = if config.disabled {
            None
        } else {
            build_logger(&config, &resource, &mut warnings, self.log_exporter)
        };

        let format = CorrelatedFormat::new(config.log_format);
        let writer = self
            .writer
            .unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout));
        // The fmt layer sees events only: span fields are not repeated on log lines, the trace
        // and span ids are, and spans do not pay for formatting they would never use.
        let fmt_layer = tracing_subscriber::fmt::layer()
            .event_format(format)
            .with_writer(writer)
            .with_filter(tracing_subscriber::filter::filter_fn(|m| m.is_event()));

        let otel_layer = provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("otel-inject-sdk")));

        // tracing events become OTLP log records (with the active trace context), except the
        // exporter stack's own: a failing log export must not log itself into the next export.
        let log_layer = logger.as_ref().map(|l| {
            EventsOnly(opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(l))
        });

        let subscriber = tracing_subscriber::registry()
            .with(NoInternalSpans)
            .with(filter)
            .with(fmt_layer)
            .with(otel_layer)
            .with(log_layer);
        state.set_others(meter.clone(), logger.clone());
        let pipeline = Arc::new(Pipeline {
            tracer: provider,
            meter,
            logger,
            timeout: self.shutdown_timeout,
            state,
        });
        let guard = TelemetryGuard {
            pipeline: Some(pipeline),
            installed: false,
            config,
            resource: attrs,
            warnings: Vec::new(),
        };
        (Dispatch::new(subscriber), guard, warnings)
    }
}

/// One warning per problem: a TLS file that cannot be read fails every signal's exporter.
fn push_exporter_warning(
    warnings: &mut Vec<ConfigWarning>,
    signal: Signal,
    otlp: &OtlpConfig,
    e: ExporterError,
) {
    let problem = e.to_string();
    if let Some(w) = warnings
        .iter_mut()
        .find(|w| w.variable == "OTEL_EXPORTER_OTLP_*" && w.problem == problem)
    {
        let signals = w
            .fallback
            .trim_start_matches("no exporter (")
            .trim_end_matches(" are not sent)")
            .to_string();
        w.fallback = format!("no exporter ({signals}, {signal} are not sent)");
        return;
    }
    warnings.push(ConfigWarning {
        variable: "OTEL_EXPORTER_OTLP_*",
        value: otlp.endpoint.clone(),
        problem,
        fallback: format!("no exporter ({signal} are not sent)"),
    });
}

/// The meter provider: a periodic reader (`OTEL_METRIC_EXPORT_INTERVAL`/`_TIMEOUT`) on the
/// chosen exporter; `None` when metrics are off.
fn build_meter(
    config: &EnvConfig,
    resource: &opentelemetry_sdk::Resource,
    warnings: &mut Vec<ConfigWarning>,
    custom: Option<MetricReaderFactory>,
) -> Option<SdkMeterProvider> {
    let b = SdkMeterProvider::builder().with_resource(resource.clone());
    let m = &config.metrics;
    let b = match (config.metrics_exporter, custom) {
        (Exporter::None, _) => return None,
        (Exporter::Otlp, Some(make)) => make(b, m),
        (Exporter::Console, _) => b.with_reader(
            PeriodicReader::builder(
                opentelemetry_stdout::MetricExporter::builder()
                    .with_temporality(crate::exporter::sdk_temporality(m.temporality))
                    .build(),
            )
            .with_interval(m.interval)
            .build(),
        ),
        (Exporter::Otlp, None) => {
            let mut otlp = config.metrics_otlp.clone();
            otlp.timeout = otlp.timeout.min(m.timeout.max(Duration::from_millis(1)));
            match OtlpMetricExporter::build(&otlp, m.temporality) {
                Ok(e) => {
                    b.with_reader(PeriodicReader::builder(e).with_interval(m.interval).build())
                }
                Err(e) => {
                    push_exporter_warning(warnings, Signal::Metrics, &otlp, e);
                    return None;
                }
            }
        }
    };
    Some(b.build())
}

/// The logger provider: a batch processor (`OTEL_BLRP_*`) on the chosen exporter; `None` when
/// log records are not exported (log lines are still written).
fn build_logger(
    config: &EnvConfig,
    resource: &opentelemetry_sdk::Resource,
    warnings: &mut Vec<ConfigWarning>,
    custom: Option<LogProcessorFactory>,
) -> Option<SdkLoggerProvider> {
    let lb = &config.log_batch;
    let batch = || {
        opentelemetry_sdk::logs::BatchConfigBuilder::default()
            .with_scheduled_delay(lb.schedule_delay)
            .with_max_queue_size(lb.max_queue_size)
            .with_max_export_batch_size(lb.max_export_batch_size)
            .build()
    };
    let b = SdkLoggerProvider::builder().with_resource(resource.clone());
    let b = match (config.logs_exporter, custom) {
        (Exporter::None, _) => return None,
        (Exporter::Otlp, Some(make)) => make(b, batch()),
        (Exporter::Console, _) => b.with_log_processor(
            BatchLogProcessor::builder(opentelemetry_stdout::LogExporter::default())
                .with_batch_config(batch())
                .build(),
        ),
        (Exporter::Otlp, None) => {
            let mut otlp = config.logs_otlp.clone();
            otlp.timeout = otlp
                .timeout
                .min(lb.export_timeout.max(Duration::from_millis(1)));
            match OtlpLogExporter::build(&otlp) {
                Ok(e) => b.with_log_processor(
                    BatchLogProcessor::builder(e)
                        .with_batch_config(batch())
                        .build(),
                ),
                Err(e) => {
                    push_exporter_warning(warnings, Signal::Logs, &otlp, e);
                    return None;
                }
            }
        }
    };
    Some(b.build())
}

fn log_filter(rust_log: Option<String>, default: &str) -> (EnvFilter, Option<ConfigWarning>) {
    let fallback =
        || EnvFilter::try_new(default).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    match rust_log
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        None => (fallback(), None),
        Some(v) => match EnvFilter::try_new(&v) {
            Ok(f) => (f, None),
            Err(e) => (
                fallback(),
                Some(ConfigWarning {
                    variable: "RUST_LOG",
                    value: v,
                    problem: e.to_string(),
                    fallback: default.to_string(),
                }),
            ),
        },
    }
}

/// The sampler, remote ones included (they need the service name and a runtime).
fn build_sampler(
    c: &SamplerConfig,
    attrs: &[(String, String)],
    warnings: &mut Vec<ConfigWarning>,
) -> AnySampler {
    let Some(remote) = &c.remote else {
        return AnySampler::Sdk(sampler(c));
    };
    let service = attrs
        .iter()
        .find(|(k, _)| k == otel_inject_lib::names::attr::SERVICE_NAME)
        .map_or("unknown_service", |(_, v)| v.as_str());
    let parent_based = c.kind == SamplerKind::ParentBasedJaegerRemote;
    match crate::remote_sampler::build(remote, parent_based, service) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(ConfigWarning {
                variable: otel_inject_lib::names::env::OTEL_TRACES_SAMPLER,
                value: c.kind.to_string(),
                problem: e,
                fallback: format!("the initial sampling rate {}", remote.initial_sampling_rate),
            });
            AnySampler::Sdk(sampler(c))
        }
    }
}

/// The SDK sampler for a config. The remote samplers are not built here (see
/// `OTEL_TRACES_SAMPLER=jaeger_remote` with `init`/`build`): their initial rate stands in.
pub fn sampler(c: &SamplerConfig) -> Sampler {
    let ratio = || Sampler::TraceIdRatioBased(c.ratio);
    if let Some(r) = &c.remote {
        let initial = Sampler::TraceIdRatioBased(r.initial_sampling_rate);
        return match c.kind {
            SamplerKind::ParentBasedJaegerRemote => Sampler::ParentBased(Box::new(initial)),
            _ => initial,
        };
    }
    match c.kind {
        SamplerKind::AlwaysOn => Sampler::AlwaysOn,
        SamplerKind::AlwaysOff => Sampler::AlwaysOff,
        SamplerKind::TraceIdRatio => ratio(),
        SamplerKind::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerKind::ParentBasedTraceIdRatio => Sampler::ParentBased(Box::new(ratio())),
        _ => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    }
}

fn report(warnings: &[ConfigWarning], config: &EnvConfig, resource: &[(String, String)]) {
    for w in warnings {
        tracing::warn!(
            target: "otel_inject_sdk",
            variable = w.variable,
            value = %w.value,
            fallback = %w.fallback,
            "{w}"
        );
    }
    tracing::info!(target: "otel_inject_sdk", "{}", startup_summary(config, resource));
}

/// The one line `init` logs at `info`: the service, what each signal does and where it goes,
/// the sampler and the propagators. Header values are never in it.
pub fn startup_summary(config: &EnvConfig, resource: &[(String, String)]) -> String {
    if config.disabled {
        return "otel-inject-sdk: OTEL_SDK_DISABLED=true: no spans, metrics or log records are recorded or exported; log lines are still written".into();
    }
    let service = resource
        .iter()
        .find(|(k, _)| k == otel_inject_lib::names::attr::SERVICE_NAME)
        .map_or("?", |(_, v)| v.as_str());
    let signal = |exporter: Exporter, otlp: &OtlpConfig| match exporter {
        Exporter::Otlp => {
            let mut s = format!(
                "otlp {} {} (protocol from {})",
                otlp.protocol, otlp.endpoint, otlp.protocol_source
            );
            if !otlp.headers.is_empty() {
                let names: Vec<&str> = otlp.headers.iter().map(|(k, _)| k.as_str()).collect();
                s.push_str(&format!(" headers [{}]", names.join(", ")));
            }
            s
        }
        other => other.as_str().to_string(),
    };
    let mut metrics = signal(config.metrics_exporter, &config.metrics_otlp);
    if config.metrics_exporter != Exporter::None {
        metrics.push_str(&format!(" every {:?}", config.metrics.interval));
    }
    let sampler = if let Some(r) = &config.sampler.remote {
        format!(
            "{}({}, every {:?}, initially {})",
            config.sampler.kind, r.endpoint, r.polling_interval, r.initial_sampling_rate
        )
    } else if config.sampler.kind.takes_ratio() {
        format!("{}({})", config.sampler.kind, config.sampler.ratio)
    } else {
        config.sampler.kind.to_string()
    };
    let propagators: Vec<&str> = config.propagators.iter().map(|p| p.as_str()).collect();
    format!(
        "otel-inject-sdk: service.name={service}; traces: {}; metrics: {metrics}; logs: {}; sampler {sampler}; propagators {}",
        signal(config.traces_exporter, &config.otlp),
        signal(config.logs_exporter, &config.logs_otlp),
        if propagators.is_empty() { "none".to_string() } else { propagators.join(",") },
    )
}

/// Keeps telemetry running and flushes it when it goes, never for longer than the shutdown
/// timeout (default 5 s), on a thread of its own: it never hangs, never panics and works inside
/// any tokio runtime, current-thread ones included.
///
/// The pipeline [`TelemetryBuilder::init`] installs belongs to the process, not to the guard:
/// dropping the guard flushes it and telemetry stays on, so `let _ = init();` cannot switch it
/// off. With no guard left, each finished trace is exported at once (nothing would flush at
/// exit); bind the guard to keep batching. [`TelemetryGuard::shutdown`] is the one way to stop
/// telemetry. A guard from [`TelemetryBuilder::build`] owns its pipeline: dropping it shuts the
/// pipeline down.
#[must_use = "bind the guard (`let _telemetry = otel_inject_sdk::init();`): it flushes telemetry at the end of `main`"]
pub struct TelemetryGuard {
    pipeline: Option<Arc<Pipeline>>,
    installed: bool,
    config: EnvConfig,
    resource: Vec<(String, String)>,
    warnings: Vec<ConfigWarning>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field(
                "enabled",
                &self.pipeline.as_ref().is_some_and(|p| p.is_enabled()),
            )
            .field("installed", &self.installed)
            .finish_non_exhaustive()
    }
}

impl TelemetryGuard {
    /// The effective configuration.
    pub fn config(&self) -> &EnvConfig {
        &self.config
    }

    /// The resource attributes spans carry.
    pub fn resource(&self) -> &[(String, String)] {
        &self.resource
    }

    /// Configuration warnings (filled by [`TelemetryBuilder::build`]; `init` logs them instead).
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The tracer provider; `None` when `OTEL_SDK_DISABLED=true`.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.pipeline.as_ref().and_then(|p| p.tracer.as_ref())
    }

    /// The meter provider; `None` when metrics are off (`OTEL_METRICS_EXPORTER=none`,
    /// `OTEL_SDK_DISABLED=true`).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.pipeline.as_ref().and_then(|p| p.meter.as_ref())
    }

    /// The logger provider; `None` when logs are not exported (`OTEL_LOGS_EXPORTER=none`,
    /// `OTEL_SDK_DISABLED=true`).
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.pipeline.as_ref().and_then(|p| p.logger.as_ref())
    }

    /// The bound on every flush and shutdown.
    pub fn shutdown_timeout(&self) -> Duration {
        self.pipeline
            .as_ref()
            .map_or(DEFAULT_SHUTDOWN_TIMEOUT, |p| p.timeout)
    }

    /// Exports every finished span, metric point and log record now, waiting at most the
    /// shutdown timeout; false if an export failed or did not finish within it.
    pub fn flush(&self) -> bool {
        self.pipeline
            .as_ref()
            .is_none_or(|p| p.flush() == Outcome::Done)
    }

    /// Flushes and shuts telemetry down, within the shutdown timeout, without blocking the
    /// async runtime. Telemetry is off afterwards.
    pub async fn shutdown(mut self) {
        let Some(p) = self.pipeline.take() else {
            return;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("otel-inject-shutdown".into())
            .spawn(move || {
                // `Pipeline::shutdown` returns within the timeout, whatever the collector does.
                let _ = tx.send(p.shutdown());
            });
        if spawned.is_ok() {
            if let Ok(outcome) = rx.await {
                outcome.report("telemetry shutdown", self.shutdown_timeout());
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let Some(p) = self.pipeline.take() else {
            return;
        };
        let outcome = if self.installed {
            let outcome = p.flush();
            p.state.set_guardless();
            outcome
        } else {
            p.shutdown()
        };
        outcome.report("flushing telemetry", p.timeout);
    }
}

/// Initialises telemetry from the environment alone: `let _telemetry = otel_inject_sdk::init();`.
pub fn init() -> TelemetryGuard {
    Telemetry::builder().init()
}
