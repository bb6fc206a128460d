//! Context propagation: the propagators `OTEL_PROPAGATORS` names (W3C trace context and baggage
//! from opentelemetry; B3 and Jaeger implemented here, small and dependency-free), helpers to
//! inject into and extract from `http::HeaderMap`, and the process's own parent context taken
//! from `TRACEPARENT`/`TRACESTATE`/`BAGGAGE` (set by Argo Workflows or a Job's launcher).

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::propagation::{
    text_map_propagator::FieldIter, Extractor, Injector, TextMapCompositePropagator,
    TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use otel_inject_lib::names::env;
use otel_inject_lib::sdk_values::Propagator;

use crate::config::ParentEnv;

/// Builds the composite propagator for a list of names (empty: a propagator that does nothing).
pub fn build_propagator(list: &[Propagator]) -> TextMapCompositePropagator {
    let mut out: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    for p in list {
        match p {
            Propagator::TraceContext => out.push(Box::new(TraceContextPropagator::new())),
            Propagator::Baggage => out.push(Box::new(BaggagePropagator::new())),
            Propagator::B3 => out.push(Box::new(B3Propagator::single())),
            Propagator::B3Multi => out.push(Box::new(B3Propagator::multiple())),
            Propagator::Jaeger => out.push(Box::new(JaegerPropagator::new())),
            // Rejected with a warning by the config; nothing to add.
            Propagator::XRay | Propagator::OtTrace | Propagator::None => {}
        }
    }
    TextMapCompositePropagator::new(out)
}

/// B3 (Zipkin) propagation. Extraction accepts both the single `b3` header and the
/// `X-B3-*` headers; injection writes the encoding it was built for.
#[derive(Debug)]
pub struct B3Propagator {
    single: bool,
    fields: Vec<String>,
}

const B3_SINGLE: &str = "b3";
const B3_TRACE_ID: &str = "x-b3-traceid";
const B3_SPAN_ID: &str = "x-b3-spanid";
const B3_SAMPLED: &str = "x-b3-sampled";
const B3_FLAGS: &str = "x-b3-flags";
const B3_PARENT: &str = "x-b3-parentspanid";

impl B3Propagator {
    /// Injects the single `b3` header (`OTEL_PROPAGATORS=b3`).
    pub fn single() -> Self {
        Self {
            single: true,
            fields: vec![B3_SINGLE.to_string()],
        }
    }

    /// Injects `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled` (`OTEL_PROPAGATORS=b3multi`).
    pub fn multiple() -> Self {
        Self {
            single: false,
            fields: [B3_TRACE_ID, B3_SPAN_ID, B3_SAMPLED, B3_FLAGS, B3_PARENT]
                .map(String::from)
                .to_vec(),
        }
    }

    fn extract_single(value: &str) -> Option<SpanContext> {
        let parts: Vec<&str> = value.trim().split('-').collect();
        if parts.len() < 2 {
            return None; // a lone sampling decision carries no ids
        }
        let trace_id = parse_trace_id(parts[0])?;
        let span_id = parse_span_id(parts[1])?;
        let sampled = match parts.get(2) {
            None => true, // deferred: we decide, and we sample by default
            Some(&"1") | Some(&"d") => true,
            Some(&"0") => false,
            Some(_) => return None,
        };
        Some(remote(trace_id, span_id, sampled))
    }

    fn extract_multi(extractor: &dyn Extractor) -> Option<SpanContext> {
        let trace_id = parse_trace_id(extractor.get(B3_TRACE_ID)?.trim())?;
        let span_id = parse_span_id(extractor.get(B3_SPAN_ID)?.trim())?;
        let debug = extractor.get(B3_FLAGS).map(str::trim) == Some("1");
        let sampled = match extractor.get(B3_SAMPLED).map(str::trim) {
            Some("1") | Some("true") => true,
            Some("0") | Some("false") => debug,
            None => true,
            Some(_) => return None,
        };
        Some(remote(trace_id, span_id, sampled))
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let sampled = if sc.is_sampled() { "1" } else { "0" };
        if self.single {
            injector.set(
                B3_SINGLE,
                format!("{}-{}-{sampled}", sc.trace_id(), sc.span_id()),
            );
        } else {
            injector.set(B3_TRACE_ID, sc.trace_id().to_string());
            injector.set(B3_SPAN_ID, sc.span_id().to_string());
            injector.set(B3_SAMPLED, sampled.to_string());
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let sc = extractor
            .get(B3_SINGLE)
            .and_then(Self::extract_single)
            .or_else(|| Self::extract_multi(extractor));
        match sc {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// Jaeger `uber-trace-id: {trace}:{span}:{parent}:{flags}` propagation.
#[derive(Debug)]
pub struct JaegerPropagator {
    fields: Vec<String>,
}

const UBER_TRACE_ID: &str = "uber-trace-id";

impl JaegerPropagator {
    /// A Jaeger propagator.
    pub fn new() -> Self {
        Self {
            fields: vec![UBER_TRACE_ID.to_string()],
        }
    }
}

impl Default for JaegerPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        let flags = if sc.is_sampled() { 1 } else { 0 };
        injector.set(
            UBER_TRACE_ID,
            format!("{}:{}:0:{flags}", sc.trace_id(), sc.span_id()),
        );
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let parsed = extractor.get(UBER_TRACE_ID).and_then(|raw| {
            let decoded = raw.replace("%3A", ":").replace("%3a", ":");
            let parts: Vec<&str> = decoded.trim().split(':').collect();
            if parts.len() != 4 {
                return None;
            }
            let trace_id = parse_trace_id(parts[0])?;
            let span_id = parse_span_id(parts[1])?;
            let flags = u8::from_str_radix(parts[3], 16).ok()?;
            Some(remote(
                trace_id,
                span_id,
                flags & 0x01 != 0 || flags & 0x02 != 0,
            ))
        });
        match parsed {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

fn remote(trace_id: TraceId, span_id: SpanId, sampled: bool) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(trace_id, span_id, flags, true, TraceState::default())
}

/// 16 or 32 hex digits (shorter Jaeger ids are left-padded), not all zero.
fn parse_trace_id(s: &str) -> Option<TraceId> {
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = TraceId::from_hex(s).ok()?;
    (id != TraceId::INVALID).then_some(id)
}

fn parse_span_id(s: &str) -> Option<SpanId> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = SpanId::from_hex(s).ok()?;
    (id != SpanId::INVALID).then_some(id)
}

/// Reads and writes `http::HeaderMap`s for propagators.
pub struct HeaderMapCarrier<'a>(
    /// The headers.
    pub &'a mut http::HeaderMap,
);

impl Injector for HeaderMapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderMapExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderMapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes `cx` into `headers` with the global propagator.
pub fn inject_context(cx: &Context, headers: &mut http::HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(cx, &mut HeaderMapCarrier(headers))
    });
}

/// Writes the current context (the active `tracing` span's, with the SDK's subscriber) into
/// `headers` with the global propagator.
pub fn inject_current_context(headers: &mut http::HeaderMap) {
    inject_context(&Context::current(), headers);
}

/// Reads a context from `headers` with the global propagator.
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&Context::new(), &HeaderMapExtractor(headers))
    })
}

/// The context in `TRACEPARENT`/`TRACESTATE`/`BAGGAGE`, read with the W3C propagators whatever
/// `OTEL_PROPAGATORS` says: these variables are W3C by definition.
pub fn parent_context_from(parent: &ParentEnv) -> Context {
    let mut carrier: HashMap<String, String> = HashMap::new();
    if let Some(tp) = &parent.traceparent {
        carrier.insert("traceparent".into(), tp.clone());
        if let Some(ts) = &parent.tracestate {
            carrier.insert("tracestate".into(), ts.clone());
        }
    }
    if let Some(b) = &parent.baggage {
        carrier.insert("baggage".into(), b.clone());
    }
    let cx = TraceContextPropagator::new().extract_with_context(&Context::new(), &carrier);
    BaggagePropagator::new().extract_with_context(&cx, &carrier)
}

static PROCESS_PARENT: OnceLock<Context> = OnceLock::new();

/// The parent context the process was started with (`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`),
/// read once. An empty context when they are not set or not valid.
pub fn process_parent_context() -> Context {
    PROCESS_PARENT
        .get_or_init(|| {
            let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
            let traceparent =
                get(env::TRACEPARENT).filter(|tp| crate::config::is_valid_traceparent(tp.trim()));
            let parent = ParentEnv {
                tracestate: traceparent.as_ref().and_then(|_| get(env::TRACESTATE)),
                traceparent,
                baggage: get(env::BAGGAGE),
            };
            parent_context_from(&parent)
        })
        .clone()
}

/// Makes `span` a child of [`process_parent_context`] when the process has one. Call it before
/// the span is entered; [`crate::root_span!`] does it for you.
pub fn join_process_trace(span: &tracing::Span) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = process_parent_context();
    use opentelemetry::baggage::BaggageExt;
    if cx.span().span_context().is_valid() || !cx.baggage().is_empty() {
        // Only fails when the span is disabled, which leaves nothing to join.
        let _ = span.set_parent(cx);
    }
}

/// The trace id of the current context as 32 hex digits, if a span is active.
pub fn current_trace_id() -> Option<String> {
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cx_with(tid: &str, sid: &str, sampled: bool) -> Context {
        let sc = remote(
            TraceId::from_hex(tid).unwrap(),
            SpanId::from_hex(sid).unwrap(),
            sampled,
        );
        Context::new().with_remote_span_context(sc)
    }

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    #[test]
    fn b3_single_round_trip() {
        let mut h: HashMap<String, String> = HashMap::new();
        B3Propagator::single().inject_context(&cx_with(TID, SID, true), &mut h);
        assert_eq!(h["b3"], format!("{TID}-{SID}-1"));
        let cx = B3Propagator::multiple().extract_with_context(&Context::new(), &h);
        assert_eq!(cx.span().span_context().trace_id().to_string(), TID);
        assert!(cx.span().span_context().is_remote());
    }

    #[test]
    fn b3_multi_with_64_bit_trace_id() {
        let mut h: HashMap<String, String> = HashMap::new();
        h.insert(B3_TRACE_ID.into(), "a3ce929d0e0e4736".into());
        h.insert(B3_SPAN_ID.into(), SID.into());
        h.insert(B3_SAMPLED.into(), "0".into());
        let cx = B3Propagator::single().extract_with_context(&Context::new(), &h);
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id().to_string(),
            "0000000000000000a3ce929d0e0e4736"
        );
        assert!(!sc.is_sampled());
        let mut out: HashMap<String, String> = HashMap::new();
        B3Propagator::multiple().inject_context(&cx, &mut out);
        assert_eq!(out[B3_SAMPLED], "0");
    }

    #[test]
    fn b3_rejects_garbage() {
        let mut h: HashMap<String, String> = HashMap::new();
        h.insert("b3".into(), "zz-11".into());
        let cx = B3Propagator::single().extract_with_context(&Context::new(), &h);
        assert!(!cx.span().span_context().is_valid());
    }

    #[test]
    fn jaeger_round_trip_and_encoded_colons() {
        let mut h: HashMap<String, String> = HashMap::new();
        JaegerPropagator::new().inject_context(&cx_with(TID, SID, true), &mut h);
        assert_eq!(h[UBER_TRACE_ID], format!("{TID}:{SID}:0:1"));
        h.insert(UBER_TRACE_ID.into(), format!("{TID}%3A{SID}%3A0%3A3"));
        let cx = JaegerPropagator::new().extract_with_context(&Context::new(), &h);
        assert!(cx.span().span_context().is_sampled());
        assert_eq!(cx.span().span_context().span_id().to_string(), SID);
    }

    #[test]
    fn parent_env_becomes_remote_parent() {
        let p = ParentEnv {
            traceparent: Some(format!("00-{TID}-{SID}-01")),
            tracestate: Some("vendor=x".into()),
            baggage: Some("step=train".into()),
        };
        let cx = parent_context_from(&p);
        let sc = cx.span().span_context().clone();
        assert_eq!(sc.trace_id().to_string(), TID);
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(sc.trace_state().get("vendor"), Some("x"));
        use opentelemetry::baggage::BaggageExt;
        assert_eq!(
            cx.baggage().get("step").map(|v| v.to_string()),
            Some("train".to_string())
        );
    }
}
