//! One span sent over OTLP, by gRPC (`TraceService/Export`) or by HTTP (`POST /v1/traces`,
//! protobuf): enough to prove that a receiver's configuration really accepts both, without an
//! SDK in between.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// A trace id (32 hex digits) that no other call in any test process gives.
pub fn new_trace_id() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let lo = u64::from(std::process::id()) << 32 | N.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:016x}{lo:016x}")
}

fn hex_bytes(hex: &str) -> Result<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).context("not hex"))
        .collect()
}

/// A request holding one server span named `name` of `service` in trace `trace_id`.
pub fn one_span(service: &str, name: &str, trace_id: &str) -> Result<ExportTraceServiceRequest> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let text = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    };
    Ok(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: hex_bytes(trace_id)?,
                    span_id: hex_bytes(&trace_id[16..])?,
                    name: name.into(),
                    kind: SpanKind::Server as i32,
                    start_time_unix_nano: now - 1_000_000,
                    end_time_unix_nano: now,
                    attributes: vec![text("test.sent_by", "otel-inject-test-peers")],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// Exports `req` over OTLP/gRPC to `endpoint` (`http://host:port`).
pub async fn send_grpc(endpoint: &str, req: ExportTraceServiceRequest) -> Result<()> {
    let mut client = TraceServiceClient::connect(endpoint.to_string())
        .await
        .with_context(|| format!("connecting to {endpoint}"))?;
    let answer = client.export(req).await?.into_inner();
    if let Some(p) = answer.partial_success {
        if p.rejected_spans > 0 {
            bail!(
                "{endpoint} rejected {} spans: {}",
                p.rejected_spans,
                p.error_message
            );
        }
    }
    Ok(())
}

/// Exports `req` over OTLP/HTTP (protobuf) to `endpoint` (`http://host:port`).
pub async fn send_http(endpoint: &str, req: ExportTraceServiceRequest) -> Result<()> {
    let url = format!("{endpoint}/v1/traces");
    let r = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    if !r.status().is_success() {
        bail!("POST {url}: {}", r.status());
    }
    Ok(())
}
