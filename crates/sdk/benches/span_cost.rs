//! What the SDK adds per span, per log event and per metric record, against a hand-wired
//! opentelemetry_sdk + tracing-opentelemetry + opentelemetry-appender-tracing setup with the
//! same no-op exporters, batch settings, sampler and reader:
//! - `span`: one `info` span (entered, with one field, then closed);
//! - `log_event`: one `info!` event with a field inside a span: a log line (to a sink) and an
//!   OTLP log record;
//! - `metrics`: one counter add and one histogram record with three attributes.
//!
//! Run: `cargo bench -p otel-inject-sdk --bench span_cost` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

#[derive(Debug)]
struct NoopLogs;

impl LogExporter for NoopLogs {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

struct NoopMetrics;

impl PushMetricExporter for NoopMetrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn batch() -> BatchConfigBuilder {
    BatchConfigBuilder::default()
        .with_max_queue_size(2048)
        .with_max_export_batch_size(512)
        .with_scheduled_delay(Duration::from_millis(5000))
}

struct HandWired {
    _tracer: SdkTracerProvider,
    _logger: SdkLoggerProvider,
    meter: SdkMeterProvider,
}

fn hand_wired() -> (tracing::Dispatch, HandWired) {
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_span_processor(
            BatchSpanProcessor::builder(NoopExporter)
                .with_batch_config(batch().build())
                .build(),
        )
        .build();
    let logger = SdkLoggerProvider::builder()
        .with_log_processor(
            BatchLogProcessor::builder(NoopLogs)
                .with_batch_config(
                    opentelemetry_sdk::logs::BatchConfigBuilder::default()
                        .with_scheduled_delay(Duration::from_millis(1000))
                        .build(),
                )
                .build(),
        )
        .build();
    let meter = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(NoopMetrics)
                .with_interval(Duration::from_secs(60))
                .build(),
        )
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(tracing_subscriber::filter::filter_fn(|m| m.is_event())),
        )
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")))
        .with(opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&logger));
    (
        tracing::Dispatch::new(subscriber),
        HandWired {
            _tracer: provider,
            _logger: logger,
            meter,
        },
    )
}

fn sdk() -> (tracing::Dispatch, otel_inject_sdk::TelemetryGuard) {
    otel_inject_sdk::Telemetry::builder()
        .service_name("bench")
        .env_lookup(|_| None)
        .without_detection()
        .log_writer(std::io::sink)
        .span_exporter(NoopExporter)
        .log_exporter(NoopLogs)
        .metric_exporter(NoopMetrics)
        .build()
}

fn one_event() {
    let span = tracing::info_span!("request", id = 42u64);
    let _e = span.enter();
    tracing::info!(rows = 3u64, "loaded");
}

fn records(meter: &opentelemetry::metrics::Meter) -> impl FnMut() {
    let counter = meter.u64_counter("requests").build();
    let histogram = meter.f64_histogram("duration").with_unit("s").build();
    let attrs = [
        KeyValue::new("http.request.method", "POST"),
        KeyValue::new("http.route", "/orders"),
        KeyValue::new("http.response.status_code", 201),
    ];
    move || {
        counter.add(1, &attrs);
        histogram.record(black_box(0.012), &attrs);
    }
}

fn one_span() {
    let span = tracing::info_span!("request", id = 42u64);
    let _e = span.enter();
    black_box(&span);
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("span");
    {
        let (d, _wired) = hand_wired();
        g.bench_function("hand_wired", |b| {
            tracing::dispatcher::with_default(&d, || b.iter(one_span))
        });
    }
    {
        let (d, _guard) = sdk();
        g.bench_function("otel_inject_sdk", |b| {
            tracing::dispatcher::with_default(&d, || b.iter(one_span))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("log_event");
    {
        let (d, _wired) = hand_wired();
        g.bench_function("hand_wired", |b| {
            tracing::dispatcher::with_default(&d, || b.iter(one_event))
        });
    }
    {
        let (d, _guard) = sdk();
        g.bench_function("otel_inject_sdk", |b| {
            tracing::dispatcher::with_default(&d, || b.iter(one_event))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("metrics");
    {
        let (_d, wired) = hand_wired();
        let mut record = records(&wired.meter.meter("bench"));
        g.bench_function("hand_wired", |b| b.iter(&mut record));
    }
    {
        let (_d, guard) = sdk();
        let meter = guard
            .meter_provider()
            .expect("metrics are on")
            .meter("bench");
        let mut record = records(&meter);
        g.bench_function("otel_inject_sdk", |b| b.iter(&mut record));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
