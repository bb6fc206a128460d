//! Per-span cost: one `info` span (entered, with one field, then closed) through the SDK's
//! subscriber versus the same span through a hand-wired opentelemetry_sdk + tracing-opentelemetry
//! setup. Both use the same no-op exporter, the same batch processor settings and the same
//! sampler, so the difference is what the SDK adds (log layer, filters).
//!
//! Run: `cargo bench -p otel-inject-sdk --bench span_cost`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanExporter,
};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn batch() -> BatchConfigBuilder {
    BatchConfigBuilder::default()
        .with_max_queue_size(2048)
        .with_max_export_batch_size(512)
        .with_scheduled_delay(Duration::from_millis(5000))
}

fn hand_wired() -> (tracing::Dispatch, SdkTracerProvider) {
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_span_processor(
            BatchSpanProcessor::builder(NoopExporter)
                .with_batch_config(batch().build())
                .build(),
        )
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    (tracing::Dispatch::new(subscriber), provider)
}

fn sdk() -> (tracing::Dispatch, otel_inject_sdk::TelemetryGuard) {
    otel_inject_sdk::Telemetry::builder()
        .service_name("bench")
        .env_lookup(|_| None)
        .without_detection()
        .log_writer(std::io::sink)
        .span_exporter(NoopExporter)
        .build()
}

fn one_span() {
    let span = tracing::info_span!("request", id = 42u64);
    let _e = span.enter();
    black_box(&span);
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("span");
    {
        let (d, _provider) = hand_wired();
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
