//! gRPC (tonic): a tower layer for `tonic::transport::Server::builder().layer(..)` that makes
//! the server span of each call (its parent extracted from the request metadata) with the RPC
//! semantic conventions; for clients, a tower layer around the channel that makes the client
//! span of each call and puts its context into the outgoing metadata, and an interceptor that
//! only propagates the current context.
//!
//! Spans end when the response headers are ready. The status comes from `grpc-status` in
//! the headers (tonic sends an error returned by a handler that way, "trailers-only"); a
//! response without it is OK, so an error a stream reports later in its trailers is not seen.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{global, KeyValue};
use tower::{Layer, Service};

use crate::propagation::{extract_context, inject_context};

/// The instrumentation scope of the spans this module makes.
pub const SCOPE: &str = "otel-inject-sdk/grpc";

/// A tower [`Layer`] that traces gRPC calls on a tonic server.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcServerTraceLayer;

impl GrpcServerTraceLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for GrpcServerTraceLayer {
    type Service = GrpcServerTrace<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcServerTrace { inner }
    }
}

/// The service made by [`GrpcServerTraceLayer`].
#[derive(Debug, Clone)]
pub struct GrpcServerTrace<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// `package.Service` and `Method` from a gRPC path (`/package.Service/Method`).
pub fn rpc_names(path: &str) -> (String, String) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((service, method)) => (service.to_string(), method.to_string()),
        None => (trimmed.to_string(), String::new()),
    }
}

/// The gRPC status codes whose server spans are errors (the semantic conventions' list).
fn is_server_error(code: i64) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// The attributes known when a call starts: `rpc.system`, `rpc.service`, `rpc.method` and,
/// when the URI has an authority, `server.address` and `server.port`.
fn call_attributes(uri: &http::Uri) -> Vec<KeyValue> {
    let (service, method) = rpc_names(uri.path());
    let mut attrs = vec![
        KeyValue::new("rpc.system", "grpc"),
        KeyValue::new("rpc.service", service),
        KeyValue::new("rpc.method", method),
    ];
    if let Some(a) = uri.authority() {
        attrs.push(KeyValue::new("server.address", a.host().to_string()));
        if let Some(p) = a.port_u16() {
            attrs.push(KeyValue::new("server.port", i64::from(p)));
        }
    }
    attrs
}

/// The gRPC status of a response whose headers have arrived: `grpc-status` when the call ended
/// there (trailers-only), else OK for an HTTP success and UNKNOWN otherwise.
fn status_code<B>(res: &http::Response<B>) -> i64 {
    res.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(if res.status().is_success() { 0 } else { 2 })
}

/// `gRPC status <code> <grpc-message>` for the span status (the message percent-decoded, as
/// the gRPC protocol encodes it).
fn status_message<B>(res: &http::Response<B>, code: i64) -> String {
    let message = tonic::Status::from_header_map(res.headers())
        .map(|s| s.message().to_string())
        .unwrap_or_default();
    format!("gRPC status {code} {message}")
}

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for GrpcServerTrace<S>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqB>) -> Self::Future {
        let parent = extract_context(req.headers());
        let name = req.uri().path().trim_start_matches('/').to_string();
        let attrs = call_attributes(req.uri());
        let tracer = global::tracer(SCOPE);
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attrs)
            .start_with_context(&tracer, &parent);
        let cx = parent.with_span(span);
        let fut = {
            let _active = cx.clone().attach();
            self.inner.call(req)
        };
        Box::pin(async move {
            let result = fut.with_context(cx.clone()).await;
            let span = cx.span();
            match &result {
                Ok(res) => {
                    let code = status_code(res);
                    span.set_attribute(KeyValue::new("rpc.grpc.status_code", code));
                    if is_server_error(code) {
                        span.set_status(Status::error(status_message(res, code)));
                    }
                }
                Err(e) => {
                    span.set_attribute(KeyValue::new("error.type", "service_error"));
                    span.set_status(Status::error(e.to_string()));
                }
            }
            span.end();
            result
        })
    }
}

/// A tower [`Layer`] that traces the calls of a tonic client: wrap the channel,
/// `MyClient::new(GrpcClientTraceLayer::new().layer(channel))`. Each call gets a client span
/// named `package.Service/Method`, a child of the current context, with `rpc.system=grpc`,
/// `rpc.service`, `rpc.method`, `rpc.grpc.status_code` (and `server.address`/`server.port`
/// when the request URI has them); its context goes into the call's metadata, so the server's
/// span is its child. Any status but OK, and a transport error, make the span an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClientTraceLayer;

impl GrpcClientTraceLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for GrpcClientTraceLayer {
    type Service = GrpcClientTrace<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientTrace { inner }
    }
}

/// The service made by [`GrpcClientTraceLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClientTrace<S> {
    inner: S,
}

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for GrpcClientTrace<S>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqB>) -> Self::Future {
        let parent = opentelemetry::Context::current();
        let name = req.uri().path().trim_start_matches('/').to_string();
        let attrs = call_attributes(req.uri());
        let tracer = global::tracer(SCOPE);
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attrs)
            .start_with_context(&tracer, &parent);
        let cx = parent.with_span(span);
        inject_context(&cx, req.headers_mut());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = fut.await;
            let span = cx.span();
            match &result {
                Ok(res) => {
                    let code = status_code(res);
                    span.set_attribute(KeyValue::new("rpc.grpc.status_code", code));
                    // For the caller every status but OK is a failed call.
                    if code != 0 {
                        span.set_status(Status::error(status_message(res, code)));
                    }
                }
                Err(e) => {
                    span.set_attribute(KeyValue::new("error.type", "transport_error"));
                    span.set_status(Status::error(e.to_string()));
                }
            }
            span.end();
            result
        })
    }
}

/// A tonic client interceptor that injects the current context into the request metadata
/// with the global propagator: `Client::with_interceptor(channel, GrpcContextInterceptor)`.
/// It makes no span; [`GrpcClientTraceLayer`] makes the client span and propagates its context.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcContextInterceptor;

impl tonic::service::Interceptor for GrpcContextInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut headers = http::HeaderMap::new();
        inject_context(&opentelemetry::Context::current(), &mut headers);
        let metadata = req.metadata_mut();
        for (name, value) in &headers {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::MetadataKey::from_bytes(name.as_str().as_bytes()),
                tonic::metadata::MetadataValue::try_from(value.as_bytes()),
            ) {
                metadata.insert(k, v);
            }
        }
        Ok(req)
    }
}
