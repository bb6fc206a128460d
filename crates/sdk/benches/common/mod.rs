//! The two setups the SDK benches compare, and the work measured: the SDK's
//! `Telemetry::builder()` with no-op exporters, and the same pipeline wired by hand.
#![allow(dead_code)] // each bench uses its own part

use std::hint::black_box;
use std::time::Duration;

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
pub struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

#[derive(Debug)]
pub struct NoopLogs;

impl LogExporter for NoopLogs {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

pub struct NoopMetrics;

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

pub struct HandWired {
    _tracer: SdkTracerProvider,
    _logger: SdkLoggerProvider,
    pub meter: SdkMeterProvider,
}

pub fn hand_wired() -> (tracing::Dispatch, HandWired) {
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

pub fn sdk() -> (tracing::Dispatch, otel_inject_sdk::TelemetryGuard) {
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

pub fn one_event() {
    let span = tracing::info_span!("request", id = 42u64);
    let _e = span.enter();
    tracing::info!(rows = 3u64, "loaded");
}

pub fn records(meter: &opentelemetry::metrics::Meter) -> impl FnMut() {
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

pub fn one_span() {
    let span = tracing::info_span!("request", id = 42u64);
    let _e = span.enter();
    black_box(&span);
}
