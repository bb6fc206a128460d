//! What the SDK adds per span, per log event and per metric record, against a hand-wired
//! opentelemetry_sdk + tracing-opentelemetry + opentelemetry-appender-tracing setup with the
//! same no-op exporters, batch settings, sampler and reader:
//! - `span`: one `info` span (entered, with one field, then closed);
//! - `log_event`: one `info!` event with a field inside a span: a log line (to a sink) and an
//!   OTLP log record;
//! - `metrics`: one counter add and one histogram record with three attributes.
//!
//! Run: `cargo bench -p otel-inject-sdk --bench span_cost` (add `-- --quick` for a short run).

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;

mod common;
use common::*;

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
